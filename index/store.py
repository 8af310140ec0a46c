"""The on-disk index: a folder per build, a `current` link swapped atomically, and a checked manifest.

    var/index/
      current -> builds/20261122T101500-ab12cd   (relative symlink, replaced in one rename)
      builds/<build id>/manifest.json, documents.json, passages.jsonl, vectors.npy, dense.faiss, bm25/,
                        vocabulary.json, sections.json, section_vectors.npy, records.json
      .build.lock                                 (held by the one build allowed at a time)
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.chunker import Passage
from index.dense import DenseIndex
from index.lexical import LexicalIndex, Tokenizer
from index.sections import SectionIndex

FORMAT_VERSION = 1
CURRENT = "current"
BUILDS = "builds"
MANIFEST = "manifest.json"


class IndexError_(Exception):
    """Base of index loading errors; the message always names the fix."""


class IndexNotFound(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class IndexIncompatible(IndexError_):
    pass


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artefact_files(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file in a build except the manifest, keyed by relative path."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        files[path.relative_to(folder).as_posix()] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    return files


def fsync_tree(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass
class IndexSnapshot:
    """One loaded build: passages, vectors, both retrievers and the documents they were cut from."""

    folder: Path
    manifest: dict[str, Any]
    documents: dict[str, dict[str, Any]]  # doc_id -> metadata and text
    passages: list[Passage]
    vectors: np.ndarray
    dense: DenseIndex
    lexical: LexicalIndex
    sections: SectionIndex
    records: dict[str, list[dict[str, Any]]]  # "trials", "organisations": record dicts with resolved citations

    @property
    def build_id(self) -> str:
        return str(self.manifest["build_id"])


def write_build(folder: Path, manifest: dict[str, Any], documents: dict[str, dict[str, Any]],
                passages: list[Passage], vectors: np.ndarray, dense: DenseIndex, lexical: LexicalIndex,
                sections: SectionIndex, records: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Writes every artefact, then the manifest (with their checksums) last."""
    folder.mkdir(parents=True)
    (folder / "documents.json").write_text(json.dumps(documents, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    with (folder / "passages.jsonl").open("w", encoding="utf-8") as handle:
        for passage in passages:
            handle.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
    np.save(folder / "vectors.npy", vectors, allow_pickle=False)
    dense.save(folder)
    lexical.save(folder)
    sections.save(folder)
    (folder / "records.json").write_text(json.dumps(records or {}, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    manifest = dict(manifest, files=artefact_files(folder))
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    fsync_tree(folder)


def current_build(index_dir: Path) -> Path | None:
    link = index_dir / CURRENT
    if not link.is_symlink() and not link.exists():
        return None
    return link.resolve()


def current_records(index_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The validated trial and organisation records of the build in use ({} when there is none)."""
    build = current_build(index_dir)
    records_file = build / "records.json" if build else None
    return json.loads(records_file.read_text(encoding="utf-8")) if records_file and records_file.is_file() else {}


def publish(index_dir: Path, build: Path, keep: int) -> None:
    """Points `current` at a finished build in one atomic rename, then prunes old builds.

    Callers hold the build lock, so a `.current.<pid>` link found here was left by a killed build.
    """
    replaced = current_build(index_dir)
    for abandoned in index_dir.glob(f".{CURRENT}.*"):
        abandoned.unlink(missing_ok=True)
    temporary = index_dir / f".{CURRENT}.{os.getpid()}"
    os.symlink(os.path.relpath(build, index_dir), temporary)
    os.replace(temporary, index_dir / CURRENT)
    fsync_tree_dir(index_dir)
    # Keep the `keep` most recent older builds; the one just replaced counts as the most recent.
    older = sorted((p for p in (index_dir / BUILDS).iterdir() if p.is_dir() and p != build),
                   key=lambda p: (p == replaced, p.stat().st_mtime_ns, p.name))
    for old in older[: max(0, len(older) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def fsync_tree_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fix(index_dir: Path) -> str:
    return f"Run `make index` (or `python -m index build`) to rebuild it in {index_dir}."


def read_manifest(build: Path, index_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorrupt(f"Index at {build} has no manifest: the build is incomplete. {_fix(index_dir)}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"Index manifest {build / MANIFEST} is corrupt ({exc}). {_fix(index_dir)}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise IndexIncompatible(f"Index at {build} has format {manifest.get('format') if isinstance(manifest, dict) else '?'}, "
                                f"this version reads format {FORMAT_VERSION}. {_fix(index_dir)}")
    return manifest


def check_files(build: Path, manifest: dict[str, Any], index_dir: Path) -> None:
    """Every artefact must exist with the size and checksum the manifest recorded."""
    for name, expected in manifest.get("files", {}).items():
        path = build / name
        if not path.is_file():
            raise IndexCorrupt(f"Index file {path} is missing. {_fix(index_dir)}")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise IndexCorrupt(f"Index file {path} is truncated or altered ({size} bytes, manifest says "
                               f"{expected['bytes']}). {_fix(index_dir)}")
        if file_sha256(path) != expected["sha256"]:
            raise IndexCorrupt(f"Index file {path} is corrupt (checksum differs from the manifest). {_fix(index_dir)}")


def check_compatible(manifest: dict[str, Any], expected: dict[str, Any], index_dir: Path) -> None:
    """The index must have been built with the model weights, chunker and tokenizer configured now."""
    model, want_model = manifest.get("model", {}), expected.get("model", {})
    if want_model and model.get("weights_sha256") != want_model.get("weights_sha256"):
        raise IndexIncompatible(f"Index in {index_dir} was built with model {model.get('name')} "
                                f"(weights {str(model.get('weights_sha256'))[:12]}), but the configured model is "
                                f"{want_model.get('name')} (weights {str(want_model.get('weights_sha256'))[:12]}). {_fix(index_dir)}")
    if "tokenizer" in expected and manifest.get("tokenizer") != expected["tokenizer"]:
        raise IndexIncompatible(f"Index in {index_dir} was built with tokenizer {manifest.get('tokenizer')}, "
                                f"but this version uses {expected['tokenizer']}. {_fix(index_dir)}")
    if "chunker" in expected and manifest.get("chunker") != expected["chunker"]:
        raise IndexIncompatible(f"Index in {index_dir} was built with chunker settings {manifest.get('chunker')}, "
                                f"but the configured ones are {expected['chunker']}. {_fix(index_dir)}")


def load_build(build: Path, index_dir: Path, expected: dict[str, Any] | None = None,
               verify_checksums: bool = True) -> IndexSnapshot:
    manifest = read_manifest(build, index_dir)
    if expected:
        check_compatible(manifest, expected, index_dir)
    if verify_checksums:
        check_files(build, manifest, index_dir)
    try:
        documents = json.loads((build / "documents.json").read_text(encoding="utf-8"))
        with (build / "passages.jsonl").open(encoding="utf-8") as handle:
            passages = [Passage.from_dict(json.loads(line)) for line in handle if line.strip()]
        vectors = np.load(build / "vectors.npy", allow_pickle=False)
        dense = DenseIndex.load(build, manifest["dense"]["type"])
        lexical = LexicalIndex.load(build, Tokenizer(manifest.get("tokenizer", {}).get("language", "english")))
        sections = SectionIndex.load(build, passages)
        records_file = build / "records.json"
        records = json.loads(records_file.read_text(encoding="utf-8")) if records_file.is_file() else {}
    except (OSError, EOFError, ValueError, KeyError, TypeError, RuntimeError) as exc:  # EOFError: an empty .npy
        raise IndexCorrupt(f"Index at {build} cannot be read ({type(exc).__name__}: {exc}). {_fix(index_dir)}") from exc
    counts = {"manifest passages": manifest.get("passages"), "passages": len(passages), "vectors": len(vectors),
              "manifest vectors": manifest.get("vectors"), "dense": dense.size, "bm25": lexical.size}
    if len(set(counts.values())) != 1:
        raise IndexCorrupt(f"Index at {build} is inconsistent: counts differ {counts}. {_fix(index_dir)}")
    records = {"trials": records.get("trials", []), "organisations": records.get("organisations", [])}
    return IndexSnapshot(build, manifest, documents, passages, vectors, dense, lexical, sections, records)


def load_current(index_dir: Path, expected: dict[str, Any] | None = None, verify_checksums: bool = True) -> IndexSnapshot:
    build = current_build(index_dir)
    if build is None or not build.is_dir():
        raise IndexNotFound(f"Index not found at {index_dir}. Run `make index` (or `python -m index build`).")
    return load_build(build, index_dir, expected, verify_checksums)
