"""Conversations through the real Rasa servers: payloads, forms and quick replies, and scale-out on Redis.

Two `rasa run` servers share one Redis (RedisTrackerStore, RedisLockStore) and one action server, as two
machines behind a load balancer would: a conversation may move between them at every message.
"""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis as redis_client
from rasa_stack import WEBHOOK, request, say
from scoring import from_rasa

CUSTOM_KEYS = {"intent", "message_id", "citations", "trials", "organisations", "answer_status", "cancer_type"}
FORM_PAYLOAD = '/inform{"cancer_type": "sarcoma"}'


def sender() -> str:
    return "test" + uuid.uuid4().hex


def folded(items: list[dict]) -> dict:
    return from_rasa(items)


def project_reply(stack, text: str) -> list[dict]:
    return request(stack.project + WEBHOOK, {"sender": sender(), "message": text})


def customs(items: list[dict]) -> list[dict]:
    return [item["custom"] for item in items if item.get("custom")]


def buttons(items: list[dict]) -> list[dict]:
    """The quick replies of the last message that has some (its custom payload follows it)."""
    return next((item["buttons"] for item in reversed(items) if item.get("buttons")), [])


@pytest.mark.parametrize("text,intent", [
    ("How is penile cancer diagnosed?", "ask_question"),
    ("Any trial for metastatic anal cancer?", "find_trial"),
    ("Which organisations in Bulgaria work on rare cancers?", "find_organisation"),
    ("I can't breathe", "emergency"),
    ("What's the best laptop to buy?", "out_of_scope"),
    ("hello", "greet"),
])
def test_every_reply_carries_the_same_custom_payload_as_the_project_webhook(stack, text, intent):
    rasa = say(stack.rasa, sender(), text)
    project = project_reply(stack, text)
    assert rasa and customs(rasa), rasa
    for custom in customs(rasa) + customs(project):
        assert set(custom) == CUSTOM_KEYS, custom
        assert custom["intent"] == intent
    # the same messages, text and citations: Rasa sends text and custom as two items, folded back here
    assert [m["text"] for m in folded(rasa)["messages"]] == [m["text"] for m in folded(project)["messages"]]
    assert [[c["doc_id"], c["start"], c["end"]] for m in folded(rasa)["messages"] for c in m["citations"]] == \
        [[c["doc_id"], c["start"], c["end"]] for m in folded(project)["messages"] for c in m["citations"]]


def test_a_cited_answer_through_rasa(stack):
    reply = folded(say(stack.rasa, sender(), "How is penile cancer diagnosed?"))
    assert reply["intent"] == "ask_question"
    citations = [c for m in reply["messages"] for c in m["citations"]]
    assert citations and citations[0]["doc_id"] == "nci-penile-cancer"
    document = request(f"{stack.project}/api/documents/{citations[0]['doc_id']}")
    assert document["text"][citations[0]["start"]:citations[0]["end"]] == citations[0]["quote"]


def test_trial_form_asks_then_a_quick_reply_answers_it(stack):
    conversation = sender()
    asked = say(stack.rasa, conversation, "I'd like to find a clinical trial")
    assert FORM_PAYLOAD in [b["payload"] for b in buttons(asked)], asked
    assert all(c["intent"] == "find_trial" for c in customs(asked))
    found = folded(say(stack.rasa, conversation, FORM_PAYLOAD))
    assert found["intent"] == "find_trial"
    trials = [t for m in found["messages"] for t in m["trials"]]
    assert trials and all("sarcoma" in " ".join(t["cancer_types"]).lower() for t in trials), found


def test_not_sure_searches_without_a_cancer_type(stack):
    conversation = sender()
    say(stack.rasa, conversation, "find me a trial")
    found = folded(say(stack.rasa, conversation, "/deny"))
    assert found["intent"] == "find_trial"
    assert [t for m in found["messages"] for t in m["trials"]], found


def test_an_unknown_cancer_type_is_asked_again(stack):
    conversation = sender()
    say(stack.rasa, conversation, "find me a trial")
    again = say(stack.rasa, conversation, "zorblax")
    assert any("don't know that type of cancer" in (item.get("text") or "") for item in again), again
    assert buttons(again), again


