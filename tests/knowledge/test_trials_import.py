"""Tests for knowledge/trials_import.py (ClinicalTrials.gov records -> documents and trial records).

Run from the repository root: ``python -m pytest tests/knowledge``.
Only repository files are read (tests/data/clinicaltrials and knowledge/sources), never ../shared.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # also works when run as plain `pytest`
    sys.path.insert(0, str(REPO_ROOT))

from knowledge.document_format import load_documents, parse_document  # noqa: E402
from knowledge import writing  # noqa: E402
from knowledge import trials_import as ti  # noqa: E402
from knowledge.cancer_vocabulary import load_vocabulary, parse_vocabulary  # noqa: E402
from knowledge.trials import load_trials  # noqa: E402

FIXTURES = REPO_ROOT / "tests" / "data" / "clinicaltrials"
V2 = FIXTURES / "v2_json"
XML = FIXTURES / "classic_xml"
V1 = FIXTURES / "v1_json" / "NCT00023673.json"
MELANOMA = V2 / "biomcp_captures" / "search_melanoma_recruiting_limit3_20260811.json"
SOURCES = REPO_ROOT / "knowledge" / "sources" / "clinicaltrials"
PRODUCT_DOCS = REPO_ROOT / "knowledge" / "documents" / "trials"
PRODUCT_RECORDS = REPO_ROOT / "knowledge" / "trials"
PRODUCT_NCTS = {"NCT01065844", "NCT04318717", "NCT06970236"}
RETRIEVED = "2026-11-22"
SHIPPED_VOCABULARY = REPO_ROOT / "knowledge" / "cancers.yml"
NOT_CANCER_CONDITIONS = ("Cystic Fibrosis Related Diabetes", "Caries, Dental", "Atopic Dermatitis",
                         "Axial Spondyloarthritis", "Alcohol Use Disorder", "Coronary Artery Disease", "Abdominoplasty",
                         "Localized Resectable Tumor", "Dysphagia", "Brain Injuries",
                         "Mental Health Issue (E.G., Depression, Psychosis, Personality Disorder, Substance Abuse)")


# ----------------------------------------------------------------- helpers


def fixture_vocabulary():
    """The shipped vocabulary, plus the fixtures' conditions that are no cancer, so every fixture imports
    and the parsing and rendering of all of them is tested; `test_studies_of_no_cancer_are_skipped`
    uses the shipped vocabulary alone."""
    text = SHIPPED_VOCABULARY.read_text(encoding="utf-8") + "\n- name: fixture condition\n  family: other\n" \
        "  synonyms: [" + ", ".join(f'"{c}"' for c in NOT_CANCER_CONDITIONS) + "]\n"
    vocabulary, errors = parse_vocabulary(text, "fixture vocabulary")
    assert not errors, errors
    return vocabulary


def run_import(sources, out: Path, retrieved: str = RETRIEVED, only=None, vocabulary="fixtures"):
    stdout, stderr = io.StringIO(), io.StringIO()
    code = ti.import_trials([Path(s) for s in sources], out / "docs", out / "records", retrieved, only=only,
                            stdout=stdout, stderr=stderr,
                            vocabulary=fixture_vocabulary() if vocabulary == "fixtures" else vocabulary)
    return code, stdout.getvalue(), stderr.getvalue()


def split_document(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def sections_of(body: str) -> dict[str, str]:
    sections: dict[str, str] = {}
    current = None
    for line in body.split("\n"):
        if line.startswith("## "):
            current = line[3:]
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return {k: v.strip("\n") for k, v in sections.items()}


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def record_of(out: Path, nct: str) -> dict:
    data = yaml.safe_load((out / "records" / f"ctgov-{nct.lower()}.yml").read_text(encoding="utf-8"))
    assert isinstance(data, list) and len(data) == 1
    return data[0]


def document_of(out: Path, nct: str) -> tuple[dict, str]:
    return split_document((out / "docs" / f"ctgov-{nct.lower()}.md").read_text(encoding="utf-8"))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """All fixtures imported at once (the v1 file fails, everything else imports)."""
    out = tmp_path_factory.mktemp("all")
    code, stdout, stderr = run_import([FIXTURES], out)
    return out, code, stdout, stderr


# ----------------------------------------------------------------- whole fixture set


def test_all_fixtures_import_except_v1(everything):
    out, code, stdout, stderr = everything
    assert code == 1
    docs = sorted(p.name for p in (out / "docs").glob("*.md"))
    records = sorted(p.name for p in (out / "records").glob("*.yml"))
    assert len(docs) == 27 == len(records)  # 28 distinct NCT records, one of them only in the v1 file
    assert [d[:-3] for d in docs] == [r[:-4] for r in records]
    assert "ctgov-nct00023673.md" not in docs
    assert "imported 27 trial(s)" in stdout and "1 failed" in stdout


def test_studies_of_no_cancer_are_skipped_with_a_note_and_cancer_types_are_written(tmp_path):
    code, stdout, stderr = run_import([V2, XML], tmp_path, vocabulary=load_vocabulary())
    assert code == 0, stderr
    assert "note: " in stdout and "Abdominoplasty" in stdout and "names a cancer in knowledge/cancers.yml" in stdout
    assert "study(ies) of no cancer in the vocabulary" in stdout
    docs = list((tmp_path / "docs").glob("*.md"))
    assert docs and len(docs) < 27
    for path in docs:
        front, _ = split_document(path.read_text(encoding="utf-8"))
        assert front["cancer_types"] and load_vocabulary().unknown(front["cancer_types"]) == []


def test_registry_wording_links_to_the_vocabulary():
    vocabulary = load_vocabulary()
    assert vocabulary.names_in_conditions(["Carcinoma, Adenoid Cystic", "Head and Neck Neoplasms"]) == \
        ["adenoid cystic carcinoma", "head and neck cancer"]
    assert vocabulary.names_in_conditions(["Triple Negative Breast Cancer"]) == ["breast cancer"]
    assert vocabulary.names_in_conditions(["Abdominoplasty"]) == []


def test_v1_file_gets_a_clear_error(everything):
    _, _, _, stderr = everything
    (line,) = [l for l in stderr.splitlines() if "NCT00023673.json" in l]
    assert "retired ClinicalTrials.gov API v1 format (FullStudiesResponse)" in line
    assert "Fix: download the study as API v2 JSON (https://clinicaltrials.gov/api/v2/studies/NCT00023673)" in line
    assert stderr.count("error:") == 1


def test_every_generated_document_is_valid(everything):
    out = everything[0]
    for path in sorted((out / "docs").glob("*.md")):
        document, errors = parse_document(path, path.read_bytes())
        assert errors == [], errors
        assert document.doc_id == path.stem
        assert document.publisher == "ClinicalTrials.gov (U.S. National Library of Medicine)"
        assert document.licence == ("U.S. Government registry data, described as public domain; "
                                    "see https://clinicaltrials.gov/about-site/terms-conditions")
        assert document.language == "en"
        nct = path.stem.split("-")[1].upper()
        assert document.url == f"https://clinicaltrials.gov/study/{nct}"
        assert document.source.startswith(f"ClinicalTrials.gov record {nct}, ")
        assert document.last_reviewed == ""  # a registry update is no review
        assert bool(document.last_updated) != bool(document.retrieved)


def test_generated_records_load_and_cite_their_documents(everything):
    out = everything[0]
    documents = load_documents(out / "docs")
    assert documents.errors == []
    texts = {d.doc_id: d.text for d in documents.documents}
    trials, errors = load_trials(out / "records", texts)
    assert errors == []
    assert len(trials) == 27
    for trial in trials:
        c = trial.citation
        assert c.doc_id == trial.id
        assert texts[c.doc_id][c.start:c.end] == c.quote
        assert sections_of(texts[c.doc_id])["Conditions"] == c.quote


def test_layout_is_clean(everything):
    out = everything[0]
    for path in (out / "docs").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n")
        assert not re.search(r"[ \t]$", text, re.M)
        assert "\n\n\n" not in text
        headings = re.findall(r"(?m)^## (.+)$", text)
        assert set(headings) <= {"Summary", "Conditions", "Status", "Phases", "Eligibility", "Locations", "Contacts"}
        assert "Status" in headings


def test_the_big_record_keeps_all_its_locations(everything):
    out = everything[0]
    root = ET.parse(XML / "NCT02465060.xml").getroot()
    record = record_of(out, "NCT02465060")
    assert len(record["sites"]) == len(root.findall("location")) == 1218
    _, body = document_of(out, "NCT02465060")
    assert len(sections_of(body)["Locations"].splitlines()) == 1218


# ----------------------------------------------------------------- API v2 JSON, a single study


def test_v2_single_study_fields(tmp_path):
    path = V2 / "aact_fixtures" / "NCT06171568.json"
    raw = json.loads(path.read_text(encoding="utf-8"))["protocolSection"]
    code, stdout, stderr = run_import([path], tmp_path)
    assert (code, stderr) == (0, "")
    record = record_of(tmp_path, "NCT06171568")
    assert record["id"] == "ctgov-nct06171568"
    assert record["title"] == raw["identificationModule"]["briefTitle"]
    assert record["cancer_types"] == raw["conditionsModule"]["conditions"] == ["Brain Injuries"]
    assert record["status"] == "planned" and record["registry_status"] == "NOT_YET_RECRUITING"
    assert record["group"] == "Assistance Publique - Hôpitaux de Paris"
    assert record["countries"] == ["France"]
    assert record["sites"] == [{"name": "Neurosurgery - Lariboisière hospital", "city": "Paris", "country": "France"}]
    assert record["contacts"] == [
        {"name": "Camille Heslot, MD", "phone": "01.49.95.81.69 ext. +33", "email": "camille.heslot@aphp.fr"},
        {"name": "Alexis Schnitzler, MD, PhD", "phone": "01.40.05.49.58 ext. +33", "email": "alexis.schnitzler@aphp.fr"},
    ]
    assert "phases" not in record  # an observational study has none
    assert record["eligibility"].startswith("Sex: ALL\nMinimum age: 18 Years\nHealthy volunteers: No\n\n")
    assert record["eligibility"].endswith(raw["eligibilityModule"]["eligibilityCriteria"].strip())
    assert record["url"] == "https://clinicaltrials.gov/study/NCT06171568"
    front, body = document_of(tmp_path, "NCT06171568")
    assert front["id"] == "ctgov-nct06171568"
    assert front["title"] == raw["identificationModule"]["briefTitle"]
    assert str(front["last_updated"]) == raw["statusModule"]["lastUpdatePostDateStruct"]["date"] == "2023-12-14"
    assert "retrieved" not in front and "last_reviewed" not in front
    assert front["source"] == "ClinicalTrials.gov record NCT06171568, NCT06171568.json"
    assert f"- Official title: {raw['identificationModule']['officialTitle']}" in body
    sections = sections_of(body)
    assert sections["Summary"] == raw["descriptionModule"]["briefSummary"].strip()
    assert sections["Status"].splitlines()[0] == "- Overall status: NOT_YET_RECRUITING"
    assert "- Camille Heslot, MD: phone 01.49.95.81.69 ext. +33, email camille.heslot@aphp.fr" in sections["Contacts"]


def test_v2_text_is_verbatim(everything):
    out = everything[0]
    for path in sorted((V2 / "aact_fixtures").glob("*.json")):
        protocol = json.loads(path.read_text(encoding="utf-8"))["protocolSection"]
        nct = protocol["identificationModule"]["nctId"]
        _, body = document_of(out, nct)
        sections = sections_of(body)
        summary = protocol.get("descriptionModule", {}).get("briefSummary")
        if summary:
            assert squeeze(sections["Summary"]) == squeeze(summary)
            assert sections["Summary"].split() == summary.split()
        criteria = protocol.get("eligibilityModule", {}).get("eligibilityCriteria")
        if criteria:
            assert squeeze(criteria) in squeeze(sections["Eligibility"])
        for condition in protocol["conditionsModule"]["conditions"]:
            assert f"- {' '.join(condition.split())}" in sections["Conditions"].splitlines()


def test_v2_status_and_phase_mapping(everything):
    out = everything[0]
    assert record_of(out, "NCT00973089")["status"] == "closed"  # WITHDRAWN
    assert record_of(out, "NCT00973089")["registry_status"] == "WITHDRAWN"
    assert record_of(out, "NCT03475563")["status"] == "unknown"
    assert record_of(out, "NCT06382129")["status"] == "underway"  # ACTIVE_NOT_RECRUITING
    assert record_of(out, "NCT02576665")["status"] == "closed"  # TERMINATED
    assert record_of(out, "NCT04318717")["phases"] == ["Phase 2"]
    assert "phases" not in record_of(out, "NCT06970236")  # NA: not applicable
    _, body = document_of(out, "NCT06970236")
    assert sections_of(body)["Phases"] == "- Not Applicable (NA)"


# ----------------------------------------------------------------- API v2 JSON, a page of studies


def test_v2_studies_page(tmp_path):
    code, stdout, stderr = run_import([MELANOMA], tmp_path)
    assert (code, stderr) == (0, "")
    assert sorted(p.stem for p in (tmp_path / "docs").glob("*.md")) == [
        "ctgov-nct04114136", "ctgov-nct04318717", "ctgov-nct06970236"]
    record = record_of(tmp_path, "NCT06970236")
    assert record == {
        "id": "ctgov-nct06970236",
        "title": "Resistance Exercise in Patients With Ocular Melanoma",
        "cancer_types": ["Ocular Melanoma"],
        "status": "recruiting",
        "registry_status": "RECRUITING",
        "group": "University of Valencia",
        "nct_id": "NCT06970236",
        "eligibility": "Minimum age: 18 Years",
        "url": "https://clinicaltrials.gov/study/NCT06970236",
        "citation": {"doc_id": "ctgov-nct06970236", "quote": "- Ocular Melanoma"},
    }
    front, _ = document_of(tmp_path, "NCT06970236")
    assert str(front["retrieved"]) == RETRIEVED and {"last_reviewed", "last_updated"}.isdisjoint(front)  # the capture has no dates of its own


def test_only_restricts_the_import(tmp_path):
    code, stdout, _ = run_import([MELANOMA], tmp_path, only={"NCT06970236"})
    assert code == 0
    assert [p.stem for p in (tmp_path / "docs").glob("*.md")] == ["ctgov-nct06970236"]
    assert "skipped 2 record(s)" in stdout


def test_only_names_a_missing_study(tmp_path):
    code, _, stderr = run_import([MELANOMA], tmp_path, only={"NCT06970236", "NCT09999999"})
    assert code == 1
    assert "NCT09999999: not found in the input files" in stderr
    assert (tmp_path / "docs" / "ctgov-nct06970236.md").is_file()


def test_a_bad_study_in_a_page_does_not_stop_the_others(tmp_path):
    page = json.loads(MELANOMA.read_text(encoding="utf-8"))
    del page["studies"][1]["protocolSection"]["identificationModule"]["nctId"]
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    code, _, stderr = run_import([path], tmp_path / "out")
    assert code == 1
    assert "page.json (studies[1]): the study has no valid identificationModule.nctId" in stderr
    assert sorted(p.stem for p in (tmp_path / "out" / "docs").glob("*.md")) == ["ctgov-nct04318717", "ctgov-nct06970236"]


# ----------------------------------------------------------------- classic XML


def test_classic_xml_fields(tmp_path):
    path = XML / "NCT01065844.xml"
    root = ET.parse(path).getroot()
    code, _, stderr = run_import([path], tmp_path)
    assert (code, stderr) == (0, "")
    record = record_of(tmp_path, "NCT01065844")
    assert record["title"] == root.findtext("brief_title") == "Nelfinavir in Recurrent Adenoid Cystic Cancer of the Head and Neck"
    assert record["cancer_types"] == [c.text for c in root.findall("condition")] == [
        "Carcinoma, Adenoid Cystic", "Head and Neck Neoplasms"]
    assert record["status"] == "completed" and record["registry_status"] == "Completed"
    assert record["group"] == "University of Iowa"
    assert record["phases"] == ["Phase 2"]
    assert record["countries"] == ["United States"]
    assert record["sites"] == [{"name": "The Holden Comprehensive Cancer Center", "city": "Iowa City",
                                "country": "United States"}]
    assert "contacts" not in record
    assert record["eligibility"].startswith("Sex: All\nMinimum age: 18 Years\nMaximum age: N/A\nHealthy volunteers: No\n\n")
    front, body = document_of(tmp_path, "NCT01065844")
    assert str(front["last_updated"]) == "2017-12-11" and "last_reviewed" not in front  # <last_update_posted>December 11, 2017</last_update_posted>
    assert f"- Official title: {root.findtext('official_title')}" in body
    sections = sections_of(body)
    assert sections["Conditions"] == "- Carcinoma, Adenoid Cystic\n- Head and Neck Neoplasms"
    assert sections["Phases"] == "- Phase 2"
    assert "- Overall status: Completed" in sections["Status"]
    assert "- Start date: October 2009" in sections["Status"]
    # criteria: fixed-width wrapping re-flowed into list items, nesting kept
    eligibility = sections["Eligibility"]
    assert "\nInclusion Criteria:\n\n- Histological diagnosis of adenoid cystic carcinoma.\n" in eligibility
    assert "\n  - leukocytes ≥ 3,000/mm3\n" in eligibility
    assert ("- Cancer should be staged recurrent or end-stage with/without metastases who have failed all other "
            "therapy.\n") in eligibility
    assert "total bilirubin < 1.5 mg/dl" in eligibility  # entities decoded
    assert "\n\nExclusion Criteria:\n\n- History of allergic reactions" in eligibility


def test_classic_xml_text_is_verbatim(everything):
    out = everything[0]
    for path in sorted(XML.glob("*.xml")):
        root = ET.parse(path).getroot()
        nct = root.findtext("id_info/nct_id")
        _, body = document_of(out, nct)
        sections = sections_of(body)
        summary = "".join(root.find("brief_summary/textblock").itertext())
        assert squeeze(sections["Summary"]) == squeeze(summary)
        criteria = root.find("eligibility/criteria/textblock")
        if criteria is not None:
            assert squeeze("".join(criteria.itertext())) in squeeze(sections["Eligibility"])


def test_classic_xml_contacts(everything):
    out = everything[0]
    root = ET.parse(XML / "NCT02679963.xml").getroot()
    expected = []
    for tag in ("overall_contact", "overall_contact_backup"):
        for contact in root.findall(tag):
            entry = {"name": contact.findtext("last_name").strip()}
            phone = (contact.findtext("phone") or "").strip()
            if phone:
                entry["phone"] = phone + (f" ext. {contact.findtext('phone_ext').strip()}" if contact.findtext("phone_ext") else "")
            if contact.findtext("email"):
                entry["email"] = contact.findtext("email").strip()
            expected.append(entry)
    assert expected and record_of(out, "NCT02679963")["contacts"] == expected
    assert record_of(out, "NCT03599518")["status"] == "planned"  # Not yet recruiting
    assert record_of(out, "NCT03424005")["phases"] == ["Phase 1", "Phase 2"]  # Phase 1/Phase 2
    assert record_of(out, "NCT03133988")["status"] == "recruiting"  # expanded access: Available


# ----------------------------------------------------------------- duplicates and determinism


def test_same_study_in_several_files_is_imported_once(tmp_path):
    get = V2 / "biomcp_captures" / "get_nct06382129_20260811.json"
    page = V2 / "biomcp_captures" / "search_nsclc_egfr_l858r_20260811.json"
    code, stdout, _ = run_import([page, get], tmp_path / "a")
    assert code == 0
    assert "NCT06382129 is in several files; imported once from get_nct06382129_20260811.json" in stdout
    assert sorted(p.stem for p in (tmp_path / "a" / "docs").glob("*.md")) == ["ctgov-nct06382129", "ctgov-nct06604689"]
    # the fuller copy wins (the search page leaves out sex and the criteria), whatever the argument order
    assert record_of(tmp_path / "a", "NCT06382129")["eligibility"].startswith("Sex: ALL\n")
    run_import([get, page], tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_output_is_deterministic(tmp_path, everything):
    run_import([FIXTURES], tmp_path)
    assert tree(tmp_path) == tree(everything[0])
    run_import([FIXTURES], tmp_path)  # re-running over existing files changes nothing
    assert tree(tmp_path) == tree(everything[0])


def test_no_temp_files_left_behind(everything):
    assert not [p for p in everything[0].rglob("*") if p.name.startswith(".")]


def test_failed_write_keeps_the_old_files(tmp_path, monkeypatch):
    only = {"NCT06970236"}
    assert run_import([MELANOMA], tmp_path, only=only)[0] == 0
    before = tree(tmp_path)
    calls = []

    def boom(src, dst):
        calls.append(dst)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writing.os, "replace", boom)
    code, _, stderr = run_import([MELANOMA], tmp_path, retrieved="2030-01-01", only=only)  # new content
    assert code == 1 and calls
    assert "could not write ctgov-nct06970236" in stderr
    assert tree(tmp_path) == before  # old files intact, no temp files left


# ----------------------------------------------------------------- the shipped product


def test_product_matches_its_sources(tmp_path):
    """knowledge/documents/trials and the ctgov records are what PROVENANCE.md's command makes."""
    code, _, stderr = run_import([SOURCES], tmp_path, retrieved="2026-08-11", only=PRODUCT_NCTS)
    assert (code, stderr) == (0, "")
    assert tree(tmp_path / "docs") == tree(PRODUCT_DOCS)
    shipped = {p.name: p.read_bytes() for p in PRODUCT_RECORDS.glob("ctgov-*.yml")}
    assert tree(tmp_path / "records") == shipped
    assert {f"ctgov-{n.lower()}.yml" for n in PRODUCT_NCTS} == set(shipped)


