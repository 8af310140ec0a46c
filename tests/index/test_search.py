"""index.search: the right passage comes first on a tiny purpose-written corpus (see index_helpers.CORPUS)."""
from __future__ import annotations

import pytest

from index.query import LAY_TERMS_FILE, QueryRewriter
from index.search import Searcher
from index.store import IndexIncompatible, load_current
from index_helpers import make_builder, write_doc

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def searcher(tiny_index, embedder):
    return Searcher(load_current(tiny_index["index"]), embedder, index_dir=tiny_index["index"])


def top(searcher, query, **kwargs):
    results = searcher.search(query, **kwargs)
    assert results, f"no result for {query!r}"
    return results[0]


@pytest.mark.parametrize("query, doc_id, section", [
    ("How is soft tissue sarcoma treated?", "soft-tissue-sarcoma", "Treatment of soft tissue sarcoma"),
    ("sarcomma treatmnt", "soft-tissue-sarcoma", "Treatment of soft tissue sarcoma"),  # two typos
    ("tamoxifen", "uterine-sarcoma", "Risk factors"),  # one word
    ("Is bleeding after the menopause a warning sign?", "uterine-sarcoma", "Signs of uterine sarcoma"),
    ("Which organisation runs clinical trials for rare cancers in several countries?", "irci", "About the initiative"),
    ("What happens during a skin biopsy?", "merkel-cell-carcinoma", "Diagnosis"),
    ("I found a painless lump on my arm", "soft-tissue-sarcoma", "Symptoms"),
    ("How can I join a trial?", "irci", "How to take part"),
])
def test_the_right_passage_comes_first(searcher, query, doc_id, section):
    result = top(searcher, query)
    assert (result.doc_id, result.section) == (doc_id, section), result.quote


@pytest.mark.skipif(not LAY_TERMS_FILE.is_file(), reason=f"{LAY_TERMS_FILE} does not exist, so no lay terms are "
                                                          "loaded: 'womb' is not expanded to 'uterine'")
def test_a_lay_word_query_finds_the_medical_term(searcher):
    assert top(searcher, "cancer of the womb").doc_id == "uterine-sarcoma"
    assert "uterine" in " ".join(searcher.rewriter.run("cancer of the womb").expansions).lower()


def test_lay_terms_given_to_the_rewriter_reach_both_retrievers(tiny_index, embedder):
    private = Searcher(load_current(tiny_index["index"]), embedder)
    private.rewriter = QueryRewriter(private.snapshot.lexical.vocabulary, {"womb": ["uterine"]})
    assert top(private, "cancer of the womb", retriever="bm25").doc_id == "uterine-sarcoma"
    assert top(private, "cancer of the womb").doc_id == "uterine-sarcoma"


def test_bm25_and_dense_retrievers_work_alone(searcher):
    bm25 = searcher.search("tamoxifen radiation pelvis", retriever="bm25")
    assert bm25[0].doc_id == "uterine-sarcoma" and bm25[0].lexical_score > 0
    assert [r.score for r in bm25] == sorted((r.score for r in bm25), reverse=True)
    assert all(r.lexical_score > 0 for r in bm25)  # BM25 alone proposes only passages sharing a word

    dense = searcher.search("How is soft tissue sarcoma treated?", retriever="dense", k=3)
    assert dense[0].section == "Treatment of soft tissue sarcoma"
    assert [r.score for r in dense] == [r.dense_score for r in dense]
    assert dense[0].score >= dense[1].score >= dense[2].score


def test_invalid_arguments_are_refused(searcher):
    with pytest.raises(ValueError, match="retriever must be one of"):
        searcher.search("sarcoma", retriever="magic")
    with pytest.raises(ValueError, match="k must be at least 1"):
        searcher.search("sarcoma", k=0)
    with pytest.raises(ValueError, match="candidates must be at least 1"):
        Searcher(searcher.snapshot, searcher.embedder, candidates=0)


def test_an_empty_query_finds_nothing(searcher):
    assert searcher.search("   ") == []


