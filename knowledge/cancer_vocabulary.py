"""The cancer vocabulary (`knowledge/cancers.yml`): every cancer the assistant recognises, as data.

Each entry has a canonical `name`, a `family`, an optional `parent` (is-a), and the other ways people
write it: `synonyms`, `lay` names and `abbreviations` (matched only in capitals). Documents say which
cancers they are about in their `cancer_types` front matter; the vocabulary knows many more cancers
than the documents cover, so an uncovered cancer is recognised as itself, never as its neighbour.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from knowledge.validation import ValidationError

VOCABULARY_FILE = Path(__file__).resolve().parent / "cancers.yml"
FAMILIES = ("sarcoma", "bone", "neuroendocrine", "central nervous system", "head and neck", "haematological",
            "childhood", "gynaecological", "skin", "eye", "digestive", "thoracic", "urological", "male genital",
            "endocrine", "breast", "hereditary syndrome", "other")
FIELDS = ("name", "family", "parent", "synonyms", "lay", "abbreviations", "common")
LIST_FIELDS = ("synonyms", "lay", "abbreviations")


def phrase_key(text: str) -> str:
    """How phrases are compared for uniqueness: case, accents, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", text.replace("'s ", " ")))


@dataclass(frozen=True)
class CancerType:
    name: str
    family: str
    parent: str | None = None
    synonyms: tuple[str, ...] = ()
    lay: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    common: bool = False
    line: int = 0

    @property
    def phrases(self) -> tuple[str, ...]:
        """Every written form but the abbreviations, the canonical name first."""
        return (self.name,) + self.synonyms + self.lay

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "parent": self.parent, "synonyms": list(self.synonyms),
                "lay": list(self.lay), "abbreviations": list(self.abbreviations), "common": self.common}


