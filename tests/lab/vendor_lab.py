"""Helpers for the tests of the engine services that run vendor code from the sysroot.

Each test module gives the engine its own loopback address (never the lab's 127.0.80.2) and
builds one template lab (sysroots, vendor copies) that each test copies, so every test starts
from pristine vendor files without making new keys.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import shutil
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

from opsrunner_lab.daemon import pid_alive
from opsrunner_lab.layout import ENGINE, LabHost, LabLayout
from opsrunner_lab.sysroot import build_sysroots
from opsrunner_lab.sysroot_engine import PKI
from opsrunner_lab.unit import Unit

ENGINE_NAME = "engine.lab.local"  # the DNS name in the engine's certificates


class IsolatedLayout(LabLayout):
    """A lab layout (no KVM host) whose engine listens on ``address``."""

    def __init__(self, root: Path, address: str) -> None:
        super().__init__(root, kvm_hosts=0, address_prefix=address.rsplit(".", 1)[0] + ".")
        self.address = address

    def hosts(self) -> list[LabHost]:
        return [dataclasses.replace(h, address=self.address) if h.name == ENGINE else h
                for h in super().hosts()]


def template_lab(root: Path, address: str) -> IsolatedLayout:
    """A lab in ``root`` with its sysroots built."""
    layout = IsolatedLayout(root, address)
    build_sysroots(layout)
    return layout


def copy_lab(template: IsolatedLayout, root: Path) -> IsolatedLayout:
    """A copy of the ``template`` lab in ``root`` (symlinks kept)."""
    shutil.copytree(template.root, root, symlinks=True)
    return IsolatedLayout(root, template.address)


@dataclasses.dataclass
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    peer_cert: bytes  # DER

    def served(self, cert: Path) -> bool:
        """Whether the server presented the PEM certificate in ``cert``."""
        return self.peer_cert == ssl.PEM_cert_to_DER_cert(cert.read_text())

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        assert len(found) <= 1, f"{name} sent {len(found)} times"
        return found[0] if found else None


def pki(layout: LabLayout, name: str) -> Path:
    """A file of the engine sysroot's ``/etc/pki/ovirt-engine``."""
    return layout.sysroot(ENGINE) / PKI / name


def https(layout: LabLayout, port: int, method: str, path: str,
          headers: dict[str, str] | None = None, body: bytes | None = None) -> Answer:
    """One HTTPS request to the engine; the lab CA must validate the server for ENGINE_NAME."""
    context = ssl.create_default_context(cafile=str(layout.root / "pki" / "ca.pem"))
    sock = context.wrap_socket(socket.create_connection((layout.engine_address, port), timeout=10),
                               server_hostname=ENGINE_NAME)
    peer_cert = sock.getpeercert(binary_form=True) or b""
    connection = http.client.HTTPSConnection(layout.engine_address, port, timeout=10)
    connection.sock = sock
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = b"" if method == "HEAD" or response.status == 101 else response.read()
        return Answer(response.status, response.reason, response.getheaders(), data,
                      peer_cert)
    finally:
        connection.close()


@contextlib.contextmanager
def running(unit: Unit) -> Iterator[int]:
    """Start ``unit``, yield its pid; always stop it and check no process is left."""
    try:
        yield unit.start()
    finally:
        pid = unit.daemon.pid()
        unit.stop()
        assert pid is None or not pid_alive(pid), f"{unit.name} (pid {pid}) survived stop()"


def restart(unit: Unit) -> int:
    """``systemctl restart``: stop, then start; the new pid."""
    unit.stop()
    return unit.start()


def edit_once(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``path`` (asserting there is exactly one)."""
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r} found {text.count(old)} times"
    path.write_text(text.replace(old, new))


def break_syntax(path: Path) -> None:
    """Append a syntax error to a Python file."""
    with path.open("a") as handle:
        handle.write("\ndef broken(:\n")


def port_closed(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
    except OSError:
        return True
    return False
