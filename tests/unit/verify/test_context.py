"""What checks see as hostvars: a host without engine settings gets its engine's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsrunner import Host
from opsrunner.hoststate import HostSession, HostState
from opsrunner.verify import checks_context


def _state(host: Host) -> HostState:
    def no_connection() -> Any:
        raise AssertionError("never connects")

    return HostState(host, HostSession(no_connection), workflow_vars={"template": "t1"},
                     extra_vars={}, check=False, run_id="r")


def test_a_guest_gets_the_engine_settings_of_the_one_engine(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    engine = Host(name="engine", hostname="e", data={
        "engine_url": "https://engine.example.com/ovirt-engine/api",
        "engine_user": "admin@internal", "engine_password": "pw", "engine_ca_file": str(ca)})
    guest = Host(name="vm1", hostname="g", data={"vm_name": "vm1"})
    context = checks_context(_state(guest), {"engine": engine, "vm1": guest})
    assert context["template"] == "t1" and context["vm_name"] == "vm1"
    assert (context["engine_url"], context["engine_user"], context["engine_password"],
            context["engine_ca_file"], context["engine_insecure"]) == (
        "https://engine.example.com/ovirt-engine/api", "admin@internal", "pw", str(ca), False)


def test_without_an_engine_in_the_inventory_nothing_is_added() -> None:
    guest = Host(name="vm1", hostname="g", data={})
    context = checks_context(_state(guest), {"vm1": guest})
    assert "engine_url" not in context
    assert "engine_url" not in checks_context(_state(guest))
