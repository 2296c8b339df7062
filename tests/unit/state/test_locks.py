"""Target locks on the control node and on (local) hosts, held by real processes.

A second process (a child Python) holds the locks where a test needs a real conflict: flock
locks of one process do not conflict with each other the way two runs' do.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from opsrunner.cli import main
from opsrunner.connection.local import LocalConnection
from opsrunner.errors import OpsrunnerError, UsageError
from opsrunner.host import Host
from opsrunner.result import CommandResult
from opsrunner.state.locks import (
    CONTROL_NODE,
    HOST,
    LockBusy,
    LockError,
    LockInfo,
    LockOwner,
    RunLocks,
    break_lock,
    lock_file_name,
    lock_status,
    parse_owner,
    pid_alive,
)

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from opsrunner.connection.local import LocalConnection
    from opsrunner.host import Host
    from opsrunner.result import CommandResult
    from opsrunner.state.locks import LockOwner, RunLocks

    class RunOnly:  # a connection type that cannot hold a command
        def run(self, command, **kwargs): return CommandResult(command, 0, "", "")
        def close(self): pass

    folder, sysroot, run_id, with_host = sys.argv[1:5]
    host = Host(name="h1", hostname="localhost", connection="local",
                data={"sysroot": sysroot})
    locks = RunLocks(Path(folder), LockOwner.for_run(run_id, "wf.yml"))
    connect = (lambda: LocalConnection(host)) if with_host == "yes" else RunOnly
    note = locks.take(host, connect)
    print("ready", note, flush=True)
    sys.stdin.readline()
    locks.release_all()
    print("released", flush=True)
""")


class Child:
    """A second control-node process holding h1's locks (see CHILD)."""

    def __init__(self, folder: Path, sysroot: Path, run_id: str, *, host_lock: bool) -> None:
        self.run_id = run_id
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder), str(sysroot), run_id,
             "yes" if host_lock else "no"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.ready = self.proc.stdout.readline()
        assert self.ready.startswith("ready"), self.ready

    @property
    def pid(self) -> int:
        return self.proc.pid

    def release(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "released\n"
        self.proc.wait(timeout=10)
        self.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)  # reaped: a zombie would still look alive
        self.close()

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def sysroot(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    return root


@pytest.fixture
def host(sysroot: Path) -> Host:
    return Host(name="h1", hostname="localhost", connection="local",
                data={"sysroot": str(sysroot)})


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """The locks/ of two control nodes' state folders."""
    return tmp_path / "node-a" / "locks", tmp_path / "node-b" / "locks"


@pytest.fixture
def spawn(sysroot: Path) -> Iterator[Callable[..., Child]]:
    children: list[Child] = []

    def start(folder: Path, run_id: str = "run-child", *, host_lock: bool = True) -> Child:
        child = Child(folder, sysroot, run_id, host_lock=host_lock)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


def local(host: Host) -> Callable[[], LocalConnection]:
    return lambda: LocalConnection(host)


def owner(run_id: str = "run-me") -> LockOwner:
    return LockOwner.for_run(run_id, "wf.yml")


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def states(infos: list[LockInfo]) -> dict[tuple[str, str], str]:
    return {(i.host, i.where): i.state for i in infos}


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.05)
    return True


# -- the owner record --------------------------------------------------------------------------

def test_owner_for_this_run_round_trips_through_json() -> None:
    me = LockOwner.for_run("r1", "wf.yml", state_dir="rel")
    assert me.pid == os.getpid() and me.control_host == socket.gethostname()
    assert me.started.endswith("+00:00") and "T" in me.started
    assert Path(me.state_dir).is_absolute()
    assert LockOwner.from_json(json.loads(json.dumps(me.as_json()))) == me
    assert me.describe() == (f"run r1 (workflow wf.yml) by user {me.user} on control node "
                             f"{me.control_host}, pid {me.pid}, since {me.started}")


