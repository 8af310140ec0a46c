"""Command line for the knowledge base: ``python -m knowledge <command> ...``.

Each importer is a subcommand, so more (for example ``import-trials``) can be added
next to ``import-medquad`` with another ``_add_...`` function.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MEDQUAD_SOURCE = PACKAGE_DIR / "sources" / "medquad_cancergov_rare" / "xml"
DEFAULT_DOCUMENTS_DIR = PACKAGE_DIR / "documents"


def _display(path: Path) -> str:
    """Show package paths relative to the current directory when possible."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _run_import_medquad(args: argparse.Namespace) -> int:
    from knowledge.medquad_import import import_medquad

    sources = [Path(s) for s in args.sources] or [DEFAULT_MEDQUAD_SOURCE]
    return import_medquad(sources, Path(args.out), stdout=sys.stdout, stderr=sys.stderr)


def _add_import_medquad(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-medquad",
        help="turn MedQuAD cancer.gov XML files into Markdown documents (nci-<slug>.md)",
        description=(
            "Convert MedQuAD CancerGov XML files (NCI PDQ patient summaries) into one "
            "Markdown document per cancer. Files with the same <Focus> are merged into "
            "one document. Answer text is kept word for word; only whitespace and list "
            "layout are changed."
        ),
    )
    parser.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE_DIR",
        help=(
            "directory of MedQuAD *.xml files, or single XML files "
            f"(default: {_display(DEFAULT_MEDQUAD_SOURCE)})"
        ),
    )
    parser.add_argument(
        "--out",
        default=str(DEFAULT_DOCUMENTS_DIR),
        metavar="DIR",
        help=f"output directory for the documents (default: {_display(DEFAULT_DOCUMENTS_DIR)})",
    )
    parser.set_defaults(handler=_run_import_medquad)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge",
        description="Build the curated knowledge documents from their sources.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_import_medquad(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
