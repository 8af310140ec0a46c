"""Trial search over the trial store: registry studies and the curated records, as trial cards.

`search_trials(resources, TrialQuery(...))` is what the conversation's trial finder and `/api/trials`
both call, so a nurse's search and a patient's question give the same studies. A cancer is searched with
the narrower kinds the vocabulary puts under it ("sarcoma" finds "uterine sarcoma" studies); a city with
no study falls back to its country, and a country with none to anywhere, saying so.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from bot.resources import Resources
from bot.trial_cards import contacts_of, fit, study_citations
from bot.trial_filters import TrialFilters
from knowledge.trial_store import StudyRow, place_key

DEFAULT_LIMIT = 20
MAX_OTHER_KINDS = 4


@dataclass(frozen=True)
class TrialQuery:
    cancer_type: str | None = None  # a vocabulary name; None: any cancer
    country: str | None = None
    filters: TrialFilters = field(default_factory=TrialFilters)
    recruiting: bool | None = None  # True: recruiting now only
    limit: int = DEFAULT_LIMIT
    text: str = ""  # words every study must have in its title or conditions (registry: full-text search)


@dataclass
class TrialSearch:
    trials: list[dict[str, Any]]  # trial cards, best first
    where: str = ""  # where the listed studies are: "in Lyon", "in France", "" (anywhere)
    missing_place: str = ""  # the city or country asked for that has none ("" when none was asked or found)
    last_synced: str | None = None  # when the store was last synced with the registry (ISO), None: never
    stale: bool = False
    citations: list[dict[str, Any]] = field(default_factory=list)
    other_kinds: list[str] = field(default_factory=list)  # narrower kinds by another name that have studies

    def to_dict(self) -> dict[str, Any]:
        return {"trials": self.trials, "where": self.where, "missing_place": self.missing_place,
                "other_kinds": self.other_kinds, "store": {"last_synced": self.last_synced, "stale": self.stale}}


def cancer_names(resources: Resources, cancer_type: str | None) -> tuple[list[str], list[str]]:
    """The cancer and the narrower kinds under it named as it ("sarcoma": "uterine sarcoma",
    "leiomyosarcoma"), as the store's conditions are mapped; and the narrower kinds by another name
    ("salivary gland cancer": "adenoid cystic carcinoma"), which a reader may not take for the same cancer,
    so they are only pointed to."""
    if not cancer_type:
        return [], []
    name = resources.vocabulary.canonical(cancer_type) or cancer_type
    key = _alnum(name)
    narrower = resources.vocabulary.descendants(name)
    return [name, *(n for n in narrower if key in _alnum(n))], [n for n in narrower if key not in _alnum(n)]


def _alnum(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _cancer_words(resources: Resources, names: list[str]) -> set[str]:
    generic = {"cancer", "cancers", "tumor", "tumors", "tumour", "tumours", "carcinoma", "neoplasm", "neoplasms",
               "malignant", "disease", "adult", "childhood"}
    words: set[str] = set()
    for name in names[:1]:
        entry = resources.vocabulary.get(name)
        for phrase in (entry.phrases if entry else (name,)):
            words.update(w for w in phrase.lower().replace("-", " ").split() if w not in generic)
    return words


def _curated(resources: Resources, names: list[str], country: str | None, recruiting: bool | None,
             text: str = "", phase: str | None = None) -> list[dict[str, Any]]:
    wanted, words = {n.lower() for n in names}, place_key(text).split()
    found = []
    for trial in resources.trial_store.curated() if resources.trial_store else []:
        types = {n.lower() for n in resources.vocabulary.names_in_conditions(trial.get("cancer_types", []))}
        if names and not types & wanted:
            continue
        places = trial.get("countries", []) + [s.get("country", "") for s in trial.get("sites", [])]
        if country and not any(place_key(p) == place_key(country) for p in places):
            continue
        if recruiting is not None and (trial.get("status") == "recruiting") != recruiting:
            continue
        if phase and phase not in {p.upper().replace(" ", "") for p in trial.get("phases", [])}:
            continue  # "Phase 2" in a curated record; none given: not known to be that phase
        written = place_key(" ".join([trial.get("title", ""), *trial.get("cancer_types", [])]))
        if not all(word in written for word in words):
            continue
        found.append(trial)
    return found


def _registry(resources: Resources, names: list[str], query: TrialQuery, country: str | None,
              city: str | None) -> list[StudyRow]:
    if resources.trial_store is None or (not names and query.cancer_type):
        return []
    f = query.filters
    return resources.trial_store.search(cancer_types=names, text=query.text, country=country, city=city,
                                        recruiting=query.recruiting, age=f.age, sex=f.sex, phase=f.phase,
                                        limit=query.limit, with_records=True)


def _registry_card(row: StudyRow, query: TrialQuery, country: str | None, words: set[str]) -> dict[str, Any]:
    card = row.to_dict()
    card["group"], card["contacts"] = contacts_of(row.record)  # the search kept the record: no second read
    card.update(stored_at=row.stored_at, last_updated=row.last_update or "", record_url=f"/trials/{row.nct_id}",
                origin="registry")
    card["fit"] = fit(card, query.filters, country, place_key)
    card["eligibility_quotes"] = study_citations(card, words, query.filters)
    card["citation"] = card["eligibility_quotes"][0] if card["eligibility_quotes"] else None
    del card["stored_at"]
    return card


def _curated_card(trial: dict[str, Any], query: TrialQuery, country: str | None,
                  citation: dict[str, Any]) -> dict[str, Any]:
    card = dict(trial, origin="curated", last_updated=citation.get("last_updated", ""), record_url="",
                eligibility_quotes=[], citation=citation)
    card["fit"] = fit(card, replace(query.filters, city=None), country, place_key)
    return card


def search_trials(resources: Resources, query: TrialQuery, now: dt.datetime | None = None) -> TrialSearch:
    """The studies for the query, as cards: registry studies (recruiting first, then the most recently
    updated), then curated records not already listed."""
    from bot.messages import citation_from_record

    names, by_other_names = cancer_names(resources, query.cancer_type)
    city, country = query.filters.city, query.country
    if city and not country and query.filters.city_countries:
        country = query.filters.city_countries[0]
    rows, where, missing = _registry(resources, names, query, country, city), "", ""
    if city:
        if rows:
            where = f"in {city}"
        else:
            missing = city
            rows = _registry(resources, names, query, country, None)

    def curated_in(place: str | None) -> list[dict[str, Any]]:
        return _curated(resources, names, place, query.recruiting, query.text, query.filters.phase)

    curated = curated_in(country) if not city or not rows else []
    if country and not where:
        if rows or curated:
            where = f"in {country}"
        else:
            missing = missing or country
            rows, curated = _registry(resources, names, query, None, None), curated_in(None)
    words = _cancer_words(resources, names)
    cards = [_registry_card(row, query, country, words) for row in rows]
    for trial in curated:
        if trial.get("nct_id") and resources.trial_store.get(trial["nct_id"]) is not None:
            continue  # the registry's copy is the study: listed above if it fits, left out if it does not
        citation = citation_from_record(trial["citation"], resources.document(trial["citation"]["doc_id"]))
        cards.append(_curated_card(trial, query, country if where else None, citation))
    store = resources.trial_store
    synced = store.last_synced() if store else None
    stale = bool(store) and store.is_stale(now or dt.datetime.now(dt.timezone.utc), resources.trial_stale_days)
    citations = [q for card in cards for q in (card["eligibility_quotes"] or [card["citation"]]) if q]
    return TrialSearch(cards[:query.limit], where, missing, synced.isoformat() if synced else None, stale, citations,
                       _kinds_with_studies(resources, by_other_names, query))


def _kinds_with_studies(resources: Resources, names: list[str], query: TrialQuery) -> list[str]:
    """Those of `names` with a study (anywhere) for what else the query asks: one cheap lookup each."""
    found: list[str] = []
    for name in names:
        if len(found) == MAX_OTHER_KINDS:
            break
        if _registry(resources, [name], replace(query, limit=1), None, None) or \
                _curated(resources, [name], None, query.recruiting, query.text, query.filters.phase):
            found.append(name)
    return found
