"""A trial search in conversation, timed: whole turns through the embedded engine over a trial store.

    RCA_TORCH_THREADS=1 .venv/bin/python bench/trial_turns.py --store PATH [--repeat 3]

PATH is a store such as `bench/trial_store_scale.py --studies 500000 --keep` leaves. Each request is a
fresh conversation, then a reply giving who would take part ("45, woman, France"), so both the listing
and the narrowed search are timed. Prints the p50 and p95 of each kind of turn, and how many cards the
replies carried. Figures go in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REQUESTS = [
    "any trials for uterine sarcoma?", "clinical trials for chordoma", "are there studies for GIST in Germany",
    "trials near Lyon for a 45-year-old woman with uterine leiomyosarcoma", "phase 2 trials for melanoma of the eye",
    "recruiting trials for mesothelioma in the UK", "any clinical trails for ewing sarcoma? my son is 14",
    "trials for neuroendocrine tumours in Italy", "studies for adenoid cystic carcinoma",
    "any trials for thymoma near Paris",
]
REPLY = "45, woman, France"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, type=Path, help="a trial store file (SQLite)")
    parser.add_argument("--repeat", type=int, default=3, help="times each conversation is run")
    args = parser.parse_args()
    if not args.store.is_file():
        parser.error(f"{args.store} is no file: make one with bench/trial_store_scale.py --keep")
    os.environ["RCA_TRIAL_STORE"] = str(args.store)
    from bot.engine import Engine
    from bot.resources import Resources
    from bot.store import InMemoryStore

    resources = Resources.from_settings()
    engine = Engine(resources, InMemoryStore())
    print(f"store: {args.store} ({resources.trial_store.count():,} studies)")
    timings: dict[str, list[float]] = {"request": [], "reply with details": []}
    cards = []
    engine.handle("warm-up", REQUESTS[0])
    for run in range(args.repeat):
        for number, request in enumerate(REQUESTS):
            session = f"{run}-{number}"
            for kind, text in (("request", request), ("reply with details", REPLY)):
                started = time.perf_counter()
                reply = engine.handle(session, text)
                timings[kind].append((time.perf_counter() - started) * 1000)
                cards.append(sum(len(m["trials"]) for m in reply["messages"]))
    for kind, values in timings.items():
        values.sort()
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"{kind}: p50 {statistics.median(values):.1f} ms, p95 {p95:.1f} ms ({len(values)} turns)")
    print(f"cards per reply: mean {statistics.mean(cards):.1f}, replies with none {cards.count(0)} of {len(cards)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
