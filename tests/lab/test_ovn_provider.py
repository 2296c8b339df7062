"""ovirt-provider-ovn: a TLS server on the sysroot's copy of the stdlib ``http.server``."""

from __future__ import annotations

import json
import sysconfig
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
from opsrunner_lab.ovn_provider import install_ovn_provider, ovn_provider_unit, ovn_stdlib
from opsrunner_lab.unit import Unit

pytestmark = pytest.mark.lab

ADDRESS = "127.0.87.2"
PORT = 35357
# The HSTS procedure's edit of http/server.py (RUNBOOKS.md section 3, step 3).
DATE_HEADER = "        self.send_header('Date', self.date_time_string())\n"
HSTS_ADDED = (DATE_HEADER + '        self.send_header("Strict-Transport-Security", '
              '"max-age=31536000")\n')


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> IsolatedLayout:
    layout = template_lab(tmp_path_factory.mktemp("ovn") / "lab", ADDRESS)
    assert install_ovn_provider(layout) is True
    return layout


@pytest.fixture
def layout(template: IsolatedLayout, tmp_path: Path) -> IsolatedLayout:
    return copy_lab(template, tmp_path / "lab")


@pytest.fixture
def unit(layout: IsolatedLayout) -> Iterator[Unit]:
    unit = ovn_provider_unit(layout)
    try:
        yield unit
    finally:
        unit.stop()


def server_py(layout: IsolatedLayout) -> Path:
    return ovn_stdlib(layout) / "http/server.py"


def test_get_answers_json_and_head_gets_http_servers_501(layout: IsolatedLayout, unit: Unit) -> None:
    with running(unit):
        get = https(layout, PORT, "GET", "/")
        head = https(layout, PORT, "HEAD", "/")
    assert get.status == 200 and get.header("Content-Type") == "application/json"
    assert json.loads(get.body)["versions"]["values"][0]["id"] == "v2.0"
    assert get.served(pki(layout, "certs/apache.cer"))
    assert (head.status, head.reason) == (501, "Unsupported method ('HEAD')")
    assert [name for name, _ in head.headers] == [
        "Server", "Date", "Connection", "Content-Type", "Content-Length"]
    assert (head.header("Server") or "").startswith("BaseHTTP/0.6 Python/")
    assert head.header("Content-Type") == "application/json"


def test_http_server_is_imported_from_the_sysroot_copy(layout: IsolatedLayout, unit: Unit) -> None:
    with running(unit):
        pass
    log = unit.daemon.logfile.read_text()
    assert f"http.server from {server_py(layout)}\n" in log
    assert (ovn_stdlib(layout) / "http/__init__.py").read_bytes() == (
        Path(sysconfig.get_paths()["stdlib"]) / "http/__init__.py").read_bytes()


def test_hsts_patch_of_the_http_copy_shows_after_a_restart(
        layout: IsolatedLayout, unit: Unit) -> None:
    with running(unit):
        edit_once(server_py(layout), DATE_HEADER, HSTS_ADDED)
        assert https(layout, PORT, "HEAD", "/").header("Strict-Transport-Security") is None
        restart(unit)
        head = https(layout, PORT, "HEAD", "/")
        get = https(layout, PORT, "GET", "/")
    assert [name for name, _ in head.headers] == [
        "Server", "Date", "Strict-Transport-Security", "Connection", "Content-Type",
        "Content-Length"]
    assert head.status == 501 and head.header("Strict-Transport-Security") == "max-age=31536000"
    assert get.status == 200 and get.header("Strict-Transport-Security") == "max-age=31536000"


def test_stop_leaves_no_process_and_frees_the_port(layout: IsolatedLayout, unit: Unit) -> None:
    pid = unit.start()
    assert unit.stop() is True
    assert not pid_alive(pid) and not unit.is_active()
    assert port_closed(ADDRESS, PORT)


def test_syntax_error_in_the_http_copy_fails_start_with_the_traceback(
        layout: IsolatedLayout, unit: Unit) -> None:
    break_syntax(server_py(layout))
    with pytest.raises(LabServerError, match="ovirt-provider-ovn exited") as failure:
        unit.start()
    assert f'File "{server_py(layout)}"' in str(failure.value)
    assert "SyntaxError" in str(failure.value)
    assert not unit.is_active()


def test_install_keeps_a_patched_copy(layout: IsolatedLayout) -> None:
    edit_once(server_py(layout), DATE_HEADER, HSTS_ADDED)
    assert install_ovn_provider(layout) is False
    assert HSTS_ADDED in server_py(layout).read_text()
    assert install_ovn_provider(layout, replace=True) is True
    assert HSTS_ADDED not in server_py(layout).read_text()
    assert not (ovn_stdlib(layout) / "http/__pycache__").exists()


def test_start_without_the_copy_says_to_install_it(tmp_path: Path) -> None:
    unit = ovn_provider_unit(IsolatedLayout(tmp_path, ADDRESS))
    with pytest.raises(LabServerError, match="install_ovn_provider, run by `opsrunner lab up`"):
        unit.start()
