"""Properties of the text normalisers of the index layer on arbitrary text, with hypothesis.

* `index.lexical.fold` (lower case, accents removed, dotted acronyms joined, British spellings folded)
  and `words`, which every query, document and entity phrase goes through;
* `index.query.QueryRewriter` (typo correction against the corpus vocabulary, lay-term expansion);
* `index.sentences.sentence_spans` (sentence boundaries as offsets);
* `index.evaluate.norm` (the evaluation's answer normaliser).

Each must never raise on any text (any Unicode, control characters, long repeats), answer the same
every time and from a freshly built instance, and keep its promises: fold's output is lower case
without combining marks, and idempotent on real words; a correction is a corpus word within the
allowed edits; sentence offsets lie in the text, in order, and index it exactly.

`fold` is not idempotent on every string, and need not be: a British spelling can be hidden behind a
doubled letter ("ooestrogen" folds to "oestrogen", which folds to "estrogen"). That is why idempotence
is checked on text made of words.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

from hypothesis import example, given, settings, strategies as st
from rapidfuzz.distance import Levenshtein

from index.evaluate import norm
from index.lexical import STOPWORDS, fold, words
from index.query import QueryRewriter, load_lay_terms
from index.sentences import sentence_spans

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)


def _vocabulary() -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in sorted((KNOWLEDGE / "documents").glob("*.md")):
        counts.update(words(path.read_text(encoding="utf-8")))
    return dict(counts)


VOCABULARY = _vocabulary()
LAY_TERMS = load_lay_terms(KNOWLEDGE / "lay_terms.yml")
REWRITER = QueryRewriter(VOCABULARY, LAY_TERMS)
WORD = re.compile(r"[a-z0-9]+")

# Words as people and documents write them: the corpus's, British spellings, accents, abbreviations.
REAL_WORDS = sorted(VOCABULARY)[:: max(1, len(VOCABULARY) // 400)] + [
    "tumour", "Tumours", "oesophageal", "OESOPHAGUS", "haematology", "leukaemia", "anaemia", "paediatric",
    "oestrogen", "foetus", "oedema", "coloured", "centre", "behaviour", "organisation", "randomised",
    "gynaecology", "orthopaedic", "caf\u00e9", "na\u00efve", "Sj\u00f6gren", "m\u00e9lanome", "e.g.", "i.e.",
    "U.S.", "U.K.", "Dr.", "sarcomma", "treatmnt", "cancr", "womb", "gullet", "\ufb01broma", "\u00bd", "\u2026",
]
SEPARATORS = st.sampled_from([" ", " ", "\n", ", ", ". ", "? ", " - ", "\t", "\u00a0", " (", ") "])


@st.composite
def word_text(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 12))):
        parts.append(draw(st.sampled_from(REAL_WORDS)))
        parts.append(draw(SEPARATORS))
    return "".join(parts)


ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="ascii"), max_size=300),
    word_text(),
    st.builds(lambda unit, n: unit * n,
              st.sampled_from(["a", "tumour ", "U.S.", "e.g. ", "\u00e9", "e\u0301", "\x00", "\ufb01", ". ", "A. ",
                               "\u2026", "\U0001d413", "\r\n", "oo"]),
              st.integers(1, 3000)),
)


# ------------------------------------------------------------------------------------------ fold

@SETTINGS
@given(ANY_TEXT)
def test_fold_never_raises_is_deterministic_and_leaves_no_accents(text):
    folded = fold(text)
    assert isinstance(folded, str) and fold(text) == folded
    assert not any(unicodedata.combining(c) for c in folded)
    assert all(w == w.lower() and w not in STOPWORDS for w in words(text))
    assert all(WORD.fullmatch(w) for w in words(text))
    assert words(text) == words(text)


@SETTINGS
@given(ANY_TEXT)
@example("\U0001d413\U0001d407\U0001d418\U0001d40c\U0001d40e\U0001d40c\U0001d400")  # mathematical bold THYMOMA
@example("\u210bodgkin")  # script capital H
def test_fold_output_is_lower_case(text):
    """"Lower case" is fold's first promise; words() keeps only [a-z0-9], so an upper-case letter left
    in the output is a letter lost to search."""
    folded = fold(text)
    assert folded == folded.lower(), (text, folded)


@SETTINGS
@given(word_text())
def test_fold_is_idempotent_on_words(text):
    once = fold(text)
    assert fold(once) == once
    assert words(once) == words(text)


# ----------------------------------------------------------------------------------- rewriting

FRESH = QueryRewriter(dict(VOCABULARY), load_lay_terms(KNOWLEDGE / "lay_terms.yml"))


def _allowed_edits(word: str) -> int:
    return 1 if len(word) < 8 else 2


@SETTINGS
@given(st.one_of(st.text(max_size=200), word_text()))
@example("cancer of the womb sarcomma treatmnt")
@example("Tumour of the GULLET in the U.S.")
def test_rewriting_keeps_its_promises(query):
    rewritten = REWRITER.run(query)
    again = FRESH.run(query)
    assert (rewritten.text, rewritten.words, rewritten.corrections, rewritten.expansions) == \
        (again.text, again.words, again.corrections, again.expansions)
    assert rewritten.original == query
    query_words = words(query)
    assert all(WORD.fullmatch(w) for w in rewritten.words)
    for wrong, right in rewritten.corrections.items():
        assert wrong in query_words and wrong not in VOCABULARY
        assert right in VOCABULARY and right != wrong
        assert Levenshtein.distance(wrong, right) <= _allowed_edits(wrong)
        assert REWRITER.correct(right) is None  # a correction needs no correction
    assert rewritten.words[:len(query_words)] == [rewritten.corrections.get(w, w) for w in query_words]
    folded = fold(query)
    for term in rewritten.expansions:
        assert any(term in terms and re.search(rf"\b{re.escape(phrase)}\b", folded)
                   for phrase, terms in LAY_TERMS.items()), term
    assert len(set(rewritten.expansions)) == len(rewritten.expansions)


@SETTINGS
@given(st.text(alphabet=st.characters(codec="ascii", categories=["Ll"]), min_size=1, max_size=20))
def test_a_correction_is_the_nearest_corpus_word(word):
    fixed = REWRITER.correct(word)
    if fixed is None:
        return
    distance = Levenshtein.distance(word, fixed)
    assert 1 <= distance <= _allowed_edits(word)
    nearer = [w for w in REWRITER._words if Levenshtein.distance(word, w) < distance]
    assert not nearer, (word, fixed, nearer[:3])


# ----------------------------------------------------------------------------------- sentences

@st.composite
def text_and_range(draw):
    text = draw(st.one_of(ANY_TEXT, st.lists(st.sampled_from(
        ["Cancer is rare.", "e.g. surgery", "Dr. Smith", "J. Bogaerts", "2.5 mg", "\u201cQuoted.\u201d", "(Aside.)",
         "What?", "No!", "lower case.", "\n\n", "  ", "\u2026", "U.S. team.", "Fig. 3"]), max_size=20).map(" ".join)))
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, len(text)))
    return text, start, end


@SETTINGS
@given(text_and_range())
def test_sentence_spans_lie_in_the_range_in_order_and_cover_it(case):
    text, start, end = case
    spans = sentence_spans(text, start, end)
    assert spans == sentence_spans(text, start, end)
    previous = start
    covered: set[int] = set()
    for s, e in spans:
        assert previous <= s < e <= end, (s, e, start, end)
        sentence = text[s:e]
        assert sentence == sentence.strip() and sentence, (s, e)
        covered.update(range(s, e))
        previous = e
    assert {i for i in range(start, end) if not text[i].isspace()} <= covered
    # nothing but white space between and around the sentences
    gaps = [text[a:b] for a, b in zip([start] + [e for _, e in spans], [s for s, _ in spans] + [end])]
    assert all(gap.strip() == "" for gap in gaps)
    assert "".join("".join(text[s:e].split()) for s, e in spans) == "".join(text[start:end].split())


@SETTINGS
@given(text_and_range())
def test_a_sentence_split_again_is_itself(case):
    text, start, end = case
    for s, e in sentence_spans(text, start, end):
        assert sentence_spans(text, s, e) == [(s, e)], (text[s:e], sentence_spans(text, s, e))


def test_long_repeats_split_quickly():
    for unit in ("A. ", "a. ", "Word. ", "e.g. ", "x" * 50 + "? ", "\u2026 "):
        text = unit * (200_000 // len(unit))
        spans = sentence_spans(text)
        assert all(text[s:e] == text[s:e].strip() for s, e in spans)


# ----------------------------------------------------------------------------------- evaluation

@SETTINGS
@given(ANY_TEXT)
def test_the_evaluation_normaliser_is_idempotent(text):
    once = norm(text)
    assert norm(once) == once and once == once.strip()
    assert "  " not in once and "\n" not in once
