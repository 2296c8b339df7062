"""ovirt-imageio: the real daemon, run from its copy in the engine sysroot, serving TLS."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from vendor_lab import (
    IsolatedLayout,
    break_syntax,
    copy_lab,
    edit_once,
    https,
    pki,
    port_closed,
    restart,
    running,
    template_lab,
)

from opsrunner_lab.daemon import LabServerError, pid_alive
from opsrunner_lab.imageio import imageio_site_packages, imageio_unit, install_imageio
from opsrunner_lab.unit import Unit

pytestmark = pytest.mark.lab

ADDRESS = "127.0.85.2"
PORT = 54323
HSTS = "max-age=31536000"
# The HSTS procedure's edit of _internal/http.py (RUNBOOKS.md section 3, step 2).
DEFAULT_HEADERS = 'self.headers = Headers({"content-length": 0})'
PATCHED_HEADERS = ('self.headers = Headers({"content-length": 0, '
                   '"Strict-Transport-Security": "max-age=31536000"})')


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> IsolatedLayout:
    layout = template_lab(tmp_path_factory.mktemp("imageio") / "lab", ADDRESS)
    assert install_imageio(layout) is True
    return layout


@pytest.fixture
def layout(template: IsolatedLayout, tmp_path: Path) -> IsolatedLayout:
    return copy_lab(template, tmp_path / "lab")


@pytest.fixture
def unit(layout: IsolatedLayout) -> Iterator[Unit]:
    unit = imageio_unit(layout)
    try:
        yield unit
    finally:
        unit.stop()


def http_py(layout: IsolatedLayout) -> Path:
    return imageio_site_packages(layout) / "ovirt_imageio/_internal/http.py"


def control(unit: Unit, method: str, path: str, document: object) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("localhost", unit.ports["control"], timeout=10)
    try:
        connection.request(method, path, body=json.dumps(document))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_remote_service_answers_as_imageio_with_apaches_certificate(
        layout: IsolatedLayout, unit: Unit) -> None:
    with running(unit):
        head = https(layout, PORT, "HEAD", "/")
        unknown = https(layout, PORT, "GET", "/images/xyz")
    assert (head.status, head.reason) == (404, "Not Found")
    assert head.header("server") == "imageio/2.5.1"
    assert head.header("Strict-Transport-Security") is None
    assert head.served(pki(layout, "certs/apache.cer"))
    assert (unknown.status, unknown.body) == (
        403, b"You are not allowed to access this resource: No such ticket xyz\n")


def test_ticket_added_on_the_control_port_lets_a_put_land_in_the_file(
        layout: IsolatedLayout, unit: Unit, tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(65536))
    ticket = {"uuid": "ticket-1", "size": 65536, "url": disk.as_uri(), "timeout": 300,
              "ops": ["read", "write"]}
    with running(unit):
        assert control(unit, "PUT", "/tickets/ticket-1", ticket)[0] == 200
        put = https(layout, PORT, "PUT", "/images/ticket-1", body=b"written over TLS")
        read = https(layout, PORT, "GET", "/images/ticket-1", headers={"Range": "bytes=0-15"})
    assert put.status == 200
    assert disk.read_bytes()[:17] == b"written over TLS\0"
    assert (read.status, read.body) == (206, b"written over TLS")


def test_hsts_patch_of_the_sysroot_copy_shows_after_a_restart(
        layout: IsolatedLayout, unit: Unit) -> None:
    with running(unit):
        assert https(layout, PORT, "HEAD", "/").header("Strict-Transport-Security") is None
        edit_once(http_py(layout), DEFAULT_HEADERS, PATCHED_HEADERS)
        assert https(layout, PORT, "HEAD", "/").header("Strict-Transport-Security") is None
        pid = restart(unit)
        head = https(layout, PORT, "HEAD", "/")
        maps = Path(f"/proc/{pid}/maps").read_text()
    assert (head.status, head.header("Strict-Transport-Security")) == (404, HSTS)
    assert str(imageio_site_packages(layout) / "ovirt_imageio/_internal/ioutil") in maps


def test_install_keeps_a_patched_copy_and_a_package_update_reverts_it(
        layout: IsolatedLayout) -> None:
    edit_once(http_py(layout), DEFAULT_HEADERS, PATCHED_HEADERS)
    assert install_imageio(layout) is False
    assert PATCHED_HEADERS in http_py(layout).read_text()
    assert install_imageio(layout, replace=True) is True
    assert DEFAULT_HEADERS in http_py(layout).read_text()
    assert not list(imageio_site_packages(layout).glob(".ovirt_imageio*"))


def test_stop_leaves_no_process_and_frees_the_ports(layout: IsolatedLayout, unit: Unit) -> None:
    pid = unit.start()
    assert unit.is_active() and pid_alive(pid)
    assert unit.stop() is True
    assert not pid_alive(pid)
    assert not unit.is_active() and not unit.daemon.pidfile.exists()
    assert port_closed(ADDRESS, PORT) and port_closed("127.0.0.1", unit.ports["control"])


def test_syntax_error_in_the_copy_fails_start_with_the_traceback(
        layout: IsolatedLayout, unit: Unit) -> None:
    break_syntax(http_py(layout))
    with pytest.raises(LabServerError, match="ovirt-imageio exited") as failure:
        unit.start()
    assert f'File "{http_py(layout)}"' in str(failure.value)
    assert "SyntaxError" in str(failure.value)
    assert not unit.is_active()


def test_start_without_the_copy_says_to_install_it(tmp_path: Path) -> None:
    layout = IsolatedLayout(tmp_path, ADDRESS)
    unit = imageio_unit(layout)
    with pytest.raises(LabServerError, match="install the vendor copy first "
                       r"\(opsrunner_lab.imageio.install_imageio"):
        unit.start()
    assert not unit.is_active()
