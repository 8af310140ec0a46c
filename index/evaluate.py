"""`python -m index eval`: hit@1, hit@3 and MRR of hybrid, BM25-only and dense-only retrieval.

A MedQuAD question is hit by a passage that quotes text from inside its gold answer (the first
150 alphanumeric characters of the quote lie in the answer, as ../shared/eval/run_eval.py scores it).
A `qa` question of questions.jsonl is hit by a passage that holds one of its key phrases.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from index.search import RETRIEVERS, Searcher

DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_SETS = (DATA_DIR / "medquad.jsonl", DATA_DIR / "medquad_rare.jsonl", DATA_DIR / "questions.jsonl")
DEPTH = 10


def norm(text: str) -> str:
    text = (text or "").replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", norm(text)).strip()


@dataclass
class Question:
    qid: str
    text: str
    is_hit: Callable[[str], bool]


def load_questions(path: Path) -> list[Question]:
    """The retrieval questions of a JSON-lines set: items with a gold answer or key phrases."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc}). Fix the line.") from exc
        if item.get("kind") != "qa":
            continue
        if "gold" in item:
            gold = alnum(item["gold"])
            hit = lambda quote, gold=gold: bool(alnum(quote)) and alnum(quote)[:150] in gold  # noqa: E731
        else:
            keys = [norm(k) for k in item.get("keys", [])]
            hit = lambda quote, keys=keys: any(k in norm(quote) for k in keys)  # noqa: E731
        questions.append(Question(str(item.get("id", number)), item["q"], hit))
    return questions


def score(searcher: Searcher, questions: list[Question], retriever: str) -> dict[str, Any]:
    hit1 = hit3 = 0
    reciprocal = 0.0
    misses = []
    for question in questions:
        results = searcher.search(question.text, k=DEPTH, retriever=retriever)
        ranks = [i for i, r in enumerate(results, start=1) if question.is_hit(r.quote)]
        first = ranks[0] if ranks else None
        hit1 += first == 1
        hit3 += first is not None and first <= 3
        reciprocal += 1.0 / first if first else 0.0
        if first != 1:
            misses.append(question.qid)
    n = len(questions) or 1
    return {"questions": len(questions), "hit@1": round(hit1 / n, 3), "hit@3": round(hit3 / n, 3),
            "mrr": round(reciprocal / n, 3), "misses_at_1": misses}


def evaluate(searcher: Searcher, sets: list[Path]) -> dict[str, dict[str, dict[str, Any]]]:
    report: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sets:
        questions = load_questions(path)
        report[path.name] = {retriever: score(searcher, questions, retriever) for retriever in RETRIEVERS}
    return report


def format_report(report: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = []
    for name, by_retriever in report.items():
        count = next(iter(by_retriever.values()))["questions"]
        lines.append(f"{name} ({count} questions)")
        lines.append(f"  {'retriever':<9} {'hit@1':>6} {'hit@3':>6} {'MRR':>6}")
        for retriever, figures in by_retriever.items():
            lines.append(f"  {retriever:<9} {figures['hit@1']:>6.3f} {figures['hit@3']:>6.3f} {figures['mrr']:>6.3f}")
    return "\n".join(lines)
