"""Cancer type and country from a message: lookup tables plus synonyms from nlu.yml, tolerant of typos.

Every phrase of the lookup tables and synonyms maps to one canonical value. A message is matched
exactly first (longest phrase wins), then, for what is left, by fuzzy match of its word n-grams.
"""
from __future__ import annotations

import functools

import re
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from bot.english import is_english_word
from bot.nlu_data import NluData
from bm25s.stopwords import STOPWORDS_EN

from index.lexical import fold
from knowledge.cancer_vocabulary import CancerVocabulary

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


# "X cancer" is also written "cancer of the X" (and "tumour in the X"): each form of a name gets the others.
_HEADED = re.compile(r"^(?P<site>[a-z]+(?: [a-z]+)?) (?P<head>cancer|tumor|tumour|carcinoma|sarcoma|melanoma|lymphoma)$")


def cancer_phrases(cancers: CancerVocabulary) -> dict[str, str]:
    """Every written form of every vocabulary entry (with its word-order variants) -> canonical name."""
    phrases: dict[str, str] = {}
    for cancer in cancers.types:
        for phrase in cancer.phrases:
            phrases.setdefault(phrase, cancer.name)
    for phrase, name in list(phrases.items()):
        if " of the " in phrase:
            phrases.setdefault(phrase.replace(" of the ", " in the "), name)
        match = _HEADED.match(_key(phrase))
        if match:
            for variant in (f"{match['head']} of the {match['site']}", f"{match['head']} of {match['site']}",
                            f"{match['head']} in the {match['site']}"):
                phrases.setdefault(variant, name)
    return phrases


def _in_capitals(written: str) -> bool:
    """"GIST", "U.S.", and a plural "GISTs"; not "gist" or "Us"."""
    return written.isupper() or (written.endswith("s") and len(written) > 2 and written[:-1].isupper())


def _edits_allowed(phrase: str) -> int:
    return 1 if len(phrase) < 8 else 2


