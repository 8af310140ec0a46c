"""Extractive answers: verbatim sentences of the retrieved passages with [n] markers, and their citations.

Every answer is gated by its scope (bot/scope.py): a covered cancer is answered only from its own
documents and the general pages; a cancer the sources don't cover gets a reply saying so by name; a
health question outside rare cancers gets the out-of-scope reply. None of these cite another cancer.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from bot import aspects, composition, templates
from bot.aspects import Recognised
from bot.cancer_linker import CancerMention
from bot.messages import Message, button, citation_from_result
from bot.resources import Resources
from bot.safety.personal_questions import FEELINGS, PersonalQuestion
from bot.scope import Scope, about_cancers_in_general, key_terms, mentions_oncology, unknown_terms
from index.lexical import fold
from index.search import SearchResult

MAX_CITATIONS = 3
ASPECT_POOL = 40  # passages searched when a question asks about one aspect, to find its section among
ANSWERED, NOT_SURE, NOT_COVERED = "answered", "not_sure", "not_covered"
_FOLLOW_UP = re.compile(r"\b(it|its|it's|this|that|these|those|they|them|their)\b", re.IGNORECASE)
_ABOUT_SOMEONE = re.compile(r"\b(?:it|its|it's|this|that|he|she|his|her|him|he's|she's|hes|shes)\b", re.IGNORECASE)
_ASKS = re.compile(r"\?|(?:^|[.!,;]\s*)(?:what|how|why|where|when|which|who|is|are|can|could|does|do|will|should)\b",
                   re.IGNORECASE)  # a message that asks something, besides saying how the person feels
_SWITCH = re.compile(r"^\W*(?:and\s+)?(?:what|how)\s+about\b", re.IGNORECASE)  # "what about chondrosarcoma? ..."


@dataclass
class Answer:
    messages: list[Message]
    confidence: float
    status: str  # answered, not_sure or not_covered
    cancer_type: str | None = None
    off_topic: bool = False  # a question outside rare cancers altogether

    def __post_init__(self) -> None:
        for message in self.messages:
            message.answer_status, message.cancer_type = self.status, self.cancer_type


def contextual_query(question: str, cancer_type: str | None, mentions_cancer: bool) -> str:
    """A follow-up ("and how is it treated?") is searched with the conversation's cancer type."""
    if cancer_type and not mentions_cancer and (_FOLLOW_UP.search(question) or len(question.split()) <= 6):
        return f"{question} {cancer_type}"
    return question


def asked_aspect(resources: Resources, question: str, mentions: list[CancerMention], scope: Scope) -> Recognised | None:
    """What the question asks about a covered cancer (treatment, outlook...), when it is searched within
    that cancer's pages (or its kinds' pages); None otherwise, or when it asks about no aspect in particular."""
    if scope.doc_ids is None or not scope.cancers:
        return None
    for mention in mentions:  # the cancer's name is not what is asked about ("what is LCH")
        question = question[:mention.start] + " " * (mention.end - mention.start) + question[mention.end:]
    recognised = aspects.recogniser().run(question)
    if recognised is None and mentions and not _ASKS.search(question):
        # "my son has acute lymphoblastic leukaemia": told a cancer, asked nothing; what it is comes first
        return Recognised(aspects.recogniser().get("what_is"), bare=True)
    return recognised


def _answer_text(resources: Resources, results: list[SearchResult], query: str,
                 aspect: Recognised | None = None) -> str:
    """The best sentences of the first one or two results, each with its context and marker, after a
    lead naming the pages they come from."""
    parts, quoted = [], []
    # the sentences that address the aspect asked about ("Four types of standard treatment are used:")
    rewritten = resources.searcher.rewriter.run(f"{query} {' '.join(aspect.aspect.cues)}" if aspect else query)
    used_sections: set[tuple[str, str]] = set()
    used_sentences: set[str] = set()  # key points repeat sentences of the text below them
    for number, result in enumerate(results[:2], start=1):
        if number == 2 and (result.confidence < resources.answer_threshold or
                            (result.doc_id, result.section) in used_sections):
            break
        document = resources.searcher.snapshot.documents[result.doc_id]
        spans = resources.searcher.best_spans(document["text"], result.start, result.end, rewritten,
                                              n=2 if number == 1 else 1)
        keys = [composition.answer_sentence(span.text).lower() for span in spans]
        fresh = [(span.start, span.end) for span, key in zip(spans, keys) if key and key not in used_sentences]
        used_sentences.update(keys)
        composed = composition.compose(document["text"], (result.start, result.end), fresh, required=not parts)
        if fresh and composed:
            parts.append(f"{composed} [{number}]")
            quoted.append(document)
        used_sections.add((result.doc_id, result.section))
    if not parts:
        return ""
    body = composition.join(parts)
    return f"{composition.source_lead(quoted)}{chr(10) if body.startswith('- ') else ' '}{body}"