def test_organisations_by_country_alone(stack):
    found = folded(say(stack.rasa, sender(), "Is there a cancer patients association in Slovenia?"))
    assert found["intent"] == "find_organisation"
    names = [o["name"] for m in found["messages"] for o in m["organisations"]]
    assert "Cancer Patients Association of Slovenia" in names, found


def test_an_emergency_inside_a_form_gets_emergency_help(stack):
    conversation = sender()
    say(stack.rasa, conversation, "find me a trial")
    reply = folded(say(stack.rasa, conversation, "I can't breathe"))
    assert reply["intent"] == "emergency"
    assert "999" in reply["messages"][0]["text"]
    # the form was closed: a question now is answered, not taken as a cancer type
    assert folded(say(stack.rasa, conversation, "How is penile cancer diagnosed?"))["intent"] == "ask_question"


def test_a_conversation_moves_between_rasa_servers(stack):
    """The form opened on server A is answered on server B: the tracker is in Redis, not in A."""
    conversation = sender()
    asked = say(stack.rasa, conversation, "find me a trial")
    assert buttons(asked), asked
    found = folded(say(stack.rasa_b, conversation, "sarcoma"))
    assert found["intent"] == "find_trial"
    assert [t for m in found["messages"] for t in m["trials"]], found
    tracker = request(f"{stack.rasa}/conversations/{conversation}/tracker")
    assert tracker["slots"]["cancer_type"] == "sarcoma"
    assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == ["find me a trial", "sarcoma"]
    # bot/endpoints.yml's RedisTrackerStore: db 0, key prefix rca, conversations expire (record_exp)
    store = redis_client.Redis(port=stack.redis_port, db=0)
    assert store.exists(f"rca:tracker:{conversation}")
    assert 0 < store.ttl(f"rca:tracker:{conversation}") <= 30 * 24 * 3600


def test_concurrent_messages_of_one_conversation_on_both_servers_are_all_kept(stack):
    """Six messages of one conversation at once, on both servers (which take turns through the
    RedisLockStore): every one is kept in the tracker, and answered once."""
    conversation = sender()
    say(stack.rasa, conversation, "hello")
    messages = [f"What is {name}?" for name in ("thymoma", "penile cancer", "anal cancer", "uveal melanoma",
                                                  "small bowel cancer", "sarcoma")]
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda pair: say(pair[0], conversation, pair[1]),
                                [((stack.rasa, stack.rasa_b)[i % 2], text) for i, text in enumerate(messages)]))
    assert all(customs(reply) for reply in replies), replies
    tracker = request(f"{stack.rasa_b}/conversations/{conversation}/tracker")
    users = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert users[0] == "hello" and sorted(users[1:]) == sorted(messages), users
    actions = [e["name"] for e in tracker["events"] if e["event"] == "action"]
    assert actions.count("action_answer_question") == len(messages), actions


def test_trial_pre_screening_through_rasa_as_in_the_engine(stack):
    """The finder asks what matters, and a reply of bare details narrows the search, under Rasa as in the
    embedded engine: the same studies, fits and quoted criteria."""
    rasa, project = sender(), sender()
    turns = ("any trials for uterine sarcoma?", "45, France")
    for text in turns:
        by_rasa = folded(say(stack.rasa, rasa, text))
        by_engine = folded(request(stack.project + WEBHOOK, {"sender": project, "message": text}))
        assert by_rasa["intent"] == by_engine["intent"] == "find_trial", (text, by_rasa)
        assert [m["text"] for m in by_rasa["messages"]] == [m["text"] for m in by_engine["messages"]]
    cards = [t for m in by_rasa["messages"] for t in m["trials"]]
    assert [c["nct_id"] for c in cards] == ["NCT09000001", "NCT09000003"]
    assert all(f["fits"] for c in cards for f in c["fit"] if f["criterion"] in ("age", "where"))
    assert cards[0]["eligibility_quotes"][0]["quote"].startswith("Histologically confirmed uterine leiomyosarcoma")
