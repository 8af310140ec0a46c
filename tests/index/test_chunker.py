"""index.chunker: passages that never cross a heading, never end mid-sentence and keep lists whole.

Properties are checked on Markdown documents generated from a small grammar (headings, paragraphs of
sentences with abbreviations and decimals, lists introduced by a sentence ending in ':', numbered
lists). The generator records where every heading, paragraph, list item and intro sentence is, so the
checks do not depend on the chunker's own parsing.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from hypothesis import example, given, settings, strategies as st

from index.chunker import Chunker
from index.sentences import sentence_spans
from index_helpers import make_document

# ----------------------------------------------------------------------------- grammar

# Sentences are drawn whole from pools made by the grammar below (one draw each keeps generation
# fast); hypothesis then varies how many there are and how they are combined into blocks.
WORDS = ["cancer", "cells", "tumour", "patients", "treatment", "doctors", "surgery", "therapy", "trial", "risk",
         "sarcoma", "lump", "scan", "biopsy", "radiotherapy", "chemotherapy"]
INSIDE = ["e.g. surgery", "i.e. the dose", "Dr. Smith", "J. Bogaerts", "the U.S. team", "2.5 mg", "10.5 cm",
          "etc. and more", "(see below)", "1,000 people"]
CAPITALS = ["Cancer", "Patients", "Treatment", "Doctors", "Surgery", "The", "Most", "Some", "In 2024 the"]


def _sentence(rng: random.Random, end: str, max_words: int) -> str:
    parts = [rng.choice(CAPITALS)]
    for _ in range(rng.randint(1, max_words)):
        parts.append(rng.choice(INSIDE) if rng.random() < 0.2 else rng.choice(WORDS))
    return " ".join(parts) + end


_rng = random.Random(20261122)
SENTENCES = [_sentence(_rng, _rng.choice(".!?."), _rng.choice([4, 10, 25, 40])) for _ in range(120)]
INTROS = [_sentence(_rng, ":", 8) for _ in range(20)]
ITEM_TEXTS = [" ".join(_rng.choice(WORDS) for _ in range(_rng.randint(1, 12)))
              + _rng.choice(["", ".", "; and", ". " + _sentence(_rng, ".", 10)]) for _ in range(60)]
CAPITAL = st.sampled_from(CAPITALS)


def sentence():
    return st.sampled_from(SENTENCES)


@dataclass
class Shape:
    """A generated document and where its parts are."""

    text: str = ""
    headings: list[tuple[int, int, int, str]] = field(default_factory=list)  # start, end, level, title
    paragraphs: list[tuple[int, int]] = field(default_factory=list)
    items: list[tuple[int, int]] = field(default_factory=list)
    lists: list[dict] = field(default_factory=list)  # {"intro": (s, e) | None, "items": [(s, e), ...]}

    def add(self, piece: str) -> tuple[int, int]:
        start = len(self.text)
        self.text += piece
        return start, len(self.text)


@st.composite
def markdown(draw, long_runs: bool = False) -> Shape:
    """A Markdown document: optional title, then headings, paragraphs and lists in any order."""
    shape = Shape()
    if draw(st.booleans()):
        shape.headings.append((*shape.add("# " + draw(sentence()).rstrip(".!?")), 1, ""))
        shape.add("\n\n")
    for _ in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["heading", "paragraph", "paragraph", "list", "list", "numbered"]))
        if kind == "heading":
            level = draw(st.integers(1, 3))
            title = " ".join(draw(st.lists(CAPITAL, min_size=1, max_size=4)))
            start, end = shape.add("#" * level + " " + title)
            shape.headings.append((start, end, level, title))
        elif kind == "paragraph":
            parts = draw(st.lists(sentence(), min_size=1, max_size=6))
            if long_runs and draw(st.booleans()):  # an unpunctuated run, longer than any limit
                parts.append(" ".join(["word"] * draw(st.integers(50, 500))))
            joiner = draw(st.sampled_from([" ", " ", "\n"]))  # "\n": a paragraph wrapped over lines
            shape.paragraphs.append(shape.add(joiner.join(parts)))
        else:
            intro = None
            if draw(st.booleans()):
                parts = draw(st.lists(sentence(), min_size=0, max_size=4)) + [draw(st.sampled_from(INTROS))]
                start, end = shape.add(" ".join(parts))
                shape.paragraphs.append((start, end))
                intro = (end - len(parts[-1]), end)
                shape.add(draw(st.sampled_from(["\n", "\n\n"])))
            items = []
            for number in range(1, draw(st.integers(1, 9)) + 1):
                marker = f"{number}. " if kind == "numbered" else draw(st.sampled_from(["- ", "* "]))
                if number > 1:
                    shape.add("\n")
                start, end = shape.add(marker + draw(st.sampled_from(ITEM_TEXTS)))
                items.append((start, end))
            shape.items.extend(items)
            shape.lists.append({"intro": intro, "items": items})
        shape.add("\n\n")
    if not shape.paragraphs and not shape.items:  # a document has some content besides headings
        shape.paragraphs.append(shape.add(draw(sentence())))
    return shape


chunkers = st.builds(lambda m, extra, low: Chunker(max_chars=m, hard_max_chars=m + extra, min_chars=min(low, m - 1)),
                     st.integers(100, 400), st.integers(0, 400), st.integers(0, 250))

# ----------------------------------------------------------------------------- oracles


def heading_path(shape: Shape, position: int) -> list[str]:
    """The Markdown section path at a position; level-1 headings are the document title, not a section."""
    stack: list[tuple[int, str]] = []
    for start, _, level, title in shape.headings:
        if start > position:
            break
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
    return [title for level, title in stack if level > 1]


def section_ranges(shape: Shape) -> list[tuple[int, int]]:
    """The text between consecutive heading lines (and before the first, after the last)."""
    bounds = [0] + [b for start, end, _, _ in shape.headings for b in (start, end)] + [len(shape.text)]
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]


def boundaries(shape: Shape, chunker: Chunker) -> tuple[set[int], set[int], list[tuple[int, int]]]:
    """Allowed passage starts and ends: sentence (or whole item) boundaries; plus the over-long spans
    that the chunker may cut at whitespace."""
    starts, ends, long_spans = set(), set(), []
    for start, end in shape.paragraphs:
        for s, e in sentence_spans(shape.text, start, end):
            starts.add(s)
            ends.add(e)
            if e - s > chunker.hard_max_chars:
                long_spans.append((s, e))
    for start, end in shape.items:
        starts.add(start)
        ends.add(end)
        if end - start > chunker.hard_max_chars:
            for s, e in sentence_spans(shape.text, start, end):
                starts.add(s)
                ends.add(e)
                if e - s > chunker.hard_max_chars:
                    long_spans.append((s, e))
    return starts, ends, long_spans


def run(shape: Shape, chunker: Chunker, doc_id: str = "doc", title: str = "Doc Title"):
    return chunker.run(make_document(shape.text, doc_id, title))


# ----------------------------------------------------------------------------- properties

PROPERTY = settings(max_examples=250, deadline=None, database=None)


@PROPERTY
@given(markdown(long_runs=True), chunkers)
def test_quote_is_exactly_the_text_between_the_offsets(shape, chunker):
    passages = run(shape, chunker)
    assert passages
    for number, passage in enumerate(passages):
        assert passage.quote == shape.text[passage.start:passage.end]
        assert passage.quote and passage.quote == passage.quote.strip()
        assert passage.passage_id == f"doc#{number}"
        assert passage.context.endswith(passage.quote)
    assert all(a.end <= b.start for a, b in zip(passages, passages[1:])), "passages overlap or are out of order"


@PROPERTY
@given(markdown(long_runs=True), chunkers)
def test_every_character_outside_headings_is_in_a_passage(shape, chunker):
    passages = run(shape, chunker)
    covered = set()
    for passage in passages:
        covered.update(range(passage.start, passage.end))
    heading_chars = {i for start, end, _, _ in shape.headings for i in range(start, end)}
    missing = [i for i, c in enumerate(shape.text) if not c.isspace() and i not in heading_chars and i not in covered]
    assert not missing, f"characters not in any passage: {[shape.text[i] for i in missing][:20]}"


@PROPERTY
@given(markdown(long_runs=True), chunkers)
def test_passages_never_include_or_cross_a_heading(shape, chunker):
    ranges = section_ranges(shape)
    for passage in run(shape, chunker):
        for start, end, _, _ in shape.headings:
            assert passage.end <= start or passage.start >= end, f"{passage.quote!r} includes a heading"
        assert any(lo <= passage.start and passage.end <= hi for lo, hi in ranges), "passage crosses a heading"
        assert passage.section == heading_path(shape, passage.start)


@PROPERTY
@given(markdown(long_runs=True), chunkers)
def test_passages_start_and_end_at_sentence_or_block_boundaries(shape, chunker):
    starts, ends, long_spans = boundaries(shape, chunker)

    def inside_long(position: int) -> bool:
        return any(s < position < e for s, e in long_spans)

    for passage in run(shape, chunker):
        assert passage.start in starts or inside_long(passage.start), f"starts mid-sentence: {passage.quote[:40]!r}"
        assert passage.end in ends or inside_long(passage.end), f"ends mid-sentence: {passage.quote[-40:]!r}"


@PROPERTY
@given(markdown(), chunkers)
def test_items_are_never_split_when_they_fit(shape, chunker):
    passages = run(shape, chunker)
    for start, end in shape.items:
        if end - start <= chunker.hard_max_chars:
            holders = [p for p in passages if p.start < end and start < p.end]
            assert len(holders) == 1 and holders[0].start <= start and end <= holders[0].end


@PROPERTY
@given(markdown(), chunkers)
def test_a_list_tail_carries_its_introducing_sentence_in_its_context(shape, chunker):
    passages = run(shape, chunker)
    for listing in shape.lists:
        if listing["intro"] is None:
            continue
        intro = shape.text[slice(*listing["intro"])]
        for start, end in listing["items"]:
            holder = next(p for p in passages if p.start <= start < p.end)
            assert intro.rstrip(":") in holder.context, "a passage of list items lost its introducing sentence"


# The glue between an intro sentence and its list is not honoured when earlier sentences of the same
# passage use up the hard limit: the intro then ends one passage and the list starts the next.
_PUSHED_OUT = Shape()
_PUSHED_OUT.add("Cancer " + "cells " * 60 + "grow. They include:")
_PUSHED_OUT.paragraphs.append((0, len(_PUSHED_OUT.text)))
_PUSHED_OUT.add("\n\n")
_PUSHED_OUT.items.append(_PUSHED_OUT.add("- " + "scan " * 30 + "end"))
_PUSHED_OUT.lists.append({"intro": (_PUSHED_OUT.text.index("They"), _PUSHED_OUT.text.index(":") + 1),
                          "items": list(_PUSHED_OUT.items)})


@PROPERTY
@given(markdown(), chunkers)
@example(_PUSHED_OUT, Chunker(max_chars=400, hard_max_chars=450, min_chars=0))
def test_a_list_stays_with_its_introducing_sentence_when_they_fit(shape, chunker):
    passages = run(shape, chunker)
    for listing in shape.lists:
        if listing["intro"] is None:
            continue
        intro_start, intro_end = listing["intro"]
        first_start, _ = listing["items"][0]
        if listing["items"][-1][1] - intro_start <= chunker.hard_max_chars:
            holder = next(p for p in passages if p.start <= first_start < p.end)
            assert holder.start <= intro_start and intro_end <= holder.end, \
                f"intro {shape.text[intro_start:intro_end]!r} is not with its first item"


@PROPERTY
@given(markdown(long_runs=True), chunkers)
def test_chunking_is_deterministic(shape, chunker):
    first = [p.to_dict() for p in run(shape, chunker)]
    again = [p.to_dict() for p in run(shape, chunker)]
    fresh = [p.to_dict() for p in run(shape, Chunker(chunker.max_chars, chunker.hard_max_chars, chunker.min_chars))]
    assert first == again == fresh


@PROPERTY
@given(markdown(), chunkers)
def test_passages_stay_within_the_hard_limit_unless_one_item_is_longer(shape, chunker):
    for passage in run(shape, chunker):
        if len(passage.quote) > chunker.hard_max_chars:
            # only a single atom (a sentence or an item) may be longer than the hard limit
            assert any(s <= passage.start and passage.end <= e for s, e in shape.items + shape.paragraphs), \
                f"passage of {len(passage.quote)} chars exceeds hard_max_chars={chunker.hard_max_chars}"


# ----------------------------------------------------------------------------- examples

IRCI = """# Research into rare cancers