def test_owner_from_json_tolerates_missing_and_mistyped_keys() -> None:
    assert LockOwner.from_json({}) == LockOwner("", 0, "", "", "", "")
    odd = LockOwner.from_json({"run_id": "r", "pid": "42", "holder_pid": True, "extra": 1})
    assert (odd.run_id, odd.pid, odd.holder_pid) == ("r", 42, None)
    assert parse_owner("") is None and parse_owner("not json\n") is None
    assert parse_owner('{"pid": 3}') is None  # no run id: no owner
    assert parse_owner('{"run_id": "r", "pid": 3}\ngarbage') == LockOwner("r", 3, "", "", "", "")


def test_lock_file_names_are_safe_and_distinct() -> None:
    assert lock_file_name("node1.example.com") == "node1.example.com.lock"
    odd = [lock_file_name(n) for n in ("a/b", "a_b", "..", ".hidden", "", "é")]
    assert len(set(odd)) == len(odd)
    assert all("/" not in n and not n.startswith(".") for n in odd)


def test_pid_alive() -> None:
    assert pid_alive(os.getpid()) and not pid_alive(dead_pid()) and not pid_alive(0)


# -- the control node's lock -------------------------------------------------------------------

def test_a_second_run_on_a_locked_host_fails_with_the_owners_details(
        folders: tuple[Path, Path], host: Host, spawn: Callable[..., Child]) -> None:
    folder = folders[0]
    child = spawn(folder, host_lock=False)
    assert "no host lock" in child.ready  # a connection type without hold: a note
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    lock_file = folder / "h1.lock"
    assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
    record = json.loads(lock_file.read_text())
    assert record["host"] == "h1" and record["pid"] == child.pid

    locks = RunLocks(folder, owner())
    started = time.monotonic()
    with pytest.raises(LockBusy) as caught:
        locks.take(host, local(host))
    assert time.monotonic() - started < 1  # at once
    busy = caught.value
    assert isinstance(busy, OpsrunnerError)
    assert (busy.host, busy.where, busy.stale) == ("h1", CONTROL_NODE, False)
    assert busy.owner is not None and busy.owner.pid == child.pid
    assert str(busy).startswith("h1: locked on the control node by run run-child "
                                "(workflow wf.yml) by user ")
    assert f"pid {child.pid}" in str(busy) and "--lock-wait" in str(busy)
    assert not (Path(host.sysroot) / "run").exists()  # the host was not even tried

    info = lock_status(folder)
    assert [(i.host, i.where, i.state) for i in info] == [("h1", CONTROL_NODE, "held")]
    assert info[0].owner is not None and info[0].owner.pid == child.pid

    child.release()
    assert lock_status(folder) == []  # released: the file is gone
    assert locks.take(host, local(host)) is None
    assert json.loads(lock_file.read_text())["pid"] == os.getpid()
    locks.release_all()
    locks.release_all()  # idempotent
    assert not lock_file.exists()


def test_waiting_takes_the_lock_once_the_owner_releases(
        folders: tuple[Path, Path], host: Host, spawn: Callable[..., Child]) -> None:
    child = spawn(folders[0], host_lock=False)
    waiting = threading.Event()
    seen: list[tuple[str, str, str | None]] = []

    def on_wait(name: str, where: str, holder: LockOwner | None) -> None:
        seen.append((name, where, holder.run_id if holder else None))
        waiting.set()

    releaser = threading.Thread(target=lambda: (waiting.wait(10), child.release()))
    releaser.start()
    locks = RunLocks(folders[0], owner(), wait=10, on_wait=on_wait)
    try:
        started = time.monotonic()
        assert locks.take(host, local(host)) is None
        assert time.monotonic() - started < 5
        assert seen == [("h1", CONTROL_NODE, "run-child")]
    finally:
        releaser.join()
        locks.release_all()


def test_waiting_gives_up_after_the_wait(folders: tuple[Path, Path], host: Host,
                                          spawn: Callable[..., Child]) -> None:
    spawn(folders[0], host_lock=False)
    locks = RunLocks(folders[0], owner(), wait=0.5)
    started = time.monotonic()
    with pytest.raises(LockBusy, match=r"still locked after waiting 0\.5s"):
        locks.take(host, local(host))
    assert 0.5 <= time.monotonic() - started < 3


