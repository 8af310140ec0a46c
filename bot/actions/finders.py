"""Trial and organisation searches, and the one-question form that asks for a missing cancer type."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import resources, templates
from bot.actions.common import entity, intent_of, send, slot, text_of
from bot.actions.rerouting import previous_task, without_cancers
from bot.finders import ANY_CANCER, find_organisations, general_guidance
from bot.trial_filters import TrialFilters, filters_said
from bot.trial_finder import find_trials
from bot.english import is_common_word
from bot.messages import Message, button

# Quick replies in Rasa's payload syntax, with canonical values from bot/data/nlu.yml's synonyms.
FORM_BUTTONS = [
    button("Sarcoma", '/inform{"cancer_type": "sarcoma"}'),
    button("Eye (uveal) melanoma", '/inform{"cancer_type": "intraocular melanoma"}'),
    button("GIST", '/inform{"cancer_type": "gastrointestinal stromal tumour"}'),
    button("Bile duct cancer", '/inform{"cancer_type": "bile duct cancer"}'),
    button("Neuroendocrine tumour", '/inform{"cancer_type": "neuroendocrine tumour"}'),
    button("Not sure / any rare cancer", "/deny"),
]
ASK = {"trial_form": templates.ASK_CANCER_TYPE_TRIAL, "organisation_form": templates.ASK_CANCER_TYPE_ORGANISATION}
FORM_INTENT = {"trial_form": "find_trial", "organisation_form": "find_organisation"}


def _found(tracker: Tracker, name: str) -> str | None:
    """A slot value from this message's entities, else from the conversation; "not sure" means any cancer."""
    if name == "cancer_type" and intent_of(tracker, "") == "deny":
        return ANY_CANCER
    loaded = resources.get()
    # the project's own reading first: a classifier may take "sarcoma" out of "alveolar soft part sarcoma"
    value = loaded.entities.first(text_of(tracker)).get(name) or entity(tracker, name) or slot(tracker, name)
    return (loaded.entities.exact(name, value) or value) if value and value != ANY_CANCER else value


def person_filters(tracker: Tracker, country: str | None) -> TrialFilters:
    """Who would take part and what they want, from this message over what the conversation said before.
    A bare number is an age only in a reply to the finder's question for it."""
    loaded = resources.get()
    store = loaded.trial_store
    cities = store.city_countries if store else (lambda city: [])
    said = filters_said(without_cancers(loaded, text_of(tracker)), cities,
                        replying=previous_task(tracker) == "find_trial", is_common_word=is_common_word)
    if said.city and country and said.city.lower() == country.lower():
        said = replace(said, city=None, city_countries=())  # "in Singapore": the country
    earlier_city = slot(tracker, "city")
    earlier = TrialFilters(age=slot(tracker, "age"), sex=slot(tracker, "sex"), city=earlier_city,
                           city_countries=tuple(cities(earlier_city)) if earlier_city else ())
    return said.merged_over(earlier)


class ActionFindTrial(Action):
    def name(self) -> str:
        return "action_find_trial"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        cancer_type, country = _found(tracker, "cancer_type"), _found(tracker, "country")
        if not cancer_type:
            send(dispatcher, general_guidance(resources.get(), text_of(tracker)), "find_trial")
            return ActionAskCancerType.ask(dispatcher, "trial_form")
        filters = person_filters(tracker, country)
        if filters.city and country and country.lower() not in {c.lower() for c in filters.city_countries}:
            filters = replace(filters, city=None, city_countries=())  # a new country leaves the city said before
        messages = find_trials(resources.get(), cancer_type, country, text_of(tracker), filters)
        send(dispatcher, general_guidance(resources.get(), text_of(tracker), cancer_type, filters.city) + messages,
             "find_trial")
        return [SlotSet("cancer_type", cancer_type), SlotSet("country", country), SlotSet("requested_slot", None),
                SlotSet("active_form", None), SlotSet("age", filters.age), SlotSet("sex", filters.sex),
                SlotSet("city", filters.city)]


class ActionFindOrganisation(Action):
    def name(self) -> str:
        return "action_find_organisation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        cancer_type, country = _found(tracker, "cancer_type"), _found(tracker, "country")
        if not cancer_type and not country:
            send(dispatcher, general_guidance(resources.get(), text_of(tracker)), "find_organisation")
            return ActionAskCancerType.ask(dispatcher, "organisation_form")
        message = find_organisations(resources.get(), cancer_type, country)
        send(dispatcher, general_guidance(resources.get(), text_of(tracker), cancer_type) + [message], "find_organisation")
        return [SlotSet("cancer_type", cancer_type), SlotSet("country", country), SlotSet("requested_slot", None),
                SlotSet("active_form", None)]


class ActionAskCancerType(Action):
    """The form's question, with quick replies; also used by Rasa forms as `action_ask_cancer_type`."""

    def name(self) -> str:
        return "action_ask_cancer_type"

    @staticmethod
    def ask(dispatcher: CollectingDispatcher, form: str) -> list[dict[str, Any]]:
        send(dispatcher, [Message(ASK[form], buttons=list(FORM_BUTTONS))], FORM_INTENT[form])
        return [SlotSet("requested_slot", "cancer_type"), SlotSet("active_form", form)]

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        """Under a Rasa server the form asks through this action, not through action_find_trial or
        action_find_organisation, so the request that opened the form gets what they would have sent
        first: what the sources say about it, then the question."""
        form = (tracker.active_loop or {}).get("name") or slot(tracker, "active_form") or "trial_form"
        form = form if form in ASK else "trial_form"
        if intent_of(tracker, "") == FORM_INTENT[form]:
            send(dispatcher, general_guidance(resources.get(), text_of(tracker)), FORM_INTENT[form])
        return self.ask(dispatcher, form)


class _ValidateCancerType:
    """Mixin for the forms' validation actions (not an Action itself, so it is not registered)."""

    form = ""

    def name(self) -> str:
        return f"validate_{self.form}"

    def validate_cancer_type(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict[str, Any]) -> dict[str, Any]:
        canonical = resources.get().entities.canonical("cancer_type", str(value or text_of(tracker)))
        if canonical is None:
            if not self._country_is_enough(tracker):  # "Slovenia" answers the organisation form's question
                send(dispatcher, [Message(templates.UNKNOWN_CANCER)], FORM_INTENT[self.form])
            return {"cancer_type": None}
        return {"cancer_type": canonical}

    def _country_is_enough(self, tracker: Tracker) -> bool:
        return self.form == "organisation_form" and bool(slot(tracker, "country"))

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict[str, Any]) -> list[str]:
        """Organisations may be looked up by country alone, as action_find_organisation does: a Rasa form
        with a country and no cancer type is complete."""
        return [] if self._country_is_enough(tracker) and not slot(tracker, "cancer_type") else domain_slots


class ValidateTrialForm(_ValidateCancerType, FormValidationAction):
    form = "trial_form"


class ValidateOrganisationForm(_ValidateCancerType, FormValidationAction):
    form = "organisation_form"
