"""Connecting to real sshd: strict host keys and one-line connection errors."""

from __future__ import annotations

import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sshd_lab import SshdLab

from opsrunner.connection import ConnectOptions
from opsrunner.connection.ssh import SSHConnection
from opsrunner.errors import HostConnectionError, HostKeyError
from opsrunner.host import Host
from opsrunner.inventory.simple import load_simple
from opsrunner_lab.sshd import free_port

pytestmark = pytest.mark.lab

ACCEPT_NEW = ConnectOptions(accept_new_host_keys=True)


def run_true(host: Host, options: ConnectOptions | None = None) -> None:
    with closing(SSHConnection(host, options or ConnectOptions())) as conn:
        assert conn.run("true").rc == 0


def fingerprints(known_hosts_text: str) -> list[str]:
    """OpenSSH's own SHA256 fingerprints of known_hosts lines."""
    done = subprocess.run(["ssh-keygen", "-lf", "-"], input=known_hosts_text, text=True,
                          capture_output=True, check=True)
    return [line.split()[1] for line in done.stdout.splitlines()]


def lines_for(lab: SshdLab, index: int, key_type: str) -> str:
    return "".join(line + "\n" for line in lab.hosts[index].known_hosts_line().splitlines()
                   if key_type in line)


# --- host keys --------------------------------------------------------------------------------

