"""Cancer linking: the cancers a message names, known to the vocabulary or not.

Names in `knowledge/cancers.yml` are found by the entity extractor (exact, then tolerant of typos and
word order). A generic detector then notices neoplasm phrases no list holds ("a fibroxanthoma", "a
granular cell tumour of the breast"), so that an unknown cancer is noticed, not ignored, and a broad
name made specific ("neuroendocrine tumour of the lung") is not read as the broad one. A name under a
negation ("it's not a chordoma, it's a GIST") gives way to the names that are not negated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from rapidfuzz.distance import Levenshtein

from bot.english import is_english_word
from bot.entities import EntityExtractor, _edits_allowed, _tokens
from index.lexical import STOPWORDS
from knowledge.cancer_vocabulary import CancerVocabulary

# Words that make a phrase a neoplasm, and -oma words that are not neoplasms.
GENERIC_HEADS = frozenset({"cancer", "cancers", "tumor", "tumors", "carcinoma", "carcinomas", "neoplasm", "neoplasms",
                           "malignancy", "malignancies"})
NAMED_HEADS = frozenset({"sarcoma", "sarcomas", "lymphoma", "lymphomas", "leukemia", "leukemias", "melanoma",
                         "melanomas", "myeloma", "blastoma"})
NOT_NEOPLASMS = frozenset({"glaucoma", "coma", "comas", "stoma", "stomas", "diploma", "diplomas", "aroma", "aromas",
                           "trachoma", "hematoma", "hematomas", "granuloma", "granulomas", "atheroma", "scotoma",
                           "xanthoma", "xanthomas", "condyloma", "condylomas", "mycetoma", "cholesteatoma", "stroma",
                           "tuberculoma", "lymphogranuloma", "chromosoma", "oklahoma"})
_OMA = re.compile(r"^[a-z]{3,}om(?:a|as|ata)$")
# Words that qualify a cancer without changing which cancer it is.
MODIFIERS = frozenset({"rare", "malignant", "metastatic", "advanced", "recurrent", "relapsed", "refractory",
                       "aggressive", "early", "late", "stage", "grade", "high", "low", "primary", "secondary",
                       "invasive", "localized", "localised", "inoperable", "terminal", "new", "type", "kind", "form",
                       "cancerous", "malignant", "benign", "spread", "spreading", "large", "small", "big", "growing",
                       "slow", "fast", "untreated", "treated", "diagnosed", "possible", "suspected", "1", "2", "3", "4",
                       "i", "ii", "iii", "iv", "one", "two", "three", "four", "s", "end",
                       # who has it: where childhood and adult forms differ, the vocabulary names both
                       # ("childhood soft tissue sarcoma"), and the longer name is found first
                       "childhood", "pediatric", "paediatric", "adult", "adults", "child", "children",
                       "teenage", "teenager", "adolescent", "young", "elderly", "infant", "infants"})
# Words that end a phrase going backwards: people, verbs and question words are not part of a name.
_STOP_EXTENT = frozenset({"mum", "mom", "mother", "dad", "father", "son", "daughter", "husband", "wife", "partner",
                          "brother", "sister", "child", "baby", "friend", "aunt", "uncle", "grandma", "grandad",
                          "grandfather", "grandmother", "patient", "diagnosed", "diagnosis", "got", "has", "have",
                          "had", "called", "named", "told", "say", "said", "says", "think", "thinks", "know",
                          "treat", "treated", "treatment", "treatments", "cure", "symptoms", "signs", "stage",
                          "trial", "trials", "study", "studies", "survival", "prognosis", "tell", "explain",
                          "information", "info", "question", "questions", "about", "please", "thanks", "hi",
                          "hello", "like", "mean", "means", "common", "different", "same", "help", "find",
                          "looking", "search", "want", "need", "support", "group", "groups", "charity"})
# Function words (bm25s's stopword list is short: it keeps "my", "out" and "can").
FUNCTION_WORDS = STOPWORDS | frozenset({
    "my", "your", "his", "her", "our", "their", "me", "him", "them", "us", "i", "we", "you", "he", "she", "it", "its",
    "out", "up", "down", "off", "over", "get", "gets", "getting", "can", "could", "would", "should", "will", "may",
    "might", "must", "do", "does", "did", "done", "is", "are", "was", "were", "be", "been", "being", "have", "has",
    "had", "what", "whats", "which", "who", "how", "why", "when", "where", "there", "here", "so", "very", "just",
    "also", "too", "any", "some", "all", "both", "each", "more", "most", "other", "than", "then", "now", "from",
    "wasnt", "isnt", "dont", "doesnt", "didnt", "cant", "wont", "arent", "werent", "hasnt", "havent", "hadnt",
    "shouldnt", "couldnt", "wouldnt", "im", "ive", "thats", "whats", "theres", "hes", "shes"})
# Places in the body that say where a cancer is, not which one ("a sarcoma in the leg").
_BODY_REGIONS = frozenset({"leg", "legs", "arm", "arms", "thigh", "thighs", "knee", "knees", "shoulder", "hip", "hips",
                           "hand", "hands", "foot", "feet", "back", "chest", "face", "body", "side", "tummy", "belly",
                           "groin", "buttock", "calf", "shin", "elbow", "wrist", "ankle", "finger", "toe", "head"})
_NEGATIONS = frozenset({"not", "no", "isn", "isnt", "aren", "arent", "wasn", "wasnt", "never", "without",
                        "excluded", "ruled", "nt"})
_CLAUSE_BREAK = re.compile(r"[,.;:!?]|\bbut\b", re.IGNORECASE)
_NEGATION_REACH = 3  # tokens before a name that may negate it


@dataclass(frozen=True)
class CancerMention:
    name: str | None  # the vocabulary's canonical name; None for a neoplasm phrase no list holds
    text: str  # as written
    start: int
    end: int
    negated: bool = False

    @property
    def label(self) -> str:
        """What to call it in a reply: the canonical name, else the words as written."""
        return self.name or self.text

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "text": self.text, "start": self.start, "end": self.end, "negated": self.negated}


def _is_head(word: str) -> bool:
    return word in GENERIC_HEADS or word in NAMED_HEADS or (bool(_OMA.match(word)) and word not in NOT_NEOPLASMS)


def _specific(word: str) -> bool:
    """Does this word say which cancer it is (not "a", "rare", "cancer", "stage")?"""
    return word not in FUNCTION_WORDS and word not in MODIFIERS and word not in GENERIC_HEADS and not word.isdigit()


def _names(word: str) -> bool:
    """Does this word of a cancer's name say which cancer it is? A letter does ("T-cell lymphoma"),
    though a message's "t" is mostly a contraction's."""
    return _specific(word) or (len(word) == 1 and word.isalpha() and word not in MODIFIERS and word != "a")


class CancerLinker:
    def __init__(self, vocabulary: CancerVocabulary, extractor: EntityExtractor):
        self.vocabulary = vocabulary
        self.extractor = extractor
        # The words of every name in the vocabulary: those may qualify a head ("clear cell sarcoma").
        self.name_words = frozenset(w for key, (entity, _) in extractor.phrases.items() if entity == "cancer_type"
                                    for w in key.split()) - FUNCTION_WORDS - _STOP_EXTENT
        self._keys_of: dict[str, list[str]] = {}  # cancer -> its written forms, as the extractor keys them
        self._keys_by_head: dict[str, list[tuple[str, str]]] = {}  # last word -> (written form, cancer)
        for key, (entity, name) in extractor.phrases.items():
            if entity == "cancer_type":
                self._keys_of.setdefault(name, []).append(key)
                self._keys_by_head.setdefault(key.split()[-1], []).append((key, name))

    def to_dict(self) -> dict[str, object]:
        return {"type": "vocabulary+generic", "cancers": len(self.vocabulary),
                "phrases": sum(1 for e, _ in self.extractor.phrases.values() if e == "cancer_type")}

    def run(self, text: str) -> list[CancerMention]:
        """The cancers the message is about, in order; negated ones only when nothing else is named."""
        tokens = _tokens(text)
        known = [(e.start, e.end, e.value, e.text) for e in self.extractor.run(text) if e.entity == "cancer_type"]
        mentions = [self._misspelt_narrower(text, tokens, CancerMention(value, written, start, end))
                    for start, end, value, written in known]
        for start, end in self._neoplasm_phrases(tokens):
            inside = [m for m in mentions if m.start >= start and m.end <= end]
            overlapping = [m for m in mentions if m.start < end and m.end > start]
            if overlapping and not inside:
                continue
            if inside:
                named = {i for i, (_, s, e) in enumerate(tokens) if any(m.start <= s and e <= m.end for m in inside)}
                extra = [w for i, (w, s, e) in enumerate(tokens) if start <= s and e <= end and i not in named and _specific(w)]
                # A broad name made specific ("neuroendocrine tumour of the lung") is another cancer: the
                # narrower one whose names hold those words, else one no list holds. A narrow name with a
                # place ("Ewing sarcoma of the leg") is still itself.
                broad = [m for m in inside if self.vocabulary.children(m.name or "")]
                if not extra or not broad:
                    continue
                mentions = [m for m in mentions if m not in inside]
                narrower = self._narrower(broad[0], extra)
                if narrower:
                    mentions.append(CancerMention(narrower, text[start:end], start, end))
                    continue
            mentions.append(CancerMention(self._misspelt_name(text[start:end]), text[start:end], start, end))
        mentions = sorted((self._negated(text, tokens, m) for m in mentions), key=lambda m: m.start)
        affirmed = [m for m in mentions if not m.negated]
        return affirmed or mentions

    def names(self, text: str) -> list[str]:
        return _unique(m.label for m in self.run(text))

    def _neoplasm_phrases(self, tokens: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
        """Spans of "<qualifiers> <head> [of the <site>]" phrases that say which neoplasm they mean."""
        spans = []
        words = [w for w, _, _ in tokens]
        for i, word in enumerate(words):
            if not _is_head(word):
                continue
            first = i
            while first > 0 and i - first < 4 and self._qualifies(words[first - 1]):
                first -= 1
            last = i
            for _ in range(2):  # "of the ovary", "of the ampulla of Vater"
                j = last + 1
                if j < len(words) and words[j] in ("of", "in"):
                    j += 1
                    if j < len(words) and words[j] == "the":
                        j += 1
                    if j < len(words) and _specific(words[j]) and words[j] not in _BODY_REGIONS \
                            and (words[j] in self.name_words or self._unfamiliar(words[j])):
                        last = j
            phrase = words[first:last + 1]
            if any(_specific(w) for w in phrase) and not (len(phrase) == 1 and word in GENERIC_HEADS):
                spans.append((tokens[first][1], tokens[last][2]))
        return spans

    def _misspelt_name(self, written: str) -> str | None:
        """A neoplasm phrase no list holds that misspells one name of as many words ending in the same
        word ("merkel cel carcinoma"): that cancer, if it is the only nearest; else None (unknown)."""
        phrase = " ".join(_tokens_of(written))
        size = len(phrase.split())
        near = [(Levenshtein.distance(phrase, key), name) for key, name in self._keys_by_head.get(phrase.split()[-1], ())
                if len(key.split()) == size] if phrase else []
        near = [(d, name) for d, name in near if 0 < d <= _edits_allowed(phrase)]
        best = min((d for d, _ in near), default=None)
        names = {name for d, name in near if d == best}
        return names.pop() if len(names) == 1 else None

    def _misspelt_narrower(self, text: str, tokens: list[tuple[str, int, int]], mention: CancerMention) -> CancerMention:
        """A broad name after words that misspell the rest of a narrower cancer's name is that cancer:
        "mantel cell lymphoma" is mantle cell lymphoma, even though "mantel" is an English word (so the
        extractor took it for no typo), not lymphoma. Only the names of the broad cancer's narrower ones
        are tried, of as many words, within the extractor's allowed edits, and only one may be nearest."""
        first = next((i for i, (_, s, _) in enumerate(tokens) if s == mention.start), None)
        said = " ".join(_tokens_of(mention.text))
        # Names that end in what was said: the broad cancer's narrower ones first, else any ("merkel cel
        # carcinoma" is Merkel cell carcinoma, though the vocabulary files it under skin cancer).
        narrower = self.vocabulary.descendants(mention.name or "")
        keys = {key: name for name in narrower for key in self._keys_of.get(name, ())} or \
            {key: name for key, name in self._keys_by_head.get(said.split()[-1] if said else "", ())}
        if not keys or first is None:
            return mention
        for before in range(min(3, first), 0, -1):
            words = [w for w, _, _ in tokens[first - before:first]]
            if any(w in FUNCTION_WORDS or w in _STOP_EXTENT or w in MODIFIERS for w in words) or \
                    _CLAUSE_BREAK.search(text[tokens[first - before][1]:mention.start]):
                continue
            phrase = " ".join(words + [said])
            near = [(Levenshtein.distance(phrase, key), key) for key in keys
                    if key.endswith(" " + said) and len(key.split()) == len(phrase.split())]
            near = [(d, key) for d, key in near if 0 < d <= _edits_allowed(phrase)]
            best = min((d for d, _ in near), default=None)
            names = {keys[key] for d, key in near if d == best}
            if len(names) == 1:
                start = tokens[first - before][1]
                return CancerMention(names.pop(), text[start:mention.end], start, mention.end)
        return mention

    def _narrower(self, broad: CancerMention, words: list[str]) -> str | None:
        """The narrower cancer of a broad one that one of whose names says just these words and the broad
        name's ("lung neuroendocrine tumor" for "neuroendocrine tumour of the lung"), if exactly one does;
        not "spindle cell rhabdomyosarcoma" for "spindle cell sarcoma"."""
        said = set(words) | set(_tokens_of(broad.text)) | set(_tokens_of(broad.name or ""))
        found = []
        for name in self.vocabulary.descendants(broad.name or ""):
            cancer = self.vocabulary.get(name)
            if cancer and any(set(words) <= set(_tokens_of(p)) and not [w for w in set(_tokens_of(p)) - said
                                                                        if _names(w)] for p in cancer.phrases):
                found.append(name)
        return found[0] if len(found) == 1 else None

    def _qualifies(self, word: str) -> bool:
        """May this word, before a head, be part of a cancer's name?"""
        if word in FUNCTION_WORDS or word in _STOP_EXTENT or _is_head(word):
            return False
        return word in self.name_words or word in MODIFIERS or self._unfamiliar(word)

    def _unfamiliar(self, word: str) -> bool:
        """A word neither the sources nor English use: likely a medical term ("pilomatrix"), not "doctor",
        "husbands" or "Europe"."""
        return len(word) > 3 and word not in self.extractor.known_words and not word.isdigit() \
            and not is_english_word(word)

    @staticmethod
    def _negated(text: str, tokens: list[tuple[str, int, int]], mention: CancerMention) -> CancerMention:
        before = [(w, s) for w, s, e in tokens if e <= mention.start][-_NEGATION_REACH:]
        for word, start in reversed(before):
            if _CLAUSE_BREAK.search(text[start:mention.start]):
                break
            if word in _NEGATIONS:
                return CancerMention(mention.name, mention.text, mention.start, mention.end, negated=True)
        return mention


def _tokens_of(text: str) -> list[str]:
    return [word for word, _, _ in _tokens(text)]


def _unique(values: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
