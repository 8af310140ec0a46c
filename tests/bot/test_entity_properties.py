"""Properties of the entity extractor (bot/entities.py) on arbitrary text, with hypothesis.

The extractor runs on every message before anything else, so on any text at all (any Unicode,
control characters, long repeats up to the message limit) it must not raise and must answer the same
way every time, also from a freshly built extractor. What it finds must be really there: each entity
lies inside the message, `text` is the message's own characters at `start:end`, those characters are a
whole phrase of the lookup tables (exactly, for an exact match, or within the allowed edits, for a typo),
and the value is that phrase's canonical value.

The extractor is the production one: every lookup table and synonym of bot/data/nlu.yml, and as known
words the vocabulary of the shipped documents.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings, strategies as st
from rapidfuzz.distance import Levenshtein

from bot.entities import ENTITIES, EntityExtractor, _key, _tokens
from bot.nlu_data import load_nlu
from index.lexical import words

DOCUMENTS = Path(__file__).resolve().parents[2] / "knowledge" / "documents"
MAX_CHARS = 1000  # messages are refused above this, so longer texts never reach the extractor
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)


def _known_words() -> set[str]:
    known: set[str] = set()
    for path in sorted(DOCUMENTS.glob("*.md")):
        known.update(words(path.read_text(encoding="utf-8")))
    return known


NLU = load_nlu()
KNOWN = _known_words()
EXTRACTOR = EntityExtractor(NLU, known_words=KNOWN)
FRESH = EntityExtractor(load_nlu(), known_words=set(KNOWN))  # built again from scratch
CANONICAL = {(entity, value) for entity, value in EXTRACTOR.phrases.values()}
PHRASES = sorted(EXTRACTOR.phrases)
WRITTEN = sorted({v for values in NLU.lookups.values() for v in values} | set(NLU.synonyms))  # as people write them

# Text that folding changes the length of, next to entities: accents, British spellings, dotted
# abbreviations, ligatures and the ellipsis character.
FILLERS = ["what is", "trials for", "in", "and", "the", "my", "tumour", "oesophageal", "haematology", "e.g.",
           "i.e.", "U.S.", "Dr.", "\u2026", "\ufb01nd", "caf\u00e9", "na\u00efve", "\u00bd", "?", "!", ",", "(", ")",
           "\n", "\t", "\u00a0", "\u200b", "\x00", "\U0001f600", "US", "us", "UK", "cancr", "sarcomma"]
SEPARATORS = st.sampled_from([" ", " ", "  ", "\n", ", ", ". ", "/", "-", "\u3000"])


@st.composite
def soup(draw) -> str:
    """Phrases of the lookup tables (as written, in some case) mixed with fillers."""
    parts = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            phrase = draw(st.sampled_from(WRITTEN))
            parts.append(draw(st.sampled_from([phrase, phrase.lower(), phrase.upper(), phrase.title()])))
        else:
            parts.append(draw(st.sampled_from(FILLERS)))
        parts.append(draw(SEPARATORS))
    return "".join(parts)[:MAX_CHARS]


TEXTS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="ascii"), max_size=300),
    soup(),
    st.builds(lambda unit, n: (unit * n)[:MAX_CHARS],
              st.sampled_from(["thymoma ", "a", "\u00e9", "U.S.", "e.g. ", "tumour ", "\x00", " ", "\ufb01", "UK us "]),
              st.integers(1, 1000)),
)


def check(text: str) -> None:
    found = EXTRACTOR.run(text)
    previous_end = 0
    for entity in found:
        assert entity.entity in ENTITIES
        assert (entity.entity, entity.value) in CANONICAL, entity
        assert 0 < entity.score <= 100
        assert previous_end <= entity.start < entity.end <= len(text), (entity, len(text))
        previous_end = entity.end
        assert text[entity.start:entity.end] == entity.text
        # the matched characters are a whole phrase: they start and end on a word character (or the
        # full stop of a dotted abbreviation, "U.S.") ...
        assert entity.text[0].isalnum() and (entity.text[-1].isalnum() or entity.text.endswith(".")), (text, entity)
        # the folded words of exactly those characters (folding the span alone could join or split
        # them differently at its edges, e.g. "ALBANI\u00bc")
        inside = [(word, (start, end)) for word, start, end in _tokens(text) if entity.start <= start and end <= entity.end]
        key = " ".join(word for word, _ in inside)
        if len({where for _, where in inside}) < len(inside):
            continue  # one character folded to several words ("\u00bc" -> "1 4"): the phrase is some of them
        if entity.score == 100:  # ... and are that phrase exactly (or its plural, or with a word split in two),
            assert EXTRACTOR.phrase(key) == (entity.entity, entity.value), (text, entity, key)
        else:  # ... or one of its spellings within the allowed edits
            targets = [k for k, v in EXTRACTOR.phrases.items() if v == (entity.entity, entity.value)]
            assert min(Levenshtein.distance(key, k) for k in targets) <= 2, (text, entity, key)


@SETTINGS
@given(TEXTS)
@example("e.g. thymoma in Germany")  # dotted abbreviations fold to fewer characters
@example("tumour trials in Germany")  # so do British spellings
@example("I have\u2026 thymoma")  # the ellipsis folds to three characters
@example("\ufb01nd thymoma in France")  # and a ligature to two
@example("cancer of the oesophagus")
def test_entities_are_really_in_the_message(text):
    check(text)


@SETTINGS
@given(TEXTS)
def test_never_raises_and_is_deterministic_also_across_a_fresh_extractor(text):
    first = EXTRACTOR.run(text)
    assert EXTRACTOR.run(text) == first
    assert FRESH.run(text) == first
    assert EXTRACTOR.first(text) == FRESH.first(text)
    assert EXTRACTOR.delexicalize(text) == FRESH.delexicalize(text)
    values: dict[str, str] = {}
    for entity in first:
        values.setdefault(entity.entity, entity.value)
    assert EXTRACTOR.first(text) == values
    if not first:
        assert EXTRACTOR.delexicalize(text) == text



@SETTINGS
@given(soup())
def test_plain_lower_case_ascii_text_round_trips(text):
    """Where folding keeps every offset (lower-case ASCII, no British spellings or dotted abbreviations),
    the positions index the message exactly."""
    plain = " ".join(w for w in words(text.lower()) if w.isascii())
    check(plain)
    for entity in EXTRACTOR.run(plain):
        assert EXTRACTOR.canonical(entity.entity, entity.text) == entity.value


def test_every_phrase_is_found_as_itself_in_any_case():
    """Each phrase of the tables, alone, is one exact match of its own value. (Its offsets are checked
    by the properties above: a few phrases are not fixed points of folding, e.g. "cancer of the
    oesophagus", the key of nlu.yml's "cancer of the ooesophagus".)"""
    for key, (entity, value) in EXTRACTOR.phrases.items():
        variants = [key.upper()] if key in EXTRACTOR.capitals_only else [key, key.upper(), key.title()]
        for variant in variants:
            found = EXTRACTOR.run(variant)
            assert [(e.entity, e.value, e.score) for e in found] == [(entity, value, 100.0)], variant


@pytest.mark.parametrize("text", ["", " ", "\x00" * 50, "\U0001f600" * 300, "a" * MAX_CHARS, "thymoma " * 125,
                                  "thymoa " * 142, "U.S." * 250, "\u0301" * MAX_CHARS, "\ud800 thymoma"])
def test_edge_texts(text):
    check(text)
    assert EXTRACTOR.run(text) == FRESH.run(text)
