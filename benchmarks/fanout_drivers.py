"""The baseline drivers of ``bench_fanout.py``: the same five-step job over N SSH hosts.

Run by the benchmark as its own subprocess (so its CPU is measurable), one driver per
process: ``python fanout_drivers.py {openssh|paramiko|nornir} SPEC.json``. SPEC holds the
hosts (name, address, port, remote file), the client key, the known_hosts file, the local
4 KiB payload and its sha256. The driver exits 0 when every host did all five steps and the
remote sha256 matched; it prints one JSON line ``{"ok": N, "failed": {...}}``.

The job, per host: ``true``; ``uname -r``; ``head -n1 /etc/os-release``; write the 4 KiB
payload to the host's file; ``sha256sum`` of that file.

* ``openssh``: one ``ssh`` process per host (all started at once), one session each running
  the five commands as one script, the payload on the session's stdin (``cat > FILE``);
  ``KexAlgorithms=curve25519-sha256``, ``StrictHostKeyChecking=yes`` against the known_hosts
  file, no ControlMaster, no ssh_config (``-F /dev/null``).
* ``paramiko``: one thread and one connection per host, host keys from the known_hosts file
  with ``RejectPolicy`` (each client loads the whole file, as ``load_host_keys`` is usually
  called), every command its own exec channel, the payload by SFTP ``put``.
* ``nornir``: Nornir 3 threaded runner (``num_workers=N``) with nornir_paramiko:
  ``paramiko_command`` for the commands, ``paramiko_sftp(action="put")`` (its defaults: a
  remote ``sha1sum`` compare, then SCP) for the payload. nornir_paramiko accepts any host key
  (``AutoAddPolicy``, not configurable): this driver cannot check them.

Only the standard library is imported at module level: the Nornir driver may run under
another interpreter (``--nornir-python``) that has no opsrunner.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

COMMANDS = ("true", "uname -r", "head -n1 /etc/os-release")


class HostFailure(Exception):
    """One host did not finish the job as it should."""


def check_sha(output: str, expected: str) -> None:
    if output.split()[:1] != [expected]:
        raise HostFailure(f"sha256sum said {output.strip()!r}, expected {expected}")


def run_openssh(spec: dict[str, Any]) -> dict[str, str]:
    procs: dict[str, subprocess.Popen[bytes]] = {}
    failed: dict[str, str] = {}
    for host in spec["hosts"]:
        remote = host["file"]
        script = f"set -e; {'; '.join(COMMANDS)}; cat > {remote}; sha256sum {remote}"
        argv = ["ssh", "-F", "/dev/null", "-T", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={spec['known_hosts']}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "KexAlgorithms=curve25519-sha256",
                "-o", "IdentitiesOnly=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none",
                "-i", spec["key"], "-p", str(host["port"]), "-l", "root", host["address"], script]
        with open(spec["payload"], "rb") as payload:
            procs[host["name"]] = subprocess.Popen(argv, stdin=payload, stdout=subprocess.PIPE,
                                                   stderr=subprocess.PIPE)
    for name, proc in procs.items():
        out, err = proc.communicate()
        if proc.returncode != 0:
            failed[name] = f"ssh exit {proc.returncode}: {err.decode(errors='replace').strip()}"
            continue
        try:
            check_sha(out.decode().splitlines()[-1], spec["sha256"])
        except (HostFailure, IndexError) as exc:
            failed[name] = str(exc)
    return failed


def run_paramiko(spec: dict[str, Any]) -> dict[str, str]:
    import paramiko

    failed: dict[str, str] = {}

    def exec_one(client: paramiko.SSHClient, command: str) -> str:
        transport = client.get_transport()
        assert transport is not None
        chan = transport.open_session()
        chan.exec_command(command)
        out = chan.makefile("rb").read()
        err = chan.makefile_stderr("rb").read()
        rc = chan.recv_exit_status()
        chan.close()
        if rc != 0:
            raise HostFailure(f"{command}: exit {rc}: {err.decode(errors='replace').strip()}")
        return out.decode()

    def one(host: dict[str, Any]) -> None:
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(spec["known_hosts"])
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            client.connect(host["address"], host["port"], username="root",
                           key_filename=spec["key"], look_for_keys=False, allow_agent=False,
                           timeout=60, banner_timeout=60, auth_timeout=60)
            for command in COMMANDS:
                exec_one(client, command)
            sftp = client.open_sftp()
            sftp.put(spec["payload"], host["file"])
            sftp.close()
            check_sha(exec_one(client, f"sha256sum {host['file']}"), spec["sha256"])
        except Exception as exc:  # a host's failure, whatever it is, is reported, not raised
            failed[host["name"]] = f"{type(exc).__name__}: {exc}"
        finally:
            client.close()

    threads = [threading.Thread(target=one, args=(h,)) for h in spec["hosts"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failed


def run_nornir(spec: dict[str, Any]) -> dict[str, str]:
    from nornir import InitNornir
    from nornir.core.task import Result, Task
    from nornir_paramiko.plugins.tasks import paramiko_command, paramiko_sftp

    def job(task: Task) -> Result:
        for command in COMMANDS:
            task.run(task=paramiko_command, command=command)
        task.run(task=paramiko_sftp, action="put", src=spec["payload"], dst=task.host["file"])
        sha = task.run(task=paramiko_command, command=f"sha256sum {task.host['file']}")
        check_sha(sha.result, spec["sha256"])
        return Result(host=task.host)

    folder = Path(spec["nornir_inventory"])
    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": len(spec["hosts"])}},
        inventory={"plugin": "SimpleInventory",
                   "options": {"host_file": str(folder / "hosts.yaml"),
                               "group_file": str(folder / "groups.yaml"),
                               "defaults_file": str(folder / "defaults.yaml")}},
        ssh={"config_file": str(folder / "no_ssh_config")},
        logging={"enabled": False})
    results = nr.run(task=job)
    nr.close_connections()
    return {name: str(multi.exception or multi[-1].exception or "failed")
            for name, multi in results.items() if multi.failed}


DRIVERS = {"openssh": run_openssh, "paramiko": run_paramiko, "nornir": run_nornir}


def main() -> int:
    tool, spec_file = sys.argv[1], sys.argv[2]
    spec = json.loads(Path(spec_file).read_text())
    failed = DRIVERS[tool](spec)
    print(json.dumps({"ok": len(spec["hosts"]) - len(failed), "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
