"""The embedded engine end to end: routing, forms, follow-ups, safety, and grounded answers, on each store."""
from __future__ import annotations

import dataclasses
import re

import pytest
import redis_server

from bot import templates
from bot.composition import answer_sentence
from bot.engine import Engine, InvalidMessage
from bot.store import InMemoryStore
from index.sentences import sentence_spans
from server.redis_store import RedisStore, connect
from server.sqlite_store import SqliteStore


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server.running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(params=["memory", "sqlite", "redis"])
def engine(loaded, request, tmp_path):
    """The same conversations on every store: in memory, SQLite (one machine), a real redis-server."""
    if request.param == "memory":
        yield Engine(loaded, InMemoryStore())
        return
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "sessions.sqlite3")
    else:
        client = connect(request.getfixturevalue("redis_url"))
        client.flushdb()
        store = RedisStore(client)
    yield Engine(loaded, store)
    store.close()


def ask(engine, text, session="s1"):
    return engine.handle(session, text)


def fold(text):
    return re.sub(r"\s+", " ", text).strip()


def listing(reply, key):
    """The records a reply lists (trials or organisations), from whichever message carries them."""
    return [item for m in reply["messages"] for item in m[key]]


@pytest.mark.parametrize("text, intent", [
    ("hi there", "greet"),
    ("bye for now", "goodbye"),
    ("thanks a lot", "thanks"),
    ("what can you do?", "bot_capabilities"),
    ("can I speak to a nurse please", "human_handoff"),
    ("your last answer was wrong", "feedback"),
    ("how is Kaposi sarcoma diagnosed?", "ask_question"),
    ("are there clinical trials for thymoma?", "find_trial"),
    ("patient support groups in France", "find_organisation"),
    ("I have crushing chest pain right now", "emergency"),
    ("what's a good recipe for lasagne", "out_of_scope"),
])
def test_routing_for_every_intent(engine, text, intent):
    assert ask(engine, text)["intent"] == intent


def test_reply_shape(engine):
    reply = ask(engine, "What are the symptoms of Merkel cell carcinoma?")
    assert set(reply) == {"session_id", "intent", "confidence", "answer_status", "cancer_type", "messages"}
    for message in reply["messages"]:
        assert set(message) == {"id", "text", "citations", "buttons", "trials", "organisations"}


def test_citations_are_verbatim_and_located(engine, loaded):
    reply = ask(engine, "How is gallbladder cancer treated?")
    citations = [c for m in reply["messages"] for c in m["citations"]]
    assert citations
    for citation in citations:
        text = loaded.document(citation["doc_id"])["text"]
        assert text[citation["start"]:citation["end"]] == citation["quote"]
        assert {"title", "url", "publisher", "section", "last_reviewed"} <= set(citation)


@pytest.mark.parametrize("question", [
    "What is parathyroid cancer?", "who is at risk of vulvar cancer", "how is ewing sarcoma treated",
    "What does the International Rare Cancer Initiative do?", "why are rare cancers hard to diagnose",
])
def test_answers_are_only_document_text_and_templates(engine, loaded, question):
    """Every line of an answer, but for fixed sentences and the lead naming its pages, is cited text
    (a list's items by their terms: each line on its own)."""
    reply = ask(engine, question)
    for message in reply["messages"]:
        text = re.sub(r"^From [^\n]*?(?:page|pages)(?: on [^:\n]+| “[^”]+”)?(?: and [^:\n]+)?: ", "", message["text"])
        for template in templates.ALL:
            text = text.replace(template, " ")
        cited = " ".join(fold(answer_sentence(loaded.document(c["doc_id"])["text"])) for c in message["citations"])
        for line in text.splitlines():
            for part in re.split(r"\s*\[\d+\]\s*", answer_sentence(line)):
                for start, end in sentence_spans(part):
                    assert fold(part[start:end]) in cited, f"not from a cited document: {part[start:end]!r}"


def test_not_sure_below_threshold_offers_sources_and_who_to_ask(loaded):
    cautious = Engine(dataclasses.replace(loaded, answer_threshold=0.99), InMemoryStore())
    reply = cautious.handle("s", "What is the outlook for someone with thymoma?")
    message = reply["messages"][0]
    assert reply["intent"] == "ask_question"
    assert message["text"] == templates.NOT_SURE
    assert 1 <= len(message["citations"]) <= 2, "offers the closest sources"


def test_out_of_scope_has_no_citations(engine):
    reply = ask(engine, "which football team will win the league?")
    assert reply["intent"] == "out_of_scope"
    assert all(not m["citations"] for m in reply["messages"])


