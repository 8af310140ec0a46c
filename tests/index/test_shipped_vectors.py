"""index.shipped_vectors: vectors shipped beside the documents are used only when verified, change
nothing that is built, and cover every passage of the shipped knowledge."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from index.chunker import Chunker
from index.sections import section_label
from index.shipped_vectors import (MAGIC, SUFFIX, ShippedVectors, decode_file, encode_file, model_folder,
                                   snapshot_documents, text_key, write_from_snapshot)
from index.store import load_current
from index_helpers import REPO_ROOT, SpyEmbedder, make_builder, run_cli, write_corpus, write_doc
from knowledge.document_format import load_documents

pytestmark = pytest.mark.slow

FIX = "python -m index vectors"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, embedder):
    """The tiny corpus built from scratch, and its vectors written as the shipped ones beside it."""
    root = tmp_path_factory.mktemp("shipped")
    knowledge = write_corpus(root / "knowledge")
    make_builder(knowledge, root / "scratch", embedder).run()
    snapshot = load_current(root / "scratch")
    summary = write_from_snapshot(root / "vectors", snapshot)
    return {"knowledge": knowledge, "vectors": root / "vectors", "snapshot": snapshot, "summary": summary}


@pytest.fixture
def work(shipped, tmp_path):
    """A private copy of the knowledge and its shipped vectors, free to change."""
    knowledge = shutil.copytree(shipped["knowledge"], tmp_path / "knowledge")
    vectors = shutil.copytree(shipped["vectors"], tmp_path / "vectors")
    folder = vectors / model_folder(shipped["snapshot"].manifest["model"])
    return {"knowledge": knowledge, "vectors": vectors, "folder": folder, "index": tmp_path / "index"}


def build(work, embedder, **kwargs):
    spy = SpyEmbedder(embedder)
    summary = make_builder(work["knowledge"], work["index"], spy, vectors_dir=work["vectors"], **kwargs).run()
    return summary, spy, load_current(work["index"])


def texts_of(snapshot, doc_id: str) -> set[str]:
    passages = [p for p in snapshot.passages if p.doc_id == doc_id]
    return {p.context for p in passages} | {section_label(p) for p in passages}


def test_a_build_from_shipped_vectors_equals_the_build_they_came_from_bit_for_bit(shipped, work, embedder):
    summary, spy, snapshot = build(work, embedder)
    scratch = shipped["snapshot"]
    total = len(scratch.passages)
    assert summary.passages_shipped == total and summary.passages_embedded == 0
    assert f"{total} from shipped vectors, 0 embedded" in summary.lines()[1]
    assert len(spy.texts) == 3  # only the spot check
    assert set(spy.texts) <= {p.context for p in scratch.passages}
    assert [p.to_dict() for p in snapshot.passages] == [p.to_dict() for p in scratch.passages]
    assert snapshot.vectors.tobytes() == scratch.vectors.tobytes()
    assert snapshot.sections.labels == scratch.sections.labels
    assert snapshot.sections.vectors.tobytes() == scratch.sections.vectors.tobytes()
    assert summary.note == ""


def test_the_writer_is_incremental_and_its_bytes_deterministic(shipped, work):
    assert sorted(p.stem for p in work["folder"].glob("*" + SUFFIX)) == sorted(shipped["snapshot"].documents)
    again = write_from_snapshot(work["vectors"], shipped["snapshot"])
    assert again.written == [] and again.removed == [] and again.unchanged == len(shipped["snapshot"].documents)
    assert again.vectors == shipped["summary"].vectors
    stray = work["folder"] / f"gone{SUFFIX}"
    stray.write_bytes(b"old")
    assert write_from_snapshot(work["vectors"], shipped["snapshot"]).removed == ["gone"]
    assert not stray.exists()


def test_a_missing_document_is_embedded_and_the_rest_shipped(shipped, work, embedder):
    (work["folder"] / f"irci{SUFFIX}").unlink()
    write_doc(work["knowledge"], "delta", "Delta Tumour", "## Care\n\nDelta tumours are treated by a specialist team.")
    summary, spy, snapshot = build(work, embedder)
    wanted = texts_of(snapshot, "irci") | texts_of(snapshot, "delta")
    assert set(spy.texts[3:]) == wanted and len(spy.texts) == 3 + len(wanted)
    missing = sum(p.doc_id in ("irci", "delta") for p in snapshot.passages)
    assert summary.passages_embedded == missing
    assert summary.passages_shipped == len(snapshot.passages) - missing
    assert summary.note == ""
    scratch = shipped["snapshot"]
    rows = [i for i, p in enumerate(snapshot.passages) if p.doc_id not in ("irci", "delta")]
    same = [i for i, p in enumerate(scratch.passages) if p.doc_id != "irci"]
    assert snapshot.vectors[rows].tobytes() == scratch.vectors[same].tobytes()


@pytest.mark.parametrize("damage", ["flip a vector byte", "truncate", "garbage", "empty", "edit the header"])
def test_a_damaged_file_is_never_used_and_never_crashes_the_build(shipped, work, embedder, damage):
    path = work["folder"] / f"irci{SUFFIX}"
    data = path.read_bytes()
    damaged = {"flip a vector byte": data[:-5] + bytes([data[-5] ^ 1]) + data[-4:], "truncate": data[:len(data) // 2],
               "garbage": b"\x00\xff" * 100, "empty": b"",
               "edit the header": data.replace(b'"dimension": 384', b'"dimension": 383')}[damage]
    assert damaged != data
    path.write_bytes(damaged)
    summary, spy, snapshot = build(work, embedder)
    assert set(spy.texts[3:]) == texts_of(snapshot, "irci")
    assert summary.note.count("\n") == 0 and f"irci{SUFFIX}" in summary.note and FIX in summary.note
    assert np.allclose(snapshot.vectors, shipped["snapshot"].vectors, atol=1e-5)


def test_vectors_of_another_model_are_ignored(shipped, work, embedder):
    model = dict(shipped["snapshot"].manifest["model"], weights_sha256="0" * 64)
    work["folder"].rename(work["vectors"] / model_folder(model))  # a stale model's folder: not ours
    summary, spy, _snapshot = build(work, embedder)
    assert summary.passages_shipped == 0 and summary.passages_embedded == summary.passages_total
    assert "No shipped vectors" in summary.note and FIX in summary.note


def test_a_file_claiming_another_model_in_our_folder_is_rejected(shipped, work, embedder):
    path = work["folder"] / f"irci{SUFFIX}"
    model = dict(shipped["snapshot"].manifest["model"], runtime="torch")
    vectors = decode_file(path.read_bytes(), shipped["snapshot"].manifest["model"])
    path.write_bytes(encode_file(model, vectors, 384))
    summary, spy, snapshot = build(work, embedder)
    assert "written by another model" in summary.note
    assert set(spy.texts[3:]) == texts_of(snapshot, "irci")


def test_vectors_that_fail_the_spot_check_are_all_ignored(shipped, work, embedder):
    """Whole, checksummed files whose vectors are not what this model computes: each moved to the next key."""
    model = shipped["snapshot"].manifest["model"]
    for doc_id, vectors in snapshot_documents(shipped["snapshot"]):
        by_key = {text_key(text): vector for text, vector in vectors.items()}
        keys = sorted(by_key)
        shuffled = dict(zip(keys, [by_key[k] for k in keys[1:] + keys[:1]]))
        (work["folder"] / f"{doc_id}{SUFFIX}").write_bytes(encode_file(model, shuffled, 384))
    summary, spy, snapshot = build(work, embedder)
    assert summary.passages_shipped == 0 and summary.passages_embedded == summary.passages_total
    assert "differ from this model's" in summary.note and FIX in summary.note
    assert np.allclose(snapshot.vectors, shipped["snapshot"].vectors, atol=1e-5)


def test_force_embeds_everything(work, embedder):
    forced = make_builder(work["knowledge"], work["index"], SpyEmbedder(embedder), vectors_dir=work["vectors"]).run(force=True)
    assert forced.passages_shipped == 0 and forced.passages_embedded == forced.passages_total


def test_the_file_format_refuses_what_it_did_not_write(shipped):
    model = shipped["snapshot"].manifest["model"]
    data = encode_file(model, {text_key("a"): np.ones(384, dtype=np.float32)}, 384)
    assert data.startswith(MAGIC) and encode_file(model, {text_key("a"): np.ones(384, dtype=np.float32)}, 384) == data
    assert decode_file(data, model)[text_key("a")].tobytes() == np.ones(384, dtype=np.float32).tobytes()
    for bad in (data + b"\0", data[:-1], MAGIC, b"", data.replace(b'"count": 1', b'"count": 2')):
        with pytest.raises(ValueError):
            decode_file(bad, model)


def test_the_vectors_command_writes_then_only_what_changed(tmp_path):
    knowledge = write_corpus(tmp_path / "knowledge")
    first = run_cli(["vectors"], knowledge, tmp_path / "index")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1].startswith(f"Shipped vectors in {tmp_path / 'vectors'}")
    assert "4 file(s) written, 0 unchanged, 0 removed" in first.stdout
    (knowledge / "irci.md").unlink()
    second = run_cli(["vectors"], knowledge, tmp_path / "index")
    assert second.returncode == 0, second.stderr
    assert "0 file(s) written, 3 unchanged, 1 removed" in second.stdout


def test_the_shipped_vectors_cover_every_passage_of_the_shipped_knowledge(embedder):
    """Fails after documents are added or changed until `python -m index vectors` is run and its files committed."""
    knowledge = REPO_ROOT / "knowledge"
    documents = load_documents(knowledge / "documents").documents
    chunker = Chunker()
    owners = {text: document.doc_id for document in documents for passage in chunker.run(document)
              for text in (passage.context, section_label(passage))}
    texts = sorted(owners)
    store = ShippedVectors(knowledge / "vectors", embedder)
    found = store.find(texts)
    assert store.warning == "", store.warning
    missing = sorted({owners[text] for i, text in enumerate(texts) if i not in found})
    assert not missing, (f"{len(texts) - len(found)} passage texts or section labels of {len(missing)} document(s) "
                         f"have no shipped vector ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}): "
                         f"run `{FIX}` and commit knowledge/vectors/.")
    gone = sorted({p.stem for p in store.folder.glob("*" + SUFFIX)} - {d.doc_id for d in documents})
    assert not gone, f"shipped vectors of documents that no longer exist ({', '.join(gone)}): run `{FIX}`."
