"""The ``engine_services`` task against the fake ``systemctl`` of the service tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner import TaskFailed
from opsrunner.testing import MakeTask
from opsrunner_plugins.engine_services import engine_services
from tests.unit.plugins.test_service import FakeSystemd

NAMES = ["ovirt-engine", "ovirt-engine-dwhd", "grafana-server"]


@pytest.fixture
def units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
    fake = FakeSystemd(tmp_path / "systemd")
    monkeypatch.setenv("FAKE_SYSTEMD", str(fake.root))
    monkeypatch.setenv("PATH", f"{fake.root / 'bin'}:/usr/bin:/bin")
    fake.add("ovirt-engine", active=True)
    fake.add("ovirt-engine-dwhd", active=True)
    fake.add("grafana-server")
    return fake


def test_facts_only_read_even_in_check_mode(make_task: MakeTask, units: FakeSystemd) -> None:
    res = engine_services(make_task(check=True), names=NAMES)
    assert (res.changed, res.failed, res.msg) == (False, False,
                                                  "active: ovirt-engine, ovirt-engine-dwhd")
    assert res.data == {"active": ["ovirt-engine", "ovirt-engine-dwhd"],
                        "inactive": ["grafana-server"]}
    assert units.changes() == []


def test_stopped_then_started_again_in_order(make_task: MakeTask, units: FakeSystemd) -> None:
    stopped = engine_services(make_task(), names=NAMES, state="stopped")
    assert stopped.msg == "stopped ovirt-engine, ovirt-engine-dwhd"
    started = engine_services(make_task(), names=stopped.data["stopped"], state="started")
    assert started.msg == "started ovirt-engine, ovirt-engine-dwhd"
    assert units.changes() == ["stop ovirt-engine", "stop ovirt-engine-dwhd",
                               "start ovirt-engine", "start ovirt-engine-dwhd"]
    assert not engine_services(make_task(), names=[], state="started").changed


def test_a_unit_that_cannot_stop_starts_the_others_again(make_task: MakeTask,
                                                         units: FakeSystemd) -> None:
    (units.root / "active/ghost").write_text("")  # active, but systemctl cannot stop it
    with pytest.raises(TaskFailed, match=r"^cannot stop ghost: .*not found.*; started again: "
                                        r"ovirt-engine$"):
        engine_services(make_task(), names=["ovirt-engine", "ghost"], state="stopped")
    assert units.active("ovirt-engine")


def test_start_tries_every_unit_and_lists_those_that_failed(make_task: MakeTask,
                                                            units: FakeSystemd) -> None:
    units.add("ovirt-imageio", broken=True)
    res = engine_services(make_task(), names=["ovirt-imageio", "grafana-server"],
                          state="started")
    assert res.failed and res.changed
    assert res.msg.startswith("not started: ovirt-imageio: ovirt-imageio is not active after "
                              "starting it:")
    assert res.data["started"] == ["grafana-server"] and units.active("grafana-server")


def test_check_mode_reports_what_it_would_do(make_task: MakeTask, units: FakeSystemd) -> None:
    res = engine_services(make_task(check=True), names=NAMES, state="started")
    assert (res.changed, res.msg) == (True, "would start grafana-server")
    assert units.changes() == []


def test_unit_names_are_checked(make_task: MakeTask, units: FakeSystemd) -> None:
    with pytest.raises(TaskFailed, match="invalid unit name 'a b'"):
        engine_services(make_task(), names=["a b"])
