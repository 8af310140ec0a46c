"""Tests for knowledge/trial_bulk.py and `python -m knowledge import-trials --store`: real API v2 records
in zips, folders and pages go into the trial store; bad members are reported and skipped."""
from __future__ import annotations

import copy
import json
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # also works when run as plain `pytest`
    sys.path.insert(0, str(REPO_ROOT))

import knowledge.__main__ as cli  # noqa: E402
from knowledge import trial_bulk  # noqa: E402
from knowledge.cancer_vocabulary import load_vocabulary  # noqa: E402
from knowledge.trial_bulk import BulkError, import_bulk  # noqa: E402
from knowledge.trial_store import TrialStore  # noqa: E402

V2 = REPO_ROOT / "tests" / "data" / "clinicaltrials" / "v2_json"
AACT = sorted((V2 / "aact_fixtures").glob("*.json"))  # one real study per file, as the bulk download has them
CAPTURES = V2 / "biomcp_captures"
REGISTRY = REPO_ROOT / "knowledge" / "registry"


def nct(study: dict) -> str:
    return study["protocolSection"]["identificationModule"]["nctId"]


def with_sex(study: dict, sex: str) -> dict:
    study = copy.deepcopy(study)
    study["protocolSection"].setdefault("eligibilityModule", {})["sex"] = sex
    return study


def make_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def vocabulary():
    return load_vocabulary()


@pytest.fixture
def store(tmp_path, vocabulary):
    with TrialStore(tmp_path / "trials.sqlite3", vocabulary) as opened:
        yield opened


@pytest.fixture
def bulk_zip(tmp_path) -> Path:
    """Four real studies (copied byte for byte), a member that is not JSON, a study the store refuses,
    a file that is not .json and a folder entry."""
    members = {f"{p.stem}.json": p.read_bytes() for p in AACT[:4]}
    members["NCT99999999.json"] = b'{"protocolSection": {"identificationModule": '  # cut short
    members["NCT00000001.json"] = json.dumps(with_sex(json.loads(AACT[4].read_bytes()), "EVERYONE")).encode()
    members["README.txt"] = b"ClinicalTrials.gov bulk download"
    members["extra/"] = b""
    return make_zip(tmp_path / "ctg-studies.json.zip", members)


# ------------------------------------------------------------------ import_bulk


def test_a_zip_is_imported_member_by_member_and_bad_members_are_reported(store, bulk_zip):
    report = import_bulk(store, [bulk_zip])
    assert (report.added, report.updated, report.unchanged, report.files) == (4, 0, 0, 6)
    skipped = dict(report.skipped)
    assert set(skipped) == {f"{bulk_zip}:NCT99999999.json", f"{bulk_zip}:NCT00000001.json", f"{bulk_zip}:README.txt"}
    assert skipped[f"{bulk_zip}:NCT99999999.json"].startswith("not valid JSON")
    assert "eligibilityModule.sex is 'EVERYONE'" in skipped[f"{bulk_zip}:NCT00000001.json"]
    assert "not a .json file" in skipped[f"{bulk_zip}:README.txt"]
    assert store.count() == 4
    for path in AACT[:4]:
        assert store.get(path.stem).record == json.loads(path.read_bytes())  # as received
    assert report.to_dict()["skipped"][0]["where"].startswith(str(bulk_zip))
    assert report.summary() == "4 added, 0 updated, 0 unchanged, 3 skipped, from 6 JSON files"


def test_importing_again_changes_nothing_and_keeps_what_is_stored(store, bulk_zip, tmp_path):
    import_bulk(store, [bulk_zip])
    first = json.loads(AACT[0].read_bytes())
    older = copy.deepcopy(first)
    older["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2001-01-01"
    broken = with_sex(first, "NOBODY")
    later = make_zip(tmp_path / "later.zip", {f"{AACT[0].stem}.json": json.dumps(older).encode(),
                                               "copy.json": json.dumps(broken).encode()})
    again = import_bulk(store, [bulk_zip, later])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert [where for where, _ in again.skipped[-2:]] in (
        [f"{later}:copy.json", f"{later}:{AACT[0].stem}.json"], [f"{later}:{AACT[0].stem}.json", f"{later}:copy.json"])
    assert store.get(AACT[0].stem).record == first  # neither the older nor the broken copy replaced it


def test_skipped_studies_are_named_by_where_they_were_across_batches(store, tmp_path, monkeypatch):
    monkeypatch.setattr(trial_bulk, "BATCH_SIZE", 2)
    studies = [json.loads(p.read_bytes()) for p in AACT[:5]]
    studies[1], studies[3] = with_sex(studies[1], "X"), ["not", "a", "study"]
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"studies": studies}), encoding="utf-8")
    report = import_bulk(store, [page])
    assert report.added == 3 and report.files == 1
    assert [where for where, _ in report.skipped] == [f"{page} studies[1]", f"{page} studies[3]"]
    assert "must be a JSON object" in report.skipped[1][1]


