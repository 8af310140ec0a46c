from pathlib import Path

from bot.nlu_data import load_nlu, strip_annotations

MINI = Path(__file__).parent / "data" / "mini_nlu.yml"


def test_annotations_are_removed_and_collected():
    text, found = strip_annotations('trials for [eye melanoma]{"entity": "cancer_type", "value": "intraocular melanoma"} in [UK](country)')
    assert text == "trials for eye melanoma in UK"
    assert found == [("cancer_type", "eye melanoma", "intraocular melanoma"), ("country", "UK", "UK")]


def test_load_gives_examples_synonyms_and_lookups():
    nlu = load_nlu(MINI)
    assert nlu.intents == ["find_trial", "greet", "out_of_scope"]
    assert "is there a trial for small bowel" in nlu.examples["find_trial"]
    assert nlu.synonyms["small bowel"] == "small intestine cancer"
    assert nlu.synonyms["eye melanoma"] == "intraocular melanoma"  # from an annotation
    assert "Slovenia" in nlu.lookups["country"] and "small bowel" in nlu.lookups["cancer_type"]
    assert len(nlu.digest) == 64
