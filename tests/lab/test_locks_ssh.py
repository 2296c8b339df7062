"""Target locks through real sshd hosts: two control nodes, waiting, a killed control node,
a lingering session broken by run id, sudo with a password."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sshd_lab import LabUser, SshdLab

from opsrunner.connection import ConnectOptions
from opsrunner.connection.ssh import SSHConnection
from opsrunner.errors import HostConnectionError, UsageError
from opsrunner.host import Host
from opsrunner.state.locks import (
    CONTROL_NODE,
    HOST,
    LockBusy,
    LockError,
    LockOwner,
    RunLocks,
    break_lock,
    lock_status,
)

# A control node in a process of its own: takes node1's locks over SSH, says "ready", holds
# them until a line on stdin. With "linger", a `sleep` inherits the SSH socket first: once
# this process is killed, the connection stays open with nobody behind it, like a control
# node that dropped off the network while its sshd session lingers.
CHILD = textwrap.dedent("""
    import json, subprocess, sys
    from pathlib import Path
    from opsrunner.connection import ConnectOptions
    from opsrunner.connection.ssh import SSHConnection
    from opsrunner.host import Host
    from opsrunner.state.locks import LockOwner, RunLocks

    folder, fields, run_id, mode = sys.argv[1:5]
    host = Host(**json.loads(fields))
    locks = RunLocks(Path(folder), LockOwner.for_run(run_id, "wf.yml"))
    connection = SSHConnection(host, ConnectOptions())
    locks.take(host, lambda: connection)
    lingering = 0
    if mode == "linger":
        sock = connection._client.get_transport().sock
        lingering = subprocess.Popen(["sleep", "600"], pass_fds=[sock.fileno()]).pid
    print("ready", lingering, flush=True)
    sys.stdin.readline()
    locks.release_all()
