"""Passage vectors shipped with the content, so a fresh clone embeds only what they don't cover.

    knowledge/vectors/<model folder>/<doc_id>.vectors

A model folder (e.g. `all-minilm-l6-v2-onnx-53aa51172d14`) holds the vectors one embedding model
computed; a file, those of one document: its passages' embedded texts (`Passage.context`) and its
section labels, each keyed by the sha256 of the exact text. One file a document keeps a re-run cheap
to review and to merge: only the files of documents that changed are rewritten.

A file is a magic line, a one-line JSON header (the model, the dimension, the keys and a sha256 over
all of it and the vectors) and the raw little-endian float32 vectors, exactly those of the index they
were written from (so a build from them serves the same vectors bit for bit). Nothing is trusted
unchecked: a file whose checksum, model or size is wrong is skipped, and before any vector is used a
few of the texts asked for are embedded again and compared. Any problem yields one warning line naming
the fix (`python -m index vectors`), and the texts are embedded as if nothing had been shipped.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol

import numpy as np

MAGIC = b"rca-shipped-vectors 1\n"
SUFFIX = ".vectors"
FIX = "python -m index vectors"  # the command that rewrites the shipped passage vectors
SPOT_CHECKS = 3  # texts embedded again before shipped vectors are used
TOLERANCE = 1e-5  # largest per-component difference accepted (batching alone moves vectors by ~1e-7)
MODEL_FIELDS = ("name", "weights_sha256", "dimension", "normalized", "runtime")  # not the machine's path


class Encoder(Protocol):
    def to_dict(self) -> dict[str, Any]: ...

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_key(model: dict[str, Any]) -> dict[str, Any]:
    """What, of an embedder's or manifest's model description, decides the vectors it computes."""
    return {name: model.get(name) for name in MODEL_FIELDS}


def model_folder(model: dict[str, Any]) -> str:
    """The folder name for a model's vectors: readable, and different whenever the vectors would be."""
    key = model_key(model)
    name = re.sub(r"[^a-z0-9]+", "-", str(key["name"]).rsplit("/", 1)[-1].lower()).strip("-") or "model"
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return f"{name}-{key['runtime']}-{digest}"


def _checksum(model: dict[str, Any], keys: list[str], payload: bytes) -> str:
    digest = hashlib.sha256(json.dumps({"model": model, "keys": keys}, sort_keys=True).encode())
    digest.update(payload)
    return digest.hexdigest()


def encode_file(model: dict[str, Any], vectors: dict[str, np.ndarray], dimension: int) -> bytes:
    """The bytes of a vectors file: the same content always gives the same bytes."""
    keys = sorted(vectors)
    matrix = (np.vstack([vectors[k] for k in keys]) if keys else np.zeros((0, dimension))).astype("<f4")
    if matrix.shape[1] != dimension:
        raise ValueError(f"vectors have dimension {matrix.shape[1]}, expected {dimension}")
    payload = np.ascontiguousarray(matrix).tobytes()
    header = {"model": model_key(model), "dimension": dimension, "count": len(keys), "keys": keys,
              "sha256": _checksum(model_key(model), keys, payload)}
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def decode_file(data: bytes, model: dict[str, Any]) -> dict[str, np.ndarray]:
    """The vectors of a file written for `model`; ValueError saying what is wrong with any other."""
    if not data.startswith(MAGIC):
        raise ValueError("not a shipped vectors file")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise ValueError("truncated header")
    try:
        header = json.loads(data[len(MAGIC):end])
        keys, dimension, count, checksum = header["keys"], int(header["dimension"]), int(header["count"]), header["sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable header ({exc})") from exc
    if header.get("model") != model_key(model):
        raise ValueError("written by another model")
    payload = data[end + 1:]
    if not isinstance(keys, list) or len(keys) != count or len(payload) != count * dimension * 4:
        raise ValueError("truncated or padded")
    if _checksum(model_key(model), keys, payload) != checksum:
        raise ValueError("checksum mismatch")
    matrix = np.frombuffer(payload, dtype="<f4").reshape(count, dimension).astype(np.float32)
    return dict(zip(keys, matrix))


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would keep other users of a shared checkout out
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class ShippedVectors:
    """The shipped vectors of the running embedder's model under `root`, loaded and checked on first use."""

    root: Path
    embedder: Encoder
    fix: str = FIX  # the command named in warnings
    warning: str = ""  # one line, set when some or all shipped vectors were not used
    used: int = 0  # vectors handed out
    _vectors: dict[str, np.ndarray] | None = field(default=None, repr=False)
    _checked: bool | None = field(default=None, repr=False)  # the spot check: None before it ran

    @property
    def folder(self) -> Path:
        return self.root / model_folder(self.embedder.to_dict())

    def _load(self) -> dict[str, np.ndarray]:
        if self._vectors is not None:
            return self._vectors
        self._vectors = {}
        if not self.root.is_dir():
            return self._vectors  # nothing shipped here: nothing to say
        if not self.folder.is_dir():
            self.warning = (f"No shipped vectors in {self.root} for this model ({model_folder(self.embedder.to_dict())}): "
                            f"everything is embedded; run `{self.fix}` to write them.")
            return self._vectors
        model, bad = self.embedder.to_dict(), []
        for path in sorted(self.folder.glob("*" + SUFFIX)):
            try:
                for key, vector in decode_file(path.read_bytes(), model).items():
                    self._vectors.setdefault(key, vector)
            except (OSError, ValueError) as exc:
                bad.append(f"{path.name}: {exc}")
        if bad:
            self.warning = (f"Shipped vectors in {self.folder}: {len(bad)} file(s) ignored ({'; '.join(bad[:3])}"
                            f"{'; ...' if len(bad) > 3 else ''}); their texts are embedded instead; run `{self.fix}` to rewrite them.")
        return self._vectors

    def find(self, texts: list[str]) -> dict[int, np.ndarray]:
        """Shipped vectors for those of `texts` that have one, by position; {} unless they pass the check."""
        if not texts or self._checked is False:
            return {}
        stored = self._load()
        found = {i: stored[key] for i, key in enumerate(map(text_key, texts)) if key in stored}
        if found and self._checked is None:
            self._checked = self._spot_check([texts[i] for i in _spread(sorted(found), SPOT_CHECKS)], stored)
            if not self._checked:
                return {}
        self.used += len(found)
        return found

    def _spot_check(self, texts: list[str], stored: dict[str, np.ndarray]) -> bool:
        fresh = self.embedder.encode(texts, batch_size=len(texts))
        difference = float(np.abs(fresh - np.vstack([stored[text_key(t)] for t in texts])).max())
        if difference <= TOLERANCE:
            return True
        self.warning = (f"Shipped vectors in {self.folder} ignored: they differ from this model's by up to "
                        f"{difference:.2g} (> {TOLERANCE:g}) on {len(texts)} texts embedded again; "
                        f"everything is embedded instead; run `{self.fix}` to rewrite them.")
        return False