def test_product_sources_are_unchanged_copies_of_the_fixtures():
    for path in sorted(p for p in SOURCES.rglob("*") if p.suffix in (".json", ".xml")):
        assert path.read_bytes() == (FIXTURES / path.relative_to(SOURCES)).read_bytes(), path
    assert (SOURCES / "PROVENANCE.md").is_file()


def test_product_documents_are_valid():
    for path in sorted(PRODUCT_DOCS.glob("*.md")):
        document, errors = parse_document(path, path.read_bytes())
        assert errors == [] and document.doc_id == path.stem


# ----------------------------------------------------------------- errors and the command line


@pytest.mark.parametrize("content,problem", [
    (b"{not json", "not valid JSON (line 1, column 2"),
    (b'{"foo": 1}', "JSON is not a ClinicalTrials.gov API v2 study or page of studies"),
    (b"[1, 2]", "JSON is not a ClinicalTrials.gov API v2 study or page of studies (a list)"),
    (b'{"studies": []}', "the page holds no studies"),
    (b"<search_results/>", "root element is <search_results>, expected <clinical_study>"),
    (b"<clinical_study><brief_title>x</brief_title></clinical_study>", "has no valid <id_info><nct_id>"),
    (b"<clinical_study", "not well-formed XML"),
    (b"hello", "not a JSON or XML file"),
    (b'{"protocolSection": {"identificationModule": {"nctId": "NCT01234567"}}}', "study NCT01234567 has no identificationModule.briefTitle"),
    (b'{"protocolSection": {"identificationModule": {"nctId": "NCT01234567", "briefTitle": "T"}}}', "lists no conditions"),
])
def test_unreadable_files_are_reported_and_others_still_import(tmp_path, content, problem):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    code, stdout, stderr = run_import([bad, XML / "NCT01065844.xml"], tmp_path / "out")
    assert code == 1
    assert problem in stderr
    assert "bad.json" in stderr and "Fix: " in stderr
    assert (tmp_path / "out" / "docs" / "ctgov-nct01065844.md").is_file()
    assert "imported 1 trial(s)" in stdout


