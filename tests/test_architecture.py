"""The import rules of DESIGN.md, checked on the source: cheap, and they keep the house tidy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mastod"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules(sub: str) -> list[Path]:
    root = PACKAGE / sub
    return sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]


@pytest.mark.parametrize(
    ("where", "forbidden"),
    [
        ("actions", ("aiohttp",)),
        (
            "sandbox",
            (
                "mastod.rpc",
                "mastod.push",
                "mastod.notify",
                "mastod.mastodon",
                "mastod.actions",
                "mastod.app",
            ),
        ),
        ("mastodon", ("mastod.rpc",)),
        ("push", ("mastod.rpc",)),
    ],
)
def test_import_rules(where: str, forbidden: tuple[str, ...]) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in modules(where)
        if path.exists()
        for name in imports_of(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert offenders == []


def test_cli_import_path_stays_light() -> None:
    """`mastod call` runs from shell scripts: its module must not pull in the daemon stack."""
    heavy = ("aiohttp", "structlog", "jsonrpcserver", "cryptography", "mastod.app")
    top_level = {
        name
        for path in (PACKAGE / "cli").glob("*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        )
        if name
    }
    assert not [n for n in top_level if n.startswith(heavy)]
