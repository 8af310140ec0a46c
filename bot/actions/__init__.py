"""Rasa SDK custom actions. The embedded engine runs these same classes in-process, and
`SANIC_HOST=127.0.0.1 python -m rasa_sdk --actions bot.actions` serves them to a Rasa server."""
from bot.actions.answer import ActionAnswerQuestion
from bot.actions.conversation import (ActionBotCapabilities, ActionDefaultFallback, ActionFeedback, ActionGoodbye,
                                      ActionGreet, ActionHumanHandoff, ActionOutOfScope, ActionThanks)
from bot.actions.emergency import ActionEmergency
from bot.actions.finders import (ActionAskCancerType, ActionFindOrganisation, ActionFindTrial, ValidateOrganisationForm,
                                 ValidateTrialForm)

ACTIONS = {action().name(): action for action in (
    ActionGreet, ActionGoodbye, ActionThanks, ActionBotCapabilities, ActionHumanHandoff, ActionOutOfScope,
    ActionDefaultFallback, ActionFeedback, ActionEmergency, ActionAnswerQuestion, ActionFindTrial,
    ActionFindOrganisation, ActionAskCancerType, ValidateTrialForm, ValidateOrganisationForm)}

__all__ = ["ACTIONS"] + [cls.__name__ for cls in ACTIONS.values()]
