"""Intent classification: nearest neighbours over sentence embeddings of the nlu.yml examples.

An intent's score is the mean cosine similarity of its k closest examples. Below `threshold` the
classifier abstains (returns None) and the engine falls back on what retrieval can say. Example
vectors are cached on disk, keyed by the nlu.yml digest and the model, so start-up is fast. A fresh
clone starts from the vectors shipped in bot/data/vectors/ (index/shipped_vectors.py: keyed by each
example's text and the model, checked before use); `python -m bot.intents` rewrites them.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bot.nlu_data import NluData
from index.embedder import Embedder
from index.lexical import fold
from index.shipped_vectors import ShippedVectors, model_folder, write_shipped

SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "vectors"
log = logging.getLogger("bot")


@dataclass(frozen=True)
class IntentPrediction:
    name: str | None  # None: below the threshold
    confidence: float
    ranking: tuple[tuple[str, float], ...]


class IntentClassifier:
    def __init__(self, nlu: NluData, embedder: Embedder, k: int = 3, threshold: float = 0.5,
                 cache_dir: Path | None = None, delexicalize: Callable[[str], str] | None = None,
                 shipped_dir: Path | None = SHIPPED_DIR):
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if not 0 <= threshold < 1:
            raise ValueError(f"threshold must be in [0, 1), got {threshold}")
        if not nlu.examples:
            raise ValueError("nlu data has no intent examples; check bot/data/nlu.yml")
        self.k = k
        self.threshold = threshold
        self.embedder = embedder
        # Entity values replaced by their kind, in examples and messages alike, so "trials for <a long
        # cancer name>" is judged by its request, not by the cancer's words.
        self.delexicalize = delexicalize or (lambda text: text)
        self.labels: list[str] = []
        self.texts: list[str] = []  # what is embedded: each example folded and delexicalized
        for intent in nlu.intents:
            for text in nlu.examples[intent]:
                self.labels.append(intent)
                self.texts.append(self.delexicalize(fold(text)))
        self.intents = nlu.intents
        self._label_index = np.array([self.intents.index(label) for label in self.labels])
        self.shipped_used = 0  # example vectors that came from the shipped ones
        self.vectors = self._vectors(self.texts, nlu.digest, cache_dir, shipped_dir)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "knn-embedding", "k": self.k, "threshold": self.threshold, "examples": len(self.labels),
                "delexicalized": self.delexicalize("x") == "x"}

    def _vectors(self, texts: list[str], digest: str, cache_dir: Path | None, shipped_dir: Path | None) -> np.ndarray:
        content = hashlib.sha256("\n".join(texts).encode()).hexdigest()
        model = model_folder(self.embedder.to_dict())  # the weights and the runtime
        key = hashlib.sha256(f"{digest}:{content}:{model}".encode()).hexdigest()[:16]
        path = cache_dir / f"intent-vectors-{key}.npy" if cache_dir else None
        if path is not None and path.is_file():
            try:
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape[0] == len(texts):
                    return vectors
            except (OSError, ValueError):
                pass  # a damaged cache is rebuilt below
        vectors = self._shipped_or_embedded(texts, shipped_dir)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as handle:
                np.save(handle, vectors, allow_pickle=False)
            os.replace(handle.name, path)
        return vectors

    def _shipped_or_embedded(self, texts: list[str], shipped_dir: Path | None) -> np.ndarray:
        shipped = ShippedVectors(shipped_dir, self.embedder, fix="python -m bot.intents") if shipped_dir else None
        found = shipped.find(texts) if shipped is not None else {}
        if shipped is not None and shipped.warning:
            log.warning("%s", shipped.warning)
        rest = [i for i in range(len(texts)) if i not in found]
        embedded = dict(zip(rest, self.embedder.encode([texts[i] for i in rest], batch_size=128))) if rest else {}
        self.shipped_used = len(found)
        return np.ascontiguousarray(np.vstack([found[i] if i in found else embedded[i] for i in range(len(texts))]),
                                    dtype=np.float32)

    def write_shipped(self, root: Path = SHIPPED_DIR) -> str:
        """Writes these example vectors as the shipped ones (one file, `intents`); returns what was done."""
        model = self.embedder.to_dict()
        summary = write_shipped(root, model, [("intents", dict(zip(self.texts, self.vectors)))], int(self.vectors.shape[1]))
        return summary.line()

    def query_text(self, text: str) -> str:
        """What the classifier embeds for a message: folded, with entity values replaced by their kind."""
        return self.delexicalize(fold(text))

    def scores(self, text: str) -> dict[str, float]:
        similarity = self.vectors @ self.embedder.encode_query(self.query_text(text))
        result = {}
        for position, intent in enumerate(self.intents):
            own = np.sort(similarity[self._label_index == position])[::-1][: self.k]
            result[intent] = float(own.mean()) if len(own) else 0.0
        return result

    def run(self, text: str) -> IntentPrediction:
        ranking = tuple(sorted(self.scores(text).items(), key=lambda item: -item[1]))
        best, confidence = ranking[0]
        return IntentPrediction(best if confidence >= self.threshold else None, round(confidence, 4), ranking)


def main() -> int:
    """`python -m bot.intents`: rewrites bot/data/vectors/ from the examples as the server reads them."""
    from bot.resources import Resources

    print(Resources.from_settings().intents.write_shipped())
    return 0


if __name__ == "__main__":
    sys.exit(main())
