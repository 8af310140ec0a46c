from pathlib import Path

import pytest

from bot.intents import IntentClassifier
from bot.nlu_data import load_nlu

MINI = Path(__file__).parent / "data" / "mini_nlu.yml"


@pytest.fixture(scope="module")
def classifier(embedder, tmp_path_factory):
    return IntentClassifier(load_nlu(MINI), embedder, k=2, threshold=0.3, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize("text, intent", [
    ("hey, hello!", "greet"),
    ("are there any clinical trials for sarcoma", "find_trial"),
    ("what's the forecast, will it rain", "out_of_scope"),
])
def test_routes_by_nearest_examples(classifier, text, intent):
    assert classifier.run(text).name == intent


def test_below_threshold_abstains(embedder, tmp_path):
    strict = IntentClassifier(load_nlu(MINI), embedder, threshold=0.99, cache_dir=tmp_path)
    prediction = strict.run("xylophone quantum")
    assert prediction.name is None and prediction.confidence < 0.99
    assert prediction.ranking[0][1] == pytest.approx(prediction.confidence, abs=1e-4)


def test_vectors_are_cached_and_reused(embedder, tmp_path):
    first = IntentClassifier(load_nlu(MINI), embedder, cache_dir=tmp_path)
    cached = list(tmp_path.glob("intent-vectors-*.npy"))
    assert len(cached) == 1
    second = IntentClassifier(load_nlu(MINI), embedder, cache_dir=tmp_path)
    assert (first.vectors == second.vectors).all()


def test_damaged_cache_is_rebuilt(embedder, tmp_path):
    IntentClassifier(load_nlu(MINI), embedder, cache_dir=tmp_path)
    path = next(tmp_path.glob("intent-vectors-*.npy"))
    path.write_bytes(b"not numpy")
    assert IntentClassifier(load_nlu(MINI), embedder, cache_dir=tmp_path).run("hello").name == "greet"


@pytest.mark.parametrize("kwargs, message", [({"k": 0}, "k must"), ({"threshold": 1.5}, "threshold")])
def test_arguments_validated(embedder, kwargs, message):
    with pytest.raises(ValueError, match=message):
        IntentClassifier(load_nlu(MINI), embedder, **kwargs)
