"""Aspect routing (issue 13): what a question asks about a cancer, and the sections its answer cites."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.aspects import Aspect, AspectRecogniser, Recognised, is_overview, prefer, recogniser


@pytest.mark.parametrize("text, aspect", [
    ("how is it treated?", "treatment"),
    ("treatment?", "treatment"),
    ("what treatments are there for it", "treatment"),
    ("tretment options", "treatment"),
    ("will she need chemo", "treatment"),
    ("should he have the operation", "treatment"),
    ("therapy", "treatment"),
    ("prognosis", "outlook"),
    ("prognossis?", "outlook"),
    ("whats the outlook for kids with it", "outlook"),
    ("what is the life expectancy", "outlook"),
    ("survival rate", "outlook"),
    ("how long do people live with it", "outlook"),
    ("is it hereditary", "genetics"),
    ("is it something he inherited from us?", "genetics"),
    ("does it run in families", "genetics"),
    ("is it genetic", "genetics"),
    ("No fever or bleeding, I just want to know how it is diagnosed", "diagnosis"),
    ("not in pain, but what is the outlook", "outlook"),
    ("inheritted?", "genetics"),
    ("what causes it? he was a farmer outdoors all his life", "causes"),
    ("is it because he smoked", "causes"),
    ("who is at risk", "causes"),
    ("symptoms", "symptoms"),
    ("sympotms?", "symptoms"),
    ("what are the signs", "symptoms"),
    ("how is it diagnosed", "diagnosis"),
    ("what tests will she need", "diagnosis"),
    ("does he need a biopsy", "diagnosis"),
    ("what are the stages", "stages"),
    ("how do they find out how far it has spread", "stages"),
    ("what are the side effects of the treatment", "side_effects"),
    ("will she lose her hair", "side_effects"),
    ("late effects?", "side_effects"),
    ("is there any research going on into it", "research"),
    ("research into it?", "research"),
    ("how do people cope living with it", "living"),
    ("is there a support group", "living"),
    ("how common is it", "how_common"),
    ("how rare is it?", "how_common"),
    ("what is it?", "what_is"),
    ("what's that", "what_is"),
    ("tell me about it", "what_is"),
    ("my sister has just been diagnosed with it. what is it?", "what_is"),
])
def test_recognises_what_is_asked(text, aspect):
    found = recogniser().run(text)
    assert found is not None and found.aspect.name == aspect


@pytest.mark.parametrize("text", [
    "hello", "thanks", "ok", "my dad was diagnosed with it last week", "testicular", "is it generic",
    "what is imatinib",  # asks about something else than the cancer: no aspect of it
    "",
])
def test_no_clear_aspect_is_none(text):
    assert recogniser().run(text) is None


def test_the_more_specific_aspect_wins():
    assert recogniser().run("what are the side effects of the treatment").aspect.name == "side_effects"
    assert recogniser().run("what is the treatment").aspect.name == "treatment"
    assert recogniser().run("is it genetic? what causes it").aspect.name == "causes"  # the last sentence asking


def test_bare_when_nothing_else_is_asked():
    assert recogniser().run("how is it treated?").bare
    assert not recogniser().run("how is stage 4 treated in adults?").bare


def test_sections_that_answer_an_aspect():
    r = recogniser()
    assert r.get("treatment").answered_by("Treatment of uterine sarcoma > Key Points")
    assert r.get("symptoms").answered_by("Signs and symptoms of desmoid tumor")
    assert r.get("genetics").answered_by("Inherited risk of desmoid tumor (genetics)")
    assert r.get("genetics").answered_by("Genetic changes related to desmoid tumor (causes)")
    assert r.get("what_is").answered_by("General information about Langerhans cell histiocytosis > Key Points")
    assert r.get("outlook").answered_by("General information about X > Certain factors affect prognosis (chance of recovery)")
    assert not r.get("what_is").answered_by("Stages of Langerhans cell histiocytosis > Treatment of LCH is based on where")
    assert not r.get("treatment").answered_by("Stages of Langerhans cell histiocytosis > Key Points")


def test_patterns_are_data():
    aspect = Aspect.from_dict({"name": "x", "phrases": ["look* after"], "headings": ["Care"], "except": ["looking after me"]})
    r = AspectRecogniser([aspect])
    assert r.run("who looks after her").aspect is aspect
    assert r.run("who is looking after me") is None
    assert aspect.answered_by("Care of X")


@dataclass
class Result:
    doc_id: str
    section: str
    confidence: float


def test_prefer_puts_the_aspects_sections_first_in_search_order():
    results = [Result("a", "Stages of X > Key Points", 0.9), Result("a", "Treatment of X > Stage IV", 0.8),
               Result("a", "Treatment of X > Key Points", 0.7), Result("a", "General information about X", 0.9)]
    specific = Recognised(recogniser().get("treatment"), bare=False)
    assert [r.section for r in prefer(results, specific)] == [
        "Treatment of X > Stage IV", "Treatment of X > Key Points", "Stages of X > Key Points", "General information about X"]
    overall = Recognised(recogniser().get("treatment"), bare=True)  # "how is it treated?": the section's summary
    assert prefer(results, overall)[0].section == "Treatment of X > Key Points"


def test_prefer_falls_back_to_the_search_order():
    results = [Result("a", "General information about X", 0.9), Result("a", "Treatment of X", 0.1),
               Result("general", "Treatment Centres", 0.9)]
    treatment = Recognised(recogniser().get("treatment"), bare=True)
    assert prefer(results, treatment, general={"general"}) == results  # too weak a match; a general page's heading
    assert prefer(results, None) == results
    assert prefer(results, Recognised(recogniser().get("research"), bare=True)) == results  # no such section


def test_overview_is_a_sections_top_or_key_points():
    assert is_overview("Treatment of X") and is_overview("Treatment of X > Key Points")
    assert not is_overview("Treatment of X > Stage IV")


# Through the engine, on the shipped knowledge.

@pytest.fixture
def engine(loaded):
    from bot.engine import Engine
    from bot.store import InMemoryStore

    return Engine(loaded, InMemoryStore())


def cited(reply):
    return [c for m in reply["messages"] for c in m.get("citations") or []][:3]


def text_of(reply):
    return " ".join(m["text"] for m in reply["messages"]).lower()


def test_what_is_cites_general_information(engine):
    reply = engine.handle("w1", "what is LCH")
    assert cited(reply) and cited(reply)[0]["section"].startswith("General information")


def test_how_is_it_treated_names_the_treatments(engine):
    engine.handle("u1", "my sister has just been diagnosed with uterine sarcoma. what is it?")
    reply = engine.handle("u1", "how is it treated?")
    assert cited(reply)[0]["section"].startswith("Treatment of")
    assert all(cited(reply)[0]["doc_id"] == c["doc_id"] or "uterine" in c["title"].lower() for c in cited(reply))
    text = text_of(reply)
    assert sum(t in text for t in ("surgery", "radiation therapy", "chemotherapy", "hormone therapy")) >= 3


@pytest.mark.parametrize("first, follow_up, heading", [
    ("i have a desmoid tumour", "symptoms", "Signs and symptoms"),
    ("my mum has langerhans cell histiocytosis", "prognosis", "Outlook"),
    ("my husband has kaposi sarcoma", "research into it?", "Research"),
])
def test_elliptical_follow_ups_cite_the_section_on_them(engine, first, follow_up, heading):
    engine.handle("e1", first)
    reply = engine.handle("e1", follow_up)
    assert any(c["section"].startswith(heading) for c in cited(reply))


@pytest.mark.parametrize("statement, cancer", [
    ("my daughter has hodgkin lymphoma", "Hodgkin lymphoma"),
    ("my son has acute lymphoblastic leukaemia", "acute lymphoblastic leukemia"),
])
def test_a_cancer_told_and_nothing_asked_gets_what_it_is(engine, statement, cancer):
    reply = engine.handle("told", statement)
    assert reply["cancer_type"] == cancer
    first = cited(reply)[0]
    assert first["section"].lower().startswith("general information"), first["section"]
