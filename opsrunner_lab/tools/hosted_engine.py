"""``hosted-engine`` of the lab: the HA maintenance modes and ``--vm-status``.

``--set-maintenance --mode=global|local|none`` records the mode (``none`` clears both global
and local maintenance, as the HA client does) in
``/var/lib/ovirt-hosted-engine-ha/opsrunner-lab-ha.json``; ``--vm-status [--json]`` prints the
HA agent's view of this host, framed by ``!! Cluster is in GLOBAL MAINTENANCE mode !!`` in
global maintenance. Errors as the real script: ``Invalid value 'X' for --mode`` or ``You must
specify a maintenance mode with --mode`` (exit 1), ``Invalid option '--X'`` and the usage
(exit 1), ``You must run deploy first`` without ``/etc/ovirt-hosted-engine/hosted-engine.conf``.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

from opsrunner_lab.sysroot_files import ensure_file
from opsrunner_lab.tools.common import ToolError
from opsrunner_lab.tools.lab_host import tool_host, write_if_changed

CONF = "etc/ovirt-hosted-engine/hosted-engine.conf"
STATE = "var/lib/ovirt-hosted-engine-ha/opsrunner-lab-ha.json"
MODES = ("global", "local", "none")
SCORE = 3400
NOT_SIMULATED = ("--deploy", "--vm-start", "--vm-start-paused", "--vm-shutdown",
                 "--vm-poweroff", "--add-console-password", "--check-liveliness",
                 "--connect-storage", "--disconnect-storage", "--console",
                 "--set-shared-config", "--get-shared-config", "--reinitialize-lockspace",
                 "--clean-metadata")
USAGE = """Usage: {prog} [--help] <command> [<command-args>]
    --help
        show this help message.

    The available commands are:
        --vm-status [--json]
            VM status according to the HA agent (--json: machine-readable).
        --check-deployed
            Check whether the hosted engine has been deployed already.
        --set-maintenance --mode=<mode>
            Set maintenance status to the specified mode (global/local/none).
"""
SET_MAINTENANCE_HELP = """Usage: {prog} --set-maintenance --mode=<mode>
    Set maintenance status to the specified mode. Valid values are:
    'global', 'local', and 'none'.
    Available only after deployment has completed.
