import json

import pytest

from bot import report


@pytest.mark.parametrize("text, leaked", [
    ("my email is jane.doe@example.org", "jane.doe@example.org"),
    ("call me on +44 20 7946 0958 please", "7946"),
    ("I was born on 12/03/1961", "1961"),
    ("born 3rd March 1961", "1961"),
    ("My name is Jane Doe and I have sarcoma", "Jane"),
])
def test_personal_data_is_redacted(text, leaked):
    assert leaked not in report.redact(text)


def test_medical_words_survive_redaction():
    assert report.redact("stage 2 uterine sarcoma, how is it treated?") == "stage 2 uterine sarcoma, how is it treated?"


def test_record_and_top_gaps(tmp_path):
    for _ in range(3):
        report.record("low_confidence", "What about my name is Jane cancer?", reports_dir=tmp_path, confidence=0.2)
    report.record("not_understood", "blah", reports_dir=tmp_path)
    report.record("feedback", "great answer, thanks", reports_dir=tmp_path)  # not negative: not kept
    report.record("feedback", "that was wrong", reports_dir=tmp_path)
    lines = (tmp_path / "gaps.jsonl").read_text().splitlines()
    assert len(lines) == 5 and "Jane" not in "".join(lines)
    gaps = report.top_gaps(tmp_path)
    assert gaps[0] == ("low_confidence", "what about my name is [name] cancer", 3)
    assert ("feedback", "that was wrong", 1) in gaps
    assert all(json.loads(line)["kind"] in report.KINDS for line in lines)


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        report.record("gossip", "x", reports_dir=tmp_path)
