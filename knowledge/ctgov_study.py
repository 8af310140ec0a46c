"""One ClinicalTrials.gov API v2 study (`{"protocolSection": ...}`) read into a `StudyRow` (issue 14).

`parse_study` checks the fields the trial store files and filters on, and names the field when one is
wrong (`StudyError`). The store keeps the study as received and reads its eligibility text and sites
back from it with `eligibility_of` and `sites_of`, the functions `parse_study` uses, so a stored row
and a freshly parsed one are the same. The store itself: knowledge/trial_store.py, docs/trial-store.md.
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable

from knowledge.cancer_vocabulary import CancerVocabulary
from knowledge.trials import NCT_PATTERN
from knowledge.trials_import import STATUS_MAP

SEXES = ("ALL", "FEMALE", "MALE")
SITE_FIELDS = ("facility", "city", "state", "country", "status")  # of each location, as the registry writes them
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?", re.I)
_UNIT_YEARS = {"year": 1.0, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25, "hour": 1 / 8766,
               "minute": 1 / 525960}
_DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?\Z")
_P = "protocolSection"
RECORD_LEVEL = 6  # zlib: level 9 gains nothing on these records, level 1 leaves them 9 % bigger
# zlib's preset dictionary for stored records: the API v2 field names in their usual order, its enumerated
# values and the registry's eligibility headings; nothing of any one study. Records are 16 % smaller with it
# than with zlib alone (2.1 KiB instead of 2.5 KiB, from 6.7 KiB of JSON). A record packed with it is read
# only with it (zlib checks the dictionary's checksum): changing it needs a new trial store SCHEMA_VERSION.
RECORD_DICTIONARY = (
    '{"protocolSection":{"identificationModule":{"nctId":"NCT0","orgStudyIdInfo":{"id":""},"secondaryIdInfos":[{"'
    'id":"","type":"OTHER","link":"","domain":""}],"organization":{"fullName":"","class":"OTHER"},"briefTitle":""'
    ',"officialTitle":"","acronym":""},"statusModule":{"statusVerifiedDate":"","overallStatus":"RECRUITING","expa'
    'ndedAccessInfo":{"hasExpandedAccess":false,"nctId":"","statusForNctId":"AVAILABLE"},"startDateStruct":{"date'
    '":"","type":"ESTIMATED"},"primaryCompletionDateStruct":{"date":"","type":"ESTIMATED"},"completionDateStruct"'
    ':{"date":"","type":"ESTIMATED"},"studyFirstSubmitDate":"","studyFirstSubmitQcDate":"","studyFirstPostDateStr'
    'uct":{"date":"","type":"ESTIMATED"},"resultsFirstSubmitDate":"","resultsFirstSubmitQcDate":"","resultsFirstP'
    'ostDateStruct":{"date":"","type":"ACTUAL"},"lastUpdateSubmitDate":"","lastUpdatePostDateStruct":{"date":"","'
    'type":"ESTIMATED"},"whyStopped":"","dispFirstSubmitDate":"","dispFirstSubmitQcDate":"","dispFirstPostDateStr'
    'uct":{"date":"","type":"ACTUAL"},"lastKnownStatus":"ACTIVE_NOT_RECRUITING"},"sponsorCollaboratorsModule":{"r'
    'esponsibleParty":{"type":"SPONSOR","investigatorFullName":"","investigatorTitle":"","investigatorAffiliation'
    '":""},"leadSponsor":{"name":"","class":"OTHER"},"collaborators":[{"name":"","class":"UNKNOWN"}]},"oversightM'
    'odule":{"oversightHasDmc":false,"isFdaRegulatedDrug":false,"isFdaRegulatedDevice":false,"isUnapprovedDevice"'
    ':true,"isUsExport":false},"descriptionModule":{"briefSummary":"","detailedDescription":""},"conditionsModule'
    '":{"conditions":[""],"keywords":[""]},"designModule":{"studyType":"OBSERVATIONAL","phases":["PHASE3"],"desig'
    'nInfo":{"allocation":"NON_RANDOMIZED","interventionModel":"SINGLE_GROUP","primaryPurpose":"TREATMENT","maski'
    'ngInfo":{"masking":"NONE","whoMasked":["OUTCOMES_ASSESSOR"],"maskingDescription":""},"interventionModelDescr'
    'iption":"","observationalModel":"COHORT","timePerspective":"PROSPECTIVE"},"enrollmentInfo":{"count":0,"type"'
    ':"ESTIMATED"},"patientRegistry":false,"targetDuration":""},"armsInterventionsModule":{"armGroups":[{"label":'
    '"","type":"EXPERIMENTAL","description":"","interventionNames":[""]}],"interventions":[{"type":"OTHER","name"'
    ':"","description":"","armGroupLabels":[""],"otherNames":[""]}]},"outcomesModule":{"primaryOutcomes":[{"measu'
    're":"","timeFrame":"","description":""}],"secondaryOutcomes":[{"measure":"","description":"","timeFrame":""}'
    ']},"eligibilityModule":{"eligibilityCriteria":"","healthyVolunteers":false,"sex":"ALL","minimumAge":"","maxi'
    'mumAge":"","stdAges":["OLDER_ADULT"],"studyPopulation":"","samplingMethod":"NON_PROBABILITY_SAMPLE"},"contac'
    'tsLocationsModule":{"overallOfficials":[{"name":"","affiliation":"","role":"STUDY_DIRECTOR"}],"locations":[{'
    '"facility":"","city":"","state":"","zip":"","country":"","geoPoint":{"lat":0,"lon":0},"status":"RECRUITING",'
    '"contacts":[{"name":"","role":"CONTACT","phone":"","phoneExt":"","email":""}]}],"centralContacts":[{"name":"'
    '","role":"CONTACT","phone":"","email":"","phoneExt":""}]},"ipdSharingStatementModule":{"ipdSharing":"NO","de'
    'scription":"","infoTypes":[""],"timeFrame":"","accessCriteria":"","url":""},"referencesModule":{"references"'
    ':[{"pmid":"","type":"BACKGROUND","citation":""}],"seeAlsoLinks":[{"label":"","url":""}]}},"derivedSection":{'
    '"miscInfoModule":{"versionHolder":"","modelPredictions":{"bmiLimits":{"minBmi":0,"maxBmi":0}},"removedCountr'
    'ies":[""]},"conditionBrowseModule":{"meshes":[{"id":"","term":""}],"ancestors":[{"id":"","term":""}],"browse'
    'Leaves":[{"id":"","name":"","asFound":"","relevance":"LOW"}],"browseBranches":[{"abbrev":"","name":""}]},"in'
    'terventionBrowseModule":{"meshes":[{"id":"","term":""}],"ancestors":[{"id":"","term":""}],"browseLeaves":[{"'
    'id":"","name":"","relevance":"LOW","asFound":""}],"browseBranches":[{"abbrev":"","name":""}]}},"hasResults":'
    'false}"NOT_YET_RECRUITING","ACTIVE_NOT_RECRUITING","COMPLETED","TERMINATED","WITHDRAWN","ENROLLING_BY_INVITA'
    'TION","INDUSTRY","PRINCIPAL_INVESTIGATOR","EARLY_PHASE1","PHASE1","PHASE2","PHASE4","RANDOMIZED","PARALLEL",'
    '"PLACEBO_COMPARATOR","NO_INTERVENTION","DRUG","DEVICE","BIOLOGICAL","PROCEDURE","RADIATION","BEHAVIORAL","DI'
    'ETARY_SUPPLEMENT","SUPPORTIVE_CARE","PREVENTION","DIAGNOSTIC","QUADRUPLE","PARTICIPANT","FEMALE","MALE","CHI'
    'LD","ADULT","\\n\\nExclusion Criteria:\\n\\n* ","Inclusion Criteria:\\n\\n* '
).encode()


class StudyError(ValueError):
    """A study record that cannot be stored: which study, which field, what is wrong."""

    def __init__(self, nct_id: str, field_name: str, problem: str):
        self.nct_id, self.field, self.problem = nct_id, field_name, problem
        super().__init__(f"{nct_id + ': ' if nct_id else ''}{field_name} {problem}")


@dataclass
class StudyRow:
    nct_id: str
    title: str
    official_title: str = ""
    status: str = "UNKNOWN"  # the registry's overallStatus
    phases: list[str] = field(default_factory=list)
    study_type: str = ""
    min_age_years: float | None = None
    max_age_years: float | None = None
    sex: str = "ALL"
    last_update: str | None = None
    source: str = ""
    stored_at: str = ""
    conditions: list[str] = field(default_factory=list)
    cancer_types: list[str] = field(default_factory=list)
    eligibility_criteria: str = ""  # verbatim (stripped) from the record: the bot quotes it by offsets
    sites: list[dict[str, str]] = field(default_factory=list)
    record: dict[str, Any] | None = None  # the study as received; None in search results (get() has it)

    @property
    def countries(self) -> list[str]:
        return list(dict.fromkeys(s["country"] for s in self.sites if s["country"]))

    @property
    def url(self) -> str:
        return f"https://clinicaltrials.gov/study/{self.nct_id}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the keys the bot's trial finder reads (`status` in its words, as records have it)."""
        return {"id": f"ctgov-{self.nct_id.lower()}", "nct_id": self.nct_id, "title": self.title,
                "official_title": self.official_title, "status": STATUS_MAP.get(self.status, "unknown"),
                "registry_status": self.status, "phases": list(self.phases), "study_type": self.study_type,
                "min_age_years": self.min_age_years, "max_age_years": self.max_age_years, "sex": self.sex,
                "conditions": list(self.conditions), "cancer_types": list(self.cancer_types),
                "eligibility": self.eligibility_criteria, "countries": self.countries,
                "sites": [dict(s) for s in self.sites], "last_update": self.last_update or "",
                "source": self.source, "url": self.url}