def test_folders_single_files_and_pages_of_the_recorded_responses(store):
    report = import_bulk(store, [V2, CAPTURES / "get_nct02576665_20260811.json"])
    distinct = {nct(s) for p in V2.rglob("*.json") for s in (lambda d: d.get("studies", [d]))(json.loads(p.read_bytes()))}
    assert store.count() == report.added == len(distinct) == 19
    assert (report.updated, report.unchanged, report.files) == (0, 1, 17)  # the get_ file given twice: unchanged
    page = CAPTURES / "search_nsclc_egfr_l858r_20260811.json"  # the two get_ studies again, with fewer fields
    assert [where for where, _ in report.skipped] == [f"{page} studies[0]", f"{page} studies[1]"]
    assert report.skipped[0][1] == ("NCT06382129: given again with fewer fields and the same last update; "
                                    "kept the longer copy imported before it")
    assert store.get("NCT06382129").record == json.loads((CAPTURES / "get_nct06382129_20260811.json").read_bytes())
    assert store.get("NCT06382129").eligibility_criteria.startswith("Inclusion Criteria")
    assert store.get("NCT06970236").title == "Resistance Exercise in Patients With Ocular Melanoma"


def test_a_member_damaged_inside_the_zip_is_skipped_and_the_rest_imported(store, tmp_path):
    path = make_zip(tmp_path / "damaged.zip", {f"{p.stem}.json": p.read_bytes() for p in AACT[:3]}, zipfile.ZIP_STORED)
    with zipfile.ZipFile(path) as archive:
        second = archive.infolist()[1]
        start = second.header_offset + 30 + len(second.filename) + len(second.extra)
    data = bytearray(path.read_bytes())
    data[start + 100] ^= 0xFF  # one byte of the second member's data: its CRC no longer matches
    path.write_bytes(bytes(data))
    report = import_bulk(store, [path])
    assert report.added == 2
    [(where, reason)] = report.skipped
    assert where == f"{path}:{AACT[1].stem}.json" and "could not be read from the zip" in reason and "CRC" in reason


def test_a_truncated_zip_is_refused_before_anything_is_stored(store, bulk_zip, tmp_path):
    cut = tmp_path / "cut.zip"
    cut.write_bytes(bulk_zip.read_bytes()[: bulk_zip.stat().st_size // 2])  # an interrupted download
    with pytest.raises(BulkError, match=r"cut.zip: not a readable zip .*download it again"):
        import_bulk(store, [AACT[0], cut])  # the good file first: still nothing stored
    assert store.count() == 0


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.zip", "missing.zip: no such file or folder; give the registry's bulk download"),
    (lambda tmp: (tmp / "notes.txt", (tmp / "notes.txt").write_text("x"))[0], "notes.txt: neither a .zip nor a .json"),
    (lambda tmp: (tmp / "empty", (tmp / "empty").mkdir())[0], "empty: this folder has no .json files"),
    (lambda tmp: (tmp / "fake.zip", (tmp / "fake.zip").write_text("not a zip"))[0], "fake.zip: not a readable zip"),
])
def test_sources_that_cannot_be_read_raise_naming_the_fix(store, tmp_path, make, message):
    with pytest.raises(BulkError, match=message):
        import_bulk(store, [make(tmp_path)])
    assert store.count() == 0


