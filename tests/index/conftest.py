"""Fixtures for the tests of the `index` layer.

The embedding model is loaded once per session (`embedder`) and shared. Indexes are only ever built
in tmp_path folders over a few tiny purpose-written documents; var/index and ../shared are never read.
Helpers live in index_helpers.py (a plain module: tests/ folders have no __init__.py).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from index_helpers import copy_index, make_builder, write_corpus


@pytest.fixture(autouse=True)
def _no_rca_settings_from_the_environment(monkeypatch):
    """Settings come from the tests, never from the developer's shell (or var/index)."""
    for name in [n for n in os.environ if n.startswith("RCA_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory, embedder) -> dict[str, Path]:
    """The CORPUS built once per session. Tests that change it must copy it first (copy_index)."""
    root = tmp_path_factory.mktemp("tiny")
    knowledge = write_corpus(root / "knowledge")
    index_dir = root / "index"
    make_builder(knowledge, index_dir, embedder).run()
    return {"root": root, "knowledge": knowledge, "index": index_dir}


@pytest.fixture
def tiny_copy(tiny_index, tmp_path) -> dict[str, Path]:
    """A private copy of the tiny knowledge folder and its index, free to change."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(tiny_index["knowledge"], knowledge)
    index_dir = copy_index(tiny_index["index"], tmp_path / "index")
    return {"root": tmp_path, "knowledge": knowledge, "index": index_dir}
