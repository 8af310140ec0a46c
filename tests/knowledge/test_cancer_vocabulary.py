"""knowledge/cancer_vocabulary.py and knowledge/cancers.yml: the cancers the assistant recognises."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.document_format import load_documents
from knowledge.cancer_vocabulary import (FAMILIES, VOCABULARY_FILE, VocabularyError, load_vocabulary, parse_vocabulary,
                                         phrase_key)

DOCUMENTS = Path(__file__).resolve().parents[2] / "knowledge" / "documents"


@pytest.fixture(scope="module")
def vocabulary():
    return load_vocabulary()


def test_shipped_vocabulary_is_large_and_spans_the_families(vocabulary):
    assert len(vocabulary) >= 300
    families = vocabulary.families()
    for family in ("sarcoma", "neuroendocrine", "central nervous system", "head and neck", "haematological",
                   "childhood", "gynaecological", "skin", "eye", "hereditary syndrome"):
        assert len(families.get(family, [])) >= 5, family


def test_every_document_names_known_cancers_and_general_pages_name_none(vocabulary):
    documents = load_documents(DOCUMENTS).documents
    assert documents
    for document in documents:
        assert vocabulary.unknown(document.cancer_types) == [], document.doc_id
    general = [d.doc_id for d in documents if not d.cancer_types]
    assert set(general) == {"cruk-research-into-rare-cancers", "ecpc-rarecarenet", "esmo-rare-cancers-journal",
                            "nci-irci", "rarecarenet-poster"}


def test_uncovered_cancers_are_known_by_name(vocabulary):
    for name in ("chordoma", "mesothelioma", "adrenocortical carcinoma", "Wilms tumor", "neuroblastoma",
                 "Li-Fraumeni syndrome", "pineoblastoma"):
        assert vocabulary.get(name) is not None, name


def test_lookup_ignores_case_and_accents(vocabulary):
    assert vocabulary.canonical("SEZARY SYNDROME") == "Sézary syndrome"
    assert vocabulary.canonical("ewing sarcoma") == "Ewing sarcoma"
    assert vocabulary.canonical("no such cancer") is None


def test_descendants_and_ancestors_follow_parents(vocabulary):
    assert "gastrointestinal stromal tumor" in vocabulary.descendants("sarcoma")
    assert "soft tissue sarcoma" in vocabulary.ancestors("gastrointestinal stromal tumor")
    assert vocabulary.ancestors("sarcoma") == [] or "sarcoma" not in vocabulary.ancestors("sarcoma")


def test_phrase_key_folds_case_accents_and_punctuation():
    assert phrase_key("Sézary  Syndrome") == phrase_key("sezary syndrome")
    assert phrase_key("Li-Fraumeni") == "li fraumeni"


def errors_of(text: str) -> list[str]:
    vocabulary, errors = parse_vocabulary(text, "cancers.yml")
    assert vocabulary is None
    return [str(e) for e in errors]


def test_problems_are_reported_with_line_and_fix():
    text = """\
- name: alpha cancer
  family: digestive
- name: beta tumor
  family: nowhere
- name: gamma tumor
  family: skin
  parent: delta cancer
- name: Alpha Cancer
  family: skin
"""
    errors = errors_of(text)
    assert any(e.startswith("cancers.yml:3: 'beta tumor' has family 'nowhere'") and "Fix: use one of" in e for e in errors)
    assert any(e.startswith("cancers.yml:5:") and "parent 'delta cancer'" in e for e in errors)
    assert any(e.startswith("cancers.yml:8: duplicate name 'Alpha Cancer' (also line 1)") for e in errors)


def test_a_phrase_under_two_entries_and_cycles_are_refused():
    text = """\
- name: alpha cancer
  family: digestive
  synonyms: [shared name]
  parent: beta cancer
- name: beta cancer
  family: digestive
  lay: [Shared Name]
  parent: alpha cancer
"""
    errors = errors_of(text)
    assert any("'shared name' names both 'alpha cancer' (line 1) and 'beta cancer'" in e for e in errors)
    assert any("is its own ancestor" in e for e in errors)


@pytest.mark.parametrize("text, problem", [
    ("name: x\n", "must be a list"),
    ("- [1, 2\n", "invalid YAML"),
    ("- family: skin\n", "has no name"),
    ("- name: x\n  family: skin\n  synonyms: oops\n", "'synonyms' must be a list"),
    ("- name: x\n  family: skin\n  colour: red\n", "unknown field 'colour'"),
    ("- name: x\n  family: skin\n  common: maybe\n", "'common' must be true or false"),
])
def test_malformed_vocabularies_get_a_clear_error(text, problem):
    assert any(problem in e for e in errors_of(text))


def test_a_missing_file_names_the_setting(tmp_path):
    with pytest.raises(VocabularyError, match="RCA_CANCER_VOCABULARY"):
        load_vocabulary(tmp_path / "missing.yml")


def test_families_are_the_documented_ones(vocabulary):
    assert set(vocabulary.families()) <= set(FAMILIES)
    assert VOCABULARY_FILE.name == "cancers.yml"


@pytest.mark.parametrize("title, names", [
    ("Thymoma and Thymic Carcinoma", ["thymoma", "thymic carcinoma"]),
    ("Wilms Tumor and Other Childhood Kidney Tumors", ["childhood kidney tumor", "Wilms tumor"]),
    ("Plasma Cell Neoplasms (Including Multiple Myeloma)", ["plasma cell neoplasm", "multiple myeloma"]),
    ("Intraocular (Uveal) Melanoma", ["intraocular melanoma"]),
    ("Childhood Acute Myeloid Leukemia and Other Myeloid Malignancies", ["childhood acute myeloid leukemia"]),
    ("Chordoma", ["chordoma"]),
    ("Tea and Biscuits", []),
])
def test_a_title_names_every_cancer_it_is_about(vocabulary, title, names):
    """A page on "X and other Ys" or "Ys (including X)" is a page on X too: a question on X finds it."""
    assert vocabulary.names_in_title(title) == names


def test_a_narrower_cancer_with_a_heading_of_its_own_is_named(vocabulary):
    headings = ["Key Points", "Newly Diagnosed Childhood Medulloblastoma", "Recurrent CNS Embryonal Tumors"]
    assert vocabulary.narrower_named(["central nervous system embryonal tumor"], headings) == ["medulloblastoma"]
    # only narrower ones: the page's own cancer, a broader one or an unrelated one named in a heading are not added
    assert vocabulary.narrower_named(["medulloblastoma"], headings) == []
    assert vocabulary.narrower_named(["chordoma"], ["Medulloblastoma and chordoma"]) == []
    # a word inside another word is no name: "nonmedulloblastoma" is not medulloblastoma
    assert vocabulary.narrower_named(["central nervous system embryonal tumor"],
                                     ["Nonmedulloblastoma embryonal tumors"]) == []
