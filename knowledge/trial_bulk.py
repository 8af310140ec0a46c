"""The registry's bulk download into the trial store (issue 14): `import_bulk(store, sources)`.

ClinicalTrials.gov offers every study as one zip (`ctg-studies.json.zip`), one API v2 study per member
(`NCT01234567.json`). `import_bulk` reads such zips member by member (never extracting them, never loading a
whole zip), folders of *.json files and single *.json files (one study, or a `{"studies": [...]}` page, as
the API and knowledge/registry/ have them), and stores the studies through `TrialStore.upsert`, BATCH_SIZE
at a time. A member or file that is not JSON, or a study the store refuses, is reported with where it was
and skipped; the rest is stored, and nothing stored before is lost. A study met twice in one import with one
last-update date (recorded search pages repeat studies with fewer fields) is kept from its longer copy. A
source that cannot be read at all (no such file, not a .zip or .json, a truncated zip) raises `BulkError`
before anything is stored.

    python -m knowledge import-trials --store [PATH] ctg-studies.json.zip
"""
from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from knowledge.trial_store import BATCH_SIZE, SOURCES, TrialStore
from knowledge.trials import NCT_PATTERN

MAX_MEMBER_BYTES = 256 * 2**20  # a study is well under 1 MiB and a page of 1,000 under 100 MiB: more is no study
PROGRESS_EVERY = 10_000  # studies between two progress lines
_WANTED = ("give the registry's bulk download (ctg-studies.json.zip), an API v2 study .json file "
           "(one study or a {\"studies\": [...]} page) or a folder of them")


class BulkError(ValueError):
    """A source that cannot be imported at all; the message names it and the fix."""


@dataclass
class BulkReport:
    """What import_bulk did: studies added, updated, unchanged; what was skipped, where and why."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, or zip:member, [studies[i]]; why)
    files: int = 0  # JSON files and zip members read

    @property
    def imported(self) -> int:
        """Studies now in the store as given (added, updated or already there unchanged)."""
        return self.added + self.updated + self.unchanged

    def summary(self) -> str:
        return (f"{self.added:,} added, {self.updated:,} updated, {self.unchanged:,} unchanged, "
                f"{len(self.skipped):,} skipped, from {self.files:,} JSON file{'s' * (self.files != 1)}")

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "files": self.files,
                "skipped": [{"where": w, "reason": r} for w, r in self.skipped]}


def import_bulk(store: TrialStore, sources: list[Path], source: str = "ctgov-bulk",
                progress: Callable[[str], None] | None = None) -> BulkReport:
    """Store the studies of these zips, folders and .json files; BulkError (nothing stored) if one cannot
    be read at all. `progress`, if given, is called with a line every PROGRESS_EVERY studies."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    if isinstance(sources, (str, Path)):
        raise ValueError(f"sources must be a list of paths, e.g. [Path({str(sources)!r})], not one path")
    if not sources:
        raise BulkError(f"no source given; {_WANTED}")
    plan = [_check(Path(s)) for s in sources]  # every source checked before anything is stored
    report, told = BulkReport(), 0
    chunk: list[tuple[str, Any]] = []
    seen: set[str] = set()  # NCT ids met in this import (about 40 MB for the whole registry)
    for where, study in _studies(plan, report):
        nct_id = _nct_id(study)
        if nct_id in seen:  # rare: compared with the copy stored, which the pending batch may hold
            _store(store, chunk, source, report)
            chunk = []
            if _shorter_copy(store, nct_id, study):
                report.skipped.append((where, f"{nct_id}: given again with fewer fields and the same last update; "
                                              "kept the longer copy imported before it"))
                continue
        elif NCT_PATTERN.match(nct_id):
            seen.add(nct_id)
        chunk.append((where, study))
        if len(chunk) == BATCH_SIZE:
            _store(store, chunk, source, report)
            chunk = []
            if progress is not None and report.imported + len(report.skipped) >= told + PROGRESS_EVERY:
                told = report.imported + len(report.skipped)
                progress(f"import-trials: {told:,} studies read: {report.summary()}")
    _store(store, chunk, source, report)
    return report


