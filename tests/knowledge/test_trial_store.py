"""Tests for knowledge/trial_store.py: real API v2 records parsed, stored, updated and searched."""
from __future__ import annotations

import copy
import datetime as dt
import json
import sqlite3
import sys
import threading
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # also works when run as plain `pytest`
    sys.path.insert(0, str(REPO_ROOT))

from knowledge import trial_query, trial_store  # noqa: E402
from knowledge.cancer_vocabulary import load_vocabulary, parse_vocabulary  # noqa: E402
from knowledge.trial_store import StudyError, TrialStore, parse_age, parse_study  # noqa: E402

V2 = REPO_ROOT / "tests" / "data" / "clinicaltrials" / "v2_json"
AACT = sorted((V2 / "aact_fixtures").glob("*.json"))
PAGES = sorted((V2 / "biomcp_captures").glob("search_*.json"))
UTC = dt.timezone.utc


def read(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["studies"] if "studies" in data else [data]


def nct(study: dict) -> str:
    return study["protocolSection"]["identificationModule"]["nctId"]


def variant(study: dict, nct_id: str | None = None, **changes) -> dict:
    """A copy of a real study with some protocol modules' fields changed, e.g. statusModule={...}."""
    study = copy.deepcopy(study)
    section = study["protocolSection"]
    if nct_id:
        section["identificationModule"]["nctId"] = nct_id
    for module, fields in changes.items():
        section.setdefault(module, {}).update(fields)
    return study


def _without_nct(study: dict) -> dict:
    study = copy.deepcopy(study)
    del study["protocolSection"]["identificationModule"]["nctId"]
    return study


@pytest.fixture(scope="module")
def vocabulary():
    return load_vocabulary()


@pytest.fixture(scope="module")
def every_study() -> dict[str, dict]:
    """Each distinct study in the recorded files, by NCT id (the first copy of a study met twice)."""
    found: dict[str, dict] = {}
    for path in sorted(V2.rglob("*.json")):
        for study in read(path):
            found.setdefault(nct(study), study)
    return found


@pytest.fixture
def store(tmp_path, vocabulary, every_study) -> TrialStore:
    with TrialStore(tmp_path / "trials.sqlite3", vocabulary) as opened:
        report = opened.upsert(list(every_study.values()), "ctgov-api-v2")
        assert report.added == len(every_study) and report.skipped == []
        yield opened


def ids(rows) -> list[str]:
    return [row.nct_id for row in rows]


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize("path", AACT, ids=lambda p: p.stem)
def test_each_aact_fixture_parses_with_its_fields_verbatim(path, vocabulary):
    study = read(path)[0]
    section = study["protocolSection"]
    row = parse_study(study, vocabulary, "ctgov-api-v2")
    assert row.nct_id == path.stem
    assert row.status == section["statusModule"]["overallStatus"]
    assert row.last_update == section["statusModule"]["lastUpdatePostDateStruct"]["date"]
    assert row.eligibility_criteria == section["eligibilityModule"]["eligibilityCriteria"].strip()
    assert row.conditions == section["conditionsModule"]["conditions"]
    assert len(row.sites) == len(section["contactsLocationsModule"]["locations"])
    assert row.cancer_types == []  # none of these is a cancer trial (PROVENANCE.md)
    assert row.record is study and row.source == "ctgov-api-v2"


def test_an_aact_fixture_in_detail(vocabulary):
    row = parse_study(read(V2 / "aact_fixtures" / "NCT00763412.json")[0], vocabulary)
    assert (row.min_age_years, row.max_age_years, row.sex) == (12.0, 24.0, "ALL")
    assert row.phases == ["NA"] and row.study_type == "INTERVENTIONAL"
    assert row.sites == [{"facility": "Washington University School of Medicine", "city": "Saint Louis",
                          "state": "Missouri", "country": "United States", "status": ""}]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_each_biomcp_page_parses_though_modules_are_missing(path, vocabulary):
    for study in read(path):
        row = parse_study(study, vocabulary)
        assert row.nct_id == nct(study)
        assert row.last_update is None and row.sites == []  # these captures leave both out


def test_the_melanoma_captures_map_to_their_vocabulary_names(vocabulary):
    rows = {r.nct_id: r for r in (parse_study(s, vocabulary) for s in
                                  read(V2 / "biomcp_captures" / "search_melanoma_recruiting_limit3_20260811.json"))}
    assert vocabulary.names_in_conditions(["Mucosal Melanoma of the Head and Neck"]) == \
        rows["NCT04318717"].cancer_types == ["mucosal melanoma of the head and neck"]
    assert vocabulary.names_in_conditions(["Ocular Melanoma"]) == rows["NCT06970236"].cancer_types == \
        ["intraocular melanoma"]
    assert (rows["NCT04318717"].min_age_years, rows["NCT04318717"].max_age_years) == (16.0, None)
    assert rows["NCT04318717"].sex == "ALL"  # not stated: not restricted
    assert rows["NCT04318717"].phases == ["PHASE2"]


@pytest.mark.parametrize("text, years", [("18 Years", 18.0), ("1 Year", 1.0), ("6 Months", 0.5), ("2 Weeks", 0.0383),
                                         ("30 days", 0.0821), ("N/A", None), ("", None), ("  ", None)])
def test_ages_become_years(text, years):
    assert parse_age(text) == years


@pytest.mark.parametrize("text", ["eighteen", "18", "18 Decades", "-5 Years"])
def test_an_unreadable_age_is_refused(text):
    with pytest.raises(ValueError, match="Years"):
        parse_age(text)


def test_malformed_studies_raise_naming_the_field(vocabulary, every_study):
    good = every_study["NCT04318717"]
    cases = [
        ([good], "study must be a JSON object"),
        ({"studies": [good]}, "protocolSection is missing"),
        (_without_nct(good), "identificationModule.nctId is missing"),
        (variant(good, "NCT123"), "identificationModule.nctId is 'NCT123', not 'NCT' followed by 8 digits"),
        (variant(good, eligibilityModule={"sex": "OTHER"}), "NCT04318717: protocolSection.eligibilityModule.sex"),
        (variant(good, eligibilityModule={"minimumAge": "70 Years", "maximumAge": "18 Years"}), "above maximumAge"),
        (variant(good, eligibilityModule={"maximumAge": "old"}), "eligibilityModule.maximumAge is 'old'"),
        (variant(good, statusModule={"lastUpdatePostDateStruct": {"date": "05/06/2017"}}), "not an ISO date"),
        (variant(good, conditionsModule={"conditions": "Melanoma"}), "conditionsModule.conditions must be a list"),
        (variant(good, contactsLocationsModule={"locations": ["Paris"]}), "locations must be a list of objects"),
    ]
    for study, message in cases:
        with pytest.raises(StudyError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_study(study, vocabulary)


# ------------------------------------------------------------------ storing


def test_a_second_upsert_of_the_same_studies_changes_nothing(store, every_study):
    assert store.count() == len(every_study)
    stored_at = store.get("NCT04318717").stored_at
    report = store.upsert(list(every_study.values()), "ctgov-api-v2")
    assert (report.added, report.updated, report.unchanged, report.skipped) == (0, 0, len(every_study), [])
    assert store.get("NCT04318717").stored_at == stored_at


def test_a_study_is_stored_as_received(store, every_study):
    row = store.get("NCT02552212")
    assert row.record == every_study["NCT02552212"]
    assert len(row.sites) == 105 and "Czechia" in row.countries
    assert store.get("NCT99999999") is None


def test_an_older_copy_does_not_overwrite_a_newer_one(store, every_study):
    study = every_study["NCT02210780"]  # last updated 2020-05-07
    older = variant(study, identificationModule={"briefTitle": "Old title"},
                    statusModule={"lastUpdatePostDateStruct": {"date": "2019-01-01"}})
    undated = variant(older, statusModule={"lastUpdatePostDateStruct": None})
    report = store.upsert([older, undated], "ctgov-bulk")
    assert report.added == report.updated == report.unchanged == 0
    assert [i for i, _ in report.skipped] == ["NCT02210780", "NCT02210780"]
    assert "older than the stored copy's 2020-05-07" in report.skipped[0][1]
    assert store.get("NCT02210780").title == study["protocolSection"]["identificationModule"]["briefTitle"]
    newer = variant(older, statusModule={"lastUpdatePostDateStruct": {"date": "2021-02-03"}})
    assert store.upsert([newer], "ctgov-api-v2").updated == 1
    row = store.get("NCT02210780")
    assert (row.title, row.last_update) == ("Old title", "2021-02-03")


def test_an_update_replaces_the_sites_conditions_and_text_index(store, every_study):
    changed = variant(every_study["NCT06970236"], identificationModule={"briefTitle": "Resistance exercise"},
                      conditionsModule={"conditions": ["Uveal Melanoma"]},
                      contactsLocationsModule={"locations": [{"facility": "Institut Curie", "city": "Paris",
                                                              "country": "France"}]})
    assert store.upsert([changed], "ctgov-api-v2").updated == 1
    assert ids(store.search(text="ocular")) == []
    assert ids(store.search(text="uveal")) == ["NCT06970236"]
    assert "NCT06970236" in ids(store.search(country="France", city="Paris"))
    assert store.get("NCT06970236").sites == [{"facility": "Institut Curie", "city": "Paris", "state": "",
                                               "country": "France", "status": ""}]


def test_bad_studies_are_skipped_and_reported_while_the_rest_of_the_batch_is_stored(tmp_path, vocabulary, every_study,
                                                                                     monkeypatch):
    monkeypatch.setattr(trial_store, "BATCH_SIZE", 2)  # several transactions, bad studies in more than one
    store = TrialStore(tmp_path / "t.sqlite3", vocabulary)
    kept = every_study["NCT04318717"]
    store.upsert([kept], "ctgov-api-v2")
    broken_copy = variant(kept, eligibilityModule={"sex": "EVERYONE"},
                          statusModule={"lastUpdatePostDateStruct": {"date": "2030-01-01"}})
    batch = [every_study["NCT06970236"], _without_nct(kept), variant(kept, "NCT0431871"), ["not", "a", "study"],
             broken_copy, every_study["NCT04114136"]]
    report = store.upsert(batch, "ctgov-api-v2")
    assert (report.added, report.updated, report.unchanged) == (2, 0, 0)
    assert [i for i, _ in report.skipped] == ["study #2", "study #3", "study #4", "NCT04318717"]
    assert "nctId is missing" in report.skipped[0][1] and "'NCT0431871'" in report.skipped[1][1]
    assert "list" in report.skipped[2][1] and "sex" in report.skipped[3][1]
    assert sorted(ids(store.search())) == ["NCT04114136", "NCT04318717", "NCT06970236"]
    assert store.get("NCT04318717").record == kept  # the stored copy is intact
    assert report.to_dict()["skipped"][0] == {"id": "study #2", "reason": report.skipped[0][1]}


def test_a_study_twice_in_one_batch_is_counted_and_stored_once(tmp_path, vocabulary, every_study):
    study = every_study["NCT04318717"]
    store = TrialStore(tmp_path / "t.sqlite3", vocabulary)
    report = store.upsert([study, study, variant(study, identificationModule={"briefTitle": "Same date, new text"})],
                          "ctgov-api-v2")
    assert (report.added, report.unchanged, report.updated) == (1, 1, 1)
    assert store.count() == 1 and store.get("NCT04318717").title == "Same date, new text"
    assert len(store.search(cancer_types=["mucosal melanoma of the head and neck"])) == 1


def test_a_vocabulary_change_updates_the_cancer_types(tmp_path, every_study):
    small, errors = parse_vocabulary("- name: eye melanoma\n  family: eye\n  synonyms: [ocular melanoma]\n", "test")
    assert errors == []
    path, study = tmp_path / "t.sqlite3", every_study["NCT06970236"]
    TrialStore(path, small).upsert([study], "ctgov-api-v2")
    assert TrialStore(path, small).get("NCT06970236").cancer_types == ["eye melanoma"]
    report = TrialStore(path, load_vocabulary()).upsert([study], "ctgov-api-v2")
    assert report.updated == 1
    assert ids(TrialStore(path).search(cancer_types=["intraocular melanoma"])) == ["NCT06970236"]
    assert ids(TrialStore(path).search(cancer_types=["eye melanoma"])) == []


def test_upsert_arguments_are_checked(store, every_study):
    with pytest.raises(ValueError, match="source must be one of ctgov-api-v2, ctgov-bulk, curated"):
        store.upsert(list(every_study.values()), "clinicaltrials")
    with pytest.raises(ValueError, match=r"page\['studies'\]"):
        store.upsert({"studies": []}, "ctgov-api-v2")


# ------------------------------------------------------------------ searching


def test_search_by_cancer_type(store):
    assert ids(store.search(cancer_types=["mucosal melanoma of the head and neck"])) == ["NCT04318717"]
    assert ids(store.search(cancer_types=["Intraocular Melanoma"])) == ["NCT06970236"]  # case ignored
    assert set(ids(store.search(cancer_types=["melanoma"]))) == {"NCT04114136", "NCT03590054", "NCT02576665"}
    both = ids(store.search(cancer_types=["intraocular melanoma", "mucosal melanoma of the head and neck"]))
    assert sorted(both) == ["NCT04318717", "NCT06970236"]
    assert store.search(cancer_types=["chordoma"]) == []


def test_search_by_country_and_city_ignores_case_and_accents(store):
    assert set(ids(store.search(country="UNITED STATES"))) == {
        "NCT00763412", "NCT02210780", "NCT02552212", "NCT03418623", "NCT04207047", "NCT02576665"}
    assert ids(store.search(country="spain")) == ["NCT03475563"]
    assert ids(store.search(city="Leon")) == ["NCT03475563"]  # the registry writes León
    assert ids(store.search(city="zlin", country="czechia")) == ["NCT02552212"]
    assert set(ids(store.search(city="Denver"))) == {"NCT02210780", "NCT02576665"}
    assert store.search(country="Atlantis") == []


@pytest.mark.parametrize("lead_below", [trial_query.LEAD_BELOW, 0], ids=["place-leads", "place-tested"])
def test_country_and_city_must_be_those_of_one_site(store, monkeypatch, lead_below):
    monkeypatch.setattr(trial_query, "LEAD_BELOW", lead_below)
    sites = store.get("NCT02552212").sites
    us_city = next(s["city"] for s in sites if s["country"] == "United States")
    assert "NCT02552212" in ids(store.search(country="United States", city=us_city))
    assert "NCT02552212" in ids(store.search(country="Canada"))
    assert "NCT02552212" not in ids(store.search(country="Canada", city=us_city))


def test_search_by_recruiting(store, every_study):
    recruiting = {n for n, s in every_study.items() if s["protocolSection"]["statusModule"]["overallStatus"] == "RECRUITING"}
    assert set(ids(store.search(recruiting=True))) == recruiting
    others = ids(store.search(recruiting=False, limit=100))
    assert set(others) == set(every_study) - recruiting
    assert "NCT06171568" in others  # NOT_YET_RECRUITING: one cannot join yet


def test_search_by_age(store):
    at_17 = ids(store.search(age=17, limit=100))
    assert "NCT04318717" in at_17 and "NCT00763412" in at_17  # from 16 years; 12 to 24 years
    assert "NCT06970236" not in at_17  # from 18 years
    at_30 = ids(store.search(age=30, limit=100))
    assert "NCT00763412" not in at_30 and "NCT03630471" not in at_30 and "NCT02210780" in at_30
    assert "NCT00763412" in ids(store.search(age=24, limit=100))  # limits are inclusive


def test_search_by_sex(store, every_study):
    store.upsert([variant(every_study["NCT04318717"], "NCT90000001", eligibilityModule={"sex": "FEMALE"}),
                  variant(every_study["NCT04318717"], "NCT90000002", eligibilityModule={"sex": "MALE"})], "curated")
    female = ids(store.search(sex="female", limit=100))
    male = ids(store.search(sex="MALE", limit=100))
    assert "NCT90000001" in female and "NCT90000002" not in female
    assert "NCT90000002" in male and "NCT90000001" not in male
    assert "NCT04318717" in female and "NCT04318717" in male  # ALL


def test_search_by_phase(store):
    phase2 = ids(store.search(phase="PHASE2", limit=100))
    assert "NCT05431270" in phase2  # PHASE1 and PHASE2
    assert "NCT04318717" in phase2 and "NCT02576665" not in phase2
    assert ids(store.search(phase="Phase 2", limit=100)) == phase2
    assert "NCT00763412" in ids(store.search(phase="na", limit=100))


def test_search_by_free_text(store):
    assert ids(store.search(text="dermatitis")) == ["NCT02210780"]
    assert set(ids(store.search(text="Mucosal melanomas"))) == {"NCT04318717"}  # stemmed: melanomas = melanoma
    assert ids(store.search(text='hypofractionated "radiation" AND (')) == ["NCT04318717"]  # never FTS syntax
    assert "NCT06970236" in ids(store.search(text="ocular", recruiting=True))


def test_filters_combine(store):
    assert ids(store.search(cancer_types=["melanoma"], recruiting=True)) == ["NCT04114136"]
    assert ids(store.search(cancer_types=["melanoma"], country="United States")) == ["NCT02576665"]
    assert store.search(cancer_types=["melanoma"], country="United States", recruiting=True) == []
    assert ids(store.search(text="melanoma", age=17)) == ["NCT04318717"]


def test_results_are_recruiting_first_then_most_recently_updated(store, every_study):
    base = every_study["NCT04318717"]
    dated = [("NCT90000011", "COMPLETED", "2024-01-01"), ("NCT90000012", "RECRUITING", "2020-01-01"),
             ("NCT90000013", "RECRUITING", "2023-06-01"), ("NCT90000014", "NOT_YET_RECRUITING", "2025-01-01")]
    store.upsert([variant(base, n, statusModule={"overallStatus": s, "lastUpdatePostDateStruct": {"date": d}})
                  for n, s, d in dated], "curated")
    found = ids(store.search(text="hypofractionated"))
    assert found == ["NCT90000013", "NCT90000012", "NCT04318717", "NCT90000014", "NCT90000011"]
    assert ids(store.search(text="hypofractionated", limit=2)) == found[:2]


def test_both_search_plans_give_the_same_results(store, monkeypatch):
    queries = [{"cancer_types": ["melanoma"]}, {"text": "melanoma", "recruiting": True},
               {"country": "United States", "age": 30}, {"city": "denver", "text": "dermatitis"},
               {"cancer_types": ["non-small cell lung cancer"], "recruiting": False, "phase": "PHASE3"}]
    led = [ids(store.search(**q, limit=100)) for q in queries]
    monkeypatch.setattr(trial_query, "LEAD_BELOW", 0)  # every filter tested per study, in result order
    assert [ids(store.search(**q, limit=100)) for q in queries] == led
    assert all(led)


def test_search_rows_carry_what_the_trial_finder_reads(store):
    row = store.search(cancer_types=["mucosal melanoma of the head and neck"])[0]
    assert row.record is None  # get() loads it
    data = row.to_dict()
    assert data["status"] == "recruiting" and data["registry_status"] == "RECRUITING"
    assert data["url"] == "https://clinicaltrials.gov/study/NCT04318717"
    assert data["cancer_types"] == ["mucosal melanoma of the head and neck"]
    assert store.get("NCT02576665").to_dict()["countries"] == ["United States"]
    json.dumps(data)


@pytest.mark.parametrize("arguments, message", [
    ({"cancer_types": "melanoma"}, "cancer_types must be a list of cancer names"),
    ({"cancer_types": ["melanoma", ""]}, "cancer_types must be a list"),
    ({"text": "!!!"}, "no words to search for"),
    ({"text": None}, "text must be a string"),
    ({"country": ""}, "country must be a place name"),
    ({"city": 3}, "city must be a place name"),
    ({"recruiting": "yes"}, "recruiting must be True, False or None"),
    ({"age": -1}, "age must be a number of years between 0 and 130"),
    ({"age": True}, "age must be a number"),
    ({"sex": "ALL"}, "sex must be 'FEMALE' or 'MALE'"),
    ({"phase": "PHASE5"}, "phase must be one of EARLY_PHASE1"),
    ({"limit": 0}, "limit must be a whole number from 1 to 1000"),
    ({"limit": 2.5}, "limit must be a whole number"),
])
def test_search_arguments_are_checked(store, arguments, message):
    with pytest.raises(ValueError, match=message):
        store.search(**arguments)


def test_get_checks_the_id(store):
    with pytest.raises(ValueError, match="NCT followed by 8 digits|'NCT' followed by 8 digits"):
        store.get("nct04318717")


# ------------------------------------------------------------------ sync state and the file


def test_staleness_after_seven_days(tmp_path):
    store = TrialStore(tmp_path / "t.sqlite3")
    now = dt.datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert store.last_synced() is None and store.is_stale(now)
    store.mark_synced(now)
    assert store.last_synced() == now
    assert not store.is_stale(now + dt.timedelta(days=6, hours=23))
    assert store.is_stale(now + dt.timedelta(days=7))
    assert not store.is_stale(now + dt.timedelta(days=7), days=8)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.mark_synced(dt.datetime(2026, 12, 5))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.is_stale(dt.datetime(2026, 12, 5))
    with pytest.raises(ValueError, match="days must be a positive number"):
        store.is_stale(now, days=0)


def test_state_survives_reopening_the_file(tmp_path, vocabulary, every_study):
    path = tmp_path / "var" / "trials.sqlite3"  # the folder is created
    store = TrialStore(path, vocabulary)
    store.set_state("ctgov.page_token", "ZVt07cGHkvI2wRk2CJf6")
    store.mark_synced(dt.datetime(2026, 12, 1, tzinfo=UTC))
    store.upsert([every_study["NCT04318717"]], "ctgov-api-v2")
    store.close()
    reopened = TrialStore(path)
    assert reopened.get_state("ctgov.page_token") == "ZVt07cGHkvI2wRk2CJf6"
    assert reopened.get_state("never.set") is None
    assert reopened.to_dict() == {"path": str(path), "count": 1, "last_synced": "2026-12-01T00:00:00+00:00",
                                  "schema_version": trial_store.SCHEMA_VERSION}
    reopened.set_state("ctgov.page_token", "")
    assert reopened.get_state("ctgov.page_token") == ""


def test_state_keys_and_values_are_checked(tmp_path):
    store = TrialStore(tmp_path / "t.sqlite3")
    with pytest.raises(ValueError, match="mark_synced"):
        store.set_state("store.last_synced", "2020-01-01")
    with pytest.raises(ValueError, match="json.dumps"):
        store.set_state("ctgov.cursor", 3)
    with pytest.raises(ValueError, match="non-empty name"):
        store.set_state(" ", "x")


def test_the_file_is_in_wal_mode_and_read_from_other_threads(store):
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    found: list[list[str]] = []
    reader = threading.Thread(target=lambda: found.append(ids(store.search(cancer_types=["intraocular melanoma"]))))
    reader.start()
    reader.join()
    assert found == [["NCT06970236"]]


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp, "is a folder"),
    (lambda tmp: ":memory:", "must be a file path"),
    (lambda tmp: (tmp / "notes.txt", (tmp / "notes.txt").write_text("not a database " * 100))[0], "is not a trial store"),
])
def test_a_path_that_cannot_be_a_store_is_refused(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        TrialStore(make(tmp_path))


def test_a_store_of_another_schema_version_is_refused(tmp_path):
    path = tmp_path / "t.sqlite3"
    TrialStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'store.schema_version'")
    conn.close()
    with pytest.raises(ValueError, match=f"schema 99, this code reads {trial_store.SCHEMA_VERSION}; sync into a new file"):
        TrialStore(path)


def test_an_older_store_is_refused_untouched_with_the_fix(tmp_path):
    path = tmp_path / "t.sqlite3"
    with sqlite3.connect(path) as conn:  # what schema 1 left: its meta table, its own studies table
        conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                           "INSERT INTO meta VALUES ('store.schema_version', '1');"
                           "CREATE TABLE studies (nct_id TEXT PRIMARY KEY, record TEXT NOT NULL);")
    conn.close()
    with pytest.raises(ValueError, match="schema 1, this code reads .*move this one away, then run "
                                         "`python -m knowledge sync-trials`"):
        TrialStore(path)
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == {"meta", "studies"}  # nothing of the new schema was added


