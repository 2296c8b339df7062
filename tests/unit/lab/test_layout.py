"""LabLayout's guests: names, addresses and their record in state.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.layout import LabLayout, check_guests


def test_guests_follow_the_kvm_hosts_and_are_recorded(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab", 1, "127.0.99.", ["ol8-vm1", "ol7-vm1", "ol6-db-2"])
    assert [(h.name, h.role, h.address) for h in layout.hosts()] == [
        ("engine", "engine", "127.0.99.2"), ("kvm1", "kvm", "127.0.99.11"),
        ("ol8-vm1", "guest", "127.0.99.101"), ("ol7-vm1", "guest", "127.0.99.102"),
        ("ol6-db-2", "guest", "127.0.99.103")]
    layout.save()
    assert LabLayout.load(layout.root).guests == ["ol8-vm1", "ol7-vm1", "ol6-db-2"]
    assert LabLayout(tmp_path / "other").guests == ["ol8-vm1"]


@pytest.mark.parametrize(("names", "message"), [
    ([], "a lab has 1 to 100 guests, not 0"),
    (["vm1"], "guest name 'vm1' is not allowed: it starts with ol6-, ol7-, ol8- or ol9-"),
    (["ol5-vm1"], "guest name 'ol5-vm1' is not allowed"),
    (["ol8-VM1"], "guest name 'ol8-VM1' is not allowed"),
    (["ol8-vm1", "ol7-vm1", "ol8-vm1"], "guest names must be unique; repeated: ol8-vm1"),
])
def test_bad_guest_names_are_refused_with_what_is_allowed(names: list[str], message: str) -> None:
    with pytest.raises(ValueError) as error:
        check_guests(names)
    assert str(error.value).startswith(message)


def test_imageio_control_ports_are_distinct_and_below_the_ephemeral_range(tmp_path: Path) -> None:
    # A listener on 127.0.0.1 inside 32768-60999 fails to bind while a client's connection
    # (even in TIME_WAIT) holds the port: the CI failure of stop 9.
    ports = [LabLayout(tmp_path, address_prefix=f"127.0.{n}.").imageio_control_port
             for n in range(80, 256)]
    assert len(set(ports)) == len(ports)
    assert ports[0] == 24324 and max(ports) < 32768
