"""The trial store: ClinicalTrials.gov studies at registry scale, in one SQLite file (issue 14).

`TrialStore(path)` keeps each study as the registry sent it (`record`) beside the columns searches
filter on, its sites, the cancers its conditions name (`study_conditions`) and a full-text index over
titles and conditions (`studies_fts`, FTS5). The file is in WAL mode, so gunicorn workers read while a
sync writes. Each thread opens its own connection; one opened before a fork is never used by the child.
Why SQLite rather than DuckDB, the schema, and what each search filter means: docs/trial-store.md.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from knowledge.cancer_vocabulary import CancerVocabulary, load_vocabulary
from knowledge.trials import NCT_PATTERN
from knowledge.trials_import import STATUS_MAP

SCHEMA_VERSION = "1"
SOURCES = ("ctgov-api-v2", "ctgov-bulk", "curated")
SEXES = ("ALL", "FEMALE", "MALE")
PHASES = ("EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA")
BATCH_SIZE = 1000  # studies per transaction
MAX_LIMIT = 1000
LEAD_BELOW = 3000  # a filter admitting fewer studies than this leads the search (TrialStore._plan)
BUSY_SECONDS = 10.0
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?", re.I)
_UNIT_YEARS = {"year": 1.0, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25, "hour": 1 / 8766,
               "minute": 1 / 525960}
_DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?\Z")
_RESERVED = "store."  # meta keys the store writes itself
_LAST_SYNCED = "store.last_synced"
_INHERITED: list[sqlite3.Connection] = []  # opened by a parent process: never used, never closed here

# Small columns first: reading status or row_hash then never follows a long record's overflow pages.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    nct_id TEXT PRIMARY KEY, title TEXT NOT NULL, official_title TEXT NOT NULL, status TEXT NOT NULL,
    phases TEXT NOT NULL, study_type TEXT NOT NULL, min_age_years REAL, max_age_years REAL,
    sex TEXT NOT NULL CHECK (sex IN ('ALL', 'FEMALE', 'MALE')), last_update TEXT,
    source TEXT NOT NULL CHECK (source IN ('ctgov-api-v2', 'ctgov-bulk', 'curated')), stored_at TEXT NOT NULL,
    row_hash TEXT NOT NULL, conditions TEXT NOT NULL, cancer_types TEXT NOT NULL,
    eligibility_criteria TEXT NOT NULL, record TEXT NOT NULL);
-- the order every search returns: recruiting first, then most recently updated
CREATE INDEX IF NOT EXISTS studies_rank ON studies (status = 'RECRUITING', last_update, nct_id);
CREATE TABLE IF NOT EXISTS sites (
    nct_id TEXT NOT NULL, facility TEXT NOT NULL, city TEXT NOT NULL, state TEXT NOT NULL,
    country TEXT NOT NULL, status TEXT NOT NULL,
    country_key TEXT NOT NULL, city_key TEXT NOT NULL);  -- what filters compare: see place_key
CREATE INDEX IF NOT EXISTS sites_place ON sites (country_key, city_key, nct_id);
CREATE INDEX IF NOT EXISTS sites_city ON sites (city_key, nct_id);
CREATE INDEX IF NOT EXISTS sites_study ON sites (nct_id, country_key, city_key);
-- status copied from studies: "recruiting studies of this cancer" is read from the index alone
CREATE TABLE IF NOT EXISTS study_conditions (
    nct_id TEXT NOT NULL, cancer_type TEXT NOT NULL COLLATE NOCASE, status TEXT NOT NULL,
    PRIMARY KEY (nct_id, cancer_type)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS study_conditions_cancer ON study_conditions (cancer_type, status, nct_id);
-- rowid = the NCT number, so a study's entry is replaced by rowid, without a scan
CREATE VIRTUAL TABLE IF NOT EXISTS studies_fts USING fts5(
    title, official_title, conditions, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = ("nct_id", "title", "official_title", "status", "phases", "study_type", "min_age_years", "max_age_years",
            "sex", "last_update", "source", "stored_at", "conditions", "cancer_types", "eligibility_criteria")
_SITE = ("facility", "city", "state", "country", "status")


class StudyError(ValueError):
    """A study record that cannot be stored: which study, which field, what is wrong."""

    def __init__(self, nct_id: str, field_name: str, problem: str):
        self.nct_id, self.field, self.problem = nct_id, field_name, problem
        super().__init__(f"{nct_id + ': ' if nct_id else ''}{field_name} {problem}")


@dataclass
class StudyRow:
    nct_id: str
    title: str
    official_title: str = ""
    status: str = "UNKNOWN"  # the registry's overallStatus
    phases: list[str] = field(default_factory=list)
    study_type: str = ""
    min_age_years: float | None = None
    max_age_years: float | None = None
    sex: str = "ALL"
    last_update: str | None = None
    source: str = ""
    stored_at: str = ""
    conditions: list[str] = field(default_factory=list)
    cancer_types: list[str] = field(default_factory=list)
    eligibility_criteria: str = ""
    sites: list[dict[str, str]] = field(default_factory=list)
    record: dict[str, Any] | None = None  # the study as received; None in search results (get() has it)

    @property
    def countries(self) -> list[str]:
        return list(dict.fromkeys(s["country"] for s in self.sites if s["country"]))

    @property
    def url(self) -> str:
        return f"https://clinicaltrials.gov/study/{self.nct_id}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the keys the bot's trial finder reads (`status` in its words, as records have it)."""
        return {"id": f"ctgov-{self.nct_id.lower()}", "nct_id": self.nct_id, "title": self.title,
                "official_title": self.official_title, "status": STATUS_MAP.get(self.status, "unknown"),
                "registry_status": self.status, "phases": list(self.phases), "study_type": self.study_type,
                "min_age_years": self.min_age_years, "max_age_years": self.max_age_years, "sex": self.sex,
                "conditions": list(self.conditions), "cancer_types": list(self.cancer_types),
                "eligibility": self.eligibility_criteria, "countries": self.countries,
                "sites": [dict(s) for s in self.sites], "last_update": self.last_update or "",
                "source": self.source, "url": self.url}


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


