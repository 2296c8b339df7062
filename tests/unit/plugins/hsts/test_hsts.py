"""The ``hsts`` task on a local sysroot with a stand-in ``systemctl``: check mode, the restart
of the changed services only, and the rollback when a service does not come back."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
from pathlib import Path

import pytest

from opsrunner import TaskFailed
from opsrunner.testing import MakeTask
from opsrunner_plugins import hsts


def _package_file(package: str, file: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / file


PRISTINE = {hsts.IMAGEIO_HTTP: _package_file("ovirt_imageio", "_internal/http.py"),
            hsts.OVN_SERVER: Path(http.server.__file__),
            hsts.WEBOB_RESPONSE: _package_file("webob", "response.py")}
# Logs each call; `restart <unit>` fails while <fakebin>/fail-<unit> exists.
SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
if [ "$1" = restart ] && [ -e "$(dirname "$0")/fail-$2" ]; then
  echo "Job for $2.service failed" >&2; exit 1
fi
exit 0
"""


@pytest.fixture
def sysroot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for path, source in PRISTINE.items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True)
        target.write_bytes(source.read_bytes())
    (tmp_path / "etc/httpd/conf.d").mkdir(parents=True)
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    (fakebin / "systemctl").write_text(SYSTEMCTL)
    (fakebin / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fakebin}:{Path('/usr/bin')}:/bin")
    return tmp_path


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "fakebin" not in p.parts}


def calls(root: Path) -> list[str]:
    log = root / "fakebin/calls"
    return log.read_text().splitlines() if log.exists() else []


def test_check_mode_reports_every_change_and_writes_nothing(make_task: MakeTask,
                                                            sysroot: Path) -> None:
    before = hashes(sysroot)
    result = hsts.hsts(make_task(check=True))
    assert result.changed is True
    assert result.msg == (f"{hsts.HTTPD_CONF}: would be created; {hsts.IMAGEIO_HTTP}: would be "
                          f"patched (max-age=31536000); {hsts.OVN_SERVER}: would be patched "
                          f"(max-age=31536000); {hsts.WEBOB_RESPONSE}: would be patched "
                          "(max-age=31536000)")
    assert hashes(sysroot) == before
    assert calls(sysroot) == []


def test_only_the_services_of_changed_files_restart(make_task: MakeTask, sysroot: Path) -> None:
    assert hsts.hsts(make_task()).data["restarted"] == [
        "httpd", "ovirt-imageio", "ovirt-provider-ovn", "ovirt-websocket-proxy"]
    (sysroot / "fakebin/calls").unlink()
    result = hsts.hsts(make_task(), httpd_max_age=10)
    assert result.data["restarted"] == ["httpd"]
    assert calls(sysroot) == ["restart httpd", "is-active httpd"]
    assert hsts.hsts(make_task(), httpd_max_age=10).changed is False


def test_a_service_that_does_not_come_back_restores_every_file(make_task: MakeTask,
                                                               sysroot: Path) -> None:
    before = hashes(sysroot)
    (sysroot / "fakebin/fail-ovirt-websocket-proxy").touch()
    with pytest.raises(TaskFailed) as failed:
        hsts.hsts(make_task())
    assert str(failed.value) == (
        "ovirt-websocket-proxy did not start after the change (Job for "
        "ovirt-websocket-proxy.service failed); every file was restored; still failing after "
        "the restore: ovirt-websocket-proxy")
    after = {k: v for k, v in hashes(sysroot).items() if not k.endswith(".bak")}
    assert after == before


def test_parameters_are_checked_before_anything_is_read(make_task: MakeTask,
                                                        sysroot: Path) -> None:
    with pytest.raises(TaskFailed, match="max_age must be a positive number of seconds, got 0"):
        hsts.hsts(make_task(), max_age=0)
    with pytest.raises(TaskFailed, match=r"ovn_server must be an absolute path, got 'server\.py'"):
        hsts.hsts(make_task(), ovn_server="server.py")
    assert calls(sysroot) == []
