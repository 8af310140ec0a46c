"""What a person says about who would take part in a trial: only what is said, never a guess."""
from __future__ import annotations

import pytest

from bot.trial_filters import TrialFilters, age_said, city_said, filters_said, phase_said, sex_said

CITIES = {"lyon": ["France"], "saint louis": ["United States"], "paris": ["France", "United States"],
          "nice": ["France"]}


def cities(name: str) -> list[str]:
    return CITIES.get(name.lower(), [])


@pytest.mark.parametrize("text, age", [
    ("trials near Lyon for a 45-year-old woman with uterine leiomyosarcoma", 45),
    ("im 45 and female", 45), ("I'm 45", 45), ("she is 70", 70), ("my son is 6", 6), ("aged 70", 70),
    ("a 45 year old man", 45), ("45 yo male", 45), ("45F", 45), ("60 m uk", 60),
    ("our baby is 6 months old", 0.5), ("he's just 12", 12),
])
def test_an_age_said_as_one_is_read(text, age):
    assert age_said(text) == pytest.approx(age)


@pytest.mark.parametrize("text", [
    "I had 6 cycles of chemo", "stage 4", "in 2 weeks", "she has had it for 3 years", "phase 2 trials please",
    "any trials for sarcoma?", "my tumour is 5 cm", "grade 3", "she had 2 operations",
])
def test_a_number_that_is_not_an_age_is_not_one(text):
    assert age_said(text, replying=True) is None


def test_a_bare_number_is_an_age_only_in_a_short_reply_to_the_question():
    assert age_said("45, female, France", replying=True) == 45
    assert age_said("45, female, France") is None
    assert age_said("we saw the doctor 45 minutes ago and she said", replying=True) is None


@pytest.mark.parametrize("text, sex", [
    ("for a 45-year-old woman", "FEMALE"), ("my husband has sarcoma", "MALE"), ("our little boy", "MALE"),
    ("my daughter is 9", "FEMALE"), ("45F", "FEMALE"), ("60 m", "MALE"), ("female", "FEMALE"),
    ("she is 70", "FEMALE"), ("he's 6", "MALE"), ("she has 2 children", None), ("he has it", None), ("my wife and I, for my husband", None), ("any trials?", None),
    ("Dr Smith said", None),
])
def test_a_sex_is_read_only_from_words_that_say_it(text, sex):
    assert sex_said(text) == sex


@pytest.mark.parametrize("text, phase", [
    ("phase 2 trials", "PHASE2"), ("any phase II studies?", "PHASE2"), ("phase three", "PHASE3"),
    ("early phase 1", "EARLY_PHASE1"), ("phase 1/2", "PHASE1"), ("trials for sarcoma", None),
])
def test_a_phase_is_read(text, phase):
    assert phase_said(text) == phase


def test_a_city_is_one_the_store_has_sites_in_named_after_near_or_in():
    assert city_said("trials near Lyon please", cities) == ("Lyon", ("France",))
    assert city_said("anything in saint louis?", cities) == ("Saint Louis", ("United States",))
    assert city_said("we live in Nice", cities, lambda w: w == "nice") == ("Nice", ("France",))
    assert city_said("that would be nice", cities, lambda w: w == "nice") is None  # no place word before it
    assert city_said("in nice weather", cities, lambda w: w == "nice") is None  # a lowercase common word
    assert city_said("Lyon", cities) is None
    assert city_said("trials in Atlantis", cities) is None


def test_what_is_said_now_is_kept_over_what_was_said_before():
    earlier = TrialFilters(age=45, sex="FEMALE", city="Lyon", city_countries=("France",))
    now = filters_said("she is 46 now, and phase 2", cities).merged_over(earlier)
    assert now == TrialFilters(age=46, sex="FEMALE", city="Lyon", city_countries=("France",), phase="PHASE2")


def test_a_lowercase_city_counts_unless_it_is_a_common_word_after_in():
    from bot.english import is_common_word

    assert city_said("any trials in paris", cities, is_common_word) == ("Paris", ("France", "United States"))
    assert city_said("what about in general", lambda c: ["Argentina"], is_common_word) is None
    assert city_said("something near nice please", cities, is_common_word) == ("Nice", ("France",))
    assert age_said("shes 45") == 45 and sex_said("shes 45") == "FEMALE"


def test_an_age_at_the_end_of_a_sentence_is_read_but_not_a_decimal_dose():
    assert age_said("my wife has sarcoma, shes 45. any studies?") == 45
    assert age_said("she is 4.5 mg") is None


def test_an_age_in_brackets_after_the_person_and_a_city_after_to():
    assert age_said("trials in the uk for my mum (72) with uterine sarcoma") == 72
    assert age_said("results from 2019 (12) studies") is None
    assert city_said("whats the nearest trial to lyon for sarcoma", cities) == ("Lyon", ("France",))
