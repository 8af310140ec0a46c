"""Tests for knowledge/ctgov_study.py: reading one API v2 study, and packing it as the trial store keeps it."""
from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # also works when run as plain `pytest`
    sys.path.insert(0, str(REPO_ROOT))

from knowledge import ctgov_study, trial_store  # noqa: E402
from knowledge.cancer_vocabulary import load_vocabulary  # noqa: E402
from knowledge.ctgov_study import (RECORD_DICTIONARY, eligibility_of, pack_record, parse_study, place_key,  # noqa: E402
                                   sites_of, unpack_record)

V2 = REPO_ROOT / "tests" / "data" / "clinicaltrials" / "v2_json"
STUDIES = [s for p in sorted(V2.rglob("*.json")) for s in (lambda d: d.get("studies", [d]))(json.loads(p.read_bytes()))]


def compact(study: dict) -> str:
    return json.dumps(study, ensure_ascii=False, separators=(",", ":"))


def test_the_store_still_exports_what_callers_import():
    for name in ("StudyRow", "StudyError", "parse_study", "parse_age", "place_key"):
        assert getattr(trial_store, name) is getattr(ctgov_study, name)


@pytest.mark.parametrize("study", STUDIES, ids=lambda s: s["protocolSection"]["identificationModule"]["nctId"])
def test_a_packed_record_unpacks_to_the_study_as_received(study):
    packed = pack_record(compact(study))
    assert unpack_record(packed) == study
    assert len(packed) < len(compact(study).encode())


def test_the_dictionary_holds_no_study_text():
    text = RECORD_DICTIONARY.decode()
    json.loads(text[:text.index('"NOT_YET_RECRUITING"')])  # the field skeleton is itself JSON
    for study in STUDIES:
        ident = study["protocolSection"]["identificationModule"]
        assert ident["nctId"] not in text and ident["briefTitle"] not in text


def test_a_record_is_read_only_with_its_dictionary():
    packed = pack_record(compact(STUDIES[0]))
    with pytest.raises(zlib.error):
        zlib.decompressobj(zdict=RECORD_DICTIONARY[:-1] + b"!").decompress(packed)  # zlib checks its checksum
    with pytest.raises(zlib.error):
        zlib.decompress(packed)


def test_eligibility_and_sites_read_from_the_record_are_those_parse_study_gives():
    vocabulary = load_vocabulary()
    for study in STUDIES:
        row = parse_study(study, vocabulary)
        assert eligibility_of(study) == row.eligibility_criteria
        assert sites_of(study) == row.sites
    with_105_sites = next(s for s in STUDIES if s["protocolSection"]["identificationModule"]["nctId"] == "NCT02552212")
    assert len(sites_of(with_105_sites)) == 105


@pytest.mark.parametrize("text, key", [("São  Paulo", "sao paulo"), ("LEÓN", "leon"), (" Zürich ", "zurich"),
                                       ("Korea, Republic of", "korea, republic of")])
def test_place_key_ignores_case_accents_and_spacing(text, key):
    assert place_key(text) == key
