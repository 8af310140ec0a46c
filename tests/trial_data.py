"""Registry studies for tests: the real recorded ones, and studies for the trial finder's tests made from a real recorded API v2 record
(tests/data/clinicaltrials, NCT02576665) with its id, conditions, sites, ages, sex, status and criteria
varied, as the scale benchmark varies them. Real records lack, for example, a uterine sarcoma study in Lyon."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

RECORDED_STUDIES = Path(__file__).resolve().parent / "data" / "clinicaltrials" / "v2_json"
BASE = RECORDED_STUDIES / "biomcp_captures" / "get_nct02576665_20260811.json"


def study_like(nct_id: str, conditions: list[str], sites: list[tuple[str, str]], *, sex: str = "ALL",
               min_age: str = "18 Years", max_age: str = "", status: str = "RECRUITING",
               criteria: str | None = None, updated: str = "2026-10-01", title: str = "") -> dict[str, Any]:
    """A copy of the real record, changed as given; `sites` are (city, country) pairs."""
    study = copy.deepcopy(json.loads(BASE.read_text(encoding="utf-8")))
    section = study["protocolSection"]
    section["identificationModule"].update(nctId=nct_id, briefTitle=title or f"A study of {conditions[0]}")
    section["conditionsModule"]["conditions"] = conditions
    section["statusModule"].update(overallStatus=status, lastUpdatePostDateStruct={"date": updated})
    eligibility = section["eligibilityModule"]
    eligibility.update(sex=sex, minimumAge=min_age)
    if max_age:
        eligibility["maximumAge"] = max_age
    else:
        eligibility.pop("maximumAge", None)
    if criteria is not None:
        eligibility["eligibilityCriteria"] = criteria
    section["contactsLocationsModule"] = {
        "centralContacts": [{"name": "Study Desk", "phone": "+33 4 00 00 00 00", "email": "study@example.org"}],
        "locations": [{"facility": f"Hospital in {city}", "city": city, "country": country} for city, country in sites]}
    return study


ULMS_CRITERIA = """Inclusion Criteria:

* Histologically confirmed uterine leiomyosarcoma, metastatic or unresectable
* Women aged 18 years or older
* ECOG performance status 0 or 1

Exclusion Criteria:

* Pregnancy
"""


def uterine_sarcoma_studies() -> list[dict[str, Any]]:
    return [
        study_like("NCT09000001", ["Uterine Leiomyosarcoma"], [("Lyon", "France"), ("Paris", "France")],
                   sex="FEMALE", criteria=ULMS_CRITERIA, title="Trabectedin after surgery for uterine leiomyosarcoma"),
        study_like("NCT09000002", ["Leiomyosarcoma of the Uterus"], [("Milan", "Italy")], sex="FEMALE",
                   min_age="18 Years", max_age="40 Years", criteria=ULMS_CRITERIA, title="A study for young women"),
        study_like("NCT09000003", ["Endometrial Stromal Sarcoma"], [("Bordeaux", "France")], sex="FEMALE",
                   status="COMPLETED", updated="2020-01-15", criteria=ULMS_CRITERIA, title="A finished study"),
        study_like("NCT09000004", ["Soft Tissue Sarcoma"], [("Lyon", "France")], criteria=ULMS_CRITERIA,
                   title="A study of soft tissue sarcoma in general"),
    ]


def recorded_studies() -> list[dict[str, Any]]:
    """The real API v2 study records in tests/data (one study per file, or a {"studies": [...]} page)."""
    studies = []
    for path in sorted(RECORDED_STUDIES.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        studies.extend(data["studies"] if "studies" in data else [data])
    return studies


def recorded_trial_store(path: Path, vocabulary: Any, curated: list[dict]) -> Any:
    """A trial store holding the recorded registry studies and the shipped curated trial records."""
    from knowledge.trial_store import TrialStore

    store = TrialStore(path, vocabulary)
    store.upsert(recorded_studies(), "ctgov-api-v2")
    store.put_curated(curated)
    return store