def _check(path: Path) -> tuple[str, Path, list[Path]]:
    """(kind, path, its .json files for a folder); BulkError naming the fix when it cannot be read."""
    if not path.exists():
        raise BulkError(f"{path}: no such file or folder; {_WANTED}")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".json" and p.is_file())
        if not files:
            raise BulkError(f"{path}: this folder has no .json files; {_WANTED}")
        return "folder", path, files
    suffix = path.suffix.lower()
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path):  # reads the zip's directory (at its end): a truncated download has none
                pass
        except (zipfile.BadZipFile, OSError) as exc:
            raise BulkError(f"{path}: not a readable zip ({exc}); the download may be incomplete or damaged: "
                            "download it again") from None
        return "zip", path, []
    if suffix == ".json":
        return "json", path, [path]
    raise BulkError(f"{path}: neither a .zip nor a .json file; {_WANTED}")


def _studies(plan: list[tuple[str, Path, list[Path]]], report: BulkReport) -> Iterator[tuple[str, Any]]:
    """(where, study) for every study of every source, reading one file or member at a time."""
    for kind, path, files in plan:
        if kind != "zip":
            for file in files:
                report.files += 1
                try:
                    data = file.read_bytes()
                except OSError as exc:
                    report.skipped.append((str(file), f"could not be read ({exc})"))
                    continue
                yield from _from_json(str(file), data, report)
            continue
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                where = f"{path}:{member.filename}"
                if member.is_dir():
                    continue
                if not member.filename.lower().endswith(".json"):
                    report.skipped.append((where, "not a .json file; the bulk download holds one NCT….json per study"))
                    continue
                if member.file_size > MAX_MEMBER_BYTES:
                    report.skipped.append((where, f"is {member.file_size:,} bytes, more than any study "
                                                  f"({MAX_MEMBER_BYTES:,} at most)"))
                    continue
                report.files += 1
                try:
                    data = archive.read(member)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                    report.skipped.append((where, f"could not be read from the zip ({exc}); download it again"))
                    continue
                yield from _from_json(where, data, report)


def _from_json(where: str, data: bytes, report: BulkReport) -> Iterator[tuple[str, Any]]:
    """The study of a JSON file, or each study of a {"studies": [...]} page; not JSON: reported."""
    try:
        value = json.loads(data.decode("utf-8-sig"))  # a byte order mark is tolerated
    except (UnicodeDecodeError, ValueError) as exc:
        report.skipped.append((where, f"not valid JSON ({exc})"))
        return
    if isinstance(value, dict) and "studies" in value and "protocolSection" not in value:
        if not isinstance(value["studies"], list):
            report.skipped.append((where, "'studies' must be a list of studies"))
            return
        for number, study in enumerate(value["studies"]):
            yield f"{where} studies[{number}]", study
    else:
        yield where, value  # upsert says what is wrong with it, if anything


def _store(store: TrialStore, chunk: list[tuple[str, Any]], source: str, report: BulkReport) -> None:
    """One upsert; what it skipped is reported by where the study came from."""
    if not chunk:
        return
    done = store.upsert([study for _, study in chunk], source)
    report.added, report.updated = report.added + done.added, report.updated + done.updated
    report.unchanged += done.unchanged
    by_id: dict[str, deque[str]] = defaultdict(deque)  # an NCT id's places, in the order upsert met them
    for where, study in chunk:
        by_id[_nct_id(study)].append(where)
    for ident, reason in done.skipped:
        numbered = re.fullmatch(r"study #(\d+)", ident)
        where = chunk[int(numbered[1]) - 1][0] if numbered else by_id[ident].popleft() if by_id[ident] else ident
        report.skipped.append((where, reason))


def _shorter_copy(store: TrialStore, nct_id: str, study: Any) -> bool:
    """Is `study` the same version as the stored copy (same last update), with less in it?"""
    stored = store.get(nct_id)
    try:
        last_update = study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
    except (TypeError, KeyError):
        last_update = None
    return (stored is not None and stored.last_update == last_update
            and len(_compact(stored.record)) > len(_compact(study)))


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _nct_id(study: Any) -> str:
    try:
        nct_id = study["protocolSection"]["identificationModule"]["nctId"]
    except (TypeError, KeyError):
        return ""
    return nct_id if isinstance(nct_id, str) else ""
