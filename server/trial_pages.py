"""`GET /trials/<NCT id>`: a stored registry study as a page for people, with a quoted passage highlighted.

The page shows what the registry record says (status, dates, phases, who may take part, conditions,
sites, sponsor and contacts) and the study's citable text, `knowledge.trial_document.study_document`,
verbatim: the text trial cards quote with offsets, so `?start=&end=` marks the quoted criterion as
`<mark id="passage">` and a link ending in `#passage` scrolls to it, as on the document page.

It says when this service fetched the record and whether its copy of the registry is out of date, links
to the record at ClinicalTrials.gov, and never says anyone can take part: only the study team can.
Like every page: no inline script or style, text escaped by Jinja, errors in the one JSON shape.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, current_app, render_template

from bot.trial_cards import age_range, contacts_of
from knowledge.trial_document import study_document
from knowledge.trial_store import StudyRow
from knowledge.trials import NCT_PATTERN
from knowledge.trials_import import STATUS_MAP
from server.dates import format_date
from server.errors import ApiError
from server.pages import PAGE_POLICY, _offset

trial_pages = Blueprint("trial_pages", __name__)
SEX_WORDS = {"ALL": "All sexes", "FEMALE": "Women only", "MALE": "Men only"}
EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")  # only such a value becomes a mailto: link


def words(value: str) -> str:
    """A registry code in words: "ACTIVE_NOT_RECRUITING" -> "Active not recruiting"."""
    return value.replace("_", " ").capitalize()


def phase_label(phase: str) -> str:
    """"PHASE2" -> "Phase 2", "EARLY_PHASE1" -> "Early phase 1", "NA" -> "Not applicable"."""
    found = re.fullmatch(r"(EARLY_)?PHASE(\d)", phase)
    if found:
        return f"{'Early phase' if found.group(1) else 'Phase'} {found.group(2)}"
    return "Not applicable" if phase == "NA" else words(phase)


def sites_by_country(sites: list[dict[str, str]]) -> list[tuple[str, list[dict[str, str]]]]:
    """The sites grouped by country, countries in the record's order; a site without one last."""
    grouped: dict[str, list[dict[str, str]]] = {}
    for site in sites:
        grouped.setdefault(site.get("country") or "", []).append(site)
    return sorted(grouped.items(), key=lambda item: item[0] == "")


def freshness(now: dt.datetime) -> dict[str, Any]:
    """How current this service's copy of the registry is: when it last synced, and whether that is too long ago."""
    resources = current_app.extensions["rca"].resources
    store = resources.trial_store
    synced = store.last_synced() if store is not None else None
    stale = store is not None and store.is_stale(now, resources.trial_stale_days)
    return {"synced": format_date(synced.date().isoformat()) if synced else "", "stale": stale,
            "days": f"{resources.trial_stale_days:g}"}


def passage(text: str) -> tuple[str, str, str]:
    """(before, passage, after) for `?start=&end=`, checked as the document page checks them."""
    start, end = _offset("start", None), _offset("end", None)
    if (start is None) != (end is None) or (start is not None and not 0 <= start < end <= len(text)):  # type: ignore[operator]
        raise ApiError(400, "invalid_range", f"start and end must satisfy 0 <= start < end <= {len(text)}, "
                                             "as a trial card's quote gives them; or leave both out.")
    return (text[:start], text[start:end], text[end:]) if start is not None else (text, "", "")


def study_facts(row: StudyRow) -> dict[str, Any]:
    """What the page shows of the record, in words."""
    sponsor, contacts = contacts_of(row.record)
    return {
        "status": words(row.status), "status_word": STATUS_MAP.get(row.status, "unknown"),
        "last_updated": format_date(row.last_update) if row.last_update else "",
        "retrieved": format_date(row.stored_at[:10]) if row.stored_at else "",
        "phases": [phase_label(p) for p in row.phases], "study_type": words(row.study_type),
        "sex": SEX_WORDS.get(row.sex, words(row.sex)), "ages": age_range(row.min_age_years, row.max_age_years),
        "sponsor": sponsor, "contacts": [dict(c, mailto=bool(EMAIL.match(c.get("email", "")))) for c in contacts],
        "sites": sites_by_country(row.sites), "site_count": len(row.sites),
    }


@trial_pages.get("/trials/<nct_id>")
def study(nct_id: str):  # type: ignore[no-untyped-def]
    store = current_app.extensions["rca"].resources.trial_store
    row = store.get(nct_id) if store is not None and NCT_PATTERN.match(nct_id) else None
    if row is None:
        raise ApiError(404, "trial_not_found", "This service holds no study with this id. A ClinicalTrials.gov id "
                                               "is NCT and 8 digits (e.g. /trials/NCT04318717); search the "
                                               "studies with GET /api/trials.")
    text = study_document(row.title, row.conditions, row.eligibility_criteria).text
    before, marked, after = passage(text)
    page = render_template("trial.html", row=row, facts=study_facts(row),
                           store=freshness(dt.datetime.now(dt.timezone.utc)),
                           before=before, passage=marked, after=after)
    response = current_app.make_response(page)
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response
