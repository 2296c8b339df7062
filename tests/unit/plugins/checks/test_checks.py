"""The ``wait_for`` and ``assert`` tasks."""

from __future__ import annotations

import ast
import datetime
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opsrunner import Host, Task, TaskFailed
from opsrunner.connection.local import LocalConnection
from opsrunner.errors import StepTimeout
from opsrunner.registry import Registry
from opsrunner.testing import MakeTask
from opsrunner_plugins import checks
from opsrunner_plugins.checks import assert_, wait_for
from opsrunner_plugins.checks import probe as _probe


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = {"/busy": 503, "/moved": 302}.get(self.path, 200)
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


def serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def http_url() -> Iterator[str]:
    yield from (f"http://{addr}" for addr in serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler)))


@pytest.fixture
def https_url(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server with a certificate for 127.0.0.1 from a throwaway CA (PEM: the CA)."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])

    def build(subject: x509.Name, public: ec.EllipticCurvePublicKey, ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
                   .public_key(public).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False), critical=True)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(build(ca_name, ca_key.public_key(), True).public_bytes(
        serialization.Encoding.PEM))
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    chain = tmp_path / "server.pem"
    chain.write_bytes(
        build(server_name, key.public_key(), False).public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from ((f"https://{addr}/", ca_pem) for addr in serve(server))


# wait_for: ports ------------------------------------------------------------------------

@pytest.mark.parametrize("from_control", [False, True])
def test_port_that_listens_is_ready(make_task: MakeTask, listening_port: int,
                                    from_control: bool) -> None:
    res = wait_for(make_task(), port=listening_port, timeout=5, from_control=from_control)
    assert not res.failed and not res.changed
    assert res.msg.startswith(f"127.0.0.1:{listening_port} to accept connections: done after ")


@pytest.mark.parametrize("from_control", [False, True])
def test_closed_port_times_out_with_the_reason(make_task: MakeTask, closed_port: int,
                                               from_control: bool) -> None:
    res = wait_for(make_task(), port=closed_port, timeout=0.3, sleep=0.1,
                   from_control=from_control)
    assert res.failed and not res.changed
    assert res.msg == (f"timed out after 0.3s waiting for 127.0.0.1:{closed_port} to accept "
                       "connections (last probe: [Errno 111] Connection refused)")


def test_stopped_waits_for_the_port_to_close(make_task: MakeTask, closed_port: int,
                                             listening_port: int) -> None:
    assert not wait_for(make_task(), port=closed_port, state="stopped", timeout=1).failed
    res = wait_for(make_task(), port=listening_port, state="stopped", timeout=0.2, sleep=0.1)
    assert res.failed and "to stop accepting connections (last probe: connection accepted)" \
        in res.msg


def test_runs_in_check_mode_too(make_task: MakeTask, listening_port: int) -> None:
    res = wait_for(make_task(check=True), port=listening_port, timeout=5)
    assert not res.failed and not res.changed


def test_expired_step_deadline_stops_before_probing(listening_port: int, tmp_path: Path) -> None:
    host = Host(name="h", hostname="localhost", connection="local",
                data={"sysroot": str(tmp_path)})
    task = Task(host, lambda: LocalConnection(), deadline=time.monotonic() - 1)
    with pytest.raises(StepTimeout):
        wait_for(task, port=listening_port)


# wait_for: URLs -------------------------------------------------------------------------

@pytest.mark.parametrize("from_control", [False, True])
def test_url_answer_and_status(make_task: MakeTask, http_url: str, from_control: bool) -> None:
    ok = wait_for(make_task(), url=f"{http_url}/", status=[200], timeout=5,
                  from_control=from_control)
    assert not ok.failed and ok.msg.startswith(f"{http_url}/ to answer with HTTP 200: done")
    busy = wait_for(make_task(), url=f"{http_url}/busy", status=[200], timeout=0.3, sleep=0.1,
                    from_control=from_control)
    assert busy.failed and busy.msg.endswith("(last probe: HTTP 503)")
    assert not wait_for(make_task(), url=f"{http_url}/busy", timeout=5).failed  # any answer


def test_redirect_is_the_answer(make_task: MakeTask, http_url: str) -> None:
    assert not wait_for(make_task(), url=f"{http_url}/moved", status=[302], timeout=5).failed


@pytest.mark.parametrize("from_control", [False, True])
def test_https_with_ca_file(make_task: MakeTask, https_url: tuple[str, Path],
                            from_control: bool) -> None:
    url, ca = https_url
    res = wait_for(make_task(), url=url, ca_file=str(ca), timeout=5, from_control=from_control)
    assert not res.failed, res.msg
    untrusted = wait_for(make_task(), url=url, timeout=0.3, sleep=0.1, from_control=from_control)
    assert untrusted.failed and "CERTIFICATE_VERIFY_FAILED" in untrusted.msg


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "give exactly one of port or url"),
    ({"port": 1, "url": "http://x/"}, "give exactly one of port or url"),
    ({"port": 70000}, "port must be 1-65535, got 70000"),
    ({"url": "ftp://x/"}, "url must start with http:// or https://, got 'ftp://x/'"),
    ({"url": "http://x/", "ca_file": "ca.pem"}, "ca_file applies to https:// URLs only"),
    ({"port": 1, "status": [200]}, "status applies to url only"),
    ({"port": 1, "sleep": 0}, "timeout and delay must be >= 0 and sleep > 0"),
])
def test_wait_for_rejects_bad_parameters(make_task: MakeTask, kwargs: dict[str, object],
                                         message: str) -> None:
    with pytest.raises(TaskFailed, match=f"^{re.escape(message)}$"):
        wait_for(make_task(), **kwargs)  # type: ignore[arg-type]


def test_probe_stays_python36_compatible() -> None:
    source = Path(_probe.__file__).read_text()
    ast.parse(source, feature_version=(3, 6))
    assert "from __future__" not in source


# assert ---------------------------------------------------------------------------------

def test_assert_passes(make_task: MakeTask) -> None:
    task = make_task(vars={"version": "4.5.6", "hosts": ["a", "b"]})
    res = assert_(task, that=["version.startswith('4.5')", "hosts | length == 2"])
    assert not res.failed and not res.changed and res.msg == "all 2 assertions passed"
    assert assert_(task, that=["true"], success_msg="engine ready").msg == "engine ready"


def test_assert_names_the_first_false_expression(make_task: MakeTask) -> None:
    task = make_task(vars={"free_gb": 3})
    res = assert_(task, that=["free_gb > 1", "free_gb > 10", "free_gb > 100"])
    assert res.failed and res.msg == "assertion failed: free_gb > 10"
    assert res.data["failed_assertion"] == "free_gb > 10"
    custom = assert_(task, that=["free_gb > 10"], msg="not enough space for the backup")
    assert custom.msg == "not enough space for the backup (false: free_gb > 10)"


def test_assert_undefined_variable_fails(make_task: MakeTask) -> None:
    res = assert_(make_task(), that=["missing == 1"])
    assert res.failed
    assert res.msg == ("cannot evaluate assertion 'missing == 1': "
                       "undefined variable: 'missing' is undefined")


def test_assert_needs_an_expression(make_task: MakeTask) -> None:
    with pytest.raises(TaskFailed, match=r"that: give at least one expression"):
        assert_(make_task(), that=[])


def test_registered_names() -> None:
    registry = Registry()
    checks.opsrunner_register_tasks(registry)
    assert sorted(registry.tasks) == ["assert", "wait_for"]
    assert registry.task("assert").func is assert_
