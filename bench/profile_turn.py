"""Where the time goes inside one chat turn, measured in-process on the built index.

    make index && .venv/bin/python bench/profile_turn.py [--turns 256] [--cprofile 20]

Each evaluation question goes through `Engine.handle` with a SQLite store, as a server worker runs it.
The stages below are timed by wrapping the functions that do them; a stage's time excludes the wrapped
stages it calls (encode inside search counts once, as encode). With --cprofile N the N functions with
the most own time are listed too.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"


class Stages:
    """Exclusive time per stage: a stage's clock pauses while a nested stage runs."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[list[Any]] = []  # [name, started, time spent in children]

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            frame = [name, time.perf_counter(), 0.0]
            self._stack.append(frame)
            try:
                return original(*args, **kwargs)
            finally:
                self._stack.pop()
                elapsed = time.perf_counter() - frame[1]
                self.seconds[name] += elapsed - frame[2]
                self.calls[name] += 1
                if self._stack:
                    self._stack[-1][2] += elapsed

        setattr(owner, attribute, timed)


def messages(sets: list[str]) -> list[str]:
    return [json.loads(line)["q"] for name in sets
            for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=256)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    parser.add_argument("--sets", default="questions.jsonl,medquad.jsonl",
                        help="comma-separated question sets in tests/data, e.g. uncovered_cancers.jsonl,offtopic_health.jsonl")
    parser.add_argument("--unknown-word", action="store_true",
                        help="append a made-up word to each message, as bench/load.py --unique does")
    args = parser.parse_args(argv)

    from bot import engine as engine_module
    from bot.engine import Engine
    from bot.resources import Resources
    from server.sqlite_store import SqliteStore

    resources = Resources.from_settings()
    searcher, embedder = resources.searcher, resources.searcher.embedder
    store = SqliteStore(Path(tempfile.mkdtemp()) / "sessions.sqlite3", retention_days=30)
    engine = Engine(resources, store)
    texts = messages(args.sets.split(","))[: args.turns]
    for text in texts[:8]:  # warm up: model sessions, caches of passage stems
        engine.handle("warm-up", text)
    embedder._cache.clear()  # every measured turn embeds afresh, as a new question does

    stages = Stages()
    stages.wrap(engine_module, "find_red_flag", "red flags")
    stages.wrap(resources.entities, "run", "entities")
    stages.wrap(resources.intents, "run", "intent (kNN, without encode)")
    stages.wrap(embedder, "encode_query", "encode (model)")
    stages.wrap(embedder, "prefetch", "encode (model)")  # the turn's two queries in one batch
    stages.wrap(searcher.rewriter, "run", "query rewrite (tokenise, typos, lay terms)")
    stages.wrap(searcher, "search", "search (BM25, dense top-k, candidates)")
    stages.wrap(searcher.fusion, "run", "fuse")
    stages.wrap(searcher, "best_spans", "answer sentences (spans)")
    stages.wrap(store, "load", "state store: load")
    stages.wrap(store, "save", "state store: save")
    stages.wrap(engine, "_run", "action (answer, cards)")
    stages.wrap(engine, "handle", "engine (routing, slots, history)")

    profiler = cProfile.Profile() if args.cprofile else None
    turns = []
    for number, text in enumerate(texts):
        began = time.perf_counter()
        if profiler:
            profiler.enable()
        engine.handle(f"profile-{number % 16}", f"{text} zq{number}x" if args.unknown_word else text)
        if profiler:
            profiler.disable()
        turns.append(time.perf_counter() - began)
    total = sum(turns)
    ms = np.array(turns) * 1000
    print(f"{len(texts)} turns, new questions (query embeddings not cached), SQLite store, "
          f"runtime {embedder.runtime}")
    print(f"turn p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
          f"p99 {np.percentile(ms, 99):.1f} ms, mean {ms.mean():.1f} ms")
    print(f"\n| stage | calls per turn | ms per turn | share |\n|---|---|---|---|")
    for name, seconds in sorted(stages.seconds.items(), key=lambda item: -item[1]):
        print(f"| {name} | {stages.calls[name] / len(texts):.2f} | {seconds * 1000 / len(texts):.2f} | "
              f"{seconds / total:.0%} |")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.cprofile)
        print(out.getvalue())
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
