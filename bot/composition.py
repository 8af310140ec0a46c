"""Answer composition (issue 13): the sentences of a passage that answer, with what they need to be read
alone, laid out for the chat; and a lead naming the pages they come from.

- A sentence that refers back ("These and other signs...") comes with the sentence before it.
- A sentence that introduces a list ("Four types of standard treatment are used:") comes with the list,
  one item a line, each by its term ("Bone scan" of "Bone scan : A procedure to..."); one whose list
  is not in the passage is left out rather than left hanging.
- The lead, "From the National Cancer Institute's page on uterine sarcoma:", names each page's
  publisher (spoken names in bot/data/publishers.yml) and subject.

Everything shown is document text, cut at sentence, line or term boundaries; nothing is reworded.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Sequence

import yaml

from index.sentences import sentence_spans

PUBLISHERS_FILE = Path(__file__).parent / "data" / "publishers.yml"
_LIST_MARKER = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,3}[.)])\s+")
# The words a sentence opens with when it leans on the one before.
_REFERS_BACK = re.compile(r"^(?:these|this|those|they|them|it|its|such|both|however|also|but|in addition|"
                          r"otherwise|instead|as a result|because of this)\b", re.IGNORECASE)
_ANNOUNCES_LIST = re.compile(r"\b(?:the following|as follows|listed below|include:|includes:)", re.IGNORECASE)
_TERM = re.compile(r"^(.{2,60}?)\s?:\s")  # "Bone scan : A procedure..." -> "Bone scan"
MAX_CONTEXT = 2  # sentences brought in before one that refers back
TITLE_SHOWN = 60  # a general page's title this long or shorter is named in the lead


def plain_line(line: str) -> str:
    return _LIST_MARKER.sub("", line).strip()


def answer_sentence(text: str) -> str:
    """A quoted sentence for the answer text: list markers and line breaks are layout, not words."""
    return " ".join(line for line in (plain_line(raw) for raw in text.splitlines()) if line)


def _is_list_line(line: str) -> bool:
    return bool(_LIST_MARKER.match(line))


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line of text[start:end]."""
    found, position = [], start
    for line in text[start:end].split("\n"):
        if line.strip():
            found.append((position, position + len(line)))
        position += len(line) + 1
    return found


def _item(line: str) -> str:
    """How a list item reads in the answer: its term, else its first sentence."""
    line = plain_line(line)
    term = _TERM.match(line)
    if term:
        return term.group(1).strip()
    spans = sentence_spans(line)
    return line[spans[0][0]:spans[0][1]] if spans else line


def _list_items(lines: list[str]) -> list[str]:
    """The items of the list that opens `lines`: consecutive list lines; when the first item is a bare
    term ("Surgery"), the list ends where a full sentence begins ("New types of treatment are...")."""
    items: list[str] = []
    for line in lines:
        if not _is_list_line(line):
            break
        if items and not items[0].endswith(".") and plain_line(line).endswith("."):
            break
        items.append(plain_line(line))
    return [_item(item) for item in items]


def _render(text: str, start: int, end: int, passage_end: int) -> str | None:
    """One chosen sentence as the answer shows it; None when it announces a list the passage lacks."""
    lines = _lines(text, start, end)
    for number, (line_start, line_end) in enumerate(lines):
        line = text[line_start:line_end]
        opens_list = line.rstrip().endswith(":") or (number == len(lines) - 1 and _ANNOUNCES_LIST.search(line))
        if not opens_list:
            continue
        intro = " ".join(plain_line(text[s:e]) for s, e in lines[:number + 1])
        following = [text[s:e] for s, e in _lines(text, line_end, passage_end)]
        items = _list_items(following)
        if not items:
            return None
        return intro + "".join(f"\n- {item}" for item in items)
    if len(lines) > 1 and all(_is_list_line(text[s:e]) for s, e in lines):  # a bare list stays a list
        return "\n".join(f"- {plain_line(text[s:e])}" for s, e in lines)
    return answer_sentence(text[start:end])


def compose(text: str, passage: tuple[int, int], chosen: Sequence[tuple[int, int]], required: bool = True) -> str:
    """The answer text from one passage (document offsets) for its chosen sentences, each with the
    context it needs, in the document's order. When all of them announce a list the passage lacks: the
    passage's first sentence that stands alone if `required`, else ""."""
    sentences = sentence_spans(text, *passage)
    index = {span: number for number, span in enumerate(sentences)}
    picked = {index[span] for span in chosen if span in index}
    for number in sorted(picked):
        earlier = number
        while (earlier > 0 and earlier - 1 not in picked and number - earlier < MAX_CONTEXT
               and _REFERS_BACK.match(plain_line(text[slice(*sentences[earlier])]))):
            earlier -= 1
            picked.add(earlier)
    parts = [part for number in sorted(picked)
             if (part := _render(text, *sentences[number], passage[1])) is not None]
    if not parts and required:
        parts = next(([part] for span in sentences if not _REFERS_BACK.match(plain_line(text[slice(*span)]))
                      and (part := _render(text, *span, passage[1])) is not None), [])
    return join(parts)


def join(parts: Sequence[str]) -> str:
    """Parts one after another; after a list, the next starts on its own line."""
    out, previous = "", ""
    for part in parts:
        out += ("\n" if "\n- " in previous or part.startswith("- ") else " ") + part if out else part
        previous = part
    return out


@functools.lru_cache(maxsize=1)
def publisher_names() -> dict[str, str]:
    """Each publisher as the lead speaks of it ("the National Cancer Institute")."""
    return dict(yaml.safe_load(PUBLISHERS_FILE.read_text(encoding="utf-8")) or {})


def spoken_publisher(publisher: str) -> str:
    """The publisher's spoken name; one not listed is named up to its first bracket or comma."""
    return publisher_names().get(publisher) or re.split(r"\s*[(,]", publisher, maxsplit=1)[0].strip() or "the source"


def _page(document: dict[str, Any]) -> tuple[str, str]:
    """(publisher, what the page is) for the lead: ("the National Cancer Institute", "page on X")."""
    publisher = spoken_publisher(str(document.get("publisher") or ""))
    cancers = document.get("cancer_types") or []
    title = str(document.get("title") or "").strip()
    if cancers:
        return publisher, f"on {cancers[0]}"
    return publisher, f"“{title}”" if title and len(title) <= TITLE_SHOWN else ""


def source_lead(documents: Sequence[dict[str, Any]]) -> str:
    """"From the National Cancer Institute's page on uterine sarcoma:" for the pages quoted, in order;
    pages on one subject, or by one publisher, are named together ("the National Cancer Institute's and
    Genetics Home Reference's pages on Ewing sarcoma", "the National Cancer Institute's pages on
    childhood and adult Hodgkin lymphoma")."""
    pages = list(dict.fromkeys(_page(d) for d in documents))
    publishers = list(dict.fromkeys(publisher for publisher, _ in pages))
    if len(publishers) == 1 and len(pages) > 1 and all(subject.startswith("on ") for _, subject in pages):
        subjects = [subject[3:] for _, subject in pages]
        return f"From {publishers[0]}'s pages on {_listing(subjects)}:"
    by_subject: dict[str, list[str]] = {}
    for publisher, subject in pages:
        by_subject.setdefault(subject, []).append(publisher)
    named = []
    for subject, names in by_subject.items():
        if not subject:
            named += [f"a page by {publisher}" for publisher in names]
        elif len(names) == 1:
            named.append(f"{names[0]}'s page {subject}")
        else:
            named.append(f"{_listing([p + chr(39) + 's' for p in names])} pages {subject}")
    return f"From {_listing(named)}:" if named else ""


def _listing(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
