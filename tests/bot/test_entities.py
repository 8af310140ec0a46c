from pathlib import Path

import pytest

from bot.entities import EntityExtractor
from bot.nlu_data import load_nlu

MINI = Path(__file__).parent / "data" / "mini_nlu.yml"


@pytest.fixture(scope="module")
def extractor():
    return EntityExtractor(load_nlu(MINI))


@pytest.mark.parametrize("text, cancer_type", [
    ("trials for small bowel cancer", "small intestine cancer"),
    ("Small Intestine please", "small intestine cancer"),
    ("cancer of the womb", "uterine sarcoma"),
    ("I have leukaemia", "leukemia"),
    ("eye melanoma", "intraocular melanoma"),
    ("anal cancr", "anal cancer"),  # typo
    ("intraoculr melanoma trials", "intraocular melanoma"),  # typo
    ("uterine sarcomma", "uterine sarcoma"),  # typo
])
def test_cancer_types_with_synonyms_and_typos(extractor, text, cancer_type):
    assert extractor.first(text).get("cancer_type") == cancer_type


@pytest.mark.parametrize("text, country", [
    ("support groups in the UK", "United Kingdom"),
    ("anything in Britain?", "United Kingdom"),
    ("organisations in slovenia", "Slovenia"),
    ("trials in Frence", "France"),  # typo
])
def test_countries(extractor, text, country):
    assert extractor.first(text).get("country") == country


def test_both_entities_and_positions(extractor):
    found = extractor.run("is there a trial for small bowel cancer in the UK")
    assert [(e.entity, e.value) for e in found] == [("cancer_type", "small intestine cancer"), ("country", "United Kingdom")]
    assert all(e.start < e.end for e in found)


@pytest.mark.parametrize("text", ["hello", "what is cancer", "tell me about rare tumours", "", "?!"])
def test_nothing_is_invented(extractor, text):
    assert extractor.run(text) == []


def test_canonical(extractor):
    assert extractor.canonical("cancer_type", "Womb cancer") == "uterine sarcoma"
    assert extractor.canonical("country", "Womb cancer") is None


def test_known_words_are_not_corrected():
    nlu = load_nlu(MINI)
    nlu.lookups["country"].add("Niger")
    assert EntityExtractor(nlu).first("a nigir study").get("country") == "Niger"  # the risk
    assert EntityExtractor(nlu, known_words={"nigir", "study"}).first("a nigir study") == {}
    assert EntityExtractor(nlu).first("a tiger study") == {}  # an English word alone is no typo


def test_fuzzy_length_validated():
    with pytest.raises(ValueError, match="min_fuzzy_length"):
        EntityExtractor(load_nlu(MINI), min_fuzzy_length=1)
