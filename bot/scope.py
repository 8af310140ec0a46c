"""Scope gating: which documents a turn may be answered from, or why it may not be answered at all.

- A covered cancer: its documents (and those of the narrower cancers it includes) and the general pages.
- A cancer the sources don't cover: nothing; the reply says so by name.
- No cancer named and none in the conversation: any document, unless the message is a health question
  outside rare cancers, which the out-of-scope reply answers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.cancer_linker import FUNCTION_WORDS, CancerMention
from bot.english import is_english_word
from index.lexical import fold, words
from index.query import QueryRewriter
from knowledge.cancer_vocabulary import FAMILIES, CancerVocabulary

# Words that tie a message to cancer care even when it names no cancer.
ONCOLOGY_WORDS = frozenset({
    "cancer", "cancers", "tumor", "tumors", "carcinoma", "carcinomas", "sarcoma", "sarcomas", "neoplasm", "neoplasms",
    "malignant", "malignancy", "oncology", "oncologist", "oncologists", "chemo", "chemotherapy", "radiotherapy",
    "radiation", "metastasis", "metastases", "metastatic", "biopsy", "staging", "remission", "palliative",
    "trial", "trials", "rare", "genomics", "genome", "carcinoid", "lymphoma", "leukemia", "melanoma", "myeloma",
    "immunotherapy", "relapse", "recurrence", "hospice", "survivorship", "rarecare", "rarecarenet", "esmo", "ecpc",
    "irci", "euracan", "nci", "pdq", "cruk", "reference", "centres", "centers", "network", "registry", "registries",
    "organisation", "organisations", "organization", "organizations", "expertise", "european", "europe",
    "stage", "stages", "prognosis", "lymph",
})
# Words of any question, which say nothing about its subject.
_QUESTION_WORDS = frozenset({
    "what", "how", "why", "when", "where", "which", "who", "whom", "can", "could", "would", "should", "does", "do",
    "did", "is", "are", "was", "were", "will", "tell", "know", "want", "need", "help", "get", "got", "take", "taking",
    "make", "mean", "means", "cause", "causes", "caused", "happen", "normal", "best", "good", "bad", "long", "much",
    "many", "often", "way", "ways", "thing", "things", "someone", "people", "person", "day", "days", "night", "time",
    "year", "years", "old", "new", "really", "safe", "ok", "okay", "still", "always", "never", "sometimes", "feel",
    "feeling", "lot", "little", "bit", "stop", "start", "keep", "go", "going", "use", "using", "try", "like", "hi",
    "hello", "please", "thanks", "thank", "mum", "mom", "dad", "son", "daughter", "husband", "wife", "child",
    "children", "kids", "baby", "toddler", "friend", "family", "doctor", "gp", "nurse", "hospital",
})


@dataclass(frozen=True)
class Scope:
    cancers: tuple[str, ...] = ()  # covered cancers the turn is about
    uncovered: tuple[str, ...] = ()  # cancers it names that the sources don't cover
    doc_ids: frozenset[str] | None = None  # documents it may cite; None: any
    broader: tuple[str, ...] = ()  # covered broader cancers an uncovered one is a kind of

    @property
    def not_covered(self) -> bool:
        return bool(self.uncovered) and not self.cancers

    @property
    def cancer_type(self) -> str | None:
        """The cancer the turn is about, for the reply's contract and the conversation's slot."""
        return (self.cancers + self.uncovered or (None,))[0]


@dataclass
class Coverage:
    """Which documents are about which cancers, from the index's documents and the vocabulary."""

    vocabulary: CancerVocabulary
    documents: dict[str, dict[str, Any]]
    by_cancer: dict[str, set[str]] = field(init=False)
    general: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.by_cancer = {}
        general = set()
        for doc_id, document in self.documents.items():
            names = document.get("cancer_types") or []
            if not names:
                general.add(doc_id)
            for name in names:
                canonical = self.vocabulary.canonical(name) or name
                self.by_cancer.setdefault(canonical, set()).add(doc_id)
        self.general = frozenset(general)

    def documents_for(self, name: str) -> frozenset[str]:
        """The documents about a cancer, or, for a group of cancers ("sarcoma"), about any it includes.
        A common cancer is no group: breast cancer is not answered from the page on male breast cancer."""
        found = set(self.by_cancer.get(name, ()))
        entry = self.vocabulary.get(name)
        if entry is not None and not entry.common:
            for narrower in self.vocabulary.descendants(name):
                found |= self.by_cancer.get(narrower, set())
        return frozenset(found)

    def covered(self, name: str | None) -> bool:
        return bool(name) and bool(self.documents_for(name or ""))

    def covered_cancers(self) -> list[str]:
        return sorted(self.by_cancer, key=str.lower)

    def catalogue(self) -> dict[str, Any]:
        """The cancers the documents are about, by family, each with its documents, and the general
        pages: what `/api/cancers` and the `/cancers` page show."""
        def listed(doc_ids: Any) -> list[dict[str, str]]:
            return [{"doc_id": d, "title": self.documents[d].get("title", ""),
                     "publisher": self.documents[d].get("publisher", "")}
                    for d in sorted(doc_ids, key=lambda d: self.documents[d].get("title", "").lower())]

        families: dict[str, list[dict[str, Any]]] = {}
        for name in self.covered_cancers():
            entry = self.vocabulary.get(name)
            families.setdefault(entry.family if entry else "other", []).append(
                {"name": name, "documents": listed(self.by_cancer[name])})
        order = {family: i for i, family in enumerate(FAMILIES)}
        return {"families": [{"family": f, "cancers": families[f]} for f in sorted(families, key=order.get)],
                "general": listed(self.general)}

    def scope(self, mentions: list[CancerMention], conversation_cancer: str | None = None,
              refers_back: bool = False) -> Scope:
        """The scope of a turn: the cancers it names, else the conversation's, else none. With
        `refers_back` ("is it the same as a sarcoma?"), the conversation's cancer and those it names."""
        names = [m.label for m in mentions] or ([conversation_cancer] if conversation_cancer else [])
        if refers_back and conversation_cancer and mentions:
            names = [conversation_cancer] + names
        names = list(dict.fromkeys(names))
        # "is polycythaemia vera a blood cancer?" is about polycythaemia vera, not blood cancers.
        broader = {a for n in names for a in self.vocabulary.ancestors(n)}
        names = [n for n in names if n not in broader] or names
        covered = tuple(n for n in names if self.covered(n))
        uncovered = tuple(n for n in names if not self.covered(n))
        if not names:
            return Scope()
        doc_ids = frozenset().union(*(self.documents_for(n) for n in covered)) | self.general if covered else frozenset()
        nearest = (next((a for a in self.vocabulary.ancestors(n) if self.covered(a)), None) for n in uncovered)
        broader = tuple(dict.fromkeys(a for a in nearest if a))
        return Scope(covered, uncovered, doc_ids, broader)


