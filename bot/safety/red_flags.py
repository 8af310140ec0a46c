"""Emergency red flags and personal-treatment questions, checked before anything else.

`find_red_flag(text)` looks for signs of a medical emergency or of a risk of self-harm in one
message. It flags first-person, present situations ("I can't breathe", "my dad collapsed",
"bleeding heavily", "help, chest pain") and leaves alone:

- negated symptoms: "no chest pain", "I don't have any bleeding", "denies shortness of breath",
  "never had suicidal thoughts", "No fever or bleeding, I just want to know ...";
- questions about a symptom in general: "is heavy bleeding a sign of uterine sarcoma?",
  "what causes chest pain in lung cancer", "can sarcoma cause bleeding".

Words that carry their own negation ("can't breathe", "won't stop bleeding", "don't want to
live") are part of the patterns, and a negation only counts when it comes before the symptom in
the same clause with no new subject in between, so "no, I have chest pain" and "I'm not ok, I
can't breathe" are still flagged.

Everything here is a pure function of its input: deterministic, no I/O, and it never raises on
any string. Offsets (`start`, `end`) index the original text, so `text[start:end] == phrase`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Literal

Category = Literal["medical", "self_harm"]


@dataclass(frozen=True)
class RedFlag:
    category: Category  # "medical" or "self_harm"
    phrase: str  # the matched text, exactly as written in the message
    start: int
    end: int


# --------------------------------------------------------------------------------------------
# Normalisation: same length as the input, so match offsets are offsets in the original text.

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


def _normalise(text: str) -> str:
    lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered.translate(_APOSTROPHES)


# --------------------------------------------------------------------------------------------
# Patterns. Each is (category, regex, strong). A strong pattern names the person itself
# ("kill myself"), so it is flagged even inside a question; a weak one ("chest pain") is not
# flagged in a general question unless a person is tied to it ("why do I have chest pain?").

_CANT = r"(?:can'?t|cannot|can not|cant|cnt|unable to|couldn'?t)"
_BREATHE = r"(?:breath?e?|brea?the|brethe|breth)"
_BLEED = r"(?:ble+a?d(?:ing|in)?|ble+ds)"
_BLOOD = r"(?:blood|blod|bloood)"
_COUGH = r"(?:c[ao]u?gh(?:ing|in|ed|s)?|coughing)"
_VOMIT = r"(?:vomm?it+(?:ing|ed|s)?|throw(?:ing|n)? up|threw up|being sick|puk(?:e|ed|ing))"
_WONT_STOP = r"(?:won'?t|will not|wont|doesn'?t|does not|isn'?t going to|hasn'?t|has not|can'?t|cannot|cant|not) stop(?:ped)?"
_WHO = r"(?:my|his|her|their|our|the)"

_RAW_PATTERNS: list[tuple[Category, str, bool]] = [
    # --- chest pain / heart
    ("medical", r"\bchest ?pains?\b", False),
    ("medical", r"\bpains? in (?:my|his|her|the) chest\b", False),
    ("medical", r"\bchest (?:is |feels? |felt )?(?:very |really |so )?(?:tight(?:ness)?|hurts?|hurting|crushing|heavy)\b", False),
    ("medical", r"\b(?:tight|tightness in (?:my|his|her|the)|crushing|heavy) chest\b", False),
    ("medical", r"\bheart attack\b", False),
    # --- breathing
    ("medical", _CANT + r" (?:(?:i|he|she|they|we) )?(?:really |properly )?" + _BREATHE + r"\b", False),
    ("medical", r"\b(?:struggling|fighting|gasping|battling) (?:to " + _BREATHE + r"|for (?:breath|air))\b", False),
    ("medical", r"\b" + _CANT + r" (?:get|catch) (?:my|his|her|their)? ?breath\b", False),
    ("medical", r"\b(?:hard|difficult|impossible) to " + _BREATHE + r"\b", False),
    ("medical", r"\b(?:severe(?:ly)?|very|really|extremely|so|sudden(?:ly)?|badly) (?:short of breath|breathless|out of breath|shortness of breath)\b", False),
    ("medical", r"\b(?:sudden|severe) (?:difficulty|trouble) breathing\b", False),
    ("medical", r"\b(?:not|isn'?t|stopped|stop|no longer|isnt) breathing\b", False),
    ("medical", r"\b(?:is|he's|she's|i'm|im|keeps?|started) choking\b", False),
    ("medical", r"\b(?:lips?|face) (?:is |are |has |have )?(?:gone |going |turning |turned )blue\b", False),
    # --- bleeding
    ("medical", r"\b" + _BLEED + r" (?:very |so |really )?(?:heavily|a lot|badly|profusely|non[- ]?stop|everywhere|uncontrollabl[ye]|like crazy|loads|heaps)\b", False),
    ("medical", r"\b(?:heavy|heavily|severe|massive|uncontroll?ed|uncontrollable|profuse|serious) " + _BLEED + r"\b", False),
    ("medical", r"\b" + _BLEED + r" (?:that |which )?" + _WONT_STOP + r"\b", False),
    ("medical", r"\bnose ?bleeds? (?:that |which )?" + _WONT_STOP + r"\b", False),
    ("medical", r"\b" + _WONT_STOP + r" (?:the )?" + _BLEED + r"\b", False),
    ("medical", r"\b(?:" + _BLEED + r"|" + _BLOOD + r") (?:is |are )?(?:everywhere|pouring|gushing|spurting|pumping)\b", False),
    ("medical", r"\b(?:pouring|gushing|spurting|losing (?:a lot of |lots of |so much )?)" + _BLOOD + r"\b", False),
    ("medical", r"\b(?:lots|loads|so much|a lot) of " + _BLOOD + r"\b", False),
    ("medical", r"\b(?:haemorrhag|hemorrhag|hemorhag|haemorhag)(?:e|ing|ed)\b", False),
    # --- coughing or vomiting blood
    ("medical", r"\b" + _COUGH + r" (?:up )?(?:(?:bright |dark )?red )?(?:" + _BLOOD + r"|blood clots|clots)\b", False),
    ("medical", r"\b" + _VOMIT + r" (?:up )?(?:(?:bright |dark )?red )?(?:" + _BLOOD + r"|clots)\b", False),
    ("medical", r"\b(?:spitting|bringing) up " + _BLOOD + r"\b", False),
    ("medical", r"\b" + _BLOOD + r" in (?:my|his|her|the) (?:vomit|sick)\b", False),
    ("medical", r"\bcoffee[- ]?grounds? (?:vomit|sick)\b", False),
    ("medical", r"\b(?:haematemesis|hematemesis|haemoptysis|hemoptysis)\b", False),
    # --- stroke signs, sudden weakness, spinal cord compression
    ("medical", r"\b(?:face|mouth|smile) (?:is |has |was )?(?:drooping|droopy|dropped|drooped|sagging|lopsided)\b", False),
    ("medical", r"\b(?:drooping|droopy) (?:face|mouth|smile|eyelid)\b", False),
    ("medical", r"\bslurr?(?:ed|ing) (?:speech|words|(?:his |her |my )?words)\b", False),
    ("medical", r"\b(?:speech|talking|words) (?:is |are |has gone |went )?slurr?ed\b", False),
    ("medical", r"\bsudden(?:ly)? (?:very )?(?:weak(?:ness)?|numb(?:ness)?|paralys[ei]d?|can'?t move|lost (?:the )?use)\b", False),
    ("medical", r"\b(?:weak(?:ness)?|numb(?:ness)?) (?:on|down) one side\b", False),
    ("medical", _CANT + r" (?:move|feel|lift) (?:my|his|her) (?:arm|leg|legs|face|arms)\b", False),
    ("medical", r"\b(?:having|had|has|is having|having had) a stroke\b", False),
    ("medical", r"\b(?:lost|losing|lose) (?:control of )?(?:my|his|her) (?:bladder|bowels?)\b", False),
    # --- confusion
    ("medical", r"\bsudden(?:ly)? (?:very |really |so )?confus(?:ed|ion)\b", False),
    ("medical", r"\b(?:very|really|so|extremely) confused (?:all of a sudden|suddenly|out of nowhere)\b", False),
    ("medical", r"\b(?:doesn'?t|does not|don'?t|didn'?t) (?:know|recogni[sz]e) (?:where (?:he|she|they|i) (?:is|are|am)|me|us|who)\b", False),
    # --- collapse, unconscious
    ("medical", r"\bcoll?apsed?\b(?! (?:lung|vertebra))", False),
    ("medical", r"\bcoll?apsing\b", False),
    ("medical", r"\b(?:passed|passing|pass) out\b", False),
    ("medical", r"\b(?:unconcious|unconscious|unresponsive|not responding|not responsive|won'?t wake up|can'?t wake (?:him|her|them|up)|cannot wake (?:him|her|them))\b", False),
    ("medical", r"\b(?:can|could) (?:hardly|barely|only just) wake (?:him|her|them|me|up)\b|\b(?:hard|difficult|impossible) to wake\b", False),
    ("medical", r"\b(?:gone|going|went|is|he'?s|she'?s|hes|shes|all) (?:\w+ )?(?:and )?(?:floppy|limp)\b", False),
    # --- seizure
    ("medical", r"\b(?:having|had|has|having had|in) (?:a )?(?:seizures?|siezures?|sezures?|fits?|convulsions?)\b", False),
    ("medical", r"\b(?:seizing|convulsing|(?:is|he's|she's|i'm|keeps?|keep) fitting)\b", False),
    ("medical", r"\bseizures?\b(?= (?:now|right now|again|won'?t stop|that won'?t stop))", False),
    # --- anaphylaxis / allergic reaction
    ("medical", r"\b(?:anaphyla(?:xis|ctic)|anaphalaxis|anafylaxis)\b", False),
    ("medical", r"\b(?:throat|tongue|lips?|airway) (?:is |are |feels? )?(?:swelling|swollen|closing|closing up|tight(?:ening)?)\b", False),
    ("medical", r"\b(?:swelling|swollen) (?:throat|tongue|lips)\b", False),
    ("medical", r"\b(?:severe|bad|serious|massive) (?:allergic reaction|allergy attack|reaction to (?:the |my )?(?:infusion|drug|chemo|medication))\b", False),
    ("medical", r"\b(?:having|had|has) (?:an |a )?allergic reaction\b", False),
    # --- sepsis
    ("medical", r"\b(?:neutropenic|neutropaenic) (?:sepsis|fever)\b", False),
    ("medical", r"\b(?:sepsis|septic shock)\b", False),
    # --- self-harm, suicide, overdose
    ("self_harm", r"\b(?:kill|killing|hurt|hurting|harm|harming|cut|cutting|end|ending|poison|poisoning) (?:my ?self|myself|me self)\b", True),
    ("self_harm", r"\b(?:end|ending|take|taking) (?:it all|my (?:own )?life)\b", True),
    ("self_harm", r"\bself[- ]?harm(?:ing|ed)?\b", False),
    ("self_harm", r"\b(?:suicid(?:e|al)|sucid(?:e|al)|suicdal|sucidal)\b", False),
    ("self_harm", r"\b(?:want(?:s|ed)?|wanna|wanting) (?:to )?die\b", False),
    ("self_harm", r"\bwish (?:i|he|she) (?:was|were|had) (?:dead|never been born)\b", True),
    ("self_harm", r"\bbetter off dead\b", False),
    ("self_harm", r"\b(?:don'?t|do not|dont|no longer) want to (?:live|be alive|be here|wake up|go on)\b", False),
    ("self_harm", r"\bno (?:reason|point) (?:to|in) (?:live|living|going on)\b", False),
    ("self_harm", r"\b(?:can'?t|cannot|cant) (?:go on|cope) any ?more\b", False),
    ("self_harm", r"\boverdos(?:e|ed|ing)\b", False),
    ("self_harm", r"\b(?:took|taken|swallowed|take|taking) (?:all|too many|a whole (?:box|bottle|packet)|loads) (?:of )?(?:my |the |his |her )?(?:pills|tablets|meds|medication|painkillers|morphine)\b", False),
]

_PATTERNS: list[tuple[Category, re.Pattern[str], bool]] = [
    (cat, re.compile(pat), strong) for cat, pat, strong in _RAW_PATTERNS
]

# Phrases right after a match (used with .match) that take it out of the picture ("want to die at home" is a wish about
# end-of-life care, not a risk of suicide).
_AFTER_EXCLUSIONS: dict[Category, re.Pattern[str]] = {
    "self_harm": re.compile(
        r"\W*(?:peacefully|at home|in (?:a |the )?(?:hospice|hospital)|with dignity|in my (?:own )?(?:bed|sleep)|comfortabl[ey]"
        r"|(?:while |when )?(?:shaving|cooking|chopping|gardening)|by accident|accidentally|(?:when|while) i fell|falling|in a fall)"
    ),
    "medical": re.compile(r"\W*(?:lung|vertebra)"),
}

# --------------------------------------------------------------------------------------------
# Fever while on chemotherapy: an oncology emergency (neutropenic sepsis).

_FEVER = re.compile(
    r"\b(?:(?:high|raised|very high) (?:temperature|temp)|fever|feverish|febrile|pyrexi(?:a|al)|"
    r"shivering|shivers|rigou?rs|shaking uncontrollably|hot and shivery)\b"
    r"|\b(?:temperature|temp)\b(?:\W+[a-z]+){0,3}?\W+(?P<num>\d{2,3}(?:[.,]\d+)?)"
    r"(?:\s*(?:°|º|degrees?|deg)\s*(?P<unit>c|f)?\b|\s*(?P<unitb>c|f)\b|\b)"
    r"|\b(?P<num2>\d{2,3}(?:[.,]\d+)?)(?:\s*(?:°|º|degrees?|deg)\s*(?P<unit2>c|f)?\b|\s*(?P<unit2b>c|f)\b)"
)
_ON_CHEMO = re.compile(
    r"\b(?:chemo|chemotherapy|neutropenic|neutropaenic|neutropenia|neutropaenia|"
    r"low (?:white (?:blood )?(?:cell )?|blood |neutrophil )counts?|low neutrophils|"
    r"immunosuppressed|on (?:cancer )?treatment)\b"
)


def _fever_spans(sent: str, offset: int) -> Iterator[tuple[int, int]]:
    if not _ON_CHEMO.search(sent):
        return
    for m in _FEVER.finditer(sent):
        num = m.group("num") or m.group("num2")
        if num is None:
            yield offset + m.start(), offset + m.end()
            continue
        unit = m.group("unit") or m.group("unitb") or m.group("unit2") or m.group("unit2b") or ""
        try:
            value = float(num.replace(",", "."))
        except ValueError:  # pragma: no cover - the regex only lets numbers through
            continue
        fahrenheit = unit == "f" or (not unit and value >= 90)
        if (fahrenheit and 100.4 <= value <= 115) or (not fahrenheit and 38.0 <= value <= 45.0):
            yield offset + m.start(), offset + m.end()


# --------------------------------------------------------------------------------------------
# Sentences, clauses, tokens.

_LOOK_BACK = 160  # characters around a match that negation and persons are looked for in
_MAX_CANDIDATES = 50  # matches looked at per pattern and sentence

_SENTENCE_END = re.compile(r"[!?\n]+|\.(?!\d)")
_CLAUSE_BREAK = re.compile(
    r"[,;:()\[\]]|\s[-–—]\s|\b(?:but|however|although|though|except|yet|whereas|anyway|and now|and then|so now)\b"
)
_TOKEN = re.compile(r"[a-z0-9']+")

_NEGATION_CUES = frozenset(
    """no not never without nor neither none denies denied deny denying
    don't dont doesn't doesnt didn't didnt haven't havent hasn't hasnt hadn't isn't isnt
    aren't arent wasn't wasnt weren't werent""".split()
)
_NEGATION_PHRASES = re.compile(
    r"\b(?:free (?:of|from)|negative for|absence of|ruled out|rule out|no (?:signs?|sign|history|symptoms?) of|"
    r"no longer|no more|nothing like)\b"
)
# Negation words that don't negate what follows ("not sure", "no idea", "don't know").
_PSEUDO_NEGATION = re.compile(
    r"^(?:not (?:sure|certain|ok|okay|well|good|great|fine|right|coping|feeling (?:well|good|great|ok|okay|right)|just|only)|"
    r"no (?:idea|clue|doubt|one|body|way|matter)|nobody|"
    r"(?:don'?t|dont|do not|didn'?t|didnt) (?:know|understand|think|care|get it|want this)|"
    r"(?:doesn'?t|doesnt) (?:know|understand|matter|care))\b"
)
# A new subject ends the scope of a negation ("no I have chest pain", "I'm not ok I can't breathe").
_SUBJECTS = frozenset(
    """i i'm im i've ive i'd i'll he he's hes she she's shes we we're they they're
    my it's there's theres""".split()
)
# Somebody tied to a symptom makes it a situation, not a general question.
_PERSONAL = frozenset(
    """i i'm im i've ive i'd id i'll me my mine myself we we're we've our us
    he he's hes his him she she's shes her they they're their them
    mum mom mummy mother dad daddy father husband wife partner son daughter child kid kids baby
    brother sister friend grandma granny grandad grandpa nan nana gran boyfriend girlfriend
    fiance fiancee fiancé fiancée relative patient""".split()
)
# Words between a person and the symptom that make it a question about knowledge, not a report.
_KNOWLEDGE_BLOCKERS = frozenset(
    """know knew wonder wondering ask asking asked curious read reading heard hear learn learning
    understand if whether about tell explain question questions mean means info information
    leaflet article website research what why how which cause causes symptom symptoms sign signs""".split()
)
_INDIRECT_PERSONAL = re.compile(
    r"\b(?:is it (?:normal|ok|okay|bad|wrong|serious|dangerous)|should i (?:be )?(?:worried|worry|panic|go|call)|"
    r"do i need to (?:go|call|worry)|am i (?:dying|ok|okay))\b"
)
_QUESTION_START = re.compile(
    r"\W*(?:(?:so|and|ok|okay|hi|hello|hey|please|quick question|question)\W+)*"
    r"(?:what|what's|whats|why|how|when|which|who|whom|where|is|are|was|were|can|could|does|do|did|"
    r"will|would|should|may|might|tell me|explain|describe|define|list|info|information|any info)\b(?!')"
)
_KNOWLEDGE_CUES = re.compile(
    r"\b(?:symptoms?|signs?|caus(?:e|es|ed|ing)|risk|mean|means|meaning|linked|link|associated|"
    r"common|typical|usual|happen|happens|information|explain|definition|a sign|side effects?|"
    r"in (?:patients|people|men|women|children)|people with|patients with)\b"
)
_URGENT = re.compile(
    r"\b(?:urgent|urgently|emergency|asap|right now|ambulance|hurry|sos|999|911|112)\b|"
    r"(?:^|\W)help\b(?!\s+(?:me\s+)?(?:to\s+)?(?:understand|find|know|learn|explain|with|choose|decide|figure))"
)
_PAST = re.compile(
    r"\b(?:(?:last|previous) (?:year|month|week|summer|winter|spring|autumn|fall|time)|"
    r"(?:\d+|a few|few|several|many|two|three|four|five|six) (?:years?|months?|weeks?) ago|years ago|months ago|"
    r"in (?:19|20)\d\d|when i was (?:a child|a kid|young|little)|as a child|in the past|history of|years back)\b"
)
_PRESENT = re.compile(
    r"\b(?:now|today|tonight|this (?:morning|afternoon|evening)|again|still|worse|worsening|since|keeps?|"
    r"started|just|currently|at the moment)\b"
)


