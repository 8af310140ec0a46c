"""Retrieval benchmarks: build, incremental rebuild, query latency, size on disk, and a 100k scale run.

    .venv/bin/python bench/retrieval.py [--scale 100000] [--queries 200] [--skip-build]

Prints figures; docs/benchmarks.md records them with the machine and date. Works on temporary copies,
never on var/index. The scale run uses synthetic passages (sentences resampled from the corpus) and
synthetic vectors (real passage vectors plus noise), because embedding 100k passages on 2 cores
would take over an hour; embedding throughput is measured separately by the full build.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index import settings  # noqa: E402
from index.build import IndexBuilder  # noqa: E402
from index.chunker import Chunker  # noqa: E402
from index.dense import DenseIndex  # noqa: E402
from index.embedder import Embedder  # noqa: E402
from index.evaluate import DEFAULT_SETS  # noqa: E402
from index.lexical import LexicalIndex, Tokenizer  # noqa: E402
from index.search import Searcher  # noqa: E402
from index.sentences import sentence_spans  # noqa: E402
from index.store import load_current  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def questions(limit: int) -> list[str]:
    texts = []
    for path in DEFAULT_SETS:
        texts += [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(7).shuffle(texts)
    return texts[:limit]


def builder(knowledge: Path, index_dir: Path, embedder: Embedder) -> IndexBuilder:
    return IndexBuilder(knowledge, index_dir, embedder,
                        Chunker(settings.get("chunk_max_chars"), settings.get("chunk_hard_max_chars")), progress=None)


def bench_build(work: Path, embedder: Embedder) -> dict[str, float]:
    knowledge = work / "knowledge"
    shutil.copytree(settings.get("knowledge_dir"), knowledge)
    index_dir = work / "index"
    started = time.perf_counter()
    summary = builder(knowledge, index_dir, embedder).run()
    full = time.perf_counter() - started
    target = sorted(knowledge.glob("nci-*.md"))[0]
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("\n## ", "\nThis sentence was added for the benchmark.\n\n## ", 1), encoding="utf-8")
    started = time.perf_counter()
    incremental = builder(knowledge, index_dir, embedder).run()
    one_doc = time.perf_counter() - started
    snapshot = load_current(index_dir)
    return {"passages": summary.passages_total, "full_build_s": full, "passages_per_s": summary.passages_total / full,
            "incremental_s": one_doc, "incremental_embedded": incremental.passages_embedded,
            "index_bytes": folder_bytes(snapshot.folder)}


def bench_queries(searcher: Searcher, texts: list[str]) -> dict[str, float]:
    for text in texts[:5]:
        searcher.search(text, k=5)
    searcher.embedder._cache.clear()
    timings = []
    for text in texts:
        started = time.perf_counter()
        searcher.search(text, k=5)
        timings.append((time.perf_counter() - started) * 1000)
    cached = []
    for text in texts:
        started = time.perf_counter()
        searcher.search(text, k=5)
        cached.append((time.perf_counter() - started) * 1000)
    return {"queries": len(texts), "p50_ms": percentile(timings, 50), "p95_ms": percentile(timings, 95),
            "mean_ms": statistics.mean(timings), "cached_p50_ms": percentile(cached, 50),
            "cached_p95_ms": percentile(cached, 95)}


def bench_scale(base: Searcher, size: int, texts: list[str], work: Path) -> dict[str, float]:
    """Dense (HNSW) and BM25 at `size` synthetic passages, built and queried without the model."""
    snapshot = base.snapshot
    rng = np.random.default_rng(11)
    sentences = [p.quote[s - p.start:e - p.start] for p in snapshot.passages
                 for s, e in sentence_spans(snapshot.documents[p.doc_id]["text"], p.start, p.end)]
    picks = rng.integers(0, len(sentences), size=(size, 5))
    contexts = [" ".join(sentences[i] for i in row) for row in picks]
    sources = rng.integers(0, len(snapshot.vectors), size=size)
    vectors = snapshot.vectors[sources] + rng.normal(0, 0.05, size=(size, snapshot.vectors.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.perf_counter()
    dense = DenseIndex.build(vectors, exact_max=settings.get("exact_index_max"))
    dense_s = time.perf_counter() - started
    started = time.perf_counter()
    lexical = LexicalIndex.build(contexts, Tokenizer())
    lexical_s = time.perf_counter() - started
    folder = work / "scale"
    folder.mkdir()
    dense.save(folder)
    lexical.save(folder)
    np.save(folder / "vectors.npy", vectors)
    query_vectors = [base.embedder.encode_query(t) for t in texts]
    timings = []
    for text, vector in zip(texts, query_vectors):
        started = time.perf_counter()
        dense.top(vector, 50)
        lexical.top(lexical.scores(Tokenizer()(text)), 50)
        timings.append((time.perf_counter() - started) * 1000)
    exact = DenseIndex.build(vectors, exact_max=size)
    recall = np.mean([len({i for i, _ in dense.top(v, 10)} & {i for i, _ in exact.top(v, 10)}) / 10
                      for v in query_vectors])
    return {"passages": size, "dense_type": dense.kind, "dense_build_s": dense_s, "bm25_build_s": lexical_s,
            "search_p50_ms": percentile(timings, 50), "search_p95_ms": percentile(timings, 95),
            "hnsw_recall_at_10": float(recall), "index_bytes": folder_bytes(folder)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=100_000, help="synthetic passages for the scale run (0 skips)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-build", action="store_true", help="skip the full and incremental build")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    embedder = Embedder.from_settings()
    texts = questions(args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_build:
            build = bench_build(work, embedder)
            print("build:", json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in build.items()}))
            searcher = Searcher(load_current(work / "index"), embedder)
        else:
            searcher = Searcher.from_settings(embedder=embedder)
        query = bench_queries(searcher, texts)
        print("query:", json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in query.items()}))
        if args.scale:
            scale = bench_scale(searcher, args.scale, texts, work)
            print("scale:", json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in scale.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
