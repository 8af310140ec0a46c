"""Intent classifier calibration: leave-one-out accuracy over bot/data/nlu.yml, per threshold.

    .venv/bin/python bench/intents.py

Each example is classified by all the others (k nearest, delexicalised, as the engine does). For each
threshold it prints the share of examples answered (above the threshold) and the accuracy among
those; the engine's `RCA_INTENT_THRESHOLD` is chosen from this table and recorded in docs/benchmarks.md.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.entities import EntityExtractor  # noqa: E402
from bot.intents import IntentClassifier  # noqa: E402
from bot.nlu_data import load_nlu  # noqa: E402
from index.embedder import Embedder  # noqa: E402


def main() -> int:
    nlu = load_nlu()
    entities = EntityExtractor(nlu)
    classifier = IntentClassifier(nlu, Embedder(), delexicalize=entities.delexicalize)
    labels = np.array([classifier.intents.index(label) for label in classifier.labels])
    similarity = classifier.vectors @ classifier.vectors.T
    np.fill_diagonal(similarity, -np.inf)  # leave one out
    predicted, confidence = [], []
    for row in similarity:
        scores = [np.sort(row[labels == i])[::-1][: classifier.k].mean() for i in range(len(classifier.intents))]
        predicted.append(int(np.argmax(scores)))
        confidence.append(float(np.max(scores)))
    predicted_array, confidence_array = np.array(predicted), np.array(confidence)
    correct = predicted_array == labels
    print(f"{len(labels)} examples, {len(classifier.intents)} intents, k={classifier.k}")
    print(f"leave-one-out accuracy, no threshold: {correct.mean():.3f}")
    print("threshold  answered  accuracy_when_answered")
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
        answered = confidence_array >= threshold
        accuracy = correct[answered].mean() if answered.any() else float("nan")
        print(f"{threshold:>9.2f}  {answered.mean():>8.3f}  {accuracy:>6.3f}")
    confusions = Counter((classifier.intents[t], classifier.intents[p]) for t, p in zip(labels, predicted_array) if t != p)
    print("most frequent confusions (true -> predicted):")
    for (true, guess), count in confusions.most_common(8):
        print(f"  {true} -> {guess}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
