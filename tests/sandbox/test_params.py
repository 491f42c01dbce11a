"""Rails-style parameter parsing, without a server."""

from __future__ import annotations

import aiohttp
import pytest

from mastod.sandbox.errors import ApiError
from mastod.sandbox.params import Params, Upload, cast_bool, nest, parse_body


def test_nest_builds_hashes_and_arrays() -> None:
    pairs = [
        ("a", "1"),
        ("list[]", "x"),
        ("list[]", "y"),
        ("fields_attributes[0][name]", "n0"),
        ("fields_attributes[0][value]", "v0"),
        ("data[alerts][mention]", "true"),
        ("rows[][k]", "1"),
        ("rows[][v]", "2"),
        ("rows[][k]", "3"),
        ("odd]key", "kept"),
    ]
    assert nest(pairs) == {
        "a": "1",
        "list": ["x", "y"],
        "fields_attributes": {"0": {"name": "n0", "value": "v0"}},
        "data": {"alerts": {"mention": "true"}},
        "rows": [{"k": "1", "v": "2"}, {"k": "3"}],
        "odd]key": "kept",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("1", True), ("on", True), ("false", False), ("0", False),
     ("f", False), ("off", False), ("", None), (None, None), (True, True)],
)  # fmt: skip
def test_cast_bool_like_active_model(raw: object, expected: bool | None) -> None:
    assert cast_bool(raw) is expected


def test_params_merge_body_over_query_and_typed_access() -> None:
    body = parse_body(b"limit=5&ids[]=1&ids[]=2&flag=0", "application/x-www-form-urlencoded")
    params = Params.merge([("limit", "3"), ("q", "x")], body)
    assert params.integer("limit") == 5
    assert params.string("q") == "x"
    assert params.array("ids") == ["1", "2"]
    assert params.array("q") == []
    assert params.flag("flag", True) is False
    assert params.flag("missing", True) is True
    assert params.integer("q") == 0  # Rails' to_i


def test_json_body_keeps_types() -> None:
    params = Params.merge(
        [], parse_body(b'{"sensitive": true, "media_ids": [1, 2]}', "application/json")
    )
    assert params.flag("sensitive", False) is True
    assert params.array("media_ids") == ["1", "2"]
    assert params.string("sensitive") == "true"


def test_required_and_bad_json_are_400() -> None:
    with pytest.raises(ApiError) as missing:
        Params({"q": "  "}).required("q")
    assert missing.value.status == 400
    with pytest.raises(ApiError) as bad:
        parse_body(b"{", "application/json; charset=utf-8")
    assert bad.value.status == 400


async def test_multipart_files_and_fields() -> None:
    form = aiohttp.FormData()
    form.add_field("description", "héllo")
    form.add_field("file", bytes(range(256)), filename="b.bin", content_type="video/mp4")
    payload = form()

    class Sink:
        data = b""

        async def write(self, chunk: bytes) -> None:
            self.data += chunk

    sink = Sink()
    await payload.write(sink)  # type: ignore[arg-type]
    body = parse_body(sink.data, payload.content_type)
    assert body.pairs == [
        ("description", "héllo"),
        ("file", Upload("b.bin", "video/mp4", bytes(range(256)))),
    ]