def test_missing_file_is_an_error(tmp_path):
    code, _, stderr = run_import([tmp_path / "nope.json"], tmp_path)
    assert code == 1 and "nope.json: file or folder not found" in stderr


def test_bad_retrieved_date_is_a_bad_argument(tmp_path):
    assert run_import([MELANOMA], tmp_path, retrieved="2024-02-30")[0] == 2
    assert run_import([MELANOMA], tmp_path, retrieved="yesterday")[0] == 2
    assert not (tmp_path / "docs").exists()


def cli(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "knowledge", "import-trials", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_import(tmp_path):
    result = cli(str(MELANOMA), "--documents-out", str(tmp_path / "d"), "--records-out", str(tmp_path / "r"),
                 "--only", "NCT04318717", "--only", "NCT06970236,NCT04114136", "--retrieved", "2026-08-11")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "ctgov-nct04114136.yml", "ctgov-nct04318717.yml", "ctgov-nct06970236.yml"]


def test_cli_v1_file_exit_1_while_others_import(tmp_path):
    result = cli(str(V1), str(MELANOMA), "--documents-out", str(tmp_path / "d"), "--records-out", str(tmp_path / "r"))
    assert result.returncode == 1
    assert "NCT00023673.json: this is the retired ClinicalTrials.gov API v1 format" in result.stderr
    assert len(list((tmp_path / "d").glob("*.md"))) == 3


