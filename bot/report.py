"""Content gaps for maintainers: unanswered and low-confidence questions, cancers the sources don't cover,
and negative feedback, redacted.

Each event is one JSON line in `<reports_dir>/gaps.jsonl`. Personal data is removed before anything is
written: e-mail addresses, phone numbers, dates (of birth or otherwise), and names after "my name is".
"""
from __future__ import annotations

import fcntl
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from index import settings

KINDS = ("low_confidence", "not_covered", "not_understood", "feedback")
_REDACTIONS = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b((?i:my name is|my name's|i am called|i'm called|call me|this is))\s+[\w'-]+(?:\s+[A-Z][\w'-]+)*"),
     r"\1 [name]"),
    (re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"), "[date]"),
    (re.compile(r"(?i)\b\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{2,4})?\b"), "[date]"),
    (re.compile(r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{2,4}\b"), "[date]"),
    (re.compile(r"(?<![\w])\+?\d[\d\s().-]{6,}\d\b"), "[phone]"),
]
NEGATIVE_FEEDBACK = re.compile(r"(?i)\b(wrong|useless|bad|not help|unhelpful|incorrect|didn'?t help|rubbish|terrible|poor)")


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _path(reports_dir: Path | None = None) -> Path:
    return (reports_dir or settings.get("reports_dir")) / "gaps.jsonl"


def record(kind: str, text: str, reports_dir: Path | None = None, **extra: Any) -> None:
    """Logs one event, redacted. Feedback is only kept when it is negative. Never raises on I/O errors
    or on text that cannot be encoded."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "feedback" and not NEGATIVE_FEEDBACK.search(text or "") and extra.get("rating") != "down":
        return
    event = {"time": int(time.time()), "kind": kind, "text": redact(text or "")[:500]}
    event.update({k: (redact(v) if isinstance(v, str) else v) for k, v in extra.items()})
    path = _path(reports_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # backslashreplace: a lone surrogate from a client is written as its escape, not an error
        with path.open("a", encoding="utf-8", errors="backslashreplace") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")
    except OSError:
        pass  # losing a report line must never break a conversation


def top_gaps(reports_dir: Path | None = None, limit: int = 20) -> list[tuple[str, str, int]]:
    """(kind, normalised text, count), most frequent first; for not_covered, the cancer asked about."""
    path = _path(reports_dir)
    counts: Counter[tuple[str, str]] = Counter()
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            # cancers the sources don't cover are counted by cancer, whatever the question's words
            written = event.get("cancer_type") if event.get("kind") == "not_covered" else None
            text = re.sub(r"\s+", " ", re.sub(r"[^\w\s\[\]]", "", str(written or event.get("text", "")).lower())).strip()
            counts[(str(event.get("kind")), text)] += 1
    return [(kind, text, count) for (kind, text), count in counts.most_common(limit)]
