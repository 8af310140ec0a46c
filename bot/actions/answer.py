"""Questions about rare cancers: an extractive, cited answer, an honest "I'm not sure", or "I don't have
information about X" for a cancer the sources don't cover."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import report, resources
from bot.actions.common import send, slot, text_of
from bot.answers import NOT_COVERED, NOT_SURE, answer_question
from bot.actions.rerouting import SEARCHES, rerouted
from bot.safety.personal_questions import personal_question


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        routed = rerouted(tracker)
        if routed in SEARCHES:  # "is there one in the Netherlands?" right after a trial search
            from bot.actions.finders import ActionFindOrganisation, ActionFindTrial
            return (ActionFindTrial if routed == "find_trial" else ActionFindOrganisation)().run(dispatcher, tracker, domain)
        loaded = resources.get()
        question = text_of(tracker)
        conversation_cancer = slot(tracker, "cancer_type")
        answer = answer_question(loaded, question, conversation_cancer,
                                 personal=personal_question(question))
        if answer.status == NOT_SURE:
            report.record("low_confidence", question, confidence=answer.confidence)
        elif answer.status == NOT_COVERED and not answer.off_topic:
            report.record("not_covered", question, cancer_type=answer.cancer_type)
        send(dispatcher, answer.messages, "out_of_scope" if answer.off_topic else "ask_question")
        return [SlotSet("cancer_type", answer.cancer_type)] if answer.cancer_type else []
