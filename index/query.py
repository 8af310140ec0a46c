"""Query rewriting before retrieval: typo correction against the corpus vocabulary, and lay terms.

Both retrievers see the rewritten query, so "cancer of the womb" also looks for "uterine", and
"sarcomma" is read as "sarcoma". Lay terms come from `knowledge/lay_terms.yml`, which maintainers curate.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from index.lexical import STOPWORDS, fold, words

LAY_TERMS_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "lay_terms.yml"


@dataclass
class RewrittenQuery:
    original: str
    text: str  # what dense retrieval embeds
    words: list[str]  # what lexical retrieval stems and matches
    corrections: dict[str, str]
    expansions: list[str]


def load_lay_terms(path: Path = LAY_TERMS_FILE) -> dict[str, list[str]]:
    """Lay phrase -> medical terms. A missing file means no lay terms; a malformed one is an error."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError(f"{path}: expected 'lay phrase: [medical term, ...]' entries. Fix the file's layout.")
    return {fold(str(k)).strip(): [str(t) for t in v] for k, v in data.items()}


class QueryRewriter:
    def __init__(self, vocabulary: dict[str, int], lay_terms: dict[str, list[str]] | None = None,
                 min_length: int = 4):
        self.vocabulary = vocabulary
        self.lay_terms = lay_terms if lay_terms is not None else load_lay_terms()
        self.min_length = min_length
        self._words = [w for w in vocabulary if len(w) >= 3 and not w.isdigit()]
        self._patterns = [(re.compile(rf"\b{re.escape(phrase)}\b"), terms) for phrase, terms in self.lay_terms.items()]

    def to_dict(self) -> dict[str, Any]:
        return {"typo_min_length": self.min_length, "lay_terms": len(self.lay_terms)}

    def correct(self, word: str) -> str | None:
        """The corpus word closest to an unknown word, within 1 edit (2 for long words), else None."""
        if word in self.vocabulary or len(word) < self.min_length or word.isdigit() or word in STOPWORDS:
            return None
        limit = 1 if len(word) < 8 else 2
        match = process.extractOne(word, self._words, scorer=Levenshtein.distance, score_cutoff=limit)
        if match is None:
            return None
        candidates = [w for w, d, _ in process.extract(word, self._words, scorer=Levenshtein.distance,
                                                       score_cutoff=match[1], limit=20) if d == match[1]]
        return max(candidates, key=lambda w: (self.vocabulary[w], w))  # most frequent of the nearest

    def run(self, query: str) -> RewrittenQuery:
        corrections: dict[str, str] = {}
        query_words = words(query)
        for word in query_words:
            fixed = self.correct(word)
            if fixed:
                corrections[word] = fixed
        folded = fold(query)
        expansions: list[str] = []
        for pattern, terms in self._patterns:
            if pattern.search(folded):
                expansions.extend(t for t in terms if t not in expansions)
        text = folded  # the model is uncased; folding also puts British spellings in the corpus's form
        for wrong, right in corrections.items():
            text = re.sub(rf"\b{re.escape(wrong)}\b", right, text)
        if expansions:
            text = f"{text} ({', '.join(expansions)})"
        lexical = [corrections.get(w, w) for w in query_words] + [w for t in expansions for w in words(t)]
        return RewrittenQuery(query, text, lexical, corrections, expansions)
