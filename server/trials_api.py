"""`GET /api/trials`: the trial search over the trial store, as the nurse reference page and integrators
call it. It reuses the conversation's search (`bot.trial_search.search_trials`), so a nurse's search and
a patient's question list the same studies with the same cards.

Every parameter is checked here, before the store sees it: a bad one is a 400 whose message says what a
good one looks like. `q` (free text) must appear in a study's title or conditions (the store's full-text index).
"""
from __future__ import annotations

import math
import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from bot.trial_filters import MAX_AGE, TrialFilters
from bot.trial_search import DEFAULT_LIMIT, TrialQuery, search_trials
from knowledge.trial_store import place_key
from server.errors import ApiError

trials_api = Blueprint("trials_api", __name__)
MAX_LIMIT = 100
MAX_PLACE_CHARS = 100  # longer than any country or city name
MAX_TEXT_CHARS = 200
TRUE, FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})
_PHASE_WORDS = {"1": "PHASE1", "2": "PHASE2", "3": "PHASE3", "4": "PHASE4", "EARLY1": "EARLY_PHASE1",
                "I": "PHASE1", "II": "PHASE2", "III": "PHASE3", "IV": "PHASE4"}


def _arg(name: str) -> str | None:
    """The parameter, trimmed; None when absent or blank (a blank form field means "any")."""
    value = request.args.get(name, "").strip()
    return value or None


def _cancer(name: str | None) -> str | None:
    if name is None:
        return None
    vocabulary = current_app.extensions["rca"].resources.vocabulary
    found = vocabulary.canonical(name) or vocabulary.lookup(name)
    if found is None:
        raise ApiError(400, "unknown_cancer", "No cancer in the vocabulary has this name. Use a name from "
                                              "GET /api/cancers, e.g. cancer=melanoma, or leave cancer out.")
    return found


def _place(name: str, example: str) -> str | None:
    value = _arg(name)
    if value is not None and (len(value) > MAX_PLACE_CHARS or not any(c.isalpha() for c in place_key(value))):
        raise ApiError(400, f"invalid_{name}", f"{name} must be a place name of at most {MAX_PLACE_CHARS} "
                                               f"characters, e.g. {name}={example}, or left out.")
    return value


def _recruiting() -> bool | None:
    value = _arg("recruiting")
    if value is None:
        return None
    if value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    raise ApiError(400, "invalid_recruiting", "recruiting must be true (recruiting now only) or false "
                                              "(not recruiting), or left out for both.")


def _age() -> float | None:
    value = _arg("age")
    if value is None:
        return None
    try:
        age = float(value)
    except ValueError:
        age = math.nan
    if not 0 <= age <= MAX_AGE:  # also refuses nan and inf
        raise ApiError(400, "invalid_age", f"age must be a number of years from 0 to {MAX_AGE}, e.g. age=45 "
                                           "or age=0.5, or left out.")
    return age


def _sex() -> str | None:
    value = _arg("sex")
    if value is None:
        return None
    if value.lower() in ("female", "male"):
        return value.upper()
    raise ApiError(400, "invalid_sex", "sex must be female or male, or left out for anyone.")


def _phase() -> str | None:
    value = _arg("phase")
    if value is None:
        return None
    key = re.sub(r"[\s_-]", "", value.upper())
    key = key[len("PHASE"):] if key.startswith("PHASE") else key.replace("EARLYPHASE", "EARLY")
    phase = _PHASE_WORDS.get(key)
    if phase is None:
        raise ApiError(400, "invalid_phase", "phase must be 1, 2, 3, 4 or early1 (or PHASE2, EARLY_PHASE1), "
                                             "or left out for any phase.")
    return phase


def _limit() -> int:
    value = _arg("limit")
    if value is None:
        return DEFAULT_LIMIT
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(400, "invalid_limit", f"limit must be a whole number from 1 to {MAX_LIMIT} "
                                             f"(default {DEFAULT_LIMIT}).")
    return int(value)


def query_from_args() -> tuple[str | None, TrialQuery]:
    """(the canonical cancer name or None, the search) from the query string; ApiError for a bad value."""
    cancer = _cancer(_arg("cancer"))
    country, city = _place("country", "France"), _place("city", "Lyon")
    resources = current_app.extensions["rca"].resources
    country = resources.entities.canonical("country", country) or country if country else None  # "UK", "uk"
    store = resources.trial_store
    # The countries the store has sites of this city in: "Paris" alone searches France first.
    city_countries = tuple(store.city_countries(city)) if city and store is not None else ()
    filters = TrialFilters(age=_age(), sex=_sex(), city=city, city_countries=city_countries, phase=_phase())
    return cancer, TrialQuery(cancer_type=cancer, country=country, filters=filters, recruiting=_recruiting(),
                              limit=_limit(), text=_text())


def _text() -> str:
    value = _arg("q") or ""
    if value and (len(value) > MAX_TEXT_CHARS or not re.search(r"\w", value)):
        raise ApiError(400, "invalid_q", f"q must be words to find in a study's title or conditions, at most "
                                         f"{MAX_TEXT_CHARS} characters, e.g. q=trabectedin, or left out.")
    return value


@trials_api.get("/api/trials")
def trials():  # type: ignore[no-untyped-def]
    cancer, query = query_from_args()
    found = search_trials(current_app.extensions["rca"].resources, query)
    body: dict[str, Any] = {"cancer": cancer, **found.to_dict()}
    return jsonify(body)