# ------------------------------------------------------------------ how the records are kept (schema 2)


def test_search_rows_carry_the_registry_eligibility_text_and_sites_exactly(store, every_study, vocabulary):
    found = {r.nct_id: r for r in store.search(limit=100)}
    assert set(found) == set(every_study)
    for nct_id, study in every_study.items():
        eligibility = study["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria", "")
        row = found[nct_id]
        assert row.eligibility_criteria == eligibility.strip() == store.get(nct_id).eligibility_criteria
        assert row.sites == parse_study(study, vocabulary).sites == store.get(nct_id).sites
        assert row.record is None


def test_records_are_stored_packed_once(store, every_study):
    conn = store._conn()
    columns = {name for _, name, *_ in conn.execute("PRAGMA table_info(studies)")}
    assert "eligibility_criteria" not in columns and "record" not in columns
    packed = dict(conn.execute("SELECT nct_id, record FROM studies JOIN records USING (id)"))
    raw = json.dumps(every_study["NCT02552212"], ensure_ascii=False, separators=(",", ":")).encode()
    assert len(packed["NCT02552212"]) < len(raw) / 3  # 105 sites: repetitive
    assert trial_store.unpack_record(packed["NCT02552212"]) == every_study["NCT02552212"]
    assert len(packed) == store.count() == conn.execute("SELECT count(*) FROM records").fetchone()[0]


