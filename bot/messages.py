"""Bot messages and their citations, in the shape of the HTTP contract.

A message is `{id, text, citations, buttons, trials, organisations}`; a citation is
`{doc_id, title, url, publisher, section, quote, start, end, last_reviewed, last_updated, retrieved,
date_note}` with `quote` verbatim document text at `start`-`end`, and each date named for what it is
("" when unknown; see knowledge/document_format.py). Rasa actions send the same data as `custom` payloads.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from index.search import SearchResult
from knowledge.document_format import currency


def citation_from_result(result: SearchResult) -> dict[str, Any]:
    return {"doc_id": result.doc_id, "title": result.title, "url": result.url, "publisher": result.publisher,
            "section": result.section, "quote": result.quote, "start": result.start, "end": result.end,
            **result.currency()}


def citation_from_record(record_citation: dict[str, Any], document: dict[str, Any] | None) -> dict[str, Any]:
    """A record's {doc_id, quote, start, end} completed with its document's title, publisher and dates."""
    document = document or {}
    return {"doc_id": record_citation["doc_id"], "title": document.get("title", ""), "url": document.get("url", ""),
            "publisher": document.get("publisher", ""), "section": "", "quote": record_citation["quote"],
            "start": record_citation["start"], "end": record_citation["end"], **currency(document)}


def button(title: str, payload: str | None = None) -> dict[str, str]:
    return {"title": title, "payload": payload or title}


@dataclass
class Message:
    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)
    organisations: list[dict[str, Any]] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    answer_status: str | None = None  # answered, not_sure, not_covered; None when nothing was asked
    cancer_type: str | None = None  # the cancer the turn is about

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "citations": self.citations, "buttons": self.buttons,
                "trials": self.trials, "organisations": self.organisations}

    def custom_payload(self, intent: str) -> dict[str, Any]:
        """What a Rasa action puts in `json_message`, which the REST channel returns as `custom`."""
        return {"intent": intent, "message_id": self.id, "citations": self.citations, "trials": self.trials,
                "organisations": self.organisations, "answer_status": self.answer_status,
                "cancer_type": self.cancer_type}

    @classmethod
    def from_dispatched(cls, sent: dict[str, Any]) -> "Message":
        """Rebuilds a Message from what an action gave CollectingDispatcher.utter_message."""
        custom = sent.get("custom") or {}
        return cls(text=sent.get("text") or "", citations=list(custom.get("citations") or []),
                   buttons=list(sent.get("buttons") or []), trials=list(custom.get("trials") or []),
                   organisations=list(custom.get("organisations") or []), id=custom.get("message_id") or uuid.uuid4().hex[:16],
                   answer_status=custom.get("answer_status"), cancer_type=custom.get("cancer_type"))
