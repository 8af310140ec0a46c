"""Reads the Rasa training data (`bot/data/nlu.yml`), the single source of truth for the embedded engine.

Gives the intents with their example texts (entity markup removed), the synonyms (variant -> canonical
value) and the lookup tables, with every entity value annotated in the examples added to its lookup.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BOT_DIR = Path(__file__).resolve().parent
NLU_FILE = BOT_DIR / "data" / "nlu.yml"

# [text](entity), [text](entity:value), [text]{"entity": "x", "value": "y"}
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass
class NluData:
    examples: dict[str, list[str]] = field(default_factory=dict)  # intent -> example texts
    synonyms: dict[str, str] = field(default_factory=dict)  # lower-case variant -> canonical value
    lookups: dict[str, set[str]] = field(default_factory=dict)  # entity -> values
    digest: str = ""

    @property
    def intents(self) -> list[str]:
        return sorted(self.examples)


def _items(block: str) -> list[str]:
    return [line.strip()[2:].strip() for line in block.splitlines() if line.strip().startswith("- ")]


def strip_annotations(example: str) -> tuple[str, list[tuple[str, str, str]]]:
    """Example text without markup, and its (entity, text, value) annotations."""
    found: list[tuple[str, str, str]] = []

    def replace(match: re.Match[str]) -> str:
        text = match.group("text")
        if match.group("json"):
            data = json.loads(match.group("json"))
            entity, value = data.get("entity", ""), data.get("value", text)
        else:
            entity, _, value = match.group("short").partition(":")
            value = value or text
        found.append((entity, text, value))
        return text

    return _ANNOTATION.sub(replace, example), found


def load_nlu(path: Path = NLU_FILE) -> NluData:
    raw = path.read_bytes()
    document = yaml.safe_load(raw) or {}
    data = NluData(digest=hashlib.sha256(raw).hexdigest())
    for item in document.get("nlu", []):
        examples = _items(item.get("examples", ""))
        if "intent" in item:
            texts = data.examples.setdefault(item["intent"], [])
            for example in examples:
                text, annotations = strip_annotations(example)
                texts.append(text)
                for entity, surface, value in annotations:
                    data.lookups.setdefault(entity, set()).add(value)
                    if surface.lower() != value.lower():
                        data.synonyms.setdefault(surface.lower(), value)
        elif "synonym" in item:
            canonical = str(item["synonym"])
            for example in examples:
                data.synonyms[example.lower()] = canonical
        elif "lookup" in item:
            data.lookups.setdefault(item["lookup"], set()).update(examples)
    return data
