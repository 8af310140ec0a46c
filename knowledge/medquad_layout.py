"""Layout of a MedQuAD answer as readable Markdown: same characters, new whitespace and list layout.

MedQuAD keeps cancer.gov's structure only as indentation and runs of spaces. This turns it back into
headings, paragraphs and list items, and proves no character was changed (`check_verbatim`).
"""
from __future__ import annotations

import re

KEY_POINTS = "Key Points"

# A list item starts at the beginning of a line, or after a run of 2+ spaces, with "-" and spaces.
_LIST_MARKER = re.compile(r"(?:^|[ \t]{2,})-[ \t]+")
# Inside a line, a run of 3+ spaces that does not start a list item separates paragraphs
# (or a short sub-heading such as "Surgery" from its text).
_PARAGRAPH_BREAK = re.compile(r"[ \t]{3,}")
_SPACES = re.compile(r"[ \t]+")


def answer_blocks(answer: str) -> list[tuple[str, str]]:
    """Split a raw MedQuAD answer into ('h3' | 'p' | 'li', text) elements.

    Text is whitespace-collapsed but otherwise untouched.
    """
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
        # possibly followed (after a 3+ space run) by paragraphs that come after the list.
        for index, part in enumerate(parts):
            segments = [_SPACES.sub(" ", s).strip() for s in _PARAGRAPH_BREAK.split(part)]
            for seg_index, segment in enumerate(segments):
                if index > 0 and seg_index == 0:
                    # "-" kept even for an (unexpected) empty item so no character is lost
                    elements.append(("li", segment))
                elif segment:
                    elements.append(("p", segment))
    return elements


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


def answer_to_markdown(answer: str) -> str:
    """Readable Markdown for one answer: same characters, new whitespace and list layout."""
    markdown = render_elements(answer_blocks(answer))
    check_verbatim(answer, markdown)
    return markdown


def _non_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def markdown_to_source_chars(markdown: str) -> str:
    """Undo the markup this importer adds ('### ' before headings) and drop whitespace."""
    lines = [line[4:] if line.startswith("### ") else line for line in markdown.split("\n")]
    return _non_space("\n".join(lines))


def check_verbatim(answer: str, markdown: str) -> None:
    """Raise AssertionError unless markdown has exactly the answer's non-space characters."""
    if markdown_to_source_chars(markdown) != _non_space(answer):
        raise AssertionError("layout conversion changed the answer text (bug in medquad_import)")