""")


def ssh(host: Host) -> SSHConnection:
    return SSHConnection(host, ConnectOptions())


def node(lab: SshdLab, tmp_path: Path, index: int = 0) -> Host:
    root = tmp_path / "roots" / f"node{index + 1}"
    root.mkdir(parents=True, exist_ok=True)
    return lab.host(index, data={"sysroot": str(root)})


def owner_file(host: Host) -> Path:
    return Path(host.sysroot) / "run" / "opsrunner" / "host.owner"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.05)
    return True


def host_state(folder: Path, host: Host) -> str:
    return next(i.state for i in lock_status(folder, [host], ssh) if i.where == HOST)


class Child:
    def __init__(self, folder: Path, host: Host, run_id: str, mode: str = "plain") -> None:
        fields = {"name": host.name, "hostname": host.hostname, "port": host.port,
                  "username": host.username, "ssh_key": host.ssh_key,
                  "known_hosts": host.known_hosts, "data": host.data}
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, str(folder),
                                      json.dumps(fields), run_id, mode],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        assert line[:1] == ["ready"], line
        self.lingering = int(line[1])

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        if self.lingering:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.lingering, signal.SIGKILL)
            self.lingering = 0


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()


def test_a_second_control_node_finds_the_host_locked_until_the_first_lets_go(
        sshd_hosts: SshdLab, tmp_path: Path) -> None:
    host = node(sshd_hosts, tmp_path)
    first = RunLocks(tmp_path / "node-a" / "locks", LockOwner.for_run("run-a", "wf.yml"))
    second = RunLocks(tmp_path / "node-b" / "locks", LockOwner.for_run("run-b", "wf.yml"))
    try:
        started = time.monotonic()
        assert first.take(host, lambda: ssh(host)) is None
        took = time.monotonic() - started
        assert took < 5, took
        record = json.loads(owner_file(host).read_text())
        holder = record["holder_pid"]
        assert record["run_id"] == "run-a" and os.path.exists(f"/proc/{holder}")

        with pytest.raises(LockBusy) as caught:
            second.take(host, lambda: ssh(host))
        busy = caught.value
        assert busy.where == HOST and not busy.stale
        assert busy.owner is not None and busy.owner.holder_pid == holder
        assert str(busy).startswith("node1: locked on the host by run run-a (workflow wf.yml)")
        assert f"pid {os.getpid()}" in str(busy)
        assert not list((tmp_path / "node-b" / "locks").iterdir())  # given back

        first.release_all()  # returns once the holder ended: the lock is free now
        assert not os.path.exists(f"/proc/{holder}")
        assert not owner_file(host).exists()
        assert second.take(host, lambda: ssh(host)) is None
        assert json.loads(owner_file(host).read_text())["run_id"] == "run-b"
    finally:
        first.release_all()
        second.release_all()
    assert host_state(tmp_path / "node-b" / "locks", host) == "free"


def test_a_waiting_run_takes_the_host_lock_once_it_is_released(
        sshd_hosts: SshdLab, tmp_path: Path) -> None:
    host = node(sshd_hosts, tmp_path, 1)
    first = RunLocks(tmp_path / "node-a" / "locks", LockOwner.for_run("run-a", "wf.yml"))
    assert first.take(host, lambda: ssh(host)) is None
    waiting = threading.Event()
    seen: list[tuple[str, str | None]] = []

    def on_wait(name: str, where: str, holder: LockOwner | None) -> None:
        seen.append((where, holder.run_id if holder else None))
        waiting.set()

    releaser = threading.Thread(target=lambda: (waiting.wait(30), first.release_all()))
    releaser.start()
    second = RunLocks(tmp_path / "node-b" / "locks", LockOwner.for_run("run-b", "wf.yml"),
                      wait=10, on_wait=on_wait)
    try:
        started = time.monotonic()
        assert second.take(host, lambda: ssh(host)) is None
        assert time.monotonic() - started < 8
        assert seen == [(HOST, "run-a")]
        assert json.loads(owner_file(host).read_text())["run_id"] == "run-b"
    finally:
        releaser.join()
        first.release_all()
        second.release_all()


def test_a_killed_control_node_leaves_a_stale_record_and_a_free_host(
        sshd_hosts: SshdLab, tmp_path: Path, children: list[Child]) -> None:
    host = node(sshd_hosts, tmp_path, 2)
    folder = tmp_path / "node-a" / "locks"
    child = Child(folder, host, "run-killed")
    children.append(child)
    assert host_state(folder, host) == "held"
    child.kill()
    [info] = lock_status(folder)
    assert (info.where, info.state) == (CONTROL_NODE, "stale")
    assert info.owner is not None and info.owner.run_id == "run-killed"
    # sshd saw the connection close: the held shell got EOF and let the lock go
    started = time.monotonic()
    assert wait_until(lambda: host_state(folder, host) == "free")
    assert time.monotonic() - started < 5
    locks = RunLocks(folder, LockOwner.for_run("run-next", "wf.yml"))
    try:
        assert locks.take(host, lambda: ssh(host)) == (
            "took over the stale control-node lock of run run-killed")
    finally:
        locks.release_all()


def test_a_lingering_holder_is_stale_and_only_its_run_id_breaks_it(
        sshd_hosts: SshdLab, tmp_path: Path, children: list[Child]) -> None:
    host = node(sshd_hosts, tmp_path)
    folder = tmp_path / "node-a" / "locks"
    child = Child(folder, host, "run-dropped", mode="linger")
    children.append(child)
    holder = json.loads(owner_file(host).read_text())["holder_pid"]
    child.proc.kill()  # the control node is gone; its SSH connection is not
    child.proc.wait(timeout=10)

    status = {(i.where, i.state) for i in lock_status(folder, [host], ssh)}
    assert status == {(CONTROL_NODE, "stale"), (HOST, "stale")}
    other = RunLocks(tmp_path / "node-b" / "locks", LockOwner.for_run("run-b", "wf.yml"))
    with pytest.raises(LockBusy) as caught:
        other.take(host, lambda: ssh(host))
    assert caught.value.stale and caught.value.where == HOST
    assert "opsrunner lock break node1 --run run-dropped -i INVENTORY" in str(caught.value)

    with pytest.raises(UsageError, match="no lock of run run-dropped2"):
        break_lock(folder, "node1", "run-dropped2", host, ssh)
    assert os.path.exists(f"/proc/{holder}")  # a mistyped break took nothing
    said = break_lock(folder, "node1", "run-dropped", host, ssh)
    assert "removed the stale control-node lock of run run-dropped" in said
    assert f"killed the holder (pid {holder}) of run run-dropped's lock on the host" in said
    assert host_state(folder, host) == "free" and lock_status(folder) == []
    try:
        assert other.take(host, lambda: ssh(host)) is None
    finally:
        other.release_all()


def test_sudo_with_a_password_holds_the_lock_as_root(lab_user: LabUser, tmp_path: Path) -> None:
    lab_user.allow_sudo(nopasswd=False)
    root_only = tmp_path / "root-only"  # the login user cannot even look inside
    root_only.mkdir(mode=0o700)
    plain = lab_user.host(data={"sysroot": str(root_only)})
    with pytest.raises(LockError, match="cannot take the host lock: cannot create"):
        RunLocks(tmp_path / "a" / "locks", LockOwner.for_run("run-a", "wf.yml")).take(
            plain, lambda: ssh(plain))

    host = lab_user.host(sudo=True, sudo_password=lab_user.password,
                         data={"sysroot": str(root_only)})
    locks = RunLocks(tmp_path / "a" / "locks", LockOwner.for_run("run-a", "wf.yml"))
    try:
        assert locks.take(host, lambda: ssh(host)) is None
        record = json.loads(owner_file(host).read_text())
        assert Path(f"/proc/{record['holder_pid']}").stat().st_uid == 0
        assert host_state(tmp_path / "b" / "locks", host) == "held"
    finally:
        locks.release_all()
    assert host_state(tmp_path / "b" / "locks", host) == "free"

    wrong = lab_user.host(sudo=True, sudo_password="not-the-password",
                          data={"sysroot": str(root_only)})
    with pytest.raises(HostConnectionError, match="sudo refused the password") as refused:
        RunLocks(tmp_path / "a" / "locks", LockOwner.for_run("run-c", "wf.yml")).take(
            wrong, lambda: ssh(wrong))
    assert "not-the-password" not in str(refused.value)
    assert lock_status(tmp_path / "a" / "locks") == []
