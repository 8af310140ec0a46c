"""bot/safety/personal_questions.py and its replies: a kind deferral to the person's own care team,
who to ask and what, then the general information; never out of scope."""
from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.safety.personal_questions import DIAGNOSIS, FEELINGS, OUTCOME, TREATMENT, personal_question
from bot.store import InMemoryStore


@pytest.mark.parametrize("text, kind, person", [
    ("can you tell me if I have it?", DIAGNOSIS, "you"),
    ("do i have cancer", DIAGNOSIS, "you"),
    ("could my son have this?", DIAGNOSIS, "he"),
    ("is my lump cancer", DIAGNOSIS, "you"),
    ("will he lose his leg?", OUTCOME, "he"),
    ("how long has she got?", OUTCOME, "she"),
    ("how long does my dad have left", OUTCOME, "he"),
    ("is my daughter going to die", OUTCOME, "she"),
    ("will I survive this", OUTCOME, "you"),
    ("what are his chances", OUTCOME, "he"),
    ("will she be ok?", OUTCOME, "she"),
    ("will she go blind", OUTCOME, "she"),
    ("can i still play football after", OUTCOME, "you"),
    ("will my son be able to have children", OUTCOME, "he"),
    ("should I have the operation?", TREATMENT, "you"),
    ("should my mum stop her chemo", TREATMENT, "she"),
    ("i'm so scared", FEELINGS, "you"),
    ("we are terrified of losing him", FEELINGS, "he"),
    ("I can't stop crying", FEELINGS, "you"),
    ("he wont talk to me about any of it and im really struggling", FEELINGS, "he"),
    ("i feel so guilty, could i have passed it on to him", FEELINGS, "he"),
])
def test_personal_questions_are_recognised_with_whom_they_are_about(text, kind, person):
    found = personal_question(text)
    assert found is not None and (found.kind, found.person) == (kind, person)


@pytest.mark.parametrize("text", [
    "is it inherited?", "how is Ewing sarcoma treated?", "what is the outlook for chordoma?",
    "how long does treatment take?", "is polycythemia vera a cancer?", "what are the symptoms?",
    "hello", "", "can you find me a trial in the UK?", "what causes it?", "who is at risk for penile cancer?",
    "can they run tests on it?", "can they work out what type it is", "will they find it on a scan",
])
def test_general_questions_are_not_personal(text):
    assert personal_question(text) is None


@pytest.fixture
def engine(loaded):
    return Engine(loaded, InMemoryStore())


def test_a_personal_question_in_a_conversation_is_deferred_then_answered_in_general(loaded, engine):
    engine.handle("p", "My son is 14 and has Ewing sarcoma in his leg")
    reply = engine.handle("p", "will he lose his leg?")
    assert reply["intent"] == "ask_question" and reply["cancer_type"] == "Ewing sarcoma"
    deferral, *rest = reply["messages"]
    assert deferral["text"].startswith("I can't say what will happen to him") and not deferral["citations"]
    assert "His specialist team" in deferral["text"] and "You could ask them:" in deferral["text"]
    cited = [c for m in rest for c in m["citations"]]
    assert cited and all("Ewing sarcoma" in loaded.document(c["doc_id"])["cancer_types"] for c in cited)
    assert rest[0]["text"].startswith("Here is general information from the sources")


def test_a_personal_question_with_no_cancer_is_deferred_never_out_of_scope(engine):
    reply = engine.handle("q", "can you tell me if I have it?")
    assert reply["intent"] == "ask_question"
    assert reply["messages"][0]["text"].startswith("I can't tell whether you have it")
    assert not [c for m in reply["messages"] for c in m["citations"]]


def test_feelings_get_kindness_and_people_to_talk_to_not_quotes(engine):
    engine.handle("f", "my husband has just been diagnosed with chordoma")
    reply = engine.handle("f", "i'm so scared of losing him")
    assert reply["intent"] == "ask_question"
    message = reply["messages"][0]
    assert message["text"].startswith("I'm sorry you're going through this") and not message["citations"]
    assert [b["title"] for b in message["buttons"]] == ["Find a patient organisation", "About chordoma"]


def test_feelings_with_a_question_get_kindness_then_the_answer(engine):
    reply = engine.handle("fq", "my husband has been diagnosed with anal cancer, we're both in shock. what is it")
    kind, *answer = reply["messages"]
    assert kind["text"].startswith("I'm sorry you're going through this") and not kind["citations"]
    assert answer and answer[0]["citations"][0]["doc_id"] == "nci-anal-cancer"
