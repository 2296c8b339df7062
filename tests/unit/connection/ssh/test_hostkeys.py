"""Host-key policy: OpenSSH known_hosts semantics, accept-new, changed and revoked keys."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import threading
from pathlib import Path

import paramiko
import pytest

from opsrunner.connection.ssh.hostkeys import (
    KnownHosts,
    KnownHostsPolicy,
    describe_key,
    known_hosts_name,
    read_known_hosts,
)
from opsrunner.errors import HostKeyError
from tests.unit.deadline import deadline

NAME = "[127.0.0.11]:2222"


class Key:
    """A host key made by ssh-keygen: its known_hosts fields and its paramiko object."""

    def __init__(self, folder: Path, key_type: str, label: str) -> None:
        path = folder / label
        subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", "", "-f", str(path)],
                       check=True)
        self.type, self.data = Path(f"{path}.pub").read_text().split()[:2]
        self.fingerprint = subprocess.run(
            ["ssh-keygen", "-lf", f"{path}.pub"], capture_output=True, text=True,
            check=True).stdout.split()[1]
        self.pkey = paramiko.PKey.from_type_string(self.type, base64.b64decode(self.data))

    def line(self, names: str = NAME) -> str:
        return f"{names} {self.type} {self.data}\n"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Key]:
    folder = tmp_path_factory.mktemp("keys")
    return {"a": Key(folder, "ed25519", "a"), "b": Key(folder, "ed25519", "b"),
            "rsa": Key(folder, "rsa", "rsa")}


def known(tmp_path: Path, text: str | None, *, accept_new: bool = False) -> KnownHosts:
    path = tmp_path / "known_hosts"
    if text is not None:
        path.write_text(text)
    return KnownHosts(path, accept_new=accept_new)


def test_known_hosts_name_brackets_non_default_ports() -> None:
    assert known_hosts_name("db1.example", 22) == "db1.example"
    assert known_hosts_name("127.0.0.11", 2222) == "[127.0.0.11]:2222"


def test_describe_key_matches_openssh_fingerprint(keys: dict[str, Key]) -> None:
    assert describe_key(keys["a"].pkey) == f"ssh-ed25519 {keys['a'].fingerprint}"
    assert describe_key(keys["rsa"].pkey) == f"ssh-rsa {keys['rsa'].fingerprint}"


def test_a_listed_key_passes(tmp_path: Path, keys: dict[str, Key]) -> None:
    known(tmp_path, keys["b"].line("other") + keys["a"].line()).verify(NAME, keys["a"].pkey)


@pytest.mark.parametrize("names", ["[127.0.0.11]:2222", "x,[127.0.0.11]:2222",
                                   "[127.0.0.*]:2222", "[127.0.0.1?]:2222",
                                   "[127.0.0.*]:2222,![127.0.0.12]:2222"])
def test_host_patterns_match_like_openssh(names: str, tmp_path: Path,
                                          keys: dict[str, Key]) -> None:
    known(tmp_path, keys["a"].line(names)).verify(NAME, keys["a"].pkey)


@pytest.mark.parametrize("names", ["127.0.0.11", "[127.0.0.11]:22", "[127.0.0.*]:2222,!" + NAME,
                                   "[127.0.0.1]:2222"])
def test_non_matching_patterns_leave_the_host_unknown(names: str, tmp_path: Path,
                                                      keys: dict[str, Key]) -> None:
    with pytest.raises(HostKeyError, match="is not known"):
        known(tmp_path, keys["a"].line(names)).verify(NAME, keys["a"].pkey)


def test_hashed_entries_match(tmp_path: Path, keys: dict[str, Key]) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(keys["a"].line())
    subprocess.run(["ssh-keygen", "-H", "-f", str(path)], check=True, capture_output=True)
    assert path.read_text().startswith("|1|")
    KnownHosts(path, accept_new=False).verify(NAME, keys["a"].pkey)
    with pytest.raises(HostKeyError, match="has changed"):
        KnownHosts(path, accept_new=True).verify(NAME, keys["b"].pkey)


def test_unknown_host_is_refused_without_accept_new(tmp_path: Path,
                                                    keys: dict[str, Key]) -> None:
    hosts = known(tmp_path, None)
    with pytest.raises(HostKeyError) as err:
        hosts.verify(NAME, keys["a"].pkey)
    assert str(err.value) == (
        f"host key for {NAME} is not known (not in {hosts.path}); verify it and add it, "
        f"or run with --accept-new-host-keys (the server presented ssh-ed25519 "
        f"{keys['a'].fingerprint})")
    assert not hosts.path.exists()


def test_accept_new_appends_and_creates_private_files(tmp_path: Path,
                                                      keys: dict[str, Key]) -> None:
    path = tmp_path / "ssh" / "known_hosts"
    hosts = KnownHosts(path, accept_new=True)
    hosts.verify(NAME, keys["a"].pkey)
    hosts.verify(NAME, keys["a"].pkey)  # now known: no second line
    assert path.read_text() == keys["a"].line()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    KnownHosts(path, accept_new=False).verify(NAME, keys["a"].pkey)


def test_accept_new_keeps_existing_lines_and_adds_a_missing_newline(
        tmp_path: Path, keys: dict[str, Key]) -> None:
    hosts = known(tmp_path, "# comment\n" + keys["b"].line("other").rstrip("\n"),
                  accept_new=True)
    hosts.verify(NAME, keys["a"].pkey)
    assert hosts.path.read_text() == ("# comment\n" + keys["b"].line("other")
                                      + keys["a"].line())


@pytest.mark.parametrize("accept_new", [False, True])
def test_a_changed_key_is_refused_always(accept_new: bool, tmp_path: Path,
                                         keys: dict[str, Key]) -> None:
    hosts = known(tmp_path, keys["a"].line(), accept_new=accept_new)
    with pytest.raises(HostKeyError) as err:
        hosts.verify(NAME, keys["b"].pkey)
    message = str(err.value)
    assert message.startswith(f"host key for {NAME} has changed: {hosts.path} lists "
                              f"ssh-ed25519 {keys['a'].fingerprint} but the server presented "
                              f"ssh-ed25519 {keys['b'].fingerprint}; possible "
                              f"man-in-the-middle attack.")
    assert f"ssh-keygen -R '{NAME}' -f {hosts.path}" in message
    assert hosts.path.read_text() == keys["a"].line()


def test_a_key_of_another_type_than_the_listed_ones_counts_as_changed(
        tmp_path: Path, keys: dict[str, Key]) -> None:
    hosts = known(tmp_path, keys["rsa"].line(), accept_new=True)
    with pytest.raises(HostKeyError, match="has changed"):
        hosts.verify(NAME, keys["a"].pkey)


def test_a_revoked_key_is_refused_even_when_listed(tmp_path: Path,
                                                   keys: dict[str, Key]) -> None:
    hosts = known(tmp_path, keys["a"].line() + "@revoked " + keys["a"].line("*"),
                  accept_new=True)
    with pytest.raises(HostKeyError, match=r"\(ssh-ed25519 .*\) is marked @revoked"):
        hosts.verify(NAME, keys["a"].pkey)


def test_cert_authority_lines_are_ignored(tmp_path: Path, keys: dict[str, Key]) -> None:
    hosts = known(tmp_path, "@cert-authority " + keys["a"].line("*"))
    assert hosts.known_keys(NAME) == []


def test_unknown_key_types_are_skipped_and_bad_lines_reported(tmp_path: Path,
                                                              keys: dict[str, Key]) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(f"{NAME} ssh-future-type AAAAB3NzaC1yc2E=\n" + keys["a"].line())
    assert len(read_known_hosts(path)) == 1
    path.write_text(keys["a"].line() + "\n" + "onlyonefield\n")
    with pytest.raises(HostKeyError, match=f"^{path}:3: invalid known_hosts line"):
        read_known_hosts(path)
    path.write_text(f"{NAME} ssh-ed25519 not!base64\n")
    with pytest.raises(HostKeyError, match=f"^{path}:1: invalid ssh-ed25519 key data"):
        read_known_hosts(path)


def test_preferred_key_types_put_listed_types_first(tmp_path: Path,
                                                    keys: dict[str, Key]) -> None:
    hosts = known(tmp_path, keys["rsa"].line() + keys["a"].line())
    assert hosts.preferred_key_types(NAME) == ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa",
                                               "ssh-ed25519"]
    assert hosts.preferred_key_types("elsewhere") == []


def test_concurrent_appends_lose_no_line(tmp_path: Path, keys: dict[str, Key]) -> None:
    path = tmp_path / "known_hosts"
    checkers = [KnownHosts(path, accept_new=True) for _ in range(12)]  # all read it empty
    names = [f"[10.0.0.{i}]:22{i:02d}" for i in range(12)]
    threads = [threading.Thread(target=c.verify, args=(n, keys["a"].pkey))
               for c, n in zip(checkers, names, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(path.read_text().splitlines(keepends=True)) == sorted(
        keys["a"].line(n) for n in names)


def test_a_key_recorded_meanwhile_by_another_run_is_rechecked(
        tmp_path: Path, keys: dict[str, Key]) -> None:
    first = known(tmp_path, "", accept_new=True)
    same = KnownHosts(first.path, accept_new=True)  # both read the file before any write
    other = KnownHosts(first.path, accept_new=True)
    first.verify(NAME, keys["a"].pkey)
    same.verify(NAME, keys["a"].pkey)  # same key: no duplicate line
    with pytest.raises(HostKeyError, match="has changed"):
        other.verify(NAME, keys["b"].pkey)  # re-read under the lock sees the new line
    assert first.path.read_text() == keys["a"].line()


def test_the_policy_hands_the_key_to_verify(tmp_path: Path, keys: dict[str, Key]) -> None:
    policy = KnownHostsPolicy(known(tmp_path, None))
    with pytest.raises(HostKeyError, match="is not known"):
        policy.missing_host_key(paramiko.SSHClient(), NAME, keys["a"].pkey)


def test_a_fifo_known_hosts_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "known_hosts"
    os.mkfifo(fifo)
    with deadline(), pytest.raises(HostKeyError) as caught:
        KnownHosts(fifo, accept_new=True)
    assert str(caught.value) == f"known_hosts file {fifo} is not a regular file (a FIFO)"


def test_a_device_or_folder_as_known_hosts_is_refused(tmp_path: Path) -> None:
    with deadline(), pytest.raises(HostKeyError, match=r"^known_hosts file /dev/zero is not a "
                                                       r"regular file \(a character device\)$"):
        read_known_hosts(Path("/dev/zero"))
    with pytest.raises(HostKeyError, match=r"is not a regular file \(a folder\)$"):
        read_known_hosts(tmp_path)


def test_a_known_hosts_over_its_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "known_hosts"
    with big.open("wb") as fh:
        fh.truncate(33 * 2**20)
    with pytest.raises(HostKeyError) as caught:
        read_known_hosts(big)
    assert str(caught.value) == (f"known_hosts file {big} is 33 MiB; known_hosts files are "
                                 "limited to 32 MiB")


def test_a_known_hosts_file_is_parsed_once_and_again_after_it_changes(
        tmp_path: Path, keys: dict[str, Key], monkeypatch: pytest.MonkeyPatch) -> None:
    from opsrunner.connection.ssh import hostkeys

    path = tmp_path / "known_hosts"
    parsed: list[Path] = []
    real = hostkeys._parse_known_hosts

    def counting(p: Path) -> list[hostkeys.KnownHostEntry]:
        parsed.append(p)
        return real(p)

    monkeypatch.setattr(hostkeys, "_parse_known_hosts", counting)
    path.write_text(keys["a"].line())
    for _ in range(3):  # just written: parsed every time until it settles
        KnownHosts(path, accept_new=False)
    assert len(parsed) == 3
    monkeypatch.setattr(hostkeys, "_SETTLE", 0.0)  # as if written long ago
    for _ in range(50):  # a run connecting to fifty hosts
        assert KnownHosts(path, accept_new=False).known_keys(NAME) == [keys["a"].pkey]
    assert len(parsed) == 4
    path.write_text(keys["rsa"].line())  # a changed key is seen at once
    with pytest.raises(HostKeyError, match="has changed"):
        KnownHosts(path, accept_new=False).verify(NAME, keys["a"].pkey)
    assert len(parsed) == 5
