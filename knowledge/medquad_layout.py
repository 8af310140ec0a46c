"""Layout of a MedQuAD answer as readable Markdown: same characters, new whitespace and list layout.

MedQuAD keeps each site's structure only as indentation and runs of spaces. This turns it back into
headings, paragraphs and list items, leaves out the site boilerplate listed in
knowledge/medquad_boilerplate.yml, and proves every other character is kept (`check_verbatim`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

KEY_POINTS = "Key Points"
BOILERPLATE_FILE = Path(__file__).resolve().parent / "medquad_boilerplate.yml"

# A list item starts at the beginning of a line, or after a run of 2+ spaces, with "-" and spaces.
_LIST_MARKER = re.compile(r"(?:^|[ \t]{2,})-[ \t]+")
_SPACES = re.compile(r"[ \t]+")
# GARD's symptom table, flattened by the crawl into "Name 90% Name - ...": the header names its two
# columns, each row ends with its frequency or "-" (none known).
PHENOTYPE_TABLE_HEADER = "Signs and Symptoms Approximate number of patients (when available)"
_TABLE_ROW = re.compile(r"\s*(\S.*?)\s+(\d+(?:\.\d+)?%|-)(?=\s|\Z)")
# A question at the start of a paragraph or after a sentence is the page's own heading on GARD.
_QUESTION = re.compile(
    r"(?:^|(?<=[.!?:] ))((?:What|How|Is|Are|Can|Could|Does|Do|Who|Why|When|Which|Might|Should|Will|Where)\b"
    r"[^.?!]{2,200}\?)(?= |\Z)")
# Standalone dashes are list markers in both the source ("A - B -") and Markdown ("- A"), in other places.
_STANDALONE_DASH = re.compile(r"(?:(?<=\s)|^)-(?=\s|\Z)")


@dataclass(frozen=True)
class LayoutRules:
    """How one collection's answers are laid out."""

    paragraph_spaces: int = 3       # a run of this many spaces inside a line separates paragraphs
    question_headings: bool = False  # questions in the text become headings

    def __post_init__(self) -> None:
        if self.paragraph_spaces < 2:
            raise ValueError("paragraph_spaces must be 2 or more: two spaces also open list items")


@dataclass(frozen=True)
class Boilerplate:
    collection: str
    text: str
    why: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(r"[ \t]*" + r"\s+".join(re.escape(word) for word in self.text.split()))


@lru_cache(maxsize=4)
def load_boilerplate(path: Path = BOILERPLATE_FILE) -> tuple[Boilerplate, ...]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return tuple(Boilerplate(str(e["collection"]), " ".join(str(e["text"]).split()), str(e["why"])) for e in entries)


def strip_boilerplate(answer: str, collection: str, entries: tuple[Boilerplate, ...] | None = None
                      ) -> tuple[str, list[str]]:
    """The answer without the collection's boilerplate, and the exact texts left out."""
    removed: list[str] = []
    for entry in load_boilerplate() if entries is None else entries:
        if entry.collection != collection:
            continue

        def cut(match: re.Match[str]) -> str:
            removed.append(match.group(0))
            return "   "  # what was around it stays apart

        answer = entry.pattern.sub(cut, answer)
    return answer, removed


def _table_rows(text: str) -> list[tuple[str, str]] | None:
    """('li', 'Name 90%') per row of a flattened phenotype table, or None if it isn't one."""
    rows, position = [], 0
    for match in _TABLE_ROW.finditer(text):
        if match.start() != position:
            return None
        name, frequency = match.groups()
        rows.append(("li", name if frequency == "-" else f"{name} {frequency}"))
        position = match.end()
    return rows if rows and not text[position:].strip() else None


def _paragraph(segment: str, rules: LayoutRules) -> list[tuple[str, str]]:
    """One paragraph of text: questions opening a part become headings; a phenotype table, list items."""
    if PHENOTYPE_TABLE_HEADER in segment:
        before, after = segment.split(PHENOTYPE_TABLE_HEADER, 1)
        rows = _table_rows(after)
        if rows is not None:  # the table's header heads the list its rows became
            return _paragraph(before.strip(), rules) + [("h3", PHENOTYPE_TABLE_HEADER)] + rows
    if not segment:
        return []
    if not rules.question_headings:
        return [("p", segment)]
    elements: list[tuple[str, str]] = []
    position = 0
    for match in _QUESTION.finditer(segment):
        if segment[position:match.start()].strip():
            elements.append(("p", segment[position:match.start()].strip()))
        elements.append(("h3", match.group(1)))
        position = match.end()
    if segment[position:].strip():
        elements.append(("p", segment[position:].strip()))
    return elements


