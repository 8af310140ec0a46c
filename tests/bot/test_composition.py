"""Answer composition (issue 13): sentences with their context, lists laid out, a lead naming the pages."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.composition import compose, publisher_names, source_lead, spoken_publisher
from bot.engine import Engine
from bot.store import InMemoryStore
from index.sentences import sentence_spans

DOCUMENTS = Path(__file__).resolve().parents[2] / "knowledge" / "documents"


def choose(text: str, *starts: str) -> list[tuple[int, int]]:
    """The sentence spans of `text` that begin with each of `starts`."""
    spans = sentence_spans(text)
    return [next(span for span in spans if text[span[0]:].startswith(start)) for start in starts]


def test_a_sentence_that_refers_back_comes_with_the_one_before():
    text = "Ewing sarcoma is rare. Signs include swelling and pain. These and other signs may have other causes."
    assert compose(text, (0, len(text)), choose(text, "These")) == (
        "Signs include swelling and pain. These and other signs may have other causes.")


def test_a_sentence_standing_alone_comes_alone():
    text = "Ewing sarcoma is rare. Signs include swelling and pain. It is treated in specialist centres."
    assert compose(text, (0, len(text)), choose(text, "Signs")) == "Signs include swelling and pain."


def test_a_list_it_introduces_follows_one_item_a_line_and_ends_where_full_sentences_begin():
    text = ("- There are different types of treatment.\n- Four types of standard treatment are used:\n"
            "- Surgery\n- Radiation therapy\n- Chemotherapy\n- Hormone therapy\n"
            "- New types of treatment are being tested in clinical trials.\n")
    assert compose(text, (0, len(text)), choose(text, "- Four")) == (
        "Four types of standard treatment are used:\n- Surgery\n- Radiation therapy\n- Chemotherapy\n- Hormone therapy")


def test_list_items_read_as_their_terms():
    text = ("The following tests may be used:\n\n- Physical exam and history : An exam of the body. A history too.\n"
            "- MRI (magnetic resonance imaging): A procedure that uses a magnet.\n- X-ray: A type of energy beam.\n")
    assert compose(text, (0, len(text)), choose(text, "The following")) == (
        "The following tests may be used:\n- Physical exam and history\n- MRI (magnetic resonance imaging)\n- X-ray")


def test_a_sentence_announcing_a_list_the_passage_lacks_is_left_out():
    text = "Signs include swelling. The Human Phenotype Ontology provides the following list of signs."
    passage = (0, len(text))
    assert compose(text, passage, choose(text, "Signs", "The Human")) == "Signs include swelling."
    assert compose(text, passage, choose(text, "The Human"), required=False) == ""
    # the first passage of an answer must say something: its first sentence that stands alone
    assert compose(text, passage, choose(text, "The Human")) == "Signs include swelling."


def test_the_lead_names_publisher_and_subject_and_groups_pages_on_one_subject():
    nci = {"publisher": "National Cancer Institute (cancer.gov)", "cancer_types": ["Ewing sarcoma"], "title": "Ewing Sarcoma"}
    ghr = {"publisher": "Genetics Home Reference (now MedlinePlus Genetics), U.S. National Library of Medicine",
           "cancer_types": ["Ewing sarcoma"], "title": "Ewing sarcoma"}
    gard = {"publisher": "Genetic and Rare Diseases Information Center (GARD), NIH",
            "cancer_types": ["endometrial stromal sarcoma"], "title": "Endometrial stromal sarcoma"}
    general = {"publisher": "Cancer Research UK", "cancer_types": [], "title": "Research into rare cancers"}
    long_title = {"publisher": "European Society for Medical Oncology (ESMO)", "cancer_types": [], "title": "x" * 90}
    assert source_lead([nci]) == "From the National Cancer Institute's page on Ewing sarcoma:"
    assert source_lead([nci, ghr, nci]) == (
        "From the National Cancer Institute's and Genetics Home Reference's pages on Ewing sarcoma:")
    assert source_lead([nci, gard]) == ("From the National Cancer Institute's page on Ewing sarcoma and the Genetic "
                                        "and Rare Diseases Information Center's page on endometrial stromal sarcoma:")
    assert source_lead([general]) == "From Cancer Research UK's page “Research into rare cancers”:"
    assert source_lead([long_title]) == "From a page by the European Society for Medical Oncology:"
    nci_adult = dict(nci, cancer_types=["adult Ewing sarcoma"])
    assert source_lead([nci, nci_adult]) == (
        "From the National Cancer Institute's pages on Ewing sarcoma and adult Ewing sarcoma:")
    assert source_lead([]) == ""


def test_a_publisher_not_listed_is_named_up_to_its_first_bracket_or_comma():
    assert spoken_publisher("Sarcoma UK (the bone and soft tissue sarcoma charity), London") == "Sarcoma UK"


def test_every_shipped_publisher_has_a_spoken_name():
    publishers = {m.group(1).strip().strip('"') for path in DOCUMENTS.glob("*.md")
                  if (m := re.search(r"^publisher:\s*(.+)$", path.read_text(encoding="utf-8"), re.MULTILINE))}
    assert publishers and publishers <= set(publisher_names()), sorted(publishers - set(publisher_names()))


@pytest.fixture(scope="module")
def engine(loaded):
    return Engine(loaded, InMemoryStore())


def test_how_is_it_treated_names_the_treatments_after_a_lead_naming_the_page(engine):
    engine.handle("treated", "my sister has just been diagnosed with uterine sarcoma. what is it?")
    text = engine.handle("treated", "how is it treated?")["messages"][0]["text"]
    assert text.startswith("From the National Cancer Institute's page on uterine sarcoma: ")
    assert "\n- Surgery\n- Radiation therapy\n- Chemotherapy\n- Hormone therapy" in text


@pytest.mark.parametrize("question", [
    "what are the symptoms of ewing sarcoma", "how is ewing sarcoma diagnosed", "what are the signs of chordoma",
    "symptoms of langerhans cell histiocytosis", "how is neuroblastoma diagnosed", "how is thymoma treated",
])
def test_no_answer_leaves_a_list_announced_and_missing(engine, question):
    for message in engine.handle("lists", question)["messages"]:
        for line in message["text"].splitlines():
            body = re.sub(r"^From .*?: ", "", re.sub(r"\s*\[\d+\]", "", line)).rstrip()  # without the lead
            if body.endswith(":") or re.search(r"the following[^.]*\.$", body):
                following = message["text"].split(line, 1)[1].lstrip("\n")
                assert following.startswith("- "), f"{line!r} announces a list that is not there"
