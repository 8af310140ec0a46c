"""Import an organisation directory (CSV) as organisation records, each citing a generated document.

Input: a UTF-8 CSV file with the header ``name,country,cancer site,website,contact`` (``cancer_site`` is
accepted too; ``cancer site``, ``website``, ``contact`` and an optional ``kind`` column may be left out;
``cancer site`` may hold several sites separated by ``;``).

Output, for ``python -m knowledge import-organisations FILE.csv``:

- ``knowledge/documents/organisations/<slug>.md``: a document (front matter valid for the index) whose
  body has one line per organisation with its fields, verbatim from the CSV (surrounding spaces removed);
- ``knowledge/organisations/<slug>.yml``: one record per good row, citing that row's line of the document.

Every bad row is reported as ``FILE:LINE: problem. Fix: ...`` and left out; the good rows still import.
Exit codes: 0 all rows imported, 1 some rows (or the header) failed, 2 bad arguments.
Both files are written atomically, and the same CSV and options always give the same bytes.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from knowledge.writing import slugify, write_atomically, yaml_scalar
from knowledge.organisations import (DEFAULT_ORGANISATIONS_DIR, ID_PATTERN, country_problem, kind_problem,
                                     load_organisations, website_problem)
from knowledge.records import read_record_file, record_files
from knowledge.document_format import parse_document
from knowledge.validation import ValidationError

# header name (lower case, spaces collapsed) -> field
COLUMNS = {
    "name": "name",
    "country": "country",
    "cancer site": "cancer_site",
    "cancer_site": "cancer_site",
    "website": "website",
    "contact": "contact",
    "kind": "kind",
}
REQUIRED_COLUMNS = ("name", "country")
# field -> label used in the document lines, in this order
LABELS = (
    ("name", "Name"),
    ("country", "Country"),
    ("cancer_site", "Cancer site"),
    ("kind", "Kind"),
    ("website", "Website"),
    ("contact", "Contact"),
)
DEFAULT_KIND = "patient organisation"
DEFAULT_DOCUMENTS_DIR = Path(__file__).resolve().parent / "documents"
DEFAULT_DOCUMENTS_OUT = DEFAULT_DOCUMENTS_DIR / "organisations"
SEPARATOR = " | "


class ArgumentProblem(Exception):
    """Bad command-line arguments (exit code 2)."""


@dataclass
class Row:
    line: int
    values: dict[str, str]  # field -> value as in the CSV, surrounding whitespace removed
    sites: list[str] = field(default_factory=list)

    @property
    def org_id(self) -> str:
        return "-".join(filter(None, (slugify(self.values["name"]), slugify(self.values["country"]))))

    def document_line(self) -> str:
        return SEPARATOR.join(f"{label}: {self.values[key]}" for key, label in LABELS if self.values.get(key))


@dataclass
class Directory:
    slug: str
    title: str
    rows: list[Row]
    errors: list[ValidationError]
    fatal: bool = False  # the file as a whole cannot be read (header, encoding of the header...)


# --------------------------------------------------------------------------- reading


def _error(where: str, line: int, problem: str, fix: str) -> ValidationError:
    return ValidationError(where, line, problem, fix)


def _physical_lines(raw: bytes) -> list[bytes]:
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _parse_line(text: str) -> list[str]:
    """One CSV record on one physical line; a quoted value must be closed on the same line."""
    return next(csv.reader([text], strict=True))


def read_directory(path: Path, where: str) -> Directory:
    """Parse and validate the CSV file: good rows, and one error per bad row (or a fatal header error)."""
    slug = slugify(path.stem)
    title = default_title(path)
    errors: list[ValidationError] = []
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines = _physical_lines(raw)

    header_line = next((n for n, line in enumerate(lines, start=1) if line.strip()), None)
    if header_line is None:
        return Directory(slug, title, [], [_error(where, 1, "the file is empty",
                                                   "start it with the header line 'name,country,cancer site,website,contact'")], True)
    try:
        header = _parse_line(lines[header_line - 1].decode("utf-8"))
    except UnicodeDecodeError:
        return Directory(slug, title, [], [_error(where, header_line, "the header line is not UTF-8", "re-save the file as UTF-8")], True)
    except csv.Error as exc:
        return Directory(slug, title, [], [_error(where, header_line, f"the header line is not valid CSV ({exc})",
                                                   "write the header as 'name,country,cancer site,website,contact'")], True)
    columns: list[str] = []
    for raw_name in header:
        key = " ".join(raw_name.split()).lower()
        if key not in COLUMNS:
            errors.append(_error(where, header_line, f"unknown column '{raw_name.strip()}' in the header",
                                 "use only the columns name, country, cancer site, website, contact (and optionally kind)"))
        elif COLUMNS[key] in columns:
            errors.append(_error(where, header_line, f"column '{raw_name.strip()}' appears twice in the header",
                                 "keep one column of each name"))
        columns.append(COLUMNS.get(key, ""))
    for required in REQUIRED_COLUMNS:
        if required not in columns:
            errors.append(_error(where, header_line, f"the header has no '{required}' column",
                                 "write the header as 'name,country,cancer site,website,contact'"))
    if errors:
        return Directory(slug, title, [], errors, True)

    rows: list[Row] = []
    seen: dict[tuple[str, str], int] = {}
    seen_ids: dict[str, int] = {}
    for number in range(header_line + 1, len(lines) + 1):
        data = lines[number - 1]
        if not data.strip():
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(_error(where, number, f"this line is not UTF-8 (byte 0x{data[exc.start]:02x} at column {exc.start + 1})",
                                 "re-save the file as UTF-8, or retype the accented letters of this row"))
            continue
        try:
            cells = _parse_line(text)
        except csv.Error as exc:
            errors.append(_error(where, number, f"the row is not valid CSV ({exc})",
                                 "close every quoted value on the same line, and write a quote inside a quoted value as \"\""))
            continue
        if len(cells) != len(columns):
            errors.append(_error(where, number, f"the row has {len(cells)} values, the header has {len(columns)} columns",
                                 "give every row one value per header column, quoting values that contain commas"))
            continue
        row = Row(number, {key: " ".join(value.split()) if key != "contact" else value.strip()
                           for key, value in zip(columns, cells)})
        problem = row_problem(row)
        if problem:
            errors.append(_error(where, number, *problem))
            continue
        identity = _identity(row.values["name"], row.values["country"])
        if identity in seen:
            errors.append(_error(where, number, f"duplicate organisation '{row.values['name']}' ({row.values['country']}), "
                                                f"also on line {seen[identity]}", "remove one of the two rows"))
            continue
        if row.org_id in seen_ids:
            errors.append(_error(where, number, f"the name and country give the id '{row.org_id}', "
                                                f"as on line {seen_ids[row.org_id]}",
                                 "remove the duplicate row, or tell the two names apart"))
            continue
        seen[identity] = seen_ids[row.org_id] = number
        row.sites = [s.strip() for s in row.values.get("cancer_site", "").split(";") if s.strip()]
        rows.append(row)
    return Directory(slug, title, rows, errors)


def row_problem(row: Row) -> tuple[str, str] | None:
    values = row.values
    if any("\n" in v or "\r" in v for v in values.values()):
        return "a value spans several lines", "write each value on the row's own line"
    if not values.get("name"):
        return "the name is missing", "fill in the organisation's name, or remove the row"
    if not values.get("country"):
        return (f"the country of '{values['name']}' is missing",
                "fill in the country, or 'Europe' / 'International' for a multinational organisation")
    if not ID_PATTERN.match(row.org_id):
        return f"the name '{values['name']}' has no letters or digits", "write the organisation's name"
    problem = country_problem(values["country"])
    if problem:
        return problem
    if values.get("website"):
        problem = website_problem(values["website"])
        if problem:
            return problem
    if values.get("kind"):
        problem = kind_problem(values["kind"])
        if problem:
            return problem
    return None


def default_title(path: Path) -> str:
    words = re.sub(r"[_\-\s]+", " ", path.stem).strip()
    return (words[:1].upper() + words[1:]) if words else "Organisations"


# --------------------------------------------------------------------------- rendering


def render_document(doc_id: str, title: str, rows: list[Row], *, publisher: str, licence: str, retrieved: str,
                    source: str, url: str = "", attribution: str = "", language: str = "en") -> str:
    fields = [("id", doc_id), ("title", title), ("publisher", publisher), ("url", url), ("language", language),
              ("retrieved", retrieved), ("licence", licence), ("attribution", attribution), ("source", source)]
    lines = ["---"]
    for key, value in fields:
        if value:
            lines.append(f"{key}: {value if key == 'retrieved' else yaml_scalar(key, value)}")
    lines += ["---", f"# {title}", ""]
    lines += [f"- {row.document_line()}" for row in rows]
    return "\n".join(lines) + "\n"


def record_for(row: Row, doc_id: str) -> dict:
    record: dict = {"id": row.org_id, "name": row.values["name"], "country": row.values["country"]}
    if row.sites:
        record["cancer_sites"] = row.sites
    record["kind"] = row.values.get("kind") or DEFAULT_KIND
    for key in ("website", "contact"):
        if row.values.get(key):
            record[key] = row.values[key]
    record["citation"] = {"doc_id": doc_id, "quote": row.document_line()}
    return record


def render_records(records: list[dict], csv_name: str, doc_id: str) -> str:
    header = (f"# Generated by `python -m knowledge import-organisations {csv_name}`: one record per row, each citing\n"
              f"# its line of the document '{doc_id}'. Edit the CSV and import it again rather than editing this file.\n")
    body = "\n".join(yaml.safe_dump([record], sort_keys=False, allow_unicode=True, width=10_000,
                                    default_flow_style=False) for record in records)
    return header + "\n" + body


# --------------------------------------------------------------------------- command


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _existing_ids(out: Path) -> dict[str | tuple[str, str], str]:
    """Ids and (name, country) pairs used by the other record files beside `out`: -> 'file:line'.

    Inside knowledge/organisations that is every record file there (they are loaded together).
    """
    if _within(out, DEFAULT_ORGANISATIONS_DIR):
        paths = record_files(DEFAULT_ORGANISATIONS_DIR)
    else:
        paths = sorted(p for p in out.parent.glob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    taken: dict[str | tuple[str, str], str] = {}
    for path in paths:
        if path.resolve() == out.resolve():
            continue
        records, _ = read_record_file(path, _display(path))
        for record in records:
            org_id, name, country = (record.data.get(k) for k in ("id", "name", "country"))
            if isinstance(org_id, str):
                taken.setdefault(org_id.strip(), f"{record.path}:{record.line_of('id')}")
            if isinstance(name, str) and isinstance(country, str):
                taken.setdefault(_identity(name, country), f"{record.path}:{record.line}")
    return taken


def _identity(name: str, country: str) -> tuple[str, str]:
    return " ".join(name.split()).casefold(), " ".join(country.split()).casefold()


def _existing_document(documents_out: Path, doc_id: str, skip: Path) -> str | None:
    """Another Markdown document that already uses this id: in the output folder or, when that is inside
    knowledge/documents, anywhere in knowledge/documents (they are indexed together)."""
    folder = DEFAULT_DOCUMENTS_DIR if _within(documents_out, DEFAULT_DOCUMENTS_DIR) else documents_out
    pattern = re.compile(rf"^id:\s*[\"']?{re.escape(doc_id)}[\"']?\s*(?:#.*)?$", re.M)
    for path in sorted(folder.rglob("*.md")) if folder.is_dir() else []:
        if path.resolve() == skip.resolve():
            continue
        try:
            head = path.read_text(encoding="utf-8", errors="replace")[:4000]
        except OSError:
            continue
        if head.startswith("---") and pattern.search(head.split("\n---", 1)[0]):
            return _display(path)
    return None


def import_organisations(csv_path: Path, *, out: Path | None, documents_out: Path, publisher: str, licence: str,
                         title: str | None = None, retrieved: str | None = None, url: str = "", attribution: str = "",
                         stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    """Import one CSV organisation directory. Returns the exit code (0 ok, 1 bad rows, 2 bad arguments)."""
    try:
        csv_path, out, documents_out, retrieved = _check_arguments(csv_path, out, documents_out, publisher, licence,
                                                                   retrieved, url)
        if title is not None and not title.strip():
            raise ArgumentProblem("--title is empty. Fix: give the directory's name, or leave --title out")
    except ArgumentProblem as exc:
        print(f"error: {exc}", file=stderr)
        return 2

    where = _display(csv_path)
    directory = read_directory(csv_path, where)
    if title is not None:
        directory.title = " ".join(title.split())
    errors = list(directory.errors)
    doc_id = directory.slug
    document_path = documents_out / f"{doc_id}.md"

    # Ids must stay unique across all record files, and the document id across all documents.
    taken = _existing_ids(out)
    rows: list[Row] = []
    for row in directory.rows:
        identity = _identity(row.values["name"], row.values["country"])
        if identity in taken:
            errors.append(_error(where, row.line, f"'{row.values['name']}' ({row.values['country']}) is already recorded "
                                                  f"at {taken[identity]}", "remove the row, or the other record"))
        elif row.org_id in taken:
            errors.append(_error(where, row.line, f"the id '{row.org_id}' is already used at {taken[row.org_id]}",
                                 "remove the row (the organisation is already recorded) or remove the other record"))
        else:
            rows.append(row)
    clash = _existing_document(documents_out, doc_id, skip=document_path)
    if clash:
        errors.append(_error(where, 1, f"the document id '{doc_id}' (from the file name) is already used by {clash}",
                             "rename the CSV file"))
        rows = []
    if not directory.fatal and not directory.rows and not errors:
        errors.append(_error(where, 1, "the file has no organisation rows", "add one row per organisation below the header"))

    written = 0
    if rows and not directory.fatal:
        sha = hashlib.sha256(csv_path.read_bytes()).hexdigest()
        source = f"{csv_path.name} (sha256 {sha[:16]}), imported with python -m knowledge import-organisations"
        text = render_document(doc_id, directory.title, rows, publisher=" ".join(publisher.split()),
                               licence=" ".join(licence.split()), retrieved=retrieved, source=source, url=url,
                               attribution=" ".join(attribution.split()))
        records = [record_for(row, doc_id) for row in rows]
        problems = _self_check(text, document_path, records)
        if problems:
            for problem in problems:
                print(f"error: {problem}", file=stderr)
            print("error: nothing written; please report this as an importer bug", file=stderr)
            return 1
        try:
            documents_out.mkdir(parents=True, exist_ok=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(document_path, text)
            write_atomically(out, render_records(records, csv_path.name, doc_id))
        except OSError as exc:
            print(f"error: cannot write the output: {exc}", file=stderr)
            return 1
        written = len(records)
        print(f"wrote {_display(document_path)} ({written} line(s))", file=stdout)
        print(f"wrote {_display(out)} ({written} record(s))", file=stdout)

    for error in errors:
        print(f"error: {error}", file=stderr)
    failed = len({e.line for e in errors})
    print(f"imported {written} organisation(s) from {where}; {failed} row(s) failed", file=stdout)
    return 1 if errors or not written else 0


def _check_arguments(csv_path: Path, out: Path | None, documents_out: Path, publisher: str, licence: str,
                     retrieved: str | None, url: str) -> tuple[Path, Path, Path, str]:
    csv_path, documents_out = Path(csv_path), Path(documents_out)
    if not csv_path.is_file():
        raise ArgumentProblem(f"{csv_path}: file not found. Fix: give the path of the organisation directory CSV file")
    if csv_path.suffix.lower() != ".csv":
        raise ArgumentProblem(f"{csv_path}: not a .csv file. Fix: export the directory as CSV (name,country,cancer site,website,contact)")
    if not slugify(csv_path.stem):
        raise ArgumentProblem(f"{csv_path}: the file name has no letters or digits to make a document id from. Fix: rename the file")
    if out is None:
        out = DEFAULT_ORGANISATIONS_DIR / f"{slugify(csv_path.stem)}.yml"
    out = Path(out)
    if out.suffix not in (".yml", ".yaml"):
        raise ArgumentProblem(f"--out {out}: record files end in .yml. Fix: give a path such as knowledge/organisations/<name>.yml")
    if out.is_dir() or documents_out.is_file():
        raise ArgumentProblem("--out must be a file and --documents-out a folder")
    if not publisher.strip():
        raise ArgumentProblem("--publisher is empty. Fix: name who publishes the directory")
    if not licence.strip():
        raise ArgumentProblem("--licence is empty. Fix: give the directory's licence or reuse terms")
    if url and not re.match(r"^https?://\S+\Z", url):
        raise ArgumentProblem(f"--url {url}: not an http(s) address. Fix: give the full address starting with https://")
    if retrieved is None:
        retrieved = dt.date.today().isoformat()
    try:
        retrieved = dt.date.fromisoformat(retrieved.strip()).isoformat()
    except ValueError:
        raise ArgumentProblem(f"--retrieved {retrieved}: not a date. Fix: write it as YYYY-MM-DD") from None
    return csv_path, out, documents_out, retrieved


def _self_check(text: str, document_path: Path, records: list[dict]) -> list[str]:
    """The document must be valid for the index, and every record must load and cite its own line."""
    document, problems = parse_document(document_path, text.encode("utf-8"), _display(document_path))
    if document is None:
        return [str(p) for p in problems]
    with tempfile.TemporaryDirectory() as scratch:  # load_organisations reads a folder
        (Path(scratch) / "records.yml").write_text(render_records(records, "check", "check"), encoding="utf-8")
        organisations, errors = load_organisations(Path(scratch), {document.doc_id: document.text})
    messages = [str(e) for e in errors]
    if len(organisations) != len(records) and not messages:
        messages.append("some records did not load")
    for organisation, record in zip(organisations, records):
        line_start = document.text.find("\n- " + record["citation"]["quote"] + "\n")
        if line_start < 0 or organisation.citation.start != line_start + 3:
            messages.append(f"record '{organisation.id}' does not cite its own line of the document "
                            "(its line repeats text of an earlier line)")
    return messages
