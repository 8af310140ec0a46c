"""Import MedQuAD XML (cancer.gov, GARD and Genetics Home Reference pages) into curated Markdown documents.

Input: MedQuAD XML files of the collections in knowledge/medquad_collections.py::

    <Document id source url><Focus>...</Focus><QAPairs>
      <QAPair><Question qid qtype>...</Question><Answer>...</Answer></QAPair> ...

Output: one ``<nci|gard|ghr>-<slug>.md`` per page (cancer.gov files with the same Focus are merged),
with YAML front matter and one ``##`` section per Q&A pair in a fixed topic order.

The answer text is quoted verbatim: words, numbers and punctuation are never changed. Only whitespace
and the list layout are rewritten into Markdown, and site boilerplate left out (see ``answer_to_markdown``);
every rendered section is checked against its answer before anything is written.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, TextIO


from knowledge.cancer_vocabulary import CancerVocabulary, load_vocabulary
from knowledge.medquad_collections import (DATE_NOTE, MEDQUAD_COMMIT, MEDQUAD_REPO, QTYPE_ORDER, QTYPE_SECTIONS,
                                           Collection, about_phrase, collection_for, section_heading, title_for)
from knowledge.medquad_layout import (LayoutRules, answer_to_markdown, markdown_to_source_chars,  # noqa: F401
                                      subheadings)
from knowledge.writing import slugify, write_atomically, yaml_scalar

ALLOWED_FRONT_MATTER_KEYS = (
    "id", "title", "publisher", "url", "language", "cancer_types", "date_note",
    "licence", "attribution", "source",
)
__all__ = ["about_phrase", "import_medquad", "section_heading", "title_for"]


class MedQuADError(Exception):
    """A problem with one input file (or one group of files), with a suggested fix."""

    def __init__(self, paths: Iterable[Path] | Path, problem: str, fix: str):
        self.paths = [paths] if isinstance(paths, Path) else list(paths)
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        names = ", ".join(str(p) for p in self.paths)
        return f"{names}: {self.problem}. Fix: {self.fix}"


@dataclass(frozen=True)
class QAPair:
    qid: str
    qtype: str
    answer: str  # exactly as in the XML, entities decoded


@dataclass(frozen=True)
class MedQuADFile:
    path: Path
    doc_id: str
    url: str
    focus: str
    pairs: tuple[QAPair, ...]
    collection: Collection


@dataclass
class Document:
    doc_id: str  # "<prefix>-<slug>"
    collection: Collection
    title: str
    focus: str
    url: str
    files: list[MedQuADFile]
    sections: list[tuple[str, list[QAPair]]] = field(default_factory=list)  # (heading, its answers in order)
    cancer_types: list[str] = field(default_factory=list)  # canonical names in knowledge/cancers.yml

    @property
    def filename(self) -> str:
        return f"{self.doc_id}.md"


# --------------------------------------------------------------------------- parsing


def parse_medquad_file(path: Path) -> MedQuADFile:
    """Read one MedQuAD XML file; raise MedQuADError explaining what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise MedQuADError(path, "file not found", "check the path, or copy the file into the source directory")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise MedQuADError(
            path, f"not well-formed XML ({exc})",
            "replace it with an unmodified copy of the MedQuAD file, or remove it from the source directory",
        ) from None
    except OSError as exc:
        raise MedQuADError(path, f"cannot read file ({exc.strerror})", "check the file permissions") from None
    if root.tag != "Document":
        raise MedQuADError(
            path, f"root element is <{root.tag}>, expected <Document>",
            "only MedQuAD XML files (<Document id source url>) can be imported",
        )
    doc_id = (root.get("id") or path.stem).strip()
    collection = collection_for((root.get("source") or "").strip())
    if collection is None:
        raise MedQuADError(path, f"unknown collection source={root.get('source')!r}",
                           "import only the collections named in knowledge/medquad_collections.py, or add this one there")
    url = (root.get("url") or "").strip()
    if not re.match(r"https?://\S+\Z", url):
        raise MedQuADError(path, "<Document> has no valid url attribute", "add the page's address as url=\"https://...\"")
    focus_el = root.find("Focus")
    focus = " ".join((focus_el.text or "").split()) if focus_el is not None else ""
    if not focus:
        raise MedQuADError(path, "no <Focus> (the cancer name)", "add <Focus>Cancer Name</Focus> under <Document>")
    qapairs_el = root.find("QAPairs")
    qapair_els = qapairs_el.findall("QAPair") if qapairs_el is not None else []
    if not qapair_els:
        raise MedQuADError(path, "no <QAPairs>/<QAPair> elements", "the file must hold at least one <QAPair> with <Question> and <Answer>")

    pairs: list[QAPair] = []
    for n, qa in enumerate(qapair_els, start=1):
        question = qa.find("Question")
        where = f"QAPair {n}" + (f" (pid {qa.get('pid')})" if qa.get("pid") else "")
        if question is None or not (question.get("qtype") or "").strip():
            raise MedQuADError(path, f"{where} has no <Question qtype=...>", "add the qtype attribute to the <Question>")
        qtype = question.get("qtype", "").strip()
        qid = (question.get("qid") or f"{doc_id}-{n}").strip()
        if qtype not in QTYPE_SECTIONS:
            raise MedQuADError(
                path, f"{where} (qid {qid}) has unknown qtype {qtype!r}",
                "use one of " + ", ".join(repr(q) for q in QTYPE_SECTIONS)
                + ", or add the new qtype and its heading to QTYPE_SECTIONS in knowledge/medquad_collections.py",
            )
        answer_el = qa.find("Answer")
        answer = "".join(answer_el.itertext()) if answer_el is not None else ""
        if not answer.strip():
            raise MedQuADError(path, f"{where} (qid {qid}) has an empty <Answer>", "fill in the answer text or remove the QAPair")
        pairs.append(QAPair(qid=qid, qtype=qtype, answer=answer))
    return MedQuADFile(path=path, doc_id=doc_id, url=url, focus=focus, pairs=tuple(pairs), collection=collection)


