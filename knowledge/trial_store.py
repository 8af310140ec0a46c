"""The trial store: ClinicalTrials.gov studies at registry scale, in one SQLite file (issue 14).

`TrialStore(path)` keeps each study as the registry sent it (packed, `records`) beside the columns searches
filter on, the places of its sites, the cancers its conditions name, a full-text index (FTS5) and the
project's curated trial records. The file is in WAL mode, so gunicorn workers read while a sync writes. Each
thread opens its own connection; one opened before a fork is never used by the child. Reading a study:
knowledge/ctgov_study.py; a search's filters and plan: knowledge/trial_query.py. Why SQLite rather than
DuckDB, the schema, the filters: docs/trial-store.md.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from knowledge.cancer_vocabulary import CancerVocabulary, load_vocabulary
# parsing lives in ctgov_study; re-exported because callers import it from here
from knowledge.ctgov_study import (CachedConditions, StudyError, StudyRow, eligibility_of, pack_record,  # noqa: F401
                                   parse_age, parse_study, place_key, sites_of, unpack_record)
from knowledge.trial_query import PHASES, StudyQuery, place_value
from knowledge.trials import NCT_PATTERN

__all__ = ["TrialStore", "UpsertReport", "StudyRow", "StudyError", "parse_study", "parse_age", "place_key",
           "SCHEMA_VERSION", "SOURCES", "PHASES"]

SCHEMA_VERSION = "2"  # 2: records packed, eligibility and sites read from them; rows numbered; curated_trials
SOURCES = ("ctgov-api-v2", "ctgov-bulk", "curated")
BATCH_SIZE = 1000  # studies per transaction
BUSY_SECONDS = 10.0
PAGE_SIZE = 8192  # set when the file is created: packed records fill 8 KiB pages better (2.5 % smaller than 4 KiB)
_RESERVED = "store."  # meta keys the store writes itself
_LAST_SYNCED = "store.last_synced"
_INHERITED: list[sqlite3.Connection] = []  # opened by a parent process: never used, never closed here

_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY,  -- numbered as stored: each table below grows at its end (see _write)
    nct_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, official_title TEXT NOT NULL, status TEXT NOT NULL,
    phases TEXT NOT NULL, study_type TEXT NOT NULL, min_age_years REAL, max_age_years REAL,
    sex TEXT NOT NULL CHECK (sex IN ('ALL', 'FEMALE', 'MALE')), last_update TEXT,
    source TEXT NOT NULL CHECK (source IN ('ctgov-api-v2', 'ctgov-bulk', 'curated')), stored_at TEXT NOT NULL,
    row_hash BLOB NOT NULL, conditions TEXT NOT NULL, cancer_types TEXT NOT NULL);
-- the order every search returns: recruiting first, then most recently updated
CREATE INDEX IF NOT EXISTS studies_rank ON studies (status = 'RECRUITING', last_update, nct_id);
-- the study as received, its compact JSON packed (ctgov_study.pack_record); eligibility text and sites are read
-- from it, not stored again
CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, record BLOB NOT NULL);
-- one row per place (country, city) of a study's sites, as numbers: what place filters compare (place_key)
CREATE TABLE IF NOT EXISTS sites (
    id INTEGER NOT NULL, country INTEGER NOT NULL, city INTEGER NOT NULL,
    PRIMARY KEY (id, country, city)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sites_place ON sites (country, city);  -- then id: the table's key
CREATE INDEX IF NOT EXISTS sites_city ON sites (city, country);  -- then id; city_countries counts in order
-- the numbers: a country as the registry first wrote it (city_countries says it), a city by its key alone
CREATE TABLE IF NOT EXISTS countries (n INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cities (n INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
-- status copied from studies: "recruiting studies of this cancer" is one range of the table itself; a
-- study's rows are deleted by their whole key, read from its studies row (cancer_types, status)
CREATE TABLE IF NOT EXISTS study_conditions (
    cancer_type TEXT NOT NULL COLLATE NOCASE, status TEXT NOT NULL, id INTEGER NOT NULL,
    PRIMARY KEY (cancer_type, status, id)) WITHOUT ROWID;
-- the text of studies, indexed without a copy of it (content=studies); rowid = studies.id
CREATE VIRTUAL TABLE IF NOT EXISTS studies_fts USING fts5(
    title, official_title, conditions, content = 'studies', content_rowid = 'id', columnsize = 0,
    tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS curated_trials (id TEXT PRIMARY KEY, record TEXT NOT NULL);  -- Trial.to_dict() JSON
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = ("nct_id", "title", "official_title", "status", "phases", "study_type", "min_age_years", "max_age_years",
            "sex", "last_update", "source", "stored_at", "conditions", "cancer_types")


@dataclass
class UpsertReport:
    """What an upsert did; added + updated + unchanged + len(skipped) is the number of studies given."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (NCT id or "study #n", why)

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": [{"id": i, "reason": r} for i, r in self.skipped]}


