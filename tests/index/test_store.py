"""index.store: a damaged, foreign or missing index is refused with an error that names the fix."""
from __future__ import annotations

import json
import os

import pytest

from index.chunker import Chunker
from index.lexical import Tokenizer
from index.store import (BUILDS, CURRENT, IndexCorrupt, IndexIncompatible, IndexNotFound, current_build,
                         load_current, publish)

ARTEFACTS = ["documents.json", "passages.jsonl", "vectors.npy", "dense.faiss", "vocabulary.json", "sections.json",
             "section_vectors.npy", "bm25/params.index.json", "bm25/vocab.index.json", "bm25/data.csc.index.npy"]


@pytest.fixture
def build(tiny_copy):
    """The folder of the current build of a private copy of the tiny index."""
    return current_build(tiny_copy["index"])


def refused(index_dir, error=IndexCorrupt, **kwargs) -> str:
    with pytest.raises(error) as raised:
        load_current(index_dir, **kwargs)
    message = str(raised.value)
    assert "make index" in message, message
    return message


@pytest.mark.slow
def test_a_sound_index_loads(tiny_copy, embedder):
    snapshot = load_current(tiny_copy["index"], {"model": embedder.to_dict(), "chunker": Chunker().to_dict()})
    assert len(snapshot.passages) == len(snapshot.vectors) == snapshot.dense.size == snapshot.lexical.size
    assert set(snapshot.documents) == {"soft-tissue-sarcoma", "uterine-sarcoma", "irci", "merkel-cell-carcinoma"}
    for passage in snapshot.passages:
        assert snapshot.documents[passage.doc_id]["text"][passage.start:passage.end] == passage.quote
    manifest_files = set(snapshot.manifest["files"])
    assert set(ARTEFACTS) <= manifest_files