# ------------------------------------------------------------------ reading API v2 JSON


def _get(module: dict[str, Any], key: str, where: str, nct_id: str, kind: type = str) -> Any:
    """A field of a module: "" / [] / {} when absent (reduced captures leave much out), checked for type."""
    value = module.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)):
        wanted = {str: "text", list: "a list of text values", dict: "an object"}[kind]
        raise StudyError(nct_id, f"{where}.{key}", f"must be {wanted}, got {type(value).__name__}")
    return value.strip() if kind is str else [v.strip() for v in value if v.strip()] if kind is list else value


def parse_age(text: str) -> float | None:
    """"18 Years" -> 18.0, "6 Months" -> 0.5; "N/A" or "" -> None (no limit). ValueError otherwise."""
    if text.strip().upper() in ("", "N/A", "NA", "NONE"):
        return None
    match = _AGE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"is {text!r}, not '<number> Years|Months|Weeks|Days|Hours|Minutes' or 'N/A'")
    return round(float(match.group(1)) * _UNIT_YEARS[match.group(2).lower()], 4)


def parse_study(study: Any, vocabulary: Any, source: str = "") -> StudyRow:
    """One API v2 study (`{"protocolSection": ...}`) as a row; StudyError naming the field otherwise.
    `vocabulary` needs only `names_in_conditions` (a CancerVocabulary, or a CachedConditions)."""
    if not isinstance(study, dict):
        raise StudyError("", "study", f"must be a JSON object with 'protocolSection', got {type(study).__name__}")
    section = study.get("protocolSection")
    if not isinstance(section, dict):
        raise StudyError("", "protocolSection", "is missing; pass API v2 studies ({'protocolSection': ...}), "
                         "not API v1 or classic XML records")
    p = "protocolSection"
    ident = _get(section, "identificationModule", p, "", dict)
    nct_id = ident.get("nctId")
    if not nct_id:
        raise StudyError("", f"{p}.identificationModule.nctId", "is missing; every study needs its NCT id")
    if not isinstance(nct_id, str) or not NCT_PATTERN.match(nct_id):
        raise StudyError("", f"{p}.identificationModule.nctId", f"is {nct_id!r}, not 'NCT' followed by 8 digits")
    status_m, design, conditions_m, elig, contacts = (_get(section, m, p, nct_id, dict) for m in (
        "statusModule", "designModule", "conditionsModule", "eligibilityModule", "contactsLocationsModule"))
    where_elig = f"{p}.eligibilityModule"
    official = _get(ident, "officialTitle", f"{p}.identificationModule", nct_id)
    title = _get(ident, "briefTitle", f"{p}.identificationModule", nct_id) or official or nct_id
    ages = []
    for key in ("minimumAge", "maximumAge"):
        try:
            ages.append(parse_age(_get(elig, key, where_elig, nct_id)))
        except ValueError as exc:
            raise StudyError(nct_id, f"{where_elig}.{key}", str(exc)) from None
    if ages[0] is not None and ages[1] is not None and ages[0] > ages[1]:
        raise StudyError(nct_id, f"{where_elig}.minimumAge", f"({ages[0]} years) is above maximumAge ({ages[1]} years)")
    sex = _get(elig, "sex", where_elig, nct_id).upper() or "ALL"  # not stated: not restricted
    if sex not in SEXES:
        raise StudyError(nct_id, f"{where_elig}.sex", f"is {sex!r}, not one of {', '.join(SEXES)}")
    last_update = _get(status_m, "lastUpdatePostDateStruct", f"{p}.statusModule", nct_id, dict).get("date")
    if last_update is not None and not (isinstance(last_update, str) and _DATE.match(last_update)):
        raise StudyError(nct_id, f"{p}.statusModule.lastUpdatePostDateStruct.date",
                         f"is {last_update!r}, not an ISO date (YYYY-MM-DD)")
    locations = contacts.get("locations") or []
    if not isinstance(locations, list) or not all(isinstance(loc, dict) for loc in locations):
        raise StudyError(nct_id, f"{p}.contactsLocationsModule.locations", "must be a list of objects")
    conditions = _get(conditions_m, "conditions", f"{p}.conditionsModule", nct_id, list)
    return StudyRow(
        nct_id=nct_id, title=title, official_title=official,
        status=_get(status_m, "overallStatus", f"{p}.statusModule", nct_id).upper() or "UNKNOWN",
        phases=[v.upper() for v in _get(design, "phases", f"{p}.designModule", nct_id, list)],
        study_type=_get(design, "studyType", f"{p}.designModule", nct_id).upper(),
        min_age_years=ages[0], max_age_years=ages[1], sex=sex, last_update=last_update, source=source,
        conditions=conditions, cancer_types=list(vocabulary.names_in_conditions(conditions)),
        eligibility_criteria=_get(elig, "eligibilityCriteria", where_elig, nct_id),
        sites=[{k: _get(loc, k, f"{p}.contactsLocationsModule.locations[]", nct_id) for k in _SITE}
               for loc in locations], record=study)


