"""What `mastod serve` and `check-config` say when something is wrong (real subprocesses), and
`serve --sandbox` keeping its files in its temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

from mastod.paths import default_state_dir
from tests.cli.conftest import run
from tests.fuzz.rig import short_dir
from tests.security.proc import Layout, daemon, free_port, layout, spawn


async def test_a_yaml_error_names_the_file_once(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("mastodon:\n  base_url: [unclosed\n")
    for command in ("check-config", "serve"):
        code, out, err = await run(command, "--config", str(path), as_user=False)
        assert code == 2
        assert out == ""
        assert len(err.splitlines()) == 1, err
        assert err.count(str(path)) == 1, err
        assert "invalid YAML" in err


async def test_a_key_error_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("mastodon: {base_url: https://m.example}\nrpc: {http: {port: 0}}\n")
    code, _, err = await run("check-config", "--config", str(path), as_user=False)
    assert (code, err) == (2, f"mastod: {path}: rpc.http.port: must be 1-65535\n")


async def test_an_unresolvable_instance_is_said_so(tmp_path: Path) -> None:
    lay = layout(tmp_path, "https://mastodon.invalid", "token-1")
    async with daemon(lay) as running:
        status = (await running.call("status"))["result"]
    assert status["account_error"] == "Cannot resolve mastodon.invalid"


async def test_a_socket_in_use_is_one_line(tmp_path: Path) -> None:
    first = layout(tmp_path, "http://127.0.0.1:9", "token-1")
    async with daemon(first):
        (tmp_path / "second").mkdir()
        second = Layout(short_dir(tmp_path / "second"), json.loads(json.dumps(first.config)))
        second.config["rpc"]["http"]["port"] = free_port()
        second.config["state_dir"] = str(second.base / "state")
        second.config["log"] = {"level": "info", "format": "json"}
        proc = await spawn(second)
        code = await proc.exited()
    assert code == 1
    lines = proc.log_text().splitlines()
    assert lines[-1] == f"mastod: {first.socket_path} is in use by another process"
    assert "Unclosed" not in proc.log_text()


async def test_the_sandbox_writes_its_state_and_token_in_its_temporary_directory(
    tmp_path: Path,
) -> None:
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    default_token = default_state_dir() / "rpc.token"
    existed = default_token.exists()
    lay = Layout(
        short_dir(tmp_path),
        {
            "rpc": {
                "unix_socket": str(tmp_path / "run" / "mastod.sock"),
                "http": {"host": "127.0.0.1", "port": free_port()},
            },
            "webhook": {"port": free_port()},
            "log": {"format": "json"},
        },
    )
    proc = await spawn(
        lay, "serve", "--sandbox", "--config", str(lay.config_path),
        env={"TMPDIR": str(scratch_parent)},
    )  # fmt: skip
    try:
        await proc.ready()
    finally:
        assert await proc.stop() == 0
    started = next(json.loads(line) for line in proc.stderr if '"sandbox.started"' in line)
    token_file = Path(started["rpc_token_file"])
    assert token_file.parent.parent == scratch_parent  # <TMPDIR>/mastod-sandbox-*/rpc.token
    assert not token_file.exists()  # gone with the directory
    assert list(scratch_parent.iterdir()) == []
    assert default_token.exists() == existed


async def test_a_port_in_use_is_reported_before_waiting_on_the_instance(tmp_path: Path) -> None:
    first = layout(tmp_path, "http://127.0.0.1:9", "token-1")
    async with daemon(first):
        (tmp_path / "second").mkdir()
        second = Layout(short_dir(tmp_path / "second"), json.loads(json.dumps(first.config)))
        second.config["rpc"]["unix_socket"] = str(second.base / "run" / "mastod.sock")
        second.config["state_dir"] = str(second.base / "state")
        second.config["log"] = {"level": "info", "format": "json"}
        proc = await spawn(second)
        code = await proc.exited()
    assert code == 1
    port = first.config["rpc"]["http"]["port"]
    assert proc.log_text().splitlines()[-1] == (
        f"mastod: cannot listen on 127.0.0.1:{port} (rpc.http): Address already in use"
    )
    # the account check starts with the store, in the background; the port error comes before
    # any retry of it (the instance here refuses connections)
    lines = [json.loads(line) for line in proc.log_text().splitlines() if line.startswith("{")]
    assert sum(line["event"] == "mastodon.request" for line in lines) <= 1
