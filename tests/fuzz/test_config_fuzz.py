"""Fuzzing the config loader (`mastod.config.load_config`) with generated YAML files,
override mappings, environments, token files and systemd credentials.

Documents are built from the real schema (the `Config` dataclasses and their type hints), so
most are nearly right and wrong in one place: wrong types, out-of-range numbers, unknown keys
(with odd names), odd paths, bad URLs; then some are corrupted as text (YAML syntax, tags,
anchors, deep nesting, invalid UTF-8, BOM). >= 20,000 seeded cases plus hypothesis examples
per run (`MASTOD_FUZZ_LONG` multiplies them).

Property: `load_config` returns a `Config` (whose repr holds no secret) or raises a
`ConfigError` whose message is one line, starts with its dotted key (each part of it a real
field but for an unknown last one) or is a file-level reason, and never contains a secret
(access token, ngrok token, from the file, environment, token file or credential). Nothing
else is ever raised.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import random
import re
import secrets
import shutil
import tempfile
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mastod.config import NOTIFICATION_TYPES, Config, ConfigError, load_config
from tests.fuzz.support import (
    CI_INPUTS,
    SEED,
    profile,
    scaled,
    timeout_mark,
)

# The loader's schema, read from the dataclasses themselves.
SECTIONS: dict[str, Any] = {
    f.name: typing.get_type_hints(Config)[f.name] for f in dataclasses.fields(Config)
}


@functools.cache
def fields_of(cls: Any) -> dict[str, Any]:
    return {f.name: typing.get_type_hints(cls)[f.name] for f in dataclasses.fields(cls)}


def section_class(tp: Any) -> Any | None:
    """The dataclass of a section (`HttpConfig | None` -> HttpConfig), or None."""
    if dataclasses.is_dataclass(tp):
        return tp
    for arg in typing.get_args(tp):
        if dataclasses.is_dataclass(arg):
            return arg
    return None


# --- what a case is and how it is judged ---------------------------------------------------


@dataclass
class Case:
    document: Any  # the YAML document (None: no file, `overrides` alone)
    text: bytes | None = None  # the file's bytes when not plain YAML of `document`
    overrides: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    configs: int = 0
    errors: int = 0

    @property
    def total(self) -> int:
        return self.configs + self.errors


_KEY_PART = re.compile(r"^(?P<name>.*?)(?:\[\d+\])*$", re.DOTALL)


def check_key(exc: ConfigError) -> None:
    """Every part of the dotted key names a real field, but an unknown last one."""
    parts = exc.key.split(".") if exc.key else []
    schema: dict[str, Any] | None = SECTIONS
    for part in parts:
        match = _KEY_PART.match(part)
        assert match is not None
        name = match["name"]
        if schema is None or name not in schema:
            # an unknown key's own name may hold dots: the rest of the key is that name
            assert exc.reason.startswith("unknown key"), f"not a dotted key: {exc}"
            return
        cls = section_class(schema[name])
        schema = fields_of(cls) if cls is not None else None


def judge(case: Case, path: Path, outcome: Outcome) -> None:
    if case.document is not None or case.text is not None:
        text = case.text if case.text is not None else dump(case.document)
        path.write_bytes(text)
        source: Path | None = path
    else:
        source = None
    try:
        config = load_config(source, env=case.env, overrides=case.overrides)
    except ConfigError as exc:
        check_error(exc, case, outcome)
    except Exception as exc:
        raise AssertionError(f"{type(exc).__name__} from load_config: {case}") from exc
    else:
        assert isinstance(config, Config)
        shown = repr(config)
        for secret in case.secrets:
            assert secret not in shown, f"a secret in repr(Config): {case}"
        outcome.configs += 1


def check_error(error: ConfigError, case: Case, outcome: Outcome) -> None:
    message = str(error)
    for secret in case.secrets:
        assert secret not in message, f"a secret in the error {message!r}: {case}"
    assert len(message.splitlines()) == 1, f"not one line: {message!r}"
    if error.key:
        assert message.startswith(error.key + ": "), f"{message!r} does not start with its key"
        check_key(error)
    else:
        assert message == error.reason
    outcome.errors += 1


def dump(document: Any) -> bytes:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()


# --- the seeded generator ----------------------------------------------------------------

WEIRD_NAMES = [
    "bogus",
    "Base_URL",
    "base-url",
    "",
    " ",
    "a.b",
    "a\nb",
    "a\rb",
    "a\u2028b",
    "\x00",
    "é",
    "x" * 300,
    "mastodon",
    "[0]",
]
URLS = [
    "https://mastodon.example",
    "http://127.0.0.1:8080",
    "https://m.example/",
    "https://m.example/path",
    "ftp://m.example",
    "https://user:pw@m.example",
    "https://m.example?x=1",
    "https://m.example#f",
    "mastodon.example",
    "https://[::1",
    "http://m.example:99999",
    "http://\uff0fexample",
    "",
    "   ",
]


class Cases:
    """Seeded config cases, with token files and credentials prepared under `base`."""

    def __init__(self, seed: int, base: Path) -> None:
        self.r = random.Random(seed)
        self.base = base
        self.secret = ""
        self.files: dict[str, Path] = {}
        self.creds: Path = base / "creds"
        self.error_rate = 0.0
        self.very_deep = 0

    def fresh_secret(self) -> str:
        return "SECRET-" + secrets.token_hex(12)

    def prepare_files(self, secret: str) -> None:
        """Token files holding `secret` with every mode that matters, and a credentials dir."""
        base = self.base
        for name, mode, text in [
            ("private", 0o600, secret + "\n"),
            ("group", 0o640, secret),
            ("world", 0o644, secret),
            ("empty", 0o600, ""),
            ("binary", 0o600, None),
        ]:
            path = base / f"token-{name}"
            if text is None:
                path.write_bytes(b"\xff\xfe" + secret.encode())
            else:
                path.write_text(text)
            path.chmod(mode)
            self.files[name] = path
        self.files["dir"] = base
        self.files["missing"] = base / "nope" / "token"
        self.creds.mkdir(exist_ok=True)
        for name in ("mastodon-access-token", "ngrok-auth-token"):
            path = self.creds / name
            path.write_text(secret)
            path.chmod(self.r.choice([0o600, 0o644]))

    def case(self) -> Case:
        r = self.r
        if not self.files or r.random() < 0.05:
            self.secret = self.fresh_secret()
            self.prepare_files(self.secret)
        secret = self.secret
        # how wrong this case is: a third of them are right, the rest wrong here and there
        self.error_rate = r.choice([0.0, 0.0, 0.0, 0.03, 0.1, 0.3])
        doc = self.document(secret)
        env: dict[str, str] = {}
        if r.random() < 0.2:
            env["MASTOD_ACCESS_TOKEN"] = secret
        if r.random() < 0.2:
            env["NGROK_AUTHTOKEN"] = secret
        if r.random() < 0.2:
            env["CREDENTIALS_DIRECTORY"] = str(self.creds)
        roll = r.random()
        if not isinstance(doc, dict):  # overrides are a mapping by contract (code, not users)
            roll = 1.0
        if roll < 0.45:  # overrides alone (`serve --sandbox`)
            return Case(None, overrides=doc, env=env, secrets=[secret])
        if roll < 0.5:  # a file and overrides merged over it
            over = self.document(secret)
            if not isinstance(over, dict):
                over = {"mastodon": {"timeout": 5}}
            return Case(doc, overrides=over, env=env, secrets=[secret])
        if roll < 0.6:
            return Case(doc, text=self.corrupt(doc), env=env, secrets=[secret])
        if roll < 0.7:  # block style, as people write it
            return Case(doc, env=env, secrets=[secret])
        # flow style (JSON is YAML): as fast to make as to read, so most of the volume
        return Case(doc, text=json.dumps(doc, default=str).encode(), env=env, secrets=[secret])

    def wrong(self) -> bool:
        return self.r.random() < self.error_rate

    def document(self, secret: str) -> Any:
        r = self.r
        if self.wrong() and r.random() < 0.2:
            return r.choice([[], [1], "text", 3, None, True])
        doc: dict[Any, Any] = {}
        for name, tp in SECTIONS.items():
            if name == "mastodon" or r.random() < 0.4:
                doc[name] = self.section(name, tp, secret)
        if self.wrong():
            doc[r.choice(WEIRD_NAMES)] = self.scalar()
        return doc

    def section(self, name: str, tp: Any, secret: str) -> Any:
        r = self.r
        cls = section_class(tp)
        if cls is None:
            return self.value(name, tp, secret)
        if self.wrong() and r.random() < 0.2:
            return r.choice([None, [], "x", 1, [{"a": 1}]])
        out: dict[Any, Any] = {}
        tokens = ("access_token", "access_token_file")
        token_field = r.choice(tokens)
        for fname, ftp in fields_of(cls).items():
            if fname in tokens and fname != token_field and not self.wrong():
                continue  # both at once is an error
            if fname == "base_url" or r.random() < 0.35:
                out[fname] = self.section(fname, ftp, secret)
        if self.wrong():
            out[r.choice([*WEIRD_NAMES, 1, None, 2.5, True])] = self.scalar()
        return out

    def scalar(self) -> Any:
        return self.r.choice(
            [None, True, 0, -1, 1.5, "", "x", "~", [1, 2], {"a": 1}, 10**20, "yes", ".inf"]
        )

    def value(self, name: str, tp: Any, secret: str) -> Any:
        r = self.r
        bad = self.wrong()
        if bad and r.random() < 0.3:
            return self.scalar()  # most likely the wrong type
        pick = r.choice
        if name in ("access_token", "auth_token"):
            return pick(["", "  ", None, [secret], {"t": secret}, 12345]) if bad else secret
        if name in ("base_url", "public_url"):
            return pick(URLS[4:]) if bad else pick(URLS[:4])
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            if r.random() < 0.15 and name not in ("http",):
                return None
            tp = next(a for a in args if a is not type(None))
            origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is Literal:
            return pick(["", "INFO", "auto ", "nothing"]) if bad else pick(args)
        if tp is Path:
            if name == "access_token_file":
                good = ["private", "group"]
                return str(
                    self.files[pick([n for n in self.files if n not in good] if bad else good)]
                )
            base = self.base
            good_paths = [str(base / "state"), str(base / "run" / "m.sock"), "~/m", "rel/dir"]
            bad_paths = ["~", "~root/x", "", " ", "/", "/" + "d" * 300, "/tmp/a\nb"]
            return pick(bad_paths) if bad else pick(good_paths)
        if tp is bool:
            return pick(["true", 1, None, "no"]) if bad else pick([True, False])
        if tp is int:
            if bad:
                return pick([0, -1, 65536, 2**31, 10**30, 1.0, "8765", True, -(10**20)])
            return pick([1, 2, 100, 8765])
        if tp is float:
            if bad:
                return pick([-1.0, float("inf"), float("nan"), "1", -(10**20), 10**400])
            return pick([0.5, 1, 30, 1e3])
        if origin is tuple:
            if name == "types":
                pool = sorted(NOTIFICATION_TYPES)
                if bad:
                    return pick([[], [["mention"]], [1, None], "mention", ["Mention", "x"]])
                return r.sample(pool, r.randrange(1, 5))
            return pick([[1], "host", [""], [None]]) if bad else pick([[], ["mastod.internal"]])
        if tp is str:
            return pick(["", " ", [1]]) if bad else pick(["127.0.0.1", "::1", "eu", "localhost"])
        return self.scalar()

    def corrupt(self, doc: Any) -> bytes:
        r = self.r
        text = dump(doc)
        roll = r.randrange(11)
        if roll == 0 and text:
            return text[: r.randrange(len(text))]
        if roll == 1:
            i = r.randrange(len(text) + 1)
            junk = r.choice([b"\t", b":", b"- ", b"&", b"*", b"{", b"[", b"\x00", b"'", b"%"])
            return text[:i] + junk + text[i:]
        if roll == 2:
            return text.replace(b": ", b": " + r.choice(TAGS), 1)
        if roll == 3:
            return b"\xef\xbb\xbf" + text
        if roll == 4:
            return text + b"\n---\nmastodon: {}\n"
        if roll == 5:
            i = r.randrange(len(text) + 1)
            return text[:i] + b"\xff\xc0" + text[i:]
        if roll == 6:
            return b"x: &a [1]\ny: *a\nz: *b\n" + text
        if roll == 7:
            # PyYAML is quadratic in depth: past its recursion limit only once
            depth = r.choice([10, 30, 60])
            if not self.very_deep and r.random() < 0.1:
                self.very_deep += 1
                depth = 1100
            return text + b"deep: " + b"[" * depth + b"]" * depth + b"\n"
        if roll == 8:
            return text.replace(b"\n", b"\r\n")
        if roll == 9:
            return b"%YAML 1.1\n---\n" + text
        return json.dumps(doc, default=str).encode()


TAGS = [
    b"!!str ",
    b"!!int ",
    b"!!float ",
    b"!!bool ",
    b"!!null ",
    b"!!binary ",
    b"!!timestamp ",
    b"!!python/object:os.system ",
    b"!custom ",
    b"!!set ",
    b"!!seq ",
]


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A scratch directory on tmpfs when there is one: rewriting a file on some disk file
    systems costs milliseconds (measured 2.2 ms on ext4 here, 0.03 ms on /dev/shm)."""
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(prefix="mastod-fuzz-", dir=shm)) if shm.is_dir() else tmp_path
    previous = os.umask(0o022)
    try:
        yield base
    finally:
        os.umask(previous)
        if base != tmp_path:
            shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
