"""What every action shares: reading the tracker, and sending messages with their custom payload."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.messages import Message


def text_of(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def intent_of(tracker: Tracker, default: str) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or default


def slot(tracker: Tracker, name: str) -> Any:
    return tracker.get_slot(name)


def entity(tracker: Tracker, name: str) -> str | None:
    values = [e.get("value") for e in (tracker.latest_message or {}).get("entities", []) if e.get("entity") == name]
    return values[0] if values else None


def send(dispatcher: CollectingDispatcher, messages: list[Message], intent: str) -> None:
    """Each message goes out with {intent, citations, trials, organisations} as its custom payload."""
    for message in messages:
        dispatcher.utter_message(text=message.text, buttons=message.buttons or None,
                                 json_message=message.custom_payload(intent))
