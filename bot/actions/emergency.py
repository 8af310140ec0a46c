"""Emergencies: checked before anything else; the reply points to emergency help, never to a document."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import send, text_of
from bot.messages import Message
from bot.safety import emergency_message, find_red_flag


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        flag = find_red_flag(text_of(tracker))
        send(dispatcher, [Message(emergency_message(flag.category if flag else "medical"))], "emergency")
        return [SlotSet("requested_slot", None), SlotSet("active_form", None)]
