"""Import ClinicalTrials.gov study records into curated documents and trial records.

Input, one or more files (or folders of ``*.json``/``*.xml`` files):

- API v2 JSON: a single study ``{"protocolSection": ...}`` (``GET /api/v2/studies/<NCT>``) or a page
  of studies ``{"studies": [...]}`` (``GET /api/v2/studies?...``);
- classic XML: ``<clinical_study>`` (the retired public.xsd download format).

The retired API v1 JSON (``FullStudiesResponse``) and anything else is reported per file, with the fix;
the other files still import.

Output, per study (``<nct>`` lowercased):

- ``<documents-out>/ctgov-<nct>.md``: the record's own text (summary, conditions, status, phases,
  eligibility, locations, contacts) under headings, with front matter in the project's document
  format. Record text is kept verbatim; only whitespace is tidied (checked before writing), and
  field labels ("Overall status: ") are added.
- ``<records-out>/ctgov-<nct>.yml``: the trial record (see ``knowledge/trials.py``) whose citation
  quotes the document's conditions list, so it resolves.

Every file is written atomically. A study that appears in several files (same NCT id) is imported
once, from the most recently updated and most complete copy. The output depends only on the input
files and the options, so re-running gives the same files.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, TextIO

import yaml

from knowledge.cancer_vocabulary import CancerVocabulary, load_vocabulary
from knowledge.writing import write_atomically, yaml_scalar
from knowledge.records import RawRecord
from knowledge.trials import NCT_PATTERN, trial_from_record

PUBLISHER = "ClinicalTrials.gov (U.S. National Library of Medicine)"
LICENCE = ("U.S. Government registry data, described as public domain; "
           "see https://clinicaltrials.gov/about-site/terms-conditions")
STUDY_URL = "https://clinicaltrials.gov/study/{nct}"
V2_STUDY_API = "https://clinicaltrials.gov/api/v2/studies/{nct}"
V2_FIX = "download the study as API v2 JSON (https://clinicaltrials.gov/api/v2/studies/{nct})"

# Registry status (API v2 enum; classic XML values are normalised to it) -> trial status.
STATUS_MAP: dict[str, str] = {
    "NOT_YET_RECRUITING": "planned",
    "RECRUITING": "recruiting",
    "ENROLLING_BY_INVITATION": "underway",  # running; joins by invitation only
    "ACTIVE_NOT_RECRUITING": "underway",
    "COMPLETED": "completed",
    "SUSPENDED": "closed",
    "TERMINATED": "closed",
    "WITHDRAWN": "closed",
    "UNKNOWN": "unknown",
    "WITHHELD": "unknown",
    # expanded access records
    "AVAILABLE": "recruiting",
    "TEMPORARILY_NOT_AVAILABLE": "closed",
    "NO_LONGER_AVAILABLE": "closed",
    "APPROVED_FOR_MARKETING": "closed",
}
V2_PHASES = {"EARLY_PHASE1": "Early Phase 1", "PHASE1": "Phase 1", "PHASE2": "Phase 2", "PHASE3": "Phase 3",
             "PHASE4": "Phase 4"}
NOT_APPLICABLE_PHASES = {"NA", "N/A", "NOT APPLICABLE"}
_LIST_MARKER = re.compile(r"^(?:[-*+\u2022]|\d{1,3}[.)]|[a-zA-Z][.)]|\([0-9a-zA-Z]{1,3}\))[ \t]+")


class TrialImportError(Exception):
    """A problem with one input file (or one study in it), with a suggested fix."""

    def __init__(self, path: Path | str, problem: str, fix: str):
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}. Fix: {self.fix}"


@dataclass
class Site:
    name: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    status: str = ""


@dataclass
class Contact:
    name: str = ""
    role: str = ""
    phone: str = ""
    email: str = ""


@dataclass
class Study:
    """One study record, the fields this project keeps, text exactly as the record gives it."""

    nct_id: str
    brief_title: str
    path: Path
    format: str  # "API v2 JSON" or "classic XML"
    official_title: str = ""
    acronym: str = ""
    sponsor: str = ""
    study_type: str = ""
    summary: str = ""
    conditions: list[str] = field(default_factory=list)
    cancer_types: list[str] = field(default_factory=list)  # the conditions, as the cancer vocabulary names them
    overall_status: str = ""  # raw, as in the record
    why_stopped: str = ""
    dates: list[tuple[str, str]] = field(default_factory=list)  # (label, raw date)
    last_update: str = ""  # ISO date of the last update posted, if the record gives a full date
    phases: list[str] = field(default_factory=list)  # raw
    criteria: str = ""
    sex: str = ""
    minimum_age: str = ""
    maximum_age: str = ""
    healthy_volunteers: str = ""
    countries: list[str] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)

    @property
    def doc_id(self) -> str:
        return f"ctgov-{self.nct_id.lower()}"

    @property
    def url(self) -> str:
        return STUDY_URL.format(nct=self.nct_id)

    @property
    def status_code(self) -> str:
        """The status as an API v2 enum value (classic XML 'Active, not recruiting' -> ACTIVE_NOT_RECRUITING)."""
        value = re.sub(r"[^A-Z]+", "_", self.overall_status.upper()).strip("_")
        return "UNKNOWN" if value == "UNKNOWN_STATUS" else value

    @property
    def status(self) -> str:
        return STATUS_MAP.get(self.status_code, "unknown")

    def phase_labels(self) -> list[str]:
        labels: list[str] = []
        for raw in self.phases:
            for part in raw.split("/"):
                part = part.strip()
                if not part or part.upper() in NOT_APPLICABLE_PHASES:
                    continue
                label = V2_PHASES.get(part, part)
                if label not in labels:
                    labels.append(label)
        return labels

    def completeness(self) -> int:
        """How much record text this copy holds (to pick the fullest of several copies)."""
        parts = [self.official_title, self.acronym, self.sponsor, self.study_type, self.summary, self.why_stopped,
                 self.criteria, self.sex, self.minimum_age, self.maximum_age, self.healthy_volunteers,
                 *self.conditions, *self.phases, *self.countries, *(v for _, v in self.dates)]
        parts += [v for s in self.sites for v in vars(s).values()] + [v for c in self.contacts for v in vars(c).values()]
        return sum(len(p) for p in parts)


# --------------------------------------------------------------------------- text tidying


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def tidy_inline(text: str) -> str:
    """A one-line value: runs of whitespace become one space."""
    return " ".join(str(text).split())


def tidy_markdown(text: str) -> str:
    """API v2 text (already Markdown): trailing spaces and extra blank lines removed, lines kept."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")]
    out = "\n".join(lines).strip("\n")
    out = re.sub(r"\n{3,}", "\n\n", out)
    out = textwrap.dedent(out) if out else ""
    _check_verbatim(text, out, "text")
    return out


