"""Hybrid search over a loaded index: dense + BM25 candidates, fused, with sentence spans for answers."""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index import settings
from index.chunker import Chunker
from index.embedder import Embedder
from index.fusion import Candidate, Fusion, confidence
from index.lexical import Tokenizer, words
from index.query import QueryRewriter, RewrittenQuery
from index.sentences import has_sentence, sentence_spans
from index.store import IndexSnapshot, current_build, load_current
from knowledge.document_format import currency

RETRIEVERS = ("hybrid", "bm25", "dense")


@dataclass
class Span:
    start: int  # offsets in the document text
    end: int
    text: str
    score: float


@dataclass
class SearchResult:
    doc_id: str
    title: str
    url: str
    publisher: str
    section: str
    quote: str
    start: int
    end: int
    score: float
    confidence: float
    dense_score: float
    lexical_score: float
    passage_id: str
    spans: list[Span] = field(default_factory=list)
    # How current the document is, each date for what it is ("" when unknown); see knowledge/document_format.py.
    last_reviewed: str = ""  # the date the publisher states it reviewed the text
    last_updated: str = ""  # the date a registry record was last updated
    retrieved: str = ""  # the date this copy was fetched
    date_note: str = ""  # a sentence saying how current the text is, when no date does

    def currency(self) -> dict[str, str]:
        return currency(vars(self))

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "title": self.title, "url": self.url, "publisher": self.publisher,
                "section": self.section, "quote": self.quote, "start": self.start, "end": self.end,
                "score": round(self.score, 4), "confidence": self.confidence, **self.currency()}


