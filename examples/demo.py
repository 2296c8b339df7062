"""Run examples/preflight.yml end to end on three real sshd hosts started here (loopback).

Until `opsrunner lab up` exists, this is the main job's demonstration: it starts three
OpenSSH servers on 127.0.0.21-23 (own host keys, key authentication only), writes a
SimpleInventory with a known_hosts file (strict host-key checking stays on), runs the
workflow with --forks 3, runs it again to show it changes nothing the second time, runs
`opsrunner verify`, and stops the servers. Needs root (sshd privilege separation).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from opsrunner.lab.sshd import SshdHost, client_key, free_port

HERE = Path(__file__).resolve().parent


def main() -> int:
    if os.geteuid() != 0:
        print("the demo starts sshd servers and must run as root", file=sys.stderr)
        return 1
    state = Path(tempfile.mkdtemp(prefix="opsrunner-demo-"))
    key = client_key(state)
    servers = []
    try:
        hosts = {}
        for i in range(3):
            address = f"127.0.0.{21 + i}"
            server = SshdHost(state, f"node{i + 1}", address, free_port(address))
            server.authorize(Path(f"{key}.pub").read_text())
            server.start()
            servers.append(server)
            sysroot = state / "roots" / server.name
            (sysroot / "etc").mkdir(parents=True)
            hosts[server.name] = {"hostname": address, "port": server.port,
                                  "groups": ["engines" if i == 0 else "kvm_hosts"],
                                  "data": {"sysroot": str(sysroot)}}
        known_hosts = state / "known_hosts"
        known_hosts.write_text("".join(s.known_hosts_line() for s in servers))
        inventory = state / "inventory"
        inventory.mkdir()
        (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
        (inventory / "groups.yaml").write_text(yaml.safe_dump({"engines": {}, "kvm_hosts": {}}))
        (inventory / "defaults.yaml").write_text(yaml.safe_dump(
            {"username": "root", "ssh_key": str(key), "known_hosts": str(known_hosts)}))
        opsrunner = [sys.executable, "-m", "opsrunner.cli"]
        workflow = str(HERE / "preflight.yml")
        journal = ["--journal-dir", str(state / "runs")]
        steps = [
            [*opsrunner, "inventory", "-i", str(inventory)],
            [*opsrunner, "run", workflow, "-i", str(inventory), "--forks", "3",
             "-e", "window=demo", *journal],
            [*opsrunner, "run", workflow, "-i", str(inventory), "--forks", "3",
             "-e", "window=demo", *journal],
            [*opsrunner, "verify", workflow, "-i", str(inventory), "-e", "window=demo"],
        ]
        for argv in steps:
            print(f"\n$ opsrunner {' '.join(argv[3:])}", flush=True)
            code = subprocess.run(argv, check=False).returncode
            if code != 0:
                print(f"demo failed: exit code {code}", file=sys.stderr)
                return code
        print("\ndemo ok: second run changed nothing; every check passed")
        return 0
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
