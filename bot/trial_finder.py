"""The trial finder's reply: the studies for a cancer (and place, and person), each with its status, last
update and which of its structured criteria fit; then the question for what is missing, asked only when
the answer would change what fits ("how old is the person?" when some study has an age limit).
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot import templates
from bot.finders import ANY_CANCER, REGISTRY_QUERY, STATUS_LABELS, country_phrase, pointers, requested_status
from bot.messages import Message
from bot.resources import Resources
from bot.trial_filters import TrialFilters
from bot.trial_search import TrialQuery, TrialSearch, search_trials

MAX_LISTED = 6
_FIT_WORDS = {True: "fits", False: "does not fit"}


def person_phrase(filters: TrialFilters) -> str:
    """" for a 45-year-old woman", " for a man", " for a 6-year-old", " in phase 2": who the person said
    takes part, and the phase they asked for."""
    phase = f" in {filters.phase.replace('_', ' ').lower().replace('phase', 'phase ')}" if filters.phase else ""
    return _person(filters) + phase


def _person(filters: TrialFilters) -> str:
    sex = {"FEMALE": "woman", "MALE": "man", None: ""}[filters.sex]
    if filters.age is None:
        return f" for a {sex}" if sex else ""
    age = f"{filters.age:g}-year-old" if filters.age >= 1 else f"{round(filters.age * 12)}-month-old"
    if filters.age < 18 and sex:
        sex = {"woman": "girl", "man": "boy"}[sex]
    article = "an" if re.match(r"(8|11|18)\b|8\d\b|11-|18-", age) else "a"  # "an 8-year-old", "an 18-month-old"
    return f" for {article} {age}{' ' + sex if sex else ''}"


def _line(card: dict[str, Any]) -> str:
    status = STATUS_LABELS.get(card["status"], card["status"]).capitalize()
    facts = [status + (f", last updated {card['last_updated']}" if card.get("last_updated") else "")]
    for item in card.get("fit", []):
        if item["criterion"] != "recruiting":
            facts.append(item["detail"] + (f" ({_FIT_WORDS[item['fits']]})" if item["fits"] is not None else ""))
    ident = f" ({card['nct_id']})" if card.get("nct_id") else ""
    link = f" {card['url']}" if card.get("url") else ""
    return f"- {card['title']}{ident}: {'; '.join(facts)}.{link}"


def _may_take_part(card: dict[str, Any]) -> bool:
    """Something the person said fits the study, and nothing known does not: never on what is unknown alone."""
    fits = [f["fits"] for f in card.get("fit", [])]
    said = [f["fits"] for f in card.get("fit", []) if f["criterion"] in ("age", "sex", "where")]
    return False not in fits and True in said


def _missing(search: TrialSearch, filters: TrialFilters, country: str | None) -> list[str]:
    """What to ask: the age when a listed study has an age limit, the sex when one takes one sex only,
    the country when the studies are in more than one; never what was said."""
    cards = [c for c in search.trials if c.get("origin") == "registry"]
    wanted = []
    if filters.age is None and any(c.get("min_age_years") is not None or c.get("max_age_years") is not None for c in cards):
        wanted.append("age")
    if filters.sex is None and len({c.get("sex") or "ALL" for c in cards}) > 1:  # all women-only: nothing to tell apart
        wanted.append("sex")
    countries = {s.get("country") for c in search.trials for s in c.get("sites", []) if s.get("country")}
    if not country and not filters.city and len(countries) > 1:
        wanted.append("country")
    return wanted


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _question(wanted: list[str]) -> str:
    """"tell me the age and sex of the person who would take part, and the country they live in"."""
    about = [w for w in ("age", "sex") if w in wanted]
    parts = [f"the {' and '.join(about)} of the person who would take part"] if about else []
    if "country" in wanted:
        parts.append("the country they live in")
    example = ", ".join({"age": "45", "sex": "woman", "country": "France"}[w] for w in ("age", "sex", "country")
                        if w in wanted)
    return templates.TRIALS_ASK_PERSON.format(wanted=", and ".join(parts), example=example)


def find_trials(resources: Resources, cancer_type: str, country: str | None, message: str,
                filters: TrialFilters | None = None) -> list[Message]:
    filters = filters or TrialFilters()
    status = requested_status(message)
    query = TrialQuery(cancer_type=None if cancer_type == ANY_CANCER else cancer_type, country=country,
                       filters=filters, recruiting=True if status == "recruiting" else None)
    search = search_trials(resources, query)
    recruiting_note = ""
    if not search.trials and query.recruiting:  # "any he could join?": none open now, so say so and list the rest
        search = search_trials(resources, replace(query, recruiting=None))
        recruiting_note = templates.NONE_RECRUITING if search.trials else ""
    cards = search.trials
    if status and status != "recruiting":
        cards = [c for c in cards if c["status"] == status] or cards
    person = person_phrase(filters)
    if not cards:
        place = filters.city or country
        where = f" in {country_phrase(place)}" if place else ""
        return [Message(templates.NO_TRIALS.format(cancer=cancer_type + person, where=where),
                        citations=pointers(resources, REGISTRY_QUERY))]
    count = f"{len(cards)}{' or more' if len(cards) >= query.limit else ''}"
    studies = "study" if len(cards) == 1 else "studies"
    if search.missing_place:
        elsewhere = f"Elsewhere {search.where}" if search.where else "Elsewhere"
        heading = templates.TRIALS_ELSEWHERE.format(cancer=cancer_type, person=person,
                                                    missing=country_phrase(search.missing_place),
                                                    elsewhere=elsewhere, count=count, studies=studies)
    else:
        where = f" in {country_phrase(search.where[3:])}" if search.where else ""
        heading = templates.TRIALS_FOUND.format(count=count, studies=studies, cancer=cancer_type, where=where,
                                                person=person)
    listed = cards[:MAX_LISTED]
    lines = [recruiting_note + heading, *(_line(card) for card in listed)]
    if search.other_kinds:
        lines.append(templates.TRIALS_OTHER_KINDS.format(kinds=_listed(search.other_kinds), cancer=cancer_type))
    if len(cards) > MAX_LISTED:
        lines.append(templates.TRIALS_MORE)
    if any(c.get("origin") == "registry" for c in listed):
        if search.last_synced is None:
            lines.append(templates.TRIALS_NEVER_SYNCED)
        elif search.stale:
            lines.append(templates.TRIALS_STALE.format(date=search.last_synced[:10], days=f"{resources.trial_stale_days:g}"))
    if any(_may_take_part(card) for card in listed):
        lines.append(templates.TRIALS_MAY_TAKE_PART)
    citations = [q for card in listed for q in (card["eligibility_quotes"] or [card["citation"]]) if q]
    messages = [Message("\n".join(lines), citations=citations, trials=listed)]
    wanted = _missing(TrialSearch(listed), filters, country)
    if wanted:
        messages.append(Message(_question(wanted)))
    return messages
