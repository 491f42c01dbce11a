"""The conformance checker itself: it must catch what is wrong and pass what Mastodon does."""

from __future__ import annotations

import json

from multidict import CIMultiDict, CIMultiDictProxy

from mastod.sandbox import RecordedRequest, RecordedResponse
from tests.sandbox.openapi_check import ERRATA, check_recorded, coerce, load_spec
from tests.sandbox.rails_forms import decode_form

JSON = "application/json; charset=utf-8"


def _exchange(
    method: str,
    path: str,
    status: int,
    body: object,
    *,
    request_body: bytes = b"",
    content_type: str = "",
    fault: str | None = None,
) -> RecordedRequest:
    headers = CIMultiDictProxy(CIMultiDict({"Authorization": "Bearer t"}))
    response = RecordedResponse(
        status, CIMultiDictProxy(CIMultiDict({"Content-Type": JSON})), json.dumps(body).encode()
    )
    return RecordedRequest(
        method, path, [], None, headers, request_body, content_type, response, fault
    )


def test_a_bare_status_is_a_violation() -> None:
    problems = check_recorded([_exchange("GET", "/api/v1/statuses/1", 200, {"id": "1"})])
    assert problems
    assert all(p.where == "response" for p in problems)
    assert any("'account' is a required property" in p.message for p in problems)


def test_a_wrong_request_body_is_a_violation() -> None:
    created = {"id": "1", "title": "t", "replies_policy": "list", "exclusive": False}
    entry = _exchange(
        "POST", "/api/v1/lists", 200, created,
        request_body=b'{"title": 5}', content_type="application/json",
    )  # fmt: skip
    assert [p.where for p in check_recorded([entry])] == ["request"]


def test_faults_and_sandbox_paths_are_skipped() -> None:
    entries = [
        _exchange("GET", "/api/v1/statuses/1", 502, "<html>", fault="status"),
        _exchange("POST", "/_sandbox/act", 200, {"anything": True}),
    ]
    assert check_recorded(entries) == []


def test_undeclared_error_status_must_still_be_an_error_body() -> None:
    good = _exchange("POST", "/api/v1/statuses", 403, {"error": "This action is not allowed"})
    bad = _exchange("POST", "/api/v1/statuses", 403, {"message": "nope"})
    assert check_recorded([good]) == []
    assert check_recorded([bad])


def test_form_values_are_cast_by_the_schema() -> None:
    _, spec = load_spec()
    body = spec["paths"]["/api/v1/accounts/{id}/follow"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert coerce({"reblogs": "0", "notify": "true", "languages": ["en"]}, schema, spec) == {
        "reblogs": False,
        "notify": True,
        "languages": ["en"],
    }


def test_errata_are_documented_and_few() -> None:
    assert len(ERRATA) <= 12  # each one a documented gap of the schema, not a dialect
    assert all(e.reason and e.name for e in ERRATA)


def test_rails_forms_decode_independently_of_the_sandbox() -> None:
    raw = b"a[]=1&a[]=2&h[x][y]=z&rows[][k]=1&rows[][k]=2&flag=off"
    decoded = decode_form(raw, "application/x-www-form-urlencoded")
    assert decoded == {
        "a": ["1", "2"],
        "h": {"x": {"y": "z"}},
        "rows": [{"k": "1"}, {"k": "2"}],
        "flag": "off",
    }
    multipart = (
        b'--b\r\nContent-Disposition: form-data; name="description"\r\n\r\nhi\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n--b--\r\n"
    )
    assert decode_form(multipart, "multipart/form-data; boundary=b") == {
        "description": "hi",
        "file": "x.png",
    }
