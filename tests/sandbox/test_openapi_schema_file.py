"""The OpenAPI schema the sandbox is checked against is the file PROVENANCE.md describes."""

from __future__ import annotations

import hashlib
import re

from tests.sandbox.openapi_check import SPEC_PATH


def test_schema_matches_its_provenance_note() -> None:
    note = (SPEC_PATH.parent / "PROVENANCE.md").read_text(encoding="utf-8")
    recorded = re.search(r"sha256\s+`([0-9a-f]{64})`", note)
    assert recorded is not None, "PROVENANCE.md must record the schema's sha256"
    assert hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest() == recorded.group(1)
    assert "GFDL-1.3" in note
