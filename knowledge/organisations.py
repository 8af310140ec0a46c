"""Organisations for people affected by rare cancers, each backed by a verbatim citation.

Records live in ``knowledge/organisations/*.yml`` (a YAML list of mappings, see ``knowledge/records.py``)::

    - id: cancer-patients-association-of-slovenia      # lowercase letters, digits, hyphens; unique
      name: Cancer Patients Association of Slovenia
      country: Slovenia                                # optional: only where the source states it
      cancer_sites: []                                 # optional: empty means all rare cancers
      kind: patient organisation                       # one of KINDS
      website: www.example.org                         # optional: only where the source gives one
      contact: "..."                                   # optional text
      citation:
        doc_id: ecpc-rarecarenet
        quote: "Slovenia – in collaboration with the Cancer Patients Association of Slovenia ..."

`load_organisations(folder, texts)` reads and validates every record file under a folder against the
validated document texts (doc_id -> text). This module does not import from `index/`: the index build
passes the texts in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.records import (Citation, RawRecord, check_fields, load_record_folder,
                               resolve_citation, text_list)
from knowledge.validation import ID_PATTERN, ValidationError

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_ORGANISATIONS_DIR = PACKAGE_DIR / "organisations"

KINDS = (
    "patient organisation",
    "reference network",
    "research network",
    "charity",
    "registry",
    "treatment centre",
    "professional society",
    "research institute",
    "public body",
)
REQUIRED_FIELDS = ("id", "name", "kind", "citation")
OPTIONAL_FIELDS = ("country", "cancer_sites", "website", "contact")
TEXT_FIELDS = ("id", "name", "kind", "country", "website", "contact")

# An http(s) address, or a bare domain with an optional path, as a source writes it ("www.rarecarenet.eu").
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
WEBSITE_PATTERN = re.compile(rf"^(?:https?://{_HOST}(?::\d{{1,5}})?(?:[/?#]\S*)?|{_HOST}(?:/\S*)?)\Z")
# Letters (any script), spaces and the punctuation of country names ("Côte d’Ivoire", "Guinea-Bissau").
_COUNTRY_CHARS = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ .,'’()-])*\Z")
MULTINATIONAL = ("Europe", "International")
# Spellings that would split one country (or the multinational values) in two when searching.
COUNTRY_ALIASES = {
    "uk": "United Kingdom", "u.k.": "United Kingdom", "gb": "United Kingdom", "great britain": "United Kingdom",
    "us": "United States", "u.s.": "United States", "usa": "United States", "u.s.a.": "United States",
    "united states of america": "United States", "america": "United States",
    "the netherlands": "Netherlands", "holland": "Netherlands",
    "eu": "Europe", "european union": "Europe", "european": "Europe",
    "worldwide": "International", "global": "International", "multinational": "International",
    "international (worldwide)": "International",
}


@dataclass
class Organisation:
    id: str
    name: str
    kind: str
    citation: Citation
    country: str | None = None
    cancer_sites: list[str] = field(default_factory=list)
    website: str | None = None
    contact: str | None = None
    path: str = ""  # the record file, for messages; not part of to_dict()
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "country": self.country,
            "cancer_sites": list(self.cancer_sites),
            "kind": self.kind,
            "website": self.website,
            "contact": self.contact,
            "citation": self.citation.to_dict(),
        }


# --------------------------------------------------------------------------- field checks
# Each returns a problem and a fix, or None when the value is fine. The CSV importer uses them too.


def country_problem(country: str) -> tuple[str, str] | None:
    value = " ".join(country.split())
    if not value:
        return "country is empty", "write the country name, e.g. 'Slovenia', or 'Europe' / 'International' for multinational bodies"
    alias = COUNTRY_ALIASES.get(value.lower())
    if alias:
        return f"country '{value}' is an abbreviation or variant", f"write '{alias}'"
    if len(value) > 60 or not _COUNTRY_CHARS.match(value) or not value[0].isupper():
        return (f"country '{value}' is not a country name",
                "write one country name starting with a capital letter (no digits or addresses), e.g. 'Slovenia', "
                "or 'Europe' / 'International' for multinational bodies")
    return None


def website_problem(website: str) -> tuple[str, str] | None:
    if not WEBSITE_PATTERN.match(website.strip()):
        return (f"invalid website '{website}'",
                "write a full address such as https://www.example.org or a domain such as www.example.org, "
                "as the source gives it, or leave the website out")
    return None


def kind_problem(kind: str) -> tuple[str, str] | None:
    if kind not in KINDS:
        return f"unknown kind '{kind}'", "use one of: " + ", ".join(KINDS)
    return None


# --------------------------------------------------------------------------- loading


def _text(record: RawRecord, name: str, errors: list[ValidationError]) -> str | None:
    """A single-line text field (None when absent); a number, list or multi-line value is an error."""
    value = record.data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(record.error(name, f"field '{name}' must be text, got {type(value).__name__}",
                                   f"write it as {name}: \"...\" (quoted if it contains ': ' or starts with a digit)"))
        return None
    value = value.strip()
    if "\n" in value:
        errors.append(record.error(name, f"field '{name}' spans several lines", f"write '{name}' on one line"))
        return None
    return value or None


def validate_organisation(record: RawRecord, texts: dict[str, str]) -> tuple[Organisation | None, list[ValidationError]]:
    """Check one record's fields and citation. Duplicate ids are checked by `load_organisations`."""
    errors = check_fields(record, REQUIRED_FIELDS, OPTIONAL_FIELDS)
    values = {name: _text(record, name, errors) for name in TEXT_FIELDS}
    org_id, name, kind = values["id"], values["name"], values["kind"]
    if org_id is not None and not ID_PATTERN.match(org_id):
        errors.append(record.error("id", f"invalid id '{org_id}'",
                                   "use lowercase letters, digits and single hyphens, e.g. 'cancer-patients-association-of-slovenia'"))
    bad: set[str] = set()
    for check, key in ((kind_problem, "kind"), (country_problem, "country"), (website_problem, "website")):
        if values[key] is not None:
            problem = check(values[key])
            if problem:
                bad.add(key)
                errors.append(record.error(key, *problem))
    sites, site_errors = text_list(record, "cancer_sites")
    errors.extend(site_errors)
    citation, citation_errors = resolve_citation(record, texts)
    errors.extend(citation_errors)
    website = values["website"]
    if citation is not None and website is not None and "website" not in bad and website not in texts[citation.doc_id]:
        errors.append(record.error("website", f"website '{website}' does not appear in document '{citation.doc_id}'",
                                   "give a website only where the cited source states it, copied as written there"))
    if errors or org_id is None or name is None or kind is None or citation is None:
        return None, errors
    return Organisation(id=org_id, name=name, kind=kind, citation=citation, country=values["country"],
                        cancer_sites=sites, website=website, contact=values["contact"],
                        path=record.path, line=record.line), []


def load_organisations(folder: Path, texts: dict[str, str]) -> tuple[list[Organisation], list[ValidationError]]:
    """Read and validate every ``*.yml`` record file under ``folder`` against the documents' texts.

    Returns the valid organisations (file order, then record order) and every problem found, each with
    file:line, what is wrong and how to fix it. A missing folder holds no organisations.
    """
    return load_record_folder(folder, texts, validate_organisation, "organisation")
