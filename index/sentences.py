"""Sentence boundaries with character offsets, for chunking and for extractive answer spans."""
from __future__ import annotations

import re
import string

# A full stop after these is not the end of a sentence.
ABBREVIATIONS = frozenset(
    "e.g i.e dr mr mrs ms prof vs etc al fig no st approx ca cf jan feb mar apr jun jul aug sep sept oct nov dec"
    " u.s u.k e.u inc ltd co".split()
)
_END = re.compile(r"[.!?](?:[\"'\u2019\u201d)\]]*)(?=\s+|$)")
_NEXT_START = re.compile(r"\s+(?=[A-Z0-9\"'\u2018\u201c(\[\u00c0-\u024f-])")


_WORD_CHARS = frozenset(string.ascii_letters + ".")


def _word_before(text: str, dot: int) -> str:
    """The run of ASCII letters and dots ending at `dot` that starts with a letter ("" if none).

    Scans back from the dot only as far as the word goes: a regex anchored at the end of text[:dot]
    would rescan the whole text before every full stop.
    """
    begin = dot
    while begin > 0 and text[begin - 1] in _WORD_CHARS:
        begin -= 1
    while begin < dot and text[begin] == ".":
        begin += 1
    return text[begin:dot]


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at `dot` closes an abbreviation or an initial rather than a sentence."""
    word = _word_before(text, dot)
    if not word:
        return False
    word = word.lower().rstrip(".")
    if word in ABBREVIATIONS:
        return True
    return len(word) == 1 and text[dot - 1].isupper()  # an initial, as in "J. Bogaerts"


def _in_reference(text: str, cursor: int, stop: int, next_start: int) -> bool:
    """A full stop inside a parenthesised reference, before its year: "(Eur J Cancer. 2011 Nov; 47(17))"."""
    return text[next_start:next_start + 1].isdigit() and text.count("(", cursor, stop) > text.count(")", cursor, stop)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split text[start:end] into sentences; returns (start, end) offsets without surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    while cursor < end and text[cursor].isspace():
        cursor += 1
    position = cursor
    while position < end:
        match = _END.search(text, position, end)
        if not match:
            break
        stop = match.end()
        position = stop
        if text[match.start()] == "." and _is_abbreviation(text, match.start()):
            continue
        following = _NEXT_START.match(text, stop, end)
        if stop < end and not following:
            continue  # e.g. "2.5 mg" or a lower-case continuation
        if following and _in_reference(text, cursor, stop, following.end()):
            continue
        spans.append((cursor, stop))
        cursor = following.end() if following else stop
        position = cursor
    tail_end = end
    while tail_end > cursor and text[tail_end - 1].isspace():
        tail_end -= 1
    if tail_end > cursor:
        spans.append((cursor, tail_end))
    return spans


def has_sentence(text: str) -> bool:
    """Whether the text holds at least one complete sentence (one that ends with . ! or ?)."""
    return _END.search(text) is not None
