"""Tests for knowledge/trials.py: the shipped trial records and the validation of record files."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # also works when run as plain `pytest`
    sys.path.insert(0, str(REPO_ROOT))

from knowledge.document_format import load_documents  # noqa: E402
from knowledge.trials import STATUSES, Trial, load_trials  # noqa: E402

DOCUMENTS = REPO_ROOT / "knowledge" / "documents"
TRIALS = REPO_ROOT / "knowledge" / "trials"
IRCI_GROUP = "International Rare Cancers Initiative (IRCI)"
COMPLETED_SENTENCE = ("To date, IRCI has convened 12 expert groups and has completed trials in high-grade uterine "
                      "sarcoma and metastatic anal cancer.")
UNDERWAY_SENTENCE = ("Currently, studies are underway in high-grade uterine sarcoma, penile carcinoma, androgen "
                     "receptor positive salivary gland cancer, and small bowel adenocarcinoma, with additional "
                     "studies at the planning stage.")

TEXTS = {
    "doc-a": "# A\n\nThe SARC-1 trial is recruiting people with high-grade uterine sarcoma.\n",
    "doc-b": "# B\n\nA study in penile carcinoma is underway.\n",
}
GOOD = """\
- id: trial-one
  title: SARC-1
  cancer_types: [high-grade uterine sarcoma]
  status: recruiting
  registry_status: RECRUITING
  group: Some Group
  countries: [United Kingdom]
  nct_id: NCT01234567
  phases: [Phase 2]
  sites:
    - {name: Some Hospital, city: London, country: United Kingdom}
  eligibility: Adults.
  contacts:
    - {name: Trial Office, phone: "+44 20 0000 0000", email: office@example.org}
  url: https://example.org/sarc-1
  citation:
    doc_id: doc-a
    quote: "The SARC-1 trial is recruiting people with high-grade uterine sarcoma."
