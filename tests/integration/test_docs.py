"""docs/methods.md is what `rpc.discover` answers, rendered by `python -m mastod.docs`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mastod.docs import COMMAND, render
from tests.integration.conftest import Rpc

REPO = Path(__file__).resolve().parents[2]
METHODS = REPO / "docs" / "methods.md"


async def test_method_reference_is_what_rpc_discover_answers(rpc: Rpc) -> None:
    document = await rpc.call("rpc.discover")
    assert render(document) == METHODS.read_text(encoding="utf-8"), (
        f"docs/methods.md is stale: regenerate it with `{COMMAND}` and commit it"
    )


def test_every_method_has_its_section() -> None:
    text = METHODS.read_text(encoding="utf-8")
    for name in ("publish_status", "get_home_timeline", "paginate", "subscribe", "rpc.discover"):
        assert f"\n## {name}\n" in text


def test_errors_and_extensions_are_passed_on() -> None:
    document = {
        "info": {"version": "9"},
        "methods": [
            {
                "name": "get_thing",
                "summary": "Get a thing.",
                "description": "First line\nwrapped.\n\nSecond paragraph.",
                "paramStructure": "by-name",
                "params": [
                    {
                        "name": "limit",
                        "required": False,
                        "description": "How many | at most.",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 40, "default": 20},
                    }
                ],
                "result": {"schema": {"type": "array", "items": {"type": "object"}}},
                "errors": [{"code": -32004, "message": "Mastodon: not found"}],
                "x-scopes": ["read:statuses"],
            }
        ],
    }
    text = render(document)
    assert "First line wrapped.\n\nSecond paragraph." in text
    assert "| `limit` | integer (>= 1, <= 40) | default `20` | How many \\| at most. |" in text
    assert "**Result:** array of object" in text
    assert "- error `-32004`: Mastodon: not found" in text
    assert "**scopes:** `read:statuses`" in text
    assert "*By position too.*" not in text


def test_check_names_the_command_when_stale(tmp_path: Path) -> None:
    stale = tmp_path / "methods.md"
    stale.write_text("# old\n")
    result = subprocess.run(
        [sys.executable, "-m", "mastod.docs", "--check", str(stale)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"{stale} is stale: regenerate it with `{COMMAND}`"
    assert stale.read_text() == "# old\n"  # --check writes nothing


async def test_subscriptions_and_builtins_are_described(rpc: Rpc) -> None:
    document = await rpc.call("rpc.discover")
    methods = {m["name"]: m for m in document["methods"]}
    for name in ("subscribe", "unsubscribe"):
        assert all(p.get("description") for p in methods[name]["params"]), name
    since = next(p for p in methods["subscribe"]["params"] if p["name"] == "since_id")
    assert "in the order stored" in since["description"]
    assert "newer Mastodon id" in since["description"]
    for name in ("status", "rpc.discover"):
        assert methods[name].get("description"), name


def test_error_references_are_rendered_with_their_code_and_message() -> None:
    text = METHODS.read_text(encoding="utf-8")
    assert "error `None`" not in text
    section = text.split("\n## subscribe\n")[1].split("\n## ")[0]
    assert "- error `-32010`: Subscriptions need a connection" in section
    assert "- `pruned`: Retention deleted notifications" in section