def test_results_carry_citations_that_quote_the_document(searcher):
    results = searcher.search("What are the stages of Merkel cell carcinoma?", k=20)
    assert len(results) == len(searcher.snapshot.passages)  # k beyond the corpus returns every passage once
    assert len({r.passage_id for r in results}) == len(results)
    assert results[0].doc_id == "merkel-cell-carcinoma" and results[0].section == "Stages"
    for result in results:
        text = searcher.snapshot.documents[result.doc_id]["text"]
        assert result.quote == text[result.start:result.end]
        assert result.title and result.url == f"https://example.org/{result.doc_id}"
        assert result.publisher == "Test Publisher" and result.last_reviewed == "2024-05-31"
        assert 0.0 <= result.confidence <= 1.0
        data = result.to_dict()
        assert {"doc_id", "title", "section", "quote", "start", "end", "score"} <= set(data)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_best_spans_are_sentences_inside_the_passage(searcher):
    result = top(searcher, "Does tamoxifen raise the risk?", spans=1)
    assert result.doc_id == "uterine-sarcoma"
    text = searcher.snapshot.documents[result.doc_id]["text"]
    span, = result.spans
    assert result.start <= span.start < span.end <= result.end
    assert span.text == text[span.start:span.end]
    assert span.text == "Taking tamoxifen for breast cancer also raises the risk."

    two = top(searcher, "Does tamoxifen raise the risk?", spans=2).spans
    assert len(two) == 2 and two[0].start < two[1].start  # in text order
    assert all(result.start <= s.start < s.end <= result.end for s in two)


def test_best_spans_finds_the_matching_sentence_of_a_long_passage(searcher):
    result = top(searcher, "How long do biopsy results take?")
    rewritten = searcher.rewriter.run("How long do biopsy results take?")
    text = searcher.snapshot.documents[result.doc_id]["text"]
    span, = searcher.best_spans(text, result.start, result.end, rewritten, 1)
    assert span.text == "Dr. Smith notes that results take about 2.5 days."  # not cut at "Dr." or "2.5"


def test_confidence_is_lower_for_an_unrelated_query(searcher):
    unrelated = top(searcher, "best laptop to buy")
    matching = top(searcher, "How is soft tissue sarcoma treated?")
    assert unrelated.confidence < matching.confidence
    assert unrelated.confidence < 0.5 < matching.confidence


def test_reload_if_changed_switches_to_a_new_build(tiny_copy, embedder):
    index_dir = tiny_copy["index"]
    searcher = Searcher(load_current(index_dir), embedder, index_dir=index_dir)
    old_build = searcher.snapshot.build_id
    assert searcher.reload_if_changed() is False
    write_doc(tiny_copy["knowledge"], "proton-therapy", "Proton Beam Therapy",
              "## What it is\n\nProton beam therapy aims high energy protons precisely at the tumour.")
    make_builder(tiny_copy["knowledge"], index_dir, embedder).run()
    assert searcher.reload_if_changed() is True
    assert searcher.snapshot.build_id != old_build
    assert top(searcher, "proton beam").doc_id == "proton-therapy"
    assert searcher.reload_if_changed() is False


def test_from_settings_loads_the_configured_index(tiny_index, embedder):
    searcher = Searcher.from_settings({"index_dir": tiny_index["index"], "search_k": 3}, embedder=embedder)
    assert searcher.index_dir == tiny_index["index"]
    assert top(searcher, "tamoxifen").doc_id == "uterine-sarcoma"


def test_from_settings_refuses_an_index_built_with_other_chunker_settings(tiny_index, embedder):
    with pytest.raises(IndexIncompatible, match="make index"):
        Searcher.from_settings({"index_dir": tiny_index["index"], "chunk_max_chars": 500}, embedder=embedder)


def test_a_searcher_without_index_dir_never_reloads(tiny_index, embedder):
    assert Searcher(load_current(tiny_index["index"]), embedder).reload_if_changed() is False
