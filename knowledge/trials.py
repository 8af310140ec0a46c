"""Clinical trial records: `knowledge/trials/*.yml`, each trial backed by a verbatim citation.

A record file holds a YAML list of trials (see `knowledge/records.py` for the shared file format)::

    - id: irci-penile-carcinoma                  # lowercase letters, digits, hyphens; unique
      title: IRCI study in penile carcinoma (underway)
      cancer_types: [penile carcinoma]           # plain cancer names, as the sources write them
      status: underway                           # one of STATUSES
      registry_status: ACTIVE_NOT_RECRUITING     # optional: the registry's own value
      group: International Rare Cancers Initiative (IRCI)
      countries: [United Kingdom]                # only where a source states them
      nct_id: NCT01234567                        # optional: ClinicalTrials.gov id
      phases: [Phase 2]
      sites: [{name: ..., city: ..., country: ...}]
      eligibility: "..."                         # text
      contacts: [{name: ..., phone: ..., email: ...}]   # registry contacts, as the registry gives them
      url: https://clinicaltrials.gov/study/NCT01234567
      citation: {doc_id: nci-irci, quote: "Currently, studies are underway in ..."}

`load_trials(folder, texts)` reads and validates every record file; `texts` maps document id to
document text (the Markdown body the index validated) and is this module's only link to documents.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.records import Citation, RawRecord, check_fields, load_record_folder, resolve_citation, text_list
from knowledge.validation import ID_PATTERN, ValidationError

# What each status means, for people reading or writing records.
STATUSES: dict[str, str] = {
    "planned": "not yet open (the registry's NOT_YET_RECRUITING, or a study at the planning stage)",
    "recruiting": "open and recruiting participants",
    "underway": "running but not (known to be) recruiting, e.g. ACTIVE_NOT_RECRUITING or 'studies are underway'",
    "completed": "finished as planned",
    "closed": "stopped early or not running: terminated, withdrawn, suspended, no longer available",
    "unknown": "the status is not known or not up to date",
}
REQUIRED_FIELDS = ("id", "title", "cancer_types", "status", "citation")
OPTIONAL_FIELDS = ("registry_status", "group", "countries", "nct_id", "phases", "sites", "eligibility",
                   "contacts", "url")
TEXT_FIELDS = ("title", "registry_status", "group", "eligibility", "url")
SITE_FIELDS = ("name", "city", "country")
CONTACT_FIELDS = ("name", "phone", "email")
NCT_PATTERN = re.compile(r"^NCT\d{8}\Z")
URL_PATTERN = re.compile(r"^https?://\S+$")


@dataclass
class Trial:
    id: str
    title: str
    cancer_types: list[str]
    status: str
    citation: Citation
    registry_status: str = ""
    group: str = ""
    countries: list[str] = field(default_factory=list)
    nct_id: str = ""
    phases: list[str] = field(default_factory=list)
    sites: list[dict[str, str]] = field(default_factory=list)
    eligibility: str = ""
    contacts: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    path: str = ""  # where the record is: file and line (not part of to_dict)
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data; the citation carries its offsets in the document text."""
        return {
            "id": self.id, "title": self.title, "cancer_types": list(self.cancer_types), "status": self.status,
            "registry_status": self.registry_status, "group": self.group, "countries": list(self.countries),
            "nct_id": self.nct_id, "phases": list(self.phases), "sites": [dict(s) for s in self.sites],
            "eligibility": self.eligibility, "contacts": [dict(c) for c in self.contacts], "url": self.url,
            "citation": self.citation.to_dict(),
        }


def _mapping_list(record: RawRecord, name: str, keys: tuple[str, ...]) -> tuple[list[dict[str, str]], list[ValidationError]]:
    """A field holding a list of mappings whose values are text, with only the given keys."""
    value = record.data.get(name)
    if value is None:
        return [], []
    example = "{" + ", ".join(f"{k}: ..." for k in keys) + "}"
    if not isinstance(value, list):
        return [], [record.error(name, f"field '{name}' must be a list of mappings", f"write it as '{name}: [{example}]'")]
    result: list[dict[str, str]] = []
    errors: list[ValidationError] = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict) or not item:
            errors.append(record.error(name, f"{name} entry {number} must be a mapping", f"write each entry as {example}"))
            continue
        unknown = sorted(str(k) for k in item if k not in keys)
        if unknown:
            errors.append(record.error(name, f"{name} entry {number} has unknown field(s) {', '.join(unknown)}",
                                       f"use only: {', '.join(keys)}"))
            continue
        if not all(isinstance(v, str) and v.strip() for v in item.values()):
            errors.append(record.error(name, f"{name} entry {number} has a value that is not text",
                                       "quote each value, or remove empty ones"))
            continue
        result.append({k: item[k].strip() for k in keys if k in item})
    return result, errors


def trial_from_record(record: RawRecord, texts: dict[str, str]) -> tuple[Trial | None, list[ValidationError]]:
    """Validate one record and build its Trial (None when anything is wrong)."""
    errors = check_fields(record, REQUIRED_FIELDS, OPTIONAL_FIELDS)
    data = record.data
    for name in TEXT_FIELDS + ("id", "status"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(record.error(name, f"field '{name}' must be text", f"quote the value of '{name}'"))
    record_id = data.get("id")
    if isinstance(record_id, str) and record_id and not ID_PATTERN.match(record_id):
        errors.append(record.error("id", f"invalid id '{record_id}'",
                                   "use lowercase letters, digits and single hyphens, e.g. 'irci-penile-carcinoma'"))
    status = data.get("status")
    if isinstance(status, str) and status and status not in STATUSES:
        errors.append(record.error("status", f"invalid status '{status}'",
                                   f"use one of: {', '.join(STATUSES)} (keep the registry's own value in 'registry_status')"))
    nct_id = data.get("nct_id")
    if nct_id is not None and not (isinstance(nct_id, str) and NCT_PATTERN.match(nct_id)):
        errors.append(record.error("nct_id", f"invalid nct_id '{nct_id}'",
                                   "write 'NCT' followed by 8 digits, e.g. NCT01234567, or remove the field"))
    url = data.get("url")
    if isinstance(url, str) and url and not URL_PATTERN.match(url):
        errors.append(record.error("url", f"invalid url '{url}'", "give the full address starting with https://"))
    lists: dict[str, list[str]] = {}
    for name in ("cancer_types", "countries", "phases"):
        lists[name], problems = text_list(record, name)
        errors.extend(problems)
    sites, problems = _mapping_list(record, "sites", SITE_FIELDS)
    errors.extend(problems)
    contacts, problems = _mapping_list(record, "contacts", CONTACT_FIELDS)
    errors.extend(problems)
    citation = None
    if data.get("citation") is not None:
        citation, problems = resolve_citation(record, texts)
        errors.extend(problems)
    if errors or citation is None:
        return None, errors

    def text(name: str) -> str:
        return (data.get(name) or "").strip()

    return Trial(
        id=record_id, title=text("title"), cancer_types=lists["cancer_types"], status=status, citation=citation,
        registry_status=text("registry_status"), group=text("group"), countries=lists["countries"],
        nct_id=text("nct_id"), phases=lists["phases"], sites=sites, eligibility=text("eligibility"),
        contacts=contacts, url=text("url"), path=record.path, line=record.line,
    ), []


def load_trials(folder: Path, texts: dict[str, str]) -> tuple[list[Trial], list[ValidationError]]:
    """Every trial in the `*.yml` files under `folder`, or the problems that make records invalid.

    A missing folder holds no trials. Ids must be unique across all files.
    """
    return load_record_folder(folder, texts, trial_from_record, "trial")
