"""Dense retrieval in FAISS: exact inner product for small corpora, HNSW above a size threshold."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


class DenseIndex:
    FILE = "dense.faiss"

    def __init__(self, index: Any, kind: str):
        self.index = index
        self.kind = kind

    @classmethod
    def build(cls, vectors: np.ndarray, exact_max: int = 50_000) -> "DenseIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dimension = vectors.shape[1]
        if len(vectors) <= exact_max:
            index, kind = faiss.IndexFlatIP(dimension), "flat-ip"
        else:
            index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            kind = "hnsw-ip"
        index.add(vectors)
        dense = cls(index, kind)
        dense._tune()
        return dense

    def _tune(self) -> None:
        if self.kind == "hnsw-ip":
            self.index.hnsw.efSearch = HNSW_EF_SEARCH

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.kind, "metric": "inner_product", "vectors": self.size}
        if self.kind == "hnsw-ip":
            data.update(M=HNSW_NEIGHBOURS, ef_construction=HNSW_EF_CONSTRUCTION, ef_search=HNSW_EF_SEARCH)
        return data

    def save(self, folder: Path) -> None:
        faiss.write_index(self.index, str(folder / self.FILE))

    @classmethod
    def load(cls, folder: Path, kind: str) -> "DenseIndex":
        dense = cls(faiss.read_index(str(folder / cls.FILE)), kind)
        dense._tune()
        return dense

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def top(self, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        n = min(n, self.size)
        if n <= 0:
            return []
        scores, ids = self.index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), n)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