"""


def write_deployment(sysroot: Path, hostname: str) -> bool:
    """``hosted-engine.conf`` of a deployed hosted engine (this host is HA host 1), unless it
    exists; True if written."""
    vmid = uuid.uuid5(uuid.NAMESPACE_DNS, f"hosted-engine.{hostname}")
    return ensure_file(sysroot / CONF, (
        f"fqdn={hostname}\nvmid={vmid}\nhost_id=1\nconsole=vnc\ndomainType=nfs\n"
        f"storage={hostname}:/exports/hosted-engine\n"
        "conf=/var/run/ovirt-hosted-engine-ha/vm.conf\n"))


def read_state(sysroot: Path) -> dict[str, bool]:
    """``{"global_maintenance": ..., "local_maintenance": ...}`` (both False at first)."""
    try:
        data = json.loads((sysroot / STATE).read_text())
    except (FileNotFoundError, ValueError):
        data = {}
    return {key: bool(data.get(key, False)) for key in ("global_maintenance", "local_maintenance")}


def main(script: str, args: list[str]) -> int:
    prog = Path(script).name
    if not args:
        print(USAGE.format(prog=prog), end="")
        return 1
    command, rest = args[0], args[1:]
    if command == "--help":
        print(USAGE.format(prog=prog), end="")
        return 0
    if command not in ("--set-maintenance", "--vm-status", "--check-deployed"):
        if command in NOT_SIMULATED:
            print(f"{prog}: the lab does not simulate {command}", file=sys.stderr)
            return 1
        print(f"Invalid option '{command}'", file=sys.stderr)
        print(USAGE.format(prog=prog), end="")
        return 1
    try:
        sysroot = tool_host(script).sysroot
    except ToolError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    conf = _read_conf(sysroot)
    if command == "--check-deployed":
        print("The hosted engine has been deployed" if conf.get("vmid")
              else "The hosted engine has not been deployed")
        return 0 if conf.get("vmid") else 1
    if command == "--set-maintenance":
        return set_maintenance(sysroot, conf, rest, prog)
    if rest[:1] == ["--help"]:
        print(f"Usage: {prog} --vm-status [--json]\n"
              "    Report the status of the engine VM according to the HA agent.")
        return 0
    if not conf.get("vmid"):
        print("You must run deploy first")
        return 1
    status = vm_status(sysroot, conf)
    print(json.dumps(status) if rest[:1] == ["--json"] else status_text(status), end="\n")
    return 0


def set_maintenance(sysroot: Path, conf: dict[str, str], args: list[str], prog: str) -> int:
    """``--set-maintenance --mode=MODE`` (only the first argument counts, as in the script)."""
    first = args[0] if args else ""
    if first == "--help":
        print(SET_MAINTENANCE_HELP.format(prog=prog), end="")
        return 0
    if not first.startswith("--mode="):
        print("You must specify a maintenance mode with --mode")
        return 1
    mode = first.removeprefix("--mode=")
    if mode not in MODES:
        print(f"Invalid value '{mode}' for --mode")
        return 1
    if not conf.get("vmid"):
        print("You must run deploy first")
        return 1
    state = {"global_maintenance": mode == "global", "local_maintenance": mode == "local"}
    write_if_changed(sysroot / STATE, (json.dumps(state) + "\n").encode())
    return 0


def vm_status(sysroot: Path, conf: dict[str, str]) -> dict[str, Any]:
    """The HA agent's stats of this host, keyed by host id, and ``global_maintenance``."""
    state = read_state(sysroot)
    host_id = int(conf.get("host_id", "1"))
    hostname_file = sysroot / "etc/hostname"
    hostname = (hostname_file.read_text().strip() if hostname_file.is_file()
                else conf.get("fqdn", "localhost"))
    local = state["local_maintenance"]
    score = 0 if local else SCORE
    agent_state = ("LocalMaintenance" if local else
                   "GlobalMaintenance" if state["global_maintenance"] else "EngineUp")
    stamp = int(time.monotonic())
    extra = "\n".join([
        "metadata_parse_version=1", "metadata_feature_version=1",
        f"timestamp={stamp} ({time.strftime('%a %b %d %H:%M:%S %Y')})", f"host-id={host_id}",
        f"score={score}", f"vm_conf_refresh_time={stamp} ({time.strftime('%a %b %d %H:%M:%S %Y')})",
        "conf_on_shared_storage=True", f"maintenance={local}", f"state={agent_state}",
        "stopped=False"]) + "\n"
    host = {
        "conf_on_shared_storage": True, "live-data": True, "extra": extra,
        "hostname": hostname, "host-id": host_id,
        "engine-status": {"vm": "up", "health": "good", "detail": "Up", "reason": ""},
        "score": score, "stopped": False, "maintenance": local,
        "crc32": f"{zlib.crc32(extra.encode()):08x}", "local_conf_timestamp": stamp,
        "host-ts": stamp,
    }
    return {str(host_id): host, "global_maintenance": state["global_maintenance"]}


_LABELS = {"host-id": "Host ID", "host-ts": "Host timestamp", "score": "Score",
           "engine-status": "Engine status", "hostname": "Hostname",
           "maintenance": "Local maintenance", "live-data": "Status up-to-date"}


def status_text(status: dict[str, Any]) -> str:
    """``--vm-status`` as the real tool prints it."""
    banner = "\n\n!! Cluster is in GLOBAL MAINTENANCE mode !!\n\n"
    lines = [banner] if status["global_maintenance"] else []
    for key, host in status.items():
        if key == "global_maintenance":
            continue
        lines.append(f"\n\n--== Host {host['hostname']} (id: {key}) status ==--\n\n")
        for field, value in host.items():
            if field == "extra":
                continue
            shown = json.dumps(value) if field == "engine-status" else value
            lines.append(f"{_LABELS.get(field, field):<35}: {shown}\n")
        lines.append("Extra metadata (valid at timestamp):\n")
        lines += [f"\t{line}\n" for line in host["extra"].splitlines()]
    if status["global_maintenance"]:
        lines.append(banner)
    return "".join(lines).rstrip("\n")


def _read_conf(sysroot: Path) -> dict[str, str]:
    path = sysroot / CONF
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}
