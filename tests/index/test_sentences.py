"""index.sentences: sentence boundaries with offsets, for chunking and answer spans."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from index.sentences import has_sentence, sentence_spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_normal_sentences_split_on_full_stop_question_and_exclamation_marks():
    text = "Sarcoma is rare. Is it treatable? Yes, often it is! Ask your doctor."
    assert sentences(text) == ["Sarcoma is rare.", "Is it treatable?", "Yes, often it is!", "Ask your doctor."]


@pytest.mark.parametrize("text", [
    "Some cancers, e.g. sarcoma, are rare. Most are common.",
    "Some cancers (e.g. Sarcoma) are rare. Most are common.",
    "This is rare, i.e. Fewer than six in 100,000 people. Most are common.",
    "Ask Dr. Smith about the trial. She runs it.",
    "The trial ran in the U.S. Army hospitals. It ended early.",
    "Results were reported by J. Bogaerts and colleagues. They were good.",
    "The dose was 2.5 mg per day. It was well tolerated.",
    "Cats, dogs etc. Were not studied. Only people were.",
])
def test_abbreviations_initials_and_decimals_do_not_split(text):
    first, second = text.rsplit(". ", 1)
    assert sentences(text) == [first + ".", second]


def test_sentence_followed_by_quote_or_bracket_closes_after_it():
    text = 'He said "it is rare." Then he left. (See the note.) The end.'
    assert sentences(text) == ['He said "it is rare."', "Then he left.", "(See the note.)", "The end."]


def test_a_journal_reference_in_brackets_does_not_split_before_its_year():
    text = ("Care in a reference centre improves survival (Oncologist. 2019 Jun; 24(6):e338-e346), but centres "
            "are few. (This may include surgery. In girls, more.) 2019 was the year.")
    assert sentences(text) == [
        "Care in a reference centre improves survival (Oncologist. 2019 Jun; 24(6):e338-e346), but centres are few.",
        "(This may include surgery.", "In girls, more.)", "2019 was the year."]


def test_lower_case_continuation_does_not_split():
    assert sentences("The lump is 3 cm. in size and grows. It hurts.") == ["The lump is 3 cm. in size and grows.", "It hurts."]


def test_text_without_final_punctuation_is_one_trailing_sentence():
    assert sentences("  First one. and a tail without a stop  ") == ["First one. and a tail without a stop"]
    assert sentences("First one. Tail without a stop\n") == ["First one.", "Tail without a stop"]


def test_empty_and_blank_text_have_no_sentences():
    assert sentence_spans("") == []
    assert sentence_spans(" \n\t ") == []


def test_start_and_end_limit_the_split_and_offsets_index_the_whole_text():
    text = "# Heading\n\nOne here. Two there. Three!\n\nNext block."
    start = text.index("One")
    end = text.index("Three!") + len("Three!")
    spans = sentence_spans(text, start, end)
    assert [text[s:e] for s, e in spans] == ["One here.", "Two there.", "Three!"]
    assert spans[0][0] == start and spans[-1][1] == end


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from(list("abAB1 .!?\n\"')(-:e.g")), max_size=80))
def test_spans_are_ordered_stripped_and_cover_every_non_space_character(text):
    spans = sentence_spans(text)
    previous_end = 0
    covered = set()
    for s, e in spans:
        assert previous_end <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        covered.update(range(s, e))
        previous_end = e
    assert {i for i, c in enumerate(text) if not c.isspace()} <= covered


# A grammar of sentences whose boundaries are known: abbreviations, initials and decimals appear only
# inside a sentence, every sentence ends in . ! or ? and the next starts with a capital or a digit.
WORD = st.sampled_from(["cancer", "cells", "tumour", "patients", "treatment", "doctors", "surgery", "therapy",
                        "trial", "risk", "sarcoma", "lump", "scan", "biopsy"])
INSIDE = st.sampled_from(["e.g. surgery", "i.e. the dose", "Dr. Smith", "J. Bogaerts", "the U.S. team",
                          "2.5 mg", "10.5 cm", "Prof. Jones", "vs. placebo", "Fig. 3"])
FIRST = st.sampled_from(["Cancer", "Patients", "Treatment", "Doctors", "Surgery", "The", "A", "In 2024", "2.5 mg"])


@st.composite
def sentence(draw) -> str:
    parts = [draw(FIRST)] + draw(st.lists(st.one_of(WORD, WORD, INSIDE), min_size=1, max_size=8))
    return " ".join(parts) + draw(st.sampled_from([".", ".", "!", "?"]))


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(sentence(), min_size=1, max_size=6), st.sampled_from([" ", "  ", "\n"]))
def test_generated_sentences_are_found_exactly(parts, separator):
    text = separator.join(parts)
    assert sentences(text) == parts
    for s, e in sentence_spans(text):  # offsets round-trip
        assert text[s:e] in parts


def test_a_bare_list_holds_no_sentence():
    assert not has_sentence("- Autosomal dominant inheritance\n- Medulloblastoma")
    assert not has_sentence("Signs and Symptoms Approximate number of patients (when available)")
    assert has_sentence("- Pain and/or swelling, usually in the arms.\n- Fever for no known reason.")
    assert has_sentence("Is it inherited?")
