"""workflows/hsts.yml on a lab of its own (127.0.103.x): every port sends the header, http
redirects to https, a second run changes nothing, remove mode restores the pristine files, a
file that does not look as expected is refused with every file byte-identical, and the checks
catch a package update that reverted a patch."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_up import running_lab
from workflow_lab import WORKFLOWS, RunOutcome, run_workflow

from opsrunner_lab.imageio import install_imageio
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.systemctl import Systemctl
from opsrunner_lab.vendor_copy import installed_package, stdlib_package
from opsrunner_plugins import hsts

FILES = {"ovirt-imageio": hsts.IMAGEIO_HTTP, "ovirt-provider-ovn": hsts.OVN_SERVER,
         "ovirt-websocket-proxy": hsts.WEBOB_RESPONSE}
PRISTINE = {"ovirt-imageio": installed_package("ovirt_imageio") / "_internal/http.py",
            "ovirt-provider-ovn": stdlib_package("http") / "server.py",
            "ovirt-websocket-proxy": installed_package("webob") / "response.py"}
# The seed's edits, line for line.
SEED_LINES = {
    "ovirt-imageio": '        self.headers = Headers({"content-length": 0, '
                     '"Strict-Transport-Security": "max-age=31536000"})\n',
    "ovirt-provider-ovn": "        self.send_header('Date', self.date_time_string())\n"
                          "        # Oracle Bug-33308887: added below header for security scans\n"
                          '        self.send_header("Strict-Transport-Security", '
                          '"max-age=31536000")\n',
    "ovirt-websocket-proxy": "            self._headerlist = headerlist\n"
                             "        self._headerlist.append(('Strict-Transport-Security', "
                             "'max-age=31536000'))\n"}
ALL_CHECKS = {
    **{f"test_port_answers_with_the_hsts_header[{s}]": "passed"
       for s in ("httpd", *FILES)},
    "test_http_redirects_to_https": "passed",
    **{f"test_patched_file_holds_the_header[{s}]": "passed" for s in FILES},
    "test_httpd_conf_is_the_guides": "passed"}


@pytest.fixture(scope="module")
def hsts_lab() -> Iterator[LabLayout]:
    """A whole lab of this module's own (no KVM host), down and purged afterwards."""
    with running_lab("127.0.103.", kvm_hosts=0) as layout:
        yield layout


@pytest.fixture
def lab(hsts_lab: LabLayout) -> Iterator[LabLayout]:
    """The lab, HSTS removed again after the test (the pristine vendor files back)."""
    yield hsts_lab
    _reset(hsts_lab)


def _reset(layout: LabLayout) -> None:
    for service, path in FILES.items():
        shutil.copyfile(PRISTINE[service], sysroot_file(layout, path))
    sysroot_file(layout, hsts.HTTPD_CONF).unlink(missing_ok=True)
    ctl = Systemctl(layout, ENGINE)
    assert ctl.run("restart", ["httpd", *FILES]) == 0


def sysroot_file(layout: LabLayout, path: str) -> Path:
    return layout.sysroot(ENGINE) / path.lstrip("/")


def digests(layout: LabLayout) -> dict[str, str | None]:
    """sha256 of every file the task may touch (None: absent), backups included."""
    paths = [sysroot_file(layout, p) for p in (hsts.HTTPD_CONF, *FILES.values())]
    found = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None
             for p in paths}
    backups = [b for p in paths for b in p.parent.glob(p.name + ".*")]
    return {**found, **{str(b): "backup" for b in backups}}


def verify(layout: LabLayout, tmp_path: Path, *args: str) -> RunOutcome:
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "verify",
                           str(WORKFLOWS / "hsts.yml"), "-i", str(layout.inventory),
                           "--output", "json", *args],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.stdout, proc.stderr
    return RunOutcome(proc.returncode, json.loads(proc.stdout), proc.stderr)


def test_hsts_on_every_port_then_a_second_run_changes_nothing(lab: LabLayout,
                                                               tmp_path: Path) -> None:
    run = run_workflow(lab, tmp_path, "hsts.yml")
    assert run.code == 0, run.engine
    step = run.step("hsts")
    assert step["status"] == "changed"
    assert step["msg"].endswith("; restarted httpd, ovirt-imageio, ovirt-provider-ovn, "
                                "ovirt-websocket-proxy"), step["msg"]
    assert run.checks() == ALL_CHECKS
    assert run.controls() == {"OLVM-TLS-001": "passed", "OLVM-TLS-002": "passed",
                              "OLVM-SVC-001": "passed"}  # profile: olvm-baseline, tagged hsts
    for service, lines in SEED_LINES.items():
        patched = sysroot_file(lab, FILES[service])
        assert lines in patched.read_text()
        backups = list(patched.parent.glob(patched.name + ".*.bak"))
        assert [b.read_bytes() for b in backups] == [PRISTINE[service].read_bytes()]
    assert sysroot_file(lab, hsts.HTTPD_CONF).read_text() == (
        "LoadModule headers_module modules/mod_headers.so\n"
        'Header always set Strict-Transport-Security "max-age=63072000; includeSubDomains"\n'
        "<IfModule mod_rewrite.c>\n    RewriteEngine On\n    RewriteCond %{HTTPS} off\n"
        "    RewriteRule (.*) https://%{HTTP_HOST}%{REQUEST_URI}\n</IfModule>\n")
    before = digests(lab)
    again = run_workflow(lab, tmp_path, "hsts.yml")
    assert again.code == 0, again.engine
    assert again.step("hsts")["status"] == "ok"
    assert again.checks() == ALL_CHECKS
    assert digests(lab) == before


