"""The Patroni backend over TLS: a CA file to verify the members, a client certificate
for members that require one (`restapi.verify_client: required`).

The server is a loopback HTTPS server with certificates made by the real `openssl` for
this run, answering `/cluster` as Patroni does: the TLS handshake (server verification,
client certificate) is real; the Patroni behind it is a recorded answer, because the
shared test cluster speaks plain HTTP.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from integrations.fleet.errors import FleetUnavailable
from integrations.fleet.patroni.backend import Settings, open_backend
from tests.conftest import need_real

CLUSTER = {
    "members": [
        {"name": "n1", "role": "leader", "state": "running", "api_url": "x", "timeline": 3},
        {"name": "n2", "role": "replica", "state": "streaming", "api_url": "y", "lag": 0},
    ]
}


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(base: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    if shutil.which("openssl") is None:
        need_real("the openssl command makes the test certificates")
    key = ("-newkey", "rsa:2048", "-nodes")
    openssl("req", "-x509", *key, "-days", "1", "-subj", "/CN=wk-test-ca",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=base)  # fmt: skip
    (base / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, extra in (("server", ["-extfile", "san.cnf"]), ("client", [])):
        openssl("req", *key, "-subj", f"/CN=wk-{name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=base)  # fmt: skip
        signed = ("-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1")
        openssl("x509", "-req", "-in", f"{name}.csr", *signed,
                "-out", f"{name}.pem", *extra, cwd=base)  # fmt: skip


class _Cluster(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(CLUSTER if self.path == "/cluster" else []).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def tls_member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A member that verifies clients (`verify_client: required`); its URL and the certs."""
    base = tmp_path_factory.mktemp("patroni-tls")
    make_certificates(base)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(base / "server.pem", base / "server.key")
    context.load_verify_locations(base / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Cluster)
    # The handshake runs in each request's own thread, not in accept(): a client that
    # never finishes it (the refused ones below) must not block serve_forever and with it
    # the fixture's shutdown.
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", base
    finally:
        server.shutdown()
        server.server_close()


def settings(url: str, **tls: Path) -> Settings:
    return Settings.model_validate({"clusters": {"pg-tls": [url]}, **tls})


async def test_ca_file_and_client_certificate_reach_a_member_that_requires_them(
    tls_member: tuple[str, Path],
) -> None:
    url, base = tls_member
    fleet = await open_backend(
        settings(
            url,
            ca_file=base / "ca.pem",
            cert_file=base / "client.pem",
            key_file=base / "client.key",
        )
    )
    async with fleet:
        service = await fleet.get_service("pg-tls")
    assert service.health == "healthy" and service.primary is not None
    assert service.primary.name == "n1"


async def test_without_the_ca_the_member_is_not_trusted_and_the_error_says_why(
    tls_member: tuple[str, Path],
) -> None:
    url, _base = tls_member
    async with await open_backend(settings(url)) as fleet:
        with pytest.raises(FleetUnavailable, match="not signed by a trusted CA"):
            await fleet.get_service("pg-tls")


async def test_without_a_client_certificate_the_member_refuses_the_connection(
    tls_member: tuple[str, Path],
) -> None:
    url, base = tls_member
    async with await open_backend(settings(url, ca_file=base / "ca.pem")) as fleet:
        with pytest.raises(FleetUnavailable):
            await fleet.get_service("pg-tls")


def test_a_key_without_its_certificate_and_a_missing_file_are_config_errors(
    tmp_path: Path,
) -> None:
    (tmp_path / "k.key").write_text("x")
    with pytest.raises(ValueError, match="key_file needs cert_file"):
        settings("https://10.0.0.1:8008", key_file=tmp_path / "k.key")
    with pytest.raises(ValueError, match="ca_file"):
        settings("https://10.0.0.1:8008", ca_file=tmp_path / "missing.pem")
