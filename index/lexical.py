"""BM25 over passage contexts (bm25s), with English stemming and British/American spelling folded."""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

TOKENIZER_VERSION = 2  # bump when tokenisation changes, so indexes get their BM25 rebuilt
_WORD = re.compile(r"[a-z0-9]+")
# British spellings folded to American ones before stemming, so either finds both.
_SPELLING = [(re.compile(p), r) for p, r in [
    (r"tumour", "tumor"), (r"oesophag", "esophag"), (r"haem", "hem"), (r"leukaem", "leukem"), (r"anaem", "anem"),
    (r"paediatr", "pediatr"), (r"oestr", "estr"), (r"foetus", "fetus"), (r"oedema", "edema"), (r"coloured", "colored"),
    (r"centre", "center"), (r"behaviour", "behavior"), (r"organis", "organiz"), (r"randomis", "randomiz"),
    (r"ae(?=mia)", "e"), (r"gynaec", "gynec"), (r"orthopaed", "orthoped"),
]]
# "us" stays a word: it is also the U.S., and a stray pronoun costs little.
STOPWORDS = (frozenset(STOPWORDS_EN) | {"s", "t"}) - {"us"}


_DOTTED_ACRONYM = re.compile(r"\b((?:[A-Za-z]\.){2,})")


def fold(text: str) -> str:
    """Lower case, accents removed, dotted acronyms joined ("U.S." -> "us"), British spellings folded."""
    # Short texts (words, headings, messages) recur in every turn: remembered, as folding is hot.
    return _fold_short(text) if len(text) <= SHORT_TEXT else _fold(text)


SHORT_TEXT = 120


def _fold(text: str) -> str:
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(1).replace(".", "") + " ", text)
    text = text.lower()
    if not text.isascii():  # ASCII has nothing to decompose; most text is ASCII, and this is hot
        # lower again: compatibility forms decompose to capitals too (mathematical bold "𝐓" -> "T")
        text = unicodedata.normalize("NFKD", text).lower()
        text = "".join(c for c in text if not unicodedata.combining(c))
    for pattern, replacement in _SPELLING:
        text = pattern.sub(replacement, text)
    return text


_fold_short = functools.lru_cache(maxsize=32768)(_fold)


def words(text: str) -> list[str]:
    """The content words of a text: folded, without stopwords, not yet stemmed."""
    return [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS]


class Tokenizer:
    def __init__(self, language: str = "english"):
        self.language = language
        self._stemmer = Stemmer.Stemmer(language)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "regex-snowball", "version": TOKENIZER_VERSION, "language": self.language,
                "stopwords": "bm25s-en", "spelling": "en-GB->en-US"}

    def stems(self, tokens: list[str]) -> list[str]:
        return self._stemmer.stemWords(tokens)

    def __call__(self, text: str) -> list[str]:
        return self.stems(words(text))


class LexicalIndex:
    """BM25 scores of every passage for a query, plus the corpus vocabulary for typo correction."""

    FILES = ("bm25", "vocabulary.json")

    def __init__(self, bm25: Any, vocabulary: dict[str, int], tokenizer: Tokenizer):
        self.bm25 = bm25
        self.vocabulary = vocabulary  # surface word -> corpus frequency
        self.tokenizer = tokenizer

    @classmethod
    def build(cls, texts: list[str], tokenizer: Tokenizer, k1: float = 1.2, b: float = 0.75) -> "LexicalIndex":
        vocabulary: dict[str, int] = {}
        corpus = []
        for text in texts:
            surface = words(text)
            for word in surface:
                vocabulary[word] = vocabulary.get(word, 0) + 1
            corpus.append(tokenizer.stems(surface) or ["<empty>"])
        bm25 = bm25s.BM25(k1=k1, b=b)
        bm25.index(corpus, show_progress=False)
        return cls(bm25, vocabulary, tokenizer)

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder / "bm25"), show_progress=False)
        (folder / "vocabulary.json").write_text(json.dumps(self.vocabulary, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, tokenizer: Tokenizer) -> "LexicalIndex":
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
        vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        return cls(bm25, vocabulary, tokenizer)

    @property
    def size(self) -> int:
        return int(self.bm25.scores["num_docs"])

    def scores(self, stems: list[str]) -> np.ndarray:
        known = [s for s in stems if s in self.bm25.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)

    @staticmethod
    def top(scores: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The n best (position, score) pairs of a scores array, best first, zero scores left out."""
        n = min(n, len(scores))
        if n == 0 or not scores.any():
            return []
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(i), float(scores[i])) for i in best if scores[i] > 0]