def _spans(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Pieces of text[start:end] between matches of pattern, as absolute spans."""
    out: list[tuple[int, int]] = []
    pos = start
    for m in pattern.finditer(text, start, end):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = max(pos, m.end())
    if pos < end:
        out.append((pos, end))
    return out


def _tokens(text: str, start: int, end: int) -> list[str]:
    return [m.group(0).strip("'") for m in _TOKEN.finditer(text, start, end)]


def _negated(norm: str, clause_start: int, match_start: int, window: int = 5) -> bool:
    """Is there a negation before the match in its clause, in scope of the match?"""
    before = norm[max(clause_start, match_start - _LOOK_BACK):match_start]
    if _NEGATION_PHRASES.search(before):
        # "free of", "no sign of", "no longer": negation in scope unless a new subject follows it
        for m in _NEGATION_PHRASES.finditer(before):
            between = _tokens(before, m.end(), len(before))
            if not any(t in _SUBJECTS for t in between) and len(between) <= window:
                return True
    tokens = list(_TOKEN.finditer(before))
    for i in range(len(tokens) - 1, max(-1, len(tokens) - 1 - window - 1), -1):
        word = tokens[i].group(0)
        if word not in _NEGATION_CUES:
            continue
        rest = before[tokens[i].start():]
        if _PSEUDO_NEGATION.match(rest):
            continue
        between = [t.group(0) for t in tokens[i + 1:]]
        if any(t in _SUBJECTS for t in between):
            return False  # "no, I have...", "not ok I can't breathe": a new clause began
        if len(between) > window:
            continue
        if word == "never" and re.search(r"\b(?:like (?:this|it|that)|this bad|so bad|as bad|such|worse)\b", norm[match_start:match_start + 60]):
            continue  # "never had chest pain like this": an intensifier
        return True
    return False


def _bound_to_person(norm: str, clause_start: int, clause_end: int, s: int, e: int) -> bool:
    """Is a person (I, my dad, she...) tied to the symptom in its clause?"""
    if _INDIRECT_PERSONAL.search(norm, max(clause_start, s - _LOOK_BACK), s):
        return True
    if any(t in _PERSONAL for t in _tokens(norm, s, e)):
        return True  # "why can't I breathe", "lost control of my bladder"
    before = _tokens(norm, max(clause_start, s - _LOOK_BACK), s)[-7:]
    for i in range(len(before) - 1, -1, -1):
        if before[i] in _PERSONAL:
            if not any(t in _KNOWLEDGE_BLOCKERS for t in before[i + 1:]):
                return True
            break
    after = _tokens(norm, e, min(clause_end, e + _LOOK_BACK))[:3]
    return any(t in _PERSONAL for t in after) and not any(t in _KNOWLEDGE_BLOCKERS for t in after)


def _informational(norm: str, sent_start: int, sent_end: int) -> bool:
    """Does the sentence ask about symptoms in general rather than report one?"""
    if _QUESTION_START.match(norm, sent_start, sent_end):
        return True
    if sent_end < len(norm) and norm[sent_end] == "?":
        return True
    return bool(_KNOWLEDGE_CUES.search(norm, sent_start, sent_end))


def _sentences(norm: str) -> list[tuple[int, int]]:
    return _spans(_SENTENCE_END, norm, 0, len(norm))


def _candidates(norm: str) -> Iterator[RedFlag]:
    """Flags in text order; after the first medical flag only self-harm ones are looked at."""
    medical_found = False
    for sent_start, sent_end in _sentences(norm):
        found: list[tuple[Category, int, int, bool]] = []
        for category, pattern, strong in _PATTERNS:
            if medical_found and category == "medical":
                continue
            for n, m in enumerate(pattern.finditer(norm, sent_start, sent_end)):
                if n >= _MAX_CANDIDATES:
                    break
                if m.end() > m.start():
                    found.append((category, m.start(), m.end(), strong))
        if not medical_found:
            for n, (s, e) in enumerate(_fever_spans(norm[sent_start:sent_end], sent_start)):
                if n >= _MAX_CANDIDATES:
                    break
                found.append(("medical", s, e, False))
        if not found:
            continue
        found.sort(key=lambda f: (f[1], -f[2]))
        merged: list[tuple[Category, int, int, bool]] = []
        for flag in found:  # overlapping matches of one category become one phrase
            if merged and merged[-1][0] == flag[0] and flag[1] < merged[-1][2]:
                last = merged[-1]
                merged[-1] = (last[0], last[1], max(last[2], flag[2]), last[3] or flag[3])
            else:
                merged.append(flag)
        sentence = _Sentence(norm, sent_start, sent_end)
        for category, s, e, strong in merged:
            if medical_found and category == "medical":
                continue
            if sentence.flagged(category, s, e, strong):
                medical_found = medical_found or category == "medical"
                yield RedFlag(category, "", s, e)


class _Sentence:
    """Facts about one sentence, worked out once and only when a pattern matched in it."""

    def __init__(self, norm: str, start: int, end: int) -> None:
        self.norm, self.start, self.end = norm, start, end
        self.clauses = _spans(_CLAUSE_BREAK, norm, start, end) or [(start, end)]
        text = norm[start:end]
        self.past = bool(_PAST.search(text)) and not _PRESENT.search(text)
        self.urgent = bool(_URGENT.search(text))
        self.informational = _informational(norm, start, end)

    def clause_of(self, pos: int) -> tuple[int, int]:
        for start, end in self.clauses:
            if start <= pos < end:
                return start, end
        return self.start, self.end

    def flagged(self, category: Category, s: int, e: int, strong: bool) -> bool:
        norm = self.norm
        exclusion = _AFTER_EXCLUSIONS.get(category)
        if exclusion is not None and exclusion.match(norm, e, min(self.end, e + _LOOK_BACK)):
            return False
        clause_start, clause_end = self.clause_of(s)
        if _negated(norm, clause_start, s) or self.past:
            return False
        if strong or self.urgent or _bound_to_person(norm, clause_start, clause_end, s, e):
            return True
        return not self.informational


def find_red_flag(text: str) -> RedFlag | None:
    """The first sign of an emergency in a message, or None.

    A self-harm flag wins over a medical one (its message also gives the emergency numbers);
    otherwise the earliest flag in the text is returned.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        norm = _normalise(text)
        if len(norm) != len(text):  # cannot happen, but offsets must stay true
            return None
        first: RedFlag | None = None
        for flag in _candidates(norm):
            if flag.category == "self_harm":
                return RedFlag("self_harm", text[flag.start:flag.end], flag.start, flag.end)
            if first is None:
                first = RedFlag("medical", text[flag.start:flag.end], flag.start, flag.end)
        return first
    except (RecursionError, MemoryError):  # pragma: no cover - pathological input
        return None
