"""Section signal: how well a query matches the topic of the section a passage sits in.

A passage's section label is its document title and top-level section heading ("Penile Cancer.
Stages of penile cancer"). Embedding labels separately lets a topical question ("what are the stages
of ...") find the right section even when a passage elsewhere shares more words with it.

The signal is relative within each document: a section scores its similarity minus that of the
document's best-matching section (0 for the best, negative for the others). It picks the right section
of a document without favouring documents whose headings happen to be descriptive, and a document
with a single section gets no bias at all.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from index.chunker import Passage


def section_label(passage: Passage) -> str:
    return f"{passage.title}. {passage.section[0]}" if passage.section else passage.title


class SectionIndex:
    FILES = ("sections.json", "section_vectors.npy")

    def __init__(self, labels: list[str], vectors: np.ndarray, passages: list[Passage]):
        if len(labels) != len(vectors):
            raise ValueError(f"{len(labels)} section labels but {len(vectors)} vectors")
        self.labels = labels
        self.vectors = vectors
        row = {label: i for i, label in enumerate(labels)}
        try:
            self.passage_rows = np.array([row[section_label(p)] for p in passages], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"no section vector for label {exc}") from exc
        self.members: dict[int, list[int]] = {}
        for position, section in enumerate(self.passage_rows.tolist()):
            self.members.setdefault(section, []).append(position)
        documents: dict[str, int] = {}
        self.section_documents = np.zeros(len(labels), dtype=np.int64)
        for passage, section in zip(passages, self.passage_rows.tolist()):
            self.section_documents[section] = documents.setdefault(passage.doc_id, len(documents))
        self.document_count = len(documents)

    @staticmethod
    def labels_for(passages: list[Passage]) -> list[str]:
        return sorted({section_label(p) for p in passages})

    def save(self, folder: Path) -> None:
        (folder / "sections.json").write_text(json.dumps(self.labels, ensure_ascii=False), encoding="utf-8")
        np.save(folder / "section_vectors.npy", self.vectors, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, passages: list[Passage]) -> "SectionIndex":
        labels = json.loads((folder / "sections.json").read_text(encoding="utf-8"))
        return cls(labels, np.load(folder / "section_vectors.npy", allow_pickle=False), passages)

    def to_dict(self) -> dict[str, Any]:
        return {"label": "title + top-level heading", "score": "relative to the document's best section",
                "sections": len(self.labels)}

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Per passage: similarity of the query to its section label minus that of its document's best section."""
        if not len(self.labels):
            return np.zeros(0, dtype=np.float32)
        similarity = self.vectors @ vector
        best = np.full(self.document_count, -np.inf, dtype=similarity.dtype)
        np.maximum.at(best, self.section_documents, similarity)
        return (similarity - best[self.section_documents])[self.passage_rows]

    def top_passages(self, vector: np.ndarray, sections: int) -> list[int]:
        """Every passage of the best-matching sections, so they reach fusion as candidates."""
        if not len(self.labels):
            return []
        similarity = self.vectors @ vector
        best = np.argsort(-similarity)[:sections]
        return [p for section in best.tolist() for p in self.members.get(section, [])]