def test_unknown_host_key_is_refused(sshd_hosts: SshdLab, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    server = sshd_hosts.hosts[1]
    with pytest.raises(HostKeyError) as err:
        run_true(sshd_hosts.host(1, known_hosts=str(known)))
    name = f"[{server.address}]:{server.port}"
    ed25519 = fingerprints(lines_for(sshd_hosts, 1, "ed25519"))[0]
    assert str(err.value) == (
        f"node2 ({server.address}:{server.port}): host key for {name} is not known "
        f"(not in {known}); verify it and add it, or run with --accept-new-host-keys "
        f"(the server presented ssh-ed25519 {ed25519})")
    assert known.read_text() == ""


def test_accept_new_records_the_key_like_openssh(sshd_hosts: SshdLab, tmp_path: Path) -> None:
    known = tmp_path / "new-folder" / "known_hosts"
    run_true(sshd_hosts.host(0, known_hosts=str(known)), ACCEPT_NEW)
    assert known.read_text() == lines_for(sshd_hosts, 0, "ed25519")
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    assert stat.S_IMODE(known.parent.stat().st_mode) == 0o700
    run_true(sshd_hosts.host(0, known_hosts=str(known)))  # now known: strict mode passes
    server = sshd_hosts.hosts[0]
    check = subprocess.run(["ssh-keygen", "-F", f"[{server.address}]:{server.port}", "-f",
                            str(known)], capture_output=True, text=True, check=False)
    assert check.returncode == 0  # OpenSSH finds the line we wrote


def test_accept_new_from_many_hosts_at_once_loses_no_line(sshd_hosts: SshdLab,
                                                           tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("# kept comment")  # no final newline: appends must not glue lines
    errors: list[BaseException] = []

    def connect(index: int) -> None:
        try:
            run_true(sshd_hosts.host(index, known_hosts=str(known)), ACCEPT_NEW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=connect, args=(i % 3,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = {lines_for(sshd_hosts, i, "ed25519") for i in range(3)}
    lines = known.read_text().splitlines(keepends=True)
    assert lines[0] == "# kept comment\n"
    assert sorted(lines[1:]) == sorted(expected)


def test_hashed_known_hosts_entries_are_honoured(sshd_hosts: SshdLab, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sshd_hosts.hosts[2].known_hosts_line())
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    assert sshd_hosts.hosts[2].address not in known.read_text()
    run_true(sshd_hosts.host(2, known_hosts=str(known)))


def test_a_known_rsa_key_is_negotiated_first(sshd_hosts: SshdLab, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(lines_for(sshd_hosts, 0, "ssh-rsa"))
    run_true(sshd_hosts.host(0, known_hosts=str(known)))
    assert known.read_text() == lines_for(sshd_hosts, 0, "ssh-rsa")


def test_a_changed_host_key_is_refused_even_with_accept_new(throwaway_sshd: SshdLab) -> None:
    host = throwaway_sshd.host(0)
    run_true(host)
    old = fingerprints(lines_for(throwaway_sshd, 0, "ed25519"))[0]
    before = throwaway_sshd.known_hosts.read_text()
    throwaway_sshd.hosts[0].rotate_host_keys()
    new = fingerprints(lines_for(throwaway_sshd, 0, "ed25519"))[0]
    with pytest.raises(HostKeyError) as err:
        run_true(host, ACCEPT_NEW)
    message = str(err.value)
    assert "has changed" in message
    assert f"ssh-ed25519 {old}" in message and f"ssh-ed25519 {new}" in message
    assert "possible man-in-the-middle attack" in message
    assert throwaway_sshd.known_hosts.read_text() == before


def test_a_revoked_key_is_refused(sshd_hosts: SshdLab, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    line = sshd_hosts.hosts[0].known_hosts_line()
    known.write_text(line + "@revoked * " + lines_for(sshd_hosts, 0, "ed25519").split(" ", 1)[1])
    with pytest.raises(HostKeyError, match="is marked @revoked"):
        run_true(sshd_hosts.host(0, known_hosts=str(known)), ACCEPT_NEW)


# --- connection errors ------------------------------------------------------------------------

def test_connection_refused(sshd_hosts: SshdLab) -> None:
    port = free_port("127.0.0.16")
    host = sshd_hosts.host(0, hostname="127.0.0.16", port=port)
    with pytest.raises(HostConnectionError) as err:
        run_true(host)
    assert str(err.value) == (f"node1 (127.0.0.16:{port}): connection refused "
                              f"(is sshd running on that port?)")


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    with socket.create_server(("127.0.0.17", 0)) as server:
        yield int(server.getsockname()[1])


def test_a_silent_server_times_out(sshd_hosts: SshdLab, silent_listener: int) -> None:
    host = sshd_hosts.host(0, hostname="127.0.0.17", port=silent_listener)
    with pytest.raises(HostConnectionError) as err:
        run_true(host, ConnectOptions(connect_timeout=0.5))
    assert str(err.value) == (f"node1 (127.0.0.17:{silent_listener}): no SSH banner within "
                              f"0.5s (is an SSH server listening there?)")


def test_authentication_failure_names_the_methods_never_the_password(
        sshd_hosts: SshdLab, tmp_path: Path) -> None:
    other_key = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)],
                   check=True)
    host = sshd_hosts.host(0, ssh_key=str(other_key), password="pa55-w0rd-xyz")
    with pytest.raises(HostConnectionError) as err:
        run_true(host)
    server = sshd_hosts.hosts[0]
    assert str(err.value) == (
        f"node1 ({server.address}:{server.port}): authentication failed as root "
        f"(tried: public key {other_key}, password); the server accepts: publickey")
    assert "pa55" not in str(err.value)


def test_key_file_problems_are_reported(sshd_hosts: SshdLab, tmp_path: Path) -> None:
    missing = tmp_path / "missing_key"
    with pytest.raises(HostConnectionError, match=f"ssh key {missing} does not exist$"):
        run_true(sshd_hosts.host(0, ssh_key=str(missing)))
    encrypted = tmp_path / "encrypted_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-f",
                    str(encrypted)], check=True)
    with pytest.raises(HostConnectionError, match=f"ssh key {encrypted} is encrypted"):
        run_true(sshd_hosts.host(0, ssh_key=str(encrypted)))
    with pytest.raises(HostConnectionError, match="is not a usable private key"):
        run_true(sshd_hosts.host(0, ssh_key=str(encrypted) + ".pub"))


def test_write_inventory_gives_reachable_hosts(sshd_hosts: SshdLab, tmp_path: Path) -> None:
    folder = sshd_hosts.write_inventory(tmp_path / "inv", names=["node1", "node3"],
                                        data={"role": "db"})
    inventory = load_simple(folder)
    assert inventory is not None
    assert list(inventory.hosts) == ["node1", "node3"]
    node3 = inventory.hosts["node3"]
    assert (node3.hostname, node3.port, node3.data["role"]) == (
        sshd_hosts.hosts[2].address, sshd_hosts.hosts[2].port, "db")
    with closing(SSHConnection(node3, ConnectOptions())) as conn:
        assert conn.run("echo $SSH_CONNECTION").stdout.split()[2] == "127.0.0.13"
