"""A registry study as a citable text: each criterion's offsets point at its own verbatim text."""
from __future__ import annotations

from knowledge.trial_document import study_document

ELIGIBILITY = """Inclusion Criteria:

* Histologically confirmed uterine leiomyosarcoma
* Age ≥ 18 years
  1. ECOG 0-1

Exclusion Criteria:

- Pregnant or breastfeeding
"""


def test_each_criterion_is_at_its_offsets_with_its_part():
    document = study_document("A study", ["Uterine Leiomyosarcoma", "Sarcoma"], ELIGIBILITY)
    assert [(c.text, c.part) for c in document.criteria] == [
        ("Histologically confirmed uterine leiomyosarcoma", "inclusion"), ("Age ≥ 18 years", "inclusion"),
        ("ECOG 0-1", "inclusion"), ("Pregnant or breastfeeding", "exclusion")]
    for criterion in document.criteria:
        assert document.text[criterion.start:criterion.end] == criterion.text
    assert ELIGIBILITY in document.text  # verbatim
    start, end = document.conditions
    assert document.text[start:end] == "Uterine Leiomyosarcoma; Sarcoma"


def test_a_study_without_criteria_or_conditions_has_none():
    document = study_document("Title only", [], "")
    assert document.text == "Title only" and document.criteria == () and document.conditions == (0, 0)


def test_windows_line_ends_keep_offsets_right():
    document = study_document("T", [], "Inclusion Criteria:\r\n- Adults with chordoma\r\n- Able to swallow\r\n")
    assert [document.text[c.start:c.end] for c in document.criteria] == ["Adults with chordoma", "Able to swallow"]
