"""Fan-out: one workflow (a fact command + an idempotent copy) over N real sshd hosts.

Starts N OpenSSH servers on 127.0.0.101.. (needs root), runs the workflow with --forks F,
prints wall-clock time per run and the per-command floor of this machine's sshd.
Run: .venv/bin/python benchmarks/bench_fanout.py [hosts=20] [forks=20]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

from opsrunner.connection import ConnectOptions
from opsrunner.host import Host
from opsrunner_lab.sshd import SshdHost, client_key, free_port


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    forks = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    state = Path(tempfile.mkdtemp(prefix="opsrunner-bench-"))
    key = client_key(state)
    servers: list[SshdHost] = []
    try:
        hosts = {}
        for i in range(count):
            address = f"127.0.0.{101 + i}"
            name = f"h{i:03d}"
            root = state / "roots" / name / "etc"
            root.mkdir(parents=True)
            # the host's own home, as the lab's: not this machine's /root/.bashrc per command
            server = SshdHost(state, name, address, free_port(address),
                              home=str(root.parent / "root"))
            server.authorize(Path(f"{key}.pub").read_text())
            server.start()
            servers.append(server)
            hosts[server.name] = {"hostname": address, "port": server.port,
                                  "data": {"sysroot": str(root.parent)}}
        known = state / "known_hosts"
        known.write_text("".join(s.known_hosts_line() for s in servers))
        inv = state / "inventory"
        inv.mkdir()
        (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts))
        (inv / "defaults.yaml").write_text(yaml.safe_dump(
            {"username": "root", "ssh_key": str(key), "known_hosts": str(known)}))
        wf = state / "wf.yml"
        wf.write_text(textwrap.dedent("""
            name: fan-out
            steps:
              - {name: facts, task: command, with: {cmd: "uname -r", read_only: true}}
              - {name: conf, task: copy, with: {dest: /etc/bench.conf, content: "x=1\\n"}}
        """))
        floor = per_command_floor(servers[0], key, known)
        print(f"sshd per-command floor on this machine: {floor * 1000:.0f} ms")
        for label in ("first run (changes)", "second run (no change)"):
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "run", str(wf), "-i",
                                   str(inv), "--forks", str(forks), "--output", "json",
                                   "--state-dir", str(state)],
                                  capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            print(f"{label:<24} {count} hosts, forks {forks}: {elapsed:.2f} s (exit {proc.returncode})")
    finally:
        for server in servers:
            server.stop()


def per_command_floor(server: SshdHost, key: Path, known: Path) -> float:
    from opsrunner.connection.ssh import SSHConnection

    conn = SSHConnection(Host("probe", server.address, server.port, "root", str(key),
                              known_hosts=str(known)), ConnectOptions())
    conn.run("true")
    started = time.perf_counter()
    for _ in range(10):
        conn.run("true")
    conn.close()
    return (time.perf_counter() - started) / 10


if __name__ == "__main__":
    main()
