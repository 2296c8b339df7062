"""A lab guest's ``poweroff``, ``shutdown`` and ``halt``: power the guest's VM off in the engine.

The script lives in ``<lab>/hosts/<guest>/bin``; it tells the lab's engine simulator (its
internal ``/lab/vm-power`` path, with the lab's internal token read from its 0600 file) that
the VM named like the guest is down. The simulator stops the guest's sshd a moment later, so
the command returns before the connection drops, as with a real power-off. Exit 0 when the
engine took it; 1 (with the reason on stderr) when it could not be reached; 2 for bad usage.

The fault ``<lab>/faults/guest-poweroff`` (see :mod:`opsrunner_lab.tools.faults`) makes the
command a shutdown that hangs: it exits 0, as systemd accepting the job does, and the VM stays
up (the fault's message goes to the guest's log folder, not to the caller).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from opsrunner_lab.layout import ENGINE_PORTS, LabLayout
from opsrunner_lab.tools.faults import take_fault


def _power_off(script: str, program: str) -> int:
    bin_dir = Path(script).resolve().parent
    guest = bin_dir.parent.name
    layout = LabLayout.load(bin_dir.parents[2])
    hang = take_fault(layout, "guest-poweroff", "A stop job is running for Session 1 of user root")
    if hang is not None:
        log = layout.log_dir(guest)
        log.mkdir(parents=True, exist_ok=True)
        with open(log / "power.log", "a", encoding="utf-8") as stream:
            stream.write(f"{program}: shutdown hangs: {hang}\n")
        return 0
    from opsrunner_lab.engine_api.lab_internal import TOKEN_HEADER, VM_POWER, internal_token_file

    try:
        token = internal_token_file(layout).read_text().strip()
    except OSError as error:
        print(f"{program}: cannot read the lab's internal token: {error.strerror}",
              file=sys.stderr)
        return 1
    url = f"http://{layout.engine_address}:{ENGINE_PORTS['ovirt-engine']}{VM_POWER}"
    request = urllib.request.Request(url, json.dumps({"vm": guest, "state": "down"}).encode(),
                                     {TOKEN_HEADER: token, "Content-Type": "application/json"},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace").strip()
        print(f"{program}: the lab engine refused to power off {guest}: HTTP {error.code} "
              f"{detail}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{program}: cannot reach the lab engine at {url}: {error}", file=sys.stderr)
        return 1
    return 0


def _usage(program: str, allowed: str) -> int:
    print(f"{program}: this lab guest only powers off; use: {allowed}", file=sys.stderr)
    return 2


def poweroff_main(script: str, argv: list[str]) -> int:
    """``poweroff`` (``-f``/``--force`` accepted)."""
    if any(arg not in ("-f", "--force", "-p") for arg in argv):
        return _usage("poweroff", "poweroff [-f]")
    return _power_off(script, "poweroff")


def shutdown_main(script: str, argv: list[str]) -> int:
    """``shutdown -h now`` / ``shutdown -P now`` / ``shutdown now`` (also ``+0``); a later time
    or a reboot is refused."""
    options = [arg for arg in argv if arg.startswith("-")]
    times = [arg for arg in argv if not arg.startswith("-")]
    if not set(options) <= {"-h", "-P", "--poweroff", "--halt"} or times not in (["now"],
                                                                               ["+0"]):
        return _usage("shutdown", "shutdown [-h|-P] now")
    return _power_off(script, "shutdown")


def halt_main(script: str, argv: list[str]) -> int:
    """``halt -p`` (a plain ``halt`` would leave the VM running: refused)."""
    if ("-p" not in argv and "--poweroff" not in argv) or any(
            arg not in ("-p", "--poweroff", "-f", "--force") for arg in argv):
        return _usage("halt", "halt -p")
    return _power_off(script, "halt")
