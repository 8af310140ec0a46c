"""Command line for the knowledge base: ``python -m knowledge <command> ...``.

Each importer is a subcommand, so more (for example ``import-trials``) can be added
next to ``import-medquad`` with another ``_add_...`` function.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MEDQUAD_SOURCES = (PACKAGE_DIR / "sources" / "medquad_cancergov_rare" / "xml",
                           PACKAGE_DIR / "sources" / "medquad_rare" / "xml")
DEFAULT_DOCUMENTS_DIR = PACKAGE_DIR / "documents"
# sync-trials and import-trials --store: the server's setting RCA_TRIAL_STORE (index/settings.py), read here
# from the environment because knowledge/ imports no later layer; relative paths are from the project root.
DEFAULT_TRIAL_STORE = PACKAGE_DIR.parent / Path(os.environ.get("RCA_TRIAL_STORE") or "var/trials.sqlite3").expanduser()


def _display(path: Path) -> str:
    """Show package paths relative to the current directory when possible."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _run_import_medquad(args: argparse.Namespace) -> int:
    from knowledge.medquad_import import import_medquad

    sources = [Path(s) for s in args.sources] or list(DEFAULT_MEDQUAD_SOURCES)
    return import_medquad(sources, Path(args.out), stdout=sys.stdout, stderr=sys.stderr)


def _add_import_medquad(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-medquad",
        help="turn MedQuAD XML files into Markdown documents (nci-, gard-, ghr-<slug>.md)",
        description=(
            "Convert MedQuAD XML files (NCI PDQ patient summaries, GARD and Genetics Home Reference pages) "
            "into one Markdown document per page; cancer.gov files with the same <Focus> are merged into "
            "one document. Answer text is kept word for word; only whitespace and list layout are changed, "
            "and the site boilerplate listed in knowledge/medquad_boilerplate.yml is left out."
        ),
    )
    parser.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE_DIR",
        help=(
            "directory of MedQuAD *.xml files (searched recursively), or single XML files "
            f"(default: {' and '.join(_display(p) for p in DEFAULT_MEDQUAD_SOURCES)})"
        ),
    )
    parser.add_argument(
        "--out",
        default=str(DEFAULT_DOCUMENTS_DIR),
        metavar="DIR",
        help=f"output directory for the documents (default: {_display(DEFAULT_DOCUMENTS_DIR)})",
    )
    parser.set_defaults(handler=_run_import_medquad)


def _add_import_trials(subparsers: argparse._SubParsersAction) -> None:
    """`import-trials`: ClinicalTrials.gov records -> documents/trials/ctgov-<nct>.md + trials/ctgov-<nct>.yml,
    or with --store into the trial store (knowledge/trial_bulk.py)."""
    import datetime

    documents_out, records_out = DEFAULT_DOCUMENTS_DIR / "trials", PACKAGE_DIR / "trials"

    def run(args: argparse.Namespace) -> int:
        if args.store is not None:
            return _run_import_to_store(args, parser)
        if args.if_empty:
            parser.error("--if-empty: for importing into the trial store only; use it with --store")
        if not args.files:
            parser.error("the following arguments are required: FILE")
        from knowledge.trials_import import import_trials, parse_only

        try:
            only = parse_only(args.only)
        except ValueError as exc:
            print(f"error: --only: {exc}", file=sys.stderr)
            return 2
        return import_trials([Path(s) for s in args.files], Path(args.documents_out or documents_out),
                             Path(args.records_out or records_out), args.retrieved or datetime.date.today().isoformat(),
                             only=only or None, stdout=sys.stdout, stderr=sys.stderr)

    parser = subparsers.add_parser(
        "import-trials",
        help="turn ClinicalTrials.gov study records into documents and trial records (or, with --store, "
             "into the trial store)",
        description=(
            "Import ClinicalTrials.gov studies: API v2 JSON (one study, or a {\"studies\": [...]} page) or "
            "classic <clinical_study> XML. Each study becomes a Markdown document ctgov-<nct>.md (the record's "
            "text, verbatim apart from whitespace) and a trial record ctgov-<nct>.yml citing it. "
            "With --store, API v2 studies go into the trial store instead: the registry's bulk download "
            "(ctg-studies.json.zip, read member by member), .json files or folders of them; studies that cannot "
            "be stored are listed and skipped. "
            "Exit status: 0 ok, 1 if any file failed (with --store: if no study was stored), 2 for bad arguments."
        ),
    )
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="study files, or folders of *.json/*.xml files; with --store also .zip bulk downloads")
    parser.add_argument("--store", nargs="?", const=str(DEFAULT_TRIAL_STORE), metavar="PATH",
                        help="import API v2 studies into the trial store's SQLite file instead of writing documents "
                             f"(PATH default: {_display(DEFAULT_TRIAL_STORE)}; a folder, .json or .zip right after "
                             "--store is taken as a FILE, not as PATH)")
    parser.add_argument("--documents-out", metavar="DIR",
                        help=f"folder for the documents (default: {_display(documents_out)})")
    parser.add_argument("--records-out", metavar="DIR",
                        help=f"folder for the trial records (default: {_display(records_out)})")
    parser.add_argument("--retrieved", metavar="YYYY-MM-DD",
                        help="date the records were downloaded, used when a record gives no last-update date "
                             "(default: today)")
    parser.add_argument("--only", action="append", default=[], metavar="NCT[,NCT...]",
                        help="import only these studies (repeatable); others in the files are skipped")
    parser.add_argument("--if-empty", action="store_true",
                        help="with --store: import only into a store that holds no registry study yet "
                             "(how `make run` starts a store from knowledge/registry/)")
    parser.set_defaults(handler=run)


