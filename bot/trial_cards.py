"""A registry study as a trial card: which of its structured criteria fit the person, its freshness, and
the lines of its eligibility criteria it is quoted by, each a citation with offsets into the study's text
(`knowledge/trial_document.py`), which `/trials/<NCT id>` shows highlighted.

A card never says a person is eligible: the structured criteria (age, sex, where, recruiting) can only
say who may be able to take part; the study team decides.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from bot.trial_filters import TrialFilters
from knowledge.trial_document import Criterion, study_document

PUBLISHER = "ClinicalTrials.gov (U.S. National Library of Medicine)"
SECTION = "Eligibility criteria"
MAX_QUOTES = 2
_AGE_LINE = re.compile(r"\b(?:age[ds]?|years?\s+(?:old|of\s+age)|older|younger)\b|[\u2265\u2264<>]=?\s*\d{1,2}\b", re.I)
_SEX_LINE = re.compile(r"\b(?:women|woman|female|men|male|pregnan\w*|childbearing)\b", re.I)
_STEM = 5  # words compared by their first letters: "sarcomas" meets "sarcoma", "leiomyosarcoma" its own


def _years(value: float) -> str:
    if value < 1:
        months = round(value * 12)
        return f"{months} month{'s' if months != 1 else ''}"
    return f"{value:g} year{'s' if value != 1 else ''}"


def age_range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return "any age"
    if high is None:
        return f"{_years(low)} and over"
    if low is None:
        return f"up to {_years(high)}"
    return f"{_years(low)} to {_years(high)}"


def _criterion(name: str, fits: bool | None, detail: str) -> dict[str, Any]:
    return {"criterion": name, "fits": fits, "detail": detail}


def fit(study: dict[str, Any], filters: TrialFilters, country: str | None, place_key: Any) -> list[dict[str, Any]]:
    """Each structured criterion of a study card against what the person said: fits True, False, or None
    (not said, or the record does not say), with what the record says."""
    result = []
    status = study.get("registry_status", "")
    if status:
        recruiting = True if status == "RECRUITING" else None if status == "NOT_YET_RECRUITING" else False
    else:  # a curated record: its own status ("underway" may or may not take people)
        status = study.get("status", "")
        recruiting = {"recruiting": True, "completed": False, "closed": False}.get(status)
    result.append(_criterion("recruiting", recruiting, status.replace("_", " ").capitalize() or "Status not given"))
    low, high = study.get("min_age_years"), study.get("max_age_years")
    if "min_age_years" in study:
        fits = None if filters.age is None else \
            (low is None or low <= filters.age) and (high is None or filters.age <= high)
        result.append(_criterion("age", fits, f"Ages {age_range(low, high)}"))
    if "sex" in study:
        sex = study.get("sex") or "ALL"
        fits = None if filters.sex is None else sex in ("ALL", filters.sex)
        result.append(_criterion("sex", fits, {"ALL": "All sexes", "FEMALE": "Women only", "MALE": "Men only"}[sex]))
    sites = study.get("sites") or []
    countries = list(dict.fromkeys([s.get("country", "") for s in sites if s.get("country")] + list(study.get("countries") or [])))
    if filters.city and sites:
        here = [s for s in sites if place_key(s.get("city", "")) == place_key(filters.city)]
        result.append(_criterion("where", bool(here), f"A site in {filters.city}" if here else f"No site in {filters.city}"))
    elif country and countries:
        here = [c for c in countries if place_key(c) == place_key(country)]
        cities = sorted({s["city"] for s in sites if s.get("city") and place_key(s.get("country", "")) == place_key(country)})
        where = f" ({', '.join(cities[:3])}{'...' if len(cities) > 3 else ''})" if cities else ""
        result.append(_criterion("where", bool(here), f"Sites in {country}{where}" if here else f"No site in {country}"))
    else:
        result.append(_criterion("where", None, f"Sites in {', '.join(countries[:4])}{'...' if len(countries) > 4 else ''}"
                                 if countries else "The record lists no sites"))
    return result


def _stems(words: Iterable[str]) -> set[str]:
    return {w[:_STEM] for w in words if len(w) >= 4}


def quoted_criteria(criteria: Iterable[Criterion], cancer_words: set[str], filters: TrialFilters) -> list[Criterion]:
    """The lines a card quotes: the inclusion criterion naming the cancer, then the one about age (or sex)
    when the person gave it; the first inclusion criterion when none names the cancer."""
    criteria = list(criteria)
    inclusion = [c for c in criteria if c.part != "exclusion"]
    stems = _stems(cancer_words)
    chosen = [c for c in inclusion if stems & _stems(re.findall(r"[a-z]+", c.text.lower()))][:1]
    if filters.age is not None:
        chosen += [c for c in inclusion if _AGE_LINE.search(c.text) and c not in chosen][:1]
    if filters.sex is not None and len(chosen) < MAX_QUOTES:
        chosen += [c for c in inclusion if _SEX_LINE.search(c.text) and c not in chosen][:1]
    if not chosen and inclusion:
        chosen = inclusion[:1]
    return sorted(chosen[:MAX_QUOTES], key=lambda c: c.start)


def study_citations(study: dict[str, Any], cancer_words: set[str], filters: TrialFilters) -> list[dict[str, Any]]:
    """A registry study's quoted eligibility criteria (or, with none given, its conditions) as citations."""
    document = study_document(study["title"], study.get("conditions") or [], study.get("eligibility") or "")
    quoted = [(c.start, c.end, SECTION) for c in quoted_criteria(document.criteria, cancer_words, filters)]
    if not quoted and document.conditions != (0, 0):
        quoted = [(*document.conditions, "Conditions")]
    return [{"doc_id": study["nct_id"], "title": study["title"], "url": study["url"], "publisher": PUBLISHER,
             "section": section, "quote": document.text[start:end], "start": start, "end": end,
             **_currency(study.get("last_update"), study.get("stored_at"))}
            for start, end, section in quoted]


def _currency(last_update: str | None, stored_at: str | None) -> dict[str, str]:
    return {"last_reviewed": "", "last_updated": last_update or "", "retrieved": (stored_at or "")[:10],
            "date_note": "The registry record as last updated by the study team, and when this service last fetched it."}


def study_as_document(row: Any) -> dict[str, Any]:
    """A stored study (a StudyRow) in the shape of a document: the text its citations' offsets are into
    (GET /api/documents/<NCT id> serves it, so a trial citation is checked as any other)."""
    text = study_document(row.title, row.conditions, row.eligibility_criteria).text
    return {"doc_id": row.nct_id, "title": row.title, "url": row.url, "publisher": PUBLISHER,
            "licence": "U.S. Government registry data, described as public domain; "
                       "see https://clinicaltrials.gov/about-site/terms-conditions",
            **_currency(row.last_update, row.stored_at), "cancer_types": list(row.cancer_types), "text": text}


def contacts_of(record: dict[str, Any] | None) -> tuple[str, list[dict[str, str]]]:
    """The study's lead sponsor and its central contacts, as the registry gives them."""
    section = (record or {}).get("protocolSection") or {}
    sponsor = ((section.get("sponsorCollaboratorsModule") or {}).get("leadSponsor") or {}).get("name") or ""
    contacts = []
    for contact in (section.get("contactsLocationsModule") or {}).get("centralContacts") or []:
        if isinstance(contact, dict):
            entry = {k: str(contact[k]).strip() for k in ("name", "phone", "email") if str(contact.get(k) or "").strip()}
            if entry:
                contacts.append(entry)
    return str(sponsor), contacts[:3]
