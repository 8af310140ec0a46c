"""English words, from pyspellchecker's word list: a word that is one is no typo of something else.

"hives" and "haematoma" are real words the sources don't use, not misspellings of "lives" or
"hepatoma"; "sarcomma" is no word, so it may be read as "sarcoma".
"""
from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def _words() -> Any:
    from spellchecker import SpellChecker

    return SpellChecker(distance=1)


@functools.lru_cache(maxsize=8192)
def is_english_word(word: str) -> bool:
    return bool(_words().known([word.lower()]))


COMMON_WORD_FREQUENCY = 5000  # "general" 68,126, "reading" 98,786, "bath" 25,326; "lyon" 74, "london" 1,088


@functools.lru_cache(maxsize=8192)
def is_common_word(word: str) -> bool:
    """A word people write often in English ("general", "reading", "nice"), so "in general" is no place,
    while "in lyon" and "in london" are."""
    return _words().word_frequency[word.lower()] >= COMMON_WORD_FREQUENCY
