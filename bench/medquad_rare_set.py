"""Writes tests/data/medquad_rare.jsonl: the 663 NIH question-answer pairs of knowledge/sources/medquad_rare.

    .venv/bin/python bench/medquad_rare_set.py [--check]

Each item is the question verbatim and, as "gold", its answer verbatim (kind "qa" of
../shared/eval/run_eval.py: a citation hits when its quote lies inside the gold answer). With --check it
only says whether the committed set matches the sources (exit 1 if not).
"""
from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "knowledge" / "sources" / "medquad_rare" / "xml"
OUT = ROOT / "tests" / "data" / "medquad_rare.jsonl"


def items(sources: Path = SOURCES) -> list[dict[str, str]]:
    found = []
    for path in sorted(sources.rglob("*.xml")):
        for pair in ET.parse(path).getroot().iter("QAPair"):
            question = pair.find("Question")
            answer = "".join(pair.find("Answer").itertext())
            found.append({"id": f"mqr-{question.get('qid')}", "kind": "qa", "q": question.text,
                          "qtype": question.get("qtype"), "collection": path.parent.name, "gold": answer})
    return found


def render(found: list[dict[str, str]]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare the committed set with the sources")
    args = parser.parse_args(argv)
    text = render(items())
    if args.check:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print("tests/data/medquad_rare.jsonl matches the sources" if same else
              "tests/data/medquad_rare.jsonl is stale: run .venv/bin/python bench/medquad_rare_set.py")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(text.splitlines())} questions to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
