"""Dialogue turn latency of the embedded engine, in-process (no HTTP), over the evaluation questions.

    .venv/bin/python bench/dialogue.py [--rounds 2]

Round 1 has cold query-embedding caches; later rounds repeat the same messages (cached embeddings).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import resources  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.store import InMemoryStore  # noqa: E402
from index.evaluate import DEFAULT_SETS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    engine = Engine(resources.get(), InMemoryStore())
    print(f"resources loaded in {time.perf_counter() - started:.1f} s")
    messages = [json.loads(line)["q"] for path in DEFAULT_SETS
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for round_number in range(1, args.rounds + 1):
        timings = []
        for number, message in enumerate(messages):
            began = time.perf_counter()
            engine.handle(f"bench-{round_number}-{number}", message)
            timings.append((time.perf_counter() - began) * 1000)
        values = np.array(timings)
        print(f"round {round_number}: {len(values)} turns, p50 {np.percentile(values, 50):.1f} ms, "
              f"p95 {np.percentile(values, 95):.1f} ms, p99 {np.percentile(values, 99):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
