"""Checks after workflows/hsts.yml: each engine port answers a real HTTPS request (``curl -s -I
-k``, as the OLVM Administration Guide, "Administration Tasks", section "Enabling HTTP Strict
Transport Security" ("HTTP Strict Transport Securityの有効化"), does) with
``Strict-Transport-Security`` and the configured max-age, http on the engine redirects to https,
and each patched file still holds its patch (a package update that reverted one fails here,
even before the service restarts).

Variables (``-e``): ``hsts_max_age`` (31536000), ``hsts_httpd_max_age`` (63072000),
``hsts_remove`` (true: every port must answer without the header, every file be unpatched);
the host's ``engine_address`` (default localhost) and ``ports``.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from opsrunner_plugins import hsts
from opsrunner_plugins.hsts.patches import HeaderlistAppend, ImageioHeaders, SendResponseHeader
from opsrunner_plugins.hsts.pypatch import PyPatch

SERVICES = {  # service -> default port
    "httpd": 443, "ovirt-imageio": 54323, "ovirt-provider-ovn": 35357,
    "ovirt-websocket-proxy": 6100}
FILES: dict[str, tuple[str, PyPatch]] = {
    "ovirt-imageio": (hsts.IMAGEIO_HTTP, ImageioHeaders()),
    "ovirt-provider-ovn": (hsts.OVN_SERVER, SendResponseHeader()),
    "ovirt-websocket-proxy": (hsts.WEBOB_RESPONSE, HeaderlistAppend())}


def removed(hostvars: dict[str, Any]) -> bool:
    return str(hostvars.get("hsts_remove", "false")).lower() in ("true", "yes", "1")


def max_age(hostvars: dict[str, Any], service: str) -> int:
    if service == "httpd":
        return int(hostvars.get("hsts_httpd_max_age", hsts.HTTPD_MAX_AGE))
    return int(hostvars.get("hsts_max_age", hsts.MAX_AGE))


def head(host: Any, url: str) -> tuple[str, dict[str, str]]:
    """The status line and the headers (lower-case names) of ``curl -s -I -k url``."""
    res = host.run(f"curl -s -I -k --max-time 10 {shlex.quote(url)}")
    assert res.rc == 0, f"curl -s -I -k {url} failed (exit status {res.rc}): {res.stderr.strip()}"
    lines = [line.strip() for line in res.stdout.splitlines() if line.strip()]
    headers = dict((name.strip().lower(), value.strip()) for name, _, value in
                   (line.partition(":") for line in lines[1:]))
    return lines[0], headers


def address(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("engine_address", "localhost"))


def port(hostvars: dict[str, Any], service: str) -> int:
    ports = hostvars.get("ports") or {}
    return int(ports.get("https" if service == "httpd" else service, SERVICES[service]))


@pytest.mark.parametrize("service", list(SERVICES))
def test_port_answers_with_the_hsts_header(host: Any, hostvars: dict[str, Any],
                                           service: str) -> None:
    url = f"https://{address(hostvars)}:{port(hostvars, service)}/"
    status, headers = head(host, url)
    found = headers.get("strict-transport-security")
    if removed(hostvars):
        assert found is None, f"{url} ({service}) still sends Strict-Transport-Security: {found}"
        return
    wanted = f"max-age={max_age(hostvars, service)}"
    if service == "httpd":
        wanted += "; includeSubDomains"
    assert found == wanted, (f"{url} ({service}) answered {status!r} with "
                             f"Strict-Transport-Security: {found}, expected {wanted}")


def test_http_redirects_to_https(host: Any, hostvars: dict[str, Any]) -> None:
    if removed(hostvars):
        pytest.skip("HSTS was removed")
    http_port = int((hostvars.get("ports") or {}).get("http", 80))
    status, headers = head(host, f"http://{address(hostvars)}:{http_port}/ovirt-engine/")
    assert status.split()[1:2] and status.split()[1].startswith("3"), \
        f"http on the engine answered {status!r}, expected a redirect"
    location = headers.get("location", "")
    assert location.startswith("https://"), f"the redirect goes to {location!r}, not https"


@pytest.mark.parametrize("service", list(FILES))
def test_patched_file_holds_the_header(host: Any, hostvars: dict[str, Any], host_path: Any,
                                       service: str) -> None:
    path, patch = FILES[service]
    found = host.file(host_path(path))
    assert found.is_file, f"{path} is missing"
    age = patch.max_age(found.content_string)
    if removed(hostvars):
        assert age is None, f"{path} still holds the HSTS patch (max-age={age})"
        return
    assert age is not None, f"{path} lost its HSTS patch (a package update reverted it?)"
    assert age == max_age(hostvars, service), \
        f"{path} sends max-age={age}, expected {max_age(hostvars, service)}"


def test_httpd_conf_is_the_guides(host: Any, hostvars: dict[str, Any], host_path: Any) -> None:
    found = host.file(host_path(hsts.HTTPD_CONF))
    if removed(hostvars):
        assert not found.exists, f"{hsts.HTTPD_CONF} is still there"
        return
    assert found.is_file, f"{hsts.HTTPD_CONF} is missing"
    assert found.content_string == hsts.httpd_conf(max_age(hostvars, "httpd")), \
        f"{hsts.HTTPD_CONF} differs from the guide's conf"
