"""Trial and organisation finders over the validated records, each result backed by its citation."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from bot import templates
from bot.messages import Message, citation_from_record, citation_from_result
from bot.resources import Resources
from bot.scope import Scope, key_terms
from bot.trial_filters import PERSON_WORDS

MAX_LISTED = 8
ANY_CANCER = "any rare cancer"  # the form's "not sure" answer: search without a cancer type
STATUS_LABELS = {"planned": "planned", "recruiting": "recruiting", "underway": "underway",
                 "completed": "completed", "closed": "closed", "unknown": "status unknown"}
_STATUS_WORDS = {"recruiting": ("recruiting", "open", "enrolling", "join"), "completed": ("completed", "finished", "results"),
                 "planned": ("planned", "upcoming", "future", "planning")}
WIDE_AREAS = {"europe", "international", "worldwide"}
# Words of a request for trials or organisations as such: a message of only these, a cancer and a place
# ("any in the UK?", "are there trials for it?") asks for the listing, and no passage comes with it.
FINDER_WORDS = frozenset("""trial trials trails trail clinical study studies any there find look looking search
    organisation organisations organization organizations charity charities group groups support patient
    patients help contact join near nearby local country countries available open recruiting please know
    tell could would can about also what else another other more""".split()) | PERSON_WORDS
REGISTRY_QUERY = "searchable database of clinical trials"
DIRECTORY_QUERY = "list of rare cancer patient organisations by country and cancer site"


_WITH_THE = {"united states", "united kingdom", "netherlands", "czech republic", "philippines", "united arab emirates"}


def country_phrase(country: str) -> str:
    """"the United States", "France": a country as it reads after "in"."""
    return f"the {country}" if country.lower() in _WITH_THE else country


def requested_status(text: str) -> str | None:
    lowered = text.lower()
    for status, words in _STATUS_WORDS.items():
        if any(re.search(rf"\b{w}\b", lowered) for w in words):
            return status
    return None


class _Canonical:
    """Canonical values of record fields, computed once per text."""

    def __init__(self, resources: Resources):
        self.resources = resources
        self.value = lru_cache(maxsize=4096)(self._value)

    def _value(self, entity: str, text: str) -> str:
        return (self.resources.entities.canonical(entity, text) or text).lower()


def _same_cancer(canonical: _Canonical, wanted: str, written: str) -> bool:
    record = canonical.value("cancer_type", written)
    wanted = wanted.lower()
    return wanted == record or wanted in written.lower() or f" {wanted}" in f" {record}"


def _record_citations(resources: Resources, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    citations, seen = [], set()
    for record in records:
        citation = citation_from_record(record["citation"], resources.document(record["citation"]["doc_id"]))
        key = (citation["doc_id"], citation["start"], citation["end"])
        if key not in seen:
            seen.add(key)
            citations.append(citation)
    return citations


def pointers(resources: Resources, query: str) -> list[dict[str, Any]]:
    """Where to look when the records have nothing: from the general pages only."""
    results = resources.searcher.search(query, k=2, doc_ids=resources.coverage.general)
    return [citation_from_result(r) for r in results if r.confidence >= resources.answer_threshold]


def general_guidance(resources: Resources, message: str, cancer_type: str | None = None,
                     city: str | None = None) -> list[Message]:
    """What the sources say about the request itself ("what research is being done for anal cancer?"),
    if they say it well: shown before a listing or a question. Only from the general pages and those
    about the cancer in question, never another's."""
    from bot.answers import ANSWERED, answer_question

    cancer_type = cancer_type if cancer_type != ANY_CANCER else None
    mentions = resources.linker.run(message)
    if not _asks_more_than_a_listing(resources, message if not city else message.replace(city, " " * len(city)), mentions):
        return []
    scope = resources.coverage.scope(mentions, cancer_type, text=message)
    if scope.not_covered:
        return []
    if scope.doc_ids is None:
        scope = Scope(doc_ids=resources.coverage.general)
    answer = answer_question(resources, message, scope=scope)
    for sent in answer.messages:
        sent.answer_status = sent.cancer_type = None  # a search, not a question
    return answer.messages if answer.status == ANSWERED else []


def _asks_more_than_a_listing(resources: Resources, message: str, mentions: list[Any]) -> bool:
    """Does the message ask something beyond the request ("what research is being done for anal
    cancer?"), not just for trials or organisations for a cancer in a place ("any in France?")?"""
    for mention in sorted(mentions, key=lambda m: -m.start):
        message = message[:mention.start] + " " + message[mention.end:]
    for found in sorted(resources.entities.run(message), key=lambda e: -e.start):
        if found.entity == "country":
            message = message[:found.start] + " " + message[found.end:]
    return any(term not in FINDER_WORDS for term in key_terms(message))


def find_organisations(resources: Resources, cancer_type: str | None, country: str | None) -> Message:
    canonical = _Canonical(resources)
    matches = list(resources.organisations)
    about = ""
    if country:
        here = [o for o in matches if canonical.value("country", o.get("country") or "") == country.lower()]
        matches = here or [o for o in matches if (o.get("country") or "").lower() in WIDE_AREAS]
        about = f" in {country_phrase(country)}" if here else \
            f" working across Europe or internationally (none listed in {country_phrase(country)})"
    if cancer_type and cancer_type != ANY_CANCER:
        specific = [o for o in matches if any(_same_cancer(canonical, cancer_type, s) for s in o.get("cancer_sites", []))]
        general = [o for o in matches if not o.get("cancer_sites")]
        matches = specific + [o for o in general if o.get("kind") in ("patient organisation", "reference network", "charity")]
        about += f" for {cancer_type}" if specific else f" for rare cancers in general (none specific to {cancer_type})"
    if not matches:
        return Message(templates.NO_ORGANISATIONS.format(about=about), citations=pointers(resources, DIRECTORY_QUERY))
    listed = matches[:MAX_LISTED]
    lines = [templates.ORGANISATIONS_FOUND.format(count=len(matches), about=about,
                                                  organisations="organisation" if len(matches) == 1 else "organisations")]
    for organisation in listed:
        extra = ", ".join(filter(None, [organisation.get("kind"), organisation.get("country")]))
        site = f" {organisation['website']}" if organisation.get("website") else ""
        lines.append(f"- {organisation['name']} ({extra}).{site}")
    return Message("\n".join(lines), citations=_record_citations(resources, listed), organisations=listed)
