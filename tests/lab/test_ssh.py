"""SSHConnection against real OpenSSH servers (see conftest.py)."""

from __future__ import annotations

import os
import secrets
import stat
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sshd_lab import LabUser, SshdLab

from opsrunner.connection import FETCH_CHUNK, Connection, ConnectOptions
from opsrunner.connection.ssh import SSHConnection
from opsrunner.host import Host
from opsrunner.result import CommandResult

pytestmark = pytest.mark.lab


def connect(host: Host, options: ConnectOptions | None = None) -> SSHConnection:
    return SSHConnection(host, options or ConnectOptions())


@pytest.fixture
def conn(sshd_hosts: SshdLab) -> Iterator[SSHConnection]:
    with closing(connect(sshd_hosts.host(0))) as connection:
        yield connection


def pid_of(conn: SSHConnection, args: str) -> int:
    """Wait (bounded) for a process whose whole command line is ``args``."""
    res = conn.run(f"for i in $(seq 100); do pgrep -xf '{args}' && exit 0; sleep 0.05; done; "
                   "exit 1")
    assert res.rc == 0, f"no process {args!r}"
    return int(res.stdout.split()[0])


def test_is_a_connection(conn: SSHConnection) -> None:
    assert isinstance(conn, Connection)


def test_run_returns_rc_stdout_and_stderr(conn: SSHConnection) -> None:
    res = conn.run("echo out; echo err >&2; exit 3")
    assert res == CommandResult("echo out; echo err >&2; exit 3", 3, "out\n", "err\n")


def test_large_output_on_both_streams_does_not_deadlock(conn: SSHConnection) -> None:
    for _ in range(5):  # interleaved streams once exposed a lost wake-up: repeat
        res = conn.run("head -c 6000000 /dev/zero | tr '\\0' o & "
                       "head -c 4000000 /dev/zero | tr '\\0' e >&2; wait", timeout=60)
        assert res.rc == 0
        assert (len(res.stdout), set(res.stdout)) == (6_000_000, {"o"})
        assert (len(res.stderr), set(res.stderr)) == (4_000_000, {"e"})


def test_stdin_reaches_the_command(conn: SSHConnection) -> None:
    assert conn.run("wc -c", stdin=os.urandom(3_000_000)).stdout.strip() == "3000000"
    assert conn.run("cat", stdin=b"line1\nline2").stdout == "line1\nline2"
    assert conn.run("cat").stdout == ""  # stdin is closed: cat does not wait


def test_env_values_arrive_intact_and_are_not_evaluated(conn: SSHConnection) -> None:
    value = "it's \"quoted\"\nnew line $(touch /tmp/opsr-pwned) `id` $HOME \\ end"
    res = conn.run('printf %s "$VALUE"; cat', env={"VALUE": value}, stdin=b"+stdin")
    assert (res.rc, res.stdout) == (0, value + "+stdin")
    assert conn.run("test -e /tmp/opsr-pwned").rc == 1


def test_env_reaches_the_process_but_never_ps(sshd_hosts: SshdLab,
                                              conn: SSHConnection) -> None:
    secret = f"s3cret-{secrets.token_hex(8)}"
    sleeper = f"sleep 40.{secrets.randbelow(10**6)}"
    results: list[CommandResult] = []
    worker = threading.Thread(target=lambda: results.append(
        conn.run(sleeper, env={"OPSR_SECRET": secret}, timeout=30)))
    worker.start()
    with closing(connect(sshd_hosts.host(0))) as watcher:
        pid = pid_of(watcher, sleeper)
        processes = watcher.run("ps -eo args").stdout
        environ = watcher.run(f"tr '\\0' '\\n' < /proc/{pid}/environ").stdout
        watcher.run(f"kill {pid}")
    worker.join(timeout=30)
    assert sleeper in processes
    assert secret not in processes
    assert f"OPSR_SECRET={secret}" in environ.splitlines()
    assert results[0].rc == 143  # the sleep died of our SIGTERM


def test_timeout_kills_the_command_and_returns_rc_minus_one(conn: SSHConnection) -> None:
    sleeper = f"sleep 30.{secrets.randbelow(10**6)}"
    res = conn.run(f"echo started; {sleeper}; echo never", timeout=1)
    assert (res.rc, res.stdout) == (-1, "started\n")
    assert res.stderr == "command timed out after 1s and was killed"
    assert conn.run(f"pgrep -xf '{sleeper}'").rc == 1  # nothing of it is left running


