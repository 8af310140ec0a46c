"""A registry study as a text to cite: its title, conditions and eligibility criteria, verbatim.

Trial cards quote a study's eligibility criteria with offsets into `study_document(...)`, and the study
page (`/trials/<NCT id>`) shows the same text with the quoted passage highlighted; both build the text
here, so an offset means the same thing in each. Only labels and blank lines are added; every field's
text is the registry's own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

CONDITIONS_LABEL = "Conditions: "
ELIGIBILITY_LABEL = "Eligibility criteria:\n"
_MARKER = re.compile(r"^[ \t]*(?:[-*+\u2022\u00b7]|\d{1,3}[.)]|[a-zA-Z][.)]|\([0-9a-zA-Z]{1,3}\))?[ \t]*")
_HEADER = re.compile(r"^\W*(inclusion|exclusion)\s+criteria\b", re.I)


@dataclass(frozen=True)
class Criterion:
    """One line of the eligibility criteria: its text (without a list marker) at `start`-`end` of the
    study document, and the part it is in ("inclusion", "exclusion", or "" before either heading)."""

    text: str
    start: int
    end: int
    part: str


@dataclass(frozen=True)
class StudyDocument:
    text: str
    conditions: tuple[int, int]  # where the conditions list is ((0, 0) when the study gives none)
    criteria: tuple[Criterion, ...]


def study_document(title: str, conditions: list[str], eligibility: str) -> StudyDocument:
    """The study's citable text, and where its conditions and each eligibility criterion are in it."""
    text = title.strip()
    span = (0, 0)
    if conditions:
        text += "\n\n" + CONDITIONS_LABEL
        span = (len(text), len(text) + len("; ".join(conditions)))
        text += "; ".join(conditions)
    criteria: list[Criterion] = []
    if eligibility.strip():
        text += "\n\n" + ELIGIBILITY_LABEL
        base, part = len(text), ""
        text += eligibility
        offset = 0
        for line in eligibility.splitlines(keepends=True):
            content = line.rstrip("\r\n")
            header = _HEADER.match(content)
            if header:
                part = header.group(1).lower()
            else:
                begin = _MARKER.match(content).end()
                stripped = content[begin:].rstrip()
                if len(stripped) > 2 and any(c.isalpha() for c in stripped):
                    start = base + offset + begin
                    criteria.append(Criterion(stripped, start, start + len(stripped), part))
            offset += len(line)
    return StudyDocument(text, span, tuple(criteria))