def test_stop_ends_a_wait_at_once(folders: tuple[Path, Path], host: Host,
                                  spawn: Callable[..., Child]) -> None:
    spawn(folders[0], host_lock=False)
    stop = threading.Event()
    locks = RunLocks(folders[0], owner(), wait=60, stop=stop,
                     on_wait=lambda *args: stop.set())
    started = time.monotonic()
    with pytest.raises(LockBusy, match="the run stopped while waiting"):
        locks.take(host, local(host))
    assert time.monotonic() - started < 3


def test_a_killed_owner_leaves_a_stale_record_that_the_next_run_takes_over(
        folders: tuple[Path, Path], host: Host, spawn: Callable[..., Child]) -> None:
    folder = folders[0]
    child = spawn(folder, "run-killed")
    child.kill()
    # the kernel released the flock; the record stays behind
    [info] = lock_status(folder)
    assert (info.where, info.state) == (CONTROL_NODE, "stale")
    assert info.owner is not None and info.owner.run_id == "run-killed"
    # the held shell saw its stdin end with its parent: the host lock is free again
    assert wait_until(lambda: states(lock_status(folder, [host], LocalConnection))
                      .get(("h1", HOST)) == "free")

    locks = RunLocks(folder, owner())
    assert locks.take(host, local(host)) == "took over the stale control-node lock of run run-killed"
    assert states(lock_status(folder)) == {("h1", CONTROL_NODE): "held"}
    locks.release_all()


def test_the_lock_folder_must_be_creatable(tmp_path: Path, host: Host) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(LockError, match="cannot be created"):
        RunLocks(tmp_path / "file" / "locks", owner()).take(host, local(host))


# -- the host's own lock -----------------------------------------------------------------------

def test_two_control_nodes_cannot_hold_one_host(folders: tuple[Path, Path], host: Host,
                                                spawn: Callable[..., Child]) -> None:
    child = spawn(folders[0], "run-a")
    assert child.ready.strip() == "ready None"
    lock_dir = Path(host.sysroot) / "run" / "opsrunner"
    assert stat.S_IMODE(lock_dir.stat().st_mode) == 0o700
    record = json.loads((lock_dir / "host.owner").read_text())
    assert record["run_id"] == "run-a" and record["pid"] == child.pid
    assert pid_alive(record["holder_pid"])
    assert stat.S_IMODE((lock_dir / "host.owner").stat().st_mode) == 0o600

    other = RunLocks(folders[1], owner("run-b"))
    with pytest.raises(LockBusy) as caught:
        other.take(host, local(host))
    assert caught.value.where == HOST and not caught.value.stale
    assert str(caught.value).startswith("h1: locked on the host by run run-a (workflow wf.yml)")
    assert f"pid {child.pid}" in str(caught.value)
    assert not (folders[1] / "h1.lock").exists()  # its control-node lock was given back

    status = lock_status(folders[1], [host], LocalConnection)
    assert states(status) == {("h1", HOST): "held"}
    assert status[0].owner is not None and status[0].owner.holder_pid == record["holder_pid"]

    child.release()
    assert not (lock_dir / "host.owner").exists()
    assert other.take(host, local(host)) is None
    other.release_all()


def test_waiting_for_the_host_lock(folders: tuple[Path, Path], host: Host,
                                   spawn: Callable[..., Child]) -> None:
    child = spawn(folders[0], "run-a")
    waiting = threading.Event()
    seen: list[tuple[str, str | None]] = []

    def on_wait(name: str, where: str, holder: LockOwner | None) -> None:
        seen.append((where, holder.run_id if holder else None))
        waiting.set()

    releaser = threading.Thread(target=lambda: (waiting.wait(15), child.release()))
    releaser.start()
    other = RunLocks(folders[1], owner("run-b"), wait=10, on_wait=on_wait)
    try:
        started = time.monotonic()
        assert other.take(host, local(host)) is None
        assert time.monotonic() - started < 5
        assert seen == [(HOST, "run-a")]
        record = json.loads((Path(host.sysroot) / "run/opsrunner/host.owner").read_text())
        assert record["run_id"] == "run-b"
    finally:
        releaser.join()
        other.release_all()