def _spread(items: list[int], count: int) -> list[int]:
    """Up to `count` items spread evenly from first to last."""
    if len(items) <= count:
        return items
    return sorted({items[round(n * (len(items) - 1) / (count - 1))] for n in range(count)})


@dataclass
class WriteSummary:
    folder: Path
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    vectors: int = 0

    def line(self) -> str:
        return (f"Shipped vectors in {self.folder}: {len(self.written)} file(s) written, {self.unchanged} unchanged, "
                f"{len(self.removed)} removed; {self.vectors} vectors.")


def snapshot_documents(snapshot: Any) -> list[tuple[str, dict[str, np.ndarray]]]:
    """An index build's vectors by document: each passage's embedded text and each section label."""
    from index.sections import section_label

    documents: dict[str, dict[str, np.ndarray]] = {doc_id: {} for doc_id in snapshot.documents}
    sections = dict(zip(snapshot.sections.labels, snapshot.sections.vectors))
    for passage, vector in zip(snapshot.passages, snapshot.vectors):
        documents[passage.doc_id][passage.context] = vector
        documents[passage.doc_id][section_label(passage)] = sections[section_label(passage)]
    return sorted(documents.items())


def write_from_snapshot(root: Path, snapshot: Any) -> WriteSummary:
    """The shipped vectors of an index build (IndexSnapshot), for the model that built it."""
    return write_shipped(root, snapshot.manifest["model"], snapshot_documents(snapshot), int(snapshot.vectors.shape[1]))


def write_shipped(root: Path, model: dict[str, Any], documents: Iterable[tuple[str, dict[str, np.ndarray]]],
                  dimension: int) -> WriteSummary:
    """Writes one file per document (doc_id, {text: vector}) for `model`, rewriting only those that
    differ, and removes the files of documents not given. Other models' folders are left alone."""
    folder = root / model_folder(model)
    summary = WriteSummary(folder)
    keep = set()
    for doc_id, vectors in documents:
        path = folder / f"{doc_id}{SUFFIX}"
        keep.add(path.name)
        data = encode_file(model, {text_key(text): vector for text, vector in vectors.items()}, dimension)
        summary.vectors += len(vectors)
        if path.is_file() and path.read_bytes() == data:
            summary.unchanged += 1
            continue
        _write_atomically(path, data)
        summary.written.append(doc_id)
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.name not in keep and (path.suffix == SUFFIX or path.name.endswith(".part")):
                path.unlink()
                summary.removed.append(path.stem)
    return summary