def test_one_connection_serves_every_command_and_transfer(conn: SSHConnection) -> None:
    seen = {conn.run("echo $SSH_CONNECTION").stdout for _ in range(10)}
    conn.put(b"x", "/tmp/opsr-reuse")
    assert conn.get("/tmp/opsr-reuse") == b"x"
    seen.add(conn.run("echo $SSH_CONNECTION").stdout)
    assert len(seen) == 1  # same client port every time: one TCP connection


def test_sudo_as_root_runs_the_command_directly(conn: SSHConnection) -> None:
    assert conn.run("id -u", sudo=True).stdout == "0\n"


def test_reconnects_when_the_server_dropped_the_connection(throwaway_sshd: SshdLab) -> None:
    with closing(connect(throwaway_sshd.host(0))) as c:
        before = c.run("echo $SSH_CONNECTION").stdout
        server = throwaway_sshd.hosts[0]
        server.stop()
        server.start()
        assert c.run("echo $SSH_CONNECTION").stdout != before


# --- sudo as a non-root user ------------------------------------------------------------------

def test_sudo_with_password_runs_as_root_with_env_and_stdin(lab_user: LabUser) -> None:
    host = lab_user.host(sudo_password=lab_user.password)
    with closing(connect(host)) as c:
        assert c.run("id -un").stdout == f"{lab_user.name}\n"
        res = c.run('id -u; printf %s "$TOKEN"; cat', sudo=True, env={"TOKEN": "t0k"},
                    stdin=b"-in")
    assert (res.rc, res.stdout) == (0, "0\nt0k-in")
    assert lab_user.password not in res.stdout + res.stderr


def test_sudo_that_asks_no_password_never_gets_it_on_stdin(lab_user: LabUser) -> None:
    lab_user.allow_sudo(nopasswd=True)
    host = lab_user.host(sudo_password=lab_user.password)
    with closing(connect(host)) as c:
        res = c.run("id -u; cat", sudo=True, stdin=b"only this")
    assert (res.rc, res.stdout) == (0, "0\nonly this")


def test_sudo_without_a_password_reports_sudo_refusal(lab_user: LabUser) -> None:
    with closing(connect(lab_user.host())) as c:
        res = c.run("id -u", sudo=True)
    assert res.rc == 1
    assert "sudo: a password is required" in res.stderr


def test_sudo_with_a_wrong_password_fails_without_hanging(lab_user: LabUser) -> None:
    with closing(connect(lab_user.host(sudo_password="wrong"))) as c:
        res = c.run("id -u", sudo=True, timeout=20)
    assert res.rc == 1
    assert "incorrect password" in res.stderr
    assert "wrong" not in res.stdout


def test_sudo_put_and_get_reach_root_only_files(lab_user: LabUser) -> None:
    folder = lab_user.lab.hosts[0].folder / "root-only"
    folder.mkdir(mode=0o700)
    (folder / "secret.conf").write_bytes(b"old")
    (folder / "secret.conf").chmod(0o640)
    path = str(folder / "secret.conf")
    host = lab_user.host(sudo_password=lab_user.password)
    with closing(connect(host)) as c:
        with pytest.raises(PermissionError):
            c.get(path)
        assert c.get(path, sudo=True) == b"old"
        c.put(b"new\x00bytes", path, sudo=True)
        c.put(b"fresh", str(folder / "new.conf"), sudo=True)
        c.put(b"exec", str(folder / "tool"), sudo=True, mode=0o750)
        assert c.get(path, sudo=True) == b"new\x00bytes"
        with pytest.raises(FileNotFoundError):
            c.get(str(folder / "missing"), sudo=True)
        with pytest.raises(FileNotFoundError):
            c.put(b"", str(folder / "no" / "such"), sudo=True)
        leftovers = c.run(f"find /tmp -maxdepth 1 -name '.opsrunner-*' -user {lab_user.name}"
                          ).stdout
    assert (folder / "secret.conf").stat().st_mode & 0o7777 == 0o640
    assert (folder / "secret.conf").stat().st_uid == 0
    assert (folder / "new.conf").stat().st_mode & 0o7777 == 0o644
    assert (folder / "tool").stat().st_mode & 0o7777 == 0o750
    assert sorted(p.name for p in folder.iterdir()) == ["new.conf", "secret.conf", "tool"]
    assert leftovers == ""