@timeout_mark(180)
def test_seeded_documents(workdir: Path) -> None:
    cases = Cases(SEED, workdir)
    outcome = Outcome()
    target = workdir / "mastod.yaml"
    while outcome.total < scaled(CI_INPUTS):
        judge(cases.case(), target, outcome)
    print(
        f"config: {outcome.total} cases, {outcome.configs} configs, {outcome.errors} ConfigErrors"
    )
    assert outcome.configs > 500  # the generator is not merely producing garbage
    assert outcome.errors > 5000


# --- hypothesis: documents from the schema, shrinkable --------------------------------------

SECRET = "SECRET-hypothesis-5d2c9a7e1b"
YAML_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=20),
)
ANY = st.recursive(
    YAML_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def strategy_for(tp: Any, name: str) -> st.SearchStrategy[Any]:
    cls = section_class(tp)
    if cls is not None:
        parts = {n: strategy_for(t, n) for n, t in fields_of(cls).items()}
        section = st.fixed_dictionaries({}, optional=parts)
        return st.one_of(section, section, section, st.none(), ANY) if cls is not tp else section
    if name in ("access_token", "auth_token"):  # the secret goes only where secrets go
        secret = st.just(SECRET)
        return st.one_of(secret, st.lists(secret), st.dictionaries(st.text(), secret), ANY)
    if name in ("base_url", "public_url"):
        return st.one_of(st.sampled_from(URLS), st.text(max_size=30))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return st.one_of(st.sampled_from(args), ANY)
    if tp is Path or Path in args:
        return st.one_of(st.sampled_from(["/tmp/x", "~", "relative", ""]), YAML_SCALARS)
    return ANY


DOCUMENTS = st.one_of(
    st.fixed_dictionaries(
        {"mastodon": strategy_for(SECTIONS["mastodon"], "mastodon")},
        optional={n: strategy_for(t, n) for n, t in SECTIONS.items() if n != "mastodon"},
    ),
    ANY,
)


@pytest.mark.slow
@timeout_mark(120)
@profile(600)
@given(document=DOCUMENTS, as_file=st.booleans())
def test_hypothesis_documents(workdir: Path, document: Any, as_file: bool) -> None:
    path = workdir / "hypothesis-mastod.yaml"
    outcome = Outcome()
    env = {"MASTOD_ACCESS_TOKEN": SECRET}
    if as_file:
        judge(Case(document, env=env, secrets=[SECRET]), path, outcome)
    elif isinstance(document, Mapping):
        judge(Case(None, overrides=dict(document), env=env, secrets=[SECRET]), path, outcome)
