"""Tests for knowledge/organisations_import.py (``python -m knowledge import-organisations FILE.csv``).

Fixtures: tests/data/organisations/*.csv (fictional organisations). Output goes to pytest's tmp_path only.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # also works when run as plain `pytest`
    sys.path.insert(0, str(REPO_ROOT))

from knowledge.document_format import load_documents, parse_document  # noqa: E402
from knowledge.__main__ import main  # noqa: E402
from knowledge.organisations import load_organisations  # noqa: E402
from knowledge.organisations_import import import_organisations  # noqa: E402

FIXTURES = REPO_ROOT / "tests" / "data" / "organisations"
MIXED = FIXTURES / "rare-cancer-patient-groups.csv"  # 3 good rows, 7 bad ones
GOOD = FIXTURES / "good-directory.csv"  # CRLF, 'cancer_site' header, a kind column
MIXED_BAD_LINES = {
    4: "the name is missing",
    5: "the country of 'Example Kidney Cancer Group' is missing",
    6: "invalid website 'not a website'",
    7: "the row has 6 values, the header has 5 columns",
    8: "duplicate organisation 'Example Sarcoma Patients Network' (Europe), also on line 2",
    9: "this line is not UTF-8",
    12: "country 'UK' is an abbreviation or variant",
}


def run(csv_path: Path, tmp_path: Path, **options):
    options.setdefault("out", tmp_path / "records" / f"{csv_path.stem}.yml")
    options.setdefault("documents_out", tmp_path / "documents" / "organisations")
    options.setdefault("publisher", "Example Directory Publisher")
    options.setdefault("licence", "CC BY 4.0")
    options.setdefault("retrieved", "2025-03-04")
    stdout, stderr = io.StringIO(), io.StringIO()
    code = import_organisations(csv_path, stdout=stdout, stderr=stderr, **options)
    return code, stdout.getvalue(), stderr.getvalue()


def outputs(tmp_path: Path, stem: str) -> tuple[Path, Path]:
    return tmp_path / "documents" / "organisations" / f"{stem}.md", tmp_path / "records" / f"{stem}.yml"


def load_output(tmp_path: Path):
    documents = load_documents(tmp_path / "documents")
    assert [str(e) for e in documents.errors] == []
    texts = {d.doc_id: d.text for d in documents.documents}
    organisations, errors = load_organisations(tmp_path / "records", texts)
    assert [str(e) for e in errors] == []
    return documents, texts, organisations


def write_csv(tmp_path: Path, text: str | bytes, name: str = "directory.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# ----------------------------------------------------------------- the mixed fixture


def test_good_rows_import_and_bad_rows_are_reported(tmp_path):
    code, stdout, stderr = run(MIXED, tmp_path)
    assert code == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(MIXED_BAD_LINES)
    where = "tests/data/organisations/rare-cancer-patient-groups.csv"
    for line, (number, problem) in zip(errors, sorted(MIXED_BAD_LINES.items())):
        assert line.startswith(f"error: {where}:{number}: {problem}"), line
        assert ". Fix: " in line
    assert "imported 3 organisation(s)" in stdout and "7 row(s) failed" in stdout


def test_generated_document_validates(tmp_path):
    run(MIXED, tmp_path)
    document_path, _ = outputs(tmp_path, MIXED.stem)
    document, errors = parse_document(document_path, document_path.read_bytes())
    assert errors == []
    assert document.doc_id == "rare-cancer-patient-groups"
    assert document.title == "Rare cancer patient groups"
    assert (document.publisher, document.licence, document.retrieved, document.language) == (
        "Example Directory Publisher", "CC BY 4.0", "2025-03-04", "en")
    assert "rare-cancer-patient-groups.csv" in document.source
    lines = [line for line in document.text.splitlines() if line.startswith("- ")]
    assert lines == [
        "- Name: Example Sarcoma Patients Network | Country: Europe | Cancer site: sarcoma; GIST"
        " | Website: https://sarcoma.example.org | Contact: info@sarcoma.example.org",
        "- Name: Društvo Primer Bolnikov | Country: Slovenia | Website: www.primer.example.si"
        " | Contact: Primer ulica 1, Ljubljana",
        "- Name: Example Eye Cancer Charity | Country: United Kingdom | Cancer site: eye; uveal melanoma"
        " | Website: https://eye.example.org/ | Contact: phone 0000 000000",
    ]


def test_records_cite_their_own_line(tmp_path):
    run(MIXED, tmp_path)
    _, texts, organisations = load_output(tmp_path)
    assert [o.name for o in organisations] == ["Example Sarcoma Patients Network", "Društvo Primer Bolnikov",
                                               "Example Eye Cancer Charity"]
    text = texts["rare-cancer-patient-groups"]
    for o in organisations:
        c = o.citation
        assert c.doc_id == "rare-cancer-patient-groups"
        assert text[c.start:c.end] == c.quote
        assert text[c.start - 3:c.start] == "\n- " and text[c.end] == "\n"  # exactly one whole line
        assert o.name in c.quote and o.country in c.quote
        assert o.kind == "patient organisation"
    first, second, third = organisations
    assert (first.id, first.country, first.cancer_sites, first.website, first.contact) == (
        "example-sarcoma-patients-network-europe", "Europe", ["sarcoma", "GIST"], "https://sarcoma.example.org",
        "info@sarcoma.example.org")
    assert (second.id, second.website, second.contact, second.cancer_sites) == (
        "drustvo-primer-bolnikov-slovenia", "www.primer.example.si", "Primer ulica 1, Ljubljana", [])
    assert third.cancer_sites == ["eye", "uveal melanoma"]


def test_output_is_deterministic_and_written_atomically(tmp_path):
    run(MIXED, tmp_path / "a")
    run(MIXED, tmp_path / "b")
    for a, b in zip(outputs(tmp_path / "a", MIXED.stem), outputs(tmp_path / "b", MIXED.stem)):
        assert a.read_bytes() == b.read_bytes()
    run(MIXED, tmp_path / "a")  # a second import over the first changes nothing
    for a, b in zip(outputs(tmp_path / "a", MIXED.stem), outputs(tmp_path / "b", MIXED.stem)):
        assert a.read_bytes() == b.read_bytes()
    leftovers = [p for p in (tmp_path / "a").rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []


def test_record_file_is_plain_yaml_with_a_header(tmp_path):
    run(MIXED, tmp_path)
    _, records_path = outputs(tmp_path, MIXED.stem)
    text = records_path.read_text(encoding="utf-8")
    assert text.startswith("# Generated by `python -m knowledge import-organisations rare-cancer-patient-groups.csv`")
    data = yaml.safe_load(text)
    assert [r["id"] for r in data] == ["example-sarcoma-patients-network-europe", "drustvo-primer-bolnikov-slovenia",
                                       "example-eye-cancer-charity-united-kingdom"]


# ----------------------------------------------------------------- header variants, kind column


def test_all_good_file_exits_0_with_kind_column(tmp_path):
    code, stdout, stderr = run(GOOD, tmp_path, title="Example Directory of Rare Cancer Groups",
                               url="https://directory.example.org/list", attribution="Example attribution")
    assert (code, stderr) == (0, "")
    documents, texts, organisations = load_output(tmp_path)
    [document] = documents.documents
    assert document.title == "Example Directory of Rare Cancer Groups"
    assert document.url == "https://directory.example.org/list"
    assert [(o.name, o.kind, o.cancer_sites) for o in organisations] == [
        ("Example Registry Network", "registry", []),
        ("Example Society, Sarcoma Section", "professional society", ["sarcoma"]),
        ("Example Support Line", "patient organisation", ["brain", "spine"]),
    ]
    assert organisations[1].contact == 'Tel. "+00 0000"'
    assert "Kind: professional society" in organisations[1].citation.quote


def test_bom_and_bad_kind(tmp_path):
    csv_path = write_csv(tmp_path, "\ufeffname,country,kind\nExample A,France,hospital\nExample B,France,charity\n".encode())
    code, _, stderr = run(csv_path, tmp_path)
    assert code == 1
    assert f"{csv_path}:2: unknown kind 'hospital'. Fix: use one of: patient organisation" in stderr
    _, _, organisations = load_output(tmp_path)
    assert [(o.name, o.kind) for o in organisations] == [("Example B", "charity")]


@pytest.mark.parametrize("header, problem", [
    ("name,country,city", "unknown column 'city' in the header"),
    ("name,cancer site,website", "the header has no 'country' column"),
    ("country,website", "the header has no 'name' column"),
    ("name,country,cancer site,cancer_site", "column 'cancer_site' appears twice in the header"),
])
def test_header_problems_stop_the_import(tmp_path, header, problem):
    csv_path = write_csv(tmp_path, f"{header}\nExample A,France,x\n")
    code, stdout, stderr = run(csv_path, tmp_path)
    assert code == 1
    assert f"{csv_path}:1: {problem}. Fix: " in stderr
    assert not (tmp_path / "documents").exists() and not (tmp_path / "records").exists()


def test_empty_file_and_header_only(tmp_path):
    code, _, stderr = run(write_csv(tmp_path, ""), tmp_path)
    assert code == 1 and "directory.csv:1: the file is empty" in stderr
    code, _, stderr = run(write_csv(tmp_path, "name,country\n", "header-only.csv"), tmp_path)
    assert code == 1 and "header-only.csv:1: the file has no organisation rows" in stderr
    assert not (tmp_path / "documents").exists()


def test_unclosed_quote_and_missing_values(tmp_path):
    csv_path = write_csv(tmp_path, 'name,country,website\n"Example A,France,\nExample B,France,\n  ,  ,\n'
                                   'Example C,International,www.c.example.org\n')
    code, _, stderr = run(csv_path, tmp_path)
    assert code == 1
    assert f"{csv_path}:2: the row is not valid CSV" in stderr
    assert f"{csv_path}:4: the name is missing" in stderr
    _, _, organisations = load_output(tmp_path)
    assert [o.name for o in organisations] == ["Example B", "Example C"]


def test_duplicates_ignore_case_and_spacing(tmp_path):
    csv_path = write_csv(tmp_path, "name,country\nExample  Group,Spain\nEXAMPLE GROUP, Spain \n")
    code, _, stderr = run(csv_path, tmp_path)
    assert code == 1 and f"{csv_path}:3: duplicate organisation 'EXAMPLE GROUP' (Spain), also on line 2" in stderr


def test_organisation_already_recorded_in_another_file(tmp_path):
    run(GOOD, tmp_path)
    csv_path = write_csv(tmp_path, "name,country\nExample Support Line,Ireland\nExample New,Ireland\n")
    code, _, stderr = run(csv_path, tmp_path)
    assert code == 1
    assert f"{csv_path}:2: 'Example Support Line' (Ireland) is already recorded at" in stderr
    assert "good-directory.yml" in stderr
    _, _, organisations = load_output(tmp_path)  # both record files load together, ids unique
    assert len(organisations) == 4


def test_document_id_already_used(tmp_path):
    other = tmp_path / "documents" / "organisations" / "other.md"
    other.parent.mkdir(parents=True)
    other.write_text("---\nid: directory\ntitle: T\npublisher: P\nlanguage: en\nretrieved: 2025-01-01\nlicence: L\n---\nText.\n",
                     encoding="utf-8")
    code, _, stderr = run(write_csv(tmp_path, "name,country\nExample A,France\n"), tmp_path)
    assert code == 1 and "the document id 'directory' (from the file name) is already used by" in stderr
    assert not (tmp_path / "records").exists()


# ----------------------------------------------------------------- arguments and the command line


@pytest.mark.parametrize("change, message", [
    ({"retrieved": "04/03/2025"}, "--retrieved 04/03/2025: not a date"),
    ({"publisher": "  "}, "--publisher is empty"),
    ({"licence": ""}, "--licence is empty"),
    ({"url": "directory.example.org"}, "not an http(s) address"),
    ({"title": " "}, "--title is empty"),
])
def test_bad_arguments_exit_2(tmp_path, change, message):
    code, _, stderr = run(GOOD, tmp_path, **change)
    assert code == 2 and message in stderr
    assert not (tmp_path / "documents").exists()


def test_missing_or_wrong_file_exit_2(tmp_path):
    code, _, stderr = run(tmp_path / "absent.csv", tmp_path)
    assert code == 2 and "file not found" in stderr
    code, _, stderr = run(write_csv(tmp_path, "name,country\n", "directory.txt"), tmp_path)
    assert code == 2 and "not a .csv file" in stderr
    code, _, stderr = run(GOOD, tmp_path, out=tmp_path / "records.json")
    assert code == 2 and "record files end in .yml" in stderr


def test_retrieved_defaults_to_today(tmp_path):
    import datetime

    run(GOOD, tmp_path, retrieved=None)
    document_path, _ = outputs(tmp_path, GOOD.stem)
    assert f"retrieved: {datetime.date.today().isoformat()}\n" in document_path.read_text(encoding="utf-8")


def test_cli_requires_publisher_and_licence(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["import-organisations", str(GOOD), "--licence", "L"])
    assert exc.value.code == 2
    assert "--publisher" in capsys.readouterr().err


def test_cli_subprocess(tmp_path):
    out, documents_out = tmp_path / "records" / "mixed.yml", tmp_path / "documents" / "organisations"
    result = subprocess.run(
        [sys.executable, "-m", "knowledge", "import-organisations", str(MIXED), "--out", str(out),
         "--documents-out", str(documents_out), "--publisher", "Example Publisher", "--licence", "CC BY 4.0",
         "--retrieved", "2025-03-04", "--title", "Example groups"],
        cwd=REPO_ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("error: ") == len(MIXED_BAD_LINES)
    assert out.is_file() and (documents_out / "rare-cancer-patient-groups.md").is_file()
    _, _, organisations = load_output(tmp_path)
    assert len(organisations) == 3
