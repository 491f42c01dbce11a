"""A real mosquitto for the MQTT bridge's tests: started on a free loopback port with a
generated config (anonymous, or users from a mosquitto_passwd file), stopped by its PID."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest

from tests.integration.conftest import upstream  # noqa: F401 - the sandbox fixture

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None
)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")

NO_MOSQUITTO = "mosquitto is not installed (apt-get install mosquitto; .ci/run does)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """One mosquitto process; `stop()` and `start()` again keep its port and its persisted
    sessions (a restart, as a broker upgrade would do it)."""

    def __init__(
        self,
        directory: Path,
        users: dict[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        directory.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "user root",  # mosquitto started as root would drop to a user that cannot read here
            "persistence true",
            f"persistence_location {directory}/",
            "autosave_interval 0",
            "log_type error",
            "log_type warning",
        ]
        if tls is not None:  # (certificate chain, key) in PEM
            lines += [f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        self.scheme = "mqtts" if tls else "mqtt"
        if users:
            passwd = directory / "passwd"
            passwd.touch(mode=0o600)
            for user, password in users.items():
                assert MOSQUITTO_PASSWD is not None
                subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwd), user, password], check=True)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        self.config = directory / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        assert MOSQUITTO is not None
        log = (self.directory / "mosquitto.log").open("ab")
        with log:
            self.process = await asyncio.create_subprocess_exec(
                MOSQUITTO, "-c", str(self.config), stdout=log, stderr=log
            )
        _STARTED.append(self)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:
            assert self.process.returncode is None, (self.directory / "mosquitto.log").read_text()
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            assert loop.time() < deadline, "mosquitto did not start listening"
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        self.process = None


def require_mosquitto() -> None:
    if MOSQUITTO is None:
        pytest.skip(NO_MOSQUITTO)


_STARTED: list[Broker] = []


@pytest.fixture(autouse=True)
def _no_broker_left() -> Iterator[None]:
    """Whatever happens to a test (a timeout included), the brokers it started end."""
    yield
    while _STARTED:
        process = _STARTED.pop().process
        if process is not None and process.returncode is None:
            process.kill()


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    require_mosquitto()
    running = Broker(tmp_path / "broker")
    await running.start()
    yield running
    await running.stop()


@contextlib.asynccontextmanager
async def mqtt_client(
    broker: Broker,
    *topics: str,
    protocol: aiomqtt.ProtocolVersion = aiomqtt.ProtocolVersion.V5,
    identifier: str | None = None,
    clean_session: bool | None = None,
    qos: int = 1,
    username: str | None = None,
    password: str | None = None,
) -> AsyncIterator[aiomqtt.Client]:
    """A client of the broker, subscribed to `topics`."""
    client = aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        protocol=protocol,
        identifier=identifier,
        clean_session=clean_session,
        username=username,
        password=password,
        timeout=30,
    )
    async with client:
        for topic in topics:
            await client.subscribe(topic, qos=qos)
        yield client


async def next_message(client: aiomqtt.Client, timeout: float = 30) -> aiomqtt.Message:
    return await asyncio.wait_for(client.messages.__anext__(), timeout)


async def wait_for(predicate: object, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)
