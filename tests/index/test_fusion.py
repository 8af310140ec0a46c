"""index.fusion: weights are validated; convex fusion ranks by the weighted sum; RRF ranks by ranks."""
from __future__ import annotations

import pytest

from index.fusion import FRAGMENT_PENALTY, RRF_K, Candidate, Fusion, confidence


@pytest.mark.parametrize("kwargs, message", [
    ({"dense_weight": -0.1}, "dense_weight must be 0 or more, got -0.1"),
    ({"section_weight": -1}, "section_weight must be 0 or more, got -1"),
    ({"lexical_weight": -0.5}, "lexical_weight must be 0 or more, got -0.5"),
    ({"dense_weight": 0, "section_weight": 0, "lexical_weight": 0}, "at least one fusion weight must be above 0"),
    ({"method": "max"}, "method must be 'convex' or 'rrf', got 'max'"),
])
def test_invalid_settings_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError) as error:
        Fusion(**kwargs)
    assert str(error.value) == message


def test_weights_are_normalised_to_sum_to_one():
    fusion = Fusion(2, 1, 1)
    assert (fusion.dense_weight, fusion.section_weight, fusion.lexical_weight) == (0.5, 0.25, 0.25)
    assert fusion.to_dict()["method"] == "convex"


def candidates():
    return [Candidate(0, dense=0.80, section=0.0, lexical=2.0),
            Candidate(1, dense=0.50, section=-0.20, lexical=10.0),
            Candidate(2, dense=0.60, section=-0.05, lexical=0.0)]


@pytest.mark.parametrize("weights, order", [
    ((1, 0, 0), [0, 2, 1]),  # dense only
    ((0, 0, 1), [1, 0, 2]),  # BM25 only
    ((0, 1, 0), [0, 2, 1]),  # section only
    ((0.5, 0, 0.5), [1, 0, 2]),  # 0.5*.8+0.5*.2=0.5, 0.5*.5+0.5*1=0.75, 0.5*.6=0.3
])
def test_convex_ranks_by_the_weighted_sum(weights, order):
    assert [c.position for c in Fusion(*weights).run(candidates())] == order


def test_convex_score_is_the_weighted_sum_with_bm25_divided_by_the_best():
    fusion = Fusion(0.6, 0.5, 0.2)
    ranked = fusion.run(candidates())
    for candidate in ranked:
        expected = (fusion.dense_weight * candidate.dense + fusion.section_weight * candidate.section
                    + fusion.lexical_weight * candidate.lexical / 10.0)
        assert candidate.score == pytest.approx(expected)
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)


def test_convex_without_any_bm25_match_uses_the_other_signals():
    ranked = Fusion().run([Candidate(0, dense=0.3), Candidate(1, dense=0.7)])
    assert [c.position for c in ranked] == [1, 0]


def test_ties_keep_the_candidate_order():
    ranked = Fusion().run([Candidate(3, dense=0.5), Candidate(1, dense=0.5), Candidate(2, dense=0.5)])
    assert [c.position for c in ranked] == [1, 2, 3]


def test_no_candidates():
    assert Fusion().run([]) == []
    assert Fusion(method="rrf").run([]) == []


def test_rrf_ranks_by_reciprocal_ranks():
    ranked = Fusion(method="rrf").run([
        Candidate(0, dense=0.2, lexical=1.0),
        Candidate(1, dense=0.9, lexical=8.0),  # first by both
        Candidate(2, dense=0.5, lexical=0.0),  # no BM25 match: no BM25 share
    ])
    by_position = {c.position: c.score for c in ranked}
    tied_section = 1 / (RRF_K + 1)  # every section score is 0 here: ties share the first rank
    assert by_position[1] == pytest.approx(2 / (RRF_K + 1) + tied_section)
    assert by_position[0] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 2) + tied_section)
    assert by_position[2] == pytest.approx(1 / (RRF_K + 2) + tied_section)
    assert [c.position for c in ranked] == [1, 0, 2]


def test_rrf_uses_the_section_signal():
    ranked = Fusion(method="rrf").run([Candidate(0, dense=0.5, section=-0.3), Candidate(1, dense=0.5, section=0.0)])
    assert ranked[0].position == 1


def test_confidence_is_absolute_and_bounded():
    assert confidence(Candidate(0, dense=0.05, coverage=0.0)) == 0.0
    assert confidence(Candidate(0, dense=0.95, coverage=1.0)) == 1.0
    low, high = confidence(Candidate(0, dense=0.3, coverage=0.5)), confidence(Candidate(0, dense=0.5, coverage=0.5))
    assert 0 < low < high < 1
    assert confidence(Candidate(0, dense=0.5, coverage=1.0)) > confidence(Candidate(0, dense=0.5, coverage=0.0))


def test_a_passage_without_a_sentence_ranks_below_one_that_scores_the_same_with_sentences():
    bare, prose = Candidate(0, dense=0.5, fragment=True), Candidate(1, dense=0.5)
    ranked = Fusion().run([bare, prose])
    assert [c.position for c in ranked] == [1, 0]
    assert round(prose.score - bare.score, 6) == FRAGMENT_PENALTY
    # a clearly better list still wins
    assert Fusion().run([Candidate(0, dense=0.8, fragment=True), Candidate(1, dense=0.5)])[0].position == 0