## International Rare Cancers Initiative

The IRCI aim to develop more research into new treatments for people with rare cancers. They are focusing on certain types of cancer including:

- anal cancer that has come back or spread
- fibrolamellar hepatocellular cancer - a type of primary liver cancer
- melanoma of the eye
- penile cancer
- salivary gland cancer
- small bowel adenocarcinoma
- sarcoma of the female sex organs, such as sarcoma of the womb
- thymoma (cancer of the thymus gland)
- rare brain tumours

The IRCI design trials that involve several countries, including the UK. This means that more people will be available to enter the trials.
"""


@pytest.mark.parametrize("chunker", [Chunker(), Chunker(max_chars=300, hard_max_chars=700)])
def test_irci_list_stays_in_one_passage_with_its_intro(chunker):
    passages = chunker.run(make_document(IRCI, "cruk", "Research into rare cancers"))
    holders = [p for p in passages if "anal cancer that has come back" in p.quote]
    assert len(holders) == 1
    quote = holders[0].quote
    assert "They are focusing on certain types of cancer including:" in quote
    assert "rare brain tumours" in quote  # the ninth item
    assert holders[0].section == ["International Rare Cancers Initiative"]


def test_very_long_unpunctuated_paragraph_is_split_without_losing_characters():
    words = [f"word{i}" for i in range(1500)]
    text = "## Notes\n\n" + " ".join(words) + "\n"
    chunker = Chunker(max_chars=200, hard_max_chars=400, min_chars=50)
    passages = chunker.run(make_document(text))
    assert len(passages) > 5
    assert all(len(p.quote) <= chunker.hard_max_chars for p in passages)
    assert " ".join(p.quote for p in passages).split() == words
    assert all(p.quote == text[p.start:p.end] for p in passages)


def test_passage_ids_number_the_passages_of_a_document():
    text = "## One\n\nFirst part.\n\n## Two\n\nSecond part.\n\n## Three\n\nThird part.\n"
    passages = Chunker().run(make_document(text, doc_id="nci-penile-cancer"))
    assert [p.passage_id for p in passages] == ["nci-penile-cancer#0", "nci-penile-cancer#1", "nci-penile-cancer#2"]
    assert all(p.doc_id == "nci-penile-cancer" for p in passages)


def test_context_starts_with_title_and_section_but_the_quote_does_not():
    text = "# Penile Cancer\n\n## Stages of the disease\n\n### In situ\n\nAbnormal cells are found on the surface.\n"
    passage, = Chunker().run(make_document(text, "nci-penile-cancer", "Penile Cancer"))
    assert passage.quote == "Abnormal cells are found on the surface."
    assert passage.section == ["Stages of the disease", "In situ"]
    assert passage.context.startswith("Penile Cancer. Stages of the disease > In situ.")
    assert passage.context.endswith(passage.quote)
    assert "Penile" not in passage.quote and "Stages" not in passage.quote and "#" not in passage.quote


def test_text_before_any_heading_has_an_empty_section():
    passage, = Chunker().run(make_document("An introduction without a heading.\n"))
    assert passage.section == [] and passage.section_label == ""
    assert passage.context.startswith("Doc Title.")


def test_passages_grow_to_about_max_chars():
    sentence_ = "Surgery removes the tumour and some healthy tissue around it."  # 62 chars
    text = "## Treatment\n\n" + " ".join([sentence_] * 40) + "\n"
    chunker = Chunker(max_chars=300, hard_max_chars=600, min_chars=100)
    passages = chunker.run(make_document(text))
    assert len(passages) > 1
    assert all(len(p.quote) <= chunker.max_chars for p in passages[:-1])
    assert all(len(p.quote) > chunker.max_chars - 70 for p in passages[:-1])  # full, not one sentence each


def test_a_short_tail_is_folded_into_the_passage_before_it():
    text = "## Treatment\n\n" + " ".join(["Surgery removes the tumour and some tissue."] * 6) + " Done.\n"
    chunker = Chunker(max_chars=200, hard_max_chars=400, min_chars=50)
    passages = chunker.run(make_document(text))
    assert passages[-1].quote.endswith("Done.")
    assert len(passages[-1].quote) >= chunker.min_chars


@pytest.mark.parametrize("kwargs, message", [
    ({"max_chars": 50}, "max_chars must be at least 100, got 50"),
    ({"max_chars": 500, "hard_max_chars": 400}, "hard_max_chars (400) must be at least max_chars (500)"),
    ({"max_chars": 300, "min_chars": 300}, "min_chars must be between 0 and max_chars, got 300"),
    ({"min_chars": -1}, "min_chars must be between 0 and max_chars, got -1"),
])
def test_invalid_settings_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError) as error:
        Chunker(**kwargs)
    assert str(error.value) == message


def test_settings_are_recorded():
    data = Chunker(max_chars=500, hard_max_chars=1000, min_chars=100).to_dict()
    assert data["max_chars"] == 500 and data["hard_max_chars"] == 1000 and data["min_chars"] == 100
    assert Chunker().to_dict() == Chunker().to_dict() != Chunker(max_chars=500).to_dict()
