"""Cancer type and country from a message: lookup tables plus synonyms from nlu.yml, tolerant of typos.

Every phrase of the lookup tables and synonyms maps to one canonical value. A message is matched
exactly first (longest phrase wins), then, for what is left, by fuzzy match of its word n-grams.
"""
from __future__ import annotations

import functools

import re
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.nlu_data import NluData
from bm25s.stopwords import STOPWORDS_EN

from index.lexical import fold

ENTITIES = ("cancer_type", "country")
_WORDS = re.compile(r"[a-z0-9]+")
# Runs of the text as written that fold on their own: dotted acronyms ("U.S.") and words. Folding
# changes lengths ("U.S." -> "us", "ﬁ" -> "fi"), so each run is folded apart to keep its offsets.
_RUNS = re.compile(r"(?:[A-Za-z]\.){2,}|[^\W_]+")
# Words too general to name a cancer or a country on their own.
_COMMON_WORDS = frozenset(STOPWORDS_EN) | {"us"}
_GENERIC = {"cancer", "cancers", "tumor", "tumors", "tumour", "tumours", "carcinoma", "disease", "rare", "the", "of"}


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str  # canonical
    text: str  # as written
    start: int
    end: int
    score: float  # 100 for an exact match

    def to_dict(self) -> dict[str, object]:
        return {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end,
                "text": self.text, "confidence": round(self.score / 100, 3)}


def _key(text: str) -> str:
    return " ".join(_WORDS.findall(fold(text)))


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """The folded words of a text, each with the offsets of the characters it was folded from."""
    tokens = []
    for run in _RUNS.finditer(text):
        folded = _WORDS.findall(fold(run.group()))
        if len(folded) == 1:  # nearly always: a word, or a dotted acronym
            tokens.append((folded[0], run.start(), run.end()))
            continue
        # A character in the run folds to more than a word ("¼" -> "1⁄4"): it stands alone, and the
        # characters between such ones are folded together (spellings span characters).
        piece = run.start()
        for position in range(run.start(), run.end() + 1):
            alone = position < run.end() and not _WORDS.fullmatch(fold(text[position]))
            if (alone or position == run.end()) and piece < position:
                tokens.extend((word, piece, position) for word in _WORDS.findall(fold(text[piece:position])))
            if alone:
                tokens.extend((word, position, position + 1) for word in _WORDS.findall(fold(text[position])))
                piece = position + 1
    return tokens


def _edits_allowed(phrase: str) -> int:
    return 1 if len(phrase) < 8 else 2


class EntityExtractor:
    """`known_words`: correctly spelt words (e.g. the corpus vocabulary) that are never typo-corrected,
    so "woman" does not become "Oman"."""

    def __init__(self, nlu: NluData, known_words: set[str] | frozenset[str] = frozenset(), min_fuzzy_length: int = 5):
        if min_fuzzy_length < 3:
            raise ValueError(f"min_fuzzy_length must be at least 3, got {min_fuzzy_length}")
        self.min_fuzzy_length = min_fuzzy_length
        self.known_words = {fold(w) for w in known_words}
        self.phrases: dict[str, tuple[str, str]] = {}  # folded phrase -> (entity, canonical)
        for entity in ENTITIES:
            for value in nlu.lookups.get(entity, set()):
                self.phrases.setdefault(_key(value), (entity, nlu.synonyms.get(value.lower(), value)))
        canonical_entity = {canonical: entity for entity, canonical in self.phrases.values()}
        for variant, canonical in nlu.synonyms.items():
            entity = canonical_entity.get(canonical) or self.phrases.get(_key(canonical), (None, ""))[0]
            if entity:
                self.phrases[_key(variant)] = (entity, canonical)
                self.phrases.setdefault(_key(canonical), (entity, canonical))
        self.phrases = {k: v for k, v in self.phrases.items() if k and k not in _GENERIC}
        # Abbreviations that are also common words ("US" / "us") count only when written in capitals.
        self.capitals_only = {_key(v): v for v in list(nlu.synonyms) + [x for vs in nlu.lookups.values() for x in vs]
                              if _key(v) in _COMMON_WORDS and _key(v) in self.phrases}
        self._fuzzy_keys = [k for k in self.phrases if len(k) >= min_fuzzy_length]
        self._longest = max((len(k.split()) for k in self.phrases), default=1)
        self._find = functools.lru_cache(maxsize=1024)(self._find)  # type: ignore[method-assign]

    def canonical(self, entity: str, text: str) -> str | None:
        """The canonical value of a phrase (exactly, else fuzzily), or None."""
        found = [e for e in self.run(text) if e.entity == entity]
        return found[0].value if found else None

    def run(self, text: str) -> list[Entity]:
        return list(self._find(text))

    def _find(self, text: str) -> tuple[Entity, ...]:
        # Replaced by a per-instance LRU cache in __init__: one turn asks about the same text several
        # times (routing, delexicalising for intents, the actions' slot checks).
        tokens = _tokens(text)
        taken = [False] * len(tokens)
        found: list[Entity] = []
        for size in range(min(self._longest, len(tokens)), 0, -1):
            for i in range(len(tokens) - size + 1):
                if any(taken[i:i + size]):
                    continue
                phrase = " ".join(t for t, _, _ in tokens[i:i + size])
                hit = self.phrases.get(phrase)
                score = 100.0
                if hit is None and self._may_be_misspelt(phrase):
                    limit = _edits_allowed(phrase)
                    match = process.extractOne(phrase, self._fuzzy_keys, scorer=Levenshtein.distance, score_cutoff=limit)
                    if match:
                        hit, score = self.phrases[match[0]], 100.0 * (1 - match[1] / max(len(phrase), 1))
                if hit is None:
                    continue
                start, end = tokens[i][1], tokens[i + size - 1][2]
                if phrase in self.capitals_only and not text[start:end].isupper():
                    continue
                found.append(Entity(hit[0], hit[1], text[start:end], start, end, score))
                taken[i:i + size] = [True] * size
        return tuple(sorted(found, key=lambda e: e.start))

    def _may_be_misspelt(self, phrase: str) -> bool:
        words = phrase.split()
        if len(phrase) < self.min_fuzzy_length or set(words) <= _GENERIC:
            return False
        return not all(w in self.known_words or w in _GENERIC for w in words)

    def delexicalize(self, text: str) -> str:
        """The text with each entity replaced by its kind ("trials for cancer in country")."""
        for found in sorted(self.run(text), key=lambda e: -e.start):
            placeholder = "cancer" if found.entity == "cancer_type" else "country"
            text = text[:found.start] + placeholder + text[found.end:]
        return text

    def first(self, text: str) -> dict[str, str]:
        """The first value of each entity found: {"cancer_type": ..., "country": ...}."""
        values: dict[str, str] = {}
        for entity in self.run(text):
            values.setdefault(entity.entity, entity.value)
        return values