def test_the_text_index_stays_consistent_through_updates(store, every_study):
    for nct_id in ("NCT06970236", "NCT02210780"):
        store.upsert([variant(every_study[nct_id], identificationModule={"briefTitle": f"Renamed {nct_id}"},
                              statusModule={"lastUpdatePostDateStruct": {"date": "2030-01-01"}})], "ctgov-api-v2")
    conn = store._conn()
    conn.execute("INSERT INTO studies_fts (studies_fts) VALUES ('integrity-check')")  # raises if not
    for table in ("records", "sites", "study_conditions"):  # nothing left of the replaced rows
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE id NOT IN (SELECT id FROM studies)").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == store.count() == len(every_study)
    assert sorted(ids(store.search(text="renamed"))) == ["NCT02210780", "NCT06970236"]
    assert ids(store.search(text="resistance exercise")) == []  # NCT06970236's old title, in no other field


def test_an_update_moves_a_study_between_cancer_and_status_ranges(store, every_study):
    study = every_study["NCT04318717"]  # recruiting mucosal melanoma of the head and neck
    moved = variant(study, statusModule={"overallStatus": "COMPLETED",
                                         "lastUpdatePostDateStruct": {"date": "2030-01-01"}},
                    conditionsModule={"conditions": ["Ocular Melanoma"]})
    assert store.upsert([moved], "ctgov-api-v2").updated == 1
    assert store.search(cancer_types=["mucosal melanoma of the head and neck"]) == []
    assert ids(store.search(cancer_types=["intraocular melanoma"], recruiting=False)) == ["NCT04318717"]
    assert "NCT04318717" not in ids(store.search(cancer_types=["intraocular melanoma"], recruiting=True))


