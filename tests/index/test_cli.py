"""`python -m index` in a subprocess, with RCA_KNOWLEDGE_DIR and RCA_INDEX_DIR pointing at tmp folders."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from index.build import build_lock
from index.store import load_current
from index_helpers import CORPUS, run_cli, write_corpus, write_doc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny corpus built by `python -m index build` itself, once for the module."""
    root = tmp_path_factory.mktemp("cli")
    knowledge = write_corpus(root / "knowledge")
    result = run_cli(["build"], knowledge, root / "index")
    return {"knowledge": knowledge, "index": root / "index", "result": result}


@pytest.mark.slow
def test_build_prints_the_summary_and_exits_0(built):
    result = built["result"]
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Documents: 4 added, 0 changed, 0 removed, 0 unchanged."
    passages = len(load_current(built["index"]).passages)
    assert lines[1] == f"Passages: {passages} added, 0 removed, 0 reused; {passages} embedded; {passages} in the index."
    assert lines[2] == "  added: " + ", ".join(sorted(CORPUS))
    assert re.fullmatch(r"Published build \d{8}T\d{12}-[0-9a-f]{6} in \d+\.\d s\.", lines[-1])
    assert f"Indexing {built['knowledge']} into {built['index']}" in result.stderr


@pytest.mark.slow
def test_build_again_publishes_nothing(built, tmp_path):
    index_dir = shutil.copytree(built["index"], tmp_path / "index", symlinks=True)
    result = run_cli(["build"], built["knowledge"], index_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Documents: 0 added, 0 changed, 0 removed, 4 unchanged."
    assert result.stdout.splitlines()[-1] == "Index already up to date; nothing published."


def test_build_with_a_broken_cancer_vocabulary_names_the_line_and_changes_nothing(built, tmp_path):
    vocabulary = tmp_path / "cancers.yml"
    vocabulary.write_text("- name: alpha cancer\n  family: digestive\n- name: Alpha Cancer\n  family: moon\n",
                          encoding="utf-8")
    index_dir = tmp_path / "index"
    result = run_cli(["build"], built["knowledge"], index_dir, RCA_CANCER_VOCABULARY=str(vocabulary))
    assert result.returncode == 1
    assert f"{vocabulary}:3: 'Alpha Cancer' has family 'moon', which is not a known family. Fix: " in result.stderr
    assert f"{vocabulary}:3: duplicate name 'Alpha Cancer' (also line 1). Fix: " in result.stderr
    assert "2 problem(s) in the cancer vocabulary; nothing was indexed" in result.stderr
    assert not index_dir.exists()


@pytest.mark.slow
def test_build_with_an_invalid_document_prints_file_line_errors_and_exits_1(built, tmp_path):
    knowledge = shutil.copytree(built["knowledge"], tmp_path / "knowledge")
    bad = knowledge / "bad.md"
    bad.write_text("---\nid: bad-doc\ntitle: Bad\npublisher: P\nlanguage: English\nlicence: L\n"
                   "last_reviewed: 2024-01-01\nauthor: me\n---\n\nText.\n", encoding="utf-8")
    index_dir = tmp_path / "index"
    result = run_cli(["build"], knowledge, index_dir)
    assert result.returncode == 1
    assert f"{bad}:5: invalid language 'English'. Fix: " in result.stderr
    assert f"{bad}:8: unknown field 'author'. Fix: " in result.stderr
    assert "2 problem(s) found; nothing was indexed and the current index is unchanged." in result.stderr
    assert result.stdout == "" and not index_dir.exists()


@pytest.mark.slow
def test_build_while_another_build_runs_exits_1(built, tmp_path):
    index_dir = shutil.copytree(built["index"], tmp_path / "index", symlinks=True)
    with build_lock(index_dir):
        result = run_cli(["build"], built["knowledge"], index_dir)
    assert result.returncode == 1
    assert "Another index build is running" in result.stderr


@pytest.mark.slow
def test_verify_exits_0_when_the_index_is_in_step(built):
    result = run_cli(["verify"], built["knowledge"], built["index"])
    assert result.returncode == 0, result.stderr
    assert "is sound and matches" in result.stdout


@pytest.mark.slow
def test_verify_exits_1_naming_a_changed_document(built, tmp_path):
    knowledge = shutil.copytree(built["knowledge"], tmp_path / "knowledge")
    title, body = CORPUS["irci"]
    changed = write_doc(knowledge, "irci", title, body + "\n\nA new paragraph was added.\n", url="https://example.org/irci")
    result = run_cli(["verify"], knowledge, built["index"])
    assert result.returncode == 1
    assert f"{changed}: 'irci' changed since it was indexed. Run `make index`." in result.stderr
    assert "soft-tissue-sarcoma" not in result.stderr


def test_verify_exits_1_without_an_index(tmp_path):
    result = run_cli(["verify"], tmp_path / "knowledge", tmp_path / "no-index")
    assert result.returncode == 1 and "make index" in result.stderr


@pytest.mark.slow
def test_search_json(built):
    result = run_cli(["search", "How is soft tissue sarcoma treated?", "--json", "--k", "3"], built["knowledge"],
                     built["index"])
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["query"] == "How is soft tissue sarcoma treated?"
    assert len(data["results"]) == 3
    texts = {doc_id: d["text"] for doc_id, d in load_current(built["index"]).documents.items()}
    for item in data["results"]:
        assert {"doc_id", "title", "section", "quote", "start", "end", "score"} <= set(item)
        assert item["quote"] == texts[item["doc_id"]][item["start"]:item["end"]]
    first = data["results"][0]
    assert (first["doc_id"], first["title"], first["section"]) == \
        ("soft-tissue-sarcoma", "Soft Tissue Sarcoma", "Treatment of soft tissue sarcoma")


@pytest.mark.slow
def test_search_reads_queries_from_stdin_one_json_line_each(built):
    queries = ["tamoxifen", "", "What happens during a skin biopsy?", "sarcomma treatmnt"]
    result = run_cli(["search", "--k", "2"], built["knowledge"], built["index"], stdin="\n".join(queries) + "\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["tamoxifen", "What happens during a skin biopsy?", "sarcomma treatmnt"]
    assert all(len(line["results"]) == 2 for line in lines)
    assert [line["results"][0]["doc_id"] for line in lines] == \
        ["uterine-sarcoma", "merkel-cell-carcinoma", "soft-tissue-sarcoma"]


@pytest.mark.slow
def test_search_prints_readable_results(built):
    result = run_cli(["search", "tamoxifen", "--k", "1"], built["knowledge"], built["index"])
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("1. Uterine Sarcoma > Risk factors  [uterine-sarcoma ")
    assert "tamoxifen" in result.stdout and "https://example.org/uterine-sarcoma" in result.stdout


@pytest.mark.parametrize("args", [["search", "sarcoma", "--k", "0"], ["search", "sarcoma", "--k", "many"],
                                  ["search", "sarcoma", "--retriever", "x"], ["frobnicate"], []])
def test_usage_errors_exit_2(tmp_path, args):
    result = run_cli(args, tmp_path / "knowledge", tmp_path / "index")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr
    if "--k" in args and "0" in args:
        assert "must be at least 1" in result.stderr


@pytest.mark.slow
def test_an_empty_query_is_a_usage_error(built):
    result = run_cli(["search", "  "], built["knowledge"], built["index"])
    assert result.returncode == 2
    assert "the query is empty" in result.stderr


def test_search_without_an_index_exits_1_naming_make_index(tmp_path):
    result = run_cli(["search", "sarcoma"], tmp_path / "knowledge", tmp_path / "no-index")
    assert result.returncode == 1
    assert "make index" in result.stderr and "Traceback" not in result.stderr
