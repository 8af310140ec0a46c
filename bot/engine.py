"""The embedded dialogue engine: the default, no Rasa server needed.

One turn: red flags first; then intent and entities; entities fill slots as Rasa's slot mappings would;
a small policy mirroring `bot/data/rules.yml` picks the action; the same Rasa SDK action classes a Rasa
server would call run in-process on a `Tracker` built from the stored state.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import ACTIONS
from bot.actions.rerouting import continues_search, details_said
from bot.finders import ANY_CANCER
from bot.messages import Message
from bot import resources as bot_resources
from bot.resources import Resources
from bot.answers import about_a_cancer, is_off_topic
from bot.safety import find_red_flag
from bot.safety.personal_questions import personal_question
from bot import aspects
from bot.store import SLOTS, ConversationStore

INTENT_ACTIONS = {
    "greet": "action_greet", "goodbye": "action_goodbye", "thanks": "action_thanks",
    "ask_question": "action_answer_question", "find_trial": "action_find_trial",
    "find_organisation": "action_find_organisation", "emergency": "action_emergency",
    "out_of_scope": "action_out_of_scope", "human_handoff": "action_human_handoff",
    "bot_capabilities": "action_bot_capabilities", "feedback": "action_feedback",
}
FORM_INTENTS = {"trial_form": "find_trial", "organisation_form": "find_organisation"}
HISTORY_TURNS = 50
EMERGENCY_SURE = 0.6  # below this, the classifier's "emergency" yields to a question the message asks
_PAYLOAD = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})?$", re.S)  # Rasa button payloads: /intent{"slot": "value"}


def parse_payload(text: str) -> tuple[str, dict[str, str]] | None:
    """A quick-reply payload's intent and entities, or None for ordinary text (and malformed payloads)."""
    match = _PAYLOAD.match(text)
    if not match:
        return None
    try:
        entities = json.loads(match.group("entities") or "{}")
    except ValueError:
        return None
    if not isinstance(entities, dict):
        return None
    return match.group("intent"), {k: str(v) for k, v in entities.items() if k in ("cancer_type", "country") and v}


class InvalidMessage(ValueError):
    pass


