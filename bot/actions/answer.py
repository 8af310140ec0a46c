"""Questions about rare cancers: an extractive, cited answer, or an honest "I'm not sure"."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import report, resources
from bot.actions.common import entity, send, slot, text_of
from bot.answers import answer_question
from bot.safety import is_personal_treatment_question


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        loaded = resources.get()
        question = text_of(tracker)
        mentioned = entity(tracker, "cancer_type") or loaded.entities.first(question).get("cancer_type")
        cancer_type = mentioned or slot(tracker, "cancer_type")
        messages, confidence = answer_question(loaded, question, cancer_type, mentions_cancer=bool(mentioned),
                                               personal=is_personal_treatment_question(question))
        if confidence < loaded.answer_threshold:
            report.record("low_confidence", question, confidence=confidence)
        send(dispatcher, messages, "ask_question")
        return [SlotSet("cancer_type", cancer_type)] if mentioned else []