_SECTIONS: dict[str, dict[str, frozenset[str]]] = {}  # build id -> doc_id -> section labels


def _sections_of(resources: Resources, doc_id: str) -> frozenset[str]:
    snapshot = resources.searcher.snapshot
    if snapshot.build_id not in _SECTIONS:
        labels: dict[str, set[str]] = {}
        for passage in snapshot.passages:
            labels.setdefault(passage.doc_id, set()).add(passage.section_label)
        _SECTIONS.clear()  # one build at a time
        _SECTIONS[snapshot.build_id] = {d: frozenset(s) for d, s in labels.items()}
    return _SECTIONS[snapshot.build_id].get(doc_id, frozenset())


def sources_cover(resources: Resources, scope: Scope, aspect: Recognised) -> bool:
    """Does a page on the cancer have a section on the aspect asked about (its treatment, its outlook)?"""
    pages = (scope.doc_ids or frozenset()) - resources.coverage.general
    return any(aspect.aspect.answered_by(section) for doc_id in pages for section in _sections_of(resources, doc_id))


def _payload(intent: str, cancer: str | None) -> str:
    return f"/{intent}{json.dumps({'cancer_type': cancer})}" if cancer else f"/{intent}"


KINDS_SHOWN = 4  # kinds of a group named, and offered as buttons, in a reply


def kinds_of(resources: Resources, group: str) -> tuple[str, list[dict[str, str]]]:
    """"These kinds of leukemia: A, B, C, D and 3 more", with a button for each named one; ("", []) if none."""
    kinds = resources.coverage.narrower_covered(group)
    if not kinds:
        return "", []
    shown = kinds[:KINDS_SHOWN]
    named = listing(shown + ([f"{len(kinds) - len(shown)} more"] if len(kinds) > len(shown) else []), "and")
    return (templates.GROUP_KINDS.format(group=group, kinds=named),
            [button(f"About {kind}", f"What is {kind}?") for kind in shown])


def not_covered_answer(resources: Resources, scope: Scope) -> Answer:
    """"I don't have information about chordoma": by name, with what does apply, and no citation."""
    names = listing(scope.uncovered, "or")
    known = next((n for n in scope.uncovered if resources.vocabulary.get(n)), None)
    text = templates.NOT_COVERED.format(cancer=names)
    kinds, buttons = kinds_of(resources, scope.uncovered[0])  # "leukemia": the kinds of it the pages cover
    if kinds:
        text += " " + kinds
    elif scope.broader:
        sentence = templates.BROADER_COVERED.format(cancer=scope.uncovered[0], broader=scope.broader[0])
        text += " " + sentence[:1].upper() + sentence[1:]
        buttons.append(button(f"About {scope.broader[0]}", f"What is {scope.broader[0]}?"))
    buttons += [button("Find a patient organisation", _payload("find_organisation", known)),
                button("Find a clinical trial", _payload("find_trial", known)),
                button("What is a rare cancer?")]
    return Answer([Message(text, buttons=buttons)], 0.0, NOT_COVERED, scope.cancer_type)


