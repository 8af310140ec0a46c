"""Curated documents: Markdown files with YAML front matter, read and validated before indexing.

A document's `text` is its Markdown body after the front matter. Passage offsets index this text,
and it is what `/api/documents/<id>` serves, so a citation can be highlighted in place.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.validation import ID_PATTERN, ValidationError

REQUIRED_FIELDS = ("id", "title", "publisher", "language", "licence")
OPTIONAL_FIELDS = ("url", "last_reviewed", "last_updated", "retrieved", "date_note", "attribution", "source",
                   "cancer_types")
ALLOWED_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
# What each date says, never one for another:
# - last_reviewed: the date the publisher states it reviewed the text;
# - last_updated: the date the record was last updated at its registry (a trial record): no review;
# - retrieved: the date this copy was fetched from the publisher.
DATE_FIELDS = ("last_reviewed", "last_updated", "retrieved")
# date_note: a sentence or two shown with the source when no date says how current the text is.
CURRENCY_FIELDS = DATE_FIELDS + ("date_note",)
DATE_NOTE_MAX_CHARS = 300
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z")
FENCE = "---"


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text, so a bad one gets a file:line error."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Document:
    doc_id: str
    title: str
    publisher: str
    language: str
    licence: str
    text: str
    content_hash: str
    path: str = ""
    url: str = ""
    last_reviewed: str = ""
    last_updated: str = ""
    retrieved: str = ""
    date_note: str = ""
    attribution: str = ""
    source: str = ""
    cancer_types: list[str] = field(default_factory=list)  # names in knowledge/cancers.yml; [] for a general page
    body_line: int = 1
    id_line: int = 2
    cancer_types_line: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """Everything but the text, as stored in the index and served with citations."""
        data = asdict(self)
        for internal in ("text", "extra", "body_line", "id_line", "cancer_types_line"):
            data.pop(internal)
        return data


def currency(metadata: dict[str, Any]) -> dict[str, str]:
    """What is known of how current a document is, each date named for what it is ("" when unknown):
    {last_reviewed, last_updated, retrieved, date_note}. Served with every document, citation and result."""
    return {key: str(metadata.get(key) or "") for key in CURRENCY_FIELDS}


class DocumentSet:
    """The documents of a knowledge folder, or the validation errors that stop them being indexed."""

    def __init__(self, documents: list[Document], errors: list[ValidationError]):
        self.documents = documents
        self.errors = errors

    @property
    def by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _key_line(front_lines: list[str], key: str) -> int:
    """1-based line number of `key:` in the file, given the front matter lines (file lines 2..)."""
    for number, line in enumerate(front_lines, start=2):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return number
    return 1


def _date_text(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    return None


def parse_document(path: Path, raw: bytes, display_path: str | None = None) -> tuple[Document | None, list[ValidationError]]:
    """Parse one file's bytes. Returns the document, or None and the reasons it is invalid."""
    where = display_path or str(path)
    errors: list[ValidationError] = []

    def fail(line: int, problem: str, fix: str) -> tuple[None, list[ValidationError]]:
        errors.append(ValidationError(where, line, problem, fix))
        return None, errors

    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return fail(line, f"text is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                    "re-save the file as UTF-8")
    decoded = decoded.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = decoded.split("\n")
    if not lines or lines[0].strip() != FENCE:
        return fail(1, "missing front matter: the file must start with a '---' line",
                    "add a front matter block (id, title, publisher, language, licence, and last_reviewed, retrieved "
                    "or date_note) between '---' lines")
    try:
        closing = next(i for i in range(1, len(lines)) if lines[i].strip() == FENCE)
    except StopIteration:
        return fail(1, "front matter is not closed", "add a '---' line after the last front matter field")
    front_lines = lines[1:closing]
    try:
        front = yaml.load("\n".join(front_lines), Loader=_FrontMatterLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        return fail(line, f"invalid front matter: {problem}", "write each field as 'name: value'; quote values containing ': '")
    if not isinstance(front, dict):
        return fail(2, "invalid front matter: expected 'name: value' fields", "write each field as 'name: value'")

    for key in front:
        if key not in ALLOWED_FIELDS:
            errors.append(ValidationError(where, _key_line(front_lines, str(key)), f"unknown field '{key}'",
                                          f"remove it or use one of: {', '.join(ALLOWED_FIELDS)}"))
    for key in REQUIRED_FIELDS:
        value = front.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append(ValidationError(where, _key_line(front_lines, key) if key in front else 1,
                                          f"missing required field '{key}'", f"add '{key}: ...' to the front matter"))
    for key in ALLOWED_FIELDS:
        if key in front and front[key] is not None and key not in DATE_FIELDS + ("cancer_types",) \
                and not isinstance(front[key], str):
            errors.append(ValidationError(where, _key_line(front_lines, key), f"field '{key}' must be text",
                                          f"quote the value of '{key}'"))
    dates: dict[str, str] = {}
    for key in DATE_FIELDS:
        if key in front:
            text = _date_text(front[key])
            if text is None:
                errors.append(ValidationError(where, _key_line(front_lines, key), f"field '{key}' is not a date",
                                              "write it as YYYY-MM-DD, e.g. 2024-05-31"))
            else:
                dates[key] = text
    note = front.get("date_note")
    if isinstance(note, str) and len(" ".join(note.split())) > DATE_NOTE_MAX_CHARS:
        errors.append(ValidationError(where, _key_line(front_lines, "date_note"),
                                      f"field 'date_note' is longer than {DATE_NOTE_MAX_CHARS} characters",
                                      "keep it to a sentence or two saying how current the text is"))
    if not any(key in front for key in DATE_FIELDS) and not str(front.get("date_note") or "").strip():
        errors.append(ValidationError(
            where, 1, "missing date: none of 'last_reviewed', 'last_updated', 'retrieved' or 'date_note' is given",
            "add 'last_reviewed: YYYY-MM-DD' (the date the publisher states it reviewed the text), "
            "'retrieved: YYYY-MM-DD' (the date this copy was fetched from the publisher), "
            "'last_updated: YYYY-MM-DD' (a registry record's last update), or 'date_note: \"...\"' "
            "(a sentence saying how current the text is, when no date does)"))
    doc_id = front.get("id")
    if isinstance(doc_id, str) and doc_id:
        if not ID_PATTERN.match(doc_id):
            errors.append(ValidationError(where, _key_line(front_lines, "id"), f"invalid id {doc_id!r}",
                                          "use lowercase letters, digits and single hyphens, e.g. 'nci-penile-cancer'"))
    url = front.get("url")
    if isinstance(url, str) and url and not re.match(r"^https?://\S+\Z", url):
        errors.append(ValidationError(where, _key_line(front_lines, "url"), f"invalid url '{url}'",
                                      "give the full address starting with https:// or remove the field"))
    language = front.get("language")
    if isinstance(language, str) and language and not LANGUAGE_PATTERN.match(language):
        errors.append(ValidationError(where, _key_line(front_lines, "language"), f"invalid language '{language}'",
                                      "use a language code such as 'en' or 'en-GB'"))

    cancer_types = front.get("cancer_types") or []
    if not isinstance(cancer_types, list) or not all(isinstance(t, str) and t.strip() for t in cancer_types):
        errors.append(ValidationError(where, _key_line(front_lines, "cancer_types"), "field 'cancer_types' must be a list of names",
                                      "write it as cancer_types: [thymoma, thymic carcinoma], or [] for a general page"))
        cancer_types = []

    text = "\n".join(lines[closing + 1:])
    body_line = closing + 2
    if not re.sub(r"(?m)^#+ .*$", "", text).strip():
        errors.append(ValidationError(where, body_line, "empty text: the document has no content after its front matter",
                                      "add the document's text below the closing '---' line, or delete the file"))
    if errors:
        return None, errors
    document = Document(
        doc_id=doc_id, title=front["title"].strip(), publisher=front["publisher"].strip(),
        language=language, licence=front["licence"].strip(), text=text, content_hash=content_hash(raw),
        path=where, url=(url or "").strip(), last_reviewed=dates.get("last_reviewed", ""),
        last_updated=dates.get("last_updated", ""), retrieved=dates.get("retrieved", ""),
        date_note=" ".join((front.get("date_note") or "").split()), attribution=(front.get("attribution") or "").strip(),
        source=(front.get("source") or "").strip(), cancer_types=[t.strip() for t in cancer_types], body_line=body_line,
        id_line=_key_line(front_lines, "id"), cancer_types_line=_key_line(front_lines, "cancer_types"),
    )
    return document, []


def load_documents(folder: Path) -> DocumentSet:
    """Read and validate every `*.md` document under a folder (README.md files are skipped)."""
    if not folder.is_dir():
        return DocumentSet([], [ValidationError(str(folder), 0, "knowledge folder not found",
                                                "create it or set RCA_KNOWLEDGE_DIR to the folder of documents")])
    documents: list[Document] = []
    errors: list[ValidationError] = []
    first_seen: dict[str, Document] = {}
    for path in sorted(folder.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        document, problems = parse_document(path, path.read_bytes())
        errors.extend(problems)
        if document is None:
            continue
        if document.doc_id in first_seen:
            errors.append(ValidationError(str(path), document.id_line, f"duplicate id '{document.doc_id}', also used by {first_seen[document.doc_id].path}",
                                          "give each document its own id"))
            continue
        first_seen[document.doc_id] = document
        documents.append(document)
    if not documents and not errors:
        errors.append(ValidationError(str(folder), 0, "no documents found (no *.md files)",
                                      "add curated Markdown documents to the folder"))
    return DocumentSet(documents, errors)
