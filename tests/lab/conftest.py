"""Real OpenSSH servers on loopback addresses for the lab tests.

``sshd_hosts`` (session): three sshd on 127.0.0.11-13, one client key, one known_hosts file.
``throwaway_sshd`` (function): a private sshd the test may disturb (rotate its keys, stop it).
``lab_user`` (function): a private sshd plus a throwaway non-root user with a sudo password.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_api_lab import ApiLab, running_api
from lab_up import running_lab
from sshd_lab import LabUser, SshdLab

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.processes import pid_alive
from opsrunner_lab.sshd import SshdHost, client_key, free_port

ADDRESSES = ("127.0.0.11", "127.0.0.12", "127.0.0.13")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/lab needs the lab servers: mark it ``lab``."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.lab)


def _pub(key: Path) -> str:
    return key.with_name(key.name + ".pub").read_text()


def _start(folder: Path, name: str, address: str, key: Path, *, own_home: bool = True) -> SshdHost:
    """An sshd whose sessions have their own (empty) HOME unless ``own_home`` is False, so
    bash does not run this machine's /root/.bashrc for every command."""
    home = str(folder / name / "home") if own_home else None
    server = SshdHost(folder, name, address, free_port(address), home=home,
                      die_with_parent=True)
    server.authorize(_pub(key))
    server.start()
    return server


def _stop_all(servers: list[SshdHost]) -> None:
    pids = [s.pid for s in servers if s.pid is not None]
    sessions = [pid for s in servers for pid in s.session_pids()]
    for server in servers:
        server.stop()
    survivors = [pid for pid in pids + sessions if pid_alive(pid)]
    assert not survivors, f"sshd processes survived stop(): {survivors}"


@pytest.fixture(scope="session")
def sshd_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdLab]:
    folder = tmp_path_factory.mktemp("sshd")
    key = client_key(folder)
    servers: list[SshdHost] = []
    try:
        for index, address in enumerate(ADDRESSES):
            servers.append(_start(folder, f"node{index + 1}", address, key))
        known_hosts = folder / "known_hosts"
        known_hosts.write_text("".join(s.known_hosts_line() for s in servers))
        known_hosts.chmod(0o600)
        yield SshdLab(servers, key, known_hosts)
    finally:
        _stop_all(servers)


@pytest.fixture
def throwaway_sshd(sshd_hosts: SshdLab, tmp_path: Path) -> Iterator[SshdLab]:
    """A private sshd on 127.0.0.14 (its own known_hosts) that a test may disturb."""
    server = _start(tmp_path, "throwaway", "127.0.0.14", sshd_hosts.key)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(server.known_hosts_line())
    try:
        yield SshdLab([server], sshd_hosts.key, known_hosts)
    finally:
        _stop_all([server])


def _kill_processes_of(user: str) -> None:
    """Kill, by id, what the throwaway user still runs (so that userdel succeeds)."""
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uids = next(line for line in status.read_text().splitlines()
                        if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(uids.split()[1]) == uid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(status.parent.name), signal.SIGKILL)


@pytest.fixture
def lab_user(sshd_hosts: SshdLab) -> Iterator[LabUser]:
    """sshd reads a user's authorized_keys as that user: its state lives in a 0755 folder."""
    if os.geteuid() != 0 or shutil.which("sudo") is None or shutil.which("useradd") is None:
        pytest.skip("needs root, sudo and useradd")
    base = Path(tempfile.mkdtemp(prefix="opsrunner-lab-"))
    base.chmod(0o755)
    name = f"opsr{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    sudoers = Path(f"/etc/sudoers.d/opsrunner-lab-{name}")
    servers: list[SshdHost] = []
    try:
        subprocess.run(["useradd", "--create-home", "--home-dir", str(base / name),
                        "--shell", "/bin/sh", name], check=True, capture_output=True)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True,
                       capture_output=True)
        # the user's sessions keep the home useradd gave it
        servers.append(_start(base, "userhost", "127.0.0.15", sshd_hosts.key, own_home=False))
        known_hosts = base / "known_hosts"
        known_hosts.write_text(servers[0].known_hosts_line())
        user = LabUser(SshdLab(servers, sshd_hosts.key, known_hosts), name, password, sudoers)
        user.allow_sudo(nopasswd=False)
        yield user
    finally:
        _stop_all(servers)
        sudoers.unlink(missing_ok=True)
        _kill_processes_of(name)
        subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def lab() -> Iterator[LabLayout]:
    """The whole lab (every host and service), on its own addresses (127.0.90.x) so it never
    disturbs a lab the user runs. Taken down and purged at the end; no process may survive."""
    with running_lab("127.0.90.", kvm_hosts=2) as layout:
        yield layout


@pytest.fixture
def api(layout: LabLayout) -> Iterator[ApiLab]:
    """The engine API simulator running on the requesting module's ``layout``."""
    with running_api(layout) as lab:
        yield lab


@pytest.fixture
def system(api: ApiLab) -> Iterator[Any]:
    """The real ovirtsdk4's system service, logged in to ``api``."""
    connection = api.connect()
    try:
        yield connection.system_service()
    finally:
        connection.close()