def _get(module: dict[str, Any], key: str, where: str, nct_id: str, kind: type = str) -> Any:
    """A field of a module: "" / [] / {} when absent (reduced captures leave much out), checked for type."""
    value = module.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)):
        wanted = {str: "text", list: "a list of text values", dict: "an object"}[kind]
        raise StudyError(nct_id, f"{where}.{key}", f"must be {wanted}, got {type(value).__name__}")
    return value.strip() if kind is str else [v.strip() for v in value if v.strip()] if kind is list else value


def _module(study: dict[str, Any], name: str, nct_id: str) -> dict[str, Any]:
    return _get(study[_P], name, _P, nct_id, dict)


def eligibility_of(study: dict[str, Any], nct_id: str = "") -> str:
    """The eligibility criteria of an API v2 study, as the registry wrote them (outer whitespace stripped)."""
    elig = _module(study, "eligibilityModule", nct_id)
    return _get(elig, "eligibilityCriteria", f"{_P}.eligibilityModule", nct_id)


def sites_of(study: dict[str, Any], nct_id: str = "") -> list[dict[str, str]]:
    """Its locations as {facility, city, state, country, status}, in the registry's order ("" when absent)."""
    locations = _module(study, "contactsLocationsModule", nct_id).get("locations") or []
    if not isinstance(locations, list) or not all(isinstance(loc, dict) for loc in locations):
        raise StudyError(nct_id, f"{_P}.contactsLocationsModule.locations", "must be a list of objects")
    where = f"{_P}.contactsLocationsModule.locations[]"
    return [{k: _get(loc, k, where, nct_id) for k in SITE_FIELDS} for loc in locations]


