"""index.build: validate, chunk, embed only what changed, publish atomically, survive being killed."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from index.build import BuildLocked, IndexBuilder, InvalidDocuments, build_lock
from index.chunker import Chunker
from knowledge.document_format import load_documents
from index.store import BUILDS, CURRENT, current_build, load_current
from index.verify import verify
from index_helpers import (REPO_ROOT, SpyEmbedder, cli_env, copy_index, kill, make_builder, tree_state, wait_for,
                           write_doc)

pytestmark = pytest.mark.slow

ALPHA = ("Alpha Cancer", {
    "Causes": "Alpha cancer is caused by changes in the cells that line the small glands of the neck.",
    "Treatment": "Alpha cancer is treated with surgery, and radiotherapy is given when the tumour has spread.",
    "Outlook": "Most people with alpha cancer live for many years after their treatment ends.",
})
BETA = ("Beta Tumours", {
    "Signs": "Beta tumours often cause a cough that does not go away and shortness of breath.",
    "Tests": "A chest scan and a biopsy show whether a beta tumour is present.",
})
GAMMA = ("Gamma Syndrome", {
    "Overview": "Gamma syndrome is an inherited condition that raises the risk of several rare cancers.",
})


def body(sections: dict[str, str]) -> str:
    return "\n\n".join(f"## {heading}\n\n{text}" for heading, text in sections.items())


def write_base(folder):
    for doc_id, (title, sections) in {"alpha": ALPHA, "beta": BETA, "gamma": GAMMA}.items():
        write_doc(folder, doc_id, title, body(sections))


def expected_passages(knowledge) -> int:
    return sum(len(Chunker().run(d)) for d in load_documents(knowledge).documents)


@pytest.fixture(scope="module")
def base(tmp_path_factory, embedder):
    """Three small documents, built once for the module; tests work on copies (see `work`)."""
    root = tmp_path_factory.mktemp("build-base")
    write_base(root / "knowledge")
    summary = make_builder(root / "knowledge", root / "index", embedder).run()
    return {"knowledge": root / "knowledge", "index": root / "index", "summary": summary}


@pytest.fixture
def work(base, tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(base["knowledge"], knowledge)
    return {"knowledge": knowledge, "index": copy_index(base["index"], tmp_path / "index")}


# ----------------------------------------------------------------------------- first and no-op builds


def test_first_build_publishes_and_counts_are_right(tmp_path, embedder):
    write_base(tmp_path / "knowledge")
    spy = SpyEmbedder(embedder)
    summary = make_builder(tmp_path / "knowledge", tmp_path / "index", spy).run()
    total = expected_passages(tmp_path / "knowledge")
    assert total == 6
    assert summary.published is True
    assert summary.documents_added == ["alpha", "beta", "gamma"]
    assert summary.documents_changed == [] and summary.documents_removed == [] and summary.documents_unchanged == 0
    assert summary.passages_added == summary.passages_embedded == summary.passages_total == total
    assert summary.passages_reused == 0 and summary.passages_removed == 0
    snapshot = load_current(tmp_path / "index")
    assert snapshot.build_id == summary.build_id == current_build(tmp_path / "index").name
    assert len(snapshot.passages) == total and snapshot.vectors.shape == (total, embedder.dimension)
    assert sorted(snapshot.documents) == ["alpha", "beta", "gamma"]
    assert np.allclose(np.linalg.norm(snapshot.vectors, axis=1), 1.0, atol=1e-4)
    # every passage embedded once, plus each section label once
    assert len(spy.texts) == total + len(snapshot.sections.labels)
    lines = summary.lines()
    assert lines[0] == "Documents: 3 added, 0 changed, 0 removed, 0 unchanged."
    assert lines[1] == f"Passages: {total} added, 0 removed, 0 reused; {total} embedded; {total} in the index."
    assert lines[-1].startswith(f"Published build {summary.build_id} in ")
    assert not list((tmp_path / "index").glob(".tmp-*"))


def test_second_build_without_changes_publishes_nothing(work, embedder):
    before = tree_state(work["index"])
    spy = SpyEmbedder(embedder)
    summary = make_builder(work["knowledge"], work["index"], spy).run()
    assert summary.published is False
    assert spy.texts == []
    assert summary.documents_unchanged == 3 and summary.passages_reused == summary.passages_total == 6
    assert summary.passages_embedded == 0
    assert summary.build_id == current_build(work["index"]).name
    assert summary.lines()[-1] == "Index already up to date; nothing published."
    after = tree_state(work["index"])
    before.pop(".build.lock", None), after.pop(".build.lock", None)
    assert after == before


# ----------------------------------------------------------------------------- incremental builds


def test_changing_one_document_re_embeds_only_its_changed_passage(work, embedder):
    old = load_current(work["index"])
    sections = dict(ALPHA[1], Treatment="Alpha cancer is treated with targeted drugs when surgery is not possible.")
    write_doc(work["knowledge"], "alpha", ALPHA[0], body(sections))
    spy = SpyEmbedder(embedder)
    summary = make_builder(work["knowledge"], work["index"], spy).run()

    assert summary.published is True
    assert summary.documents_changed == ["alpha"] and summary.documents_unchanged == 2
    assert summary.passages_embedded == 1 and summary.passages_added == 1 and summary.passages_removed == 1
    assert summary.passages_reused == 5
    assert len(spy.texts) == 1
    assert spy.texts[0].startswith("Alpha Cancer. Treatment.") and "targeted drugs" in spy.texts[0]

    new = load_current(work["index"])
    old_vectors = {p.context: old.vectors[i] for i, p in enumerate(old.passages)}
    for position, passage in enumerate(new.passages):
        if "targeted drugs" in passage.quote:
            continue
        # unchanged passages, also those of the changed document, keep their vectors
        assert np.array_equal(new.vectors[position], old_vectors[passage.context]), passage.passage_id
    assert [p.passage_id for p in new.passages if p.doc_id == "alpha"] == ["alpha#0", "alpha#1", "alpha#2"]
    assert all(p.quote == new.documents[p.doc_id]["text"][p.start:p.end] for p in new.passages)
    assert verify(work["knowledge"], work["index"]) == []


def test_removing_a_document_removes_its_passages(work, embedder):
    (work["knowledge"] / "gamma.md").unlink()
    spy = SpyEmbedder(embedder)
    summary = make_builder(work["knowledge"], work["index"], spy).run()
    assert summary.published is True
    assert summary.documents_removed == ["gamma"] and summary.passages_removed == 1
    assert spy.texts == []
    snapshot = load_current(work["index"])
    assert "gamma" not in snapshot.documents and "gamma" not in snapshot.manifest["documents"]
    assert all(p.doc_id != "gamma" for p in snapshot.passages)
    assert len(snapshot.passages) == len(snapshot.vectors) == 5
    assert not any(label.startswith("Gamma") for label in snapshot.sections.labels)


def test_adding_a_document_embeds_only_its_passages(work, embedder):
    write_doc(work["knowledge"], "delta", "Delta Carcinoma", body({
        "Symptoms": "Delta carcinoma causes hoarseness and a lump in the throat.",
        "Treatment": "Delta carcinoma is treated with chemotherapy and radiotherapy together."}))
    spy = SpyEmbedder(embedder)
    summary = make_builder(work["knowledge"], work["index"], spy).run()
    assert summary.documents_added == ["delta"] and summary.documents_unchanged == 3
    assert summary.passages_embedded == 2 and summary.passages_total == 8
    assert spy.texts and all(text.startswith("Delta Carcinoma.") for text in spy.texts)
    snapshot = load_current(work["index"])
    assert [p.passage_id for p in snapshot.passages if p.doc_id == "delta"] == ["delta#0", "delta#1"]


@pytest.mark.parametrize("change", ["front matter", "moved section"])
def test_a_change_that_needs_no_embedding_is_still_published(work, embedder, change):
    if change == "front matter":
        write_doc(work["knowledge"], "alpha", ALPHA[0], body(ALPHA[1]), last_reviewed="2025-01-15",
                  url="https://example.org/alpha")
    else:
        sections = dict(reversed(list(ALPHA[1].items())))
        write_doc(work["knowledge"], "alpha", ALPHA[0], body(sections))
    summary = make_builder(work["knowledge"], work["index"], SpyEmbedder(embedder)).run()
    assert summary.documents_changed == ["alpha"]
    snapshot = load_current(work["index"])
    assert snapshot.documents["alpha"]["text"] == load_documents(work["knowledge"]).by_id["alpha"].text
    assert verify(work["knowledge"], work["index"]) == []
    assert summary.published is True


def test_force_re_embeds_everything(work, embedder):
    spy = SpyEmbedder(embedder)
    summary = make_builder(work["knowledge"], work["index"], spy).run(force=True)
    assert summary.published is True and summary.passages_embedded == summary.passages_total == 6
    assert load_current(work["index"]).build_id == summary.build_id


def test_other_chunker_settings_re_chunk_everything_but_embed_only_new_passages(work, embedder):
    long_section = " ".join(f"Sentence number {n} says something about sarcoma care." for n in range(8))
    write_doc(work["knowledge"], "delta", "Delta", f"## Long section\n\n{long_section}")
    make_builder(work["knowledge"], work["index"], embedder).run()
    before = {p.context for p in load_current(work["index"]).passages}
    spy = SpyEmbedder(embedder)
    chunker = Chunker(max_chars=100, hard_max_chars=150, min_chars=0)  # cuts the documents differently
    summary = make_builder(work["knowledge"], work["index"], spy, chunker).run()
    assert "Chunker settings changed" in summary.note
    assert summary.published is True and summary.documents_unchanged == 0
    after = load_current(work["index"])
    assert after.manifest["chunker"] == chunker.to_dict()
    passage_texts = [t for t in spy.texts if t in {p.context for p in after.passages}]
    assert passage_texts and not set(passage_texts) & before, "an unchanged passage was embedded again"
    assert summary.passages_embedded == len({p.context for p in after.passages} - before)


def test_a_corrupt_previous_index_is_rebuilt_from_scratch(work, embedder):
    build = current_build(work["index"])
    with open(build / "vectors.npy", "r+b") as handle:
        handle.truncate(100)
    summary = make_builder(work["knowledge"], work["index"], SpyEmbedder(embedder)).run()
    assert "Previous index not reused" in summary.note
    assert summary.published is True and summary.passages_embedded == 6
    assert len(load_current(work["index"]).passages) == 6


def test_builder_settings_are_validated(tmp_path, embedder):
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        IndexBuilder(tmp_path, tmp_path, embedder, Chunker(), batch_size=0)
    with pytest.raises(ValueError, match="keep_builds must be 0 or more, got -1"):
        IndexBuilder(tmp_path, tmp_path, embedder, Chunker(), keep_builds=-1)


# ----------------------------------------------------------------------------- refusals


def test_invalid_documents_leave_the_index_byte_for_byte_unchanged(work, embedder):
    write_doc(work["knowledge"], "alpha", ALPHA[0], body(dict(ALPHA[1], Causes="Changed text.")))
    bad = work["knowledge"] / "broken.md"
    bad.write_text("---\nid: Broken Id\ntitle: Broken\n---\n\nText.\n", encoding="utf-8")
    before = tree_state(work["index"])
    spy = SpyEmbedder(embedder)
    with pytest.raises(InvalidDocuments) as error:
        make_builder(work["knowledge"], work["index"], spy).run()
    assert error.value.errors and all(e.path == str(bad) for e in error.value.errors)
    assert any("invalid id 'Broken Id'" in str(e) for e in error.value.errors)
    assert spy.texts == []
    assert tree_state(work["index"]) == before


def test_an_unknown_cancer_type_is_refused_with_its_line_and_the_canonical_name(work, embedder):
    from knowledge.cancer_vocabulary import parse_vocabulary

    vocabulary, _ = parse_vocabulary("- name: alpha cancer\n  family: digestive\n- name: Beta tumor\n  family: skin\n",
                                     "cancers.yml")
    write_doc(work["knowledge"], "alpha", ALPHA[0], body(ALPHA[1]), cancer_types="[alpha cancer, delta cancer]")
    path = write_doc(work["knowledge"], "beta", BETA[0], body(BETA[1]), cancer_types="[beta tumor]")
    before = tree_state(work["index"])
    with pytest.raises(InvalidDocuments) as error:
        make_builder(work["knowledge"], work["index"], SpyEmbedder(embedder), vocabulary=vocabulary).run()
    messages = [str(e) for e in error.value.errors]
    assert any("alpha.md:8: unknown cancer type 'delta cancer'" in m and "add the cancer there first" in m
               for m in messages), messages
    assert not any(m.startswith(str(path)) for m in messages)  # names match whatever their case
    assert tree_state(work["index"]) == before


def test_documents_carry_their_cancer_types_into_the_index(work, embedder):
    from knowledge.cancer_vocabulary import parse_vocabulary

    vocabulary, _ = parse_vocabulary("- name: alpha cancer\n  family: digestive\n", "cancers.yml")
    write_doc(work["knowledge"], "alpha", ALPHA[0], body(ALPHA[1]), cancer_types="[alpha cancer]")
    make_builder(work["knowledge"], work["index"], SpyEmbedder(embedder), vocabulary=vocabulary).run()
    documents = load_current(work["index"]).documents
    assert documents["alpha"]["cancer_types"] == ["alpha cancer"]
    assert documents["beta"]["cancer_types"] == []


def test_a_concurrent_build_is_refused(work, embedder):
    write_doc(work["knowledge"], "gamma", GAMMA[0], body({"Overview": "Gamma syndrome is now described anew."}))
    before = tree_state(work["index"])
    with build_lock(work["index"]):
        with pytest.raises(BuildLocked, match="Another index build is running"):
            make_builder(work["knowledge"], work["index"], SpyEmbedder(embedder)).run()
    after = tree_state(work["index"])
    assert {k: v for k, v in after.items() if k != ".build.lock"} == \
        {k: v for k, v in before.items() if k != ".build.lock"}
    # the lock is released with the holder: the next build runs
    assert make_builder(work["knowledge"], work["index"], embedder).run().published is True


def test_keep_builds_prunes_old_builds(work, embedder):
    for keep, rounds in ((1, 3), (0, 1)):
        for number in range(rounds):
            write_doc(work["knowledge"], "gamma", GAMMA[0], body({"Overview": f"Gamma syndrome, version {keep}{number}."}))
            summary = make_builder(work["knowledge"], work["index"], embedder, keep_builds=keep).run()
            assert summary.published
        builds = sorted(p.name for p in (work["index"] / BUILDS).iterdir())
        assert len(builds) == keep + 1, builds
        assert current_build(work["index"]).name in builds
        assert load_current(work["index"]).build_id == summary.build_id


# ----------------------------------------------------------------------------- killed builds

MANY = 24  # enough passages that embedding them takes a while with batches of 2


def _builds(index_dir) -> list[str]:
    return sorted(p.name for p in (index_dir / BUILDS).iterdir())


def test_a_build_killed_while_embedding_leaves_the_old_index(work, embedder, tmp_path):
    old_id = load_current(work["index"]).build_id
    for number in range(MANY):
        write_doc(work["knowledge"], f"extra-{number}", f"Extra Document {number}",
                  f"## Part {number}\n\nThis extra document number {number} describes a rare tumour of type {number}.")
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "index", "build"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                   stderr=stderr, env=cli_env(work["knowledge"], work["index"], RCA_EMBED_BATCH_SIZE="2"))
        try:
            started = wait_for(lambda: "Embedding passages" in stderr_path.read_text(), process, timeout=150)
        finally:
            kill(process)
    output = stderr_path.read_text()
    assert started, f"the build never started embedding: {output[-2000:]}"
    assert process.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    assert "100%" not in output

    assert load_current(work["index"]).build_id == old_id
    assert _builds(work["index"]) == [old_id]
    summary = make_builder(work["knowledge"], work["index"], embedder).run()
    assert summary.published and summary.documents_added == [f"extra-{n}" for n in sorted(range(MANY), key=str)]
    assert not list(work["index"].glob(".tmp-*"))
    snapshot = load_current(work["index"])
    assert len(snapshot.documents) == 3 + MANY
    assert verify(work["knowledge"], work["index"]) == []


# The real CLI, with the lexical index's save slowed down so that the kill lands deterministically
# while the new build's files are being written into its `.tmp-*` folder.
SLOW_WRITE = """
import sys, time
import index.lexical as lexical
real_save = lexical.LexicalIndex.save
def slow_save(self, folder):
    real_save(self, folder)
    time.sleep(300)
