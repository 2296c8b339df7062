"""The ``service`` task against a fake ``systemctl`` that keeps systemd's exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner import TaskFailed
from opsrunner.registry import Registry
from opsrunner.testing import MakeTask
from opsrunner_plugins import service as service_plugin
from opsrunner_plugins.service import service

# State lives in files under $FAKE_SYSTEMD: units/<name> (its unit-file state: enabled,
# disabled, static or masked), active/<name>, broken/<name> (starts, then dies at once).
FAKE_SYSTEMCTL = r"""#!/bin/sh
d="$FAKE_SYSTEMD"
echo "$*" >> "$d/log"
verb=$1; shift
for a in "$@"; do case "$a" in -*) ;; *) unit=$a ;; esac; done
known() { [ -f "$d/units/$unit" ]; }
missing() { echo "Failed to $1 $unit.service: Unit $unit.service not found." >&2; exit 5; }
case "$verb" in
  is-active)
    if [ -f "$d/active/$unit" ]; then echo active; exit 0; fi
    if [ -f "$d/broken/$unit" ]; then echo failed; else echo inactive; fi; exit 3 ;;
  is-enabled)
    known || { echo "Failed to get unit file state for $unit.service: No such file or directory" >&2
               exit 1; }
    state=$(cat "$d/units/$unit"); echo "$state"
    case "$state" in enabled|static) exit 0 ;; *) exit 1 ;; esac ;;
  start|restart|reload)
    known || missing "$verb"
    [ "$verb" = reload ] && [ ! -f "$d/active/$unit" ] && {
      echo "Job for $unit.service failed: unit is not active." >&2; exit 1; }
    [ -f "$d/broken/$unit" ] || touch "$d/active/$unit"; exit 0 ;;
  stop) known || missing stop; rm -f "$d/active/$unit"; exit 0 ;;
  enable|disable)
    known || missing "$verb"
    echo "${verb}d" > "$d/units/$unit"; exit 0 ;;
  status)
    echo "x $unit.service - Test unit"
    echo "     Active: failed (Result: exit-code)"
    echo "    Process: 42 ExecStart=/usr/bin/$unit (code=exited, status=1/FAILURE)"
    exit 3 ;;
