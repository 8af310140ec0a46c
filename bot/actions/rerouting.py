"""Where the embedded engine would send a message that Rasa's classifier put elsewhere, so a Rasa server
holds the conversation as the engine does: "any in the Netherlands?" after a trial search continues it;
a message naming a cancer, a personal question, or an aspect of the cancer discussed is a question."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot import aspects, resources
from bot.actions.common import slot, text_of
from bot.answers import about_a_cancer
from bot.safety.personal_questions import personal_question

ELLIPTICAL_WORDS = 8  # "and in Slovenia?", "we live over in the netherlands now": a message this short continues a search
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


def continues_search(text: str, previous: str | None, names_cancer: bool, has_country: bool) -> bool:
    """A short message with a country and no cancer, right after a search, is that search there."""
    return previous in SEARCHES and has_country and not names_cancer and len(text.split()) <= ELLIPTICAL_WORDS


def rerouted(tracker: Tracker) -> str | None:
    """The intent the engine would give this message, where it differs from a classifier's; else None."""
    loaded, text = resources.get(), text_of(tracker)
    names_cancer = bool(loaded.linker.run(text))
    previous = previous_task(tracker)
    if continues_search(text, previous, names_cancer, bool(loaded.entities.first(text).get("country"))):
        return previous
    conversation_cancer = slot(tracker, "cancer_type")
    if about_a_cancer(loaded, text, conversation_cancer) or personal_question(text) \
            or (conversation_cancer and aspects.recogniser().run(text)):
        return "ask_question"
    return None
