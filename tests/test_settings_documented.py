"""Every setting is documented in the README's settings table, with its default."""
import re
from pathlib import Path

import pytest

from index import settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", settings.SETTINGS, ids=lambda s: s.env)
def test_setting_is_in_readme_table(setting):
    row = next((line for line in README.splitlines() if line.startswith(f"| `{setting.env}` |")), None)
    assert row is not None, f"{setting.env} is missing from the README settings table"
    default = "(empty)" if setting.default == "" else f"`{setting.default}`"
    assert default in row, f"README gives another default for {setting.env}: {row}"


def test_readme_lists_no_unknown_setting():
    documented = set(re.findall(r"^\| `((?:RCA|REDIS)_[A-Z_]+)` \|", README, flags=re.M))
    assert documented == {s.env for s in settings.SETTINGS}


def test_environment_overrides_default(monkeypatch):
    monkeypatch.setenv("RCA_SEARCH_K", "9")
    assert settings.get("search_k") == 9
    monkeypatch.setenv("RCA_SEARCH_K", "nine")
    with pytest.raises(SystemExit, match="RCA_SEARCH_K"):
        settings.get("search_k")


def test_relative_paths_resolve_against_project_root(monkeypatch):
    monkeypatch.setenv("RCA_INDEX_DIR", "somewhere/else")
    assert settings.get("index_dir") == settings.PROJECT_ROOT / "somewhere" / "else"
