"""The service units of each lab host, by systemd unit name."""

from __future__ import annotations

from opsrunner_lab import idle
from opsrunner_lab.daemon import Daemon, port_open
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout
from opsrunner_lab.modules import python_m
from opsrunner_lab.unit import Unit

# Engine services that only need to be up or down for the workflows (stand-ins).
_IDLE = {
    "ovirt-engine-dwhd": "oVirt Engine Data Warehouse",
    "ovirt-engine-notifier": "oVirt Engine Notifier",
}


def idle_unit(layout: LabLayout, host: str, name: str, description: str,
              port: int | None = None) -> Unit:
    """A stand-in process (optionally answering HTTP on ``port``)."""
    address = layout.host(host).address
    argv = [*python_m(idle), name]
    if port is not None:
        argv += [address, str(port)]

    def ready() -> bool:
        return port is None or port_open(address, port)

    daemon = Daemon(name, argv, layout.run_dir(host) / f"{name}.pid",
                    layout.log_dir(host) / f"{name}.log", ready=ready)
    return Unit(name, daemon, description, ports={"http": port} if port else {})


def host_units(layout: LabLayout, host: str) -> dict[str, Unit]:
    """Every unit of ``host`` (engine services on the engine; vdsmd on KVM hosts)."""
    units: dict[str, Unit] = {}
    role = layout.host(host).role
    if role == "engine":
        from opsrunner_lab.httpd import httpd_unit
        from opsrunner_lab.imageio import imageio_unit
        from opsrunner_lab.ovn_provider import ovn_provider_unit
        from opsrunner_lab.postgres import postgresql_unit
        from opsrunner_lab.websocket_proxy import websocket_proxy_unit

        units["postgresql"] = postgresql_unit(layout)
        units["httpd"] = httpd_unit(layout)
        units["ovirt-imageio"] = imageio_unit(layout)
        units["ovirt-websocket-proxy"] = websocket_proxy_unit(layout)
        units["ovirt-provider-ovn"] = ovn_provider_unit(layout)
        for name, description in _IDLE.items():
            units[name] = idle_unit(layout, ENGINE, name, description)
        units["grafana-server"] = idle_unit(layout, ENGINE, "grafana-server", "Grafana instance",
                                            ENGINE_PORTS["grafana-server"])
        from opsrunner_lab.engine_api.unit import engine_api_unit

        units["ovirt-engine"] = engine_api_unit(layout)
    elif role == "kvm":
        units["vdsmd"] = idle_unit(layout, host, "vdsmd", "Virtual Desktop Server Manager")
    elif role == "guest":
        from opsrunner_lab.tools.rpmdb import is_installed

        # also while its process runs after the package went (a restored snapshot): lab down
        # and a power-off must still stop it
        if is_installed(layout.sysroot(host), "cloud-init") or \
                (layout.run_dir(host) / "cloud-init.pid").exists():
            units["cloud-init"] = idle_unit(layout, host, "cloud-init",
                                            "Initial cloud-init job (metadata service crawler)")
    return units


def canonical(name: str) -> str:
    """``ovirt-engine.service`` -> ``ovirt-engine``."""
    return name[:-len(".service")] if name.endswith(".service") else name
