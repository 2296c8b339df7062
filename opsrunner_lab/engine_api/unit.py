"""The engine host's ``ovirt-engine`` unit: the API simulator behind Apache's ``/ovirt-engine/``."""

from __future__ import annotations

from opsrunner_lab.daemon import Daemon, port_open
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout
from opsrunner_lab.modules import python_m, sibling
from opsrunner_lab.unit import Unit

NAME = "ovirt-engine"
# The simulator's module: named, not imported (it imports what imports this module).
SERVER = sibling(__name__, "server")


def engine_api_unit(layout: LabLayout, token_ttl: float | None = None) -> Unit:
    """The ``ovirt-engine`` unit: ``python -m opsrunner_lab.engine_api.server`` on the engine's
    address and port 8702, ready once the port accepts.

    The server reads the layout from the lab folder, so the lab must be saved (``state.json``).

    :param token_ttl: seconds an SSO token lives unused (default: the engine's 30 minutes).
    """
    address, port = layout.engine_address, ENGINE_PORTS[NAME]
    argv = [*python_m(SERVER), "--lab", str(layout.root), "--address", address, "--port", str(port)]
    if token_ttl is not None:
        argv += ["--token-ttl", str(token_ttl)]
    daemon = Daemon(NAME, argv, layout.run_dir(ENGINE) / f"{NAME}.pid",
                    layout.log_dir(ENGINE) / f"{NAME}.log", ready=lambda: port_open(address, port))
    return Unit(NAME, daemon, "oVirt Engine", ports={"http": port})
