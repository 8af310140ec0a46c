"""The same sentence-transformers model run by ONNX Runtime: about 3x faster per query on 2 CPU cores,
with no torch in the serving process.

The ONNX file is exported once from the model's own weights (with torch, at the first build) into the
cache folder, keyed by the weights' sha256, and is only used after its vectors have been checked
against the torch model's on probe sentences.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("index")

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PROBES = ("What is thymoma?", "How is penile cancer diagnosed and treated in adults?", "hello",
          "Are there clinical trials for gastrointestinal stromal tumours (GIST) in France, Germany or the U.S.?")
MAX_DIFFERENCE = 1e-4  # largest per-component difference from torch's vectors that we accept


class OnnxUnavailable(Exception):
    """The model can't run on ONNX Runtime here; callers fall back to torch."""


def _pooling_is_mean(model_path: Path) -> bool:
    modules = json.loads((model_path / "modules.json").read_text())
    kinds = [m.get("type", "") for m in modules]
    pooling_dirs = [m["path"] for m in modules if m.get("type", "").endswith("Pooling")]
    if not pooling_dirs or not any(k.endswith("Normalize") for k in kinds):
        return False
    pooling = json.loads((model_path / pooling_dirs[0] / "config.json").read_text())
    return bool(pooling.get("pooling_mode_mean_tokens")) and not any(
        value for key, value in pooling.items() if key.startswith("pooling_mode_") and key != "pooling_mode_mean_tokens")


def max_seq_length(model_path: Path) -> int:
    config = model_path / "sentence_bert_config.json"
    return int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.is_file() else 256


def export(torch_model: Any, model_path: Path, target: Path) -> None:
    """Write `target` (model.onnx): the transformer with mean pooling and L2 normalisation built in."""
    import torch

    if not _pooling_is_mean(model_path):
        raise OnnxUnavailable("only mean-pooled, normalised sentence-transformers models are exported")
    transformer = torch_model[0].auto_model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    sample = torch_model.tokenizer(["a sample sentence"], return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        import warnings

        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(Pooled(), tuple(sample[name] for name in INPUTS), temporary, input_names=list(INPUTS),
                              output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
                              opset_version=17, dynamo=False)
        os.replace(temporary, target)  # atomic: a concurrent reader sees no file or a whole one
    except Exception as exc:
        Path(temporary).unlink(missing_ok=True)
        raise OnnxUnavailable(f"ONNX export failed: {exc}") from exc


class OnnxEncoder:
    """Tokenises with the model's tokenizer.json and runs the exported model."""

    def __init__(self, onnx_file: Path, model_path: Path, threads: int = 0):
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise OnnxUnavailable(f"onnxruntime is not installed: {exc}") from exc
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_seq_length(model_path))
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
        self.dimension = int(self.session.get_outputs()[0].shape[1] or json.loads(
            (model_path / "config.json").read_text())["hidden_size"])

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)


def check_against_torch(encoder: OnnxEncoder, torch_model: Any) -> float:
    """The largest difference between the two runtimes' vectors on the probes; raises if too large."""
    reference = torch_model.encode(list(PROBES), convert_to_numpy=True, normalize_embeddings=True,
                                   show_progress_bar=False)
    difference = float(np.abs(encoder.encode(list(PROBES)) - reference).max())
    if difference > MAX_DIFFERENCE:
        raise OnnxUnavailable(f"ONNX vectors differ from torch's by {difference:.2g} (> {MAX_DIFFERENCE})")
    return difference
