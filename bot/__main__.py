"""Command line: a terminal chat, JSON answers exactly as the HTTP API gives them, and the gaps report.

    python -m bot chat
    python -m bot ask --json "question"      (no question: one per stdin line, one JSON line each)
    python -m bot report [--limit N]
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
import uuid
from typing import Any

from index import settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _engine() -> Any:
    from bot import resources
    from bot.engine import Engine
    from bot.store import InMemoryStore
    from index import settings
    from index.store import IndexError_

    try:
        return Engine(resources.get(), InMemoryStore(), settings.get("message_max_chars"))
    except IndexError_ as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from exc


def _print_reply(reply: dict[str, Any]) -> None:
    for message in reply["messages"]:
        print(textwrap.fill(message["text"], 100, replace_whitespace=False) if "\n" not in message["text"]
              else message["text"])
        for number, citation in enumerate(message["citations"], start=1):
            where = f" > {citation['section']}" if citation.get("section") else ""
            print(f"  [{number}] {citation['title']}{where} ({citation['publisher']}) {citation.get('url', '')}")
        if message["buttons"]:
            print("  options: " + " | ".join(b["title"] for b in message["buttons"]))
    print()


def command_chat(args: argparse.Namespace) -> int:
    from bot.engine import InvalidMessage
    from bot.safety import DISCLAIMER

    engine = _engine()
    session = uuid.uuid4().hex
    print(DISCLAIMER + "\nType a message (Ctrl-D to quit).\n")
    while True:
        try:
            line = input("you> ")
        except EOFError:
            print()
            return EXIT_OK
        if not line.strip():
            continue
        try:
            _print_reply(engine.handle(session, line))
        except InvalidMessage as exc:
            print(f"  {exc}\n")


def command_ask(args: argparse.Namespace) -> int:
    from bot.engine import InvalidMessage

    if args.question is not None and not args.question.strip():
        print("error: the question is empty.", file=sys.stderr)
        return EXIT_USAGE
    engine = _engine()
    questions = [args.question] if args.question is not None else (line for line in sys.stdin)
    status = EXIT_OK
    for question in questions:
        if not question.strip():
            continue
        try:
            reply = engine.handle(args.session or uuid.uuid4().hex, question)
        except InvalidMessage as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_FAILED
            continue
        reply.pop("session_id")
        if args.json:
            print(json.dumps(reply, ensure_ascii=False), flush=True)
        else:
            _print_reply(reply)
    return status


def command_report(args: argparse.Namespace) -> int:
    from bot.report import top_gaps

    gaps = top_gaps(limit=args.limit)
    if not gaps:
        print("No content gaps recorded yet.")
    for kind, text, count in gaps:
        print(f"{count:>4}  {kind:<15} {text}")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("chat", help="chat in the terminal").set_defaults(run=command_chat)
    ask = commands.add_parser("ask", help="answer questions; no question reads one per stdin line")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--json", action="store_true", help="print the HTTP API's JSON")
    ask.add_argument("--session", help="keep one conversation across the questions (default: a new one each)")
    ask.set_defaults(run=command_ask)
    report = commands.add_parser("report", help="top content gaps: unanswered questions and negative feedback")
    report.add_argument("--limit", type=settings.positive_int, default=20)
    report.set_defaults(run=command_report)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
