"""`python -m index build`: validate, chunk, embed only what changed, and publish atomically."""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import secrets
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO

import numpy as np
from tqdm import tqdm

from index.chunker import Chunker, Passage
from knowledge.cancer_vocabulary import CancerVocabulary
from index.dense import DenseIndex
from knowledge.document_format import Document, ValidationError, load_documents
from index.embedder import Embedder
from index.lexical import LexicalIndex, Tokenizer
from index.sections import SectionIndex
from index.shipped_vectors import ShippedVectors
from index.store import (BUILDS, FORMAT_VERSION, IndexError_, IndexSnapshot, current_build, load_build, publish,
                         write_build)

LOCK_FILE = ".build.lock"


class BuildLocked(Exception):
    pass


class InvalidDocuments(Exception):
    def __init__(self, errors: list[ValidationError]):
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


@dataclass
class BuildSummary:
    build_id: str = ""
    documents_added: list[str] = field(default_factory=list)
    documents_changed: list[str] = field(default_factory=list)
    documents_removed: list[str] = field(default_factory=list)
    documents_unchanged: int = 0
    passages_added: int = 0
    passages_removed: int = 0
    passages_reused: int = 0
    passages_shipped: int = 0
    passages_embedded: int = 0
    passages_total: int = 0
    seconds: float = 0.0
    note: str = ""
    published: bool = True

    def lines(self) -> list[str]:
        changed = self.documents_added or self.documents_changed or self.documents_removed
        result = [
            f"Documents: {len(self.documents_added)} added, {len(self.documents_changed)} changed, "
            f"{len(self.documents_removed)} removed, {self.documents_unchanged} unchanged.",
            f"Passages: {self.passages_added} added, {self.passages_removed} removed, "
            f"{self.passages_reused} reused; "
            + (f"{self.passages_shipped} from shipped vectors, " if self.passages_shipped else "")
            + f"{self.passages_embedded} embedded; {self.passages_total} in the index.",
        ]
        for label, ids in (("added", self.documents_added), ("changed", self.documents_changed),
                           ("removed", self.documents_removed)):
            if ids:
                result.append(f"  {label}: {', '.join(ids)}")
        if self.note:
            result.append(self.note)
        verb = f"Published build {self.build_id}" if self.published else "Index already up to date; nothing published"
        result.append(f"{verb} in {self.seconds:.1f} s." if changed or self.published else f"{verb}.")
        return result


