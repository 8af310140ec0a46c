"""Fixtures shared by every layer's tests: the embedding model and an index of the shipped knowledge.

Both are built once per session: the model loads in a few seconds. The real index is built
incrementally in var/cache/test-real-index from the vectors shipped in knowledge/vectors/ (a few
seconds the first time; the build embeds only what they and the previous build lack) and copied to a temporary folder, so tests
never touch var/index and may change their copy.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from index import settings

KNOWLEDGE = settings.PROJECT_ROOT / "knowledge"
os.environ.setdefault("RCA_RATE_LIMIT_PER_MINUTE", "0")  # tests that measure the limit set it themselves
# Servers, builds and action servers the tests start never touch var/trials.sqlite3.
os.environ.setdefault("RCA_TRIAL_STORE", os.path.join(tempfile.mkdtemp(prefix="rca-test-trials-"), "trials.sqlite3"))


@pytest.fixture(scope="session")
def embedder():
    """The real embedding model, loaded once for the whole session."""
    from index.embedder import Embedder

    model = Embedder()
    model.dimension  # load now, so no test pays for it alone
    return model


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory, embedder) -> Path:
    """The shipped documents and records, indexed once into a temporary folder."""
    from index.build import IndexBuilder
    from index.chunker import Chunker

    from index.build import BuildLocked
    from knowledge.cancer_vocabulary import load_vocabulary

    cached = settings.PROJECT_ROOT / "var" / "cache" / "test-real-index"
    for _attempt in range(600):  # another test run may be building it: wait for it, then catch up
        try:
            IndexBuilder(KNOWLEDGE / "documents", cached, embedder, Chunker(), progress=None,
                         trials_dir=KNOWLEDGE / "trials", organisations_dir=KNOWLEDGE / "organisations",
                         vocabulary=load_vocabulary(), vectors_dir=KNOWLEDGE / "vectors").run()
            break
        except BuildLocked:
            time.sleep(0.5)
    index_dir = tmp_path_factory.mktemp("real") / "index"
    shutil.copytree(cached, index_dir, symlinks=True)
    return index_dir


@pytest.fixture(scope="session")
def loaded(real_index_dir, embedder, tmp_path_factory):
    """Dialogue resources over the real index, installed for the actions for the whole session."""
    from bot import resources as bot_resources
    from bot.entities import EntityExtractor
    from bot.intents import IntentClassifier
    from bot.nlu_data import load_nlu
    from index.search import Searcher, fusions
    from index.store import load_current
    from trial_data import recorded_trial_store

    from knowledge.cancer_vocabulary import load_vocabulary

    fusion, scoped = fusions()  # the settings' weights, as the server searches
    searcher = Searcher(load_current(real_index_dir), embedder, fusion, scoped_fusion=scoped)
    nlu = load_nlu()
    vocabulary = load_vocabulary()
    entities = EntityExtractor(nlu, known_words=set(searcher.snapshot.lexical.vocabulary), cancers=vocabulary)
    resources = bot_resources.Resources(
        searcher, nlu, entities,
        IntentClassifier(nlu, embedder, threshold=0.45, cache_dir=tmp_path_factory.mktemp("cache"),
                         delexicalize=entities.delexicalize), vocabulary,
        trial_store=recorded_trial_store(tmp_path_factory.mktemp("trials") / "trials.sqlite3", vocabulary,
                                         searcher.snapshot.records.get("trials", [])))
    bot_resources.use(resources)
    yield resources
    bot_resources.use(None)

