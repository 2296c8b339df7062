"""LocalConnection honours the Connection contracts on the control node."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
from pathlib import Path

import pytest

from opsrunner.connection import Connection
from opsrunner.connection.local import LocalConnection
from opsrunner.host import Host
from opsrunner.result import CommandResult


@pytest.fixture
def conn() -> LocalConnection:
    return LocalConnection(Host(name="control", hostname="localhost", connection="local"))


def test_is_a_connection(conn: LocalConnection) -> None:
    assert isinstance(conn, Connection)


def test_run_returns_rc_stdout_and_stderr(conn: LocalConnection) -> None:
    res = conn.run("echo out; echo err >&2; exit 4")
    assert res == CommandResult("echo out; echo err >&2; exit 4", 4, "out\n", "err\n")


def test_commands_go_through_sh(conn: LocalConnection) -> None:
    assert conn.run("a=1; [ \"$a\" = 1 ] && echo yes | tr y Y").stdout == "Yes\n"


def test_env_reaches_the_command_but_not_its_argv(conn: LocalConnection) -> None:
    secret = f"s3cret-{secrets.token_hex(6)}"
    res = conn.run('printf %s "$TOKEN"; echo; tr "\\0" " " < /proc/$$/cmdline',
                   env={"TOKEN": secret})
    printed, argv = res.stdout.split("\n", 1)
    assert printed == secret
    assert secret not in argv and "printf" in argv


def test_env_values_are_not_evaluated(conn: LocalConnection, tmp_path: Path) -> None:
    value = f"$(touch {tmp_path}/x) `id` '\"\n"
    assert conn.run('printf %s "$V"', env={"V": value}).stdout == value
    assert not (tmp_path / "x").exists()


def test_invalid_env_names_are_refused(conn: LocalConnection) -> None:
    with pytest.raises(ValueError, match="invalid environment variable name 'A-B'"):
        conn.run("true", env={"A-B": "1"})


def test_stdin_reaches_the_command(conn: LocalConnection) -> None:
    data = os.urandom(2_000_000)
    assert conn.run("wc -c", stdin=data).stdout.strip() == "2000000"
    assert conn.run("cat").stdout == ""  # no stdin: closed, cat does not wait


def test_large_output_on_both_streams(conn: LocalConnection) -> None:
    res = conn.run("head -c 3000000 /dev/zero | tr '\\0' o & "
                   "head -c 2000000 /dev/zero | tr '\\0' e >&2; wait")
    assert (len(res.stdout), len(res.stderr)) == (3_000_000, 2_000_000)


def test_timeout_kills_the_whole_command(conn: LocalConnection) -> None:
    sleeper = f"sleep 30.{secrets.randbelow(10**6)}"
    res = conn.run(f"echo started; {sleeper}; echo never", timeout=0.5)
    assert (res.rc, res.stdout) == (-1, "started\n")
    assert "command timed out after" in res.stderr
    alive = subprocess.run(["pgrep", "-xf", sleeper], capture_output=True, check=False)
    assert alive.returncode == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_sudo_as_root_runs_directly(conn: LocalConnection) -> None:
    assert conn.run("id -u", sudo=True).stdout == "0\n"


def test_put_creates_a_new_file_with_mode_0644(conn: LocalConnection, tmp_path: Path) -> None:
    target = tmp_path / "new.conf"
    conn.put(b"a\x00b", str(target))
    assert target.read_bytes() == b"a\x00b"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_put_applies_a_given_mode(conn: LocalConnection, tmp_path: Path) -> None:
    target = tmp_path / "tool"
    target.write_bytes(b"old")
    target.chmod(0o600)
    conn.put(b"new", str(target), mode=0o750)
    assert stat.S_IMODE(target.stat().st_mode) == 0o750


def test_put_keeps_mode_of_an_existing_file(conn: LocalConnection, tmp_path: Path) -> None:
    target = tmp_path / "kept.conf"
    target.write_bytes(b"old")
    target.chmod(0o604)
    conn.put(b"new", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.conf"]  # no temp left


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_put_keeps_owner_of_an_existing_file(conn: LocalConnection, tmp_path: Path) -> None:
    target = tmp_path / "owned.conf"
    target.write_bytes(b"old")
    os.chown(target, 65534, 65534)
    conn.put(b"new", str(target))
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)


def test_put_replaces_by_rename(conn: LocalConnection, tmp_path: Path) -> None:
    target = tmp_path / "swap.conf"
    target.write_bytes(b"old")
    inode = target.stat().st_ino
    conn.put(b"new", str(target))
    assert target.stat().st_ino != inode


def test_get_reads_the_whole_file(conn: LocalConnection, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"\xff" * 100_000)
    assert conn.get(str(tmp_path / "f")) == b"\xff" * 100_000


def test_missing_files_raise_file_not_found(conn: LocalConnection, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        conn.get(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):
        conn.put(b"x", str(tmp_path / "no" / "file"))


def test_close_is_harmless(conn: LocalConnection) -> None:
    conn.close()
    conn.close()
