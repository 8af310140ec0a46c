"""Tests for knowledge/organisations.py and the shipped records in knowledge/organisations/*.yml.

Run from the repository root: ``python -m pytest tests/knowledge``.
"""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # also works when run as plain `pytest`
    sys.path.insert(0, str(REPO_ROOT))

from knowledge.document_format import load_documents  # noqa: E402
from knowledge import organisations as orgs  # noqa: E402
from knowledge.organisations import KINDS, Organisation, load_organisations  # noqa: E402

DOCUMENTS = REPO_ROOT / "knowledge" / "documents"
RECORDS = REPO_ROOT / "knowledge" / "organisations"
SEED_FILES = ("ecpc-rarecarenet.yml", "rarecarenet-poster.yml", "nci-irci.yml", "cruk.yml", "esmo.yml")


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    documents = load_documents(DOCUMENTS)
    assert documents.errors == []
    return {d.doc_id: d.text for d in documents.documents}


@pytest.fixture(scope="module")
def shipped(texts) -> list[Organisation]:
    organisations, errors = load_organisations(RECORDS, texts)
    assert [str(e) for e in errors] == []
    return organisations


def by_name(organisations: list[Organisation], name: str) -> Organisation:
    matches = [o for o in organisations if o.name == name]
    assert len(matches) == 1, f"{name!r}: {len(matches)} records"
    return matches[0]


# ----------------------------------------------------------------- shipped records


def test_seed_record_files_exist():
    for name in SEED_FILES:
        assert (RECORDS / name).is_file(), name


def test_shipped_records_load_without_errors(shipped):
    assert len(shipped) >= 35
    assert len({o.id for o in shipped}) == len(shipped)


def test_every_citation_is_verbatim_text(shipped, texts):
    for o in shipped:
        c = o.citation
        assert texts[c.doc_id][c.start:c.end] == c.quote, o.id
        assert c.quote.strip() == c.quote and len(c.quote) > 10, o.id


def test_every_seed_document_is_cited(shipped):
    cited = {o.citation.doc_id for o in shipped}
    assert {"ecpc-rarecarenet", "rarecarenet-poster", "nci-irci", "cruk-research-into-rare-cancers",
            "esmo-rare-cancers-journal"} <= cited


def test_fields_are_well_formed(shipped):
    for o in shipped:
        assert o.kind in KINDS
        assert o.country is None or orgs.country_problem(o.country) is None
        assert o.website is None or orgs.website_problem(o.website) is None
        assert all(isinstance(s, str) and s for s in o.cancer_sites)


def test_websites_appear_in_the_cited_document(shipped, texts):
    with_website = [o for o in shipped if o.website]
    assert with_website, "the poster gives www.rarecarenet.eu"
    for o in with_website:
        assert o.website in texts[o.citation.doc_id]


def test_cancer_patients_association_of_slovenia(shipped):
    o = by_name(shipped, "Cancer Patients Association of Slovenia")
    assert o.country == "Slovenia"
    assert o.kind == "patient organisation"
    assert o.citation.doc_id == "ecpc-rarecarenet"
    assert "Cancer Patients Association of Slovenia" in o.citation.quote


def test_bulgarian_hospital_and_registry(shipped):
    hospital = by_name(shipped, "National Oncology Hospital")
    registry = by_name(shipped, "Bulgarian National Cancer Registry")
    assert hospital.country == registry.country == "Bulgaria"
    assert hospital.kind == "treatment centre"
    assert registry.kind == "registry"
    for o in (hospital, registry):
        assert o.name in o.citation.quote


@pytest.mark.parametrize("name, country, kind", [
    ("Institute of Oncology Ljubljana", "Slovenia", "treatment centre"),
    ("Belgian Cancer Registry", "Belgium", "registry"),
    ("European Lung Foundation", "Europe", "charity"),
    ("Macmillan Cancer Support", "United Kingdom", "charity"),
    ("European Cancer Patient Coalition (ECPC)", "Europe", "patient organisation"),
    ("RARECAREnet (Information Network on Rare Cancers)", "Europe", "research network"),
    ("National Cancer Registry Ireland", "Ireland", "registry"),
    ("Centre Léon Bérard", "France", "treatment centre"),
    ("International Rare Cancer Initiative (IRCI)", "International", "research network"),
    ("Cancer Research UK", "United Kingdom", "charity"),
    ("Japan Clinical Oncology Group", "Japan", "research network"),
    ("Rare Cancers Europe (RCE)", "Europe", "research network"),
    ("European Reference Network for rare adult solid tumours (EURACAN)", "Europe", "reference network"),
    ("ESMO Rare Cancers Working Group", "Europe", "research network"),
    ("Geneva University Hospital", "Switzerland", "treatment centre"),
])
def test_named_organisations(shipped, name, country, kind):
    o = by_name(shipped, name)
    assert (o.country, o.kind) == (country, kind)


