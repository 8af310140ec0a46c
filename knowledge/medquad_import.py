"""Import NCI cancer.gov patient summaries from MedQuAD XML into curated Markdown documents.

Input: MedQuAD ``1_CancerGov_QA`` XML files::

    <Document id source url><Focus>...</Focus><QAPairs>
      <QAPair><Question qid qtype>...</Question><Answer>...</Answer></QAPair> ...

Output: one ``nci-<slug>.md`` per cancer (files with the same Focus are merged), with YAML
front matter and one ``##`` section per Q&A pair in a fixed topic order.

The answer text is quoted verbatim: words, numbers and punctuation are never changed.
Only whitespace and the list layout are rewritten into Markdown (see ``answer_to_markdown``),
and every rendered section is checked against its answer before anything is written.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, TextIO


from knowledge.cancer_vocabulary import CancerVocabulary, load_vocabulary
from knowledge.writing import slugify, write_atomically, yaml_scalar  # noqa: F401
from knowledge.medquad_layout import (answer_to_markdown, check_verbatim,  # noqa: F401
                                       markdown_to_source_chars)

# --- provenance constants (see knowledge/sources/medquad_cancergov_rare/PROVENANCE.md) ---

MEDQUAD_REPO = "abachaa/MedQuAD"
MEDQUAD_COMMIT = "577bd37b96c02d1833b2c9eed2de9f96964e96cb"
MEDQUAD_COMMIT_DATE = "2023-10-17"  # used as `retrieved`: the crawl date itself is not recorded
MEDQUAD_FOLDER = "1_CancerGov_QA"

PUBLISHER = "National Cancer Institute (cancer.gov)"
LICENCE = (
    "CC BY 4.0 (MedQuAD collection). Licence text: "
    "knowledge/sources/medquad_cancergov_rare/LICENSE-MedQuAD-CC-BY-4.0.txt. "
    "Changes: whitespace and list layout converted to Markdown and section headings added; "
    "the wording is unchanged."
)
ATTRIBUTION = (
    "Text from the NCI PDQ patient summary at cancer.gov, as collected in MedQuAD: "
    "Ben Abacha A., Demner-Fushman D. A Question-Entailment Approach to Question Answering. "
    "BMC Bioinformatics 20:511 (2019). The text comes from the cancer.gov crawl made for "
    "that 2019 paper (crawl date not recorded; 'retrieved' is the date of the MedQuAD commit "
    "used) and may be out of date."
)

ALLOWED_FRONT_MATTER_KEYS = (
    "id", "title", "publisher", "url", "language", "cancer_types", "last_reviewed",
    "retrieved", "licence", "attribution", "source",
)

# qtype -> section heading, in the fixed order the sections appear in a document.
# "{about}" is replaced by the focus, lowercased where sensible.
# Section headings in the style of cancer.gov's own PDQ summaries ("General Information About ...",
# "Stages of ..."): each names its topic and the cancer, so a section reads on its own.
QTYPE_SECTIONS: dict[str, str] = {
    "information": "General information about {about}",
    "susceptibility": "Risk factors for {about}",
    "inheritance": "Inherited risk of {about} (genetics)",
    "symptoms": "Signs and symptoms of {about}",
    "exams and tests": "Diagnosis of {about}: tests and exams",
    "stages": "Stages of {about}",
    "treatment": "Treatment of {about}",
    "outlook": "Outlook (prognosis) for {about}",
    "prevention": "Prevention of {about}",
    "research": "Research and clinical trials for {about}",
}
QTYPE_ORDER = {qtype: i for i, qtype in enumerate(QTYPE_SECTIONS)}

# Focus strings damaged in MedQuAD (a lost "é"). Only the title/id use the fix; body text
# stays exactly as in the source.
TITLE_FIXES = {
    "Mycosis Fungoides and the Szary Syndrome": "Mycosis Fungoides and the Sézary Syndrome",
}
# Words of a focus that keep their capital in "About <focus>" (names of people).
PROPER_NOUNS = {"Kaposi", "Ewing", "Merkel", "Langerhans", "Sézary", "Szary", "Hodgkin"}



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


@dataclass
class Document:
    doc_id: str  # "nci-<slug>"
    title: str
    focus: str
    url: str
    files: list[MedQuADFile]
    sections: list[tuple[str, QAPair]] = field(default_factory=list)  # (heading, pair)
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
    url = (root.get("url") or "").strip()
    if not re.match(r"https?://\S+\Z", url):
        raise MedQuADError(path, "<Document> has no valid url attribute", "add the cancer.gov page address as url=\"https://...\"")
    focus_el = root.find("Focus")
    focus = " ".join((focus_el.text or "").split()) if focus_el is not None else ""
    if not focus:
        raise MedQuADError(path, "no <Focus> (the cancer name)", "add <Focus>Cancer Name</Focus> under <Document>")
    qapairs_el = root.find("QAPairs")
    qapair_els = qapairs_el.findall("QAPair") if qapairs_el is not None else []
    if not qapair_els:
        raise MedQuADError(path, "no <QAPairs>/<QAPair> elements", "the file must hold at least one <QAPair> with <Question> and <Answer>")

    pairs: list[QAPair] = []
    seen: dict[str, str] = {}
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
                + ", or add the new qtype and its heading to QTYPE_SECTIONS in knowledge/medquad_import.py",
            )
        if qtype in seen:
            raise MedQuADError(
                path, f"qtype {qtype!r} occurs twice (qids {seen[qtype]} and {qid})",
                "keep one QAPair per qtype in a file",
            )
        answer_el = qa.find("Answer")
        answer = "".join(answer_el.itertext()) if answer_el is not None else ""
        if not answer.strip():
            raise MedQuADError(path, f"{where} (qid {qid}) has an empty <Answer>", "fill in the answer text or remove the QAPair")
        seen[qtype] = qid
        pairs.append(QAPair(qid=qid, qtype=qtype, answer=answer))
    return MedQuADFile(path=path, doc_id=doc_id, url=url, focus=focus, pairs=tuple(pairs))


# --------------------------------------------------------------------------- naming


def title_for(focus: str) -> str:
    return TITLE_FIXES.get(focus, focus)


def about_phrase(title: str) -> str:
    """'Bile Duct Cancer (Cholangiocarcinoma)' -> 'bile duct cancer (cholangiocarcinoma)'.

    Names of people (Kaposi, Ewing, ...) and acronyms keep their capitals.
    """
    words = []
    for word in title.split():
        core = word.strip("()[],.;:")
        if core in PROPER_NOUNS or (len(core) > 1 and core.isupper()):
            words.append(word)
        else:
            words.append(word.lower())
    return " ".join(words)


def section_heading(qtype: str, title: str) -> str:
    try:
        template = QTYPE_SECTIONS[qtype]
    except KeyError:
        raise ValueError(f"unknown qtype {qtype!r}; known: {', '.join(QTYPE_SECTIONS)}") from None
    return template.format(about=about_phrase(title))


# --------------------------------------------------------------------------- documents


def _source_field(files: list[MedQuADFile]) -> str:
    names = " and ".join(f"{MEDQUAD_FOLDER}/{f.path.name}" for f in files)
    return f"MedQuAD {names} ({MEDQUAD_REPO} commit {MEDQUAD_COMMIT})"


def build_documents(files: list[MedQuADFile], vocabulary: CancerVocabulary | None = None
                    ) -> tuple[list[Document], list[MedQuADError]]:
    """Group parsed files by cancer (slug of the focus) and merge each group into a Document, with the
    cancers its title names in the cancer vocabulary."""
    vocabulary = vocabulary or load_vocabulary()
    groups: dict[str, list[MedQuADFile]] = {}
    for f in sorted(files, key=lambda f: (f.path.name, str(f.path))):
        groups.setdefault(slugify(title_for(f.focus)), []).append(f)

    documents: list[Document] = []
    errors: list[MedQuADError] = []
    for slug in sorted(groups):
        group = groups[slug]
        paths = [f.path for f in group]
        if not slug:
            errors.append(MedQuADError(paths, "the <Focus> has no letters or digits to make an id from", "fix the <Focus> text"))
            continue
        by_qtype: dict[str, tuple[MedQuADFile, QAPair]] = {}
        duplicate = None
        for f in group:
            for pair in f.pairs:
                if pair.qtype in by_qtype:
                    duplicate = (pair.qtype, by_qtype[pair.qtype][0].path, f.path)
                    break
                by_qtype[pair.qtype] = (f, pair)
            if duplicate:
                break
        if duplicate:
            qtype, first, second = duplicate
            errors.append(MedQuADError(
                paths, f"both {first.name} and {second.name} have a {qtype!r} answer for focus {group[0].focus!r}",
                "keep only one of these files in the source directory",
            ))
            continue
        # The url is the treatment summary's when a cancer has several source files.
        primary = next((f for f in group if any(p.qtype == "treatment" for p in f.pairs)), group[0])
        title = title_for(primary.focus)
        cancer_types = vocabulary.names_in_title(title)
        if not cancer_types:
            errors.append(MedQuADError(paths, f"the title {title!r} names no cancer in knowledge/cancers.yml",
                                       "add the cancer (or this name as a synonym) to knowledge/cancers.yml"))
            continue
        doc = Document(doc_id=f"nci-{slug}", title=title, focus=primary.focus, url=primary.url, files=group,
                       cancer_types=cancer_types)
        for qtype in sorted(by_qtype, key=QTYPE_ORDER.__getitem__):
            doc.sections.append((section_heading(qtype, title), by_qtype[qtype][1]))
        documents.append(doc)
    return documents, errors


def render_front_matter(doc: Document) -> str:
    fields: list[tuple[str, str, bool]] = [
        ("id", doc.doc_id, False),
        ("title", doc.title, False),
        ("publisher", PUBLISHER, False),
        ("url", doc.url, False),
        ("language", "en", False),
        ("cancer_types", "[" + ", ".join(doc.cancer_types) + "]", False),
        ("retrieved", MEDQUAD_COMMIT_DATE, False),  # plain: loads as a date
        ("licence", LICENCE, True),
        ("attribution", ATTRIBUTION, True),
        ("source", _source_field(doc.files), True),
    ]
    lines = ["---"]
    for key, value, quote in fields:
        assert key in ALLOWED_FRONT_MATTER_KEYS, key
        rendered = value if key in ("retrieved", "cancer_types") else yaml_scalar(key, value, quote=quote)
        lines.append(f"{key}: {rendered}")
    lines.append("---")
    return "\n".join(lines)


def render_document(doc: Document) -> str:
    parts = [f"# {doc.title}"]
    for heading, pair in doc.sections:
        parts.append(f"## {heading}\n\n{answer_to_markdown(pair.answer)}")
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
            found = sorted(p for p in source.glob("*.xml") if p.is_file())
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
