"""Section signal: how well a query matches the topic of the section a passage sits in.

A passage's section label is its document title and top-level section heading ("Penile Cancer.
Stages of penile cancer"). Embedding labels separately lets a topical question ("what are the stages
of ...") find the right section even when a passage elsewhere shares more words with it.
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
        return {"label": "title + top-level heading", "sections": len(self.labels)}

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query to each passage's section label."""
        if not len(self.labels):
            return np.zeros(0, dtype=np.float32)
        return (self.vectors @ vector)[self.passage_rows]

    def top_passages(self, vector: np.ndarray, sections: int) -> list[int]:
        """Every passage of the best-matching sections, so they reach fusion as candidates."""
        if not len(self.labels):
            return []
        similarity = self.vectors @ vector
        best = np.argsort(-similarity)[:sections]
        return [p for section in best.tolist() for p in self.members.get(section, [])]
