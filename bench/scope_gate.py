"""Calibrates the answer thresholds: answered rate on answerable questions against wrong answers on
unanswerable ones (cancers the sources don't cover, health questions outside rare cancers).

    .venv/bin/python bench/scope_gate.py [--limit N]

Answerable: tests/data/medquad.jsonl (NIH questions; correct = a citation inside the reference answer)
and the `qa` items of tests/data/questions.jsonl (correct = a citation holding a key phrase).
Unanswerable: tests/data/uncovered_cancers.jsonl (those of its questions on cancers the sources don't
cover: the set now mixes both, tests/data/README.md) and tests/data/offtopic_health.jsonl; any answer to
them is wrong. Each question goes through the real gate (linking, scope, search) once, with its
retrieval confidence recorded, and the thresholds are then applied to those figures. Prints the curve
that docs/benchmarks.md records, and the linking rate on tests/data/cancer_mentions.jsonl.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.resources import Resources  # noqa: E402
from bot.scope import mentions_oncology, unknown_terms  # noqa: E402
from index import settings  # noqa: E402

DATA = ROOT / "tests" / "data"


@dataclass
class Outcome:
    kind: str  # answerable / uncovered / offtopic
    gated: bool  # refused before any threshold: cancer not covered, or words the sources never use
    scoped: bool  # a covered cancer named, or a word of cancer care: only the answer threshold applies
    confidence: float
    correct: bool  # for answerable questions: the citations hold the answer
    question: str = ""
    ungated: float = 0.0  # the best confidence over all documents, as before the gate existed


def alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).strip()


def load(name: str, kinds: tuple[str, ...] = ()) -> list[dict]:
    items = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [i for i in items if not kinds or i.get("kind") in kinds]


def correct(item: dict, quotes: list[str]) -> bool:
    if "gold" in item:
        gold = alnum(item["gold"])
        return any(alnum(q) and alnum(q)[:150] in gold for q in quotes)
    keys = [k.lower() for k in item.get("keys", [])]
    return any(k in q.lower() for q in quotes for k in keys)


def outcome(resources: Resources, item: dict, kind: str) -> Outcome:
    question = item["q"]
    everywhere = resources.searcher.search(question, k=1)
    ungated = everywhere[0].confidence if everywhere else 0.0
    scope = resources.coverage.scope(resources.linker.run(question))
    if kind == "uncovered" and scope.cancers:  # a cancer the sources cover since the set was written
        kind = "now covered"
    if scope.not_covered:
        return Outcome(kind, True, False, 0.0, False, question, ungated)
    results = resources.searcher.search(question, k=3, doc_ids=scope.doc_ids)
    confidence = results[0].confidence if results else 0.0
    searcher = resources.searcher
    gated = not scope.cancers and not mentions_oncology(question) and bool(
        unknown_terms(question, searcher.rewriter, resources.coverage.subjects))
    return Outcome(kind, gated, bool(scope.cancers) or mentions_oncology(question), confidence,
                   correct(item, [r.quote for r in results]), question, ungated)


def answered(o: Outcome, answer: float, domain: float) -> bool:
    """Would this question be answered with these thresholds (the domain one for questions naming no cancer)?"""
    return not o.gated and o.confidence >= answer and (o.scoped or o.confidence >= domain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="at most this many questions per set (0: all)")
    parser.add_argument("--show", action="store_true", help="list the unanswerable questions answered, and the "
                        "answerable ones not, at the configured thresholds")
    args = parser.parse_args()
    resources = Resources.from_settings()
    sets = {"answerable": load("medquad.jsonl") + load("questions.jsonl", ("qa",)),
            "uncovered": load("uncovered_cancers.jsonl"), "offtopic": load("offtopic_health.jsonl")}
    outcomes = [outcome(resources, item, kind) for kind, items in sets.items()
                for item in (items[:args.limit] if args.limit else items)]
    by_kind = {k: [o for o in outcomes if o.kind == k] for k in sets}
    domain = settings.get("domain_threshold")
    print("questions: " + ", ".join(f"{k} {len(v)}" for k, v in by_kind.items())
          + f" (and {sum(o.kind == 'now covered' for o in outcomes)} of uncovered_cancers.jsonl on cancers the"
          " sources now cover, set aside)")
    print(f"gated before any threshold: uncovered {sum(o.gated for o in by_kind['uncovered'])}, "
          f"offtopic {sum(o.gated for o in by_kind['offtopic'])}, answerable {sum(o.gated for o in by_kind['answerable'])}")
    print(f"\nanswer threshold (domain threshold {domain} for questions naming no cancer); the last two "
          "columns: a threshold alone, over all documents, with no gate")
    print("threshold  answered  answered+correct  uncovered answered  offtopic answered  | no gate: uncovered  offtopic")
    for step in range(10, 85, 5):
        t = step / 100
        ans = by_kind["answerable"]
        answered_share = sum(answered(o, t, domain) for o in ans) / len(ans)
        right = sum(answered(o, t, domain) and o.correct for o in ans) / len(ans)
        wrong = {k: sum(answered(o, t, domain) for o in by_kind[k]) for k in ("uncovered", "offtopic")}
        alone = {k: sum(o.ungated >= t for o in by_kind[k]) for k in ("uncovered", "offtopic")}
        print(f"{t:9.2f}  {answered_share:8.3f}  {right:16.3f}  {wrong['uncovered']:18d}  {wrong['offtopic']:17d}"
              f"  | {alone['uncovered']:18d}  {alone['offtopic']:8d}")
    answer = settings.get("answer_threshold")
    print(f"\ndomain threshold for questions naming no cancer (answer threshold {answer})")
    print("threshold  answerable answered  offtopic answered")
    for step in range(20, 75, 5):
        d = step / 100
        ans = by_kind["answerable"]
        print(f"{d:9.2f}  {sum(answered(o, answer, d) for o in ans) / len(ans):19.3f}  "
              f"{sum(answered(o, answer, d) for o in by_kind['offtopic']):17d}")
    if args.show:
        domain_now = settings.get("domain_threshold")
        for o in outcomes:
            if answered(o, answer, domain_now) != (o.kind == "answerable"):
                print(f"  {o.kind:10} {o.confidence:.3f} scoped={o.scoped} gated={o.gated} {o.question}")
    mentions = load("cancer_mentions.jsonl")
    linked = sum(item["cancer"] in [m.name for m in resources.linker.run(item["text"])][:1] for item in mentions)
    print(f"\nlinking: {linked}/{len(mentions)} misspellings, lay names and negations linked to the right cancer first")


if __name__ == "__main__":
    main()
