"""The dialogue layer's tests run on the shipped knowledge, indexed once per session into tmp."""
from __future__ import annotations

import pytest

from bot import resources as bot_resources
from bot.entities import EntityExtractor
from bot.intents import IntentClassifier
from bot.nlu_data import load_nlu
from index.search import Searcher
from index.store import load_current


@pytest.fixture(scope="session")
def loaded(real_index_dir, embedder, tmp_path_factory):
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


@pytest.fixture(autouse=True)
def _reports_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("RCA_REPORTS_DIR", str(tmp_path / "reports"))