# ------------------------------------------------------------------ cities, summary


def test_city_countries_most_studies_first(store, every_study):
    assert store.city_countries("Denver") == ["United States"]
    assert store.city_countries("LEON") == ["Spain"]  # the registry writes León
    assert store.city_countries("Atlantis") == []
    base = every_study["NCT04318717"]
    store.upsert([variant(base, f"NCT9000002{n}", contactsLocationsModule={"locations": [
        {"facility": "A", "city": "Paris", "country": country}, {"facility": "B", "city": "paris", "country": country}]})
        for n, country in enumerate(["France", "France", "United States"])], "curated")
    assert store.city_countries("Paris") == ["France", "United States"]
    with pytest.raises(ValueError, match="city must be a place name"):
        store.city_countries("  ")


def test_summary(tmp_path, store, every_study):
    assert store.summary() == {"count": len(every_study), "last_synced": None, "curated": 0}
    store.mark_synced(dt.datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    assert store.summary()["last_synced"] == "2026-12-05T09:00:00+00:00"
    assert TrialStore(tmp_path / "empty.sqlite3").summary() == {"count": 0, "last_synced": None, "curated": 0}


# ------------------------------------------------------------------ curated trial records


@pytest.fixture(scope="module")
def curated_records() -> list[dict]:
    """The project's own curated trial records, loaded as the knowledge base loads them."""
    from knowledge.document_format import load_documents
    from knowledge.trials import load_trials

    documents = load_documents(REPO_ROOT / "knowledge" / "documents")
    trials, errors = load_trials(REPO_ROOT / "knowledge" / "trials", {d.doc_id: d.text for d in documents.documents})
    assert errors == [] and trials
    return [t.to_dict() for t in trials]


def test_curated_records_are_stored_and_replaced_whole(tmp_path, curated_records):
    store = TrialStore(tmp_path / "t.sqlite3")
    assert store.curated() == []
    store.put_curated(list(reversed(curated_records)))
    assert store.curated() == sorted(curated_records, key=lambda t: t["id"])
    assert TrialStore(tmp_path / "t.sqlite3").curated() == store.curated()  # on disk
    store.put_curated(curated_records[:1])
    assert store.curated() == curated_records[:1]
    assert store.summary()["curated"] == 1
    store.put_curated([])
    assert store.curated() == []


@pytest.mark.parametrize("change, message", [
    (lambda t: t.pop("id"), r"curated trial #2: 'id' must be non-empty text"),
    (lambda t: t.update(id="  "), r"curated trial #2: 'id' must be non-empty text"),
    (lambda t: t.update(title=""), r"'title' must be non-empty text"),
    (lambda t: t.update(status=None), r"'status' must be non-empty text"),
    (lambda t: t.update(cancer_types="melanoma"), r"'cancer_types' must be a list of cancer names"),
    (lambda t: t.update(group={1, 2}), r"is not JSON-ready"),
])
def test_a_bad_curated_record_is_named_and_changes_nothing(tmp_path, curated_records, change, message):
    store = TrialStore(tmp_path / "t.sqlite3")
    store.put_curated(curated_records)
    before = store.curated()
    bad = copy.deepcopy(curated_records[1])
    change(bad)
    with pytest.raises(ValueError, match=message):
        store.put_curated([curated_records[0], bad, *curated_records[2:]])
    assert store.curated() == before


def test_curated_ids_must_be_unique_and_records_dicts(tmp_path, curated_records):
    store = TrialStore(tmp_path / "t.sqlite3")
    first = curated_records[0]
    with pytest.raises(ValueError, match=f"curated trial '{first['id']}': is given twice"):
        store.put_curated([first, dict(first)])
    with pytest.raises(ValueError, match="curated trial #1: must be a dict"):
        store.put_curated(["irci-penile-carcinoma"])
    with pytest.raises(ValueError, match="must be a list of curated trial records"):
        store.put_curated(first)
    assert store.curated() == []