def test_a_connection_type_without_hold_takes_only_the_control_nodes_lock(
        folders: tuple[Path, Path], host: Host) -> None:
    closed: list[bool] = []

    class RunOnly:
        def run(self, command: str, **kwargs: object) -> CommandResult:
            return CommandResult(command, 0, "", "")

        def close(self) -> None:
            closed.append(True)

    locks = RunLocks(folders[0], owner())
    note = locks.take(replace(host, connection="telnet"), RunOnly)  # type: ignore[arg-type,return-value]
    assert note == ("no host lock: connection type 'telnet' cannot hold one "
                    "(only the control node's lock)")
    assert closed == [True]
    assert states(lock_status(folders[0])) == {("h1", CONTROL_NODE): "held"}
    locks.release_all()


def test_no_flock_on_the_host_is_a_clear_error(folders: tuple[Path, Path], host: Host,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("sh", "mkdir", "mv", "rm", "id"):
        found = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True,
                               text=True, check=True).stdout.strip()
        (tools / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(tools))
    locks = RunLocks(folders[0], owner())
    with pytest.raises(LockError, match=r"flock \(util-linux\) is not installed on the host"):
        locks.take(host, local(host))
    assert not (folders[0] / "h1.lock").exists()


def test_a_lock_folder_the_host_cannot_create_is_a_clear_error(
        folders: tuple[Path, Path], tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    host = Host(name="h1", hostname="localhost", connection="local",
                data={"sysroot": str(tmp_path / "plain-file")})
    with pytest.raises(LockError, match="cannot take the host lock: cannot create "):
        RunLocks(folders[0], owner()).take(host, local(host))


def test_a_connection_failure_propagates_and_gives_the_control_lock_back(
        folders: tuple[Path, Path], host: Host) -> None:
    from opsrunner.errors import HostConnectionError

    def unreachable() -> LocalConnection:
        raise HostConnectionError("h1 (localhost:22): connection refused")

    with pytest.raises(HostConnectionError):
        RunLocks(folders[0], owner()).take(host, unreachable)
    assert lock_status(folders[0]) == []


# -- breaking ----------------------------------------------------------------------------------

def test_break_refuses_another_runs_lock_and_a_live_run(
        folders: tuple[Path, Path], host: Host, spawn: Callable[..., Child]) -> None:
    child = spawn(folders[0], "run-live")
    with pytest.raises(UsageError) as wrong:
        break_lock(folders[0], "h1", "run-typo", host, LocalConnection)
    assert "no lock of run run-typo" in str(wrong.value)
    assert "belongs to run run-live" in str(wrong.value)
    with pytest.raises(UsageError) as live:
        break_lock(folders[0], "h1", "run-live", host, LocalConnection)
    assert f"stop run run-live first (kill {child.pid})" in str(live.value)
    assert states(lock_status(folders[0], [host], LocalConnection)) == {
        ("h1", CONTROL_NODE): "held", ("h1", HOST): "held"}


def test_break_removes_a_stale_control_node_record(
        folders: tuple[Path, Path], host: Host, spawn: Callable[..., Child]) -> None:
    spawn(folders[0], "run-dead", host_lock=False).kill()
    with pytest.raises(UsageError, match="no lock of run run-other"):
        break_lock(folders[0], "h1", "run-other")
    said = break_lock(folders[0], "h1", "run-dead")
    assert said.startswith("h1: removed the stale control-node lock of run run-dead")
    assert "give the inventory with -i" in said
    assert lock_status(folders[0]) == []
    with pytest.raises(UsageError, match="it holds no lock"):
        break_lock(folders[0], "h1", "run-dead")


def test_break_kills_the_holder_of_a_host_lock_whose_owner_is_gone(
        folders: tuple[Path, Path], host: Host) -> None:
    # a lingering holder: the host lock is held, its owner process on this node is gone
    gone = replace(owner("run-gone"), pid=dead_pid())
    locks = RunLocks(folders[0], gone)
    assert locks.take(host, local(host)) is None
    lock_dir = Path(host.sysroot) / "run" / "opsrunner"
    holder = json.loads((lock_dir / "host.owner").read_text())["holder_pid"]
    try:
        [info] = lock_status(folders[1], [host], LocalConnection)
        assert (info.where, info.state) == (HOST, "stale")
        with pytest.raises(LockBusy) as caught:
            RunLocks(folders[1], owner("run-b")).take(host, local(host))
        assert caught.value.stale
        assert "opsrunner lock break h1 --run run-gone -i INVENTORY" in str(caught.value)

        with pytest.raises(UsageError, match="no lock of run run-typo"):
            break_lock(folders[1], "h1", "run-typo", host, LocalConnection)
        assert pid_alive(holder)
        said = break_lock(folders[1], "h1", "run-gone", host, LocalConnection)
        assert f"killed the holder (pid {holder}) of run run-gone's lock" in said
        assert wait_until(lambda: not pid_alive(holder))
        assert not (lock_dir / "host.owner").exists()
        assert states(lock_status(folders[1], [host], LocalConnection)) == {
            ("h1", HOST): "free"}
    finally:
        locks.release_all()  # its holder is gone: must not raise


def test_break_does_not_kill_a_process_that_is_not_a_lock_holder(
        folders: tuple[Path, Path], host: Host) -> None:
    locks = RunLocks(folders[0], replace(owner("run-gone"), pid=dead_pid()))
    locks.take(host, local(host))
    owner_file = Path(host.sysroot) / "run" / "opsrunner" / "host.owner"
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        record = json.loads(owner_file.read_text())
        owner_file.write_text(json.dumps({**record, "holder_pid": bystander.pid},
                                         separators=(",", ":")) + "\n")
        with pytest.raises(LockError, match="is not an opsrunner lock holder; nothing was killed"):
            break_lock(folders[1], "h1", "run-gone", host, LocalConnection)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
        locks.release_all()


# -- the commands ------------------------------------------------------------------------------

def test_lock_status_and_break_commands(tmp_path: Path, folders: tuple[Path, Path],
                                        host: Host, spawn: Callable[..., Child]) -> None:
    state = folders[0].parent
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(
        {"h1": {"hostname": "localhost", "connection": "local",
                "data": {"sysroot": host.sysroot}}}))
    child = spawn(folders[0], "run-cli")
    runner = CliRunner()

    result = runner.invoke(main, ["lock", "status", "--state-dir", str(state), "-i",
                                  str(inventory), "--output", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [(lk["host"], lk["where"], lk["state"], lk["owner"]["run_id"])
            for lk in doc["locks"]] == [("h1", "control node", "held", "run-cli"),
                                        ("h1", "host", "held", "run-cli")]

    result = runner.invoke(main, ["lock", "status"], env={"OPSRUNNER_STATE_DIR": str(state)})
    assert result.exit_code == 0
    assert "run-cli" in result.output and "held" in result.output
    assert f"@{socket.gethostname()}" in result.output

    result = runner.invoke(main, ["lock", "break", "h1", "--run", "run-typo", "--state-dir",
                                  str(state), "-i", str(inventory)])
    assert result.exit_code == 1
    assert "error: h1: no lock of run run-typo" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["lock", "break", "h9", "--run", "run-cli", "--state-dir",
                                  str(state), "-i", str(inventory)])
    assert result.exit_code == 1 and "unknown host 'h9'" in result.output
    result = runner.invoke(main, ["lock", "break", "h1", "--state-dir", str(state)])
    assert result.exit_code == 1 and "--run" in result.output

    child.kill()
    result = runner.invoke(main, ["lock", "break", "h1", "--run", "run-cli", "--state-dir",
                                  str(state), "-i", str(inventory)])
    assert result.exit_code == 0, result.output
    assert "removed the stale control-node lock of run run-cli" in result.output
    result = runner.invoke(main, ["lock", "status", "--state-dir", str(state)])
    assert result.exit_code == 0 and "no locks in" in result.output
