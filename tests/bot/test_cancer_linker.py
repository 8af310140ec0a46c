"""bot/cancer_linker.py: which cancers a message names, tolerant of typos, lay words, order and negation."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


def names(loaded, text: str) -> list[str | None]:
    return [m.name for m in loaded.linker.run(text)]


def labels(loaded, text: str) -> list[str]:
    return [m.label for m in loaded.linker.run(text)]


def test_misspellings_lay_names_and_negations_are_linked(loaded):
    """tests/data/cancer_mentions.jsonl: at least 95% link to the right cancer first."""
    items = [json.loads(line) for line in (DATA / "cancer_mentions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(items) >= 50
    missed = [(i["text"], i["cancer"], names(loaded, i["text"])) for i in items
              if names(loaded, i["text"])[:1] != [i["cancer"]]]
    assert len(missed) <= 0.05 * len(items), missed


@pytest.mark.parametrize("text, expected", [
    ("what is sarcomma?", "sarcoma"),
    ("cancer of the womb", "uterine cancer"),
    ("tumor of the thymus", "thymoma"),
    ("what is a GIST", "gastrointestinal stromal tumor"),
    ("cholangiocarcinoma treatment", "bile duct cancer"),
    ("what is chordoma?", "chordoma"),
    ("WHAT IS MESOTHELIOMA", "mesothelioma"),
    ("my son has wilms tumour", "Wilms tumor"),
    ("neuroblastomma in babies", "neuroblastoma"),
])
def test_names_link_to_the_vocabulary(loaded, text, expected):
    assert names(loaded, text)[:1] == [expected]


def test_an_abbreviation_counts_only_in_capitals(loaded):
    assert names(loaded, "what is the gist of this page?") == []
    assert names(loaded, "GISTs in the stomach") == ["gastrointestinal stromal tumor"]


def test_a_negated_cancer_gives_way_to_the_one_affirmed(loaded):
    assert names(loaded, "it's not a chordoma, it's a GIST") == ["gastrointestinal stromal tumor"]
    assert names(loaded, "they said it isn't osteosarcoma but Ewing sarcoma") == ["Ewing sarcoma"]
    mentions = loaded.linker.run("it is not a chordoma")  # nothing else named: still the subject
    assert [m.name for m in mentions] == ["chordoma"] and mentions[0].negated


def test_two_cancers_are_both_found_in_order(loaded):
    assert names(loaded, "is GIST the same as leiomyosarcoma?") == ["gastrointestinal stromal tumor", "leiomyosarcoma"]


@pytest.mark.parametrize("text, phrase", [
    ("what is a pilomatrixoma?", "pilomatrixoma"),
    ("my wife has a granular cell tumour of the breast", "granular cell tumour of the breast"),
    ("what is zorblax cell carcinoma", "zorblax cell carcinoma"),
])
def test_unknown_neoplasm_phrases_are_noticed_as_written(loaded, text, phrase):
    mentions = loaded.linker.run(text)
    assert [(m.name, m.text) for m in mentions] == [(None, phrase)]


def test_a_broad_name_made_specific_by_a_site_is_another_cancer(loaded):
    mentions = loaded.linker.run("what is a neuroendocrine tumour of the zorblax gland?")
    assert [m.name for m in mentions] == [None]
    assert "zorblax" in mentions[0].text
    # the narrower cancer the vocabulary knows, when its words say which
    assert names(loaded, "what is a neuroendocrine tumour of the lung?") == ["lung carcinoid tumor"]
    # a specific cancer in a place is still that cancer
    assert names(loaded, "Ewing sarcoma of the leg") == ["Ewing sarcoma"]


def test_words_that_misspell_a_narrower_name_link_to_that_cancer(loaded):
    """"mantel" is an English word (and the GARD page itself writes "Mantel cell lymphoma"), so the
    extractor takes it for no typo and finds "lymphoma"; the words before a broad name that misspell a
    narrower one's name make it that one."""
    assert names(loaded, "mantel cell lymphoma prognosis") == ["mantle cell lymphoma"]
    assert names(loaded, "my mum has mantel cell lymphoma") == ["mantle cell lymphoma"]
    mention = loaded.linker.run("mantel cell lymphoma prognosis")[0]
    assert mention.text == "mantel cell lymphoma"
    # no narrower name near enough: the broad name stays, and a person is no typo
    assert names(loaded, "my dad has lymphoma") == ["lymphoma"]
    assert names(loaded, "what is hodgkin lymphoma") == ["Hodgkin lymphoma"]


def test_a_letter_in_a_narrower_name_says_which_cancer_it_is(loaded):
    """"cell lymphoma" is not T-cell lymphoma: the "t" of "T-cell" is no contraction's."""
    assert names(loaded, "what is cell lymphoma") != ["T-cell lymphoma"]
    assert names(loaded, "what is t-cell lymphoma") == ["T-cell lymphoma"]


def test_overlapping_names_are_one_mention_of_the_more_specific_cancer(loaded):
    """"MALT lymphoma of the stomach": "MALT lymphoma" and "lymphoma of the stomach" (gastric lymphoma)
    share a word. It is one cancer, the one named (a kind of marginal zone lymphoma, deeper in the
    vocabulary), not two; a longer name that holds a shorter one still wins by length."""
    assert names(loaded, "can antibiotics for h pylori cure MALT lymphoma of the stomach") == ["MALT lymphoma"]
    assert names(loaded, "what is lymphoma of the stomach") == ["gastric lymphoma"]
    assert names(loaded, "soft tissue sarcoma of the leg") == ["soft tissue sarcoma"]


@pytest.mark.parametrize("text", [
    "what is glaucoma?", "I had a haematoma after my fall", "how do I look after my stoma", "what is a rare cancer?",
    "does stress cause hair loss", "my cancer has come back", "stage 4 cancer", "hello", "my cat has a tumour",
])
def test_words_that_name_no_particular_cancer_link_to_nothing(loaded, text):
    assert loaded.linker.run(text) == []


def test_offsets_index_the_message_as_written(loaded):
    text = "My dad has CHORDOMA, they say"
    [mention] = loaded.linker.run(text)
    assert text[mention.start:mention.end] == "CHORDOMA" == mention.text


def test_every_cancer_name_in_the_rasa_training_data_is_a_vocabulary_cancer(loaded):
    """A Rasa server fills the cancer_type slot with nlu.yml's canonical values: each must be, spelling
    folded, a name in the vocabulary, so the actions read it as the embedded engine does."""
    values = loaded.nlu.lookups["cancer_type"]  # every synonym's canonical value is in the table too
    assert len(values) > 100
    unknown = sorted(v for v in values if loaded.entities.exact("cancer_type", v) is None)
    assert unknown == []
