"""A trial store search: its filters checked, then planned as one SQL query (TrialStore.search runs it).

Each filter that picks studies (cancers, words, a place) can lead the query or be tested per study. One
admitting few studies (under LEAD_BELOW) is fetched and the others are tested on its studies, then sorted.
When all admit many, the studies are walked in result order (index studies_rank), each tested, until
`limit` pass: a few hundred steps instead of sorting tens of thousands. At 500,000 studies the two cost the
same near 3,000 (docs/trial-store.md).
"""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from knowledge.ctgov_study import place_key

PHASES = ("EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA")
MAX_LIMIT = 1000
LEAD_BELOW = 3000  # a filter admitting fewer studies than this leads the search
PLACE_TABLES = {"country": "countries", "city": "cities"}  # where a place filter's numbers are


@dataclass(frozen=True)
class StudyQuery:
    names: tuple[str, ...]
    words: tuple[str, ...]
    places: tuple[tuple[str, str], ...]  # ("country" | "city", place_key)
    recruiting: bool | None
    age: float | None
    sex: str | None
    phase: str | None
    limit: int

    @classmethod
    def checked(cls, cancer_types: Sequence[str] = (), text: str = "", country: str | None = None,
                city: str | None = None, recruiting: bool | None = None, age: float | None = None,
                sex: str | None = None, phase: str | None = None, limit: int = 20) -> StudyQuery:
        """The query for TrialStore.search's arguments; ValueError naming the bad one and a good value."""
        places = tuple((name, place_value(name, value)) for name, value in (("country", country), ("city", city))
                       if value is not None)
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
        return cls(tuple(_names(cancer_types)), tuple(_words(text)), places, recruiting, age,
                   sex.upper() if sex else None, wanted, limit)

    def _selective(self) -> list[tuple[str, str, str, list[Any]]]:
        """(the studies a filter admits; as a lead: fetched by id; as a test: checked per study; parameters)"""
        selective: list[tuple[str, str, str, list[Any]]] = []
        if self.names:  # with (cancer_type, status) indexed, "recruiting studies of these cancers" is one range
            status = {None: "", True: " AND status = 'RECRUITING'", False: " AND status != 'RECRUITING'"}[self.recruiting]
            of = f"FROM study_conditions WHERE cancer_type IN ({','.join('?' * len(self.names))}){status}"
            selective.append((of, f"s.id IN (SELECT id {of})", f"+s.id IN (SELECT id {of})", list(self.names)))
        if self.words:
            of = "FROM studies_fts WHERE studies_fts MATCH ?"
            selective.append((of, f"s.id IN (SELECT rowid {of})", f"+s.id IN (SELECT rowid {of})",
                              [" ".join(f'"{w}"' for w in self.words)]))  # quoted: the user's words, never FTS syntax
        if self.places:  # country and city of the same site
            test = " AND ".join(f"{name} = (SELECT n FROM {PLACE_TABLES[name]} WHERE key = ?)" for name, _ in self.places)
            selective.append((f"FROM sites WHERE {test}", f"s.id IN (SELECT id FROM sites WHERE {test})",
                              f"EXISTS (SELECT 1 FROM sites t WHERE t.id = s.id AND {test})",
                              [v for _, v in self.places]))
        return selective

    def sql(self, conn: sqlite3.Connection, columns: Sequence[str]) -> tuple[str, list[Any]]:
        """The SELECT of `columns` from studies (as `s`), and its parameters; `conn` counts what filters admit."""
        selective = self._selective()
        sizes = [conn.execute(f"SELECT count(*) FROM (SELECT 1 {of} LIMIT {LEAD_BELOW})", params).fetchone()[0]
                 for of, _, _, params in selective]  # counted only up to LEAD_BELOW: cheap for any filter
        lead = sizes.index(min(sizes)) if sizes and min(sizes) < LEAD_BELOW else None
        where = [(leads if n == lead else tests, params) for n, (_, leads, tests, params) in enumerate(selective)]
        if self.recruiting is not None:  # a range on the indexed expression: studies_rank then filters and orders
            where.append((f"(s.status = 'RECRUITING') {'> 0' if self.recruiting else '< 1'}", []))
        if self.age is not None:
            where.append(("(s.min_age_years IS NULL OR s.min_age_years <= ?) AND "
                          "(s.max_age_years IS NULL OR s.max_age_years >= ?)", [self.age, self.age]))
        if self.sex is not None:
            where.append(("s.sex IN ('ALL', ?)", [self.sex]))
        if self.phase is not None:
            where.append(("EXISTS (SELECT 1 FROM json_each(s.phases) WHERE value = ?)", [self.phase]))
        sql = (f"SELECT {', '.join('s.' + c for c in columns)} FROM studies s "
               f"{'WHERE ' + ' AND '.join(c for c, _ in where) if where else ''} "
               "ORDER BY s.status = 'RECRUITING' DESC, s.last_update DESC, s.nct_id DESC LIMIT ?")
        return sql, [v for _, values in where for v in values] + [self.limit]


def place_value(name: str, value: Any) -> str:
    """A country or city filter as the store compares it (place_key); ValueError for no place name."""
    if not isinstance(value, str) or not place_key(value):
        raise ValueError(f"{name} must be a place name such as 'France', not {value!r}; or leave it out")
    return place_key(value)


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
