"""Small talk and routing replies: greet, goodbye, thanks, capabilities, hand-off, feedback, out of scope."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import report, resources, templates
from bot.actions.answer import ActionAnswerQuestion
from bot.actions.common import send, text_of
from bot.answers import listing
from bot.messages import Message, button
from bot.actions.rerouting import rerouted

SUGGESTIONS = [button("Ask a question about a rare cancer", "What is a rare cancer?"),
               button("Find a clinical trial", "Find a clinical trial"),
               button("Find a patient organisation", "Find a patient organisation")]


class _Template:
    """Mixin for an action whose reply is one fixed template (not an Action itself, so it is not registered)."""

    action_name = ""
    intent = ""
    text = ""
    buttons: list[dict[str, str]] = []

    def name(self) -> str:
        return self.action_name

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        send(dispatcher, [Message(self.text, buttons=list(self.buttons))], self.intent)
        return []


class ActionGreet(_Template, Action):
    action_name, intent, text, buttons = "action_greet", "greet", templates.GREET, SUGGESTIONS


class ActionGoodbye(_Template, Action):
    action_name, intent, text = "action_goodbye", "goodbye", templates.GOODBYE


class ActionThanks(_Template, Action):
    action_name, intent, text = "action_thanks", "thanks", templates.THANKS


class ActionBotCapabilities(_Template, Action):
    action_name, intent, text, buttons = "action_bot_capabilities", "bot_capabilities", templates.CAPABILITIES, SUGGESTIONS

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        """What it can do, and which cancers its sources cover ("which cancers do you cover?"). A message
        naming a cancer ("do you cover thymoma?") is answered about that cancer instead."""
        if resources.get().linker.run(text_of(tracker)):
            return ActionAnswerQuestion().run(dispatcher, tracker, domain)
        send(dispatcher, [Message(self.text), Message(covered_cancers(resources.get().coverage.catalogue()),
                                                      buttons=list(self.buttons))], self.intent)
        return []


def covered_cancers(catalogue: dict[str, Any]) -> str:
    """The covered cancers in a few lines: how many, and per group those with the most pages first."""
    groups, count = [], 0
    for family in catalogue["families"]:
        cancers = sorted(family["cancers"], key=lambda c: (-len(c["documents"]), c["name"].lower()))
        count += len(cancers)
        names = [c["name"] for c in cancers[:templates.GROUP_EXAMPLES]]
        more = len(cancers) - len(names)
        named = listing(names + [f"{more} more"], "and") if more else listing(names, "and")
        groups.append(templates.COVERED_GROUP.format(family=family["family"].capitalize(), names=named))
    return templates.COVERED_CANCERS.format(count=count, groups=" ".join(groups))


class ActionHumanHandoff(_Template, Action):
    action_name, intent, text = "action_human_handoff", "human_handoff", templates.HANDOFF


class ActionOutOfScope(_Template, Action):
    action_name, intent, text, buttons = "action_out_of_scope", "out_of_scope", templates.OUT_OF_SCOPE, SUGGESTIONS

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        # A classifier may call "what is chordoma?", "do I have it?" or "and in Slovenia?" out of scope:
        # they go where the embedded engine sends them (bot/actions/rerouting.py).
        routed = rerouted(tracker)
        if routed:
            return run_routed(routed, dispatcher, tracker, domain)
        send(dispatcher, [Message(self.text, buttons=list(self.buttons), answer_status="not_covered")], self.intent)
        return []


class ActionDefaultFallback(Action):
    def name(self) -> str:
        return "action_default_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        routed = rerouted(tracker)  # not understood by Rasa's classifier, but clear to the engine's rules
        if routed:
            return run_routed(routed, dispatcher, tracker, domain)
        report.record("not_understood", text_of(tracker))
        send(dispatcher, [Message(templates.FALLBACK, buttons=list(SUGGESTIONS))], "out_of_scope")
        return []


class ActionFeedback(Action):
    def name(self) -> str:
        return "action_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        report.record("feedback", text_of(tracker))
        send(dispatcher, [Message(templates.FEEDBACK)], "feedback")
        return []


def run_routed(intent: str, dispatcher: CollectingDispatcher, tracker: Tracker,
               domain: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs the action of the intent the engine's rules gave the message."""
    from bot.actions.finders import ActionFindOrganisation, ActionFindTrial

    action = {"find_trial": ActionFindTrial, "find_organisation": ActionFindOrganisation}.get(intent, ActionAnswerQuestion)
    return action().run(dispatcher, tracker, domain)
