"""Where in the body a message says a cancer is, and the cancer that makes it: patients name the organ
("a germ cell tumour on my left ovary", "cancer at the back of his throat, the oropharynx"), cancer names
use its adjective (ovarian germ cell tumour, oropharyngeal cancer). The organs and their adjectives are
data (bot/data/sites.yml); a name is only ever one knowledge/cancers.yml holds.

A place the cancer has spread to is not where it started: "it has spread to his liver" names no liver
cancer.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

from bot.cancer_linker import CancerLinker, CancerMention
from bot.entities import _tokens
from knowledge.cancer_vocabulary import CancerVocabulary

SITES_FILE = Path(__file__).parent / "data" / "sites.yml"
# A site right after these words is where the cancer went, not where it began.
_SPREAD_TO = re.compile(r"\b(?:spread|spreading|spreads|gone|moved|travelled|traveled|metastas\w*|reached|secondar\w*)"
                        r"(?:\s+\w+){0,3}\s*$", re.IGNORECASE)
_BARE_HEADS = {"cancer": "cancer", "cancers": "cancer", "tumour": "tumor", "tumor": "tumor", "tumours": "tumor",
               "tumors": "tumor", "carcinoma": "carcinoma", "sarcoma": "sarcoma", "melanoma": "melanoma"}


class SiteLinker:
    def __init__(self, vocabulary: CancerVocabulary, sites: dict[str, Sequence[str]],
                 covered: Callable[[str], bool] = lambda name: False):
        for site, adjectives in sites.items():
            if not site.strip() or not adjectives or not all(isinstance(a, str) and a.strip() for a in adjectives):
                raise ValueError(f"site {site!r} needs a list of adjectives (bot/data/sites.yml)")
        self.vocabulary, self.covered = vocabulary, covered  # names the sources cover are preferred
        self.sites = {tuple(site.split()): tuple(adjectives) for site, adjectives in sites.items()}

    @classmethod
    def load(cls, vocabulary: CancerVocabulary, path: Path = SITES_FILE,
             covered: Callable[[str], bool] = lambda name: False) -> "SiteLinker":
        return cls(vocabulary, yaml.safe_load(path.read_text(encoding="utf-8")) or {}, covered)

    def _sites_in(self, text: str, tokens: list[tuple[str, int, int]]) -> list[tuple[tuple[str, ...], int, int]]:
        """(adjectives, start, end) of each site the message names where a cancer began."""
        words = [w for w, _, _ in tokens]
        found = []
        for site, adjectives in self.sites.items():
            for i in range(len(words) - len(site) + 1):
                if tuple(words[i:i + len(site)]) == site and not _SPREAD_TO.search(text[:tokens[i][1]]):
                    found.append((adjectives, tokens[i][1], tokens[i + len(site) - 1][2]))
        return sorted(found, key=lambda f: f[1])

    def _named(self, adjectives: Sequence[str], *heads: str) -> str | None:
        """The cancer "<adjective> <head>" names, one the sources cover first; None if no name is known."""
        known = [name for head in heads for a in adjectives if (name := self.vocabulary.canonical(f"{a} {head}"))]
        return next((name for name in known if self.covered(name)), known[0] if known else None)

    def run(self, text: str, mentions: list[CancerMention]) -> list[CancerMention]:
        """The mentions, a broad one made specific by the site named ("germ cell tumour" on the ovary);
        with none, a bare "cancer" or "tumour" and a site make one ("the oropharynx")."""
        tokens = _tokens(text)
        sites = self._sites_in(text, tokens)
        if not sites:
            return mentions
        if mentions:
            out, used = [], []
            for mention in mentions:
                broad = mention.name is None or bool(self.vocabulary.children(mention.name))
                written = " ".join(w for w, _, _ in _tokens(mention.text))  # "carcinoid tumour", as well as its name
                sited = next(((n, start, end) for adjectives, start, end in sites
                              if (n := self._named(adjectives, written, mention.label))), None) if broad else None
                if sited:
                    used.append(sited[1:])
                out.append(CancerMention(sited[0], mention.text, mention.start, mention.end, mention.negated)
                           if sited else mention)
            # the organ that made a name specific is no cancer of its own ("in his small bowel")
            return [m for m in out if not any(start <= m.start and m.end <= end for start, end in used)]
        heads = [_BARE_HEADS[w] for w, _, _ in tokens if w in _BARE_HEADS]
        for head in dict.fromkeys(heads):
            for adjectives, start, end in sites:
                name = self._named(adjectives, head, "cancer")
                if name:
                    return [CancerMention(name, text[start:end], start, end)]
        return mentions


class SitedCancerLinker:
    """A CancerLinker whose mentions the sites named make specific; otherwise the linker itself."""

    def __init__(self, linker: CancerLinker, sites: SiteLinker):
        self.linker, self.sites = linker, sites

    def __getattr__(self, name: str) -> Any:
        return getattr(self.linker, name)

    def run(self, text: str) -> list[CancerMention]:
        return list(self._run(text))

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - one linker per process; a turn asks several times
    def _run(self, text: str) -> tuple[CancerMention, ...]:
        return tuple(self.sites.run(text, self.linker.run(text)))

    def names(self, text: str) -> list[str]:
        return list(dict.fromkeys(m.label for m in self.run(text)))