class VocabularyError(ValueError):
    def __init__(self, errors: list[ValidationError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class CancerVocabulary:
    types: list[CancerType]
    _by_key: dict[str, CancerType] = field(init=False, repr=False)
    _by_phrase: dict[str, CancerType] = field(init=False, repr=False)
    _children: dict[str, list[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {phrase_key(t.name): t for t in self.types}
        self._by_phrase = {phrase_key(p): t for t in self.types for p in t.phrases + t.abbreviations}
        self._children = {}
        for cancer in self.types:
            if cancer.parent:
                self._children.setdefault(cancer.parent, []).append(cancer.name)

    def __len__(self) -> int:
        return len(self.types)

    def get(self, name: str) -> CancerType | None:
        """The entry whose canonical name this is (case and accents ignored), or None."""
        return self._by_key.get(phrase_key(name))

    def canonical(self, name: str) -> str | None:
        found = self.get(name)
        return found.name if found else None

    def lookup(self, phrase: str) -> str | None:
        """The canonical name of the entry any of whose written forms this is exactly (a plural too)."""
        key = phrase_key(phrase)
        key = re.sub(r"^(?:the|a|an) ", "", key)
        found = self._by_phrase.get(key) or self._by_phrase.get(re.sub(r"(?<=[a-z]{3})s$", "", key))
        return found.name if found else None

    def names_in_title(self, title: str) -> list[str]:
        """The cancers a document title names: "Thymoma and Thymic Carcinoma" -> [thymoma, thymic carcinoma];
        "Wilms Tumor and Other Childhood Kidney Tumors" -> [childhood kidney tumor, Wilms tumor];
        "Plasma Cell Neoplasms (Including Multiple Myeloma)" -> [plasma cell neoplasm, multiple myeloma].
        The whole title, then without its bracketed part, then each part joined by "and" or "and other"
        and what the brackets include; every part must name a cancer for the parts to count."""
        plain = re.sub(r"\s*\([^)]*\)", "", title).strip()
        found = [name for name in (self.lookup(title), self.lookup(plain)) if name]
        parts = [self.lookup(part) for part in re.split(r"\s+and\s+(?:other\s+)?", plain, flags=re.I)]
        if len(parts) > 1 and all(parts):
            found.extend(p for p in parts if p)
        for bracketed in re.findall(r"\(([^)]*)\)", title):
            name = self.lookup(re.sub(r"(?i)^\s*(?:including|or|also called)\s+", "", bracketed))
            if name and found:
                found.append(name)
        return list(dict.fromkeys(found))

    def narrower_named(self, names: Iterable[str], headings: Iterable[str]) -> list[str]:
        """The narrower cancers of `names` that a heading names: a page on CNS embryonal tumours with a
        section "Newly Diagnosed Childhood Medulloblastoma" is a page on medulloblastoma too. Headings
        only, not passing mentions in the text; abbreviations only in capitals, as written."""
        wanted = {d for name in names for d in self.descendants(name)}
        found = []
        for heading in headings:
            key = f" {phrase_key(heading)} "
            for cancer in (self._by_key[phrase_key(n)] for n in sorted(wanted)):
                forms = [phrase_key(p) for p in cancer.phrases] + [
                    phrase_key(a) for a in cancer.abbreviations if re.search(rf"\b{re.escape(a)}\b", heading)]
                if any(f" {form} " in key or f" {form}s " in key for form in forms if form):
                    found.append(cancer.name)
        return [name for name in dict.fromkeys(found) if name not in names]

    def names_in_conditions(self, conditions: Iterable[str]) -> list[str]:
        """The cancers a registry's condition list names, in its own wording too: "Carcinoma, Adenoid
        Cystic" (inverted), "Head and Neck Neoplasms" (neoplasms for cancer)."""
        found = []
        for condition in conditions:
            inverted = ", ".join(reversed([p.strip() for p in condition.split(",", 1)])).replace(",", "")
            for candidate in (condition, inverted, re.sub(r"(?i)\bneoplasms?\b", "cancer", inverted)):
                name = self.lookup(candidate) or self._longest_phrase_in(candidate)
                if name:
                    found.append(name)
                    break
        return list(dict.fromkeys(found))

    def _longest_phrase_in(self, text: str) -> str | None:
        """The entry with the longest written form inside the text ("Triple Negative Breast Cancer")."""
        words = phrase_key(text).split()
        for size in range(len(words) - 1, 0, -1):
            for start in range(len(words) - size + 1):
                found = self._by_phrase.get(" ".join(words[start:start + size]))
                if found is not None and (size > 1 or len(words[start]) > 5):
                    return found.name
        return None

    def children(self, name: str) -> list[str]:
        return list(self._children.get(name, []))

    def descendants(self, name: str) -> list[str]:
        """The entry's narrower cancers, at any depth (not the entry itself)."""
        found, stack = [], list(self._children.get(name, []))
        while stack:
            child = stack.pop()
            if child not in found:
                found.append(child)
                stack.extend(self._children.get(child, []))
        return found

    def ancestors(self, name: str) -> list[str]:
        """The broader cancers an entry is a kind of, nearest first."""
        chain: list[str] = []
        current = self.get(name)
        while current is not None and current.parent and current.parent not in chain:
            chain.append(current.parent)
            current = self.get(current.parent)
        return chain

    def families(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {family: [] for family in FAMILIES}
        for cancer in self.types:
            grouped[cancer.family].append(cancer.name)
        return {family: names for family, names in grouped.items() if names}

    def unknown(self, names: Iterable[str]) -> list[str]:
        """The names among these that are no entry's canonical name."""
        return [n for n in names if self.get(n) is None]


def _text_list(value: Any) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return [v.strip() for v in value]
    return None


def _entry(item: Any, line: int, where: str, errors: list[ValidationError]) -> CancerType | None:
    def fail(problem: str, fix: str) -> None:
        errors.append(ValidationError(where, line, problem, fix))

    if not isinstance(item, dict):
        fail("an entry is not a mapping", "write each cancer as '- name: ...' with 'family: ...' beneath it")
        return None
    for key in item:
        if key not in FIELDS:
            fail(f"unknown field '{key}'", f"use only: {', '.join(FIELDS)}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        fail("an entry has no name", "give it 'name: <canonical name>'")
        return None
    family = item.get("family")
    if family not in FAMILIES:
        fail(f"'{name}' has family {family!r}, which is not a known family", f"use one of: {', '.join(FAMILIES)}")
    parent = item.get("parent")
    if parent is not None and (not isinstance(parent, str) or not parent.strip()):
        fail(f"'{name}' has an invalid parent", "give the canonical name of a broader entry, or remove 'parent'")
        parent = None
    lists: dict[str, list[str]] = {}
    for key in LIST_FIELDS:
        values = _text_list(item.get(key))
        if values is None:
            fail(f"'{name}': '{key}' must be a list of names", f"write it as {key}: [name, other name]")
            values = []
        lists[key] = values
    common = item.get("common", False)
    if not isinstance(common, bool):
        fail(f"'{name}': 'common' must be true or false", "write 'common: true' or remove it")
        common = False
    return CancerType(name.strip(), str(family), parent.strip() if parent else None, tuple(lists["synonyms"]),
                      tuple(lists["lay"]), tuple(lists["abbreviations"]), common, line)


def _check_relations(types: list[CancerType], where: str, errors: list[ValidationError]) -> None:
    by_key: dict[str, CancerType] = {}
    for cancer in types:
        key = phrase_key(cancer.name)
        if key in by_key:
            errors.append(ValidationError(where, cancer.line, f"duplicate name '{cancer.name}' (also line {by_key[key].line})",
                                          "merge the two entries, or rename one"))
        by_key.setdefault(key, cancer)
    owner: dict[str, CancerType] = {}
    for cancer in types:
        for phrase in set(phrase_key(p) for p in cancer.phrases + cancer.abbreviations):
            other = owner.setdefault(phrase, cancer)
            if other is not cancer and phrase_key(other.name) != phrase_key(cancer.name):  # else: a duplicate name
                errors.append(ValidationError(where, cancer.line, f"'{phrase}' names both '{other.name}' (line {other.line}) "
                                              f"and '{cancer.name}'", "keep the phrase under one entry only"))
    for cancer in types:
        if cancer.parent and phrase_key(cancer.parent) not in by_key:
            errors.append(ValidationError(where, cancer.line, f"'{cancer.name}' has parent '{cancer.parent}', which is no entry's name",
                                          "use the exact name of another entry, or add that entry"))
            continue
        seen, current = {cancer.name}, cancer
        while current.parent and phrase_key(current.parent) in by_key:
            current = by_key[phrase_key(current.parent)]
            if current.name in seen:
                errors.append(ValidationError(where, cancer.line, f"'{cancer.name}' is its own ancestor",
                                              "remove the 'parent' that closes the cycle"))
                break
            seen.add(current.name)


def parse_vocabulary(raw: str, where: str) -> tuple[CancerVocabulary | None, list[ValidationError]]:
    """Parse the YAML text of a vocabulary. Returns it, or None and every problem found."""
    errors: list[ValidationError] = []
    try:
        root = yaml.compose(raw, Loader=yaml.SafeLoader)
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [ValidationError(where, mark.line + 1 if mark else 1, f"invalid YAML: {getattr(exc, 'problem', exc)}",
                                      "fix the YAML layout: a list of '- name: ...' entries")]
    if not isinstance(data, list) or not isinstance(root, yaml.SequenceNode):
        return None, [ValidationError(where, 1, "the vocabulary must be a list of entries",
                                      "write each cancer as '- name: ...' with 'family: ...' beneath it")]
    types = []
    for item, node in zip(data, root.value):
        cancer = _entry(item, node.start_mark.line + 1, where, errors)
        if cancer is not None:
            types.append(cancer)
    _check_relations(types, where, errors)
    return (None, errors) if errors else (CancerVocabulary(types), [])


def load_vocabulary(path: Path = VOCABULARY_FILE) -> CancerVocabulary:
    """The vocabulary in `path`; raises VocabularyError listing every problem (file:line: ... Fix: ...)."""
    if not path.is_file():
        raise VocabularyError([ValidationError(str(path), 0, "cancer vocabulary not found",
                                               "restore knowledge/cancers.yml or set RCA_CANCER_VOCABULARY")])
    vocabulary, errors = parse_vocabulary(path.read_text(encoding="utf-8"), str(path))
    if vocabulary is None:
        raise VocabularyError(errors)
    return vocabulary
