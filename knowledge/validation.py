"""The one shape of a validation problem in curated content: where it is, what is wrong, how to fix it."""
from __future__ import annotations

import re
from dataclasses import dataclass

#: Ids of documents and records: lowercase letters and digits in hyphen-joined runs. `\Z`, not `$`,
#: which would also accept a trailing newline.
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")


@dataclass(frozen=True)
class ValidationError:
    """One problem in one file, with where it is and how to fix it."""

    path: str
    line: int
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}. Fix: {self.fix}"