def expected_build(embedder: Embedder, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the index must have been built with for this configuration to search it."""
    chunker = Chunker(settings.get("chunk_max_chars", overrides), settings.get("chunk_hard_max_chars", overrides))
    return {"model": {"name": embedder.name, "weights_sha256": embedder.weights_hash},
            "chunker": chunker.to_dict(), "tokenizer": Tokenizer().to_dict()}


def fusions(overrides: dict[str, Any] | None = None) -> tuple[Fusion, Fusion]:
    """The fusion of a search over the whole index, and of one limited to a few documents, from settings."""
    get = lambda name: settings.get(name, overrides)  # noqa: E731
    return (Fusion(get("dense_weight"), get("section_weight"), get("lexical_weight")),
            Fusion(get("dense_weight"), get("scoped_section_weight"), get("lexical_weight")))


class Searcher:
    """Answers queries from one index snapshot; `reload_if_changed` swaps to a newer build."""

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder, fusion: Fusion | None = None,
                 candidates: int = 50, index_dir: Path | None = None, section_candidates: int = 3,
                 scoped_fusion: Fusion | None = None):
        if candidates < 1:
            raise ValueError(f"candidates must be at least 1, got {candidates}")
        self.embedder = embedder
        self.fusion = fusion or Fusion()
        # Within one cancer's pages (a `doc_ids` search) every page has the same topic, so the section on
        # the aspect asked about decides more; across the corpus the passage itself must.
        self.scoped_fusion = scoped_fusion or self.fusion
        self.candidates = candidates
        self.section_candidates = section_candidates
        self.index_dir = index_dir
        self._lock = threading.Lock()
        self.use(snapshot)

    @classmethod
    def from_settings(cls, overrides: dict[str, Any] | None = None, embedder: Embedder | None = None) -> "Searcher":
        get = lambda name: settings.get(name, overrides)  # noqa: E731
        embedder = embedder or Embedder.from_settings(overrides)
        index_dir = get("index_dir")
        snapshot = load_current(index_dir, expected_build(embedder, overrides))
        fusion, scoped = fusions(overrides)
        return cls(snapshot, embedder, fusion, get("candidates"), index_dir, get("section_candidates"), scoped)

    def use(self, snapshot: IndexSnapshot) -> None:
        """Serve from `snapshot` from now on. Callers that run queries on other threads pause them first."""
        total = sum(snapshot.lexical.vocabulary.values()) or 1
        idf = {w: math.log(1 + total / f) for w, f in snapshot.lexical.vocabulary.items()}
        rewriter = QueryRewriter(snapshot.lexical.vocabulary)
        self.snapshot, self.rewriter, self._idf = snapshot, rewriter, idf
        self._passage_stems: tuple[IndexSnapshot, dict[int, frozenset[str]]] = (snapshot, {})  # filled lazily
        self._doc_positions: tuple[IndexSnapshot, dict[frozenset[str], np.ndarray]] = (snapshot, {})

    def newer_build(self) -> IndexSnapshot | None:
        """The build `current` points at, loaded, if it is another one than the one in use; else None."""
        if self.index_dir is None:
            return None
        build = current_build(self.index_dir)
        if build is None or build == self.snapshot.folder:
            return None
        expected = {"model": self.snapshot.manifest["model"], "chunker": self.snapshot.manifest["chunker"]}
        return load_current(self.index_dir, expected)

    def reload_if_changed(self) -> bool:
        """Switches to the build `current` points at, if it is another one. Returns True on a switch."""
        with self._lock:
            snapshot = self.newer_build()
            if snapshot is not None:
                self.use(snapshot)
        return snapshot is not None

    def query_text(self, query: str) -> str:
        """What a search embeds for a query (rewritten: typos, lay terms)."""
        return self.rewriter.run(query.strip()).text

    def search(self, query: str, k: int = 5, retriever: str = "hybrid", spans: int = 0,
               doc_ids: frozenset[str] | None = None) -> list[SearchResult]:
        """The k best passages for a query; with `doc_ids`, only passages of those documents."""
        if retriever not in RETRIEVERS:
            raise ValueError(f"retriever must be one of {RETRIEVERS}, got {retriever!r}")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        snapshot = self.snapshot  # one consistent snapshot per query, even if a reload happens meanwhile
        rewritten = self.rewriter.run(query.strip())
        if not rewritten.words and not rewritten.text.strip():
            return []
        candidates: dict[int, Candidate] = {}
        pool = max(self.candidates, k)
        stems = snapshot.lexical.tokenizer.stems(rewritten.words)
        lexical_scores = snapshot.lexical.scores(stems)
        query_weights = {stem: self._idf.get(stem, 1.0) for stem in set(stems)}
        vector = self.embedder.encode_query(rewritten.text) if retriever != "bm25" else None
        section_scores = snapshot.sections.scores(vector) if vector is not None else None
        allowed = self._positions(snapshot, doc_ids) if doc_ids is not None else None
        if allowed is not None:
            if not len(allowed):
                return []
            mask = np.zeros(len(lexical_scores), dtype=bool)
            mask[allowed] = True
            lexical_scores = np.where(mask, lexical_scores, 0)
            if vector is not None:  # a few documents' passages: every one is a candidate, scored exactly below
                candidates.update((int(p), Candidate(int(p))) for p in allowed)
        if allowed is None and vector is not None:
            for position, _ in snapshot.dense.top(vector, pool):
                candidates[position] = Candidate(position)
        if allowed is None and retriever == "hybrid" and vector is not None:
            for position in snapshot.sections.top_passages(vector, self.section_candidates):
                candidates.setdefault(position, Candidate(position))
        if retriever != "dense":
            for position, _ in snapshot.lexical.top(lexical_scores, pool):
                candidates.setdefault(position, Candidate(position))
        for candidate in candidates.values():
            if vector is not None:  # exact cosine for every candidate, also those only BM25 proposed
                candidate.dense = float(snapshot.vectors[candidate.position] @ vector)
                candidate.section = float(section_scores[candidate.position])
            candidate.lexical = float(lexical_scores[candidate.position])
            candidate.coverage = self._coverage(query_weights, self._stems_of(snapshot, candidate.position))
            candidate.fragment = not has_sentence(snapshot.passages[candidate.position].quote)
        if retriever == "hybrid":
            fusion = self.fusion if allowed is None else self.scoped_fusion
            ranked = fusion.run(list(candidates.values()))
        else:
            key = "dense" if retriever == "dense" else "lexical"
            ranked = sorted(candidates.values(), key=lambda c: (-getattr(c, key), c.position))
            for candidate in ranked:
                candidate.score = getattr(candidate, key)
        return [self._result(snapshot, c, rewritten, spans) for c in ranked[:k]]

    def _positions(self, snapshot: IndexSnapshot, doc_ids: frozenset[str]) -> np.ndarray:
        """The passage positions of these documents, computed once per snapshot and set of documents."""
        owner, cache = self._doc_positions
        if owner is not snapshot:
            cache = {}
            self._doc_positions = (snapshot, cache)
        positions = cache.get(doc_ids)
        if positions is None:
            positions = np.array([i for i, p in enumerate(snapshot.passages) if p.doc_id in doc_ids], dtype=np.int64)
            if len(cache) < 4096:
                cache[doc_ids] = positions
        return positions

    def _stems_of(self, snapshot: IndexSnapshot, position: int) -> frozenset[str]:
        """A passage's content-word stems, computed once per passage (folding is the costly part)."""
        owner, cache = self._passage_stems
        stems = cache.get(position) if owner is snapshot else None
        if stems is None:
            stems = frozenset(snapshot.lexical.tokenizer.stems(words(snapshot.passages[position].context)))
            if owner is snapshot:
                cache[position] = stems
        return stems

    @staticmethod
    def _coverage(query_weights: dict[str, float], present: frozenset[str]) -> float:
        """The IDF-weighted share of the query's words that the passage contains."""
        total = sum(query_weights.values())
        return sum(w for s, w in query_weights.items() if s in present) / total if total else 0.0

    def _result(self, snapshot: IndexSnapshot, candidate: Candidate, rewritten: RewrittenQuery,
                spans: int) -> SearchResult:
        passage = snapshot.passages[candidate.position]
        document = snapshot.documents[passage.doc_id]
        result = SearchResult(
            doc_id=passage.doc_id, title=passage.title, url=document.get("url", ""),
            publisher=document.get("publisher", ""), section=passage.section_label, quote=passage.quote, start=passage.start, end=passage.end,
            score=candidate.score, confidence=confidence(candidate), dense_score=candidate.dense,
            lexical_score=candidate.lexical, passage_id=passage.passage_id, **currency(document))
        if spans:
            result.spans = self.best_spans(document["text"], passage.start, passage.end, rewritten, spans)
        return result

    def best_spans(self, text: str, start: int, end: int, rewritten: RewrittenQuery, n: int = 1) -> list[Span]:
        """The n sentences of a passage that best match the query (by IDF-weighted word overlap), in text order."""
        tokenizer = self.snapshot.lexical.tokenizer
        query = set(tokenizer.stems(rewritten.words))
        weight = lambda s: self._idf.get(s, 1.0)  # noqa: E731
        scored = []
        for rank, (s, e) in enumerate(sentence_spans(text, start, end)):
            present = set(tokenizer.stems(words(text[s:e])))
            overlap = sum(weight(t) for t in query & present)
            scored.append((overlap - 0.01 * rank, s, e))
        best = sorted(scored, key=lambda item: -item[0])[:n]
        return [Span(s, e, text[s:e], round(score, 4)) for score, s, e in sorted(best, key=lambda item: item[1])]
