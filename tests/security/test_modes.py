"""After a real start (`mastod serve`, push notifications on, so that every state file
exists), started with umask 000 so that nothing comes from the umask: the Unix socket is
0660 in a 0750 directory, the state directory 0700 and every state file in it 0600."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.security.proc import daemon, free_port, layout, sandbox_with_token


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


async def test_socket_and_state_modes_after_a_real_start(tmp_path: Path) -> None:
    async with sandbox_with_token() as (upstream, token):
        port = free_port()
        lay = layout(
            tmp_path,
            upstream.url,
            token,
            notifications={"source": "push"},
            webhook={"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
        )
        async with daemon(lay, mask=0o000) as running:
            status = await running.call("status")
            assert status["result"]["notifications"]["source"] == "push", status

            sock = lay.socket_path
            assert stat.S_ISSOCK(sock.lstat().st_mode)
            assert mode(sock) == 0o660
            assert mode(sock.parent) == 0o750

            state = lay.state_dir
            assert mode(state) == 0o700
            files = sorted(p.name for p in state.iterdir())
            for name in ("rpc.token", "push-keys.json", "notifications.sqlite3"):
                assert name in files, files
            for path in state.iterdir():
                if path.is_file():
                    assert mode(path) == 0o600, f"{path.name} is {mode(path):04o}"
                else:
                    assert mode(path) == 0o700, f"{path.name}/ is {mode(path):04o}"
        assert running.proc.returncode == 0
