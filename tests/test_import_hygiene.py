"""Package boundaries from the design guide, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES = [
    ("shared", {"sanic", "textual", "roto_server", "roto_tui"}),
    ("roto_server", {"textual", "roto_tui"}),
    ("roto_tui", {"sanic", "roto_server"}),
    ("roto_server/device", {"sanic"}),
    ("roto_server/imaging", {"sanic"}),
    ("roto_server/recording", {"sanic"}),
    ("roto_server/webrtc", {"sanic"}),
]


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(("folder", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_package_does_not_import(folder: str, forbidden: set[str]) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    offenders = {str(p.relative_to(ROOT)): imported_roots(p) & forbidden for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_sdk_has_no_ui_code() -> None:
    assert imported_roots(ROOT / "roto_tui" / "client.py") & {"textual", "rich"} == set()
