"""Writing curated files: YAML scalars that load back unchanged, slugs, and atomic writes."""
from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path

import yaml


def yaml_scalar(key: str, value: str, *, quote: bool = False) -> str:
    """A YAML scalar: plain when it loads back unchanged as text, else double-quoted (JSON syntax)."""
    if not quote and "\n" not in value:
        try:
            if yaml.safe_load(f"{key}: {value}") == {key: value}:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def write_atomically(path: Path, text: str) -> None:
    """Write text (UTF-8, \\n newlines) via a temp file + os.replace: never a half-written file."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
