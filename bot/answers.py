"""Extractive answers: verbatim sentences of the retrieved passages with [n] markers, and their citations."""
from __future__ import annotations

import re

from bot import templates
from bot.messages import Message, citation_from_result
from bot.resources import Resources
from index.search import SearchResult

MAX_CITATIONS = 3
_MARKDOWN_PREFIX = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,3}[.)])\s+")
_FOLLOW_UP = re.compile(r"\b(it|its|it's|this|that|these|those|they|them|their)\b", re.IGNORECASE)


def answer_sentence(text: str) -> str:
    """A quoted sentence for the answer text: list markers and line breaks are layout, not words."""
    lines = [_MARKDOWN_PREFIX.sub("", line).strip() for line in text.splitlines()]
    return " ".join(line for line in lines if line)


def contextual_query(question: str, cancer_type: str | None, mentions_cancer: bool) -> str:
    """A follow-up ("and how is it treated?") is searched with the conversation's cancer type."""
    if cancer_type and not mentions_cancer and (_FOLLOW_UP.search(question) or len(question.split()) <= 6):
        return f"{question} {cancer_type}"
    return question


def _answer_text(resources: Resources, results: list[SearchResult], query: str) -> str:
    parts = []
    rewritten = resources.searcher.rewriter.run(query)
    used_sections: set[tuple[str, str]] = set()
    used_sentences: set[str] = set()  # key points repeat sentences of the text below them
    for number, result in enumerate(results[:2], start=1):
        if number == 2 and (result.confidence < resources.answer_threshold or
                            (result.doc_id, result.section) in used_sections):
            break
        text = resources.searcher.snapshot.documents[result.doc_id]["text"]
        spans = resources.searcher.best_spans(text, result.start, result.end, rewritten, n=2 if number == 1 else 1)
        sentences = [answer_sentence(span.text) for span in spans]
        fresh = [s for s in sentences if s and s.lower() not in used_sentences]
        used_sentences.update(s.lower() for s in fresh)
        if fresh:
            parts.append(f"{' '.join(fresh)} [{number}]")
        used_sections.add((result.doc_id, result.section))
    return " ".join(parts)


def answer_question(resources: Resources, question: str, cancer_type: str | None = None,
                    mentions_cancer: bool = False, personal: bool = False) -> tuple[list[Message], float]:
    """The answer messages, and the retrieval confidence they rest on."""
    query = contextual_query(question, cancer_type, mentions_cancer)
    results = resources.searcher.search(query, k=MAX_CITATIONS)
    confidence = results[0].confidence if results else 0.0
    citations = [citation_from_result(r) for r in results]
    if not results or confidence < resources.answer_threshold:
        return [Message(templates.NOT_SURE, citations=citations[:2])], confidence
    body = _answer_text(resources, results, query)
    messages = []
    if personal:
        messages.append(Message(templates.PERSONAL_TREATMENT))
        messages.append(Message(f"{templates.GENERAL_INFORMATION} {body}", citations=citations))
    else:
        messages.append(Message(body, citations=citations))
    return messages, confidence