class CachedConditions:
    """The vocabulary's mapping of conditions to cancers, remembered per condition: the registry repeats
    its wordings, and the import runs several times faster."""

    def __init__(self, vocabulary: CancerVocabulary, size: int = 200_000):
        self._one = functools.lru_cache(maxsize=size)(lambda condition: vocabulary.names_in_conditions([condition]))

    def names_in_conditions(self, conditions: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(name for condition in conditions for name in self._one(condition)))


@functools.lru_cache(maxsize=65_536)
def place_key(text: str) -> str:
    """How countries and cities are compared: case, accents and spacing ignored ("São  Paulo" = "sao paulo")."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


# ------------------------------------------------------------------ the store


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
        version = self.get_state("store.schema_version")
        if version != SCHEMA_VERSION:
            self.close()
            raise ValueError(f"{self.path} holds trial store schema {version}, this code reads {SCHEMA_VERSION}; "
                             "sync into a new file")

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
        rows: list[tuple[StudyRow, str, str]] = []
        for number, study in batch:
            try:
                row = parse_study(study, self._conditions, source)
            except StudyError as exc:
                report.skipped.append((exc.nct_id or f"study #{number}", str(exc)))
                continue
            record = json.dumps(study, ensure_ascii=False, separators=(",", ":"))
            digest = hashlib.blake2b("\x1f".join((record, json.dumps(row.cancer_types), source)).encode(),
                                     digest_size=16).hexdigest()  # equal: nothing to write
            rows.append((row, record, digest))
        if not rows:
            return
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")  # the write lock first: no read-then-write upgrade to fail under WAL
        try:
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
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _write(conn: sqlite3.Connection, rows: list[tuple[StudyRow, str, str]], replaced: list[str], now: str) -> None:
        if replaced:
            marks = ",".join("?" * len(replaced))
            for table in ("sites", "study_conditions"):
                conn.execute(f"DELETE FROM {table} WHERE nct_id IN ({marks})", replaced)
            conn.execute(f"DELETE FROM studies_fts WHERE rowid IN ({marks})", [int(n[3:]) for n in replaced])
        conn.executemany(
            f"INSERT OR REPLACE INTO studies ({', '.join(_COLUMNS)}, row_hash, record) VALUES ({','.join('?' * 17)})",
            [(r.nct_id, r.title, r.official_title, r.status, json.dumps(r.phases), r.study_type, r.min_age_years,
              r.max_age_years, r.sex, r.last_update, r.source, now, json.dumps(r.conditions, ensure_ascii=False),
              json.dumps(r.cancer_types, ensure_ascii=False), r.eligibility_criteria, digest, record)
             for r, record, digest in rows])
        conn.executemany("INSERT INTO sites VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         [(r.nct_id, *(s[k] for k in _SITE), place_key(s["country"]), place_key(s["city"]))
                          for r, _, _ in rows for s in r.sites])
        conn.executemany("INSERT INTO study_conditions VALUES (?, ?, ?)",
                         [(r.nct_id, name, r.status) for r, _, _ in rows for name in r.cancer_types])
        conn.executemany("INSERT INTO studies_fts (rowid, title, official_title, conditions) VALUES (?, ?, ?, ?)",
                         [(int(r.nct_id[3:]), r.title, r.official_title, "\n".join(r.conditions)) for r, _, _ in rows])

    # reading

    def search(self, cancer_types: Sequence[str] = (), text: str = "", country: str | None = None,
               city: str | None = None, recruiting: bool | None = None, age: float | None = None,
               sex: str | None = None, phase: str | None = None, limit: int = 20) -> list[StudyRow]:
        """Studies matching every filter given, recruiting first, then the most recently updated (then the
        newest NCT id). What each filter means: docs/trial-store.md. A bad argument raises ValueError."""
        names, words = _names(cancer_types), _words(text)
        places = [(f"{name}_key", _place(name, value)) for name, value in (("country", country), ("city", city))
                  if value is not None]
        if recruiting is not None and not isinstance(recruiting, bool):
            raise ValueError(f"recruiting must be True, False or None, not {recruiting!r}")
        if age is not None and (isinstance(age, bool) or not isinstance(age, (int, float)) or not 0 <= age <= 130):
            raise ValueError(f"age must be a number of years between 0 and 130, not {age!r}")
        if sex is not None and (not isinstance(sex, str) or sex.upper() not in ("FEMALE", "MALE")):
            raise ValueError(f"sex must be 'FEMALE' or 'MALE' (or None for anyone), not {sex!r}")
        wanted = {p.replace("_", ""): p for p in PHASES}.get(re.sub(r"[\s_-]", "", str(phase).upper()))
        if phase is not None and wanted is None:
            raise ValueError(f"phase must be one of {', '.join(PHASES)} (e.g. 'PHASE2'), not {phase!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
        # (the studies a filter admits; as a lead: fetched by id; as a test: checked per study; parameters)
        selective: list[tuple[str, str, str, list[Any]]] = []
        if names:  # with (cancer_type, status) indexed, "recruiting studies of these cancers" is one index range
            status = {None: "", True: " AND status = 'RECRUITING'", False: " AND status != 'RECRUITING'"}[recruiting]
            of = f"FROM study_conditions WHERE cancer_type IN ({','.join('?' * len(names))}){status}"
            selective.append((of, f"s.nct_id IN (SELECT nct_id {of})", f"+s.nct_id IN (SELECT nct_id {of})", names))
        if words:
            of = "FROM studies_fts WHERE studies_fts MATCH ?"
            selective.append((of, f"s.nct_id IN (SELECT printf('NCT%08d', rowid) {of})",
                              f"CAST(substr(s.nct_id, 4) AS INTEGER) IN (SELECT rowid {of})",
                              [" ".join(f'"{w}"' for w in words)]))  # quoted: the user's words, never FTS syntax
        if places:  # country and city of the same site
            test = " AND ".join(f"{key} = ?" for key, _ in places)
            selective.append((f"FROM sites WHERE {test}", f"s.nct_id IN (SELECT nct_id FROM sites WHERE {test})",
                              f"EXISTS (SELECT 1 FROM sites t WHERE t.nct_id = s.nct_id AND {test})",
                              [v for _, v in places]))
        with self._snapshot():  # the counts, the rows and their sites all from one version of the store
            return self._select(selective, recruiting, age, sex, wanted, limit)

    def _select(self, selective: list[tuple[str, str, str, list[Any]]], recruiting: bool | None, age: float | None,
                sex: str | None, wanted: str | None, limit: int) -> list[StudyRow]:
        where = self._plan(selective)
        if recruiting is not None:  # a range on the indexed expression: studies_rank then filters and orders
            where.append((f"(s.status = 'RECRUITING') {'> 0' if recruiting else '< 1'}", []))
        if age is not None:
            where.append(("(s.min_age_years IS NULL OR s.min_age_years <= ?) AND "
                          "(s.max_age_years IS NULL OR s.max_age_years >= ?)", [age, age]))
        if sex is not None:
            where.append(("s.sex IN ('ALL', ?)", [sex.upper()]))
        if wanted is not None:
            where.append(("EXISTS (SELECT 1 FROM json_each(s.phases) WHERE value = ?)", [wanted]))
        sql = (f"SELECT {', '.join('s.' + c for c in _COLUMNS)} FROM studies s "
               f"{'WHERE ' + ' AND '.join(c for c, _ in where) if where else ''} "
               "ORDER BY s.status = 'RECRUITING' DESC, s.last_update DESC, s.nct_id DESC LIMIT ?")
        return self._rows(self._conn().execute(sql, [v for _, values in where for v in values] + [limit]).fetchall())

    def _plan(self, selective: list[tuple[str, str, str, list[Any]]]) -> list[tuple[str, list[Any]]]:
        """Which filter leads. One admitting few studies (under LEAD_BELOW) is fetched, the others tested
        on its studies, then sorted. When all admit many, the studies are walked in result order (index
        studies_rank), each tested, until `limit` pass: a few hundred steps instead of sorting tens of
        thousands. At 500,000 studies the two cost the same near 3,000 (docs/trial-store.md)."""
        sizes = [self._conn().execute(f"SELECT count(*) FROM (SELECT 1 {of} LIMIT {LEAD_BELOW})", params).fetchone()[0]
                 for of, _, _, params in selective]  # counted only up to LEAD_BELOW: cheap for any filter
        lead = sizes.index(min(sizes)) if sizes and min(sizes) < LEAD_BELOW else None
        return [(leads if n == lead else tests, params) for n, (_, leads, tests, params) in enumerate(selective)]

    def _rows(self, found: list[tuple[Any, ...]], records: Sequence[str] = ()) -> list[StudyRow]:
        rows = []
        for values in found:
            data = dict(zip(_COLUMNS, values))
            for name in ("phases", "conditions", "cancer_types"):
                data[name] = json.loads(data[name])
            rows.append(StudyRow(**data))
        by_id = {r.nct_id: r for r in rows}
        if by_id:
            for nct_id, *site in self._conn().execute(
                    f"SELECT nct_id, {', '.join(_SITE)} FROM sites WHERE nct_id IN ({','.join('?' * len(by_id))}) "
                    "ORDER BY rowid", list(by_id)):
                by_id[nct_id].sites.append(dict(zip(_SITE, site)))
        for row, record in zip(rows, records):
            row.record = json.loads(record)
        return rows

    def get(self, nct_id: str) -> StudyRow | None:
        """The stored study, with its record as received; None if the store does not hold it."""
        if not isinstance(nct_id, str) or not NCT_PATTERN.match(nct_id):
            raise ValueError(f"nct_id must be 'NCT' followed by 8 digits, e.g. NCT04318717, not {nct_id!r}")
        with self._snapshot():
            found = self._conn().execute(f"SELECT {', '.join(_COLUMNS)}, record FROM studies WHERE nct_id = ?",
                                         (nct_id,)).fetchone()
            return self._rows([found[:-1]], [found[-1]])[0] if found else None

    def count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM studies").fetchone()[0]

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

    def to_dict(self) -> dict[str, Any]:
        """For build manifests: where the store is, how many studies, when it was last synced."""
        last = self.last_synced()
        return {"path": str(self.path), "count": self.count(), "last_synced": last.isoformat() if last else None,
                "schema_version": SCHEMA_VERSION}


def _names(cancer_types: Any) -> list[str]:
    names = [] if isinstance(cancer_types, (str, bytes)) or not isinstance(cancer_types, Iterable) else list(cancer_types)
    if not all(isinstance(c, str) and c.strip() for c in names) or (cancer_types and not names):
        raise ValueError(f"cancer_types must be a list of cancer names, e.g. ['melanoma'], not {cancer_types!r}")
    return [c.strip() for c in names]


def _words(text: Any) -> list[str]:
    if not isinstance(text, str):
        raise ValueError(f"text must be a string of words to search for, not {text!r}")
    words = re.findall(r"\w+", text)
    if text.strip() and not words:
        raise ValueError(f"text {text!r} has no words to search for; give words, or leave it empty")
    return words


def _place(name: str, value: Any) -> str:
    if not isinstance(value, str) or not place_key(value):
        raise ValueError(f"{name} must be a place name such as 'France', not {value!r}; or leave it out")
    return place_key(value)


def _aware(when: Any, name: str) -> dt.datetime:
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, e.g. datetime.now(timezone.utc), not {when!r}")
    return when