def test_orphanet_has_no_invented_country(shipped):
    assert by_name(shipped, "Orphanet").country is None


def test_rarecarenet_website_and_euracan_sites(shipped):
    assert by_name(shipped, "RARECAREnet (Information Network on Rare Cancers)").website == "www.rarecarenet.eu"
    assert by_name(shipped, "European Reference Network for rare adult solid tumours (EURACAN)").cancer_sites == [
        "rare adult solid tumours"]


def test_irci_members(shipped):
    members = [o for o in shipped if o.citation.doc_id == "nci-irci" and "IRCI" not in o.name]
    assert {o.country for o in members} == {"United States", "United Kingdom", "Europe", "France", "Canada",
                                            "Japan", "Australia"}


def test_to_dict_is_json(shipped):
    data = by_name(shipped, "Belgian Cancer Registry").to_dict()
    assert set(data) == {"id", "name", "country", "cancer_sites", "kind", "website", "contact", "citation"}
    assert set(data["citation"]) == {"doc_id", "quote", "start", "end"}
    assert data["website"] is None and data["cancer_sites"] == []
    assert json.loads(json.dumps([o.to_dict() for o in shipped]))[0]["id"]


def test_module_does_not_import_index():
    tree = ast.parse(Path(orgs.__file__).read_text(encoding="utf-8"))
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and (m == "index" or m.startswith("index."))]


# ----------------------------------------------------------------- validation errors

TEXTS = {"doc-a": "The Example Patients Society of Slovenia helps people. See www.example.org for more.\n"}
GOOD = """\
- id: example-society
  name: Example Patients Society
  country: Slovenia
  kind: patient organisation
  website: www.example.org
  citation:
    doc_id: doc-a
    quote: "The Example Patients Society of Slovenia helps people."
"""


def load(tmp_path: Path, text: str | bytes, name: str = "records.yml", texts=TEXTS):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return load_organisations(tmp_path, texts)


def one_error(tmp_path: Path, text: str | bytes):
    organisations, errors = load(tmp_path, text)
    assert organisations == []
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    assert error.path.endswith("records.yml") and error.problem and error.fix
    assert str(error).startswith(f"{error.path}:{error.line}: ") and ". Fix: " in str(error)
    return error


def test_good_record_loads(tmp_path):
    organisations, errors = load(tmp_path, GOOD)
    assert errors == []
    [o] = organisations
    assert (o.id, o.country, o.website, o.cancer_sites, o.contact) == ("example-society", "Slovenia", "www.example.org", [], None)
    assert TEXTS["doc-a"][o.citation.start:o.citation.end] == o.citation.quote


def test_missing_folder_is_empty(tmp_path):
    assert load_organisations(tmp_path / "absent", TEXTS) == ([], [])


def test_bad_kind_names_the_allowed_values(tmp_path):
    error = one_error(tmp_path, GOOD.replace("kind: patient organisation", "kind: hospital"))
    assert error.line == 4
    assert "unknown kind 'hospital'" in error.problem
    for kind in KINDS:
        assert kind in error.fix


@pytest.mark.parametrize("website", ["not a website", "http://", "ftp://example.org", "example", "info@example.org", "https://exa mple.org"])
def test_bad_website(tmp_path, website):
    error = one_error(tmp_path, GOOD.replace("website: www.example.org", f"website: \"{website}\""))
    assert error.line == 5 and "invalid website" in error.problem


@pytest.mark.parametrize("website", ["www.example.org", "https://www.example.org/path?x=1", "example.org/about", "http://example.org"])
def test_website_forms_accepted(website):
    assert orgs.website_problem(website) is None


def test_website_must_be_in_the_cited_document(tmp_path):
    error = one_error(tmp_path, GOOD.replace("website: www.example.org", "website: https://other.example.net"))
    assert error.line == 5 and "does not appear in document 'doc-a'" in error.problem


def test_duplicate_ids(tmp_path):
    (tmp_path / "a.yml").write_text(GOOD, encoding="utf-8")
    organisations, errors = load(tmp_path, GOOD.replace("name: Example Patients Society", "name: Another"), "b.yml")
    assert [o.name for o in organisations] == ["Example Patients Society"]
    [error] = errors
    assert error.path.endswith("b.yml") and error.line == 1
    assert "duplicate id 'example-society'" in error.problem and "a.yml:1" in error.problem


