"""Questions asking for advice on one's own treatment: the answer is always "talk to your care team"."""
from __future__ import annotations

import re

from bot.safety.red_flags import _normalise

# --------------------------------------------------------------------------------------------
# Questions asking for advice on one's own treatment. Negation-insensitive on purpose:
# "should I not take my tablets?" asks for the same advice as "should I take my tablets?".

_TREATMENT = (
    r"(?:chemo|chemotherapy|radio|radiotherapy|radiation|treatments?|therapy|surgery|operation|op|"
    r"drugs?|medication|medications|medicines?|meds|tablets|pills|dose|doses|dosage|immunotherapy|"
    r"targeted therapy|hormone therapy|infusions?|injections?|steroids?|painkillers|morphine|"
    r"supplements?|vitamins?|herbal|herbs|cannabis|cbd|trial|transplant|stem cell|scan|scans|"
    r"appointments?|sessions?|cycles?|course|imatinib|tamoxifen|keytruda|pembrolizumab|nivolumab|"
    r"capecitabine|sunitinib|ibuprofen|paracetamol|aspirin|antibiotics|alcohol|wine|beer|grapefruit|"
    r"vaccines?|jab|flu jab)"
)
_SELF = r"(?:i|we|my (?:mum|mom|dad|husband|wife|partner|son|daughter|child|baby|father|mother|brother|sister|patient)|he|she)"
_PERSONAL_TREATMENT = [
    # "should I stop my chemo", "should we go ahead with the surgery", "should my mum have radiotherapy"
    re.compile(r"\bshould(?:n'?t)? " + _SELF + r" (?:not )?(?:\w+ ){0,4}?" + _TREATMENT + r"\b"),
    re.compile(r"\bshould(?:n'?t)? " + _SELF + r" (?:not )?(?:stop|start|skip|miss|refuse|decline|delay|postpone|quit|"
               r"continue|keep going|change|switch|accept|go ahead|have the|get the|choose|pick|opt)\b"),
    # "can I skip my radiotherapy", "can I drink alcohol during chemo"
    re.compile(r"\b(?:can|could|may|must) " + _SELF + r" (?:not |still |safely )?(?:stop|skip|miss|delay|take|drink|eat|have|mix|"
               r"combine|use|refuse|postpone|come off|go off|get|continue|keep|fly|travel|exercise|smoke|drive|work|go|"
               r"start|try|change|switch|reduce|double|cut|halve|put off|decline|say no|opt|choose|pick) (?:\w+ ){0,5}?"
               + _TREATMENT + r"\b"),
    # "is it safe for me to take X with my treatment", "is it ok to skip a cycle"
    re.compile(r"\bis it (?:safe|ok|okay|alright|all right|dangerous|bad|fine|wise|sensible|a good idea|a bad idea)"
               r"(?: for (?:me|him|her|us|my \w+))? (?:to|if) (?:\w+ ){0,6}?" + _TREATMENT + r"\b"),
    re.compile(r"\bis it (?:safe|ok|okay|alright|dangerous|fine|a good idea) (?:for me|for (?:him|her|my \w+))\b"),
    # "which treatment should I choose", "what treatment is best for me"
    re.compile(r"\b(?:which|what) (?:\w+ ){0,3}?(?:treatment|option|drug|therapy|surgery|operation|trial|one|choice)s? "
               r"(?:should|would|do|must|shall) " + _SELF + r"\b"),
    re.compile(r"\b(?:which|what) (?:\w+ ){0,3}?(?:treatment|option|drug|therapy|surgery|operation)s? (?:is|are|would be) "
               r"(?:best|better|right|safest|the best|the right one) for (?:me|him|her|us|my)\b"),
    re.compile(r"\b(?:is|are|would) (?:\w+ ){0,4}?(?:better|best|right|safer) for (?:me|him|her|us|my \w+)\b"),
    re.compile(r"\bwhat (?:should|would you advise|do you advise|do you recommend|would you recommend|would you do)"
               r"(?: " + _SELF + r")? (?:\w+ ){0,4}?(?:my|his|her|our) (?:\w+ )?" + _TREATMENT + r"\b"),
    re.compile(r"\bwhat (?:would|do) you (?:recommend|advise|suggest) (?:for|to) (?:me|him|her|us|my \w+)\b"),
    # "do I need chemo", "does my dad have to have surgery"
    re.compile(r"\b(?:do|does|will) " + _SELF + r" (?:really )?(?:need|have) (?:to )?(?:have |take |get |start |do |keep )?(?:\w+ ){0,2}?" + _TREATMENT + r"\b"),
    # "will chemo work for me", "is radiotherapy worth it for my dad"
    re.compile(r"\b(?:will|would|is|does) (?:the )?" + _TREATMENT + r" (?:\w+ ){0,3}?(?:work|help|worth it|worthwhile|right) for (?:me|him|her|us|my)\b"),
    # "I want to stop my chemo", "thinking about skipping my radiotherapy", "stop taking my tablets"
    re.compile(r"\b(?:stop|stopping|skip|skipping|quit|quitting|refuse|refusing|decline|declining|delay|delaying|"
               r"postpone|postponing|reduce|reducing|halve|halving|double|doubling|change|changing|miss|missing|"
               r"give up|giving up|come off|coming off|cut down|cutting down)"
               r" (?:taking |having |on )?(?:my|his|her|our) (?:\w+ )?" + _TREATMENT + r"\b"),
    # "how much morphine should I take", "what dose should I take"
    re.compile(r"\bhow (?:much|many|often|long) (?:\w+ ){0,3}?should " + _SELF + r"\b"),
    re.compile(r"\bwhat dose (?:\w+ ){0,2}?should\b"),
    # "my oncologist suggested X, should I"
    re.compile(r"\b(?:my|his|her|our) (?:doctor|oncologist|consultant|surgeon|gp|nurse|team|specialist)\b.*\bshould "
               r"(?:i|we|he|she)\b"),
    re.compile(r"\b(?:take|have|accept) (?:part in )?(?:the|this) (?:trial|treatment|drug|offer|surgery|operation)\b.*\bor not\b"),
]


def is_personal_treatment_question(text: str) -> bool:
    """Does the message ask for advice about the writer's (or their relative's) own treatment?

    "should I stop my chemo?", "can I skip my radiotherapy", "is it safe for me to take X with
    my treatment", "which treatment should I choose" -> True; "how is penile cancer treated?" ->
    False. Negation does not change the answer.
    """
    if not isinstance(text, str) or not text.strip():
        return False
    try:
        norm = _normalise(text)
        norm = re.sub(r"[^\w'\s]", " ", norm)
        norm = re.sub(r"\s+", " ", norm).strip()
        return any(p.search(norm) for p in _PERSONAL_TREATMENT)
    except (RecursionError, MemoryError):  # pragma: no cover - pathological input
        return False
