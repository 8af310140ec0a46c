"""Scope gating: which documents a turn may be answered from, or why it may not be answered at all.

- A covered cancer: its own documents and the general pages; a group of cancers with no page of its own
  ("sarcoma"): the documents of the narrower cancers it includes.
- A cancer the sources don't cover: nothing; the reply says so by name.
- No cancer named and none in the conversation: any document, unless the message is a health question
  outside rare cancers, which the out-of-scope reply answers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Collection, Iterable

from bot.cancer_linker import FUNCTION_WORDS, CancerMention
from bot.english import is_english_word
from index.lexical import STOPWORDS, fold, words
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


# Words that narrow a cancer to its kind named "<prefix> <cancer>" (childhood Hodgkin lymphoma, male breast cancer).
QUALIFIERS: dict[str, frozenset[str]] = {
    "childhood": frozenset("""child children childs kid kids childhood paediatric pediatric baby babies infant infants
                              toddler toddlers teenager teenagers teen teens adolescent adolescents boy girl little""".split()),
    "adult": frozenset("""adult adults grownup grownups husband wife partner mum mom mother dad father grandad
                           grandma grandpa grandmother grandfather nan gran""".split()),
    "male": frozenset("men man male males".split()),
}
SAME_DISEASE = ("childhood", "adult")  # kinds that are the cancer itself at an age, not a variant of it
_AGE = re.compile(r"\b(\d{1,3})\s*-?\s*(?:years?|yrs?|yo)\b|\b(?:aged?|at|i'?m|im|i am|he'?s|she'?s|(?:he|she|boy|girl|son|"
                  r"daughter|child|kid|baby|husband|wife|mum|mom|dad) is)\s+(\d{1,2})\b"
                  r"(?!\s*(?:%|percent|cm|mm|kg|weeks?|months?|days?|times|stage|cycles?))")
ADULT_AGE = 18


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

    @cached_property
    def subjects(self) -> frozenset[str]:
        """The words some document is about, not just mentions (subject_words); made on first use."""
        return subject_words(self.documents.values())

    def narrowed(self, name: str, text: str) -> str:
        """The kind of a cancer a word of the message means, when the sources cover it: "can men get breast
        cancer?" is about male breast cancer, "the outlook for children with ALL" about childhood ALL, and
        "is it different for adults?" after it about adult ALL. Otherwise the cancer itself."""
        said = set(re.findall(r"[a-z]+", fold(text))) if text else set()
        ages = [int(a.group(1) or a.group(2)) for a in _AGE.finditer(text or "")]
        if ages:  # "my 15 year old daughter", "I'm 45 ... I thought only kids got that": the age decides
            said = {"child" if ages[0] < ADULT_AGE else "adult"}
        if not said:
            return name
        base = name
        for prefix in QUALIFIERS:  # "childhood Hodgkin lymphoma" asked about "adults": adult Hodgkin lymphoma
            if name.lower().startswith(prefix + " ") and self.vocabulary.get(name[len(prefix) + 1:]) is not None:
                base = self.vocabulary.canonical(name[len(prefix) + 1:]) or name[len(prefix) + 1:]
        for prefix, cues in QUALIFIERS.items():
            if said & cues:
                kind = next((k for k in self.vocabulary.descendants(base)
                             if k.lower() == f"{prefix} {base.lower()}" and self.covered(k)), None)
                if kind:
                    return kind
        return name

    def documents_for(self, name: str) -> frozenset[str]:
        """The documents about a cancer. A cancer with pages of its own is answered from those only, not
        from a variant's (DFSP is not answered from the page on Bednar tumour, a kind of DFSP); a group
        of cancers with none ("sarcoma") from those of the cancers it includes. A common cancer is no
        group: breast cancer is not answered from the page on male breast cancer."""
        found = set(self.by_cancer.get(name, ()))
        # the same cancer in children, adults or men is the same disease: its pages are the cancer's too
        entry = self.vocabulary.get(name)
        if entry is None or not entry.common:
            found.update(doc for prefix in SAME_DISEASE for doc in self.by_cancer.get(f"{prefix} {name}", ()))
        if not found and entry is not None and not entry.common:
            for narrower in self.vocabulary.descendants(name):
                found |= self.by_cancer.get(narrower, set())
        return frozenset(found)

    def narrower_covered(self, name: str) -> list[str]:
        """The narrower cancers of `name` with pages of their own, those with the most pages first."""
        found = [n for n in self.vocabulary.descendants(name) if self.by_cancer.get(n)]
        return sorted(found, key=lambda n: (-len(self.by_cancer[n]), n.lower()))

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
              refers_back: bool = False, text: str = "") -> Scope:
        """The scope of a turn: the cancers it names, else the conversation's, else none. With
        `refers_back` ("is it the same as a sarcoma?"), those it names and the conversation's cancer; the
        one just named comes first, so it is the cancer the conversation goes on with ("that one").
        A word of the message `text` may narrow a cancer to its kind ("for children": childhood ...)."""
        names = [m.label for m in mentions] or ([conversation_cancer] if conversation_cancer else [])
        if refers_back and conversation_cancer and mentions:
            names = names + [conversation_cancer]
        names = list(dict.fromkeys(self.narrowed(n, text) for n in names))
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


_IN_GENERAL = re.compile(r"\b(?:(?:a|an|any|all|most|other|some)\s+(?:rare\s+)?(?:cancer|tumou?r)s?|"
                         r"rare\s+(?:cancer|tumou?r)s|cancers)\b", re.IGNORECASE)


def about_cancers_in_general(text: str) -> bool:
    """Does a message ask about cancers in general ("what is a rare cancer?", "why are rare cancers hard
    to diagnose")? Then it is not about the cancer a conversation is on."""
    return bool(_IN_GENERAL.search(text))


def mentions_oncology(text: str) -> bool:
    folded = set(re.findall(r"[a-z0-9]+", fold(text)))
    return bool(folded & ONCOLOGY_WORDS)


# A word the sources only mention in passing (ibuprofen in a list of drugs, glaucoma or tinnitus among the
# symptoms a syndrome may bring) is no subject of theirs: they don't answer a question about it. A word is
# a subject where a title or heading uses it, or where the sentences of one section use it more than
# PASSING_MENTION times. A count over the whole corpus would not do: the more pages, the more passing
# mentions of everything (a GARD page lists dozens of symptoms, "Depression" or "Diabetes mellitus"
# among them), while no section dwells on them.
PASSING_MENTION = 2
_LIST_ITEM = re.compile(r"^\s*(?:[-*+\u2022|]|\d{1,3}[.)]\s)")
_HEADING = re.compile(r"^\s*#")
LIST_ENTRY_WORDS = 8  # a list item this short names things ("- Tinnitus"); a longer one is a sentence


def subject_words(documents: Iterable[dict[str, Any]]) -> frozenset[str]:
    """The words the documents are about somewhere: in a title or heading, or used more than
    PASSING_MENTION times in the sentences of one section (not in the short items of a list, which name
    things: symptoms, drugs, conditions)."""
    subjects: set[str] = set()
    for document in documents:
        subjects.update(words(document.get("title") or ""))
        folded = fold(document.get("text") or "")  # the whole text at once: folding is the slow part
        for section in re.split(r"(?m)^(?=\s*#)", folded):
            heading, _, body = section.partition("\n") if _HEADING.match(section) else ("", "", section)
            subjects.update(_folded_words(heading))
            counts: dict[str, int] = {}
            for line in body.splitlines():
                for word in _sentence_words(line):
                    counts[word] = counts.get(word, 0) + 1
            subjects.update(w for w, n in counts.items() if n > PASSING_MENTION)
    return frozenset(subjects)


def _folded_words(folded: str) -> list[str]:
    """`index.lexical.words` of a text already folded."""
    return [w for w in re.findall(r"[a-z0-9]+", folded) if w not in STOPWORDS]


def _sentence_words(line: str) -> list[str]:
    """The words of a line of running text, or of a list item long enough to be a sentence; [] else."""
    found = _folded_words(line)
    return found if len(found) > LIST_ENTRY_WORDS or not _LIST_ITEM.match(line) else []


def unknown_terms(text: str, rewriter: QueryRewriter, subjects: Collection[str] | None = None) -> list[str]:
    """Key terms the knowledge never uses, or (given `subjects`, the words it is about: Coverage.subjects)
    uses only in passing. A lay word the rewriter translates ("outlook") is known; a word the sources
    don't use counts as a typo of one they do only if it is no English word itself: "sarcomma", but not
    "hives"."""
    vocabulary = rewriter.vocabulary
    lay = {word for phrase in rewriter.lay_terms for word in phrase.split()}
    unknown = []
    for term in key_terms(text):
        if term in lay:
            continue
        if term in vocabulary:
            if subjects is not None and term not in subjects:
                unknown.append(term)
            continue
        fixed = None if is_english_word(term) else rewriter.correct(term)
        if not fixed or fixed not in vocabulary:
            unknown.append(term)
    return unknown