@pytest.mark.parametrize("bad_id", ["Example", "example_society", "-example", "example--society"])
def test_bad_id(tmp_path, bad_id):
    error = one_error(tmp_path, GOOD.replace("id: example-society", f"id: {bad_id}"))
    assert error.line == 1 and f"invalid id '{bad_id}'" in error.problem


@pytest.mark.parametrize("field", ["id", "name", "kind", "citation"])
def test_missing_required_field(tmp_path, field):
    lines = GOOD.splitlines(keepends=True)
    if field == "citation":
        text = "".join(lines[:5])
    else:
        text = "".join(line for line in lines if not line.lstrip("- ").startswith(f"{field}:"))
        if field == "id":
            text = "- " + text.lstrip()
    organisations, errors = load(tmp_path, text)
    assert organisations == []
    assert any(f"missing required field '{field}'" in e.problem for e in errors), [str(e) for e in errors]


def test_unknown_field(tmp_path):
    error = one_error(tmp_path, GOOD.replace("  kind:", "  city: Ljubljana\n  kind:"))
    assert error.line == 4 and "unknown field 'city'" in error.problem and "country" in error.fix


@pytest.mark.parametrize("country, expected", [("UK", "United Kingdom"), ("USA", "United States"),
                                               ("EU", "Europe"), ("worldwide", "International")])
def test_country_aliases(tmp_path, country, expected):
    error = one_error(tmp_path, GOOD.replace("country: Slovenia", f"country: {country}"))
    assert error.line == 3 and expected in error.fix


@pytest.mark.parametrize("country", ["slovenia", "Slovenia 1000", "https://example.org", "Ljubljana, Slovenia; Croatia"])
def test_bad_country(tmp_path, country):
    error = one_error(tmp_path, GOOD.replace("country: Slovenia", f"country: \"{country}\""))
    assert error.line == 3 and "country" in error.problem


@pytest.mark.parametrize("country", ["Slovenia", "Europe", "International", "Côte d’Ivoire", "Bosnia and Herzegovina"])
def test_good_country(country):
    assert orgs.country_problem(country) is None


def test_country_is_optional(tmp_path):
    organisations, errors = load(tmp_path, GOOD.replace("  country: Slovenia\n", ""))
    assert errors == [] and organisations[0].country is None


def test_text_fields_must_be_text(tmp_path):
    error = one_error(tmp_path, GOOD.replace("name: Example Patients Society", "name: 42"))
    assert error.line == 2 and "field 'name' must be text" in error.problem


def test_cancer_sites(tmp_path):
    organisations, errors = load(tmp_path, GOOD.replace("  kind:", "  cancer_sites: [sarcoma, GIST]\n  kind:"))
    assert errors == [] and organisations[0].cancer_sites == ["sarcoma", "GIST"]
    error = one_error(tmp_path, GOOD.replace("  kind:", "  cancer_sites: {a: 1}\n  kind:"))
    assert error.line == 4 and "cancer_sites" in error.problem


def test_quote_not_verbatim(tmp_path):
    error = one_error(tmp_path, GOOD.replace("helps people.", "helps patients."))
    assert error.line == 6 and "not verbatim" in error.problem


def test_unknown_document(tmp_path):
    error = one_error(tmp_path, GOOD.replace("doc_id: doc-a", "doc_id: doc-b"))
    assert error.line == 6 and "unknown document 'doc-b'" in error.problem


def test_citation_shape(tmp_path):
    error = one_error(tmp_path, GOOD.replace("  citation:\n    doc_id: doc-a\n", "  citation:\n    page: 3\n"))
    assert error.line == 6 and "citation" in error.problem


def test_invalid_yaml_not_a_list_not_utf8(tmp_path):
    error = one_error(tmp_path, "- id: x\n  name: [unclosed\n")
    assert "invalid YAML" in error.problem
    error = one_error(tmp_path, "id: x\nname: y\n")
    assert error.line == 1 and "list of records" in error.problem
    error = one_error(tmp_path, GOOD.encode("utf-8").replace(b"Example Patients", b"Exampl\xe9 Patients"))
    assert "not UTF-8" in error.problem


def test_errors_of_several_records_all_reported(tmp_path):
    second = GOOD.replace("id: example-society", "id: second").replace("kind: patient organisation", "kind: club")
    third = GOOD.replace("id: example-society", "id: third").replace("website: www.example.org", "website: nope")
    organisations, errors = load(tmp_path, GOOD + second + third)
    assert [o.id for o in organisations] == ["example-society"]
    assert [(e.line, e.problem.split(" '")[0]) for e in errors] == [(12, "unknown kind"), (21, "invalid website")]