class EntityExtractor:
    """`known_words`: correctly spelt words (e.g. the corpus vocabulary) that are never typo-corrected,
    so "woman" does not become "Oman"."""

    def __init__(self, nlu: NluData, known_words: set[str] | frozenset[str] = frozenset(), min_fuzzy_length: int = 5,
                 cancers: CancerVocabulary | None = None):
        """`cancers`: the cancer vocabulary names cancer types (nlu.yml's cancer_type values then only
        count where the vocabulary knows them)."""
        if min_fuzzy_length < 3:
            raise ValueError(f"min_fuzzy_length must be at least 3, got {min_fuzzy_length}")
        self.min_fuzzy_length = min_fuzzy_length
        self.known_words = {fold(w) for w in known_words}
        # How specific each cancer is: how many broader cancers it is a kind of (MALT lymphoma 3, gastric lymphoma 2).
        self._depth = {c.name: len(cancers.ancestors(c.name)) for c in cancers.types} if cancers is not None else {}
        self.phrases: dict[str, tuple[str, str]] = {}  # folded phrase -> (entity, canonical)
        abbreviations: set[str] = set()
        if cancers is not None:
            for phrase, name in cancer_phrases(cancers).items():
                self.phrases.setdefault(_key(phrase), ("cancer_type", name))
            abbreviations = {_key(a) for cancer in cancers.types for a in cancer.abbreviations}
            abbreviations.update(_key(a) + "s" for a in list(abbreviations))  # "GISTs"
            for a in cancers.types:
                for abbreviation in a.abbreviations:
                    self.phrases.setdefault(_key(abbreviation), ("cancer_type", a.name))
                    self.phrases.setdefault(_key(abbreviation) + "s", ("cancer_type", a.name))
        for entity in ENTITIES:
            for value in nlu.lookups.get(entity, set()):
                self.phrases.setdefault(_key(value), (entity, nlu.synonyms.get(value.lower(), value)))
        canonical_entity = {canonical: entity for entity, canonical in self.phrases.values()}
        for variant, canonical in nlu.synonyms.items():
            entity = canonical_entity.get(canonical) or self.phrases.get(_key(canonical), (None, ""))[0]
            if entity:
                self.phrases.setdefault(_key(variant), (entity, canonical))
                self.phrases.setdefault(_key(canonical), (entity, canonical))
        if cancers is not None:  # nlu.yml's own cancer names, as the vocabulary names them, or not at all
            for key, (entity, value) in list(self.phrases.items()):
                if entity == "cancer_type":
                    known = cancers.canonical(value) or self.phrases.get(_key(value), ("", ""))[1]
                    if cancers.get(known) is None:
                        del self.phrases[key]
                    else:
                        self.phrases[key] = (entity, cancers.get(known).name)
        self.phrases = {k: v for k, v in self.phrases.items() if k and k not in _GENERIC}
        # Abbreviations ("GIST", "LCH"), and those that are also common words ("US" / "us"), count only
        # when written in capitals.
        self.capitals_only = {_key(v): v for v in list(nlu.synonyms) + [x for vs in nlu.lookups.values() for x in vs]
                              if _key(v) in _COMMON_WORDS and _key(v) in self.phrases}
        self.capitals_only.update((a, a) for a in abbreviations if a in self.phrases)
        self._fuzzy_keys: dict[int, list[str]] = {}  # by word count: a typo rarely adds or drops a word
        for key in self.phrases:
            if len(key) >= min_fuzzy_length and key not in self.capitals_only:
                self._fuzzy_keys.setdefault(len(key.split()), []).append(key)
        self._longest = max((len(k.split()) for k in self.phrases), default=1)
        # Every way `phrase` can match begins with a key's first word, a beginning of one (a word split
        # in two) or its plural: other words start no name, and most of a message is skipped at once.
        self._starts = frozenset(first[:n] for key in self.phrases for first in [key.split()[0]]
                                 for n in range(1, len(first) + 1))
        self._find = functools.lru_cache(maxsize=1024)(self._find)  # type: ignore[method-assign]

    def exact(self, entity: str, text: str) -> str | None:
        """The canonical value of the whole phrase, matched exactly (case, accents and spelling folded):
        "gastrointestinal stromal tumour" -> "gastrointestinal stromal tumor"; None for anything else."""
        hit = self.phrase(_key(text))
        return hit[1] if hit and hit[0] == entity else None

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
        owner: list[Entity | None] = [None] * len(tokens)  # the entity each token belongs to
        less_specific = self._less_specific(tokens, text)
        # Every exact name first, longest first; then typos among the rest. A misspelt longer name may
        # take in whole exact ones ("uterin sarcoma" holds "sarcoma"), never part of one.
        for fuzzy in (False, True):
            for size in range(min(self._longest, len(tokens)), 0, -1):
                for i in range(len(tokens) - size + 1):
                    inside = owner[i:i + size]
                    if (not fuzzy and (any(inside) or (i, size) in less_specific)) or all(inside):
                        continue
                    if fuzzy and any(e is not None and (e.start < tokens[i][1] or e.end > tokens[i + size - 1][2])
                                     for e in inside):
                        continue
                    if not fuzzy and not self._may_start(tokens[i][0]):
                        continue
                    phrase = " ".join(t for t, _, _ in tokens[i:i + size])
                    hit, score = (None, 100.0) if fuzzy else (self.phrase(phrase), 100.0)
                    new_words = " ".join(t for (t, _, _), e in zip(tokens[i:i + size], inside) if e is None)
                    if fuzzy and self._may_be_misspelt(new_words) and self._may_be_misspelt(phrase):
                        match = self._closest(phrase, size)
                        if match:
                            hit, score = self.phrases[match[0]], 100.0 * (1 - match[1] / max(len(phrase), 1))
                    if hit is None or any(e is not None and e.value == hit[1] for e in inside):
                        continue
                    start, end = tokens[i][1], tokens[i + size - 1][2]
                    if phrase in self.capitals_only and not _in_capitals(text[start:end]):
                        continue
                    owner[i:i + size] = [Entity(hit[0], hit[1], text[start:end], start, end, score)] * size
        found = {id(e): e for e in owner if e is not None}
        return tuple(sorted(found.values(), key=lambda e: e.start))

    def _exact_names(self, tokens: list[tuple[str, int, int]], text: str) -> list[tuple[int, int, str]]:
        """Every cancer name written exactly: (first token, word count, canonical name)."""
        found = []
        for size in range(min(self._longest, len(tokens)), 0, -1):
            for i in range(len(tokens) - size + 1):
                if not self._may_start(tokens[i][0]):
                    continue
                phrase = " ".join(t for t, _, _ in tokens[i:i + size])
                hit = self.phrase(phrase)
                if hit is None or hit[0] != "cancer_type":
                    continue
                if phrase in self.capitals_only and not _in_capitals(text[tokens[i][1]:tokens[i + size - 1][2]]):
                    continue
                found.append((i, size, hit[1]))
        return found

    def _less_specific(self, tokens: list[tuple[str, int, int]], text: str) -> set[tuple[int, int]]:
        """Exact names that overlap a more specific one, neither holding the other: "MALT lymphoma of
        the stomach" is one mention, of MALT lymphoma (a kind of marginal zone lymphoma), not of gastric
        lymphoma ("lymphoma of the stomach"). A name that holds another still wins by length."""
        names = self._exact_names(tokens, text) if self._depth else []
        beaten = set()
        for i, size, name in names:
            for j, other_size, other in names:
                overlap = i < j + other_size and j < i + size
                holds = (i <= j and j + other_size <= i + size) or (j <= i and i + size <= j + other_size)
                if overlap and not holds and self._depth.get(other, 0) > self._depth.get(name, 0):
                    beaten.add((i, size))
        return beaten

    def _may_start(self, word: str) -> bool:
        return word in self._starts or (len(word) > 4 and word.endswith("s") and word[:-1] in self._starts)

    def phrase(self, phrase: str) -> tuple[str, str] | None:
        """A known phrase as written, with plurals made singular ("soft tissues"), or with a word split
        in two joined again ("gastro intestinal")."""
        hit = self.phrases.get(phrase)
        if hit is None:
            hit = self.phrases.get(" ".join(w[:-1] if len(w) > 4 and w.endswith("s") else w for w in phrase.split()))
        spaces = [i for i, c in enumerate(phrase) if c == " "]
        for space in spaces if hit is None and len(spaces) < 6 else []:
            hit = self.phrases.get(phrase[:space] + phrase[space + 1:])
            if hit is not None:
                break
        return hit

    def _closest(self, phrase: str, size: int) -> tuple[str, int] | None:
        """The known phrase within the allowed edits of a misspelt one, of its word count or one fewer
        (a word split in two: "gastro intestinal"); of equally close ones, the one that begins alike."""
        keys = self._fuzzy_keys.get(size, []) + self._fuzzy_keys.get(size - 1, [])
        found = process.extract(phrase, keys, scorer=Levenshtein.distance, score_cutoff=_edits_allowed(phrase), limit=8)
        if not found:
            return None
        best = min(distance for _, distance, _ in found)
        nearest = [key for key, distance, _ in found if distance == best]
        return max(nearest, key=lambda key: (JaroWinkler.similarity(phrase, key), key)), best

    def _may_be_misspelt(self, phrase: str) -> bool:
        words = phrase.split()
        if len(phrase) < self.min_fuzzy_length or set(words) <= _GENERIC:
            return False
        # A misspelt word is one the corpus doesn't know, and not a short function word ("a cancer").
        # A word alone that is English is no typo either ("haematoma" is not a misspelt "hepatoma"); among
        # the other words of a name it may be one ("male brest cancer").
        return any(w not in self.known_words and w not in _GENERIC and w not in _COMMON_WORDS and len(w) > 3
                   and (len(words) > 1 or not is_english_word(w)) for w in words)

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