@pytest.mark.slow
def test_current_is_a_relative_symlink_to_a_build(tiny_copy):
    link = tiny_copy["index"] / CURRENT
    assert link.is_symlink()
    target = os.readlink(link)
    assert not os.path.isabs(target) and target.startswith(f"{BUILDS}/")
    assert not list(tiny_copy["index"].glob(f".{CURRENT}.*"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vectors.npy", "dense.faiss", "passages.jsonl", "bm25/data.csc.index.npy"])
def test_a_truncated_file_is_refused(tiny_copy, build, name):
    path = build / name
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    message = refused(tiny_copy["index"])
    assert "truncated" in message and name in message


@pytest.mark.slow
@pytest.mark.parametrize("name", ARTEFACTS)
def test_a_flipped_byte_is_refused(tiny_copy, build, name):
    path = build / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    message = refused(tiny_copy["index"])
    assert "checksum" in message and name in message


@pytest.mark.slow
@pytest.mark.parametrize("name", ["section_vectors.npy", "dense.faiss", "bm25/vocab.index.json"])
def test_a_missing_file_is_refused(tiny_copy, build, name):
    (build / name).unlink()
    message = refused(tiny_copy["index"])
    assert "missing" in message and name in message


@pytest.mark.slow
def test_unreadable_files_are_refused_even_without_checksums(tiny_copy, build):
    with (build / "vectors.npy").open("r+b") as handle:
        handle.truncate(40)
    message = refused(tiny_copy["index"], verify_checksums=False)
    assert "cannot be read" in message


@pytest.mark.slow
def test_a_missing_manifest_is_refused(tiny_copy, build):
    (build / "manifest.json").unlink()
    assert "no manifest" in refused(tiny_copy["index"])


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "garbage", "not utf-8"])
def test_a_corrupt_manifest_is_refused(tiny_copy, build, damage):
    path = build / "manifest.json"
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00\x01{{{",
                      "not utf-8": b"\xff\xfe" + data}[damage])
    assert "corrupt" in refused(tiny_copy["index"])


@pytest.mark.slow
def test_counts_that_disagree_with_the_manifest_are_refused(tiny_copy, build):
    path = build / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["passages"] += 1
    path.write_text(json.dumps(manifest))
    assert "inconsistent" in refused(tiny_copy["index"])


@pytest.mark.slow
def test_another_format_version_is_incompatible(tiny_copy, build):
    path = build / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format"] = 99
    path.write_text(json.dumps(manifest))
    assert "format 99" in refused(tiny_copy["index"], IndexIncompatible)


@pytest.mark.slow
def test_an_index_built_with_another_model_is_incompatible(tiny_copy, embedder):
    expected = {"model": dict(embedder.to_dict(), name="other-model", weights_sha256="0" * 64)}
    message = refused(tiny_copy["index"], IndexIncompatible, expected=expected)
    assert "other-model" in message and "weights" in message


@pytest.mark.slow
def test_an_index_built_with_other_chunker_settings_is_incompatible(tiny_copy, embedder):
    expected = {"model": embedder.to_dict(), "chunker": Chunker(max_chars=500).to_dict()}
    message = refused(tiny_copy["index"], IndexIncompatible, expected=expected)
    assert "chunker settings" in message and "500" in message


@pytest.mark.slow
def test_an_index_built_with_another_tokenizer_is_incompatible(tiny_copy):
    expected = {"tokenizer": dict(Tokenizer().to_dict(), version=-1)}
    assert "tokenizer" in refused(tiny_copy["index"], IndexIncompatible, expected=expected)
    assert load_current(tiny_copy["index"], {"tokenizer": Tokenizer().to_dict()}).passages


def test_a_missing_index_is_not_found(tmp_path):
    message = refused(tmp_path / "nothing-here", IndexNotFound)
    assert "Run `make index`" in message
    (tmp_path / "empty").mkdir()
    assert "Run `make index`" in refused(tmp_path / "empty", IndexNotFound)


@pytest.mark.slow
def test_a_dangling_current_link_is_not_found(tiny_copy, build):
    for path in sorted(build.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    build.rmdir()
    assert "Run `make index`" in refused(tiny_copy["index"], IndexNotFound)


def _publish_new(index_dir, name, keep):
    """Creates an (empty) build folder named like a build id and publishes it, as a build does."""
    build = index_dir / BUILDS / name
    build.mkdir(parents=True)
    publish(index_dir, build, keep)
    return build


def test_publish_switches_current_and_prunes_the_oldest_builds(tmp_path):
    older = _publish_new(tmp_path, "20260101T000000-aaaaaa", keep=1)
    old = _publish_new(tmp_path, "20260102T000000-aaaaaa", keep=1)
    assert current_build(tmp_path) == old.resolve() and older.exists()
    new = _publish_new(tmp_path, "20260103T000000-aaaaaa", keep=1)
    assert current_build(tmp_path) == new.resolve()
    assert sorted(p.name for p in (tmp_path / BUILDS).iterdir()) == [old.name, new.name]
    newest = _publish_new(tmp_path, "20260104T000000-aaaaaa", keep=0)
    assert [p.name for p in (tmp_path / BUILDS).iterdir()] == [newest.name]
    assert not list(tmp_path.glob(f".{CURRENT}.*"))


def test_publish_keeps_the_build_it_replaces(tmp_path):
    _publish_new(tmp_path, "20260101T000000-ffffff", keep=1)
    replaced = _publish_new(tmp_path, "20260101T000000-000000", keep=1)  # made later in the same second
    _publish_new(tmp_path, "20260101T000001-aaaaaa", keep=1)
    assert replaced.exists(), "the previous current build was pruned, the older one kept"


def test_publish_removes_links_left_by_a_killed_publish(tmp_path):
    first = _publish_new(tmp_path, "20260101T000000-aaaaaa", keep=1)
    for pid in (12345, 999999):  # a build killed between making its link and renaming it
        os.symlink(os.path.relpath(first, tmp_path), tmp_path / f".{CURRENT}.{pid}")
    _publish_new(tmp_path, "20260102T000000-aaaaaa", keep=1)
    assert not list(tmp_path.glob(f".{CURRENT}.*"))


@pytest.mark.parametrize("name", ["vectors.npy", "section_vectors.npy"])
def test_an_empty_array_file_is_refused_with_the_fix(tiny_copy, build, name):
    (build / name).write_bytes(b"")
    message = refused(tiny_copy["index"], verify_checksums=False)
    assert "cannot be read (EOFError" in message and "Run `make index`" in message
