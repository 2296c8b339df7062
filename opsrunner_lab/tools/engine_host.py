"""The engine host a lab engine tool acts on, and the engine services it stops and starts.

``engine-backup``, ``engine-cleanup`` and ``engine-setup`` are installed in
``<lab>/hosts/engine/bin`` (first on the engine's PATH); each finds its lab from its own
location and reads the lab's ``state.json`` (addresses), so the same script runs over SSH
and from a test. Services change through the lab's ``systemctl`` units, as the real tools
call systemd.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.systemctl import Systemctl
from opsrunner_lab.tools.common import ToolError

# The services engine-setup owns: (unit, the name its "Stopping/Starting ... service" uses).
ENGINE_SERVICES = (
    ("ovirt-engine", "engine"),
    ("ovirt-engine-dwhd", "dwh"),
    ("grafana-server", "grafana-server"),
    ("ovirt-imageio", "ovirt-imageio"),
    ("ovirt-websocket-proxy", "websocket-proxy"),
    ("ovirt-provider-ovn", "ovirt-provider-ovn"),
)


def engine_layout(script: str) -> LabLayout:
    """The lab of a tool installed as ``<lab>/hosts/engine/bin/<tool>``. ToolError elsewhere."""
    bin_dir = Path(script).absolute().parent.resolve()
    layout = LabLayout.load(bin_dir.parent.parent.parent)
    if layout.bin_dir(ENGINE) != bin_dir or not layout.sysroot(ENGINE).is_dir():
        raise ToolError(f"{script} is not installed in the lab's engine bin folder "
                        f"(<lab>/hosts/engine/bin beside its sysroot); cannot find the engine")
    return layout


def engine_is_active(ctl: Systemctl) -> bool:
    """Whether ``ovirt-engine`` runs (a host without that unit has no engine running)."""
    unit = ctl.unit("ovirt-engine")
    return unit is not None and unit.is_active()


def stop_services(ctl: Systemctl, say: Callable[[str], None]) -> None:
    """Stop every engine service the host has; ``say`` announces each. LabServerError."""
    for name, label in ENGINE_SERVICES:
        unit = ctl.unit(name)
        if unit is not None:
            say(f"Stopping {label} service")
            unit.stop()


def start_services(ctl: Systemctl, say: Callable[[str], None]) -> None:
    """Enable and start every engine service the host has, then restart httpd (it reloads the
    PKI and proxy configuration). ToolError names the service that failed."""
    for name, label in ENGINE_SERVICES:
        unit = ctl.unit(name)
        if unit is None:
            continue
        say(f"Starting {label} service")
        ctl.set_enabled(name, True)
        _start(ctl, name, restart=False)
    if ctl.unit("httpd") is not None:
        say("Restarting httpd")
        _start(ctl, "httpd", restart=True)


def _start(ctl: Systemctl, name: str, restart: bool) -> None:
    unit = ctl.unit(name)
    assert unit is not None
    try:
        if restart:
            unit.stop()
        unit.start()
    except LabServerError as exc:
        raise ToolError(f"Failed to start service '{name}': {exc}") from None