lexical.LexicalIndex.save = slow_save
from index.__main__ import main
sys.exit(main(["build"]))
"""


def test_a_build_killed_while_writing_leaves_the_old_index_and_is_cleaned_up(work, embedder):
    old_id = load_current(work["index"]).build_id
    write_doc(work["knowledge"], "gamma", GAMMA[0], body({"Overview": "Gamma syndrome is rare and inherited."}))
    process = subprocess.Popen([sys.executable, "-c", SLOW_WRITE], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=cli_env(work["knowledge"], work["index"]))
    try:
        written = wait_for(lambda: any(work["index"].glob(".tmp-*/vocabulary.json")), process, timeout=150)
    finally:
        kill(process)
    assert written, process.stderr.read().decode()[-2000:]
    assert process.returncode == -signal.SIGKILL
    leftovers = list(work["index"].glob(".tmp-*"))
    assert leftovers and not (leftovers[0] / "manifest.json").exists()

    assert load_current(work["index"]).build_id == old_id
    assert (work["index"] / CURRENT).is_symlink()
    summary = make_builder(work["knowledge"], work["index"], embedder).run()
    assert summary.published and summary.documents_changed == ["gamma"]
    assert not list(work["index"].glob(".tmp-*"))
    assert "Gamma syndrome is rare and inherited." in load_current(work["index"]).documents["gamma"]["text"]
