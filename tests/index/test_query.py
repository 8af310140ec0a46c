"""index.query: typo correction against the corpus vocabulary, and lay-term expansion."""
from __future__ import annotations

import pytest

from index.query import QueryRewriter, load_lay_terms

VOCABULARY = {"sarcoma": 12, "treatment": 30, "uterine": 5, "surgery": 9, "radiotherapy": 4, "tumor": 7,
              "cancer": 50, "cell": 8, "cells": 6, "lymph": 3, "node": 3, "esophageal": 2}


@pytest.fixture
def rewriter():
    return QueryRewriter(VOCABULARY, lay_terms={"womb": ["uterine", "uterus"], "cancer of the womb": ["uterine sarcoma"],
                                                "gullet": ["esophageal"]})


def test_typos_are_corrected_to_the_corpus_word(rewriter):
    rewritten = rewriter.run("sarcomma treatmnt")
    assert rewritten.corrections == {"sarcomma": "sarcoma", "treatmnt": "treatment"}
    assert rewritten.words == ["sarcoma", "treatment"]
    assert rewritten.text == "sarcoma treatment"
    assert rewritten.original == "sarcomma treatmnt"


def test_long_words_allow_two_edits_short_words_one(rewriter):
    assert rewriter.correct("radoitherapy") == "radiotherapy"  # 12 letters, 2 edits
    assert rewriter.correct("surgry") == "surgery"  # 1 edit
    assert rewriter.correct("srgry") is None  # 2 edits in a short word: too far
    assert rewriter.correct("xylophone") is None  # nothing near


def test_the_most_frequent_of_equally_near_words_wins():
    rewriter = QueryRewriter({"cells": 2, "cello": 9, "celts": 1}, lay_terms={})
    assert rewriter.correct("cellz") == "cello"


def test_known_words_short_words_numbers_and_stopwords_are_not_corrected(rewriter):
    assert rewriter.correct("sarcoma") is None
    assert rewriter.correct("nod") is None  # shorter than 4 letters, though "node" is one edit away
    assert rewriter.correct("2024") is None
    assert rewriter.correct("where") is None  # a stopword
    rewritten = rewriter.run("what is the cel")
    assert rewritten.corrections == {}
    assert "the" not in rewritten.words and "is" not in rewritten.words


def test_case_of_the_query_does_not_hide_a_typo(rewriter):
    rewritten = rewriter.run("SARCOMMA Treatmnt")
    assert rewritten.corrections == {"sarcomma": "sarcoma", "treatmnt": "treatment"}
    assert rewritten.text == "sarcoma treatment"


def test_lay_terms_expand_the_query(rewriter):
    rewritten = rewriter.run("Cancer of the Womb")
    assert sorted(rewritten.expansions) == ["uterine", "uterine sarcoma", "uterus"]
    assert "uterine" in rewritten.words and "uterus" in rewritten.words and "sarcoma" in rewritten.words
    assert rewritten.text.startswith("cancer of the womb") and "uterine" in rewritten.text  # folded: the model is uncased


def test_lay_terms_match_whole_words_only(rewriter):
    assert rewriter.run("wombat bites").expansions == []
    assert rewriter.run("a lump in my gullet").expansions == ["esophageal"]


def test_no_lay_terms_means_no_expansion():
    rewritten = QueryRewriter(VOCABULARY, lay_terms={}).run("cancer of the womb")
    assert rewritten.expansions == [] and rewritten.text == "cancer of the womb"


def test_load_lay_terms(tmp_path):
    path = tmp_path / "lay_terms.yml"
    path.write_text("Voice Box: [larynx, laryngeal]\nwomb: [uterine]\n", encoding="utf-8")
    assert load_lay_terms(path) == {"voice box": ["larynx", "laryngeal"], "womb": ["uterine"]}
    assert load_lay_terms(tmp_path / "missing.yml") == {}
    path.write_text("womb: uterine\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lay phrase"):
        load_lay_terms(path)


def test_a_typo_in_a_british_spelling_is_corrected_in_the_embedded_text_too(rewriter):
    rewritten = rewriter.run("oesophagel cancer")
    assert rewritten.words == ["esophageal", "cancer"]  # BM25 gets the correction
    assert "esophageal" in rewritten.text  # dense retrieval should too