def key_terms(text: str) -> list[str]:
    """The words that say what a message is about: no stopwords, no question words."""
    return [w for w in words(text) if w not in _QUESTION_WORDS and w not in FUNCTION_WORDS and not w.isdigit() and len(w) > 2]


def mentions_oncology(text: str) -> bool:
    folded = set(re.findall(r"[a-z0-9]+", fold(text)))
    return bool(folded & ONCOLOGY_WORDS)


# A question's most specific word that the sources use this rarely or less is only mentioned in passing
# there (ibuprofen in a list of drugs, glaucoma among other eye problems): they don't answer it.
PASSING_MENTION = 3


def unknown_terms(text: str, rewriter: QueryRewriter, passing: bool = True) -> list[str]:
    """Key terms the knowledge never uses, or (with `passing`) uses only in passing. A lay word the
    rewriter translates ("outlook") is known; a word the sources don't use counts as a typo of one they
    do only if it is no English word itself: "sarcomma", but not "hives"."""
    vocabulary = rewriter.vocabulary
    lay = {word for phrase in rewriter.lay_terms for word in phrase.split()}
    unknown = []
    for term in key_terms(text):
        if term in lay:
            continue
        if term in vocabulary:
            if passing and vocabulary[term] <= PASSING_MENTION:
                unknown.append(term)
            continue
        fixed = None if is_english_word(term) else rewriter.correct(term)
        if not fixed or fixed not in vocabulary:
            unknown.append(term)
    return unknown
