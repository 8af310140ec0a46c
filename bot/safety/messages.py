"""What the assistant says in an emergency, and the one-line disclaimer for the widget."""
from __future__ import annotations

EMERGENCY_NUMBERS: dict[str, str] = {"EU": "112", "UK": "999", "US": "911"}
CRISIS_LINES: dict[str, str] = {
    "UK and Ireland": "Samaritans on 116 123 (free, any time, day or night)",
    "US": "the 988 Suicide & Crisis Lifeline (call or text 988)",
}

DISCLAIMER = (
    "General information from curated sources, not medical advice: this assistant cannot "
    "diagnose or advise on your own treatment, so please talk to your care team. "
    "In an emergency call 112 (EU), 999 (UK) or 911 (US)."
)

_CALL_NOW = (
    "Call emergency services now: 112 in the EU, 999 in the UK, 911 in the US, "
    "or your local emergency number."
)

_MEDICAL_MESSAGE = (
    "This could be a medical emergency. " + _CALL_NOW + " "
    "Don't wait for an answer here, and don't drive yourself to hospital. "
    "If you are having cancer treatment such as chemotherapy and you have a high temperature "
    "or feel unwell, call your hospital's 24-hour cancer treatment helpline or emergency services "
    "straight away, and tell them about your treatment."
)

_SELF_HARM_MESSAGE = (
    "I'm really sorry you're going through this. You don't have to face it alone. "
    "If you have hurt yourself, taken an overdose, or feel you might act on these thoughts, "
    + _CALL_NOW + " "
    "You can talk to someone right now: " + CRISIS_LINES["UK and Ireland"] + " in the UK and "
    "Ireland, " + CRISIS_LINES["US"] + " in the US, or your local crisis line. "
    "If you can, tell someone near you how you are feeling, and let your care team know."
)


def emergency_message(category: str) -> str:
    """Plain-language text telling the person to get help now.

    "self_harm" adds crisis lines to the emergency numbers; anything else gets the medical text.
    """
    return _SELF_HARM_MESSAGE if category == "self_harm" else _MEDICAL_MESSAGE
