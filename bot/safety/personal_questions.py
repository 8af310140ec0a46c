"""Questions only the person's own care team can answer, and feelings: a kind deferral, never out of scope.

"do I have it?" (diagnosis), "will he lose his leg?" / "how long has she got?" (what will happen to
them), "should I have the operation?" (a decision about their own treatment), "I'm so scared"
(feelings). Each kind says who can answer and what to ask them; the answer then offers the general
information the sources have (bot/answers.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.safety.personal import is_personal_treatment_question
from bot.safety.red_flags import _normalise

DIAGNOSIS, OUTCOME, TREATMENT, FEELINGS = "diagnosis", "outcome", "treatment", "feelings"

_WHO = r"(?:i|he|she|they|we|my (?:\w+ )?(?:mum|mom|mother|dad|father|husband|wife|partner|son|daughter|child|baby|" \
       r"brother|sister|friend|boy|girl|kid|grandson|granddaughter|nan|gran|grandad|grandma|grandpa))"
_OBJECT = r"(?:me|him|her|them|us|my (?:\w+ )?\w+)"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(pattern)) for kind, pattern in (
    # "do I have it?", "can you tell me if I have it", "could my son have this", "is it cancer?"
    (DIAGNOSIS, rf"\b(?:do|does|did|could|might|may|would|can) {_WHO} (?:\w+ )?(?:have|has|got|get) (?:it|this|that|cancer|one|a tumou?r|\w+ (?:cancer|tumou?r|sarcoma|carcinoma|lymphoma|leuka?emia))\b"),
    (DIAGNOSIS, rf"\b(?:tell|know) (?:me )?(?:if|whether) {_WHO} (?:\w+ )?(?:have|has|got)\b"),
    (DIAGNOSIS, rf"\b(?:am i|is (?:he|she|my \w+)) (?:\w+ )?(?:got|having|ill with|suffering from)\b"),
    (DIAGNOSIS, r"\b(?:is|could) (?:my|the|this) (?:lump|swelling|mole|pain|bump|mark|rash|cough) (?:be )?(?:cancer|cancerous|malignant|a tumou?r|serious)\b"),
    (DIAGNOSIS, r"\bdiagnose (?:me|him|her|my)\b"),
    # "will he lose his leg?", "how long has she got?", "will I survive", "is he going to die", "will he be ok"
    (OUTCOME, rf"\bhow long (?:has|have|do|does|will|would) {_WHO} (?:got|have|has|live|left)\b"),
    (OUTCOME, rf"\bhow long (?:\w+ )?(?:left|to live)\b"),
    (OUTCOME, rf"\b(?:will|would|is|are|am) {_WHO} (?:\w+ )?(?:going to |gonna )?(?:lose|survive|die|live|make it|be ok|be okay|be alright|be all right|be fine|recover|get better|be cured|walk|need|go blind|go deaf|be blind|be deaf|be paraly[sz]ed|be disabled)\b"),
    # "can I still play football after", "will she be able to have children"
    (OUTCOME, rf"\b(?:can|could|will|would) {_WHO} (?:still (?:be able to )?|ever |be able to )(?:\w+ )?(?:play|work|drive|swim|run|go back|have (?:children|kids|a baby)|do sports?|walk|study|travel)\b"),
    (OUTCOME, rf"\b(?:what are|what's|what is) (?:my|his|her|their|our) (?:\w+ )?(?:chances?|odds|prognosis|outlook|life expectancy)\b"),
    (OUTCOME, rf"\b(?:can|could) {_WHO} (?:\w+ )?(?:be cured|survive|beat (?:it|this))\b"),
    (OUTCOME, rf"\b(?:is|was) (?:it|this|the cancer|the tumou?r) (?:too late|terminal|curable) for {_OBJECT}\b"),
    # feelings: "I'm so scared", "we are terrified of losing him", "I can't stop worrying"
    (FEELINGS, r"\b(?:i'?m|i am|we'?re|we are|i feel|we feel|feeling|i've been|i have been) (?:\w+ ){0,2}?(?:scared|afraid|frightened|terrified|worried|anxious|devastated|heartbroken|overwhelmed|lost|alone|lonely|numb|angry|desperate|in shock|struggling|guilty|not coping|falling apart|broken)\b"),
    (FEELINGS, r"\b(?:can'?t|cannot) (?:stop (?:crying|worrying)|cope|sleep|think straight)\b"),
    (FEELINGS, r"\b(?:scared|afraid|terrified|frightened) (?:of|that) (?:losing|\w+ (?:will|might|is going to) die)\b"),
))


@dataclass(frozen=True)
class PersonalQuestion:
    kind: str  # diagnosis, outcome, treatment, feelings
    person: str  # "you", "he", "she", "they": whom it is about

    @property
    def possessive(self) -> str:
        return {"you": "your", "he": "his", "she": "her"}.get(self.person, "their")

    @property
    def object(self) -> str:
        return {"you": "you", "he": "him", "she": "her"}.get(self.person, "them")


def _person(text: str) -> str:
    if re.search(r"\b(?:he|him|his|son|husband|dad|father|brother|boy|grandson|grandad|grandpa)\b", text):
        return "he"
    if re.search(r"\b(?:she|her|daughter|wife|mum|mom|mother|sister|girl|granddaughter|nan|gran|grandma)\b", text):
        return "she"
    if re.search(r"\b(?:child|baby|kid|partner|friend|they|them|their)\b", text):
        return "they"
    return "you"


def personal_question(text: str) -> PersonalQuestion | None:
    """The kind of personal question the message asks, and whom it is about; None for a general one."""
    if not isinstance(text, str) or not text.strip():
        return None
    norm = re.sub(r"\s+", " ", re.sub(r"[^\w'\s]", " ", _normalise(text))).strip()
    if is_personal_treatment_question(text):
        return PersonalQuestion(TREATMENT, _person(norm))
    for kind, pattern in _PATTERNS:
        if pattern.search(norm):
            return PersonalQuestion(kind, _person(norm))
    return None
