"""What the dialogue needs loaded once per process: search, records, intents and entities.

The embedded engine and the Rasa action server share one `Resources`, built lazily from the settings
table; tests install their own with `use()`.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator

from bot.body_sites import SitedCancerLinker, SiteLinker
from bot.cancer_linker import CancerLinker
from bot.english import is_english_word
from bot.entities import EntityExtractor
from bot.intents import IntentClassifier
from bot.nlu_data import NluData, load_nlu
from index import settings
from bot.scope import Coverage
from index.search import Searcher
from knowledge.cancer_vocabulary import CancerVocabulary, load_vocabulary
from knowledge.trial_store import TrialStore


@dataclass
class Resources:
    searcher: Searcher
    nlu: NluData
    entities: EntityExtractor
    intents: IntentClassifier
    vocabulary: CancerVocabulary
    answer_threshold: float = 0.35
    domain_threshold: float = 0.5
    trial_store: TrialStore | None = None  # registry studies and curated trial records (knowledge/trial_store.py)
    trial_stale_days: float = 7.0

    def __post_init__(self) -> None:
        sites = SiteLinker.load(self.vocabulary, covered=lambda name: self.coverage.covered(name))
        self.linker = SitedCancerLinker(CancerLinker(self.vocabulary, self.entities), sites)
        self._coverage: tuple[Any, Coverage] | None = None

    @property
    def coverage(self) -> Coverage:
        """Which documents are about which cancers, for the index build in use."""
        snapshot = self.searcher.snapshot
        if self._coverage is None or self._coverage[0] is not snapshot:
            self._coverage = (snapshot, Coverage(self.vocabulary, snapshot.documents))
        return self._coverage[1]

    @property
    def organisations(self) -> list[dict[str, Any]]:
        return self.searcher.snapshot.records.get("organisations", [])

    def document(self, doc_id: str) -> dict[str, Any] | None:
        return self.searcher.snapshot.documents.get(doc_id)

    @classmethod
    def from_settings(cls, overrides: dict[str, Any] | None = None) -> "Resources":
        searcher = Searcher.from_settings(overrides)
        nlu = load_nlu()
        vocabulary = load_vocabulary(settings.get("cancer_vocabulary", overrides))
        entities = EntityExtractor(nlu, known_words=set(searcher.snapshot.lexical.vocabulary), cancers=vocabulary)
        intents = IntentClassifier(nlu, searcher.embedder, threshold=settings.get("intent_threshold", overrides),
                                   cache_dir=settings.get("cache_dir", overrides), delexicalize=entities.delexicalize)
        is_english_word("warm")  # load the English word list now (0.4 s), not on someone's first message
        resources = cls(searcher, nlu, entities, intents, vocabulary, settings.get("answer_threshold", overrides),
                        settings.get("domain_threshold", overrides),
                        _open_trial_store(settings.get("trial_store", overrides), vocabulary),
                        settings.get("trial_stale_days", overrides))
        resources.coverage.subjects  # the words documents are about (0.5 s), also before the first message
        curated = searcher.snapshot.records.get("trials", [])
        if resources.trial_store is not None and resources.trial_store.curated() != curated:
            resources.trial_store.put_curated(curated)  # a store made or replaced since the index was built
        return resources


def _open_trial_store(path: Any, vocabulary: CancerVocabulary) -> TrialStore:
    try:
        return TrialStore(path, vocabulary)
    except (OSError, ValueError, RuntimeError, sqlite3.Error) as exc:
        raise SystemExit(f"The trial store {path} cannot be opened ({exc}). Set RCA_TRIAL_STORE to a file in a "
                         "writable folder, e.g. var/trials.sqlite3 (make run starts it there).") from exc


_current: Resources | None = None
_lock = threading.Lock()
_in_use: ContextVar[Resources | None] = ContextVar("resources_in_use", default=None)


@contextmanager
def using(resources: Resources) -> Iterator[None]:
    """Actions run inside this see `resources` (the embedded engine passes its own this way)."""
    token = _in_use.set(resources)
    try:
        yield
    finally:
        _in_use.reset(token)


def get() -> Resources:
    global _current
    scoped = _in_use.get()
    if scoped is not None:
        return scoped
    if _current is None:
        with _lock:
            if _current is None:
                _current = Resources.from_settings()
    return _current


def use(resources: Resources | None) -> None:
    """Install (or with None, forget) the resources every action uses."""
    global _current
    _current = resources
