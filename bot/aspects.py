"""What a question asks about a cancer (its aspect: treatment, symptoms, outlook...) and the sections that
answer it (issue 13).

The words patients use for each aspect, and the headings that answer it, are data: bot/data/aspects.yml.
`AspectRecogniser.run` finds the aspect of a message, or None when it has no clear one (then nothing
changes). `prefer` re-orders search results within one cancer's pages so that passages from sections on
that aspect come first; `Aspect.cues` are the words of the sentences that address it.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Protocol, Sequence, TypeVar

import yaml

from bot.english import is_english_word
from bot.scope import key_terms
from index.lexical import fold

ASPECTS_FILE = Path(__file__).parent / "data" / "aspects.yml"
TYPO_MIN_LENGTH = 6  # a pattern word this long also matches a misspelling one edit away
# A passage from a section on the aspect goes first only when it matches the question at least this well
# (retrieval confidence); below it, the search's order stands.
FLOOR = 0.2
OVERVIEW_SUBHEADINGS = ("key points",)  # a section's summary, the answer to a question on the whole aspect
_SENTENCE_END = re.compile(r"[.?!;\n]+")
_DENIAL = re.compile(r"\s*(?:no|not|without|never)\b", re.IGNORECASE)

Pattern = tuple[str, ...]  # folded words; "treat*" matches a word it begins, "*" any one word


class Ranked(Protocol):
    doc_id: str
    section: str
    confidence: float


R = TypeVar("R", bound=Ranked)


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def _patterns(phrases: Sequence[str] | None) -> tuple[Pattern, ...]:
    return tuple(tuple(words) for phrase in phrases or () if (words := re.findall(r"[a-z0-9*]+", fold(phrase))))


def _one_edit(a: str, b: str) -> bool:
    """Whether b is a one letter substitution, insertion, deletion or swap of neighbours away from a."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(short, long_)) if x != y), len(short))
    return short[i:] == long_[i + 1:]


@functools.lru_cache(maxsize=65536)
def word_matches(pattern: str, word: str) -> bool:
    if pattern == "*" or pattern == word:
        return True
    stem = pattern.rstrip("*")
    if stem != pattern and word.startswith(stem):
        return True
    if len(stem) < TYPO_MIN_LENGTH or word[:1] != stem[:1]:
        return False
    # "sympotms", "tretment"; "generic" is no typo of "genetic"
    heads = [word[:n] for n in (len(stem) - 1, len(stem), len(stem) + 1)] if stem != pattern else [word]
    return any(_one_edit(stem, head) for head in heads) and not is_english_word(word)


class Patterns:
    """Phrases of folded words, indexed by the first letter of their first word: a word matches a pattern
    word (exactly, by its stem or by one typo) only when they begin alike, bar "*", so each position of a
    message is tried against a few patterns, not all."""

    def __init__(self, patterns: Sequence[Pattern] = ()):
        self.patterns = tuple(patterns)
        self._any = tuple(p for p in self.patterns if p[0].startswith("*"))
        by_letter: dict[str, list[Pattern]] = {}
        for pattern in self.patterns:
            if not pattern[0].startswith("*"):
                by_letter.setdefault(pattern[0][0], []).append(pattern)
        self._by_letter = {letter: tuple(group) for letter, group in by_letter.items()}

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def find(self, words: Sequence[str]) -> set[int]:
        """The positions of `words` that some pattern covers."""
        covered: set[int] = set()
        for start, word in enumerate(words):
            for pattern in self._any + self._by_letter.get(word[:1], ()):
                end = start + len(pattern)
                if end <= len(words) and all(word_matches(p, w) for p, w in zip(pattern, words[start:end])):
                    covered.update(range(start, end))
        return covered