def listing(names: list[str] | tuple[str, ...], conjunction: str) -> str:
    """"a", "a and b", "a, b and c"."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def _specific_cancers(resources: Resources, results: list[SearchResult]) -> list[str]:
    """The cancers whose pages these results come from (none for general pages)."""
    names = [name for r in results for name in (resources.document(r.doc_id) or {}).get("cancer_types") or []]
    return list(dict.fromkeys(names))


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def _names_of(resources: Resources, cancer: str) -> list[str]:
    """The written forms of a cancer, folded to words: its vocabulary names, or the words as written."""
    entry = resources.vocabulary.get(cancer)
    forms = (entry.phrases + entry.abbreviations) if entry else (cancer,)
    return [f" {' '.join(words_of(form))} " for form in forms if words_of(form)]


def _general_pages_on(resources: Resources, question: str, scope: Scope) -> list[SearchResult]:
    """Passages of the general pages that name an uncovered cancer and answer the question well
    ("which rare brain cancers are in the genomics project?"), best first; [] if none does."""
    results = resources.searcher.search(question, k=MAX_CITATIONS, doc_ids=resources.coverage.general)
    forms = [form for cancer in scope.uncovered for form in _names_of(resources, cancer)]
    naming = [r for r in results if any(form in f" {' '.join(words_of(r.quote))} " for form in forms)]
    return naming if naming and naming[0].confidence >= resources.answer_threshold else []


def _general_pages_answer(resources: Resources, question: str, scope: Scope) -> Answer | None:
    """For a cancer the sources don't cover: what a general page says of it, if one names it. That
    answers a question about something else the page says ("which rare brain cancers are in the
    genomics project?"), not "what is a brain tumour?", which stays not covered."""
    general = _general_pages_on(resources, question, scope)
    if not general:
        return None
    cancer_words = {w for cancer in scope.uncovered for form in _names_of(resources, cancer) for w in form.split()}
    asked = [t[:5] for t in key_terms(question) if t not in cancer_words]
    quoted = {w[:5] for r in general for w in words_of(r.quote)}
    answered = bool(asked) and sum(t in quoted for t in asked) * 2 > len(asked)
    lead = templates.GENERAL_PAGES_ONLY if answered else f"{templates.NOT_COVERED} {templates.GENERAL_PAGES_MENTION}"
    body = _answer_text(resources, general, question)
    return Answer([Message(lead.format(cancer=listing(scope.uncovered, "or"))),
                   Message(body, citations=[citation_from_result(r) for r in general])],
                  general[0].confidence, ANSWERED if answered else NOT_COVERED, scope.cancer_type)


def about_a_cancer(resources: Resources, text: str, conversation_cancer: str | None) -> bool:
    """Is this message about a cancer, whatever an intent classifier thought: it names one (known or
    not), or the conversation is about one and the message uses no word the sources don't?"""
    if resources.linker.run(text):
        return True
    # in a conversation about a cancer, words its pages use only in passing still belong to it ("lose his
    # leg"), and so does a message about the person or the cancer discussed ("was it caused by her smoking")
    return bool(conversation_cancer) and (bool(_ABOUT_SOMEONE.search(text))
                                          or not unknown_terms(text, resources.searcher.rewriter))


def is_off_topic(resources: Resources, question: str, confidence: float | None = None) -> bool:
    """A question outside rare cancers (no cancer named in it or the conversation): no word of cancer
    care, and either words the sources never use, or only in passing (metformin, hantavirus, glaucoma),
    or no passage that matches it well (`confidence`: the best retrieval confidence, searched if None)."""
    if mentions_oncology(question):
        return False
    searcher = resources.searcher
    if unknown_terms(question, searcher.rewriter, resources.coverage.subjects):
        return True
    if confidence is None:
        results = searcher.search(question, k=1)
        confidence = results[0].confidence if results else 0.0
    return confidence < resources.domain_threshold


def answer_question(resources: Resources, question: str, conversation_cancer: str | None = None,
                    personal: PersonalQuestion | None = None, scope: Scope | None = None) -> Answer:
    """The answer to a question, within the scope of the cancers it (or the conversation) names. A personal
    question ("will he lose his leg?") gets a kind deferral first, then the general information, if any."""
    answer = _answer(resources, question, conversation_cancer, scope)
    if not personal:
        return answer
    # "we're both in shock. what is it": kind words, and the answer too
    return with_deferral(answer, personal, asks_too=bool(_ASKS.search(question)))


def with_deferral(answer: Answer, personal: PersonalQuestion, asks_too: bool = False) -> Answer:
    """Who can answer a personal question and what to ask them; then what the sources say in general.
    Never out of scope: with nothing general to add, the deferral is the whole reply."""
    cancer = answer.cancer_type
    person = personal.person if personal.kind != FEELINGS else "you"
    asked = PersonalQuestion(personal.kind, person)
    text = templates.PERSONAL[personal.kind].format(
        person=person, object=asked.object, possessive=asked.possessive, Possessive=asked.possessive.capitalize(),
        has="have" if person in ("you", "they") else "has")
    if personal.kind == FEELINGS:  # no quotes for feelings: an offer of people to talk to, and of information
        buttons = [button("Find a patient organisation", _payload("find_organisation", cancer))]
        if asks_too and answer.status == ANSWERED:
            return Answer([Message(text, buttons=buttons)] + list(answer.messages), answer.confidence, ANSWERED, cancer)
        if cancer:
            buttons.append(button(f"About {cancer}", f"What is {cancer}?"))
        return Answer([Message(text, buttons=buttons)], answer.confidence, NOT_SURE, cancer)
    deferral = Message(text)
    if answer.off_topic or answer.status == NOT_SURE:
        return Answer([deferral], answer.confidence, NOT_SURE, cancer)
    messages = list(answer.messages)
    for message in messages:
        if message.citations and answer.status == ANSWERED:
            message.text = f"{templates.GENERAL_INFORMATION}\n{message.text}"
            break
    return Answer([deferral] + messages, answer.confidence, answer.status, cancer)


def _answer(resources: Resources, question: str, conversation_cancer: str | None = None,
            scope: Scope | None = None) -> Answer:
    mentions = resources.linker.run(question)
    if conversation_cancer:  # a slot a Rasa server filled holds nlu.yml's spelling of the name
        conversation_cancer = resources.entities.exact("cancer_type", conversation_cancer) or conversation_cancer
    if not mentions and about_cancers_in_general(question) and not _FOLLOW_UP.search(question):
        conversation_cancer = None  # "what is a rare cancer?" in a conversation about Ewing sarcoma
    # "is that the same as X?" is about both; "what about X, what are its symptoms?" about X alone
    refers_back = bool(_FOLLOW_UP.search(question)) and not (mentions and _SWITCH.match(question))
    scope = scope or resources.coverage.scope(mentions, conversation_cancer, refers_back=refers_back, text=question)
    if scope.not_covered:
        return _general_pages_answer(resources, question, scope) or not_covered_answer(resources, scope)
    about = scope.cancers[0] if scope.cancers else None
    query = contextual_query(question, about, mentions_cancer=bool(mentions))
    aspect = asked_aspect(resources, question, mentions, scope)
    searched = resources.searcher.search(query, k=ASPECT_POOL if aspect else MAX_CITATIONS, doc_ids=scope.doc_ids)
    # the cancer's sections on what is asked first
    results = aspects.prefer(searched, aspect, general=resources.coverage.general)[:MAX_CITATIONS]
    confidence = max((r.confidence for r in results[:1] + searched[:1]), default=0.0)
    if not scope.cancers and is_off_topic(resources, question, confidence):
        return Answer([Message(templates.OUT_OF_SCOPE)], confidence, NOT_COVERED, None, off_topic=True)
    citations = [citation_from_result(r) for r in results]
    if not results or confidence < resources.answer_threshold:
        # The closest sources, only from the cancer asked about or the general pages.
        allowed = scope.doc_ids if scope.doc_ids is not None else resources.coverage.general
        closest = [c for c in citations if c["doc_id"] in allowed][:2]
        return Answer([Message(templates.NOT_SURE, citations=closest)], confidence, NOT_SURE, scope.cancer_type)
    body = _answer_text(resources, results, query, aspect)
    messages = []
    pages_about = _specific_cancers(resources, results[:2]) if scope.doc_ids is None else []
    if pages_about:  # "what are the side effects of chemo?": say whose pages these are
        messages.append(Message(templates.FROM_PAGES_ABOUT.format(cancers=listing(pages_about, "and"))))
    group = about if about and not resources.coverage.by_cancer.get(about) else None
    subjects = [types[0] for r in results[:2] if (types := (resources.document(r.doc_id) or {}).get("cancer_types"))]
    if group and subjects:  # "what is lymphoma?", from the pages on kinds of lymphoma: say so, and offer the others
        messages.append(Message(templates.GROUP_PAGES.format(group=group, cancers=listing(
            list(dict.fromkeys(subjects)), "and"))))  # each page's own subject
    if aspect and about and not sources_cover(resources, scope, aspect):  # "how is it treated?": nothing on that
        messages.append(Message(templates.ASPECT_NOT_IN_SOURCES.format(cancer=about, topic=aspect.aspect.topic)))
    if scope.uncovered:
        messages.append(Message(templates.PARTLY_COVERED.format(uncovered=listing(scope.uncovered, "or"),
                                                                covered=listing(scope.cancers, "and"))))
    messages.append(Message(body, citations=citations))
    if group:
        kinds, buttons = kinds_of(resources, group)
        if kinds:
            messages.append(Message(kinds, buttons=buttons))
    return Answer(messages, confidence, ANSWERED, scope.cancer_type)
