"""Connection failures become one clear line naming the host (no server needed)."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from opsrunner.connection import ConnectOptions
from opsrunner.connection.ssh import SSHConnection
from opsrunner.errors import HostConnectionError
from opsrunner.host import Host
from tests.unit.deadline import deadline


def host(**fields: object) -> Host:
    base: dict[str, object] = {"name": "db1", "hostname": "db1.example", "port": 2222,
                               "username": "admin"}
    return Host(**{**base, **fields})  # type: ignore[arg-type]


def failure(monkeypatch: pytest.MonkeyPatch, exc: OSError, tmp_path: Path) -> str:
    def refuse(address: tuple[str, int], timeout: float) -> socket.socket:
        raise exc

    monkeypatch.setattr(socket, "create_connection", refuse)
    conn = SSHConnection(host(known_hosts=str(tmp_path / "kh")), ConnectOptions(connect_timeout=3))
    with pytest.raises(HostConnectionError) as err:
        conn.run("true")
    return str(err.value)


@pytest.mark.parametrize(("exc", "message"), [
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
     "cannot resolve host name 'db1.example' (Name or service not known)"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "unreachable (No route to host)"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"),
     "unreachable (Network is unreachable)"),
    (TimeoutError("timed out"), "timed out after 3s (host down, unreachable or filtered?)"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
     "connection refused (is sshd running on that port?)"),
])
def test_network_failures_name_the_host_and_address(exc: OSError, message: str,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    assert failure(monkeypatch, exc, tmp_path) == f"db1 (db1.example:2222): {message}"


def test_nothing_connects_before_first_use() -> None:
    conn = SSHConnection(host(hostname="203.0.113.1"), ConnectOptions())
    conn.close()  # never connected: nothing to close, no error


def test_key_problems_are_found_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(HostConnectionError) as err:
        SSHConnection(host(ssh_key=str(tmp_path)), ConnectOptions()).run("true")
    assert str(err.value) == (f"db1 (db1.example:2222): ssh key {tmp_path} is not a regular "
                              f"file (a folder)")
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key")
    with pytest.raises(HostConnectionError, match=f"ssh key {garbage} is not a usable private"):
        SSHConnection(host(ssh_key=str(garbage)), ConnectOptions()).run("true")


def test_importing_the_core_does_not_import_paramiko() -> None:
    code = ("import sys, opsrunner, opsrunner.builtins, opsrunner.connection.local, opsrunner.registry; "
            "print('paramiko' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_a_fifo_or_device_ssh_key_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "id_ed25519"
    os.mkfifo(fifo, 0o600)
    with deadline(), pytest.raises(HostConnectionError) as err:
        SSHConnection(host(ssh_key=str(fifo)), ConnectOptions()).run("true")
    assert str(err.value) == (f"db1 (db1.example:2222): ssh key {fifo} is not a regular file "
                              "(a FIFO)")
    with deadline(), pytest.raises(HostConnectionError) as err:
        SSHConnection(host(ssh_key="/dev/zero"), ConnectOptions()).run("true")
    assert str(err.value) == ("db1 (db1.example:2222): ssh key /dev/zero is not a regular file "
                              "(a character device)")


def test_a_huge_ssh_key_is_refused_with_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "id_rsa"
    big.write_bytes(b"-" * (1024 * 1024))
    with pytest.raises(HostConnectionError) as err:
        SSHConnection(host(ssh_key=str(big)), ConnectOptions()).run("true")
    assert str(err.value) == (f"db1 (db1.example:2222): ssh key {big} is 1 MiB; ssh keys are "
                              "limited to 64 KiB")


@pytest.mark.parametrize("key_type", ["ed25519", "rsa", "ecdsa"])
def test_a_key_is_read_once_into_the_same_key_paramiko_loads(tmp_path: Path,
                                                             key_type: str) -> None:
    import paramiko

    from opsrunner.connection.ssh.connect import _load_key

    path = tmp_path / f"id_{key_type}"
    subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", "", "-f", str(path)], check=True)
    key = _load_key(host(ssh_key=str(path)), "db1")
    assert key is not None and key == paramiko.PKey.from_path(path)


def test_an_encrypted_key_names_the_remedy_and_no_key_material(tmp_path: Path) -> None:
    path = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret-pass", "-f", str(path)],
                   check=True)
    with pytest.raises(HostConnectionError) as err:
        SSHConnection(host(ssh_key=str(path)), ConnectOptions()).run("true")
    assert str(err.value) == (f"db1 (db1.example:2222): ssh key {path} is encrypted; use an "
                              "unencrypted key, or load it into an ssh agent and leave ssh_key "
                              "unset")