def _numbers(conn: sqlite3.Connection, table: str, keys: set[str]) -> dict[str, int]:
    """The numbers of these countries' or cities' keys (as one JSON list: no limit on how many)."""
    return dict(conn.execute(f"SELECT key, n FROM {table} WHERE key IN (SELECT value FROM json_each(?))",
                             (json.dumps(sorted(keys), ensure_ascii=False),)))


class TrialStore:
    def __init__(self, path: Path | str, vocabulary: CancerVocabulary | None = None):
        """The store in the SQLite file `path` (created with its folder if missing). `vocabulary` maps
        conditions to cancer names on upsert; default: the shipped knowledge/cancers.yml, loaded when needed."""
        if not isinstance(path, (str, os.PathLike)) or str(path) in ("", ":memory:"):
            raise ValueError(f"the trial store must be a file path, e.g. var/trials.sqlite3, not {path!r}")
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise ValueError(f"{self.path} is a folder; give the path of a file in it, e.g. {self.path / 'trials.sqlite3'}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._vocabulary, self._conditions = vocabulary, None  # type: CancerVocabulary | None, CachedConditions | None
        self._local, self._lock = threading.local(), threading.Lock()
        self._open: list[tuple[int, sqlite3.Connection]] = []
        self._create()

    def __repr__(self) -> str:
        return f"TrialStore({str(self.path)!r})"

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = sqlite3.connect(str(self.path), timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")  # under WAL never corrupts; a power cut may lose the last batch
            conn.execute("PRAGMA cache_size = -32768")  # KiB: 32 MiB per connection
        except sqlite3.Error:
            conn.close()
            raise
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            self._open.append((os.getpid(), conn))
        return conn

    def _create(self) -> None:
        deadline = time.monotonic() + BUSY_SECONDS
        while True:  # workers opening a new file together: switching to WAL may answer "locked" at once
            try:
                conn = self._conn()
                self._check_version(conn)  # before the schema: nothing is added to a store of another version
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # no effect on an existing file
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
                break
            except sqlite3.OperationalError as exc:
                if "fts5" in str(exc):
                    raise RuntimeError(f"this Python's SQLite {sqlite3.sqlite_version} has no FTS5 ({exc}); run the "
                                       "project with a Python whose SQLite includes it (python.org and pyenv builds do)") from exc
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)
            except sqlite3.DatabaseError as exc:
                self.close()
                raise ValueError(f"{self.path} is not a trial store ({exc}); move it away or choose another path") from exc
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('store.schema_version', ?)", (SCHEMA_VERSION,))

    def _check_version(self, conn: sqlite3.Connection) -> None:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
            return  # a new file
        found = conn.execute("SELECT value FROM meta WHERE key = 'store.schema_version'").fetchone()
        if found is not None and found[0] != SCHEMA_VERSION:
            self.close()
            raise ValueError(f"{self.path} holds trial store schema {found[0]}, this code reads {SCHEMA_VERSION}; "
                             "sync into a new file: move this one away, then run `python -m knowledge sync-trials` "
                             "(or `import-trials --store` with the registry's bulk download)")

    def close(self) -> None:
        """Close this process's connections, from every thread; the store reopens them when used again."""
        with self._lock:
            opened, self._open = self._open, []
            self._local = threading.local()
        for pid, conn in opened:
            if pid == os.getpid():
                conn.close()
            else:  # the parent's (inherited through fork): closing it here could disturb the parent's locks
                _INHERITED.append(conn)

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """A read transaction: under WAL it sees one committed version however long it takes."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")  # nothing was written: this only ends the snapshot

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is stored, or (on any error) none of it."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")  # the write lock first: no read-then-write upgrade to fail under WAL
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                conn.execute("ROLLBACK")
            raise

    # writing

    def upsert(self, studies: Iterable[dict[str, Any]], source: str) -> UpsertReport:
        """Store API v2 studies, one transaction per BATCH_SIZE. A bad study, or one older than the stored
        copy (by lastUpdatePostDate; an undated one is older than a dated one), is reported in `skipped`
        and changes nothing; the rest of its batch is stored. Of two copies with the same date, the later
        one given is kept."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        if isinstance(studies, (dict, str, bytes)) or not isinstance(studies, Iterable):
            raise ValueError("studies must be an iterable of study objects; for a page pass page['studies']")
        if self._conditions is None:
            self._conditions = CachedConditions(self._vocabulary or load_vocabulary())
        report, numbered = UpsertReport(), enumerate(studies, start=1)
        while batch := list(islice(numbered, BATCH_SIZE)):
            self._upsert_batch(batch, source, report)
        return report

    def _upsert_batch(self, batch: list[tuple[int, Any]], source: str, report: UpsertReport) -> None:
        rows: list[tuple[StudyRow, str, bytes]] = []
        for number, study in batch:
            try:
                row = parse_study(study, self._conditions, source)
            except StudyError as exc:
                report.skipped.append((exc.nct_id or f"study #{number}", str(exc)))
                continue
            record = json.dumps(study, ensure_ascii=False, separators=(",", ":"))
            digest = hashlib.blake2b("\x1f".join((record, json.dumps(row.cancer_types), source)).encode(),
                                     digest_size=16).digest()  # equal: nothing to write
            rows.append((row, record, digest))
        if not rows:
            return
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._writing() as conn:
            ids = list(dict.fromkeys(r.nct_id for r, _, _ in rows))
            known = {n: (u, h) for n, u, h in conn.execute(
                f"SELECT nct_id, last_update, row_hash FROM studies WHERE nct_id IN ({','.join('?' * len(ids))})", ids)}
            stored_before, pending = set(known), {}
            for row, record, digest in rows:
                stored = known.get(row.nct_id)
                if stored is not None and stored[0] and (row.last_update or "") < stored[0]:
                    report.skipped.append((row.nct_id, f"{row.nct_id}: last update {row.last_update or 'not given'} "
                                           f"is older than the stored copy's {stored[0]}; kept the stored copy"))
                elif stored is not None and stored[1] == digest:
                    report.unchanged += 1
                else:
                    report.added += stored is None
                    report.updated += stored is not None
                    known[row.nct_id] = (row.last_update, digest)
                    pending[row.nct_id] = (row, record, digest)
            self._write(conn, list(pending.values()), [n for n in pending if n in stored_before], now)

    @staticmethod
    def _write(conn: sqlite3.Connection, rows: list[tuple[StudyRow, str, bytes]], replaced: list[str],
               now: str) -> None:
        """A changed study is deleted and stored anew under the next number: tables keyed by it only ever grow
        at their end, so a batch writes few pages however large the store (random keys: one page per study)."""
        if replaced:  # the text index first: it reads the words to remove from the studies row still there
            old = conn.execute(f"SELECT id, status, cancer_types FROM studies WHERE nct_id IN "
                               f"({','.join('?' * len(replaced))})", replaced).fetchall()
            conn.executemany("DELETE FROM study_conditions WHERE cancer_type = ? AND status = ? AND id = ?",
                             [(name, status, n) for n, status, names in old for name in json.loads(names)])
            for table in ("studies_fts WHERE rowid", "sites WHERE id", "records WHERE id", "studies WHERE id"):
                conn.execute(f"DELETE FROM {table} IN ({','.join('?' * len(old))})", [n for n, _, _ in old])
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM studies").fetchone()[0]
        studies = [(first + i, r.nct_id, r.title, r.official_title, r.status, json.dumps(r.phases), r.study_type,
                    r.min_age_years, r.max_age_years, r.sex, r.last_update, r.source, now, digest,
                    json.dumps(r.conditions, ensure_ascii=False), json.dumps(r.cancer_types, ensure_ascii=False))
                   for i, (r, _, digest) in enumerate(rows)]
        conn.executemany(f"INSERT INTO studies (id, {', '.join(_COLUMNS[:12])}, row_hash, conditions, "
                         f"cancer_types) VALUES ({','.join('?' * 16)})", studies)
        conn.executemany("INSERT INTO records VALUES (?, ?)", [(s[0], pack_record(record))
                                                               for s, (_, record, _) in zip(studies, rows)])
        # the same text as the studies row (conditions as its JSON list), so a later delete finds the same words
        conn.executemany("INSERT INTO studies_fts (rowid, title, official_title, conditions) VALUES (?, ?, ?, ?)",
                         [(s[0], s[2], s[3], s[14]) for s in studies])
        conn.executemany("INSERT OR IGNORE INTO study_conditions VALUES (?, ?, ?)",
                         [(name, r.status, s[0]) for (r, _, _), s in zip(rows, studies) for name in r.cancer_types])
        places = {(s[0], place_key(site["country"]), place_key(site["city"])): site["country"]
                  for (r, _, _), s in zip(rows, studies) for site in reversed(r.sites)}  # the first spelling is kept
        names = {k[1]: c for k, c in places.items()}
        conn.executemany("INSERT OR IGNORE INTO countries (key, name) VALUES (?, ?)", names.items())
        conn.executemany("INSERT OR IGNORE INTO cities (key) VALUES (?)", [(k,) for k in {k[2] for k in places}])
        country, city = _numbers(conn, "countries", set(names)), _numbers(conn, "cities", {k[2] for k in places})
        conn.executemany("INSERT INTO sites VALUES (?, ?, ?)", [(n, country[c], city[t]) for n, c, t in places])

    def put_curated(self, trials: list[dict[str, Any]]) -> None:
        """Replace all curated trial records (each as knowledge.trials.Trial.to_dict() gives it) in one
        transaction. ValueError naming the record when one is not such a record; then nothing changes."""
        if isinstance(trials, (dict, str, bytes)) or not isinstance(trials, Iterable):
            raise ValueError("trials must be a list of curated trial records, e.g. [t.to_dict() for t in trials]")
        encoded: dict[str, str] = {}
        for number, trial in enumerate(trials, start=1):
            name = trial.get("id") if isinstance(trial, dict) else None
            label = f"curated trial {name!r}" if isinstance(name, str) and name.strip() else f"curated trial #{number}"
            problem = _curated_problem(trial, encoded)
            if problem:
                raise ValueError(f"{label}: {problem}; pass Trial.to_dict() records from knowledge/trials.py "
                                 "(no curated record was changed)")
        with self._writing() as conn:
            conn.execute("DELETE FROM curated_trials")
            conn.executemany("INSERT INTO curated_trials VALUES (?, ?)", sorted(encoded.items()))

    def curated(self) -> list[dict[str, Any]]:
        """The curated trial records, in id order."""
        return [json.loads(r) for (r,) in self._conn().execute("SELECT record FROM curated_trials ORDER BY id")]

    # reading

    def search(self, cancer_types: Sequence[str] = (), text: str = "", country: str | None = None,
               city: str | None = None, recruiting: bool | None = None, age: float | None = None,
               sex: str | None = None, phase: str | None = None, limit: int = 20,
               with_records: bool = False) -> list[StudyRow]:
        """Studies matching every filter given, recruiting first, then the most recently updated (then the
        newest NCT id). What each filter means: docs/trial-store.md. A bad argument raises ValueError.
        `with_records`: each row keeps its record as received (already unpacked to read its sites)."""
        query = StudyQuery.checked(cancer_types, text, country, city, recruiting, age, sex, phase, limit)
        with self._snapshot():  # the counts, the rows and their records all from one version of the store
            sql, params = query.sql(self._conn(), ("id", *_COLUMNS))
            return self._rows(self._conn().execute(sql, params).fetchall(), with_record=with_records)

    def _rows(self, found: list[tuple[Any, ...]], with_record: bool = False) -> list[StudyRow]:
        """Rows from studies columns; eligibility text and sites from each record (the registry's text, exactly)."""
        rows = []
        for values in found:  # (id, *_COLUMNS)
            data = dict(zip(_COLUMNS, values[1:]))
            for name in ("phases", "conditions", "cancer_types"):
                data[name] = json.loads(data[name])
            rows.append(StudyRow(**data))
        if rows:
            packed = dict(self._conn().execute(
                f"SELECT id, record FROM records WHERE id IN ({','.join('?' * len(rows))})", [v[0] for v in found]))
            for row, values in zip(rows, found):
                study = unpack_record(packed[values[0]])
                row.eligibility_criteria, row.sites = eligibility_of(study, row.nct_id), sites_of(study, row.nct_id)
                row.record = study if with_record else None
        return rows

    def get(self, nct_id: str) -> StudyRow | None:
        """The stored study, with its record as received; None if the store does not hold it."""
        if not isinstance(nct_id, str) or not NCT_PATTERN.match(nct_id):
            raise ValueError(f"nct_id must be 'NCT' followed by 8 digits, e.g. NCT04318717, not {nct_id!r}")
        with self._snapshot():
            found = self._conn().execute(f"SELECT id, {', '.join(_COLUMNS)} FROM studies WHERE nct_id = ?",
                                         (nct_id,)).fetchall()
            return self._rows(found, with_record=True)[0] if found else None

    def count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM studies").fetchone()[0]

    def city_countries(self, city: str) -> list[str]:
        """The countries (as the registry writes them) with a site in this city, the one with most studies
        there first: "Paris" -> ["France", "United States"]. [] when no site is in such a city."""
        return [c for (c,) in self._conn().execute(
            "SELECT c.name FROM sites s JOIN countries c ON c.n = s.country WHERE c.key != '' AND "
            "s.city = (SELECT n FROM cities WHERE key = ?) GROUP BY s.country ORDER BY count(*) DESC, c.name",
            (place_value("city", city),))]

    # sync state

    def get_state(self, key: str) -> str | None:
        found = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return found[0] if found else None

    def set_state(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not key.strip() or key.startswith(_RESERVED):
            raise ValueError(f"state key must be a non-empty name not starting with {_RESERVED!r}, not {key!r} "
                             "(the sync time is set by mark_synced)")
        if not isinstance(value, str):
            raise ValueError(f"state value must be text (json.dumps it first), not {type(value).__name__}")
        self._conn().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def mark_synced(self, when: dt.datetime) -> None:
        self._conn().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_LAST_SYNCED, _aware(when, "when").isoformat()))

    def last_synced(self) -> dt.datetime | None:
        value = self.get_state(_LAST_SYNCED)
        return dt.datetime.fromisoformat(value) if value else None

    def is_stale(self, now: dt.datetime, days: float = 7) -> bool:
        """True when the store was never synced, or last synced `days` or more before `now`."""
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not days > 0:
            raise ValueError(f"days must be a positive number, not {days!r}")
        last = self.last_synced()
        return last is None or _aware(now, "now") - last >= dt.timedelta(days=days)

    def summary(self) -> dict[str, Any]:
        """{count, last_synced (ISO or None), curated}: what the assistant says of its trial data."""
        last = self.last_synced()
        curated = self._conn().execute("SELECT count(*) FROM curated_trials").fetchone()[0]
        return {"count": self.count(), "last_synced": last.isoformat() if last else None, "curated": curated}

    def to_dict(self) -> dict[str, Any]:
        """For build manifests: where the store is, how many studies, when it was last synced."""
        summary = self.summary()
        return {"path": str(self.path), "count": summary["count"], "last_synced": summary["last_synced"],
                "schema_version": SCHEMA_VERSION}


def _curated_problem(trial: Any, encoded: dict[str, str]) -> str:
    """What is wrong with one curated record ("" if nothing); if nothing, adds its JSON to `encoded`."""
    if not isinstance(trial, dict):
        return f"must be a dict (Trial.to_dict()), not {type(trial).__name__}"
    for key in ("id", "title", "status"):
        if not isinstance(trial.get(key), str) or not trial[key].strip():
            return f"{key!r} must be non-empty text, not {trial.get(key)!r}"
    if not isinstance(trial.get("cancer_types"), list) or not all(isinstance(c, str) for c in trial["cancer_types"]):
        return f"'cancer_types' must be a list of cancer names, not {trial.get('cancer_types')!r}"
    if trial["id"] in encoded:
        return "is given twice; give each id once"
    try:
        encoded[trial["id"]] = json.dumps(trial, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"is not JSON-ready ({exc})"
    return ""


def _aware(when: Any, name: str) -> dt.datetime:
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, e.g. datetime.now(timezone.utc), not {when!r}")
    return when