# --------------------------------------------------------------------------- documents


def _source_field(files: list[MedQuADFile]) -> str:
    names = " and ".join(f"{f.collection.folder}/{f.path.name}" for f in files)
    return f"MedQuAD {names} ({MEDQUAD_REPO} commit {MEDQUAD_COMMIT})"


def build_documents(files: list[MedQuADFile], vocabulary: CancerVocabulary | None = None
                    ) -> tuple[list[Document], list[MedQuADError]]:
    """Group parsed files into documents (by collection and focus: only cancer.gov merges files on one
    focus), each with the cancers its title names in the cancer vocabulary, and the narrower ones its
    headings name."""
    vocabulary = vocabulary or load_vocabulary()
    groups: dict[str, list[MedQuADFile]] = {}
    for f in sorted(files, key=lambda f: (f.path.name, str(f.path))):
        key = f"{f.collection.id_prefix}-{slugify(title_for(f.focus))}"
        if not f.collection.merge_by_focus and key in groups:
            key = f"{key}-{f.doc_id}"  # two pages on one focus stay two documents
        groups.setdefault(key, []).append(f)

    documents: list[Document] = []
    errors: list[MedQuADError] = []
    for key in sorted(groups):
        group = groups[key]
        paths = [f.path for f in group]
        if key.endswith("-"):
            errors.append(MedQuADError(paths, "the <Focus> has no letters or digits to make an id from", "fix the <Focus> text"))
            continue
        # A topic answered twice (two cancer.gov summaries on one cancer, or one page's two answers on
        # one topic) keeps both answers, in file order, under one heading.
        by_qtype: dict[str, list[QAPair]] = {}
        for f in group:
            for pair in f.pairs:
                by_qtype.setdefault(pair.qtype, []).append(pair)
        # The url is the treatment summary's when a cancer has several source files.
        primary = next((f for f in group if any(p.qtype == "treatment" for p in f.pairs)), group[0])
        title = title_for(primary.focus)
        cancer_types = vocabulary.names_in_title(title)
        if not cancer_types:
            errors.append(MedQuADError(paths, f"the title {title!r} names no cancer in knowledge/cancers.yml",
                                       "add the cancer (or this name as a synonym) to knowledge/cancers.yml"))
            continue
        # A narrower cancer with a section of its own is one the page is about too.
        rules = LayoutRules(primary.collection.paragraph_spaces, primary.collection.question_headings)
        headings = [h for f in group for p in f.pairs for h in subheadings(p.answer, rules, f.collection.source)]
        cancer_types += vocabulary.narrower_named(cancer_types, headings)
        doc = Document(doc_id=key, collection=primary.collection, title=title, focus=primary.focus,
                       url=primary.url, files=group, cancer_types=cancer_types)
        for qtype in sorted(by_qtype, key=QTYPE_ORDER.__getitem__):
            doc.sections.append((section_heading(qtype, title, [p.answer for p in by_qtype[qtype]]), by_qtype[qtype]))
        documents.append(doc)
    return documents, errors


