"""Emergency red flags (bot/safety.py): labelled cases, negation, questions, and robustness."""

import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.safety import (
    DISCLAIMER,
    EMERGENCY_NUMBERS,
    RedFlag,
    emergency_message,
    find_red_flag,
    is_personal_treatment_question,
)

CASES_FILE = Path(__file__).parent / "data" / "red_flags.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_case_file_is_big_and_balanced():
    assert len(CASES) >= 80
    kinds = {c["category"] for c in CASES}
    assert kinds == {"medical", "self_harm", None}
    assert sum(c["category"] == "self_harm" for c in CASES) >= 15
    assert sum(c["category"] == "medical" for c in CASES) >= 40
    assert sum(c["kind"].startswith("negated") for c in CASES) >= 10
    assert sum(c["kind"] == "informational" for c in CASES) >= 10
    assert sum(c["kind"] in {"typo", "spelling"} for c in CASES) >= 8


@pytest.mark.parametrize("case", CASES, ids=[f"{i:03d}-{c['kind']}" for i, c in enumerate(CASES)])
def test_labelled_case(case):
    flag = find_red_flag(case["text"])
    got = flag.category if flag else None
    assert got == case["category"], f"{case['text']!r}: expected {case['category']}, got {flag}"
    if flag is not None:
        assert case["text"][flag.start:flag.end] == flag.phrase
        assert flag.phrase.strip()


def test_flag_points_at_the_symptom():
    text = "Sorry to bother you. My husband is coughing up blood and looks pale"
    flag = find_red_flag(text)
    assert flag == RedFlag("medical", "coughing up blood", text.index("coughing"), text.index(" and looks"))


def test_self_harm_wins_over_medical():
    flag = find_red_flag("I can't breathe and I want to kill myself")
    assert flag is not None and flag.category == "self_harm" and flag.phrase == "kill myself"


def test_negation_does_not_reach_a_later_clause():
    assert find_red_flag("No fever or bleeding, I just want to know how vulvar cancer is diagnosed") is None
    assert find_red_flag("No fever, but I'm bleeding heavily") is not None
    assert find_red_flag("I don't have chest pain but I can't breathe").phrase == "can't breathe"


def test_red_flag_is_frozen():
    flag = find_red_flag("chest pain")
    with pytest.raises(FrozenInstanceError):
        flag.category = "self_harm"  # type: ignore[misc]


@pytest.mark.parametrize("value", [None, 42, b"chest pain", ["chest pain"]])
def test_non_strings_are_not_flags(value):
    assert find_red_flag(value) is None  # type: ignore[arg-type]
    assert is_personal_treatment_question(value) is False  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_and_is_deterministic(text):
    first = find_red_flag(text)
    assert first == find_red_flag(text)
    if first is not None:
        assert first.category in {"medical", "self_harm"}
        assert 0 <= first.start < first.end <= len(text)
        assert text[first.start:first.end] == first.phrase
    assert is_personal_treatment_question(text) is is_personal_treatment_question(text)


SYMPTOMS = ["chest pain", "can't breathe", "coughing up blood", "want to kill myself", "having a seizure",
            "bleeding heavily", "temperature of 39 on chemo", "suicidal"]
FILLERS = ["", "hi ", "I ", "no ", "?", "!!! ", "my dad ", "\u0130", "\u00df", "\u2019", "\n", "38.5 ", "what is "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SYMPTOMS + FILLERS), max_size=12).map("".join))
def test_never_raises_on_symptom_soup(text):
    flag = find_red_flag(text)
    if flag is not None:
        assert text[flag.start:flag.end] == flag.phrase


def test_long_input_is_handled_quickly():
    text = ("my chest " * 5000) + "I can't breathe"
    assert find_red_flag(text).phrase == "can't breathe"


PERSONAL_TREATMENT = [
    ("should I stop my chemo?", True),
    ("Should I stop my chemo", True),
    ("can I skip my radiotherapy next week", True),
    ("is it safe for me to take ibuprofen with my treatment", True),
    ("is it ok to drink alcohol during chemo", True),
    ("which treatment should I choose", True),
    ("surgery or radiotherapy, which one should I go for?", True),
    ("should I not take my tablets today", True),
    ("I'm thinking of stopping my immunotherapy", True),
    ("should my mum have the operation?", True),
    ("do I really need chemo after the surgery", True),
    ("my oncologist offered imatinib, should I take it?", True),
    ("is radiotherapy better for me than surgery", True),
    ("can I eat grapefruit while on imatinib", True),
    ("how much morphine should I take", True),
    ("what would you recommend for me", True),
    ("how is penile cancer treated?", False),
    ("what are the side effects of chemotherapy", False),
    ("what is radiotherapy", False),
    ("can chemo cure GIST?", False),
    ("what treatments are there for thymoma", False),
    ("can I ask about radiotherapy", False),
    ("is there a trial for uveal melanoma", False),
    ("hello", False),
    ("", False),
]


@pytest.mark.parametrize("text,expected", PERSONAL_TREATMENT)
def test_personal_treatment_question(text, expected):
    assert is_personal_treatment_question(text) is expected


def test_personal_treatment_question_ignores_negation():
    for text in ["should I stop my chemo?", "can I skip my radiotherapy"]:
        negated = text.replace("I ", "I not ", 1)
        assert is_personal_treatment_question(negated) is True


def test_emergency_messages():
    assert EMERGENCY_NUMBERS == {"EU": "112", "UK": "999", "US": "911"}
    for category in ("medical", "self_harm"):
        message = emergency_message(category)
        for number in ("112", "999", "911"):
            assert number in message
        assert "now" in message.lower()
    self_harm = emergency_message("self_harm")
    assert "116 123" in self_harm and "Samaritans" in self_harm
    assert "988" in self_harm and "local crisis line" in self_harm
    assert "116 123" not in emergency_message("medical")


def test_disclaimer_is_one_line():
    assert "\n" not in DISCLAIMER
    for words in ("not medical advice", "care team", "112", "999", "911"):
        assert words in DISCLAIMER