def answer_blocks(answer: str, rules: LayoutRules = LayoutRules()) -> list[tuple[str, str]]:
    """Split a raw MedQuAD answer into ('h3' | 'p' | 'li', text) elements.

    Text is whitespace-collapsed but otherwise untouched.
    """
    paragraph_break = re.compile(r"[ \t]{%d,}" % rules.paragraph_spaces)
    elements: list[tuple[str, str]] = []
    lines = [raw.strip(" \t") for raw in answer.splitlines()]
    has_key_points = KEY_POINTS in lines
    for number, line in enumerate(lines):
        if not line:
            continue
        if line == KEY_POINTS:
            elements.append(("h3", KEY_POINTS))
            continue
        # After a Key Points box, each key point opens a block as its own line: on cancer.gov it is
        # the heading of the text below it, so it becomes a heading here too.
        opens_block = number > 0 and not lines[number - 1] and number + 1 < len(lines) and lines[number + 1]
        if has_key_points and opens_block and not _LIST_MARKER.search(line):
            elements.append(("h3", _SPACES.sub(" ", line)))
            continue
        parts = _LIST_MARKER.split(line)
        # parts[0]: text before the first list marker; parts[1:]: one per list item, each
        # possibly followed (after a run of spaces) by paragraphs that come after the list.
        for index, part in enumerate(parts):
            segments = [_SPACES.sub(" ", s).strip() for s in paragraph_break.split(part)]
            for seg_index, segment in enumerate(segments):
                if index > 0 and seg_index == 0:
                    # "-" kept even for an (unexpected) empty item so no character is lost
                    elements.append(("li", segment))
                else:
                    elements.extend(_paragraph(segment, rules))
    return elements


def subheadings(answer: str, rules: LayoutRules = LayoutRules(), collection: str = "CancerGov") -> list[str]:
    """The headings the answer's layout makes (key points, block titles, GARD's questions)."""
    return [text for kind, text in answer_blocks(strip_boilerplate(answer, collection)[0], rules) if kind == "h3"]


def render_elements(elements: list[tuple[str, str]]) -> str:
    out: list[str] = []
    previous = None
    for kind, text in elements:
        if kind == "h3":
            line = f"### {text}"
        elif kind == "li":
            line = f"- {text}".rstrip()
        else:
            line = text
        if out:
            out.append("\n" if (kind == "li" and previous == "li") else "\n\n")
        out.append(line)
        previous = kind
    return "".join(out)


def answer_to_markdown(answer: str, rules: LayoutRules = LayoutRules(), collection: str = "CancerGov") -> str:
    """Readable Markdown for one answer: the same characters bar the boilerplate, new whitespace and layout."""
    kept, removed = strip_boilerplate(answer, collection)
    elements = answer_blocks(kept, rules)
    markdown = render_elements(elements)
    check_verbatim(answer, markdown, removed)
    return markdown


def _non_space(text: str) -> str:
    return re.sub(r"\s+", "", _STANDALONE_DASH.sub(" ", text))


def markdown_to_source_chars(markdown: str) -> str:
    """Undo the markup this importer adds ('### ' before headings, '- ' before items); drop whitespace."""
    lines = [line[4:] if line.startswith("### ") else line for line in markdown.split("\n")]
    return _non_space("\n".join(lines))


def check_verbatim(answer: str, markdown: str, removed: list[str] | tuple[str, ...] = ()) -> None:
    """Raise AssertionError unless markdown has exactly the answer's characters, bar the `removed` texts.

    Whitespace and standalone dashes (list markers, before or after an item) are layout, not text.
    """
    expected = _non_space(answer)
    for text in removed:
        cut = _non_space(text)
        if cut not in expected:
            raise AssertionError(f"left-out text not found in the answer: {text[:60]!r}")
        expected = expected.replace(cut, "", 1)
    if markdown_to_source_chars(markdown) != expected:
        raise AssertionError("layout conversion changed the answer text (bug in medquad_import)")
