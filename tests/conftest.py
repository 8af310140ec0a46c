"""Fixtures shared by every layer's tests: the embedding model and an index of the shipped knowledge.

Both are built once per session: the model loads in a few seconds, and the real index (about a
minute on 2 cores) goes to a temporary folder, never to var/index.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from index import settings

KNOWLEDGE = settings.PROJECT_ROOT / "knowledge"


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

    index_dir = tmp_path_factory.mktemp("real") / "index"
    IndexBuilder(KNOWLEDGE / "documents", index_dir, embedder, Chunker(), progress=None,
                 trials_dir=KNOWLEDGE / "trials", organisations_dir=KNOWLEDGE / "organisations").run()
    return index_dir


@pytest.fixture(scope="session")
def loaded(real_index_dir, embedder, tmp_path_factory):
    """Dialogue resources over the real index, installed for the actions for the whole session."""
    from bot import resources as bot_resources
    from bot.entities import EntityExtractor
    from bot.intents import IntentClassifier
    from bot.nlu_data import load_nlu
    from index.search import Searcher
    from index.store import load_current

    searcher = Searcher(load_current(real_index_dir), embedder)
    nlu = load_nlu()
    entities = EntityExtractor(nlu, known_words=set(searcher.snapshot.lexical.vocabulary))
    resources = bot_resources.Resources(
        searcher, nlu, entities,
        IntentClassifier(nlu, embedder, threshold=0.45, cache_dir=tmp_path_factory.mktemp("cache"),
                         delexicalize=entities.delexicalize))
    bot_resources.use(resources)
    yield resources
    bot_resources.use(None)
