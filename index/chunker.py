"""Cut a document's Markdown text into passages that keep their meaning.

Rules: a passage never crosses a heading, never ends mid-sentence, and keeps a list together with
the sentence that introduces it. Its quote is exactly text[start:end]; the text that is embedded
and matched adds the document title, section path and, for the tail of a long list, the list's
introducing sentence. Headings are not quoted: they are the passage's section path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from knowledge.document_format import Document
from index.sentences import sentence_spans

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])[ \t]+")
CHUNKER_VERSION = 2


@dataclass
class Passage:
    passage_id: str
    doc_id: str
    title: str
    section: list[str]
    start: int
    end: int
    quote: str
    context: str  # what is embedded and matched: title, section, quote (never shown as the quote)

    @property
    def section_label(self) -> str:
        return " > ".join(self.section)

    def to_dict(self) -> dict[str, Any]:
        return {"passage_id": self.passage_id, "doc_id": self.doc_id, "title": self.title, "section": self.section,
                "start": self.start, "end": self.end, "quote": self.quote, "context": self.context}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Passage":
        return cls(**data)


@dataclass
class _Block:
    kind: str  # "heading", "paragraph" or "item"
    start: int
    end: int
    level: int = 0
    heading: str = ""


@dataclass
class _Atom:
    """A span that is never split: a sentence, or one list item."""

    start: int
    end: int
    intro: tuple[int, int] | None = None  # the sentence that introduces the list this item belongs to
    glued: bool = False  # must stay in the same passage as the next atom


@dataclass
class _Section:
    path: list[str]
    blocks: list[_Block] = field(default_factory=list)


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    offset = 0
    current: _Block | None = None
    for line in text.split("\n"):
        line_start, line_end = offset, offset + len(line)
        offset = line_end + 1
        stripped = line.strip()
        heading = _HEADING.match(line)
        if not stripped:
            current = None
        elif heading:
            blocks.append(_Block("heading", line_start, line_end, len(heading.group(1)), heading.group(2).strip()))
            current = None
        elif _LIST_ITEM.match(line):
            current = _Block("item", line_start + (len(line) - len(line.lstrip())), line_end)
            blocks.append(current)
        elif current is not None:  # a continuation line of a paragraph or list item
            current.end = line_end
        else:
            current = _Block("paragraph", line_start + (len(line) - len(line.lstrip())), line_end)
            blocks.append(current)
    for block in blocks:
        while block.end > block.start and text[block.end - 1].isspace():
            block.end -= 1
    return blocks


def _sections(blocks: list[_Block]) -> list[_Section]:
    sections = [_Section([])]
    stack: list[tuple[int, str]] = []
    for block in blocks:
        if block.kind == "heading":
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, block.heading))
            sections.append(_Section([title for level, title in stack if level > 1]))
        else:
            sections[-1].blocks.append(block)
    return [s for s in sections if s.blocks]


class Chunker:
    """Turns a Document into Passages. Settings are validated here and recorded in the index manifest."""

    def __init__(self, max_chars: int = 900, hard_max_chars: int = 1800, min_chars: int = 200):
        if max_chars < 100:
            raise ValueError(f"max_chars must be at least 100, got {max_chars}")
        if hard_max_chars < max_chars:
            raise ValueError(f"hard_max_chars ({hard_max_chars}) must be at least max_chars ({max_chars})")
        if not 0 <= min_chars < max_chars:
            raise ValueError(f"min_chars must be between 0 and max_chars, got {min_chars}")
        self.max_chars = max_chars
        self.hard_max_chars = hard_max_chars
        self.min_chars = min_chars

    def to_dict(self) -> dict[str, Any]:
        return {"type": "markdown-sentence", "version": CHUNKER_VERSION, "max_chars": self.max_chars,
                "hard_max_chars": self.hard_max_chars, "min_chars": self.min_chars}

    def run(self, document: Document) -> list[Passage]:
        text = document.text
        passages: list[Passage] = []
        for section in _sections(_blocks(text)):
            for start, end, intro in self._pack(text, self._atoms(text, section.blocks)):
                context_parts = [document.title, " > ".join(section.path)]
                if intro is not None and intro[0] < start:
                    context_parts.append(text[intro[0]:intro[1]])
                context = ". ".join(p.rstrip(".:") for p in context_parts if p) + ".\n" + text[start:end]
                passages.append(Passage(f"{document.doc_id}#{len(passages)}", document.doc_id, document.title,
                                        list(section.path), start, end, text[start:end], context))
        return passages

    def _atoms(self, text: str, blocks: list[_Block]) -> list[_Atom]:
        atoms: list[_Atom] = []
        intro: tuple[int, int] | None = None
        for index, block in enumerate(blocks):
            if block.kind == "paragraph":
                spans = self._split_long(text, sentence_spans(text, block.start, block.end))
                atoms.extend(_Atom(s, e) for s, e in spans)
                next_is_list = index + 1 < len(blocks) and blocks[index + 1].kind == "item"
                intro = spans[-1] if next_is_list and spans else None
                if intro is not None:
                    atoms[-1].glued = True
            else:  # a list item stays whole unless it alone is too long
                spans = [(block.start, block.end)]
                if block.end - block.start > self.hard_max_chars:
                    spans = self._split_long(text, sentence_spans(text, block.start, block.end))
                atoms.extend(_Atom(s, e, intro) for s, e in spans)
                following = blocks[index + 1] if index + 1 < len(blocks) else None
                if following is None or following.kind != "item":
                    intro = None
        return atoms

    def _split_long(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """A 'sentence' longer than the hard limit (no punctuation at all) is split at whitespace."""
        result: list[tuple[int, int]] = []
        for start, end in spans:
            while end - start > self.hard_max_chars:
                cut = text.rfind(" ", start, start + self.max_chars)
                cut = cut if cut > start else start + self.max_chars
                result.append((start, cut))
                start = cut
                while start < end and text[start].isspace():
                    start += 1
            result.append((start, end))
        return result

    def _pack(self, text: str, atoms: list[_Atom]) -> list[tuple[int, int, tuple[int, int] | None]]:
        """Greedy packing of atoms into passages of about max_chars, honouring glue and list limits."""
        groups: list[list[_Atom]] = []
        current: list[_Atom] = []
        list_ends: dict[tuple[int, int], int] = {}
        first_item_ends: dict[tuple[int, int], int] = {}
        for atom in atoms:
            if atom.intro is not None:
                list_ends[atom.intro] = atom.end
                first_item_ends.setdefault(atom.intro, atom.end)
        for atom in atoms:
            if current:
                size = atom.end - current[0].start
                in_list = atom.intro is not None and (current[-1].glued or current[-1].intro == atom.intro)
                limit = self.hard_max_chars if (current[-1].glued or in_list) else self.max_chars
                # An intro sentence opens a new passage when that keeps its whole list with it, or
                # failing that, at least the list's first item.
                moves_list = False
                if atom.glued and (atom.start, atom.end) in list_ends:
                    target = list_ends[(atom.start, atom.end)]
                    if target - atom.start > self.hard_max_chars:
                        target = first_item_ends[(atom.start, atom.end)]
                    moves_list = (target - current[0].start > self.hard_max_chars
                                  and target - atom.start <= self.hard_max_chars)
                if size > limit or moves_list:
                    groups.append(current)
                    current = []
            current.append(atom)
        if current:
            groups.append(current)
        # Fold a short tail into the passage before it, when the two together stay within the hard limit.
        if len(groups) > 1:
            last = groups[-1]
            if last[-1].end - last[0].start < self.min_chars and last[-1].end - groups[-2][0].start <= self.hard_max_chars:
                groups[-2].extend(groups.pop())
        return [(g[0].start, g[-1].end, g[0].intro) for g in groups]
