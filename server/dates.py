"""How current a source is, said in words for the HTML pages: each date labelled for what it is.

- `last_reviewed` -> "Last reviewed 3 May 2024" (the publisher states it reviewed the text);
- `last_updated` -> "Record last updated 11 December 2017" (a registry record's last update);
- `retrieved` -> "Retrieved 11 August 2026" (when this copy was fetched);
- `date_note` -> its text, ending with "Check the publisher's current page" linked to the document's
  `url` (when it has one).

widget.js and reference.js say the same in the browser.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from knowledge.document_format import currency

DATE_LABELS = (("last_reviewed", "Last reviewed"), ("last_updated", "Record last updated"), ("retrieved", "Retrieved"))
NOTE_LINK = "Check the publisher's current page"


@dataclass(frozen=True)
class DateNote:
    before: str  # text before the link
    link: str  # the linked words ("" when there is no address to link to)
    url: str
    after: str  # text after the link


def format_date(value: str) -> str:
    """2024-05-03 -> "3 May 2024"; anything else as given."""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value
    months = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
    return f"{day.day} {months[day.month - 1]} {day.year}"


def date_labels(source: dict[str, Any]) -> list[str]:
    """The dates a document, citation or result gives, each with its own label, in a fixed order."""
    known = currency(source)
    return [f"{label} {format_date(known[key])}" for key, label in DATE_LABELS if known[key]]


def date_note(source: dict[str, Any]) -> DateNote | None:
    """The note, with "Check the publisher's current page" linked to the url: the note's own closing
    words if it ends with them, else added after it. None when there is no note."""
    note = currency(source)["date_note"]
    if not note:
        return None
    url = str(source.get("url") or "")
    if not url.startswith(("https://", "http://")):
        return DateNote(note, "", "", "")
    bare = note.rstrip(". ")
    if bare.endswith(NOTE_LINK):
        return DateNote(bare[: -len(NOTE_LINK)], NOTE_LINK, url, note[len(bare):] or ".")
    return DateNote(note + " ", NOTE_LINK, url, ".")