def test_another_max_age_updates_then_remove_restores_the_pristine_files(
        lab: LabLayout, tmp_path: Path) -> None:
    assert run_workflow(lab, tmp_path, "hsts.yml", "--no-verify").code == 0
    run = run_workflow(lab, tmp_path, "hsts.yml", "-e", "hsts_max_age=600",
                       "-e", "hsts_httpd_max_age=1200")
    assert run.code == 0, run.engine
    assert run.step("hsts")["msg"].startswith(
        f"{hsts.HTTPD_CONF}: rewritten (max-age=1200); {hsts.IMAGEIO_HTTP}: max-age updated "
        "to 600;")
    assert run.checks() == ALL_CHECKS
    assert set(run.controls().values()) == {"passed"}  # -e sets the control's params too
    removed = run_workflow(lab, tmp_path, "hsts.yml", "-e", "hsts_remove=true")
    # the workflow's own checks prove the removal; olvm-baseline's say HSTS is now missing
    assert removed.code == 2, removed.engine
    assert removed.controls() == {"OLVM-TLS-001": "failed", "OLVM-TLS-002": "failed",
                                  "OLVM-SVC-001": "passed"}
    assert removed.step("hsts")["status"] == "changed"
    assert {k: v for k, v in removed.checks().items() if v != "skipped"} == {
        k: "passed" for k in ALL_CHECKS if k != "test_http_redirects_to_https"}
    for service, path in FILES.items():
        assert sysroot_file(lab, path).read_bytes() == PRISTINE[service].read_bytes()
    assert not sysroot_file(lab, hsts.HTTPD_CONF).exists()
    assert run_workflow(lab, tmp_path, "hsts.yml", "-e", "hsts_remove=true",
                        "--no-verify").step("hsts")["status"] == "ok"


def test_a_file_that_does_not_look_as_expected_is_refused_and_nothing_changes(
        lab: LabLayout, tmp_path: Path) -> None:
    response = sysroot_file(lab, hsts.WEBOB_RESPONSE)
    response.write_text(response.read_text().replace("if headerlist is None:",
                                                      "if not headerlist:"))
    before = digests(lab)
    run = run_workflow(lab, tmp_path, "hsts.yml", "--no-verify")
    assert run.code == 2
    assert run.step("hsts")["msg"] == (
        f"{hsts.WEBOB_RESPONSE} does not look as expected: Response.__init__ does not "
        "initialise self._headerlist in `if headerlist is None:` exactly once (the OLVM "
        'Administration Guide\'s section "Enabling HTTP Strict Transport Security" patches '
        "class Response, method __init__, after `if headerlist is None: ...`; is this "
        "another version of the package?); nothing was changed")
    assert digests(lab) == before


def test_a_patch_that_does_not_compile_on_the_host_changes_nothing(
        lab: LabLayout, tmp_path: Path) -> None:
    before = digests(lab)
    run = run_workflow(lab, tmp_path, "hsts.yml", "-e", "hsts_python=false", "--no-verify")
    assert run.code == 2
    assert run.step("hsts")["msg"] == (
        f"the patched {hsts.IMAGEIO_HTTP} does not compile with false (exit status 1): "
        "no output; nothing was changed")
    assert digests(lab) == before


def test_the_checks_catch_a_package_update_that_reverted_a_patch(lab: LabLayout,
                                                                  tmp_path: Path) -> None:
    assert run_workflow(lab, tmp_path, "hsts.yml", "--no-verify").code == 0
    assert verify(lab, tmp_path).code == 0
    assert install_imageio(lab, replace=True) is True  # the package update
    checks = verify(lab, tmp_path)
    assert checks.code == 2
    assert checks.checks() == {**ALL_CHECKS,
                               "test_patched_file_holds_the_header[ovirt-imageio]": "failed"}
    assert Systemctl(lab, ENGINE).run("restart", ["ovirt-imageio"]) == 0
    assert verify(lab, tmp_path).checks() == {
        **ALL_CHECKS, "test_patched_file_holds_the_header[ovirt-imageio]": "failed",
        "test_port_answers_with_the_hsts_header[ovirt-imageio]": "failed"}
