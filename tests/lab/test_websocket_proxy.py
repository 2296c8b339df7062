"""ovirt-websocket-proxy: TLS answers built by the sysroot's copy of webob."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vendor_lab import (
    ENGINE_NAME,
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
from opsrunner_lab.layout import ENGINE
from opsrunner_lab.pki import write_pem
from opsrunner_lab.sysroot import lab_ca
from opsrunner_lab.unit import Unit
from opsrunner_lab.websocket_proxy import (
    install_websocket_proxy,
    webob_site_packages,
    websocket_proxy_unit,
)

pytestmark = pytest.mark.lab

ADDRESS = "127.0.86.2"
PORT = 6100
CONF_D = "etc/ovirt-engine/ovirt-websocket-proxy.conf.d"
# The HSTS procedure's edit of webob/response.py (RUNBOOKS.md section 3, step 4).
HEADERLIST_SET = "            self._headerlist = headerlist\n"
HSTS_APPENDED = (HEADERLIST_SET + "        self._headerlist.append("
                 "('Strict-Transport-Security', 'max-age=31536000'))\n")
# RFC 6455's example handshake.
WEBSOCKET_KEY, WEBSOCKET_ACCEPT = "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> IsolatedLayout:
    layout = template_lab(tmp_path_factory.mktemp("wsproxy") / "lab", ADDRESS)
    assert install_websocket_proxy(layout) is True
    return layout


@pytest.fixture
def layout(template: IsolatedLayout, tmp_path: Path) -> IsolatedLayout:
    return copy_lab(template, tmp_path / "lab")


@pytest.fixture
def unit(layout: IsolatedLayout) -> Iterator[Unit]:
    unit = websocket_proxy_unit(layout)
    try:
        yield unit
    finally:
        unit.stop()


def response_py(layout: IsolatedLayout) -> Path:
    return webob_site_packages(layout) / "webob/response.py"


def test_plain_http_gets_405_with_the_proxy_certificate(layout: IsolatedLayout, unit: Unit) -> None:
    with running(unit):
        head = https(layout, PORT, "HEAD", "/")
        get = https(layout, PORT, "GET", "/")
    assert (head.status, head.reason) == (405, "Method Not Allowed")
    assert [name for name, _ in head.headers] == [
        "Server", "Date", "Connection", "Content-Type", "Content-Length"]
    assert (head.header("Server") or "").startswith("WebSockify Python/")
    assert head.header("Content-Type") == "text/html;charset=utf-8"
    assert head.served(pki(layout, "certs/websocket-proxy.cer"))
    assert (get.status, get.header("Content-Length")) == (405, head.header("Content-Length"))
    assert b"<p>Message: Method Not Allowed.</p>" in get.body


def test_websocket_upgrade_is_switched_then_closed(layout: IsolatedLayout, unit: Unit) -> None:
    with running(unit):
        answer = https(layout, PORT, "GET", "/?token=x", headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": WEBSOCKET_KEY,
            "Sec-WebSocket-Version": "13"})
    assert (answer.status, answer.header("Upgrade")) == (101, "websocket")
    assert answer.header("Sec-WebSocket-Accept") == WEBSOCKET_ACCEPT


def test_hsts_patch_of_the_webob_copy_shows_after_a_restart(
        layout: IsolatedLayout, unit: Unit) -> None:
    with running(unit):
        edit_once(response_py(layout), HEADERLIST_SET, HSTS_APPENDED)
        assert https(layout, PORT, "HEAD", "/").header("Strict-Transport-Security") is None
        restart(unit)
        head = https(layout, PORT, "HEAD", "/")
    assert head.status == 405
    assert [name for name, _ in head.headers] == [
        "Server", "Date", "Strict-Transport-Security", "Connection", "Content-Type",
        "Content-Length"]
    assert head.header("Strict-Transport-Security") == "max-age=31536000"
    assert f"webob from {webob_site_packages(layout)}/webob/__init__.py" in (
        unit.daemon.logfile.read_text())


def test_certificate_set_by_a_later_conf_file_is_served_after_a_restart(
        layout: IsolatedLayout, unit: Unit) -> None:
    key_pem, cert_pem = lab_ca(layout).issue(ENGINE_NAME, [ENGINE_NAME])
    write_pem(pki(layout, "keys/replaced.key.nopass"), key_pem, 0o600)
    write_pem(pki(layout, "certs/replaced.cer"), cert_pem)
    (layout.sysroot(ENGINE) / CONF_D / "99-replaced.conf").write_text(
        'SSL_CERTIFICATE="/etc/pki/ovirt-engine/certs/replaced.cer"\n'
        "SSL_KEY=/etc/pki/ovirt-engine/keys/replaced.key.nopass\n")
    with running(unit):
        assert https(layout, PORT, "HEAD", "/").served(pki(layout, "certs/replaced.cer"))


def test_stop_leaves_no_process_and_frees_the_port(layout: IsolatedLayout, unit: Unit) -> None:
    pid = unit.start()
    assert unit.stop() is True
    assert not pid_alive(pid) and not unit.is_active()
    assert port_closed(ADDRESS, PORT)


def test_syntax_error_in_the_webob_copy_fails_start_with_the_traceback(
        layout: IsolatedLayout, unit: Unit) -> None:
    break_syntax(response_py(layout))
    with pytest.raises(LabServerError, match="ovirt-websocket-proxy exited") as failure:
        unit.start()
    assert f'File "{response_py(layout)}"' in str(failure.value)
    assert "SyntaxError" in str(failure.value)
    assert not unit.is_active()


def test_conf_without_a_key_fails_start_naming_the_folder(layout: IsolatedLayout, unit: Unit) -> None:
    (layout.sysroot(ENGINE) / CONF_D / "99-nokey.conf").write_text('SSL_KEY=""\n')
    with pytest.raises(LabServerError) as failure:
        unit.start()
    assert f"{layout.sysroot(ENGINE) / CONF_D}/*.conf set no SSL_KEY" in str(failure.value)


def test_install_keeps_a_patched_copy(layout: IsolatedLayout) -> None:
    edit_once(response_py(layout), HEADERLIST_SET, HSTS_APPENDED)
    assert install_websocket_proxy(layout) is False
    assert HSTS_APPENDED in response_py(layout).read_text()
    assert install_websocket_proxy(layout, replace=True) is True
    assert HSTS_APPENDED not in response_py(layout).read_text()
