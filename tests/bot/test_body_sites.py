"""bot/body_sites.py: the organ a message names makes a broad cancer specific, from data/sites.yml."""
from __future__ import annotations

import pytest

from bot.body_sites import SiteLinker
from bot.cancer_linker import CancerMention
from knowledge.cancer_vocabulary import load_vocabulary


@pytest.fixture(scope="module")
def sites():
    return SiteLinker.load(load_vocabulary())


def names(linker: SiteLinker, text: str, mentions: list[CancerMention]) -> list[str | None]:
    return [m.name for m in linker.run(text, mentions)]


def test_a_broad_name_on_an_organ_is_that_organs_kind(sites):
    text = "im 31 and theyve found a germ cell tumour on my left ovary"
    broad = CancerMention("germ cell tumor", "germ cell tumour", 25, 41)
    assert names(sites, text, [broad]) == ["ovarian germ cell tumor"]


def test_the_organ_that_made_a_name_specific_is_no_cancer_of_its_own(sites):
    text = "my dad had a carcinoid tumour found in his small bowel on a scan"
    carcinoid = CancerMention("neuroendocrine tumor", "carcinoid tumour", 13, 29)
    bowel = CancerMention("small intestine cancer", "small bowel", 43, 54)
    assert names(sites, text, [carcinoid, bowel]) == ["gastrointestinal carcinoid tumor"]


def test_a_bare_cancer_and_an_organ_name_the_cancer(sites):
    text = "he has cancer at the back of his throat, the oropharynx they called it"
    assert names(sites, text, []) == ["oropharyngeal cancer"]


@pytest.mark.parametrize("text", [
    "my dad has cancer that has spread to his liver",
    "it's gone to her bones and her liver now",
    "the cancer reached his bladder",
])
def test_where_a_cancer_spread_to_is_not_where_it_began(sites, text):
    assert names(sites, text, []) == []


def test_a_specific_name_stays_whatever_the_organ(sites):
    text = "my son has Ewing sarcoma in the bone of his leg"
    ewing = CancerMention("Ewing sarcoma", "Ewing sarcoma", 11, 24)
    assert names(sites, text, [ewing]) == ["Ewing sarcoma"]


def test_a_site_needs_its_adjectives():
    with pytest.raises(ValueError, match="sites.yml"):
        SiteLinker(load_vocabulary(), {"ovary": []})


def test_through_the_engine_the_conversation_goes_on_with_the_sited_cancer(loaded):
    from bot.engine import Engine
    from bot.store import InMemoryStore

    engine = Engine(loaded, InMemoryStore())
    first = engine.handle("site", "my husbands just been diagnosed with cancer at the back of his throat, the "
                                  "oropharynx they called it. what actually is it?")
    assert first["cancer_type"] == "oropharyngeal cancer"
    reply = engine.handle("site", "wat treatments are there")
    assert reply["intent"] == "ask_question" and reply["cancer_type"] == "oropharyngeal cancer"
    assert {c["doc_id"] for m in reply["messages"] for c in m["citations"]} <= {"nci-oropharyngeal-cancer"}
