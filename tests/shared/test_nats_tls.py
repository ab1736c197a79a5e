"""NATS over TLS (server-verified and mutual) and secrets read from files."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from central.devservers import NatsServer
from central.errors import SettingsError
from central.service import make_broker
from central.settings import CentralSettings, DatabaseSettings, load


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _issue(folder: Path, name: str, subject: str, extensions: str) -> None:
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        "-subj",
        subject,
        cwd=folder,
    )
    (folder / f"{name}.ext").write_text(extensions)
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        f"{name}.pem",
        "-days",
        "1",
        "-extfile",
        f"{name}.ext",
        cwd=folder,
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    folder = tmp_path_factory.mktemp("pki")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=central test CA",
        cwd=folder,
    )
    _issue(
        folder,
        "server",
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    _issue(folder, "client", "/CN=archiver", "extendedKeyUsage=clientAuth\n")
    return Certs(
        folder / "ca.pem",
        folder / "server.pem",
        folder / "server.key",
        folder / "client.pem",
        folder / "client.key",
    )


def _tls_server(tmp_path: Path, certs: Certs, *, verify: bool) -> NatsServer:
    conf = tmp_path / "tls.conf"
    conf.write_text(
        "tls {\n"
        f'  cert_file: "{certs.server_cert}"\n'
        f'  key_file: "{certs.server_key}"\n'
        f'  ca_file: "{certs.ca}"\n'
        f"  verify: {'true' if verify else 'false'}\n"
        "  timeout: 2\n"
        "}\n"
    )
    return NatsServer(tmp_path, extra_args=("-c", str(conf))).start()


async def _refused(url: str, **options: object) -> bool:
    try:
        nc = await nats.connect(
            url,
            allow_reconnect=False,
            connect_timeout=2,
            max_reconnect_attempts=0,
            **options,  # type: ignore[arg-type]
        )
    except Exception:
        return True
    await nc.close()
    return False


async def test_service_broker_connects_over_tls_when_given_the_ca(
    tmp_path: Path, certs: Certs
) -> None:
    server = _tls_server(tmp_path, certs, verify=False)
    try:
        settings = CentralSettings(nats_url=server.url, nats_tls_ca=str(certs.ca))
        broker = make_broker(settings, "adapter-quake")
        await broker.start()
        try:
            js = broker.connection.jetstream()
            await js.add_stream(name="TLS_CHECK", subjects=["tls.check"])
            ack = await js.publish("tls.check", b"over tls")
            assert ack.seq == 1
        finally:
            await broker.stop()
        # The same server refuses a client that does not speak TLS.
        assert await _refused(server.url)
    finally:
        server.stop()


async def test_mutual_tls_admits_only_a_client_with_a_certificate(
    tmp_path: Path, certs: Certs
) -> None:
    server = _tls_server(tmp_path, certs, verify=True)
    try:
        anonymous = CentralSettings(nats_url=server.url, nats_tls_ca=str(certs.ca))
        assert await _refused(server.url, tls=anonymous.nats_tls())

        identified = DatabaseSettings(
            nats_url=server.url,
            nats_tls_ca=str(certs.ca),
            nats_tls_cert=str(certs.client_cert),
            nats_tls_key=str(certs.client_key),
        )
        nc = await nats.connect(server.url, tls=identified.nats_tls())
        assert nc.is_connected
        await nc.close()
    finally:
        server.stop()


def test_nats_tls_names_the_variable_when_a_file_is_missing(tmp_path: Path) -> None:
    missing = CentralSettings(nats_tls_ca=str(tmp_path / "absent.pem"))
    with pytest.raises(SettingsError, match="CENTRAL_NATS_TLS_CA: unreadable"):
        missing.nats_tls()
    half = CentralSettings(nats_tls_cert=str(tmp_path / "client.pem"))
    with pytest.raises(SettingsError, match="CENTRAL_NATS_TLS_KEY"):
        half.nats_tls()


def test_plain_nats_needs_no_tls_context() -> None:
    assert CentralSettings(nats_url="nats://127.0.0.1:4222").nats_tls() is None
    assert CentralSettings(nats_url="tls://127.0.0.1:4222").nats_tls() is not None


def test_load_reads_a_secret_from_a_file_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("central.settings.SECRETS_DIR", tmp_path)
    (tmp_path / "central_nats_url").write_text("nats://archiver:s3cret@nats:4222")
    monkeypatch.delenv("CENTRAL_NATS_URL", raising=False)
    assert load(CentralSettings).nats_url == "nats://archiver:s3cret@nats:4222"

    monkeypatch.setenv("CENTRAL_NATS_URL", "nats://127.0.0.1:4222")
    assert load(CentralSettings).nats_url == "nats://127.0.0.1:4222"