class Engine:
    def __init__(self, resources: Resources, store: ConversationStore, max_chars: int = 1000):
        if max_chars < 1:
            raise ValueError(f"max_chars must be at least 1, got {max_chars}")
        self.resources = resources
        self.store = store
        self.max_chars = max_chars

    def route(self, text: str, slots: dict[str, Any], entities: dict[str, str],
              previous: str | None = None) -> tuple[str, float]:
        """The intent this turn is handled as, and the classifier's confidence. `previous`: the last
        turn's intent, so "what about Bulgaria?" continues an organisation search."""
        if find_red_flag(text):
            return "emergency", 1.0
        payload = parse_payload(text)
        if payload is not None:
            intent = payload[0]
            form = slots.get("active_form")
            if form in FORM_INTENTS and intent in ("inform", "deny", FORM_INTENTS[form]):
                if intent == "deny":  # "not sure / any rare cancer"
                    entities["cancer_type"] = ANY_CANCER
                return FORM_INTENTS[form], 1.0
            return (intent if intent in INTENT_ACTIONS else "out_of_scope"), 1.0
        prediction = self.resources.intents.run(text)
        intent, confidence = prediction.name, prediction.confidence
        if intent == "emergency" and confidence < EMERGENCY_SURE and aspects.recogniser().run(text):
            # "what could of caused it, i had chemo years ago": a question that only reads a little like an
            # emergency (the red flags above catch the real ones by their words)
            intent = "ask_question"
        form = slots.get("active_form")
        answers_form = "cancer_type" in entities or (form == "organisation_form" and "country" in entities)
        if form in FORM_INTENTS and (answers_form or intent in (None, "inform")):
            return FORM_INTENTS[form], confidence
        names_cancer = bool(entities.get("cancer_type") or self.resources.linker.run(text))
        if continues_search(text, previous, names_cancer, "country" in entities,
                            previous == "find_trial" and details_said(self.resources, text)) \
                and intent not in ("emergency", "human_handoff", "goodbye"):
            return previous, confidence  # "any in the UK?" after a trial search: the same search there
        if personal_question(text) and intent not in ("emergency", "human_handoff", "goodbye", "find_trial",
                                                       "find_organisation"):
            return "ask_question", confidence  # "will he lose his leg?": a kind deferral, never out of scope
        if slots.get("cancer_type") and intent in ("bot_capabilities", "out_of_scope", None) \
                and aspects.recogniser().run(text):
            return "ask_question", confidence  # "diagnosis?" in a conversation about a cancer: a question about it
        about_cancer = names_cancer or about_a_cancer(self.resources, text, slots.get("cancer_type"))
        # "who is at risk for penile cancer?" is a question, even if it reads like "which cancers do you cover?"
        if intent in INTENT_ACTIONS and not ((intent == "out_of_scope" and about_cancer)
                                             or (intent == "bot_capabilities" and names_cancer)):
            return intent, confidence
        if about_cancer:  # a cancer, known or not, or the one discussed: answered or honestly declined
            return "ask_question", confidence
        if intent != "out_of_scope" and not is_off_topic(self.resources, text):
            return "ask_question", confidence  # unsure, or an answer with no form to fill, that the sources speak to
        return "out_of_scope", confidence

    def handle(self, session_id: str, text: str) -> dict[str, Any]:
        text = (text or "").strip()
        if not text:
            raise InvalidMessage("The message is empty. Type a question.")
        if len(text) > self.max_chars:
            raise InvalidMessage(f"The message is too long ({len(text)} characters). Keep it under {self.max_chars}.")
        state = self.store.load(session_id)
        slots = state["slots"]
        payload = parse_payload(text)
        if not payload:  # both embeddings a turn needs, in one model run
            resources = self.resources
            resources.searcher.embedder.prefetch([resources.intents.query_text(text), resources.searcher.query_text(text)])
        found = [] if payload else self.resources.entities.run(text)
        entities = self._known_values(payload[1]) if payload else {}
        for entity in found:
            entities.setdefault(entity.entity, entity.value)
        previous = (state.get("history") or [{}])[-1].get("intent")
        intent, confidence = self.route(text, slots, entities, previous)
        if intent != FORM_INTENTS.get(slots.get("active_form") or ""):
            slots.update(active_form=None, requested_slot=None)  # a new topic leaves the form
        # slot mappings: from_entity, as in bot/domain.yml (a question's cancer is the answer action's to set)
        slots.update({k: v for k, v in entities.items() if not (k == "cancer_type" and intent == "ask_question")})
        messages, replied_as = self._run(INTENT_ACTIONS[intent], session_id, text, intent, confidence, found, slots,
                                         previous)
        intent = replied_as or intent  # the answer action may find a question out of scope
        history = state.setdefault("history", [])
        history.append({"time": int(time.time()), "user": text, "intent": intent,
                        "messages": [m.to_dict() for m in messages]})
        del history[:-HISTORY_TURNS]
        self.store.save(session_id, state)
        answer_status = next((m.answer_status for m in messages if m.answer_status), None)
        cancer_type = next((m.cancer_type for m in messages if m.cancer_type), None)
        return {"session_id": session_id, "intent": intent, "confidence": confidence, "answer_status": answer_status,
                "cancer_type": cancer_type, "messages": [m.to_dict() for m in messages]}

    def _known_values(self, entities: dict[str, str]) -> dict[str, str]:
        """A payload's entity values that name a known cancer type or country, as canonical values.

        Anyone can send a payload, so a value becomes a slot (and is repeated in replies) only if the
        entity lookups know it.
        """
        known = {}
        for name, value in entities.items():
            canonical = self.resources.entities.canonical(name, value)
            if canonical is not None:
                known[name] = canonical
        return known

    def _run(self, action_name: str, session_id: str, text: str, intent: str, confidence: float,
             found: list[Any], slots: dict[str, Any], previous: str | None = None) -> tuple[list[Message], str | None]:
        """The messages an action sends, and the intent its first message says it answered."""
        latest = {"text": text, "intent": {"name": intent, "confidence": confidence},
                  "entities": [e.to_dict() for e in found]}
        form = slots.get("active_form")
        # the last reply's task, as a Rasa tracker's events carry it (bot/actions/rerouting.py previous_task)
        events = [{"event": "bot", "data": {"custom": {"intent": previous}}}] if previous else []
        events.append({"event": "user", "text": text})
        tracker = Tracker(session_id, dict(slots), latest, events, False, None, {"name": form} if form else {},
                          "action_listen")
        dispatcher = CollectingDispatcher()
        with bot_resources.using(self.resources):
            events = ACTIONS[action_name]().run(dispatcher, tracker, {}) or []
        for event in events:
            if event.get("event") == "slot" and event.get("name") in SLOTS:
                slots[event["name"]] = event.get("value")
        replied_as = ((dispatcher.messages[0].get("custom") or {}).get("intent") if dispatcher.messages else None)
        return [Message.from_dispatched(sent) for sent in dispatcher.messages], replied_as