@pytest.mark.parametrize("args", [
    [],  # no files
    ["--retrieved", "31/12/2024", "x.json"],
    ["--only", "NCT123", "x.json"],
    ["--bogus", "x.json"],
])
def test_cli_bad_arguments_exit_2(tmp_path, args):
    result = cli(*args, "--documents-out", str(tmp_path / "d"), "--records-out", str(tmp_path / "r"))
    assert result.returncode == 2, result.stderr
    assert not (tmp_path / "d").exists()


# ----------------------------------------------------------------- text tidying


def test_tidy_textblock_reflows_items_and_paragraphs():
    block = """
      First paragraph line one
      continues here.

      Criteria:
        -  item one that is
           wrapped
             -  nested item
        -  item two
      After the list.
    """
    assert ti.tidy_textblock(block) == (
        "First paragraph line one continues here.\n\nCriteria:\n\n- item one that is wrapped\n  - nested item\n"
        "- item two\n\nAfter the list.")


def test_tidy_markdown_keeps_lines():
    assert ti.tidy_markdown("Inclusion Criteria:\n\n\n\n* a  \n  * b\r\n") == "Inclusion Criteria:\n\n* a\n  * b"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab -*1.)\n\t ")), max_size=120))
def test_tidying_only_changes_whitespace(text):
    for tidy in (ti.tidy_textblock, ti.tidy_markdown):
        assert squeeze(tidy(text)) == squeeze(text)


def test_record_text_cannot_open_sections(tmp_path):
    study = json.loads((V2 / "biomcp_captures" / "get_nct06604689_20260811.json").read_text(encoding="utf-8"))
    study["protocolSection"]["descriptionModule"]["briefSummary"] = "# Not a heading\n\nText.\n## Nor this"
    path = tmp_path / "study.json"
    path.write_text(json.dumps(study), encoding="utf-8")
    assert run_import([path], tmp_path / "out")[0] == 0
    _, body = document_of(tmp_path / "out", "NCT06604689")
    assert sections_of(body)["Summary"] == " # Not a heading\n\nText.\n ## Nor this"
    document, errors = parse_document(Path("x.md"), (tmp_path / "out" / "docs" / "ctgov-nct06604689.md").read_bytes())
    from index.chunker import Chunker
    assert {tuple(p.section) for p in Chunker().run(document)} <= {(), ("Summary",), ("Conditions",), ("Status",),
                                                                   ("Phases",), ("Eligibility",)}
