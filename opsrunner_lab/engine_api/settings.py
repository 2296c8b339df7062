"""What the simulator's actions need to know beyond its state: how long each transition takes,
where disk images live, and how to reach the lab's ovirt-imageio.

Timings come from ``<lab>/data/engine-api/timing.json`` when it exists: ``{"scale": 0.1}``
multiplies every default, and a field name sets one duration in seconds (before scaling), e.g.
``{"vm_boot": 5}``. Tests use a small scale so transitions stay observable yet fast.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from opsrunner_lab.layout import ENGINE_PORTS, LabLayout

TIMING_FILE = "timing.json"


@dataclass(frozen=True)
class Timing:
    """Seconds each simulated transition takes (the real engine's are longer)."""

    host_maintenance: float = 1.0  # preparing_for_maintenance -> maintenance (after migrations)
    host_activate: float = 1.0  # unassigned -> up
    vm_migrate: float = 1.0  # migrating -> up on the destination
    vm_launch: float = 1.0  # wait_for_launch -> powering_up
    vm_boot: float = 2.0  # powering_up -> up
    vm_stop: float = 0.5  # stop: -> down
    vm_shutdown: float = 1.5  # powering_down -> down
    template: float = 3.0  # template locked -> ok
    snapshot: float = 1.5  # snapshot locked -> ok / removed; restore
    disk: float = 1.0  # disk locked -> ok; removal
    transfer_init: float = 0.5  # initializing -> transferring
    transfer_finalize: float = 1.0  # finalizing_* -> finished_*
    transfer_cleanup: float = 300.0  # a finished transfer is forgotten after this
    job_clear: float = 600.0  # a finished job is cleared after this

    def scaled(self, factor: float) -> Timing:
        """Every duration multiplied by ``factor``."""
        return dataclasses.replace(self, **{f.name: getattr(self, f.name) * factor
                                            for f in dataclasses.fields(self)})


def load_timing(path: Path) -> Timing:
    """The timing of ``path`` (defaults when it does not exist); ValueError names a bad key."""
    if not path.exists():
        return Timing()
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object such as {{\"scale\": 0.1}}")
    known = {f.name for f in dataclasses.fields(Timing)}
    values: dict[str, float] = {}
    for key, value in data.items():
        if key != "scale" and key not in known:
            raise ValueError(f"{path}: unknown timing {key!r}; allowed: scale, "
                             f"{', '.join(sorted(known))}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{path}: {key} must be a number of seconds >= 0, not {value!r}")
        values[key] = float(value)
    scale = values.pop("scale", 1.0)
    return dataclasses.replace(Timing(), **values).scaled(scale)


class GuestPower(Protocol):
    """What powers a VM's guest on and off outside the API state (the lab's guest sshd)."""

    def power_on(self, vm_name: str) -> None:
        """The VM started."""

    def power_off(self, vm_name: str, delay: float = 0.0) -> None:
        """The VM goes down in ``delay`` seconds."""


@dataclass(frozen=True)
class EngineSettings:
    """The simulator's surroundings.

    :param storage: the folder holding storage domains' disk images (None: no image files).
    :param engine_address: the address in an image transfer's ``proxy_url``.
    :param imageio_port: ovirt-imageio's data port (54323).
    :param imageio_control: ``(host, port)`` of imageio's control service (None: no imageio).
    :param guest_power: told when a VM starts or goes down (None: the API state only).
    :param host_roots: each host's file tree by its address (the lab: the KVM hosts' sysroots),
        where an export to a path on a host writes its OVA.
    """

    timing: Timing = field(default_factory=Timing)
    storage: Path | None = None
    engine_address: str = "127.0.0.1"
    imageio_port: int = ENGINE_PORTS["ovirt-imageio"]
    imageio_control: tuple[str, int] | None = None
    guest_power: GuestPower | None = None
    host_roots: Mapping[str, Path] = field(default_factory=dict)


def lab_settings(layout: LabLayout) -> EngineSettings:
    """The settings of ``layout``'s lab: images under ``data/storage``, its imageio, its guests'
    sshd following their VMs' power state, its KVM hosts' sysroots."""
    from opsrunner_lab.guest_power import LabGuestPower
    from opsrunner_lab.imageio import CONTROL_HOST

    timing = load_timing(layout.data / "engine-api" / TIMING_FILE)
    return EngineSettings(timing, layout.data / "storage", layout.engine_address,
                          ENGINE_PORTS["ovirt-imageio"],
                          (CONTROL_HOST, layout.imageio_control_port), LabGuestPower(layout),
                          {host.address: layout.sysroot(host.name) for host in layout.hosts()
                           if host.role == "kvm"})


def write_timing(layout: LabLayout, scale: float) -> Path:
    """Write a ``timing.json`` scaling every transition by ``scale`` (for tests and demos)."""
    path = layout.data / "engine-api" / TIMING_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"scale": scale}) + "\n")
    return path