def _run_import_to_store(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`import-trials --store [PATH] SOURCE...`: API v2 studies (zip, folder, .json) into the trial store."""
    given = [name for name, value in (("--documents-out", args.documents_out), ("--records-out", args.records_out),
                                      ("--retrieved", args.retrieved), ("--only", args.only)) if value]
    if given:
        parser.error(f"{', '.join(given)}: for writing documents and records only; leave out with --store")
    store_path, files = Path(args.store), list(args.files)
    looks_like_source = store_path.is_dir() or store_path.suffix.lower() in (".json", ".zip")
    if args.store != str(DEFAULT_TRIAL_STORE) and looks_like_source:  # `--store knowledge/registry`: a source
        store_path, files = DEFAULT_TRIAL_STORE, [args.store, *files]
    if not files:
        parser.error("give what to import after --store [PATH]: the registry's bulk download "
                     "(ctg-studies.json.zip), .json files or folders of them")
    from knowledge.trial_bulk import BulkError, import_bulk
    from knowledge.trial_store import TrialStore

    try:
        store = TrialStore(store_path)
    except (OSError, ValueError) as exc:
        print(f"error: --store: {exc}", file=sys.stderr)
        return 2
    if args.if_empty and store.count():
        print(f"import-trials: the store {_display(store_path)} already holds {store.count():,} studies; "
              "nothing imported (--if-empty)")
        store.close()
        return 0
    try:
        report = import_bulk(store, [Path(f) for f in files], progress=lambda line: print(line, file=sys.stderr))
    except BulkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    for where, reason in report.skipped:
        print(f"skipped {where}: {reason}", file=sys.stderr)
    print(f"import-trials: {report.summary()}; store {_display(store_path)}")
    if report.imported == 0:
        print("error: no study was stored; give API v2 studies ({\"protocolSection\": ...}), such as the "
              "registry's bulk download ctg-studies.json.zip", file=sys.stderr)
        return 1
    return 0


def _add_import_organisations(subparsers: argparse._SubParsersAction) -> None:
    """`import-organisations`: an organisation directory CSV -> documents/organisations/<slug>.md + organisations/<slug>.yml."""
    documents_out = DEFAULT_DOCUMENTS_DIR / "organisations"

    def run(args: argparse.Namespace) -> int:
        from knowledge.organisations_import import import_organisations

        return import_organisations(Path(args.file), out=Path(args.out) if args.out else None,
                                    documents_out=Path(args.documents_out), publisher=args.publisher,
                                    licence=args.licence, title=args.title, retrieved=args.retrieved, url=args.url,
                                    attribution=args.attribution, stdout=sys.stdout, stderr=sys.stderr)

    parser = subparsers.add_parser(
        "import-organisations",
        help="turn an organisation directory (CSV) into a cited document and organisation records",
        description=(
            "Import an organisation directory CSV with the header name,country,cancer site,website,contact "
            "(cancer_site is accepted too; 'cancer site' may list several sites separated by ';'; an optional "
            "kind column sets the kind, else 'patient organisation'). Writes a Markdown document with one line "
            "per organisation, verbatim from the CSV, and one record per row citing its line. Bad rows are "
            "reported as FILE:LINE and left out. Exit status: 0 ok, 1 if any row failed, 2 for bad arguments."
        ),
    )
    parser.add_argument("file", metavar="FILE.csv", help="the organisation directory, as UTF-8 CSV")
    parser.add_argument("--out", metavar="FILE.yml",
                        help=f"record file to write (default: {_display(PACKAGE_DIR / 'organisations')}/<slug>.yml, "
                             "the slug made from the CSV file name)")
    parser.add_argument("--documents-out", default=str(documents_out), metavar="DIR",
                        help=f"folder for the generated document <slug>.md (default: {_display(documents_out)})")
    parser.add_argument("--title", help="the directory's name, the document title (default: from the file name)")
    parser.add_argument("--publisher", required=True, help="who publishes the directory")
    parser.add_argument("--licence", required=True, help="the directory's licence or reuse terms")
    parser.add_argument("--retrieved", metavar="YYYY-MM-DD", help="date the directory was obtained (default: today)")
    parser.add_argument("--url", default="", help="address of the original directory, if any")
    parser.add_argument("--attribution", default="", help="attribution text the publisher asks for, if any")
    parser.set_defaults(handler=run)


def _add_sync_trials(subparsers: argparse._SubParsersAction) -> None:
    """`sync-trials`: ClinicalTrials.gov API v2 -> the trial store, page by page, resumable."""
    from knowledge.ctgov_sync import DEFAULT_BASE_URL

    default_store = DEFAULT_TRIAL_STORE

    def page_count(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
        if number < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
        return number

    def run(args: argparse.Namespace) -> int:
        import difflib

        from knowledge.cancer_vocabulary import VocabularyError, load_vocabulary
        from knowledge.ctgov_sync import CtgovClient, SyncError, conditions_to_sync, sync

        try:
            client = CtgovClient(base_url=args.base_url)
        except ValueError as exc:
            print(f"error: --base-url: {exc}", file=sys.stderr)
            return 2
        try:
            vocabulary = load_vocabulary()
        except VocabularyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        every = conditions_to_sync(vocabulary)
        chosen = []
        for name in args.condition:
            canonical = vocabulary.lookup(name)
            if canonical is None:
                close = difflib.get_close_matches(name, every, n=3)
                print(f"error: --condition: {name!r} is not a cancer in knowledge/cancers.yml; "
                      + (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
                         else "give a name or synonym listed there"), file=sys.stderr)
                return 2
            chosen.append(canonical)
        try:
            from knowledge.trial_store import TrialStore
        except ImportError as exc:
            print(f"error: the trial store is not available ({exc}): knowledge/trial_store.py must define TrialStore",
                  file=sys.stderr)
            return 1
        store_path = Path(args.store)
        try:
            store_path.parent.mkdir(parents=True, exist_ok=True)
            store = TrialStore(store_path)
        except (OSError, ValueError) as exc:
            print(f"error: --store: {exc}", file=sys.stderr)
            return 2
        try:
            report = sync(client, store, chosen or every, full=args.full, max_pages=args.max_pages,
                          partial=bool(chosen), progress=lambda line: print(line, file=sys.stderr))
        except SyncError as exc:
            print(f"error: {exc}", file=sys.stderr)
            if exc.report is not None:
                print(f"stored before the error: {exc.report.summary()}", file=sys.stderr)
            return 1
        finally:
            if callable(getattr(store, "close", None)):
                store.close()
        print(f"sync-trials: {report.summary()}; store {_display(store_path)}")
        return 0

    parser = subparsers.add_parser(
        "sync-trials",
        help="bring the trial store up to date from the ClinicalTrials.gov API v2",
        description=(
            "Fetch the recruiting, not yet recruiting and active studies of every cancer in knowledge/cancers.yml "
            "(or of --condition only) from the ClinicalTrials.gov API v2 into the trial store. Only studies updated "
            "since the last complete sync are asked for, unless --full. Each page is stored as it arrives, so an "
            "interrupted sync, run again, resumes where it stopped. Requests are rate limited and retried with "
            "backoff. Exit status: 0 ok (also when stopped by --max-pages), 1 if the API or store failed, "
            "2 for bad arguments."
        ),
    )
    parser.add_argument("--store", default=str(default_store), metavar="PATH",
                        help=f"the trial store's SQLite file (default: {_display(default_store)})")
    parser.add_argument("--condition", action="append", default=[], metavar="NAME",
                        help="sync only this cancer (a name or synonym from knowledge/cancers.yml; repeatable); "
                             "such a run does not move the date incremental syncs start from")
    parser.add_argument("--full", action="store_true",
                        help="fetch every matching study, not only those updated since the last complete sync")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, metavar="URL",
                        help=f"the API's base URL (default: {DEFAULT_BASE_URL})")
    parser.add_argument("--max-pages", type=page_count, metavar="N",
                        help="stop after N pages in all (the next run continues from there)")
    parser.set_defaults(handler=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge",
        description="Build the curated knowledge documents from their sources.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_import_medquad(subparsers)
    _add_import_trials(subparsers)
    _add_import_organisations(subparsers)
    _add_sync_trials(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