@pytest.mark.parametrize("text, category_words", [
    ("I'm coughing up blood", ("999", "112", "911")),
    ("I want to kill myself", ("Samaritans", "988")),
])
def test_emergency_points_to_help(engine, text, category_words):
    reply = ask(engine, text)
    assert reply["intent"] == "emergency"
    assert any(w in reply["messages"][0]["text"] for w in category_words)
    assert not reply["messages"][0]["citations"]


def test_negated_red_flag_is_answered_normally(engine):
    reply = ask(engine, "No chest pain or bleeding, I just want to know how thymoma is treated")
    assert reply["intent"] == "ask_question"
    assert reply["messages"][0]["citations"]


def test_personal_treatment_question_defers_to_care_team(engine):
    reply = ask(engine, "Should I stop my chemo for anal cancer?")
    assert reply["messages"][0]["text"].startswith("I can't advise on your own treatment")
    assert "You could ask them:" in reply["messages"][0]["text"]
    assert not reply["messages"][0]["citations"]


def test_trial_form_asks_for_cancer_type_then_searches(engine):
    first = ask(engine, "I'd like to find a clinical trial", session="form")
    assert first["intent"] == "find_trial"
    assert first["messages"][-1]["text"] == templates.ASK_CANCER_TYPE_TRIAL
    assert first["messages"][-1]["buttons"]
    second = ask(engine, "penile cancer", session="form")
    assert second["intent"] == "find_trial"
    trials = listing(second, "trials")
    assert trials and all("penile" in " ".join(t["cancer_types"]).lower() for t in trials)
    assert second["messages"][-1]["citations"]


def test_trial_search_with_synonym(engine):
    reply = ask(engine, "any study for small bowel cancer?")
    assert reply["intent"] == "find_trial"
    assert any("small bowel adenocarcinoma" in m["text"] for m in reply["messages"])


def test_no_matching_trial_points_to_registries(engine):
    reply = ask(engine, "clinical trials for parathyroid cancer")
    message = reply["messages"][-1]
    assert reply["intent"] == "find_trial" and not listing(reply, "trials")
    assert message["citations"], "should cite where to search for trials"


def test_a_trial_search_goes_on_in_the_country_named_next_and_says_when_there_is_none_there(engine):
    ask(engine, "are there any clinical trials for adenoid cystic carcinoma", session="abroad")
    reply = ask(engine, "any in the us?", session="abroad")
    assert reply["intent"] == "find_trial"
    assert any("I found 1 study for adenoid cystic carcinoma in the United States:" in m["text"] for m in reply["messages"])
    reply = ask(engine, "what about in germany", session="abroad")
    assert reply["intent"] == "find_trial"
    found = next(m for m in reply["messages"] if m["trials"])
    assert found["text"].startswith("I found no study for adenoid cystic carcinoma in Germany in my records. "
                                    "Elsewhere, I found 1 study:")
    assert [t["id"] for t in found["trials"]] == ["NCT01065844"] or found["trials"]


def test_a_bare_request_gets_the_listing_and_no_passage(engine):
    ask(engine, "my sister has uterine sarcoma", session="bare")
    for request in ("are there any trials for it?", "any in the UK?", "is there a support group I could contact?"):
        reply = ask(engine, request, session="bare")
        assert reply["intent"] in ("find_trial", "find_organisation")
        assert len(reply["messages"]) == 1 and (reply["messages"][0]["trials"] or reply["messages"][0]["organisations"]), request


def test_a_request_that_asks_more_gets_what_the_sources_say_then_the_listing(engine):
    reply = ask(engine, "what research is being done for anal cancer?")
    assert reply["intent"] == "find_trial"
    *said, listed = reply["messages"]
    assert listed["trials"] and said and said[0]["citations"]
    assert said[0]["citations"][0]["doc_id"] == "nci-anal-cancer"


def test_a_question_about_rare_cancers_in_general_leaves_the_conversations_cancer_aside(engine):
    ask(engine, "what are the symptoms of ewing sarcoma", session="general")
    reply = ask(engine, "what is a rare cancer", session="general")
    assert reply["intent"] == "ask_question" and reply["messages"][0]["citations"]
    assert not any("ewing" in c["doc_id"] for m in reply["messages"] for c in m["citations"])
    reply = ask(engine, "how is it treated", session="general")  # and the conversation goes on with it
    assert reply["messages"][0]["citations"][0]["doc_id"].endswith("ewing-sarcoma")