def render_front_matter(doc: Document) -> str:
    fields: list[tuple[str, str, bool]] = [
        ("id", doc.doc_id, False),
        ("title", doc.title, False),
        ("publisher", doc.collection.publisher, False),
        ("url", doc.url, False),
        ("language", "en", False),
        ("cancer_types", "[" + ", ".join(doc.cancer_types) + "]", False),
        ("date_note", DATE_NOTE, True),
        ("licence", doc.collection.licence, True),
        ("attribution", doc.collection.attribution, True),
        ("source", _source_field(doc.files), True),
    ]
    lines = ["---"]
    for key, value, quote in fields:
        assert key in ALLOWED_FRONT_MATTER_KEYS, key
        rendered = value if key == "cancer_types" else yaml_scalar(key, value, quote=quote)
        lines.append(f"{key}: {rendered}")
    lines.append("---")
    return "\n".join(lines)


def render_document(doc: Document) -> str:
    parts = [f"# {doc.title}"]
    rules = LayoutRules(doc.collection.paragraph_spaces, doc.collection.question_headings)
    for heading, pairs in doc.sections:
        markdown = "\n\n".join(filter(None, (answer_to_markdown(p.answer, rules, doc.collection.source) for p in pairs)))
        if markdown.strip():  # an answer that was all boilerplate leaves no section
            parts.append(f"## {heading}\n\n{markdown}")
    text = render_front_matter(doc) + "\n" + "\n\n".join(parts) + "\n"
    # final safety checks on the layout promised to readers and the indexer
    assert not re.search(r"[ \t]$", text, re.M), "trailing whitespace"
    assert "\n\n\n" not in text, "triple blank line"
    return text


# --------------------------------------------------------------------------- files & CLI


def collect_xml_files(sources: Iterable[Path]) -> tuple[list[Path], list[MedQuADError]]:
    paths: list[Path] = []
    errors: list[MedQuADError] = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            found = sorted(p for p in source.rglob("*.xml") if p.is_file())
            if not found:
                errors.append(MedQuADError(source, "directory has no *.xml files", "point SOURCE_DIR at the folder holding the MedQuAD XML files"))
            paths.extend(found)
        elif source.exists():
            paths.append(source)
        else:
            errors.append(MedQuADError(source, "file or directory not found", "check the path given as SOURCE_DIR"))
    return paths, errors


def import_medquad(sources: Iterable[Path], out_dir: Path, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    """Import all XML files in ``sources`` into ``out_dir``. Returns the exit code (0 ok, 1 errors)."""
    out_dir = Path(out_dir)
    paths, errors = collect_xml_files(sources)
    parsed: list[MedQuADFile] = []
    for path in paths:
        try:
            parsed.append(parse_medquad_file(path))
        except MedQuADError as exc:
            errors.append(exc)
    documents, group_errors = build_documents(parsed)
    errors.extend(group_errors)

    written = 0
    if documents:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"error: cannot create output directory {out_dir}: {exc.strerror}", file=stderr)
            return 1
    for doc in documents:
        try:
            text = render_document(doc)
            write_atomically(out_dir / doc.filename, text)
        except (AssertionError, OSError) as exc:
            errors.append(MedQuADError([f.path for f in doc.files], f"could not write {doc.filename} ({exc})", "report this as an importer bug"))
            continue
        written += 1
        origin = " + ".join(f.path.name for f in doc.files)
        print(f"wrote {doc.filename} ({len(doc.sections)} sections) from {origin}", file=stdout)

    failed_files = sorted({str(p) for e in errors for p in e.paths})
    for error in errors:
        print(f"error: {error}", file=stderr)
    print(
        f"imported {written} document(s) into {out_dir} from {len(parsed)} of {len(paths)} XML file(s); "
        f"{len(failed_files)} failed",
        file=stdout,
    )
    return 1 if errors else 0
