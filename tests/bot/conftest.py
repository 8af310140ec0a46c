"""The dialogue layer's tests run on the shipped knowledge, indexed once per session into tmp."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _reports_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("RCA_REPORTS_DIR", str(tmp_path / "reports"))
