"""`mqtts://`: the broker's certificate is checked against `mqtt.tls.ca_file` (host name
included); a certificate nobody vouches for keeps the bridge disconnected, with the reason."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mastod.sandbox import RunningSandbox
from tests.integration.conftest import start_daemon
from tests.mqtt.conftest import Broker, require_mosquitto, wait_for


def make_ca_and_server(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for 127.0.0.1: (ca.pem, server.pem, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mastod test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].chmod(0o600)
    return paths


# paho-mqtt leaves the socket of a failed TLS handshake to the garbage collector
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_tls_with_the_configured_ca_and_without_it(
    tmp_path: Path, upstream: RunningSandbox
) -> None:
    require_mosquitto()
    ca, cert, key = make_ca_and_server(tmp_path / "pki")
    broker = Broker(tmp_path / "broker", tls=(cert, key))
    await broker.start()
    try:
        for trusted in (True, False):
            mqtt = {"url": broker.url, "tls": {"ca_file": str(ca)} if trusted else {}}
            state = tmp_path / f"daemon-{trusted}"
            state.mkdir()
            rpc, runner = await start_daemon(state, upstream.url, {"mqtt": mqtt})
            try:
                status = rpc.daemon.state.status
                await wait_for(lambda s=status: s()["mqtt"]["state"] != "connecting")  # type: ignore[misc]
                link = status()["mqtt"]
                if trusted:
                    assert link["state"] == "connected", link
                else:
                    assert link["state"] == "disconnected"
                    assert "certificate verify failed" in link["error"]
            finally:
                await runner.cleanup()
    finally:
        await broker.stop()