esac
echo "Unknown command verb $verb." >&2; exit 1
"""


class FakeSystemd:
    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("units", "active", "broken", "bin"):
            (root / sub).mkdir(parents=True)
        (root / "log").write_text("")
        script = root / "bin/systemctl"
        script.write_text(FAKE_SYSTEMCTL)
        script.chmod(0o755)

    def add(self, name: str, *, state: str = "disabled", active: bool = False,
            broken: bool = False) -> None:
        (self.root / "units" / name).write_text(state + "\n")
        if active:
            (self.root / "active" / name).write_text("")
        if broken:
            (self.root / "broken" / name).write_text("")

    def active(self, name: str) -> bool:
        return (self.root / "active" / name).exists()

    def unit_state(self, name: str) -> str:
        return (self.root / "units" / name).read_text().strip()

    def changes(self) -> list[str]:
        """The state-changing systemctl calls made so far."""
        lines = (self.root / "log").read_text().splitlines()
        return [line for line in lines if not line.startswith(("is-", "status"))]


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
    fake = FakeSystemd(tmp_path / "systemd")
    monkeypatch.setenv("FAKE_SYSTEMD", str(fake.root))
    monkeypatch.setenv("PATH", f"{fake.root / 'bin'}:/usr/bin:/bin")
    return fake


def test_started_starts_once(make_task: MakeTask, systemd: FakeSystemd) -> None:
    systemd.add("ovirt-engine")
    res = service(make_task(), name="ovirt-engine", state="started")
    assert res.changed and res.msg == "ovirt-engine: start" and systemd.active("ovirt-engine")
    again = service(make_task(), name="ovirt-engine", state="started")
    assert not again.changed and again.msg == "ovirt-engine is in the wanted state"
    assert systemd.changes() == ["start ovirt-engine"]
    assert again.data == {"active": True, "enabled": None}


def test_stopped_stops_only_an_active_unit(make_task: MakeTask, systemd: FakeSystemd) -> None:
    systemd.add("ovirt-imageio", active=True)
    assert service(make_task(), name="ovirt-imageio", state="stopped").changed
    assert not systemd.active("ovirt-imageio")
    assert not service(make_task(), name="ovirt-imageio", state="stopped").changed
    assert systemd.changes() == ["stop ovirt-imageio"]


def test_restarted_always_acts(make_task: MakeTask, systemd: FakeSystemd) -> None:
    systemd.add("httpd", active=True)
    assert service(make_task(), name="httpd", state="restarted").changed
    assert service(make_task(), name="httpd", state="restarted").changed
    assert systemd.changes() == ["restart httpd", "restart httpd"]


def test_reloaded_starts_a_stopped_unit(make_task: MakeTask, systemd: FakeSystemd) -> None:
    systemd.add("httpd")
    assert service(make_task(), name="httpd", state="reloaded").msg == "httpd: start"
    assert service(make_task(), name="httpd", state="reloaded").msg == "httpd: reload"
    assert systemd.changes() == ["start httpd", "reload httpd"]


def test_enabled_enables_and_disables_once(make_task: MakeTask, systemd: FakeSystemd) -> None:
    systemd.add("ovirt-engine", state="disabled")
    res = service(make_task(), name="ovirt-engine", enabled=True, state="started")
    assert res.msg == "ovirt-engine: enable, start"
    assert res.data == {"active": True, "enabled": True}
    assert systemd.unit_state("ovirt-engine") == "enabled"
    assert not service(make_task(), name="ovirt-engine", enabled=True).changed
    assert service(make_task(), name="ovirt-engine", enabled=False).msg == "ovirt-engine: disable"
    assert systemd.unit_state("ovirt-engine") == "disabled"
    assert systemd.changes() == ["enable ovirt-engine", "start ovirt-engine",
                                 "disable ovirt-engine"]


def test_check_mode_reports_and_calls_no_change(make_task: MakeTask,
                                                systemd: FakeSystemd) -> None:
    systemd.add("ovirt-engine", active=True, state="enabled")
    res = service(make_task(check=True), name="ovirt-engine", state="stopped", enabled=False)
    assert res.changed and res.msg == "ovirt-engine: would disable, stop"
    assert res.data == {"active": False, "enabled": False}
    assert systemd.changes() == [] and systemd.active("ovirt-engine")


def test_a_unit_that_dies_after_start_fails_with_status(make_task: MakeTask,
                                                        systemd: FakeSystemd) -> None:
    systemd.add("ovirt-engine", broken=True)
    with pytest.raises(TaskFailed) as err:
        service(make_task(), name="ovirt-engine", state="started")
    assert str(err.value).startswith("ovirt-engine is not active after starting it:\n")
    assert "status=1/FAILURE" in str(err.value)


def test_unknown_unit_fails_with_systemctl_message(make_task: MakeTask,
                                                   systemd: FakeSystemd) -> None:
    with pytest.raises(TaskFailed, match=r"Unit nosuch.service not found"):
        service(make_task(), name="nosuch", state="started")
    with pytest.raises(TaskFailed, match=r"^cannot read whether nosuch is enabled: Failed to get"):
        service(make_task(), name="nosuch", enabled=True)


def test_masked_and_static_units(make_task: MakeTask, systemd: FakeSystemd) -> None:
    systemd.add("masked-unit", state="masked")
    systemd.add("static-unit", state="static")
    with pytest.raises(TaskFailed, match=r"masked-unit is masked; unmask it before enabling it"):
        service(make_task(), name="masked-unit", enabled=True)
    assert not service(make_task(), name="static-unit", enabled=True).changed
    with pytest.raises(TaskFailed, match=r"static-unit is static: it cannot be disabled"):
        service(make_task(), name="static-unit", enabled=False)


@pytest.mark.parametrize("name", ["-H evil", "a;touch pwned", "$(id)", ""])
def test_invalid_unit_names_are_refused(make_task: MakeTask, systemd: FakeSystemd,
                                        name: str) -> None:
    with pytest.raises(TaskFailed, match=r"invalid unit name"):
        service(make_task(), name=name, state="started")
    assert (systemd.root / "log").read_text() == ""


def test_state_or_enabled_is_required(make_task: MakeTask, systemd: FakeSystemd) -> None:
    with pytest.raises(TaskFailed, match=r"give state, enabled, or both"):
        service(make_task(), name="httpd")


def test_registered_as_service() -> None:
    registry = Registry()
    service_plugin.opsrunner_register_tasks(registry)
    assert registry.task("service").params["enabled"].default is None