def pack_record(record_json: str) -> bytes:
    """A study's compact JSON as the store keeps it: zlib with RECORD_DICTIONARY."""
    packer = zlib.compressobj(RECORD_LEVEL, zdict=RECORD_DICTIONARY)
    return packer.compress(record_json.encode()) + packer.flush()


def unpack_record(packed: bytes) -> dict[str, Any]:
    """The study from pack_record's bytes, as it was received."""
    unpacker = zlib.decompressobj(zdict=RECORD_DICTIONARY)
    return json.loads(unpacker.decompress(packed) + unpacker.flush())


def parse_age(text: str) -> float | None:
    """"18 Years" -> 18.0, "6 Months" -> 0.5; "N/A" or "" -> None (no limit). ValueError otherwise."""
    if text.strip().upper() in ("", "N/A", "NA", "NONE"):
        return None
    match = _AGE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"is {text!r}, not '<number> Years|Months|Weeks|Days|Hours|Minutes' or 'N/A'")
    return round(float(match.group(1)) * _UNIT_YEARS[match.group(2).lower()], 4)


def parse_study(study: Any, vocabulary: Any, source: str = "") -> StudyRow:
    """One API v2 study (`{"protocolSection": ...}`) as a row; StudyError naming the field otherwise.
    `vocabulary` needs only `names_in_conditions` (a CancerVocabulary, or a CachedConditions)."""
    if not isinstance(study, dict):
        raise StudyError("", "study", f"must be a JSON object with 'protocolSection', got {type(study).__name__}")
    section = study.get(_P)
    if not isinstance(section, dict):
        raise StudyError("", _P, "is missing; pass API v2 studies ({'protocolSection': ...}), "
                         "not API v1 or classic XML records")
    ident = _module(study, "identificationModule", "")
    nct_id = ident.get("nctId")
    if not nct_id:
        raise StudyError("", f"{_P}.identificationModule.nctId", "is missing; every study needs its NCT id")
    if not isinstance(nct_id, str) or not NCT_PATTERN.match(nct_id):
        raise StudyError("", f"{_P}.identificationModule.nctId", f"is {nct_id!r}, not 'NCT' followed by 8 digits")
    status_m, design, conditions_m, elig = (_module(study, m, nct_id) for m in (
        "statusModule", "designModule", "conditionsModule", "eligibilityModule"))
    where_elig = f"{_P}.eligibilityModule"
    official = _get(ident, "officialTitle", f"{_P}.identificationModule", nct_id)
    title = _get(ident, "briefTitle", f"{_P}.identificationModule", nct_id) or official or nct_id
    ages = []
    for key in ("minimumAge", "maximumAge"):
        try:
            ages.append(parse_age(_get(elig, key, where_elig, nct_id)))
        except ValueError as exc:
            raise StudyError(nct_id, f"{where_elig}.{key}", str(exc)) from None
    if ages[0] is not None and ages[1] is not None and ages[0] > ages[1]:
        raise StudyError(nct_id, f"{where_elig}.minimumAge", f"({ages[0]} years) is above maximumAge ({ages[1]} years)")
    sex = _get(elig, "sex", where_elig, nct_id).upper() or "ALL"  # not stated: not restricted
    if sex not in SEXES:
        raise StudyError(nct_id, f"{where_elig}.sex", f"is {sex!r}, not one of {', '.join(SEXES)}")
    last_update = _get(status_m, "lastUpdatePostDateStruct", f"{_P}.statusModule", nct_id, dict).get("date")
    if last_update is not None and not (isinstance(last_update, str) and _DATE.match(last_update)):
        raise StudyError(nct_id, f"{_P}.statusModule.lastUpdatePostDateStruct.date",
                         f"is {last_update!r}, not an ISO date (YYYY-MM-DD)")
    conditions = _get(conditions_m, "conditions", f"{_P}.conditionsModule", nct_id, list)
    return StudyRow(
        nct_id=nct_id, title=title, official_title=official,
        status=_get(status_m, "overallStatus", f"{_P}.statusModule", nct_id).upper() or "UNKNOWN",
        phases=[v.upper() for v in _get(design, "phases", f"{_P}.designModule", nct_id, list)],
        study_type=_get(design, "studyType", f"{_P}.designModule", nct_id).upper(),
        min_age_years=ages[0], max_age_years=ages[1], sex=sex, last_update=last_update, source=source,
        conditions=conditions, cancer_types=list(vocabulary.names_in_conditions(conditions)),
        eligibility_criteria=eligibility_of(study, nct_id), sites=sites_of(study, nct_id), record=study)


@functools.lru_cache(maxsize=65_536)
def place_key(text: str) -> str:
    """How countries and cities are compared: case, accents and spacing ignored ("São  Paulo" = "sao paulo")."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


class CachedConditions:
    """The vocabulary's mapping of conditions to cancers, remembered per condition: the registry repeats
    its wordings, and the import runs several times faster."""

    def __init__(self, vocabulary: CancerVocabulary, size: int = 200_000):
        self._one = functools.lru_cache(maxsize=size)(lambda condition: vocabulary.names_in_conditions([condition]))

    def names_in_conditions(self, conditions: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(name for condition in conditions for name in self._one(condition)))
