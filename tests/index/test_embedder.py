"""index.embedder: ONNX Runtime and torch give the same vectors; a broken ONNX setup falls back to torch."""
from __future__ import annotations

import numpy as np
import pytest

from index import onnx_encoder
from index.embedder import Embedder

TEXTS = ["What is Merkel cell carcinoma?", "Treatment of thymoma", "any trials in France for sarcoma of the womb",
         "A longer passage. " * 40]


@pytest.fixture(scope="module")
def torch_embedder():
    return Embedder(runtime="torch")


def test_onnx_and_torch_vectors_match(embedder, torch_embedder):
    assert embedder.runtime == "onnx"
    onnx_vectors, torch_vectors = embedder.encode(TEXTS), torch_embedder.encode(TEXTS)
    assert onnx_vectors.shape == torch_vectors.shape == (len(TEXTS), 384)
    assert np.abs(onnx_vectors - torch_vectors).max() < 1e-4
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)


def test_batched_and_single_encodings_agree(embedder):
    """Padding in a batch must not change a text's vector (the mask keeps pads out of the mean)."""
    batch = embedder.encode(TEXTS)
    for text, vector in zip(TEXTS, batch):
        assert np.abs(embedder.encode([text])[0] - vector).max() < 1e-4


def test_export_is_checked_and_a_failure_falls_back_to_torch(tmp_path, monkeypatch, caplog):
    def broken_export(model, model_path, target):
        raise onnx_encoder.OnnxUnavailable("exporter missing")

    monkeypatch.setattr("index.embedder.export", broken_export)
    fallback = Embedder(runtime="onnx", onnx_dir=tmp_path)
    vector = fallback.encode_query("What is thymoma?")
    assert fallback.runtime == "torch" and vector.shape == (384,)
    assert "embedding with torch instead of ONNX Runtime: exporter missing" in caplog.text
    assert fallback.to_dict()["runtime"] == "torch"


def test_vectors_too_far_from_torch_are_refused(tmp_path, monkeypatch, torch_embedder):
    real_encode = onnx_encoder.OnnxEncoder.encode
    monkeypatch.setattr(onnx_encoder.OnnxEncoder, "encode", lambda self, texts: real_encode(self, texts) + 0.01)
    with pytest.raises(onnx_encoder.OnnxUnavailable, match="differ"):
        onnx_encoder.export(torch_embedder.model, torch_embedder.model_path, tmp_path / "model.onnx")
        onnx_encoder.check_against_torch(onnx_encoder.OnnxEncoder(tmp_path / "model.onnx", torch_embedder.model_path),
                                         torch_embedder.model)


def test_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="runtime must be one of"):
        Embedder(runtime="tensorflow")


def test_prefetch_embeds_the_queries_in_one_batch_into_the_query_cache(monkeypatch):
    """A turn's two queries cost one model run; encode_query then answers from the cache, unchanged."""
    embedder = Embedder(cache_size=8)
    calls = []
    real = embedder.encode
    monkeypatch.setattr(embedder, "encode", lambda texts, **kw: calls.append(list(texts)) or real(texts, **kw))
    embedder.prefetch(["what is a thymoma?", "thymoma treatment", "what is a thymoma?"])
    assert calls == [["what is a thymoma?", "thymoma treatment"]]
    prefetched = embedder.encode_query("thymoma treatment")
    assert len(calls) == 1  # from the cache
    alone = real(["thymoma treatment"], batch_size=1)[0]
    assert np.allclose(prefetched, alone, atol=1e-5)  # padding in the batch changes nothing that matters
    embedder.prefetch(["thymoma treatment"])
    assert len(calls) == 1  # nothing left to embed