@dataclass(frozen=True)
class Aspect:
    name: str
    phrases: Patterns
    headings: tuple[str, ...]  # words of a top heading that answers it ("treatment")
    subheadings: tuple[str, ...] = ()  # words of a subheading that does
    cues: tuple[str, ...] = ()  # words of the sentences that address it
    exceptions: Patterns = Patterns()  # phrases that use its words for something else ("diagnosed with")
    alone: bool = False  # holds only when the message asks nothing else
    topic: str = ""  # what it is, as a reply names it: "how it is treated"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Aspect":
        lower = lambda key: tuple(fold(w) for w in data.get(key) or ())  # noqa: E731
        return cls(str(data["name"]), Patterns(_patterns(data.get("phrases"))), lower("headings"),
                   lower("subheadings"), lower("cues"), Patterns(_patterns(data.get("except"))),
                   bool(data.get("alone", False)), str(data.get("topic") or data["name"]))

    def in_words(self, words: Sequence[str]) -> set[int]:
        """The positions of the words that ask about this aspect (none: it isn't asked about)."""
        masked = list(words)
        for position in self.exceptions.find(words):
            masked[position] = ""
        return self.phrases.find(masked)

    def answered_by(self, section: str) -> bool:
        """Does a section ("Top heading > subheading > ...") answer this aspect?"""
        heading, _, subheadings = fold(section).partition(" > ")
        return any(w in heading for w in self.headings) or any(w in subheadings for w in self.subheadings)


@dataclass(frozen=True)
class Recognised:
    aspect: Aspect
    bare: bool  # the message asks nothing but the aspect ("how is it treated?", "prognosis")


class AspectRecogniser:
    def __init__(self, aspects: Sequence[Aspect], filler: Sequence[str] = ()):
        if not aspects:
            raise ValueError("no aspects")
        self.aspects = tuple(aspects)
        self.filler = frozenset(fold(w) for w in filler)
        # A turn asks several times (routing, the answer, the sentences): once per text is enough.
        self.run = functools.lru_cache(maxsize=1024)(self._run)  # type: ignore[method-assign]

    @classmethod
    def load(cls, path: Path = ASPECTS_FILE) -> "AspectRecogniser":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls([Aspect.from_dict(a) for a in data.get("aspects") or []], data.get("filler") or ())

    def get(self, name: str) -> Aspect:
        return next(a for a in self.aspects if a.name == name)

    def _run(self, text: str) -> Recognised | None:
        """The aspect a message asks about, from its last sentence that names one; None if none does.
        Cancer names are best blanked out of `text` first: they are not what is asked about."""
        for sentence in reversed(_SENTENCE_END.split(text)):
            # "no fever or bleeding, I just want to know how it is diagnosed": what is denied isn't asked
            words = words_of(",".join(c for c in sentence.split(",") if not _DENIAL.match(c)))
            found = [(aspect, covered) for aspect in self.aspects if (covered := aspect.in_words(words))]
            if not found:
                continue
            asked = set().union(*(covered for _, covered in found))
            rest = " ".join(w for i, w in enumerate(words) if i not in asked)
            bare = not [t for t in key_terms(rest) if t not in self.filler]
            chosen = next((aspect for aspect, _ in found if bare or not aspect.alone), None)
            return Recognised(chosen, bare) if chosen else None
        return None


def is_overview(section: str) -> bool:
    """A section's top or its key points: the passage that sums up the whole section."""
    _, _, subheadings = fold(section).partition(" > ")
    return not subheadings or subheadings.strip() in OVERVIEW_SUBHEADINGS


def prefer(results: Sequence[R], recognised: Recognised | None, floor: float = FLOOR,
           general: Collection[str] = ()) -> list[R]:
    """The results, those from sections on the aspect first (and of those, when the message asks nothing
    else, a section's summary first); otherwise in the search's order. With no aspect, or no section on it
    that matches at least `floor`, the order is unchanged. Sections of the `general` pages (about no
    cancer in particular: "RARECARENet Treatment Centres") are not the cancer's, and never go first."""
    if recognised is None:
        return list(results)
    aspect = recognised.aspect

    def tier(result: R) -> int:
        if result.confidence < floor or result.doc_id in general or not aspect.answered_by(result.section):
            return 2
        return 0 if recognised.bare and is_overview(result.section) else 1

    return sorted(results, key=tier)  # stable: the search's order within a tier


@functools.lru_cache(maxsize=1)
def recogniser() -> AspectRecogniser:
    """The recogniser of the shipped patterns, loaded once."""
    return AspectRecogniser.load()
