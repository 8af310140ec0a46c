"""Structured records (trials, organisations) kept as YAML lists, each backed by a verbatim citation.

A record file holds a YAML list of mappings. Every record carries `citation: {doc_id, quote}`; the
quote must appear verbatim in that document's text, and resolves to its character offsets there, so
the assistant can cite and highlight the passage that states the record.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import yaml

from knowledge.validation import ValidationError

T = TypeVar("T")


@dataclass(frozen=True)
class Citation:
    doc_id: str
    quote: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "quote": self.quote, "start": self.start, "end": self.end}


@dataclass
class RawRecord:
    """One mapping from a record file, with the file line of the record and of each of its fields."""

    path: str
    line: int
    data: dict[str, Any]
    field_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, name: str) -> int:
        return self.field_lines.get(name, self.line)

    def error(self, name: str | None, problem: str, fix: str) -> ValidationError:
        return ValidationError(self.path, self.line_of(name) if name else self.line, problem, fix)


def read_record_file(path: Path, display_path: str | None = None) -> tuple[list[RawRecord], list[ValidationError]]:
    """Parse a YAML list of mappings, keeping line numbers for error messages."""
    where = display_path or str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [ValidationError(where, 1, f"text is not UTF-8 (offset {exc.start})", "re-save the file as UTF-8")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [ValidationError(where, mark.line + 1 if mark else 1, f"invalid YAML: {getattr(exc, 'problem', exc)}",
                                    "fix the indentation or quote values that contain ': '")]
    if data is None:
        return [], []
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        return [], [ValidationError(where, 1, "expected a list of records ('- name: ...')",
                                    "start each record with '- ' at the left margin")]
    records: list[RawRecord] = []
    errors: list[ValidationError] = []
    for item, item_node in zip(data, node.value):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict) or not isinstance(item_node, yaml.MappingNode):
            errors.append(ValidationError(where, line, "a record must be a mapping of 'field: value'",
                                          "write the record's fields as 'name: value' lines"))
            continue
        lines = {key_node.value: key_node.start_mark.line + 1 for key_node, _ in item_node.value
                 if isinstance(key_node, yaml.ScalarNode)}
        records.append(RawRecord(where, line, item, lines))
    return records, errors


def check_fields(record: RawRecord, required: Iterable[str], optional: Iterable[str]) -> list[ValidationError]:
    required, optional = list(required), list(optional)
    allowed = required + optional
    errors = [record.error(str(key), f"unknown field '{key}'", f"remove it or use one of: {', '.join(allowed)}")
              for key in record.data if key not in allowed]
    for name in required:
        value = record.data.get(name)
        if value is None or (isinstance(value, (str, list, dict)) and not value):
            errors.append(record.error(None, f"missing required field '{name}'", f"add '{name}: ...' to the record"))
    return errors


def text_list(record: RawRecord, name: str) -> tuple[list[str], list[ValidationError]]:
    """A field holding a list of strings (a single string is accepted as a list of one)."""
    value = record.data.get(name)
    if value is None:
        return [], []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return [], [record.error(name, f"field '{name}' must be a list of text values", f"write it as '{name}: [a, b]'")]
    return [v.strip() for v in value], []


def resolve_citation(record: RawRecord, texts: dict[str, str]) -> tuple[Citation | None, list[ValidationError]]:
    """The record's `citation: {doc_id, quote}`, checked against the document texts and located in them."""
    value = record.data.get("citation")
    if not isinstance(value, dict) or not isinstance(value.get("doc_id"), str) or not isinstance(value.get("quote"), str):
        return None, [record.error("citation", "citation must have 'doc_id' and 'quote' text fields",
                                   "write 'citation: {doc_id: <document id>, quote: \"<exact sentence>\"}'")]
    doc_id, quote = value["doc_id"], value["quote"]
    unknown = set(value) - {"doc_id", "quote"}
    if unknown:
        return None, [record.error("citation", f"unknown citation field(s) {sorted(unknown)}", "keep only doc_id and quote")]
    if doc_id not in texts:
        return None, [record.error("citation", f"citation names unknown document '{doc_id}'",
                                   "use the id of a document in knowledge/documents")]
    if not quote.strip():
        return None, [record.error("citation", "citation quote is empty", "copy the sentence that states the record")]
    start = texts[doc_id].find(quote)
    if start < 0:
        return None, [record.error("citation", f"citation quote is not verbatim text of '{doc_id}'",
                                   "copy the quote exactly from the document, including punctuation and line breaks")]
    return Citation(doc_id, quote, start, start + len(quote)), []


def record_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()) if folder.is_dir() else []


def display_path(path: Path) -> str:
    """A path as maintainers type it: relative to the working folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_record_folder(folder: Path, texts: dict[str, str],
                       build: Callable[[RawRecord, dict[str, str]], tuple[T | None, list[ValidationError]]],
                       kind: str) -> tuple[list[T], list[ValidationError]]:
    """Every record of every YAML file under `folder`, built and validated by `build`, ids unique across files.

    Returns the valid records (file order, then record order) and every problem found. A missing folder
    holds no records.
    """
    items: list[T] = []
    errors: list[ValidationError] = []
    first_seen: dict[str, RawRecord] = {}
    for path in record_files(Path(folder)):
        records, file_errors = read_record_file(path, display_path(path))
        errors.extend(file_errors)
        for record in records:
            item, problems = build(record, texts)
            errors.extend(problems)
            record_id = record.data.get("id")
            if isinstance(record_id, str) and record_id.strip():
                record_id = record_id.strip()
                if record_id in first_seen:
                    other = first_seen[record_id]
                    errors.append(record.error("id", f"duplicate id '{record_id}', also used at {other.path}:{other.line_of('id')}",
                                               f"give each {kind} its own id, or merge the two records"))
                    continue
                first_seen[record_id] = record
            if item is not None:
                items.append(item)
    return items, errors
