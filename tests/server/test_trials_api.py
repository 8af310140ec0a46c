"""`GET /api/trials`: the conversation's trial search over HTTP, its filters, its errors (each naming the
fix), an empty or missing trial store, and its rate limit.

The store holds the real recorded registry studies, the shipped curated records and, for the filters the
recorded ones cannot show (a city, women only, an age limit), studies made from a real record
(tests/trial_data.py): uterine leiomyosarcoma studies in Lyon, Paris, Milan and Bordeaux.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from trial_data import recorded_trial_store, uterine_sarcoma_studies

from bot.store import InMemoryStore
from knowledge.trial_document import study_document
from knowledge.trial_store import TrialStore
from server.app import create_app

URL = "/api/trials"


def _client(resources, **config):  # type: ignore[no-untyped-def]
    app = create_app({"RESOURCES": resources, "STORE": InMemoryStore(), "TESTING": True,
                      "RELOAD_CHECK_SECONDS": 3600.0, "RATE_LIMITER": None, **config})
    return app.test_client()


@pytest.fixture(scope="module")
def store(loaded, tmp_path_factory) -> TrialStore:
    made = recorded_trial_store(tmp_path_factory.mktemp("api-trials") / "trials.sqlite3", loaded.vocabulary,
                                loaded.searcher.snapshot.records.get("trials", []))
    made.upsert(uterine_sarcoma_studies(), "ctgov-api-v2")
    return made


@pytest.fixture(scope="module")
def client(loaded, store):  # type: ignore[no-untyped-def]
    return _client(dataclasses.replace(loaded, trial_store=store))


def ids(body: dict) -> list[str]:
    return [t["nct_id"] or t["id"] for t in body["trials"]]


def get(client, **params) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(URL, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_cancer_lists_its_registry_studies_then_curated_records_as_cards(client, store):
    body = get(client, cancer="uterine sarcoma")
    assert body["cancer"] == "uterine sarcoma" and body["where"] == "" and body["missing_place"] == ""
    assert ids(body)[:3] == ["NCT09000002", "NCT09000001", "NCT09000003"]  # recruiting first, then by update
    assert [t["origin"] for t in body["trials"]] == ["registry"] * 3 + ["curated"] * (len(body["trials"]) - 3)
    card = body["trials"][1]
    assert card["record_url"] == "/trials/NCT09000001" and card["url"] == "https://clinicaltrials.gov/study/NCT09000001"
    assert card["status"] == "recruiting" and card["registry_status"] == "RECRUITING"
    assert card["last_updated"] == "2026-10-01"
    assert {f["criterion"] for f in card["fit"]} == {"recruiting", "age", "sex", "where"}
    row = store.get("NCT09000001")
    text = study_document(row.title, row.conditions, row.eligibility_criteria).text
    assert card["eligibility_quotes"] and card["citation"] == card["eligibility_quotes"][0]
    for quote in card["eligibility_quotes"]:  # each quote is the study text at its offsets
        assert quote["doc_id"] == "NCT09000001" and text[quote["start"]:quote["end"]] == quote["quote"]
    curated = body["trials"][-1]
    assert curated["record_url"] == "" and curated["eligibility_quotes"] == [] and curated["citation"]["doc_id"]
    assert set(body["store"]) == {"last_synced", "stale"}


@pytest.mark.parametrize("name, canonical", [("Uterine Sarcoma", "uterine sarcoma"),
                                             ("uterine leiomyosarcoma", "uterine sarcoma"),  # a written form
                                             ("ocular melanoma", "intraocular melanoma")])
def test_a_cancer_is_found_by_any_name_the_vocabulary_gives_it(client, name, canonical):
    assert get(client, cancer=name)["cancer"] == canonical


def test_a_broader_cancer_takes_in_the_narrower_ones(client):
    assert {"NCT09000001", "NCT09000004", "NCT02576665"} <= set(ids(get(client, cancer="sarcoma")))


def test_no_cancer_searches_every_study(client, store):
    body = get(client, limit="100")
    assert body["cancer"] is None and len([t for t in body["trials"] if t["origin"] == "registry"]) == store.count()


def test_a_city_with_sites_keeps_to_them_and_a_city_without_says_so(client):
    lyon = get(client, cancer="uterine sarcoma", city="Lyon")
    assert lyon["where"] == "in Lyon" and ids(lyon) == ["NCT09000001"] and lyon["missing_place"] == ""
    assert next(f for f in lyon["trials"][0]["fit"] if f["criterion"] == "where") == {
        "criterion": "where", "fits": True, "detail": "A site in Lyon"}
    marseille = get(client, cancer="uterine sarcoma", city="Marseille")
    assert marseille["missing_place"] == "Marseille" and "NCT09000001" in ids(marseille)


def test_a_country_keeps_to_its_studies_and_one_without_any_falls_back_to_anywhere(client):
    italy = get(client, cancer="uterine sarcoma", country="italy")
    assert italy["where"] == "in Italy" and ids(italy) == ["NCT09000002"]  # the country's own name
    japan = get(client, cancer="uterine sarcoma", country="Japan")
    assert japan["missing_place"] == "Japan" and "NCT09000002" in ids(japan)


def test_person_and_study_filters(client):
    assert "NCT09000002" not in ids(get(client, cancer="uterine sarcoma", age="45"))  # 18 to 40 only
    assert "NCT09000002" in ids(get(client, cancer="uterine sarcoma", age="30.5"))
    assert not [i for i in ids(get(client, cancer="uterine sarcoma", sex="male")) if i.startswith("NCT")]  # women only
    women = get(client, cancer="uterine sarcoma", sex="FEMALE", age="45")
    assert all(f["fits"] is True for f in women["trials"][0]["fit"] if f["criterion"] in ("age", "sex"))
    assert ids(get(client, cancer="uterine sarcoma", recruiting="true")) == ["NCT09000002", "NCT09000001"]
    assert "NCT09000001" not in ids(get(client, cancer="uterine sarcoma", recruiting="false"))
    for phase in ("1", "PHASE1", "phase 1", "Phase_1", "I"):  # the made studies are phase 1, as their base record
        assert "NCT09000001" in ids(get(client, cancer="uterine sarcoma", phase=phase)), phase
    for phase in ("3", "early1", "EARLY_PHASE1", "early phase 1"):
        assert "NCT09000001" not in ids(get(client, cancer="uterine sarcoma", phase=phase)), phase
    assert len(get(client, cancer="uterine sarcoma", limit="1")["trials"]) == 1


def test_blank_parameters_mean_any(client):
    plain = get(client, cancer="uterine sarcoma")
    blank = get(client, cancer="uterine sarcoma", country=" ", city="", recruiting="", age="", sex="", phase="",
                limit="")
    assert blank == plain == get(client, cancer="uterine sarcoma", q=" ")


@pytest.mark.parametrize("params, code, fix", [
    ({"cancer": "zorblaxoma"}, "unknown_cancer", "GET /api/cancers"),
    ({"country": "12345"}, "invalid_country", "country=France"),
    ({"country": "x" * 101}, "invalid_country", "at most 100 characters"),
    ({"city": "!!!"}, "invalid_city", "city=Lyon"),
    ({"recruiting": "maybe"}, "invalid_recruiting", "recruiting must be true"),
    ({"age": "old"}, "invalid_age", "from 0 to 120"),
    ({"age": "-1"}, "invalid_age", "from 0 to 120"),
    ({"age": "121"}, "invalid_age", "from 0 to 120"),
    ({"age": "nan"}, "invalid_age", "from 0 to 120"),
    ({"age": "inf"}, "invalid_age", "from 0 to 120"),
    ({"sex": "other"}, "invalid_sex", "female or male"),
    ({"phase": "5"}, "invalid_phase", "1, 2, 3, 4 or early1"),
    ({"phase": "phase two"}, "invalid_phase", "1, 2, 3, 4 or early1"),
    ({"limit": "0"}, "invalid_limit", "from 1 to 100"),
    ({"limit": "101"}, "invalid_limit", "from 1 to 100"),
    ({"limit": "2.5"}, "invalid_limit", "from 1 to 100"),
    ({"limit": "ten"}, "invalid_limit", "from 1 to 100"),
])
def test_each_bad_parameter_is_a_400_naming_the_fix(client, params, code, fix):
    response = client.get(URL, query_string={"cancer": "melanoma", **params})
    assert response.status_code == 400 and response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code and fix in error["message"]
    assert set(response.get_json()) == {"error"} and params.get("cancer", "\0") not in error["message"]


def test_without_a_trial_store_the_list_is_empty(loaded):
    body = get(_client(dataclasses.replace(loaded, trial_store=None)), cancer="melanoma")
    assert body == {"cancer": "melanoma", "trials": [], "where": "", "missing_place": "", "other_kinds": [],
                    "store": {"last_synced": None, "stale": False}}


def test_an_empty_store_gives_no_trials_and_says_it_was_never_synced(loaded, tmp_path):
    empty = TrialStore(tmp_path / "empty.sqlite3", loaded.vocabulary)
    body = get(_client(dataclasses.replace(loaded, trial_store=empty)), cancer="melanoma", city="Paris")
    assert body["trials"] == [] and body["store"] == {"last_synced": None, "stale": True}
    assert body["missing_place"] == "Paris"


def test_the_store_says_when_it_was_synced(loaded, tmp_path):
    synced = TrialStore(tmp_path / "synced.sqlite3", loaded.vocabulary)
    when = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    synced.mark_synced(when)
    body = get(_client(dataclasses.replace(loaded, trial_store=synced)))
    assert body["store"] == {"last_synced": when.isoformat(), "stale": False}


class _Limited:
    def hit(self, key: str) -> float:
        return 1.2


def test_the_trial_search_is_rate_limited_like_the_document_search(loaded):
    limited = _client(loaded, RATE_LIMITER=_Limited(), RATE_LIMIT_EXEMPT="none")
    response = limited.get(URL, query_string={"cancer": "melanoma"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert limited.get("/trials/NCT04318717").status_code == 200  # pages are not limited


def test_words_narrow_the_search_to_studies_that_have_them(client):
    every = client.get("/api/trials").get_json()["trials"]
    found = client.get("/api/trials?q=Mucosal+Melanoma").get_json()["trials"]
    assert found and len(found) < len(every)
    assert all("mucosal melanoma" in (t["title"] + " " + " ".join(t.get("conditions") or t["cancer_types"])).lower()
               for t in found)
    response = client.get("/api/trials?q=%21%21%21")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_q"


def test_a_country_is_understood_in_the_words_people_use(client):
    by_name = client.get("/api/trials?country=United+Kingdom").get_json()
    assert client.get("/api/trials?country=uk").get_json()["trials"] == by_name["trials"]


def test_a_trial_cards_quotes_are_checked_against_the_study_served_as_a_document(client):
    """GET /api/documents/<NCT id> serves a stored study's citable text, so a trial citation is verified
    like any other: its quote is the text at its offsets."""
    cards = client.get("/api/trials?cancer=uterine+sarcoma&age=45&sex=female").get_json()["trials"]
    quotes = [q for card in cards for q in card["eligibility_quotes"]]
    assert quotes
    for quote in quotes:
        document = client.get(f"/api/documents/{quote['doc_id']}").get_json()
        assert document["text"][quote["start"]:quote["end"]] == quote["quote"]
        assert document["publisher"].startswith("ClinicalTrials.gov") and document["cancer_types"]
    assert client.get("/api/documents/NCT99999999").status_code == 404