def test_organisations_by_country(engine):
    reply = ask(engine, "Are there patient organisations in Slovenia?")
    assert reply["intent"] == "find_organisation"
    names = [o["name"] for o in listing(reply, "organisations")]
    assert "Cancer Patients Association of Slovenia" in names


def test_follow_up_uses_the_conversations_cancer_type(engine):
    ask(engine, "What is uterine sarcoma?", session="follow")
    reply = ask(engine, "and how is it treated?", session="follow")
    assert reply["intent"] == "ask_question"
    top = reply["messages"][0]["citations"][0]
    assert top["doc_id"] == "nci-uterine-sarcoma" and "Treatment" in top["section"]


def test_sessions_do_not_share_slots(engine):
    ask(engine, "What is uterine sarcoma?", session="a")
    ask(engine, "and how is it treated?", session="b")
    assert engine.store.load("a")["slots"]["cancer_type"] == "uterine sarcoma"
    assert engine.store.load("b")["slots"]["cancer_type"] is None


@pytest.mark.parametrize("text", ["", "   ", "x" * 1001])
def test_bad_messages_are_refused(engine, text):
    with pytest.raises(InvalidMessage):
        ask(engine, text)


def test_quick_reply_payloads_fill_the_form(engine):
    ask(engine, "find me a clinical trial", session="payload")
    reply = ask(engine, '/inform{"cancer_type": "intraocular melanoma"}', session="payload")
    assert reply["intent"] == "find_trial"
    assert engine.store.load("payload")["slots"]["cancer_type"] == "intraocular melanoma"
    assert any("Melanoma" in t["title"] or "melanoma" in " ".join(t["cancer_types"]).lower()
               for t in listing(reply, "trials"))


@pytest.mark.parametrize("value", ["<img src=x onerror=alert(1)>", "made-up disease", "Narnia"])
def test_payload_values_that_name_nothing_known_never_become_slots(engine, value):
    ask(engine, "find me a clinical trial", session="forged")
    reply = ask(engine, f'/inform{{"cancer_type": "{value}", "country": "{value}"}}', session="forged")
    slots = engine.store.load("forged")["slots"]
    assert slots["cancer_type"] is None and slots["country"] is None
    assert all(value not in m["text"] for m in reply["messages"])


def test_payload_values_are_stored_as_their_canonical_names(engine):
    ask(engine, "find me a clinical trial", session="canonical")
    ask(engine, '/inform{"cancer_type": "GIST"}', session="canonical")
    assert engine.store.load("canonical")["slots"]["cancer_type"] == "gastrointestinal stromal tumor"


def test_not_sure_lists_trials_for_any_rare_cancer(engine):
    ask(engine, "find me a clinical trial", session="any")
    reply = ask(engine, "/deny", session="any")
    assert reply["intent"] == "find_trial" and len(listing(reply, "trials")) >= 3


@pytest.mark.parametrize("text", ["/inform{not json", "/", "/inform[]"])
def test_malformed_payloads_are_ordinary_text(engine, text):
    assert ask(engine, text)["intent"] in ("out_of_scope", "ask_question")


def test_a_question_on_causes_that_reads_a_little_like_an_emergency_is_answered(engine):
    ask(engine, "im 45 and have just been told i have acute lymphoblastic leukaemia", session="causes")
    reply = ask(engine, "what could of caused it, i had chemo for something else years ago", session="causes")
    assert reply["intent"] == "ask_question"
    assert reply["cancer_type"] == "adult acute lymphoblastic leukemia"
    reply = ask(engine, "he's got a nosebleed that wont stop and hes gone grey and floppy", session="causes")
    assert reply["intent"] == "emergency"


def test_a_message_about_the_person_or_cancer_discussed_is_never_out_of_scope(engine):
    ask(engine, "my mum has hereditary diffuse gastric cancer", session="mum")
    for text in ("was it caused by her smoking", "will her sense of smell ever come back"):
        reply = ask(engine, text, session="mum")
        assert reply["intent"] == "ask_question", text
        cited = {c["doc_id"] for m in reply["messages"] for c in m["citations"]}
        assert all("gastric" in d or d.startswith(("cruk", "nci-irci", "esmo", "ecpc", "rarecarenet")) for d in cited), cited
    assert ask(engine, "sorry totally unrelated but can you recommend a good film for tonight", session="mum")["intent"] == "out_of_scope"


def test_a_country_said_in_a_few_more_words_still_continues_the_search(engine):
    ask(engine, "any trials for chordoma", session="nl")
    reply = ask(engine, "we live over in the netherlands now", session="nl")
    assert reply["intent"] == "find_trial"
    assert any("Netherlands" in m["text"] for m in reply["messages"])
