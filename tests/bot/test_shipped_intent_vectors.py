"""bot.intents: example vectors shipped in bot/data/vectors/ are used only when checked, and change nothing."""
from __future__ import annotations

import numpy as np

from bot.intents import IntentClassifier
from bot.nlu_data import load_nlu
from index.shipped_vectors import SUFFIX, model_folder

MINI = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
- intent: ask_trials
  examples: |
    - any clinical trials for sarcoma?
    - which studies recruit for thymoma
"""


def mini(tmp_path):
    path = tmp_path / "nlu.yml"
    path.write_text(MINI, encoding="utf-8")
    return load_nlu(path)


def test_shipped_vectors_are_used_and_equal_what_would_be_embedded(embedder, tmp_path):
    nlu = mini(tmp_path)
    computed = IntentClassifier(nlu, embedder, shipped_dir=None)
    computed.write_shipped(tmp_path / "vectors")
    shipped = IntentClassifier(nlu, embedder, shipped_dir=tmp_path / "vectors")
    assert shipped.shipped_used == len(shipped.texts)
    assert shipped.vectors.tobytes() == computed.vectors.tobytes()


def test_a_tampered_file_is_ignored_with_a_warning_naming_the_fix(embedder, tmp_path, caplog):
    nlu = mini(tmp_path)
    computed = IntentClassifier(nlu, embedder, shipped_dir=None)
    computed.write_shipped(tmp_path / "vectors")
    path = tmp_path / "vectors" / model_folder(embedder.to_dict()) / f"intents{SUFFIX}"
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    again = IntentClassifier(nlu, embedder, shipped_dir=tmp_path / "vectors")
    assert again.shipped_used == 0
    assert "python -m bot.intents" in caplog.text and "checksum" in caplog.text
    assert np.allclose(again.vectors, computed.vectors, atol=1e-5)


def test_the_shipped_intent_vectors_cover_the_examples_as_the_server_reads_them(loaded):
    """Fails after bot/data/nlu.yml (or what delexicalization knows) changes, until the file is rewritten."""
    intents = loaded.intents
    assert intents.shipped_used == len(intents.texts), (
        f"{len(intents.texts) - intents.shipped_used} of {len(intents.texts)} intent examples have no shipped vector: "
        "run `python -m bot.intents` and commit bot/data/vectors/.")
