"""Command line for maintainers and nurses: build, verify, search and eval.

    python -m index build [--force]
    python -m index vectors                               (build, then write knowledge/vectors/ from the index)
    python -m index verify
    python -m index search "query" [--k N] [--json]      (no query: one query per stdin line, JSON lines out)
    python -m index eval [--set FILE ...] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from index import settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _searcher() -> Any:
    from index.search import Searcher
    from index.store import IndexError_

    try:
        return Searcher.from_settings()
    except IndexError_ as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from exc


def _refused(errors: list, where: str) -> int:
    """Prints each problem (file:line: ... Fix: ...) and that nothing changed."""
    for error in errors:
        print(str(error), file=sys.stderr)
    print(f"{len(errors)} problem(s) {where}; nothing was indexed and the current index is unchanged.", file=sys.stderr)
    return EXIT_FAILED


def shipped_vectors_dir() -> Path:
    """Shipped passage vectors live beside the documents: knowledge/vectors/ (index/shipped_vectors.py)."""
    return settings.get("knowledge_dir").parent / "vectors"


def _build(force: bool) -> tuple[int, Any]:
    """Runs an incremental build; (exit code, the embedder it used)."""
    from index.build import BuildLocked, IndexBuilder, InvalidDocuments
    from index.chunker import Chunker
    from index.embedder import Embedder
    from knowledge.cancer_vocabulary import VocabularyError, load_vocabulary

    knowledge_dir, index_dir = settings.get("knowledge_dir"), settings.get("index_dir")
    try:
        vocabulary = load_vocabulary(settings.get("cancer_vocabulary"))
    except VocabularyError as exc:
        return _refused(exc.errors, "in the cancer vocabulary"), None
    print(f"Indexing {knowledge_dir} into {index_dir}", file=sys.stderr)
    embedder = Embedder.from_settings()
    builder = IndexBuilder(
        knowledge_dir, index_dir, embedder,
        Chunker(settings.get("chunk_max_chars"), settings.get("chunk_hard_max_chars")),
        exact_max=settings.get("exact_index_max"), batch_size=settings.get("embed_batch_size"),
        keep_builds=settings.get("keep_builds"), trials_dir=settings.records_dir("trials"),
        organisations_dir=settings.records_dir("organisations"), vocabulary=vocabulary,
        vectors_dir=shipped_vectors_dir())
    try:
        summary = builder.run(force=force)
    except InvalidDocuments as exc:
        return _refused(exc.errors, "found"), None
    except BuildLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED, None
    print("\n".join(summary.lines()))
    _publish_curated_trials(index_dir, vocabulary)
    return EXIT_OK, embedder


def _publish_curated_trials(index_dir: Path, vocabulary: Any) -> None:
    """The build's curated trial records go into the trial store, where the finder and /api/trials read them."""
    from index.store import current_records
    from knowledge.trial_store import TrialStore

    trials = current_records(index_dir).get("trials", [])
    with TrialStore(settings.get("trial_store"), vocabulary) as store:
        store.put_curated(trials)
    print(f"Trial store {settings.get('trial_store')}: {len(trials)} curated trial records", file=sys.stderr)


def command_build(args: argparse.Namespace) -> int:
    return _build(args.force)[0]


def command_vectors(args: argparse.Namespace) -> int:
    """Brings the index up to date, then writes its vectors as the shipped ones (only files that differ)."""
    from index.shipped_vectors import model_key, write_from_snapshot
    from index.store import load_current

    code, embedder = _build(force=False)
    if code != EXIT_OK:
        return code
    snapshot = load_current(settings.get("index_dir"))
    if model_key(snapshot.manifest["model"]) != model_key(embedder.to_dict()):
        print("error: the index was built by another model than the one running; run `python -m index build --force`.",
              file=sys.stderr)
        return EXIT_FAILED
    summary = write_from_snapshot(shipped_vectors_dir(), snapshot)
    print(summary.line())
    return EXIT_OK


def command_verify(args: argparse.Namespace) -> int:
    from index.embedder import Embedder
    from index.search import expected_build
    from index.verify import verify

    embedder = Embedder(settings.get("model_path") or None)  # only its weights are hashed, it is not loaded
    problems = verify(settings.get("knowledge_dir"), settings.get("index_dir"), expected_build(embedder))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return EXIT_FAILED
    print(f"Index in {settings.get('index_dir')} is sound and matches {settings.get('knowledge_dir')}.")
    return EXIT_OK


def _print_human(query: str, results: list[Any]) -> None:
    if not results:
        print(f"No passage matches {query!r}.")
    for rank, result in enumerate(results, start=1):
        section = f" > {result.section}" if result.section else ""
        print(f"{rank}. {result.title}{section}  [{result.doc_id} {result.start}-{result.end}]"
              f"  score {result.score:.3f}  confidence {result.confidence:.2f}")
        print(textwrap.indent(textwrap.fill(" ".join(result.quote.split()), 100), "   "))
        if result.url:
            print(f"   {result.url}")
        print()


def command_search(args: argparse.Namespace) -> int:
    if args.query is not None and not args.query.strip():
        print("error: the query is empty. Give some words to search for.", file=sys.stderr)
        return EXIT_USAGE
    searcher = _searcher()
    k = args.k or settings.get("search_k")
    if args.query is not None:
        results = searcher.search(args.query, k=k)
        if args.json:
            print(json.dumps({"query": args.query, "results": [r.to_dict() for r in results]}, ensure_ascii=False))
        else:
            _print_human(args.query, results)
        return EXIT_OK
    interactive = sys.stdin.isatty() and not args.json
    while True:  # model start-up is paid once for the whole stream
        if interactive:
            print("question> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            return EXIT_OK
        query = line.strip()
        if not query:
            continue
        results = searcher.search(query, k=k)
        if interactive:
            _print_human(query, results)
        else:
            print(json.dumps({"query": query, "results": [r.to_dict() for r in results]}, ensure_ascii=False), flush=True)


def command_eval(args: argparse.Namespace) -> int:
    from index.evaluate import DEFAULT_SETS, evaluate, format_report

    sets = [Path(p) for p in args.set] if args.set else list(DEFAULT_SETS)
    missing = [str(p) for p in sets if not p.is_file()]
    if missing:
        print(f"error: question set not found: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    report = evaluate(_searcher(), sets)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m index", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="validate documents and (re)build the index incrementally")
    build.add_argument("--force", action="store_true", help="re-embed every document")
    build.set_defaults(run=command_build)
    commands.add_parser("vectors", help="build, then write the index's vectors to knowledge/vectors/ (only what changed)"
                        ).set_defaults(run=command_vectors)
    commands.add_parser("verify", help="check the index is whole and matches knowledge/").set_defaults(run=command_verify)
    search = commands.add_parser("search", help="search passages; no query reads queries from stdin")
    search.add_argument("query", nargs="?", help="what to look for")
    search.add_argument("--k", type=settings.positive_int, help="number of results")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(run=command_search)
    evaluation = commands.add_parser("eval", help="hit@1, hit@3 and MRR of hybrid, BM25 and dense retrieval")
    evaluation.add_argument("--set", action="append", help="JSON-lines question set (repeatable)")
    evaluation.add_argument("--json", action="store_true", help="print JSON, with the missed question ids")
    evaluation.set_defaults(run=command_eval)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
