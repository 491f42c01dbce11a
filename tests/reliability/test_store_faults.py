"""Storage faults against the real daemon (a subprocess on the sandbox): a full disk under
both sources (a small tmpfs as state_dir), a damaged file at start, a page damaged while
the daemon runs, a full disk at start, and retention's `pruned` marker.

What each test proves, from the user's side: `status` and `/health` say what is wrong, the
log says it once, and once the fault clears every notification arrives exactly once, in
order, without waiting for another push.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from mastod.notify import retention
from mastod.notify.store import FILENAME, NotificationStore
from mastod.sandbox import RunningSandbox
from tests.notify.conftest import note
from tests.notify.filesystems import fill, free, small_fs
from tests.reliability.harness import (
    LINE_LIMIT,
    ROOT,
    Actor,
    DaemonProcess,
    Received,
    alice_notifications,
    daemon_process,
    frame,
    free_port,
    resuming_subscriber,
    unix_call,
    wait_until,
    write_config,
)

SETTLE = 90.0  # a hang guard: the retry after the disk is freed comes within ~25 s
FAULT_MENTIONS = 20  # notifications made while the disk is full
PAGE = 4096


def config_on(workdir: Path, upstream: RunningSandbox, state_dir: Path, source: str) -> Path:
    """A daemon config whose state_dir is `state_dir` (the rest stays in `workdir`)."""
    webhook = free_port() if source == "push" else None
    path = write_config(workdir, upstream.url, source=source, http=True, webhook_port=webhook)
    doc = yaml.safe_load(path.read_text())
    doc["state_dir"] = str(state_dir)
    path.write_text(yaml.safe_dump(doc))
    return path


async def status(daemon: DaemonProcess) -> dict[str, Any]:
    answer = await unix_call(daemon.socket_path, "status", timeout=10.0)
    return dict(answer["result"])


async def health(daemon: DaemonProcess) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{daemon.http_url}/health") as response,
    ):
        return response.status, await response.json()


async def until_async(check: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, f"{what}: not reached in {timeout}s"
        await asyncio.sleep(0.05)


def notification_gets(upstream: RunningSandbox, since: int = 0) -> int:
    return sum(
        1
        for r in upstream.sandbox.recorded[since:]
        if r.method == "GET" and r.path == "/api/v1/notifications"
    )


def loud_events(daemon: DaemonProcess) -> list[str]:
    """The events the daemon logged at warning level or above."""
    found = []
    for line in daemon.log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("warning", "error", "critical"):
            found.append(str(entry.get("event")))
    return found


def tracebacks(daemon: DaemonProcess) -> list[str]:
    return [
        line
        for line in daemon.log_path.read_text(errors="replace").splitlines()
        if "Traceback" in line or '"exception"' in line
    ]


@pytest.mark.parametrize("source", ["push", "streaming"])
async def test_a_full_disk_is_shown_retried_and_recovered(
    upstream: RunningSandbox, workdir: Path, source: str
) -> None:
    with small_fs(2048) as mount:
        config = config_on(workdir, upstream, mount / "state", source)
        async with daemon_process(config) as daemon:
            await daemon.wait_source("registered" if source == "push" else "connected")
            since = alice_notifications(upstream)[-1]
            got, stop = Received(), asyncio.Event()
            reader = asyncio.create_task(resuming_subscriber(daemon.socket_path, since, got, stop))
            actor = Actor(upstream)
            try:
                first = await actor.mention()
                await wait_until(lambda: set(first) <= set(got.ids), 30, "the first mention")
                fill(mount)

                # The store still has room in its WAL for a while: mention until it fails.
                async def store_failed() -> bool:
                    return (await status(daemon))["store"] != "ok"

                async def mention_until_refused() -> bool:
                    if await store_failed():
                        return True
                    made = await actor.mention()

                    async def settled() -> bool:
                        return made[-1] in got.ids or await store_failed()

                    await until_async(settled, 30, "the mention stored or refused")
                    return False

                await until_async(mention_until_refused, 60, "a store failure")
                gets_at_fault = len(upstream.sandbox.recorded)
                for _ in range(FAULT_MENTIONS):
                    await actor.mention()
                state = await status(daemon)
                assert state["store"] == "disk full"
                assert state["status"] == "unhealthy"
                code, body = await health(daemon)
                assert (code, body["status"]) == (503, "unhealthy")
                assert body["problems"] == ["store: disk full"]
                free(mount)
                freed = time.monotonic()
                expected = alice_notifications(upstream, after=since)
                await wait_until(lambda: set(got.ids) >= set(expected), SETTLE, "every one")
                recovered_in = time.monotonic() - freed
                during = notification_gets(upstream, gets_at_fault)
                await asyncio.sleep(0.5)  # a duplicate would arrive now
                assert got.ids == expected  # exactly once, in order
                state = await status(daemon)
                assert state["store"] == "ok"
                assert (await health(daemon))[0] == 200
            finally:
                stop.set()
                await reader
                await actor.close()
            assert loud_events(daemon) == ["store.write_failed"]  # once, and nothing else
            assert len(daemon.log_events("store.recovered")) == 1
            assert not daemon.log_events("intake.failed")
            assert not tracebacks(daemon)
            # the pushes while the disk was full did not each refetch: the retries back off
            assert during <= 12, during
            print(
                f"{source}: {len(expected)} notifications, {FAULT_MENTIONS}+ while full, "
                f"{during} GET /api/v1/notifications from the fault to recovery, all delivered "
                f"{recovered_in:.1f}s after the space came back"
            )


async def make_store(state_dir: Path, count: int, **options: Any) -> None:
    """A store holding notifications 1..count (of about 1 KB), as a stopped daemon left it
    (pruned to `options`' retention)."""
    store = NotificationStore(state_dir, maintenance_interval=3600, **options)
    await store.start()
    with store.transaction():
        for nid in range(1, count + 1):
            store.add(note(nid, pad=700))
    await retention.prune(store)
    await store.close()


async def read_frames(
    path: Path, since_id: str, until: Any, *, closes: bool = False
) -> list[dict[str, Any]]:
    """Subscribe on a fresh Unix-socket connection and read frames until `until(frame)`;
    then the connection still answers `status` (its answer is the last frame), or with
    `closes`, the daemon has closed it."""
    reader, writer = await asyncio.open_unix_connection(str(path), limit=LINE_LIMIT)
    frames: list[dict[str, Any]] = []
    try:
        writer.write(json.dumps(frame(1, "subscribe", {"since_id": since_id})).encode() + b"\n")
        await writer.drain()
        while not frames or not until(frames[-1]):
            line = await asyncio.wait_for(reader.readline(), 30)
            assert line, f"the connection closed after {len(frames)} frames"
            frames.append(json.loads(line))
        if closes:
            assert await asyncio.wait_for(reader.read(), 30) == b""
            return frames
        # the connection still serves calls
        writer.write(json.dumps(frame(2, "status")).encode() + b"\n")
        await writer.drain()
        answer = json.loads(await asyncio.wait_for(reader.readline(), 30))
        frames.append(answer)
    finally:
        writer.close()
    return frames


def reaches(notification_id: str) -> Any:
    """A `read_frames` stop condition: the notification with that id."""
    return lambda f: f.get("params", {}).get("notification", {}).get("id") == notification_id


def corrupt_page_of(path: Path, notification_id: str) -> None:
    """Overwrite the b-tree header of the page that holds one notification."""
    data = path.read_bytes()
    offset = data.index(f'"id":"{notification_id}"'.encode())
    with path.open("r+b") as f:
        f.seek(offset - offset % PAGE)
        f.write(b"\xee" * 16)


async def test_a_page_damaged_while_running_ends_the_replay_with_an_error(
    upstream: RunningSandbox, workdir: Path
) -> None:
    state_dir = workdir / "state"
    await make_store(state_dir, 600)
    config = config_on(workdir, upstream, state_dir, "none")
    async with daemon_process(config) as daemon:
        corrupt_page_of(state_dir / FILENAME, "300")
        frames = await read_frames(daemon.socket_path, "0", lambda f: "error" in f, closes=True)
        *notes, failed = frames[1:]  # after the subscribe answer; then the connection closed
        ids = [n["params"]["notification"]["id"] for n in notes]
        assert ids == [str(i) for i in range(1, len(ids) + 1)]
        assert 0 < len(ids) < 300  # up to the page of the store read that failed
        assert failed["id"] is None
        assert failed["error"]["code"] == -32603
        assert failed["error"]["data"]["since_id"] == ids[-1]  # resume point
        assert (await status(daemon))["store"].startswith("damaged")  # on a new connection
        assert (await health(daemon))[0] == 503
        # `mastod listen` stops on it instead of waiting forever
        listen = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mastod", "listen", "--since", "0",
            "--socket", str(daemon.socket_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        out, err = await asyncio.wait_for(listen.communicate(), 60)
        assert listen.returncode != 0
        assert len(out.splitlines()) == len(ids)
        assert b"Notification store error" in err
        # the daemon goes on serving
        assert (await status(daemon))["status"] == "unhealthy"
        assert len(daemon.log_events("store.read_failed")) == 1
        assert not tracebacks(daemon)


@pytest.mark.parametrize("damage", ["header", "truncated"])
async def test_a_damaged_store_at_start_is_moved_aside(
    upstream: RunningSandbox, workdir: Path, damage: str
) -> None:
    state_dir = workdir / "state"
    await make_store(state_dir, 300)
    path = state_dir / FILENAME
    if damage == "header":
        path.write_bytes(b"garbage" * 1000)
    else:
        os.truncate(path, path.stat().st_size // 2)
    config = config_on(workdir, upstream, state_dir, "none")
    async with daemon_process(config) as daemon:
        state = await status(daemon)
        assert (state["status"], state["store"]) == ("ok", "ok")
        [moved] = daemon.log_events("store.damaged")
        assert Path(moved["moved_to"]).name.startswith(FILENAME + ".corrupt-")
        assert Path(moved["moved_to"]).exists()
        assert "fresh store" in moved["action"]
        assert await daemon.stop() == 0
    assert not tracebacks(daemon)


async def test_a_full_disk_at_start_serves_the_store_and_says_so(
    upstream: RunningSandbox, workdir: Path
) -> None:
    with small_fs(1024) as mount:
        state_dir = mount / "state"
        await make_store(state_dir, 50)
        config = config_on(workdir, upstream, state_dir, "none")
        fill(mount)
        daemon = DaemonProcess(config)
        await daemon.spawn()
        try:

            async def answering() -> bool:
                try:
                    await status(daemon)
                except (OSError, ValueError, KeyError):
                    return False
                return True

            await until_async(answering, 30, "the daemon answering")
            state = await status(daemon)
            assert (state["status"], state["store"]) == ("unhealthy", "disk full")
            frames = await read_frames(
                daemon.socket_path,
                "48",
                reaches("50"),
            )
            assert [f["params"]["notification"]["id"] for f in frames[1:3]] == ["49", "50"]
            free(mount)
            assert await daemon.stop() == 0
        finally:
            await daemon.kill()
        assert len(daemon.log_events("store.disk_full_at_start")) == 1
        assert not tracebacks(daemon)


async def test_a_disk_too_full_to_open_anything_is_one_line_and_exit_1(
    upstream: RunningSandbox, workdir: Path
) -> None:
    with small_fs(256) as mount:
        (mount / "state").mkdir(mode=0o700)
        config = config_on(workdir, upstream, mount / "state", "none")
        fill(mount)
        done = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mastod", "serve", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        out, err = await asyncio.wait_for(done.communicate(), 60)
        assert done.returncode == 1
        lines = err.decode().strip().splitlines()
        assert lines[-1] == (
            f"mastod: notification store {mount / 'state' / FILENAME}: disk full; "
            "free space on the filesystem that holds it"
        )
        assert b"Traceback" not in err + out


async def test_a_since_id_older_than_retention_gets_a_pruned_marker(
    upstream: RunningSandbox, workdir: Path
) -> None:
    state_dir = workdir / "state"
    await make_store(state_dir, 20, max_rows=5, max_age=None)  # keeps 16-20
    config = config_on(workdir, upstream, state_dir, "none")
    async with daemon_process(config) as daemon:
        frames = await read_frames(
            daemon.socket_path,
            "3",
            reaches("20"),
        )
        assert frames[1] == {
            "jsonrpc": "2.0",
            "method": "pruned",
            "params": {
                "subscription": frames[0]["result"]["subscription"],
                "since_id": "3",
                "oldest_id": "16",
            },
        }
        assert [f["params"]["notification"]["id"] for f in frames[2:7]] == [
            "16",
            "17",
            "18",
            "19",
            "20",
        ]
        frames = await read_frames(
            daemon.socket_path,
            "17",
            reaches("20"),
        )
        assert [f["method"] for f in frames[1:4]] == ["notification"] * 3  # no marker: nothing lost


async def test_a_store_deleted_while_running_is_shown_and_written_back(
    upstream: RunningSandbox, workdir: Path
) -> None:
    state_dir = workdir / "state"
    await make_store(state_dir, 620)
    config = config_on(workdir, upstream, state_dir, "none")
    async with daemon_process(config) as daemon:
        (state_dir / FILENAME).unlink()
        state = await status(daemon)
        assert state["store"] == "file deleted while running (the open store is kept)"
        assert state["status"] == "unhealthy"
        assert not (state_dir / FILENAME).exists()  # never silently recreated
        assert (await status(daemon))["store"].startswith("file deleted")
        assert len(daemon.log_events("store.file_lost")) == 1
        assert await daemon.stop() == 0
    assert daemon.log_events("store.written_back")
    async with daemon_process(config) as daemon:
        assert (await status(daemon))["store"] == "ok"
        frames = await read_frames(daemon.socket_path, "618", reaches("620"))
        assert [f["params"]["notification"]["id"] for f in frames[1:3]] == ["619", "620"]
