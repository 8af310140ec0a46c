"""Where the embedded engine would send a message that Rasa's classifier put elsewhere, so a Rasa server
holds the conversation as the engine does: "any in the Netherlands?" after a trial search continues it;
a message naming a cancer, a personal question, or an aspect of the cancer discussed is a question."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot import aspects, resources
from bot.actions.common import slot, text_of
from bot.answers import about_a_cancer
from bot.english import is_common_word
from bot.trial_filters import TrialFilters, filters_said
from bot.safety.personal_questions import personal_question

ELLIPTICAL_WORDS = 8  # "and in Slovenia?", "we live over in the netherlands now": a message this short continues a search
DETAILS_WORDS = 12  # "I'm a 60 year old man living near Lyon": a reply to the trial finder's question
SEARCHES = ("find_trial", "find_organisation")


def previous_task(tracker: Tracker) -> str | None:
    """The intent of the assistant's reply to the message before this one (its custom payload)."""
    events: list[dict[str, Any]] = list(tracker.events or [])
    users = 0
    for event in reversed(events):
        if event.get("event") == "user":
            users += 1
            if users > 1:
                return None
        elif event.get("event") == "bot" and users == 1:
            custom = (event.get("data") or {}).get("custom") or {}
            if custom.get("intent"):
                return str(custom["intent"])
    return None


def without_cancers(loaded: Any, text: str) -> str:
    """The message with the cancers it names blanked (offsets kept): "trials in Ewing sarcoma" names no town."""
    for mention in loaded.linker.run(text):
        text = text[:mention.start] + " " * (mention.end - mention.start) + text[mention.end:]
    return text


def details_said(loaded: Any, text: str) -> bool:
    """Does the message say who would take part in a trial, or what trial ("45, woman", "near Lyon", "phase 2")?"""
    store = loaded.trial_store
    said = filters_said(without_cancers(loaded, text), store.city_countries if store else (lambda city: []),
                        replying=True, is_common_word=is_common_word)
    return said != TrialFilters() and not aspects.recogniser().run(text)  # "is it treated differently at 45?" asks


def continues_search(text: str, previous: str | None, names_cancer: bool, has_country: bool,
                     has_details: bool = False) -> bool:
    """A short message with a country and no cancer, right after a search, is that search there; one that
    says who would take part ("she's 45", "45, female, France"), right after a trial search, narrows it."""
    if names_cancer or previous not in SEARCHES:
        return False
    words = len(text.split())
    return (has_country and words <= ELLIPTICAL_WORDS) or \
        (previous == "find_trial" and has_details and words <= DETAILS_WORDS)


def rerouted(tracker: Tracker) -> str | None:
    """The intent the engine would give this message, where it differs from a classifier's; else None."""
    loaded, text = resources.get(), text_of(tracker)
    names_cancer = bool(loaded.linker.run(text))
    previous = previous_task(tracker)
    if continues_search(text, previous, names_cancer, bool(loaded.entities.first(text).get("country")),
                        previous == "find_trial" and details_said(loaded, text)):
        return previous
    conversation_cancer = slot(tracker, "cancer_type")
    if about_a_cancer(loaded, text, conversation_cancer) or personal_question(text) \
            or (conversation_cancer and aspects.recogniser().run(text)):
        return "ask_question"
    return None