def tidy_textblock(text: str) -> str:
    """Classic XML <textblock>: re-flow the fixed-width wrapping into Markdown paragraphs and list items.

    Lines starting with a list marker ('-', '*', '1.', 'a)') begin an item, nested by indentation; a
    more-indented line continues the item above it; other lines continue the paragraph they are in;
    blank lines separate paragraphs. Only whitespace changes.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
    entries: list[list[Any]] = []  # [kind, depth, words]; kind "p" or "item"
    stack: list[int] = []  # indents of the open list levels
    current: list[Any] | None = None
    current_indent = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            current = None
            continue
        indent = len(line) - len(line.lstrip())
        if _LIST_MARKER.match(stripped):
            marker, rest = stripped.split(None, 1) if len(stripped.split(None, 1)) == 2 else (stripped, "")
            while stack and stack[-1] > indent:
                stack.pop()
            if not stack or stack[-1] < indent:
                stack.append(indent)
            current = ["item", len(stack) - 1, [marker, rest.strip()] if rest else [marker]]
            current_indent = indent
            entries.append(current)
        elif current is not None and (current[0] == "p" or indent > current_indent):
            current[2].append(stripped)
        else:
            stack = []
            current = ["p", 0, [stripped]]
            current_indent = indent
            entries.append(current)
    parts: list[str] = []
    previous_kind = None
    for kind, depth, words in entries:
        line = " ".join(" ".join(words).split())
        if kind == "item":
            marker, _, rest = line.partition(" ")
            line = "  " * depth + (f"{marker} {rest}" if rest else marker)
        if parts:
            parts.append("\n" if kind == "item" and previous_kind == "item" else "\n\n")
        parts.append(line)
        previous_kind = kind
    out = "".join(parts)
    _check_verbatim(text, out, "text block")
    return out


def _check_verbatim(original: str, rendered: str, what: str) -> None:
    if _squeeze(original) != _squeeze(rendered):
        raise AssertionError(f"{what}: tidying changed more than whitespace")


# --------------------------------------------------------------------------- parsing: API v2 JSON


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (int, float)):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _iso_date(raw: str) -> str:
    """'2024-01-05' or 'December 11, 2017' -> '2024-01-05' / '2017-12-11'; '' for partial or bad dates."""
    raw = raw.strip()
    for pattern in ("%Y-%m-%d", "%B %d, %Y"):
        try:
            return dt.datetime.strptime(raw, pattern).date().isoformat()
        except ValueError:
            continue
    return ""


def study_from_v2(data: dict[str, Any], path: Path, where: str) -> Study:
    protocol = data.get("protocolSection")
    if not isinstance(protocol, dict):
        raise TrialImportError(where, "the study has no 'protocolSection'", V2_FIX.format(nct="<NCT id>"))
    ident = protocol.get("identificationModule") or {}
    nct = _text(ident.get("nctId"))
    if not NCT_PATTERN.match(nct):
        raise TrialImportError(where, f"the study has no valid identificationModule.nctId (found {nct or 'nothing'!r})",
                               V2_FIX.format(nct="<NCT id>"))
    title = tidy_inline(_text(ident.get("briefTitle")))
    if not title:
        raise TrialImportError(where, f"study {nct} has no identificationModule.briefTitle", V2_FIX.format(nct=nct))
    status = protocol.get("statusModule") or {}
    design = protocol.get("designModule") or {}
    eligibility = protocol.get("eligibilityModule") or {}
    contacts_locations = protocol.get("contactsLocationsModule") or {}
    study = Study(nct_id=nct, brief_title=title, path=path, format="API v2 JSON")
    study.official_title = tidy_inline(_text(ident.get("officialTitle")))
    study.acronym = tidy_inline(_text(ident.get("acronym")))
    study.sponsor = tidy_inline(_text(_get(protocol, "sponsorCollaboratorsModule", "leadSponsor", "name")))
    study.study_type = _text(design.get("studyType"))
    study.summary = tidy_markdown(_text(_get(protocol, "descriptionModule", "briefSummary")))
    study.conditions = [tidy_inline(c) for c in _get(protocol, "conditionsModule", "conditions") or []
                        if isinstance(c, str) and c.strip()]
    study.overall_status = _text(status.get("overallStatus"))
    study.why_stopped = tidy_inline(_text(status.get("whyStopped")))
    for label, key in (("Start date", "startDateStruct"), ("Primary completion date", "primaryCompletionDateStruct"),
                       ("Completion date", "completionDateStruct"), ("Last update posted", "lastUpdatePostDateStruct")):
        date = _text(_get(status, key, "date"))
        if date:
            study.dates.append((label, date))
    study.last_update = _iso_date(_text(_get(status, "lastUpdatePostDateStruct", "date")))
    study.phases = [p.strip() for p in design.get("phases") or [] if isinstance(p, str) and p.strip()]
    study.criteria = tidy_markdown(_text(eligibility.get("eligibilityCriteria")))
    study.sex = _text(eligibility.get("sex"))
    study.minimum_age = _text(eligibility.get("minimumAge"))
    study.maximum_age = _text(eligibility.get("maximumAge"))
    study.healthy_volunteers = _text(eligibility.get("healthyVolunteers"))
    for location in contacts_locations.get("locations") or []:
        if not isinstance(location, dict):
            continue
        site = Site(*(tidy_inline(_text(location.get(k))) for k in ("facility", "city", "state", "country", "status")))
        if any(vars(site).values()):
            study.sites.append(site)
        if site.country and site.country not in study.countries:
            study.countries.append(site.country)
    for contact in contacts_locations.get("centralContacts") or []:
        if not isinstance(contact, dict):
            continue
        phone = _text(contact.get("phone"))
        if phone and _text(contact.get("phoneExt")):
            phone += f" ext. {_text(contact.get('phoneExt'))}"
        entry = Contact(tidy_inline(_text(contact.get("name"))), _text(contact.get("role")), tidy_inline(phone),
                        _text(contact.get("email")))
        if entry.name or entry.phone or entry.email:
            study.contacts.append(entry)
    return study


# --------------------------------------------------------------------------- parsing: classic XML


def _xml_text(element: ET.Element | None, path: str = "", strip: bool = True) -> str:
    if element is None:
        return ""
    found = element.find(path) if path else element
    if found is None:
        return ""
    text = "".join(found.itertext())
    return text.strip() if strip else text


def study_from_xml(root: ET.Element, path: Path, where: str) -> Study:
    nct = _xml_text(root, "id_info/nct_id")
    if not NCT_PATTERN.match(nct):
        raise TrialImportError(where, f"<clinical_study> has no valid <id_info><nct_id> (found {nct or 'nothing'!r})",
                               V2_FIX.format(nct="<NCT id>"))
    title = tidy_inline(_xml_text(root, "brief_title"))
    if not title:
        raise TrialImportError(where, f"study {nct} has no <brief_title>", V2_FIX.format(nct=nct))
    study = Study(nct_id=nct, brief_title=title, path=path, format="classic XML")
    study.official_title = tidy_inline(_xml_text(root, "official_title"))
    study.acronym = tidy_inline(_xml_text(root, "acronym"))
    study.sponsor = tidy_inline(_xml_text(root, "sponsors/lead_sponsor/agency"))
    study.study_type = _xml_text(root, "study_type")
    study.summary = tidy_textblock(_xml_text(root, "brief_summary/textblock", strip=False))
    study.conditions = [tidy_inline(_xml_text(c)) for c in root.findall("condition") if _xml_text(c)]
    study.overall_status = _xml_text(root, "overall_status")
    study.why_stopped = tidy_inline(_xml_text(root, "why_stopped"))
    for label, tag in (("Start date", "start_date"), ("Primary completion date", "primary_completion_date"),
                       ("Completion date", "completion_date"), ("Last update posted", "last_update_posted")):
        if _xml_text(root, tag):
            study.dates.append((label, _xml_text(root, tag)))
    study.last_update = _iso_date(_xml_text(root, "last_update_posted") or _xml_text(root, "lastchanged_date"))
    study.phases = [_xml_text(p) for p in root.findall("phase") if _xml_text(p)]
    study.criteria = tidy_textblock(_xml_text(root, "eligibility/criteria/textblock", strip=False))
    study.sex = _xml_text(root, "eligibility/gender")
    study.minimum_age = _xml_text(root, "eligibility/minimum_age")
    study.maximum_age = _xml_text(root, "eligibility/maximum_age")
    study.healthy_volunteers = _xml_text(root, "eligibility/healthy_volunteers")
    for location in root.findall("location"):
        facility = location.find("facility")
        site = Site(tidy_inline(_xml_text(facility, "name")), tidy_inline(_xml_text(facility, "address/city")),
                    tidy_inline(_xml_text(facility, "address/state")), tidy_inline(_xml_text(facility, "address/country")),
                    _xml_text(location, "status"))
        if any(vars(site).values()):
            study.sites.append(site)
    study.countries = [tidy_inline(_xml_text(c)) for c in root.findall("location_countries/country") if _xml_text(c)]
    for site in study.sites:
        if site.country and site.country not in study.countries:
            study.countries.append(site.country)
    for tag in ("overall_contact", "overall_contact_backup"):
        for contact in root.findall(tag):
            phone = _xml_text(contact, "phone")
            if phone and _xml_text(contact, "phone_ext"):
                phone += f" ext. {_xml_text(contact, 'phone_ext')}"
            entry = Contact(tidy_inline(_xml_text(contact, "last_name")), "", tidy_inline(phone), _xml_text(contact, "email"))
            if entry.name or entry.phone or entry.email:
                study.contacts.append(entry)
    return study


# --------------------------------------------------------------------------- reading files


def _v1_nct(data: Any) -> str:
    match = re.search(r"NCT\d{8}", json.dumps(data)[:5000])
    return match.group(0) if match else "<NCT id>"


def read_study_file(path: Path) -> tuple[list[Study], list[TrialImportError]]:
    """The studies in one file, and the problems with it (a file can hold good and bad studies)."""
    path = Path(path)
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [TrialImportError(where, f"cannot read file ({exc.strerror})", "check the path and permissions")]
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"{", b"["):
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            return [], [TrialImportError(where, "JSON is not UTF-8 text", V2_FIX.format(nct="<NCT id>"))]
        except json.JSONDecodeError as exc:
            return [], [TrialImportError(where, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                                         V2_FIX.format(nct="<NCT id>"))]
        if isinstance(data, dict) and ("FullStudiesResponse" in data or "StudyFieldsResponse" in data):
            nct = _v1_nct(data)
            return [], [TrialImportError(where, "this is the retired ClinicalTrials.gov API v1 format "
                                         f"({next(k for k in data if k.endswith('Response'))}), which cannot be imported",
                                         V2_FIX.format(nct=nct))]
        if isinstance(data, dict) and "protocolSection" in data:
            items = [(data, where)]
        elif isinstance(data, dict) and isinstance(data.get("studies"), list):
            items = [(s, f"{where} (studies[{n}])") for n, s in enumerate(data["studies"])]
        else:
            shape = "a list" if isinstance(data, list) else f"keys {sorted(data)[:5]}" if isinstance(data, dict) else type(data).__name__
            return [], [TrialImportError(where, f"JSON is not a ClinicalTrials.gov API v2 study or page of studies ({shape})",
                                         V2_FIX.format(nct="<NCT id>") + ", or a page {\"studies\": [...]} from /api/v2/studies")]
        studies, errors = [], []
        for item, item_where in items:
            try:
                if not isinstance(item, dict):
                    raise TrialImportError(item_where, "a study must be a JSON object", V2_FIX.format(nct="<NCT id>"))
                studies.append(study_from_v2(item, path, item_where))
            except TrialImportError as exc:
                errors.append(exc)
            except AssertionError as exc:
                errors.append(TrialImportError(item_where, str(exc), "report this as an importer bug"))
        if not items:
            errors.append(TrialImportError(where, "the page holds no studies ('studies' is empty)",
                                           "download a page with at least one study"))
        return studies, errors
    if head == b"<":
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as exc:
            return [], [TrialImportError(where, f"not well-formed XML ({exc})", V2_FIX.format(nct="<NCT id>"))]
        if root.tag != "clinical_study":
            return [], [TrialImportError(where, f"root element is <{root.tag}>, expected <clinical_study>",
                                         V2_FIX.format(nct="<NCT id>") + ", or use one classic XML record per file")]
        try:
            return [study_from_xml(root, path, where)], []
        except TrialImportError as exc:
            return [], [exc]
        except AssertionError as exc:
            return [], [TrialImportError(where, str(exc), "report this as an importer bug")]
    return [], [TrialImportError(where, "not a JSON or XML file", V2_FIX.format(nct="<NCT id>"))]


def collect_files(sources: Iterable[Path]) -> tuple[list[Path], list[TrialImportError]]:
    """Files given, and the *.json/*.xml files under folders given, in a stable order."""
    paths: list[Path] = []
    errors: list[TrialImportError] = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            found = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".xml"))
            if not found:
                errors.append(TrialImportError(source, "folder has no *.json or *.xml files",
                                               "point at ClinicalTrials.gov study files or folders holding them"))
            paths.extend(p for p in found if p not in paths)
        elif source.is_file():
            if source not in paths:
                paths.append(source)
        else:
            errors.append(TrialImportError(source, "file or folder not found", "check the path"))
    return paths, errors


def pick_copies(studies: list[Study]) -> tuple[list[Study], list[tuple[Study, list[Study]]]]:
    """One study per NCT id: the latest update, then the fullest copy, then the first file name.

    Returns the chosen studies (sorted by NCT id) and, for ids seen more than once, the others.
    """
    groups: dict[str, list[Study]] = {}
    for study in studies:
        groups.setdefault(study.nct_id, []).append(study)
    chosen: list[Study] = []
    duplicates: list[tuple[Study, list[Study]]] = []
    for nct in sorted(groups):
        ranked = sorted(groups[nct], key=lambda s: (s.path.name, str(s.path)))
        ranked.sort(key=lambda s: (s.last_update, s.completeness()), reverse=True)  # stable: ties keep name order
        chosen.append(ranked[0])
        if len(ranked) > 1:
            duplicates.append((ranked[0], ranked[1:]))
    return chosen, duplicates


# --------------------------------------------------------------------------- rendering


def render_front_matter(study: Study, retrieved: str) -> str:
    """The document's front matter. Its date is the registry's "last update posted" as `last_updated` (a
    record's update is no review: never `last_reviewed`); a record without one is dated by `retrieved`,
    when this copy was captured. A record with its own date keeps no `retrieved`: the files may have been
    captured long before this import (the classic XML in 2018)."""
    date_key, date_value = ("last_updated", study.last_update) if study.last_update else ("retrieved", retrieved)
    fields = [
        ("id", study.doc_id, False), ("title", study.brief_title, False), ("publisher", PUBLISHER, False),
        ("url", study.url, False), ("language", "en", False),
        ("cancer_types", "[" + ", ".join(study.cancer_types) + "]", None), (date_key, date_value, None),
        ("licence", LICENCE, True), ("source", f"ClinicalTrials.gov record {study.nct_id}, {study.path.name}", True),
    ]
    lines = ["---"]
    for key, value, quote in fields:
        lines.append(f"{key}: {value if quote is None else yaml_scalar(key, value, quote=quote)}")
    lines.append("---")
    return "\n".join(lines)


def _items(pairs: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"- {label}: {value}" for label, value in pairs if value)


def conditions_block(study: Study) -> str:
    return "\n".join(f"- {c}" for c in study.conditions)


def _site_line(site: Site) -> str:
    place = ", ".join(v for v in (site.name, site.city, site.state, site.country) if v)
    return f"- {place}" + (f" ({site.status})" if site.status else "")


def _contact_line(contact: Contact) -> str:
    show_role = contact.role and contact.name and contact.role != "CONTACT"
    who = contact.name + (f" ({contact.role})" if show_role else "")
    details = [f"phone {contact.phone}" if contact.phone else "", f"email {contact.email}" if contact.email else ""]
    details = [d for d in details if d]
    return "- " + (f"{who}: " if who and details else who) + ", ".join(details)


def _no_headings(text: str) -> str:
    """Record text must not open sections of its own: a line starting '# ' gets a leading space."""
    return re.sub(r"(?m)^(#{1,6}(?:[ \t]|$))", r" \1", text)


def render_body(study: Study) -> str:
    parts = [f"# {study.brief_title}"]
    intro = _items([("ClinicalTrials.gov ID", study.nct_id), ("Official title", study.official_title),
                    ("Acronym", study.acronym), ("Lead sponsor", study.sponsor), ("Study type", study.study_type)])
    parts.append(intro)
    if study.summary:
        parts.append(f"## Summary\n\n{_no_headings(study.summary)}")
    if study.conditions:
        parts.append(f"## Conditions\n\n{conditions_block(study)}")
    parts.append("## Status\n\n" + _items([("Overall status", study.overall_status), ("Why stopped", study.why_stopped),
                                           *study.dates]))
    if study.phases:
        lines = []
        for raw in study.phases:
            label = V2_PHASES.get(raw) or ("Not Applicable" if raw == "NA" else "")
            lines.append(f"- {label} ({raw})" if label else f"- {raw}")
        parts.append("## Phases\n\n" + "\n".join(lines))
    eligibility = _items([("Sex", study.sex), ("Minimum age", study.minimum_age), ("Maximum age", study.maximum_age),
                          ("Healthy volunteers", study.healthy_volunteers)])
    eligibility = "\n\n".join(p for p in (eligibility, _no_headings(study.criteria)) if p)
    if eligibility:
        parts.append(f"## Eligibility\n\n{eligibility}")
    if study.sites:
        parts.append("## Locations\n\n" + "\n".join(_site_line(s) for s in study.sites))
    if study.contacts:
        parts.append("## Contacts\n\n" + "\n".join(_contact_line(c) for c in study.contacts))
    return "\n\n".join(p for p in parts if p) + "\n"


def render_document(study: Study, retrieved: str) -> str:
    text = render_front_matter(study, retrieved) + "\n" + render_body(study)
    assert not re.search(r"[ \t]$", text, re.M), "trailing whitespace"
    assert "\n\n\n" not in text, "triple blank line"
    return text


def eligibility_summary(study: Study) -> str:
    lines = "\n".join(f"{label}: {value}" for label, value in (
        ("Sex", study.sex), ("Minimum age", study.minimum_age), ("Maximum age", study.maximum_age),
        ("Healthy volunteers", study.healthy_volunteers)) if value)
    return "\n\n".join(p for p in (lines, study.criteria) if p)


def record_for(study: Study) -> dict[str, Any]:
    """The trial record (see knowledge/trials.py), empty optional fields left out."""
    record: dict[str, Any] = {
        "id": study.doc_id,
        "title": study.brief_title,
        "cancer_types": list(study.conditions),
        "status": study.status,
        "registry_status": study.overall_status,
        "group": study.sponsor,
        "countries": list(study.countries),
        "nct_id": study.nct_id,
        "phases": study.phase_labels(),
        "sites": [{k: v for k, v in (("name", s.name), ("city", s.city), ("country", s.country)) if v}
                  for s in study.sites if s.name or s.city or s.country],
        "eligibility": eligibility_summary(study),
        "contacts": [{k: v for k, v in (("name", c.name), ("phone", c.phone), ("email", c.email)) if v}
                     for c in study.contacts],
        "url": study.url,
        "citation": {"doc_id": study.doc_id, "quote": conditions_block(study)},
    }
    return {k: v for k, v in record.items() if v not in ("", [], None)}


class _RecordDumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not re.search(r"[ \t]\n|[ \t]$|^\s", value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RecordDumper.add_representer(str, _represent_str)


def render_record(study: Study, record: dict[str, Any]) -> str:
    header = (f"# Generated by `python -m knowledge import-trials` from ClinicalTrials.gov record {study.nct_id}\n"
              f"# ({study.path.name}). Re-run the importer rather than editing this file by hand.\n")
    body = yaml.dump([record], Dumper=_RecordDumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    assert yaml.safe_load(body) == [record], "record does not load back unchanged"
    return header + body


class NotACancerStudy(TrialImportError):
    """A study none of whose conditions names a cancer: skipped, with a note, not an error."""


def build_outputs(study: Study, retrieved: str, vocabulary: CancerVocabulary | None = None) -> tuple[str, str]:
    """The document and record texts for a study; raises TrialImportError if they would be invalid."""
    if not study.conditions:
        raise TrialImportError(study.path, f"study {study.nct_id} lists no conditions, so no trial record can be made",
                               "import a complete record (conditionsModule.conditions / <condition>)")
    study.cancer_types = (vocabulary or load_vocabulary()).names_in_conditions(study.conditions)
    if not study.cancer_types:
        raise NotACancerStudy(study.path, f"{study.nct_id} skipped: none of its conditions ({'; '.join(study.conditions)}) "
                              "names a cancer in knowledge/cancers.yml", "if it is a cancer study, add the cancer, "
                              "or this wording as a synonym, to knowledge/cancers.yml and import it again")
    document = render_document(study, retrieved)
    body = render_body(study)
    record = record_for(study)
    _, problems = trial_from_record(RawRecord(f"ctgov-{study.nct_id.lower()}.yml", 1, record),
                                    {study.doc_id: body})
    if problems:
        raise TrialImportError(study.path, f"the trial record for {study.nct_id} would be invalid: {problems[0]}",
                               "report this as an importer bug")
    return document, render_record(study, record)


# --------------------------------------------------------------------------- command


def _display(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_only(values: Iterable[str]) -> set[str]:
    """'NCT01234567,NCT07654321' (repeatable) -> ids; raises ValueError on a malformed id."""
    ids: set[str] = set()
    for value in values:
        for part in value.split(","):
            part = part.strip().upper()
            if not part:
                continue
            if not NCT_PATTERN.match(part):
                raise ValueError(f"{part!r} is not an NCT id (NCT followed by 8 digits)")
            ids.add(part)
    return ids


def import_trials(sources: Iterable[Path], documents_out: Path, records_out: Path, retrieved: str,
                  only: set[str] | None = None, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr,
                  vocabulary: CancerVocabulary | None = None) -> int:
    """Import study files. Returns the exit code: 0 ok, 1 if any file failed, 2 for bad arguments.
    Studies of no cancer in the vocabulary (the shipped one unless given) are skipped with a note."""
    vocabulary = vocabulary or load_vocabulary()
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", retrieved or "") or not _iso_date(retrieved):
        print(f"error: --retrieved {retrieved!r} is not a date; write it as YYYY-MM-DD", file=stderr)
        return 2
    sources = list(sources)
    if not sources:
        print("error: no input files given", file=stderr)
        return 2
    paths, errors = collect_files(sources)
    studies: list[Study] = []
    for path in paths:
        found, problems = read_study_file(path)
        studies.extend(found)
        errors.extend(problems)
    skipped = 0
    if only:
        skipped = len({s.nct_id for s in studies if s.nct_id not in only})
        studies = [s for s in studies if s.nct_id in only]
        for missing in sorted(only - {s.nct_id for s in studies}):
            errors.append(TrialImportError(missing, "not found in the input files", "check --only and the files given"))
    chosen, duplicates = pick_copies(studies)
    for kept, others in duplicates:
        names = ", ".join(o.path.name for o in others)
        print(f"note: {kept.nct_id} is in several files; imported once from {kept.path.name} (also in {names})",
              file=stdout)

    written = not_cancer = 0
    if chosen:
        try:
            Path(documents_out).mkdir(parents=True, exist_ok=True)
            Path(records_out).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"error: cannot create output folder ({exc})", file=stderr)
            return 1
    for study in chosen:
        try:
            document, record = build_outputs(study, retrieved, vocabulary)
            write_atomically(Path(documents_out) / f"{study.doc_id}.md", document)
            write_atomically(Path(records_out) / f"{study.doc_id}.yml", record)
        except NotACancerStudy as exc:
            print(f"note: {exc}", file=stdout)
            not_cancer += 1
            continue
        except TrialImportError as exc:
            errors.append(exc)
            continue
        except (AssertionError, OSError) as exc:
            errors.append(TrialImportError(study.path, f"could not write {study.doc_id} ({exc})",
                                           "check the output folders, or report this as an importer bug"))
            continue
        written += 1
        print(f"wrote {study.doc_id}.md and {study.doc_id}.yml ({study.nct_id}, {study.status}) "
              f"from {study.path.name}", file=stdout)

    for error in errors:
        print(f"error: {error}", file=stderr)
    failed = sorted({e.path.split(" (studies[")[0] for e in errors})
    print(f"imported {written} trial(s) into {_display(documents_out)} and {_display(records_out)} "
          f"from {len(paths)} file(s)"
          + (f"; skipped {skipped} record(s) not named by --only" if skipped else "")
          + (f"; skipped {not_cancer} study(ies) of no cancer in the vocabulary" if not_cancer else "")
          + f"; {len(failed)} failed", file=stdout)
    return 1 if errors else 0