"""


# ----------------------------------------------------------------- the shipped records


@pytest.fixture(scope="module")
def shipped():
    documents = load_documents(DOCUMENTS)
    assert documents.errors == []
    texts = {d.doc_id: d.text for d in documents.documents}
    trials, errors = load_trials(TRIALS, texts)
    return trials, errors, texts


def test_shipped_records_load_without_errors(shipped):
    trials, errors, _ = shipped
    assert errors == []
    assert len(trials) == 9  # 6 IRCI studies + 3 ClinicalTrials.gov records


def test_every_citation_is_verbatim_at_its_offsets(shipped):
    trials, _, texts = shipped
    for trial in trials:
        c = trial.citation
        assert texts[c.doc_id][c.start:c.end] == c.quote, trial.id
        assert c.quote.strip()


def test_irci_studies_as_the_sources_name_them(shipped):
    trials, _, texts = shipped
    irci = {t.id: t for t in trials if t.group == IRCI_GROUP}
    got = sorted((t.cancer_types[0], t.status) for t in irci.values())
    assert got == sorted([
        ("high-grade uterine sarcoma", "completed"), ("metastatic anal cancer", "completed"),
        ("high-grade uterine sarcoma", "underway"), ("penile carcinoma", "underway"),
        ("androgen receptor positive salivary gland cancer", "underway"), ("small bowel adenocarcinoma", "underway"),
    ])
    for trial in irci.values():
        assert trial.citation.doc_id == "nci-irci"
        expected = COMPLETED_SENTENCE if trial.status == "completed" else UNDERWAY_SENTENCE
        assert trial.citation.quote == expected
        assert expected in texts["nci-irci"]
        # the cancer is named in the cited sentence, in the source's own words
        assert all(cancer in trial.citation.quote for cancer in trial.cancer_types)
        # no source states countries, sites or registry ids for these studies
        assert trial.countries == [] and trial.sites == [] and trial.nct_id == "" and trial.contacts == []


def test_shipped_clinicaltrials_records_are_the_rare_cancer_ones(shipped):
    trials, _, texts = shipped
    ctgov = {t.nct_id: t for t in trials if t.id.startswith("ctgov-")}
    assert set(ctgov) == {"NCT01065844", "NCT04318717", "NCT06970236"}
    assert ctgov["NCT06970236"].cancer_types == ["Ocular Melanoma"]
    assert ctgov["NCT04318717"].cancer_types == ["Mucosal Melanoma of the Head and Neck"]
    assert ctgov["NCT01065844"].cancer_types == ["Carcinoma, Adenoid Cystic", "Head and Neck Neoplasms"]
    for nct, trial in ctgov.items():
        assert trial.id == f"ctgov-{nct.lower()}" == trial.citation.doc_id
        assert trial.url == f"https://clinicaltrials.gov/study/{nct}"
        assert trial.citation.doc_id in texts


def test_to_dict_is_json_ready(shipped):
    import json

    trials, _, _ = shipped
    for trial in trials:
        data = trial.to_dict()
        assert json.loads(json.dumps(data)) == data
        assert set(data["citation"]) == {"doc_id", "quote", "start", "end"}
        assert data["status"] in STATUSES


# ----------------------------------------------------------------- validation


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, texts: dict[str, str] | None = None):
    write(tmp_path / "trials", "t.yml", text)
    return load_trials(tmp_path / "trials", TEXTS if texts is None else texts)


def one_error(tmp_path: Path, text: str):
    trials, errors = load(tmp_path, text)
    assert trials == []
    assert len(errors) == 1, errors
    return errors[0]


def test_good_record_loads_with_every_field(tmp_path):
    trials, errors = load(tmp_path, GOOD)
    assert errors == []
    (trial,) = trials
    assert isinstance(trial, Trial)
    assert trial.to_dict() == {
        "id": "trial-one", "title": "SARC-1", "cancer_types": ["high-grade uterine sarcoma"], "status": "recruiting",
        "registry_status": "RECRUITING", "group": "Some Group", "countries": ["United Kingdom"],
        "nct_id": "NCT01234567", "phases": ["Phase 2"],
        "sites": [{"name": "Some Hospital", "city": "London", "country": "United Kingdom"}],
        "eligibility": "Adults.",
        "contacts": [{"name": "Trial Office", "phone": "+44 20 0000 0000", "email": "office@example.org"}],
        "url": "https://example.org/sarc-1",
        "citation": {"doc_id": "doc-a", "quote": "The SARC-1 trial is recruiting people with high-grade uterine sarcoma.",
                     "start": 5, "end": 75},
    }
    assert TEXTS["doc-a"][5:75] == trial.citation.quote
    assert trial.path.endswith("t.yml") and trial.line == 1


def test_unknown_field_names_its_line(tmp_path):
    error = one_error(tmp_path, GOOD.replace("  group: Some Group\n", "  group: Some Group\n  sponsor: X\n"))
    assert "unknown field 'sponsor'" in error.problem
    assert error.line == 7
    assert "group" in error.fix
    assert str(error).startswith(f"{error.path}:7: unknown field 'sponsor'. Fix: ")


@pytest.mark.parametrize("name", ["id", "title", "cancer_types", "status", "citation"])
def test_missing_required_field(tmp_path, name):
    lines = GOOD.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.lstrip("- ").startswith(f"{name}:"))
    end = start + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    text = "".join(lines[:start] + lines[end:])
    if name == "id":
        text = "- " + text.lstrip("- ").lstrip()
    error = one_error(tmp_path, text)
    assert f"missing required field '{name}'" in error.problem


def test_bad_status_names_the_allowed_values(tmp_path):
    error = one_error(tmp_path, GOOD.replace("status: recruiting", "status: active"))
    assert "invalid status 'active'" in error.problem
    for status in ("planned", "recruiting", "underway", "completed", "closed", "unknown"):
        assert status in error.fix
    assert error.line == 4


@pytest.mark.parametrize("bad", ["NCT1234567", "nct01234567", "NCT012345678", "12345678"])
def test_bad_nct_id(tmp_path, bad):
    error = one_error(tmp_path, GOOD.replace("NCT01234567", bad))
    assert f"invalid nct_id '{bad}'" in error.problem
    assert "8 digits" in error.fix
    assert error.line == 8


def test_bad_id(tmp_path):
    error = one_error(tmp_path, GOOD.replace("id: trial-one", "id: Trial_One"))
    assert "invalid id 'Trial_One'" in error.problem


def test_duplicate_id_across_files(tmp_path):
    folder = tmp_path / "trials"
    write(folder, "a.yml", GOOD)
    write(folder, "b.yml", "# another file\n" + GOOD)
    trials, errors = load_trials(folder, TEXTS)
    assert len(trials) == 1
    (error,) = errors
    assert "duplicate id 'trial-one'" in error.problem
    assert error.path.endswith("b.yml") and error.line == 2
    assert "a.yml:1" in error.problem


def test_citation_not_verbatim(tmp_path):
    error = one_error(tmp_path, GOOD.replace("is recruiting people", "is recruiting patients"))
    assert "not verbatim" in error.problem
    assert error.line == 16


def test_citation_unknown_document(tmp_path):
    error = one_error(tmp_path, GOOD.replace("doc_id: doc-a", "doc_id: no-such-doc"))
    assert "unknown document 'no-such-doc'" in error.problem


def test_citation_without_quote(tmp_path):
    error = one_error(tmp_path, GOOD.replace('    quote: "The SARC-1 trial is recruiting people with high-grade uterine sarcoma."\n', ""))
    assert "citation must have 'doc_id' and 'quote'" in error.problem


def test_bad_yaml_reports_its_line(tmp_path):
    trials, errors = load(tmp_path, GOOD.replace("  title: SARC-1\n", "  title: SARC-1\n   bad: [unclosed\n"))
    assert trials == []
    (error,) = errors
    assert "invalid YAML" in error.problem
    assert error.line in (3, 4)


def test_not_a_list(tmp_path):
    error = one_error(tmp_path, "id: x\ntitle: y\n")
    assert "expected a list of records" in error.problem


@pytest.mark.parametrize("field,value,problem", [
    ("cancer_types", "{a: b}", "must be a list of text values"),
    ("countries", "[1, 2]", "must be a list of text values"),
    ("sites", "[{name: X, town: Y}]", "unknown field(s) town"),
    ("sites", "[just text]", "must be a mapping"),
    ("contacts", "[{name: X, fax: '1'}]", "unknown field(s) fax"),
    ("contacts", "{name: X}", "must be a list of mappings"),
    ("title", "[a, b]", "field 'title' must be text"),
    ("url", "example.org", "invalid url"),
])
def test_bad_field_values(tmp_path, field, value, problem):
    lines = GOOD.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.lstrip("- ").startswith(f"{field}:"))
    end = start + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    text = "".join(lines[:start] + [f"  {field}: {value}\n"] + lines[end:])
    error = one_error(tmp_path, text)
    assert problem in error.problem
    assert error.line == start + 1


def test_every_problem_in_a_record_is_reported(tmp_path):
    text = GOOD.replace("status: recruiting", "status: open").replace("NCT01234567", "NCT1").replace(
        "doc_id: doc-a", "doc_id: nowhere")
    trials, errors = load(tmp_path, text)
    assert trials == []
    problems = " | ".join(e.problem for e in errors)
    assert "invalid status" in problems and "invalid nct_id" in problems and "unknown document" in problems


def test_good_records_load_beside_bad_ones(tmp_path):
    second = GOOD.replace("trial-one", "trial-two").replace("status: recruiting", "status: nope")
    trials, errors = load(tmp_path, GOOD + second.replace("- id:", "- id:", 1))
    assert [t.id for t in trials] == ["trial-one"]
    assert len(errors) == 1 and "invalid status" in errors[0].problem


def test_missing_folder_has_no_trials(tmp_path):
    assert load_trials(tmp_path / "nothing", TEXTS) == ([], [])


def test_yaml_extension_and_subfolders_are_read(tmp_path):
    folder = tmp_path / "trials"
    write(folder / "sub", "x.yaml", GOOD)
    trials, errors = load_trials(folder, TEXTS)
    assert errors == [] and [t.id for t in trials] == ["trial-one"]