def load_records(trials_dir: Path | None, organisations_dir: Path | None,
                 texts: dict[str, str]) -> tuple[dict[str, list[dict[str, Any]]], list[ValidationError]]:
    """Trial and organisation records, validated against the document texts their citations quote."""
    records: dict[str, list[dict[str, Any]]] = {"trials": [], "organisations": []}
    errors: list[ValidationError] = []
    for kind, folder in (("trials", trials_dir), ("organisations", organisations_dir)):
        if folder is None:
            continue
        if kind == "trials":
            from knowledge.trials import load_trials as loader
        else:
            from knowledge.organisations import load_organisations as loader
        items, problems = loader(folder, texts)
        records[kind] = [item.to_dict() for item in items]
        errors.extend(problems)
    return records, errors


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """An exclusive lock that the kernel releases if the build dies, so it never goes stale."""
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = (index_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise BuildLocked(f"Another index build is running ({holder}). Wait for it to finish, then run it again.") from exc
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def _remove_abandoned(index_dir: Path) -> None:
    """Half-written builds of killed runs; safe to remove while we hold the lock."""
    for path in index_dir.glob(".tmp-*"):
        shutil.rmtree(path, ignore_errors=True)


def unknown_cancer_types(documents: list[Document], vocabulary: CancerVocabulary) -> list[ValidationError]:
    """A problem for each `cancer_types` name that is no canonical name in the cancer vocabulary."""
    errors = []
    for document in documents:
        for name in vocabulary.unknown(document.cancer_types):
            errors.append(ValidationError(document.path, document.cancer_types_line, f"unknown cancer type '{name}'",
                                          "use a canonical name from knowledge/cancers.yml, or add the cancer there first"))
    return errors


def _previous(index_dir: Path, expected: dict[str, Any]) -> tuple[IndexSnapshot | None, str]:
    build = current_build(index_dir)
    if build is None or not build.is_dir():
        return None, ""
    try:
        return load_build(build, index_dir, expected), ""
    except IndexError_ as exc:
        return None, f"Previous index not reused, everything re-embedded: {exc}"


class IndexBuilder:
    """Builds an index from a knowledge folder. Embedder, chunker and tokenizer are injected."""

    def __init__(self, knowledge_dir: Path, index_dir: Path, embedder: Embedder, chunker: Chunker,
                 tokenizer: Tokenizer | None = None, exact_max: int = 50_000, batch_size: int = 64,
                 keep_builds: int = 2, progress: TextIO | None = sys.stderr,
                 trials_dir: Path | None = None, organisations_dir: Path | None = None,
                 vocabulary: CancerVocabulary | None = None, vectors_dir: Path | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if keep_builds < 0:
            raise ValueError(f"keep_builds must be 0 or more, got {keep_builds}")
        self.knowledge_dir = knowledge_dir
        self.index_dir = index_dir
        self.embedder = embedder
        self.chunker = chunker
        self.tokenizer = tokenizer or Tokenizer()
        self.exact_max = exact_max
        self.batch_size = batch_size
        self.keep_builds = keep_builds
        self.progress = progress
        self.trials_dir = trials_dir
        self.organisations_dir = organisations_dir
        self.vocabulary = vocabulary
        self.vectors_dir = vectors_dir  # shipped vectors (shipped_vectors.py), used for what the previous build lacks

    def expected(self) -> dict[str, Any]:
        """What an index must have been built with to be reused or served by this configuration."""
        return {"model": self.embedder.to_dict(), "chunker": self.chunker.to_dict()}

    def run(self, force: bool = False) -> BuildSummary:
        started = time.perf_counter()
        documents = load_documents(self.knowledge_dir)
        if documents.errors:
            raise InvalidDocuments(documents.errors)  # before any lock or write: the index stays as it was
        if self.vocabulary is not None:
            unknown = unknown_cancer_types(documents.documents, self.vocabulary)
            if unknown:
                raise InvalidDocuments(unknown)
        records, record_errors = load_records(self.trials_dir, self.organisations_dir,
                                              {d.doc_id: d.text for d in documents.documents})
        if record_errors:
            raise InvalidDocuments(record_errors)
        with build_lock(self.index_dir):
            _remove_abandoned(self.index_dir)
            expected = self.expected()
            # Vectors are reusable whenever the model is the same; whole documents only if the chunker is too.
            previous, note = (None, "") if force else _previous(self.index_dir, {"model": expected["model"]})
            same_chunker = previous is not None and previous.manifest.get("chunker") == expected["chunker"]
            if previous is not None and not same_chunker:
                note = "Chunker settings changed: every document re-chunked, unchanged passages keep their vectors."
            summary = BuildSummary(note=note)
            old_docs = previous.manifest["documents"] if previous else {}
            old_passages: dict[str, list[int]] = {}
            if previous:
                for position, passage in enumerate(previous.passages):
                    old_passages.setdefault(passage.doc_id, []).append(position)

            passages: list[Passage] = []
            vectors: list[np.ndarray | None] = []
            to_embed: list[int] = []
            manifest_docs: dict[str, Any] = {}
            stored_docs: dict[str, dict[str, Any]] = {}
            for document in sorted(documents.documents, key=lambda d: d.doc_id):
                old = old_docs.get(document.doc_id)
                if old and old["sha256"] == document.content_hash and previous is not None and same_chunker:
                    reused = [previous.passages[i] for i in old_passages.get(document.doc_id, [])]
                    vectors.extend(previous.vectors[i] for i in old_passages.get(document.doc_id, []))
                    summary.documents_unchanged += 1
                    summary.passages_reused += len(reused)
                    new = reused
                else:
                    new = self.chunker.run(document)
                    # A passage whose embedded text is unchanged keeps its vector, even in a changed document.
                    known = {previous.passages[i].context: i for i in old_passages.get(document.doc_id, [])} \
                        if previous is not None else {}
                    for offset, passage in enumerate(new):
                        if passage.context in known:
                            vectors.append(previous.vectors[known.pop(passage.context)])
                            summary.passages_reused += 1
                        else:
                            vectors.append(None)
                            to_embed.append(len(passages) + offset)
                            summary.passages_added += 1
                    summary.passages_removed += len(known)
                    (summary.documents_changed if old else summary.documents_added).append(document.doc_id)
                for local, passage in enumerate(new):
                    passage.passage_id = f"{document.doc_id}#{local}"
                passages.extend(new)
                manifest_docs[document.doc_id] = {"sha256": document.content_hash, "passages": len(new),
                                                  "path": document.path}
                stored_docs[document.doc_id] = dict(document.metadata(), text=document.text)
            for doc_id in sorted(set(old_docs) - set(manifest_docs)):
                summary.documents_removed.append(doc_id)
                summary.passages_removed += old_docs[doc_id]["passages"]

            same_tokenizer = previous is not None and previous.manifest.get("tokenizer") == self.tokenizer.to_dict()
            same_records = previous is not None and previous.records == records
            if not same_records and previous is not None:
                summary.note = "\n".join(filter(None, [summary.note, "Trial or organisation records changed."]))
            unchanged = not (summary.documents_added or summary.documents_changed or summary.documents_removed)
            if previous is not None and same_tokenizer and same_records and unchanged:
                summary.published = False
                summary.build_id = previous.build_id
                summary.passages_total = len(passages)
                summary.seconds = time.perf_counter() - started
                return summary

            # What the previous build lacks comes from the shipped vectors, else is embedded (--force: all embedded).
            shipped = ShippedVectors(self.vectors_dir, self.embedder) if self.vectors_dir and not force else None
            from_shipped = shipped.find([passages[i].context for i in to_embed]) if shipped else {}
            for row, vector in from_shipped.items():
                vectors[to_embed[row]] = vector
            to_embed = [position for row, position in enumerate(to_embed) if row not in from_shipped]
            embedded = self._embed([passages[i].context for i in to_embed])
            for row, position in enumerate(to_embed):
                vectors[position] = embedded[row]
            matrix = (np.vstack(vectors).astype(np.float32) if passages
                      else np.zeros((0, expected["model"]["dimension"]), dtype=np.float32))
            dense = DenseIndex.build(matrix, self.exact_max)
            lexical = LexicalIndex.build([p.context for p in passages], self.tokenizer)
            sections = self._sections(passages, previous, shipped)
            build_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(3)
            manifest = {
                "format": FORMAT_VERSION, "build_id": build_id,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "model": expected["model"], "dimension": int(matrix.shape[1]), "chunker": expected["chunker"],
                "tokenizer": self.tokenizer.to_dict(), "dense": dense.to_dict(), "sections": sections.to_dict(),
                "documents": manifest_docs, "passages": len(passages), "vectors": int(matrix.shape[0]),
                "records": {kind: len(items) for kind, items in records.items()},
                "build_seconds": round(time.perf_counter() - started, 2),
            }
            temporary = self.index_dir / f".tmp-{build_id}"
            write_build(temporary, manifest, stored_docs, passages, matrix, dense, lexical, sections, records)
            (self.index_dir / BUILDS).mkdir(exist_ok=True)
            final = self.index_dir / BUILDS / build_id
            os.replace(temporary, final)
            publish(self.index_dir, final, self.keep_builds)
            summary.build_id = build_id
            summary.passages_embedded = len(to_embed)
            summary.passages_shipped = len(from_shipped)
            if shipped is not None and shipped.warning:
                summary.note = "\n".join(filter(None, [summary.note, shipped.warning]))
            summary.passages_total = len(passages)
            summary.seconds = time.perf_counter() - started
            return summary

    def _sections(self, passages: list[Passage], previous: IndexSnapshot | None,
                  shipped: ShippedVectors | None = None) -> SectionIndex:
        labels = SectionIndex.labels_for(passages)
        known = dict(zip(previous.sections.labels, previous.sections.vectors)) if previous else {}
        missing = [label for label in labels if label not in known]
        if missing and shipped is not None:
            known.update((missing[row], vector) for row, vector in shipped.find(missing).items())
            missing = [label for label in missing if label not in known]
        if missing:
            known.update(zip(missing, self.embedder.encode(missing, batch_size=self.batch_size)))
        dimension = self.embedder.dimension
        vectors = (np.vstack([known[label] for label in labels]).astype(np.float32) if labels
                   else np.zeros((0, dimension), dtype=np.float32))
        return SectionIndex(labels, vectors, passages)

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with tqdm(total=len(texts), desc="Embedding passages", unit="passage", file=self.progress,
                  disable=self.progress is None) as bar:
            return self.embedder.encode(texts, batch_size=self.batch_size, progress=bar.update)
