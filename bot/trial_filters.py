"""What a person says about who would take part in a trial, and what they want of one: age, sex, city,
phase, recruiting now ("trials near Lyon for a 45-year-old woman", "phase 2 ones", "my son is 6").

Only what is said counts: a pronoun, a name or a cancer never gives a sex, and a number gives an age
only when it is said to be one ("45 years old", "aged 45", "I'm 45"), or is the reply to the
assistant's question for it ("45, female, France"). Cities are the trial store's own site cities,
recognised after "near", "in", "around"...
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

MAX_AGE = 120
FEMALE_WORDS = frozenset("""female females woman women girl girls lady ladies wife mother mum mom mummy mommy
    daughter daughters sister sisters grandmother grandma granny nan aunt auntie niece girlfriend fiancee""".split())
MALE_WORDS = frozenset("""male males man men boy boys gentleman husband father dad daddy son sons brother brothers
    grandfather grandpa grandad granddad uncle nephew boyfriend fiance""".split())
# Words that only say who would take part or what trial ("a 45 year old woman", "phase 2", "near"):
# a trial request made of them asks for the listing, not for a passage (bot/finders.py)
PERSON_WORDS = FEMALE_WORDS | MALE_WORDS | frozenset("""year years old aged age months yo phase early late near
    nearby close city live lives living based wife husband son daughter""".split())
_NUMBER = r"(\d{1,3}(?:\.\d)?)"
_UNIT = r"(years?|yrs?|y/?o|y\.o\.?|months?|mths?|weeks?)"
_AGE_PATTERNS = (
    re.compile(rf"\b{_NUMBER}\s*-?\s*{_UNIT}(?:\s*-?\s*old|\s+of\s+age)(?![a-z])", re.I),
    re.compile(rf"\b{_NUMBER}\s*(yo|y/o|y\.o\.?)(?![a-z])", re.I),
    re.compile(rf"\b(?:aged?|age of|ages?)\s*:?\s*{_NUMBER}(?!\s*(?:%|mg|cm|mm|kg|lbs?|times|cycles?)\b)", re.I),
    re.compile(rf"\b(?:i am|i'm|i\u2019m|im|he is|he's|hes|she is|she's|shes|they are|they're|is now|turned|turning)\s+(?:only\s+|just\s+)?"
               rf"{_NUMBER}(?!\d|\.\d|\s*(?:%|mg|cm|mm|kg|lbs?|times|cycles?|weeks? (?:ago|pregnant)|days?|hours?|minutes?)\b)", re.I),
    re.compile(rf"\b(?:i|me|myself|son|daughter|boy|girl|child|kid|baby|husband|wife|partner|mum|mom|dad|father|mother|"
               rf"brother|sister|he|she)\s*\(\s*(?:aged?\s*)?{_NUMBER}\s*\)", re.I),  # "my mum (72)"
    re.compile(rf"\b(?:son|daughter|boy|girl|child|kid|baby|husband|wife|partner|mum|mom|dad|father|mother|brother|sister)"
               rf"(?:'s|\u2019s| is)\s+(?:only\s+|just\s+)?{_NUMBER}(?!\d|\.\d|\s*(?:%|mg|cm|mm|kg)\b)", re.I),
)
_SHORT_SEX = re.compile(r"\b(\d{1,3})\s*(?:yo\s*)?([fm])\b", re.I)  # "45F", "45 m"
_PRONOUN_AGE = re.compile(r"\b(she|he)(?:\s+is|'s|\u2019s|s)\s+(?:only\s+|just\s+|now\s+)?\d{1,3}\b", re.I)
BARE_AGE_WORDS = 6  # "45, female, France": a number alone is an age only in a reply this short
_NEXT_WORD = re.compile(r"\s+([a-z]+)", re.I)  # the word right after a number ("2 operations"), not after a comma
_AFTER_AN_AGE = FEMALE_WORDS | MALE_WORDS | {"years", "year", "yrs", "y", "and", "in", "from", "living", "live",
                                             "lives", "near", "now", "next", "this", "so"}
_UNIT_AFTER = re.compile(r"\d\s*(?:%|mg|cm|mm|kg|lbs?|times|cycles?|rounds?|weeks?|days?|months?|hours?|doses?|st|nd|rd|th)\b", re.I)
_BARE_NUMBER = re.compile(r"(?<![\w.])(?<!stage )(?<!grade )(?<!type )(?<!level )(?<!step )(?<!no\. )(?<!#)(\d{1,3})(?![\w.%])", re.I)
_PHASE = re.compile(r"\b(early\s+)?phase\s*-?\s*(1|2|3|4|iv|iii|ii|i|one|two|three|four)\b(?:\s*(?:/|or|and)\s*(?:phase\s*)?(?:1|2|3|4|iii|ii|i))?", re.I)
_PHASE_NUMBER = {"1": 1, "i": 1, "one": 1, "2": 2, "ii": 2, "two": 2, "3": 3, "iii": 3, "three": 3, "4": 4, "iv": 4,
                 "four": 4}
_PLACE_CUE = re.compile(r"\b(near|nearby|in|around|close to|at|from|by|to|within reach of|outside)\s+(?:the\s+)?"
                        r"([^\W\d_][\w'\u2019-]*(?:[ -][^\W\d_][\w'\u2019-]*){0,2})", re.I)
_WEAK_CUES = {"in", "at", "from", "by", "to"}
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class TrialFilters:
    """Filters for a trial search; None means not said."""

    age: float | None = None
    sex: str | None = None  # "FEMALE" or "MALE"
    city: str | None = None
    city_countries: tuple[str, ...] = ()  # the countries that city is in, in the store
    phase: str | None = None  # "PHASE2", "EARLY_PHASE1"...

    def merged_over(self, earlier: "TrialFilters") -> "TrialFilters":
        """These filters, with what is not said here taken from `earlier` (said before in the conversation)."""
        return TrialFilters(
            age=self.age if self.age is not None else earlier.age, sex=self.sex or earlier.sex,
            city=self.city or earlier.city, city_countries=self.city_countries if self.city else earlier.city_countries,
            phase=self.phase or earlier.phase)


def age_said(text: str, replying: bool = False) -> float | None:
    """The age the message gives, in years; with `replying` (an answer to "how old...?"), a bare number too."""
    for pattern in _AGE_PATTERNS:
        match = pattern.search(text)
        if match:
            value = float(match.group(1))
            unit = (match.group(2) if match.lastindex and match.lastindex >= 2 else "") or "years"
            unit = unit.lower()
            value = value / 12 if unit.startswith("m") else value / 52 if unit.startswith("w") else value
            return round(value, 2) if 0 <= value <= MAX_AGE else None
    short = _SHORT_SEX.search(text)
    if short:
        return float(short.group(1)) if 0 < int(short.group(1)) <= MAX_AGE else None
    rest = _PHASE.sub(" ", text)
    if replying and len(rest.split()) <= BARE_AGE_WORDS and not _UNIT_AFTER.search(rest):
        numbers = list(_BARE_NUMBER.finditer(rest))
        after = _NEXT_WORD.match(rest, numbers[0].end()) if len(numbers) == 1 else None
        if len(numbers) == 1 and 0 < int(numbers[0].group(1)) <= MAX_AGE and \
                (after is None or after.group(1).lower() in _AFTER_AN_AGE):
            return float(numbers[0].group(1))
    return None


def sex_said(text: str) -> str | None:
    """"FEMALE" or "MALE" when the message says only one of them; None when it says neither, or both."""
    words = set(_WORD.findall(text.lower()))
    female, male = bool(words & FEMALE_WORDS), bool(words & MALE_WORDS)
    short = {m.group(2).lower() for m in _SHORT_SEX.finditer(text)}
    pronouns = {m.group(1).lower() for m in _PRONOUN_AGE.finditer(text)}  # "she is 50": said of the person
    female, male = female or "f" in short or "she" in pronouns, male or "m" in short or "he" in pronouns
    if female != male:
        return "FEMALE" if female else "MALE"
    return None


def phase_said(text: str) -> str | None:
    match = _PHASE.search(text)
    if not match:
        return None
    number = _PHASE_NUMBER[match.group(2).lower()]
    return "EARLY_PHASE1" if match.group(1) and number == 1 else f"PHASE{number}"


def city_said(text: str, city_countries: Callable[[str], list[str]],
              is_common_word: Callable[[str], bool] = lambda word: False) -> tuple[str, tuple[str, ...]] | None:
    """A city the store has sites in, named after "near", "in", "around"..., with the countries it is in.
    The longest name wins ("near Saint Louis" over "Saint"); a lowercase common word ("in general") never
    counts."""
    for match in _PLACE_CUE.finditer(text):
        weak = match.group(1).lower() in _WEAK_CUES  # "in general", "at home": "near" is always about a place
        words = re.split(r"[ -]", match.group(2))
        for size in range(len(words), 0, -1):
            name = " ".join(words[:size]).strip("'\u2019")
            if size == 1 and weak and name.islower() and is_common_word(name):
                continue
            countries = city_countries(name)
            if countries:
                return (name.title() if name.islower() else name), tuple(countries)  # "lyon" reads "Lyon"
    return None


def filters_said(text: str, city_countries: Callable[[str], list[str]], replying: bool = False,
                 is_common_word: Callable[[str], bool] = lambda word: False) -> TrialFilters:
    city = city_said(text, city_countries, is_common_word)
    return TrialFilters(age=age_said(text, replying), sex=sex_said(text), city=city[0] if city else None,
                        city_countries=city[1] if city else (), phase=phase_said(text))
