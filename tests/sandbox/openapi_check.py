"""Check recorded sandbox traffic against Mastodon's OpenAPI schema (tests/data/mastodon/).

Usage from any test::

    from tests.sandbox.openapi_check import check_recorded
    sandbox.record_responses = True
    ...  # traffic
    assert check_recorded(sandbox.recorded) == []

Every request the sandbox accepted (2xx) is validated, and every response it sent, with
openapi-core 0.23 (loaded as PROVENANCE.md says; loaded once per process). Paths are matched
against the schema's, not its host. Exchanges shaped by fault injection and the sandbox-only
`/_sandbox/` paths are skipped: they are deliberately not Mastodon's. So are two Mastodon
paths the schema cannot describe: the WebSocket endpoint `/api/v1/streaming` (the schema has
only the Server-Sent Events paths under it) and the web UI's own `/api/web/` API (here the
`Unsubscribe-URL` of Web Push, PROTOCOL.md §2.1).

Where the schema is known to be wrong (PROTOCOL.md §1.3, checked against the server source),
`openapi_errata.ERRATA` says how the check deviates and why. Keep that list short.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.validators import (
    V31RequestParametersValidator,
    V31RequestSecurityValidator,
)
from openapi_schema_validator import OAS31Validator

from mastod.sandbox.recorded import RecordedRequest
from tests.sandbox.openapi_errata import ERRATA, Erratum
from tests.sandbox.rails_forms import coerce, decode_form

__all__ = ["ERRATA", "Erratum", "Violation", "check_recorded", "coerce", "load_spec"]

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT / "tests" / "data" / "mastodon" / "openapi.json"
HOST_URL = "https://mastodon.example"
CHECKED_PREFIXES = ("/api/", "/oauth/")
UNDESCRIBED = ("/api/web/",)
UNDESCRIBED_PATHS = ("/api/v1/streaming",)
# Doorkeeper's web pages behind `GET /oauth/authorize` (approving, showing an OOB code): HTML
# for a browser, not part of the API the schema describes.
WEB_PAGES = (("POST", "/oauth/authorize"), ("GET", "/oauth/authorize/native"))


@dataclass(frozen=True)
class Violation:
    method: str
    path: str
    status: int | None
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status} [{self.where}] {self.message}"


@functools.cache
def load_spec() -> tuple[OpenAPI, dict[str, Any]]:
    """The schema (errata patches applied) as openapi-core's OpenAPI and as a plain dict."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    for erratum in ERRATA:
        if erratum.patch is not None:
            erratum.patch(spec)
    api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
    return api, spec


def check_recorded(recorded: Iterable[RecordedRequest]) -> list[Violation]:
    """Validate recorded exchanges; returns one Violation per problem (empty when all conform).

    Needs `Sandbox.record_responses` on: entries without a response are skipped.
    """
    api, spec = load_spec()
    violations: list[Violation] = []
    for entry in recorded:
        if entry.fault or entry.response is None or not _described(entry.path):
            continue
        if (entry.method, entry.path) in WEB_PAGES:
            continue
        status = entry.response.status
        with warnings.catch_warnings():
            # openapi-core cannot evaluate the OAuth2 scheme and says so on every request.
            warnings.filterwarnings("ignore", message="Unsupported scheme type")
            if 200 <= status < 300:
                for message in _request_problems(api, spec, entry):
                    violations.append(
                        Violation(entry.method, entry.path, status, "request", message)
                    )
            for message in _response_problems(api, spec, entry):
                violations.append(Violation(entry.method, entry.path, status, "response", message))
    return violations


def _described(path: str) -> bool:
    return (
        path.startswith(CHECKED_PREFIXES)
        and not path.startswith(UNDESCRIBED)
        and path not in UNDESCRIBED_PATHS
    )


def _mock_request(entry: RecordedRequest, body: bytes | None, content_type: str) -> MockRequest:
    # erratum rails-array-query: `key[]` is the array the schema calls `key`.
    query = [(k[:-2] if k.endswith("[]") else k, v) for k, v in entry.query]
    args: dict[str, list[str]] = {}
    for key, value in query:
        args.setdefault(key, []).append(value)
    return MockRequest(
        HOST_URL,
        entry.method,
        entry.path,
        args=args,
        headers=dict(entry.headers),
        data=body,
        content_type=content_type,
    )


def _request_problems(api: OpenAPI, spec: dict[str, Any], entry: RecordedRequest) -> Iterator[str]:
    mime = entry.content_type.split(";", 1)[0].strip().lower()
    if not entry.raw_body or mime == "application/json":
        request = _mock_request(entry, entry.raw_body or None, mime or "application/json")
        yield from (_describe(e) for e in api.iter_request_errors(request))
        return
    # erratum form-bodies
    request = _mock_request(entry, None, "application/json")
    for validator_cls in (V31RequestSecurityValidator, V31RequestParametersValidator):
        validator = validator_cls(api.spec, spec_validator_cls=None)
        yield from (_describe(e) for e in validator.iter_errors(request))
    operation = _operation(spec, entry.method, entry.path)
    if operation is None:
        yield "no operation in the schema for this path and method"
        return
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return
    schema = next(iter(content.values())).get("schema", {})
    value = coerce(decode_form(entry.raw_body, entry.content_type), schema, spec)
    validator = OAS31Validator(
        {**schema, "components": spec["components"]}, format_checker=OAS31Validator.FORMAT_CHECKER
    )
    yield from (_schema_error(e) for e in validator.iter_errors(value))


def _response_problems(api: OpenAPI, spec: dict[str, Any], entry: RecordedRequest) -> Iterator[str]:
    assert entry.response is not None
    response = entry.response
    mime = response.content_type.split(";", 1)[0].strip().lower()
    request = _mock_request(entry, entry.raw_body or None, entry.content_type or "application/json")
    mock = MockResponse(response.body, response.status, dict(response.headers), mime)
    for error in api.iter_response_errors(request, mock):
        if isinstance(error, PathNotFound | OperationNotFound) and response.status == 404:
            # Not a Mastodon route, and the sandbox said so: only the error body is checked.
            yield from _error_body_problems(spec, response.body)
        elif isinstance(error, ResponseNotFound) and response.status >= 400:
            # erratum undeclared-error-statuses
            yield from _error_body_problems(spec, response.body)
        else:
            yield _describe(error)


def _error_body_problems(spec: dict[str, Any], body: bytes) -> Iterator[str]:
    try:
        value = json.loads(body)
    except ValueError:
        yield "error body is not JSON"
        return
    schema = {"$ref": "#/components/schemas/Error", "components": spec["components"]}
    yield from (_schema_error(e) for e in OAS31Validator(schema).iter_errors(value))


def _operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    """The schema operation for a raw path: literal segments beat `{templates}`."""
    best: tuple[int, dict[str, Any]] | None = None
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            literal = template.count("/") - template.count("{")
            if best is None or literal > best[0]:
                best = (literal, item[method.lower()])
    return best[1] if best else None


def _schema_error(error: ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(body)"
    return f"{where}: {error.message[:300]}"


def _describe(error: BaseException) -> str:
    """One line per problem, digging out the schema errors openapi-core wraps."""
    parts = [f"{type(error).__name__}: {str(error)[:200]}"]
    cause: BaseException | None = error
    while cause is not None:
        for schema_error in getattr(cause, "schema_errors", ()) or ():
            parts.append(_schema_error(schema_error))
        cause = cause.__cause__
    return " | ".join(parts)