def test_a_json_file_that_is_not_json_is_reported(store, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe not text")
    report = import_bulk(store, [bad, AACT[0]])
    assert report.added == 1 and report.skipped[0][0] == str(bad) and "not valid JSON" in report.skipped[0][1]


def test_arguments_are_checked(store):
    with pytest.raises(ValueError, match="source must be one of"):
        import_bulk(store, [AACT[0]], source="somewhere")
    with pytest.raises(BulkError, match="no source given"):
        import_bulk(store, [])
    with pytest.raises(ValueError, match="sources must be a list of paths"):
        import_bulk(store, AACT[0])


# ------------------------------------------------------------------ the shipped registry sample


def test_the_shipped_registry_sample_is_the_recorded_responses_byte_for_byte():
    shipped = sorted(p.name for p in REGISTRY.glob("*.json"))
    assert shipped == sorted(p.name for p in CAPTURES.glob("*.json")) and len(shipped) == 6
    for name in shipped:
        assert (REGISTRY / name).read_bytes() == (CAPTURES / name).read_bytes()
    assert "import-trials --store knowledge/registry" in (REGISTRY / "PROVENANCE.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------ python -m knowledge import-trials --store


def test_cli_imports_a_zip_into_the_store(tmp_path, bulk_zip, capsys):
    path = tmp_path / "var" / "t.sqlite3"
    assert cli.main(["import-trials", "--store", str(path), str(bulk_zip)]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines() == [f"import-trials: 4 added, 0 updated, 0 unchanged, 3 skipped, from 6 JSON files; "
                                        f"store {path}"]
    assert f"skipped {bulk_zip}:NCT99999999.json: not valid JSON" in err
    assert TrialStore(path).count() == 4


def test_cli_imports_the_shipped_registry_into_the_default_store(tmp_path, monkeypatch, capsys):
    default = tmp_path / "var" / "trials.sqlite3"
    monkeypatch.setattr(cli, "DEFAULT_TRIAL_STORE", default)
    assert cli.main(["import-trials", "--store", str(REGISTRY)]) == 0  # a folder after --store is a source
    out, err = capsys.readouterr()
    assert "import-trials: 9 added, 0 updated, 0 unchanged, 2 skipped, from 6 JSON files" in out
    assert str(default) in out
    assert err.count("given again with fewer fields") == 2  # the search page's reduced copies
    store = TrialStore(default)
    assert store.count() == 9 and store.get("NCT04318717").cancer_types == ["mucosal melanoma of the head and neck"]
    assert all(store.get(n).eligibility_criteria for n in ("NCT06382129", "NCT06604689"))


def test_cli_exit_1_when_nothing_was_stored_or_a_source_is_unreadable(tmp_path, capsys):
    path = tmp_path / "t.sqlite3"
    bad = make_zip(tmp_path / "bad.zip", {"a.json": b"[1, 2", "b.json": b'{"hello": "world"}'})
    assert cli.main(["import-trials", "--store", str(path), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert "0 added" in out and "error: no study was stored" in err and "protocolSection is missing" in err
    assert cli.main(["import-trials", "--store", str(path), str(tmp_path / "nope.zip")]) == 1
    assert "nope.zip: no such file or folder" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--store"], "give what to import after --store"),
    (["--store", "x.sqlite3", "--only", "NCT04318717", "a.zip"], "--only: for writing documents and records only"),
    (["--store", "x.sqlite3", "--records-out", "r", "a.zip"], "--records-out: for writing documents"),
])
def test_cli_bad_arguments_exit_2(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["import-trials", *args])
    assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_a_store_of_an_older_schema(tmp_path, capsys):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                           "INSERT INTO meta VALUES ('store.schema_version', '1');")
    conn.close()
    assert cli.main(["import-trials", "--store", str(path), str(AACT[0])]) == 2
    assert "holds trial store schema 1" in capsys.readouterr().err


def test_if_empty_starts_a_store_once_and_never_touches_a_filled_one(tmp_path, capsys):
    from knowledge.__main__ import main

    path = tmp_path / "trials.sqlite3"
    registry = Path(__file__).resolve().parents[2] / "knowledge" / "registry"
    assert main(["import-trials", "--store", str(path), "--if-empty", str(registry)]) == 0
    with TrialStore(path) as store:
        count = store.count()
    assert count == 9
    capsys.readouterr()
    assert main(["import-trials", "--store", str(path), "--if-empty", str(registry)]) == 0
    assert "already holds 9 studies; nothing imported" in capsys.readouterr().out
