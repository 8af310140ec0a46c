"""The trial finder over the trial store, in conversations: filters a person says, pre-screening that asks
what matters and never guesses, cards saying which structured criteria fit, verbatim eligibility quotes
with offsets, and freshness."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from bot.engine import Engine
from bot.store import InMemoryStore
from knowledge.trial_document import study_document
from knowledge.trial_store import TrialStore
from trial_data import recorded_studies, study_like, uterine_sarcoma_studies


@pytest.fixture(scope="module")
def store(loaded, tmp_path_factory):
    store = TrialStore(tmp_path_factory.mktemp("finder") / "trials.sqlite3", loaded.vocabulary)
    store.upsert(recorded_studies() + uterine_sarcoma_studies(), "ctgov-api-v2")
    store.put_curated(loaded.trial_store.curated())
    return store


@pytest.fixture
def engine(loaded, store):
    return Engine(dataclasses.replace(loaded, trial_store=store), InMemoryStore())


def turn(engine, text, session="s"):
    reply = engine.handle(session, text)
    listed = next((m for m in reply["messages"] if m["trials"]), None)
    return reply, listed


def fits(card):
    return {f["criterion"]: f["fits"] for f in card["fit"]}


def test_a_request_with_a_city_an_age_and_a_sex_lists_the_studies_that_fit_and_quotes_their_criteria(engine, store):
    reply, listed = turn(engine, "trials near Lyon for a 45-year-old woman with uterine leiomyosarcoma")
    assert reply["intent"] == "find_trial"
    assert [t["nct_id"] for t in listed["trials"]] == ["NCT09000001"]  # NCT09000002: up to 40, in Milan
    card = listed["trials"][0]
    assert fits(card) == {"recruiting": True, "age": True, "sex": True, "where": True}
    assert "in Lyon for a 45-year-old woman" in listed["text"]
    text = " ".join(m["text"] for m in reply["messages"]).lower()
    assert "you may be able to take part" in text and "the study team decides" in text
    assert "eligible" not in text
    assert len(reply["messages"]) == 1, "nothing is asked: all was said, and no passage is quoted for a listing"
    row = store.get("NCT09000001")
    document = study_document(row.title, row.conditions, row.eligibility_criteria).text
    quotes = card["eligibility_quotes"]
    assert [q["quote"] for q in quotes] == ["Histologically confirmed uterine leiomyosarcoma, metastatic or unresectable",
                                            "Women aged 18 years or older"]
    for quote in quotes:
        assert document[quote["start"]:quote["end"]] == quote["quote"] and quote["doc_id"] == "NCT09000001"
        assert quote["section"] == "Eligibility criteria" and quote["last_updated"] == "2026-10-01"
    assert listed["citations"] == quotes
    assert card["record_url"] == "/trials/NCT09000001" and card["last_updated"] == "2026-10-01"
    assert card["contacts"] == [{"name": "Study Desk", "phone": "+33 4 00 00 00 00", "email": "study@example.org"}]


def test_the_finder_asks_only_what_matters_and_the_reply_narrows_the_search(engine):
    reply, listed = turn(engine, "any trials for uterine sarcoma?", session="ask")
    assert {"NCT09000001", "NCT09000002", "NCT09000003"} <= {t["nct_id"] for t in listed["trials"]}
    assert all(f["fits"] is None for t in listed["trials"] for f in t["fit"] if f["criterion"] != "recruiting")
    question = reply["messages"][-1]["text"]
    assert "age" in question and "country" in question and "won't guess" in question
    assert "sex" not in question, "every study here is for women only: the sex tells none apart"
    reply, listed = turn(engine, "45, France", session="ask")
    assert reply["intent"] == "find_trial"
    assert [t["nct_id"] for t in listed["trials"]] == ["NCT09000001", "NCT09000003"]
    assert all(fits(t)["age"] and fits(t)["where"] for t in listed["trials"])
    assert len(reply["messages"]) == 1


def test_details_said_earlier_are_kept_and_never_guessed(engine):
    turn(engine, "trials for sarcoma please", session="kept")
    reply, listed = turn(engine, "im a 30 year old man", session="kept")
    assert reply["intent"] == "find_trial"
    assert all(fits(t).get("sex") is not False for t in listed["trials"])
    assert "NCT09000001" not in {t["nct_id"] for t in listed["trials"]}  # women only
    reply, listed = turn(engine, "and in Italy?", session="kept")
    assert "30-year-old man" in listed["text"]
    reply, listed = turn(engine, "any trials for mucosal melanoma of the head and neck", session="fresh")
    card = listed["trials"][0]
    assert card["nct_id"] == "NCT04318717" and fits(card)["age"] is None and fits(card)["sex"] is None


def test_no_study_in_the_city_says_so_and_lists_those_in_a_wider_area(engine):
    _, listed = turn(engine, "uterine sarcoma trials near Milan for a 45 year old woman", session="milan")
    assert "no study for uterine sarcoma for a 45-year-old woman in Milan" in listed["text"]  # its one: up to 40
    assert "NCT09000001" in {t.get("nct_id") for t in listed["trials"]}
    assert all(f["fits"] is not True for t in listed["trials"] for f in t["fit"] if f["criterion"] == "where")
    _, listed = turn(engine, "uterine sarcoma trials in Bordeaux", session="bdx")
    assert [t["nct_id"] for t in listed["trials"]] == ["NCT09000003"] and "in Bordeaux" in listed["text"]
    reply, listed = turn(engine, "uterine sarcoma trials in Toulouse", session="tls")
    assert reply["intent"] == "find_trial" and "Toulouse" not in listed["text"]  # no site there: not a city it knows


def test_registry_wording_of_conditions_is_matched_through_the_vocabulary(engine):
    for request, nct in (("trials for adenoid cystic carcinoma", "NCT01065844"),
                         ("any trials for leiomyosarcoma of the uterus", "NCT09000002")):
        _, listed = turn(engine, request, session=request)
        assert nct in {t.get("nct_id") for t in listed["trials"]}, request


def test_curated_records_live_in_the_store_and_are_still_found(engine):
    _, listed = turn(engine, "are there trials for penile cancer", session="irci")
    card = listed["trials"][0]
    assert card["origin"] == "curated" and card["id"].startswith("irci-penile-carcinoma") and card["citation"]["quote"]


def test_a_recruiting_request_lists_only_recruiting_studies(engine):
    _, listed = turn(engine, "recruiting trials for uterine sarcoma", session="open")
    assert listed["trials"] and all(t["status"] == "recruiting" for t in listed["trials"])


def test_every_card_says_when_it_was_last_updated_and_a_stale_store_says_so(loaded, store, tmp_path):
    engine = Engine(dataclasses.replace(loaded, trial_store=store), InMemoryStore())
    _, listed = turn(engine, "trials for uterine sarcoma")
    assert "never been synced" in listed["text"]
    fresh = TrialStore(tmp_path / "fresh.sqlite3", loaded.vocabulary)
    fresh.upsert(uterine_sarcoma_studies(), "ctgov-api-v2")
    fresh.mark_synced(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10))
    engine = Engine(dataclasses.replace(loaded, trial_store=fresh), InMemoryStore())
    _, listed = turn(engine, "trials for uterine sarcoma")
    assert re.search(r"last brought up to date from ClinicalTrials.gov on \d{4}-\d\d-\d\d, more than 7 days ago",
                     listed["text"])
    assert all(t["last_updated"] for t in listed["trials"] if t["origin"] == "registry")
    fresh.mark_synced(dt.datetime.now(dt.timezone.utc))
    _, listed = turn(engine, "trials for uterine sarcoma", session="2")
    assert "ClinicalTrials.gov on" not in listed["text"] and "never been synced" not in listed["text"]


def test_a_study_without_criteria_is_cited_by_its_conditions(engine, store):
    _, listed = turn(engine, "trials for ocular melanoma", session="eye")
    card = next(t for t in listed["trials"] if t.get("nct_id") == "NCT06970236")
    row = store.get("NCT06970236")
    quote = card["citation"]
    assert quote["section"] == "Conditions"
    assert study_document(row.title, row.conditions, row.eligibility_criteria).text[quote["start"]:quote["end"]] == quote["quote"]


def test_a_study_for_another_cancer_is_never_listed(engine, store):
    store.upsert([study_like("NCT09000009", ["Chordoma"], [("Lyon", "France")])], "ctgov-api-v2")
    _, listed = turn(engine, "trials for uterine sarcoma in Lyon", session="other")
    assert "NCT09000009" not in {t.get("nct_id") for t in listed["trials"]}
    _, listed = turn(engine, "trials for chordoma", session="chordoma")
    assert [t.get("nct_id") for t in listed["trials"]] == ["NCT09000009"]


def test_a_narrower_kind_by_another_name_is_pointed_to_not_listed(engine):
    """"salivary gland cancer": adenoid cystic carcinoma is a kind of it, but a card about it would read as
    another cancer; it is named so the person can ask for it."""
    _, listed = turn(engine, "any trials for salivary gland cancer", session="acc")
    assert "NCT01065844" not in {t.get("nct_id") for t in listed["trials"]}
    assert "studies of adenoid cystic carcinoma" in listed["text"]
    _, listed = turn(engine, "any trials for sarcoma", session="named")  # leiomyosarcoma, uterine sarcoma: by its name
    assert {"NCT09000001", "NCT09000004"} <= {t.get("nct_id") for t in listed["trials"]}


def test_none_recruiting_says_so_and_lists_the_others(engine):
    reply, listed = turn(engine, "any trials for anal cancer he could join?", session="join")
    assert listed["text"].startswith("None of the studies I know of is recruiting now.")
    assert any("anal" in " ".join(t["cancer_types"]) for t in listed["trials"])


@pytest.mark.parametrize("age, sex, said", [
    (45, "FEMALE", " for a 45-year-old woman"), (8, "MALE", " for an 8-year-old boy"), (18, None, " for an 18-year-old"),
    (0.5, "FEMALE", " for a 6-month-old girl"), (None, "MALE", " for a man"), (None, None, ""),
])
def test_who_takes_part_reads_as_said(age, sex, said):
    from bot.trial_filters import TrialFilters
    from bot.trial_finder import person_phrase

    assert person_phrase(TrialFilters(age=age, sex=sex)) == said


def test_a_town_sharing_a_cancers_name_is_not_taken_for_a_place(engine, store):
    """Ewing, New Jersey has trial sites; "trials in Ewing sarcoma" asks about the cancer."""
    store.upsert([study_like("NCT09000010", ["Ewing Sarcoma"], [("Ewing", "United States"), ("Essen", "Germany")])],
                 "ctgov-api-v2")
    reply, listed = turn(engine, "any trials in Ewing sarcoma?", session="ewing")
    assert "NCT09000010" in {t.get("nct_id") for t in listed["trials"]}
    assert "in Ewing" not in listed["text"] and all(
        f["detail"] != "A site in Ewing" for t in listed["trials"] for f in t["fit"])


def test_a_trial_store_that_cannot_be_opened_stops_with_the_setting_to_fix(tmp_path, loaded):
    from bot.resources import _open_trial_store

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit, match="Set RCA_TRIAL_STORE to a file in a writable folder"):
        _open_trial_store(blocker / "trials.sqlite3", loaded.vocabulary)


def test_a_curated_copy_of_a_registry_study_never_stands_in_for_it(engine, store):
    """NCT06970236 takes adults: for a baby it is left out, and its curated copy, which has no ages, is not
    listed in its place, nor is anyone told they may take part on what is unknown."""
    reply, listed = turn(engine, "any trials for melanoma in the eye for my 3 month old baby", session="baby")
    ids = {t.get("nct_id") for m in reply["messages"] for t in m["trials"]}
    assert "NCT06970236" not in ids
    text = " ".join(m["text"] for m in reply["messages"]).lower()
    assert "may be able to take part" not in text
