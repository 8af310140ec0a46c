"""The layer rule: knowledge/ -> index/ -> bot/ -> server/. A layer imports only the layers before it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("knowledge", "index", "bot", "server")


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every module the file imports, wherever the import statement is."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_before_it(layer: str) -> None:
    later = set(LAYERS[LAYERS.index(layer) + 1:])
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & later)
        for path in sorted((ROOT / layer).rglob("*.py"))
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_rule_is_checked_on_real_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from server.app import create_app\nimport index.search\n", encoding="utf-8")
    assert imported_packages(module) == {"server", "index"}
