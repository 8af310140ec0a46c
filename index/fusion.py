"""Hybrid fusion of three signals, and a confidence the dialogue layer can threshold.

The signals: cosine similarity of query and passage (dense), of query and the passage's section label
(section, relative within its document), and BM25 (lexical). They are fused by a convex combination after normalisation (Bruch et al.,
"An Analysis of Fusion Functions for Hybrid Retrieval", 2023): cosines are already on a fixed scale,
BM25 is divided by the best BM25 score among the candidates. Reciprocal rank fusion is kept for comparison.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

# Cosine similarities of all-MiniLM-L6-v2 between a question and an unrelated passage sit mostly
# below this floor and those of a passage that answers it mostly above the ceiling.
COSINE_FLOOR = 0.15
COSINE_CEILING = 0.65
RRF_K = 60
# A passage with no complete sentence (a bare list such as GARD's symptom lists) answers nothing on its
# own: it ranks this much below a passage that says the same with sentences.
FRAGMENT_PENALTY = 0.05


@dataclass
class Candidate:
    position: int
    dense: float = 0.0  # cosine similarity
    section: float = 0.0  # section label similarity, relative to the document's best section (<= 0)
    lexical: float = 0.0  # raw BM25
    score: float = 0.0
    coverage: float = 0.0  # share of the query's content words found in the passage
    fragment: bool = False  # the passage holds no complete sentence


def _scaled_cosine(cosine: float) -> float:
    return min(1.0, max(0.0, (cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR)))


class Fusion:
    def __init__(self, dense_weight: float = 0.6, section_weight: float = 0.5, lexical_weight: float = 0.2,
                 method: str = "convex"):
        weights = {"dense_weight": dense_weight, "section_weight": section_weight, "lexical_weight": lexical_weight}
        for name, value in weights.items():
            if value < 0:
                raise ValueError(f"{name} must be 0 or more, got {value}")
        total = sum(weights.values())
        if total <= 0:
            raise ValueError("at least one fusion weight must be above 0")
        if method not in ("convex", "rrf"):
            raise ValueError(f"method must be 'convex' or 'rrf', got {method!r}")
        self.dense_weight, self.section_weight, self.lexical_weight = (w / total for w in weights.values())
        self.method = method

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "dense_weight": self.dense_weight, "section_weight": self.section_weight,
                "lexical_weight": self.lexical_weight, "cosine_floor": COSINE_FLOOR,
                "cosine_ceiling": COSINE_CEILING, "rrf_k": RRF_K, "fragment_penalty": FRAGMENT_PENALTY}

    def run(self, candidates: list[Candidate]) -> list[Candidate]:
        """Scores candidates in place and returns them best first."""
        if not candidates:
            return []
        if self.method == "rrf":
            for ranked_by in ("dense", "section", "lexical"):
                values = sorted((getattr(c, ranked_by) for c in candidates), reverse=True)
                for candidate in candidates:
                    value = getattr(candidate, ranked_by)
                    if ranked_by != "lexical" or value > 0:  # no BM25 match is no rank
                        rank = bisect.bisect_left([-v for v in values], -value)  # ties share a rank
                        candidate.score += 1.0 / (RRF_K + rank + 1)
        else:
            best_lexical = max(c.lexical for c in candidates)
            for candidate in candidates:
                lexical = candidate.lexical / best_lexical if best_lexical > 0 else 0.0
                candidate.score = (self.dense_weight * candidate.dense + self.section_weight * candidate.section
                                   + self.lexical_weight * lexical - FRAGMENT_PENALTY * candidate.fragment)
        return sorted(candidates, key=lambda c: (-c.score, c.position))


def confidence(candidate: Candidate) -> float:
    """How sure we are that a result answers the query, 0 to 1, on an absolute scale.

    The fused score is relative to the other candidates, so confidence instead combines the absolute
    cosine similarity with how many of the query's content words the passage contains.
    """
    return round(0.7 * _scaled_cosine(candidate.dense) + 0.3 * candidate.coverage, 4)
