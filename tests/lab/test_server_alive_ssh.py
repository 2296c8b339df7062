"""A host that stops answering in the middle of a command (its sshd session and the command
SIGSTOPped) fails after ServerAliveInterval x ServerAliveCountMax; the run ends, the other host
succeeds and the always-steps run. Over real sshd on 127.0.140.1-2."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from opsrunner_lab.processes import child_pids, pid_alive
from opsrunner_lab.sshd import SshdHost, client_key, free_port

ADDRESSES = ("127.0.140.1", "127.0.140.2")
R = "{{ host.vars.sysroot }}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[SshdHost], Path]]:
    folder = tmp_path_factory.mktemp("alive-sshd")
    key = client_key(folder)
    started: list[SshdHost] = []
    try:
        for index, address in enumerate(ADDRESSES):
            name = f"node{index + 1}"
            server = SshdHost(folder, name, address, free_port(address),
                              home=str(folder / name / "home"), die_with_parent=True)
            server.authorize(key.with_name(key.name + ".pub").read_text())
            server.start()
            started.append(server)
        yield started, key
    finally:
        for server in started:
            server.stop()


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for child in child_pids(pid):
        pids += _tree(child)
    return pids


def _inventory(tmp_path: Path, servers: list[SshdHost], key: Path) -> Path:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join(s.known_hosts_line() for s in servers))
    known_hosts.chmod(0o600)
    hosts = {}
    for index, server in enumerate(servers):
        root = tmp_path / "roots" / f"node{index + 1}"
        root.mkdir(parents=True)
        hosts[f"node{index + 1}"] = {"hostname": server.address, "port": server.port,
                                     "data": {"sysroot": str(root), "nap": 300 * (index == 0)}}
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    (inv / "defaults.yaml").write_text(yaml.safe_dump({
        "username": "root", "ssh_key": str(key), "known_hosts": str(known_hosts),
        "ssh_server_alive_interval": 0.5, "ssh_server_alive_count_max": 3}))
    return inv


def test_a_host_that_stops_answering_fails_and_the_run_ends(
        servers: tuple[list[SshdHost], Path], tmp_path: Path) -> None:
    hosts, key = servers
    inv = _inventory(tmp_path, hosts, key)
    workflow = tmp_path / "stall.yml"
    workflow.write_text(f"""
name: stall
steps:
  - {{name: nap, task: command, with: {{cmd: "touch {R}/started; sleep {{{{ host.vars.nap }}}}"}}}}
  - {{name: after, task: command, with: {{cmd: "touch {R}/after"}}}}
always:
  - {{name: tidy, task: command, with: {{cmd: "touch {R}/always"}}}}
""")
    frozen = tmp_path / "roots" / "node1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsrunner.cli", "run", str(workflow), "-i", str(inv),
         "--output", "json", "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stopped: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not (frozen / "started").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "node1 never started its command"
            time.sleep(0.05)
        for session in hosts[0].session_pids():
            for pid in _tree(session):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)
        assert stopped
        began = time.monotonic()
        out, err = proc.communicate(timeout=90)
        took = time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        for pid in stopped:  # the sleep and the sessions whose client has gone
            with contextlib.suppress(ProcessLookupError):
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert took < 30, took
    doc = json.loads(out)
    node1 = {s["name"]: s for s in doc["hosts"]["node1"]["steps"]}
    node2 = {s["name"]: s for s in doc["hosts"]["node2"]["steps"]}
    assert node1["nap"]["status"] == "failed"
    assert (f"node1 ({hosts[0].address}:{hosts[0].port}): no answer from the SSH server for "
            "1.5 s (ServerAliveInterval 0.5 s \u00d7 ServerAliveCountMax 3); the host is failed"
            ) in node1["nap"]["msg"]
    assert "after" not in node1 or node1["after"]["status"] == "skipped"
    assert node2["nap"]["status"] == "changed" and node2["after"]["status"] == "changed"
    assert node2["tidy"]["status"] == "changed"
    assert (tmp_path / "roots" / "node2" / "always").exists()