# --- files as root ----------------------------------------------------------------------------

def test_put_creates_a_new_file_with_mode_0644(conn: SSHConnection, tmp_path: Path) -> None:
    target = tmp_path / "new.conf"
    conn.put(b"a\x00b\xff", str(target))
    assert target.read_bytes() == b"a\x00b\xff"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert conn.get(str(target)) == b"a\x00b\xff"


class RecordingSink:
    """A fetch's sink that keeps the bytes and the size of every write."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.writes: list[int] = []

    def write(self, chunk: bytes) -> int:
        self.writes.append(len(chunk))
        self.data += chunk
        return len(chunk)


def test_fetch_streams_a_file_larger_than_its_chunks_over_sftp(
        conn: SSHConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "archive.backup"
    data = secrets.token_bytes(FETCH_CHUNK * 2 + 12345)
    source.write_bytes(data)
    monkeypatch.setattr(conn, "get", lambda *a, **k: pytest.fail("fetch read the whole file"))
    sink = RecordingSink()
    conn.fetch(str(source), sink)
    assert bytes(sink.data) == data
    assert max(sink.writes) <= FETCH_CHUNK and len(sink.writes) >= 3
    with pytest.raises(FileNotFoundError):
        conn.fetch(str(tmp_path / "missing"), sink)


def test_sudo_fetch_streams_a_root_only_file_as_cat_writes_it(lab_user: LabUser) -> None:
    folder = lab_user.lab.hosts[0].folder / "root-only-archive"
    folder.mkdir(mode=0o700)
    data = secrets.token_bytes(FETCH_CHUNK * 3 + 777)
    (folder / "engine.backup").write_bytes(data)
    (folder / "engine.backup").chmod(0o600)
    sink = RecordingSink()
    with closing(connect(lab_user.host(sudo_password=lab_user.password))) as c:
        c.fetch(str(folder / "engine.backup"), sink, sudo=True)
        with pytest.raises(FileNotFoundError):
            c.fetch(str(folder / "missing"), RecordingSink(), sudo=True)
    assert bytes(sink.data) == data
    # the channel's pieces, never the whole file at once
    assert len(sink.writes) > 3 and max(sink.writes) <= 65536


def test_put_applies_a_given_mode(conn: SSHConnection, tmp_path: Path) -> None:
    target = tmp_path / "tool"
    conn.put(b"#!/bin/sh\n", str(target), mode=0o750)
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    target.chmod(0o600)
    conn.put(b"#!/bin/sh\necho\n", str(target), mode=0o755)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


def test_put_keeps_the_mode_and_owner_of_an_existing_file(conn: SSHConnection,
                                                          tmp_path: Path) -> None:
    target = tmp_path / "kept.conf"
    target.write_bytes(b"old")
    target.chmod(0o604)
    os.chown(target, 65534, 65534)
    conn.put(b"new content", str(target))
    info = target.stat()
    assert target.read_bytes() == b"new content"
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o604, 65534, 65534)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.conf"]  # no staging left


def test_put_replaces_the_file_atomically(conn: SSHConnection, tmp_path: Path) -> None:
    target = tmp_path / "swap.conf"
    target.write_bytes(b"old")
    inode = target.stat().st_ino
    conn.put(b"new", str(target))
    assert target.stat().st_ino != inode  # a rename, never a rewrite in place


def test_missing_files_and_folders_raise_file_not_found(conn: SSHConnection,
                                                       tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        conn.get(str(tmp_path / "missing"))
    assert missing.value.filename == str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError) as no_folder:
        conn.put(b"x", str(tmp_path / "no" / "file"))
    assert no_folder.value.filename == str(tmp_path / "no")


def test_sudo_file_access_refused_by_sudo_raises_permission_error(lab_user: LabUser) -> None:
    target = f"/etc/opsr-never-{lab_user.name}"
    with closing(connect(lab_user.host())) as c:
        with pytest.raises(PermissionError, match="sudo: a password is required"):
            c.put(b"x", target, sudo=True)
        with pytest.raises(PermissionError, match="sudo: a password is required"):
            c.get("/etc/shadow", sudo=True)
        leftovers = c.run(f"find /tmp -maxdepth 1 -name '.opsrunner-*' -user {lab_user.name}")
    assert not Path(target).exists()
    assert leftovers.stdout == ""
