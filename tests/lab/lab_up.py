"""A whole lab of a test module's own, on its own addresses, taken down and checked by pid;
and what tests of such a lab share: its engine API through the real ovirtsdk4, waiting, whether
a host's sshd answers, a folder's whole state."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ovirtsdk4 as sdk

from opsrunner_lab import manager
from opsrunner_lab.engine_api.server import admin_password_file
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.processes import pid_alive
from opsrunner_lab.sshd import SshdHost


@contextmanager
def running_lab(address_prefix: str, kvm_hosts: int = 2, *,
                guests: Sequence[str] | None = None,
                before_up: Callable[[LabLayout], None] | None = None) -> Iterator[LabLayout]:
    """``manager.up`` in a fresh folder (``before_up`` may write settings into it first);
    on exit ``down --purge`` and no process may survive."""
    root = Path(tempfile.mkdtemp(prefix="opsrunner-testlab-"))
    root.chmod(0o711)  # PostgreSQL runs as postgres and must reach its data folder
    layout = LabLayout(root / "lab", kvm_hosts, address_prefix, *([guests] if guests else []))
    try:
        if before_up is not None:
            before_up(layout)
        layout = manager.up(layout.root, kvm_hosts=kvm_hosts, address_prefix=address_prefix,
                            guests=guests)
        yield layout
    finally:
        pids = [row.pid for row in manager.status(layout.root) if row.pid]
        manager.down(layout.root, purge=True)
        shutil.rmtree(root, ignore_errors=True)
        survivors = [pid for pid in pids if pid_alive(pid)]
        assert not survivors, f"lab processes survived lab down: {survivors}"


@contextmanager
def engine_system(layout: LabLayout) -> Iterator[Any]:
    """The lab engine's system service (admin@internal, the lab CA), logged out afterwards."""
    connection = sdk.Connection(url=f"https://{layout.engine_address}/ovirt-engine/api",
                                username="admin@internal",
                                password=admin_password_file(layout).read_text().strip(),
                                ca_file=str(layout.root / "pki" / "ca.pem"))
    try:
        yield connection.system_service()
    finally:
        connection.close()


def eventually(check: Callable[[], bool], seconds: float = 15.0) -> bool:
    """Whether ``check`` becomes true within ``seconds`` (polled every 0.1 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def answers(layout: LabLayout, name: str) -> bool:
    """Whether host ``name``'s sshd answers."""
    host = layout.host(name)
    return SshdHost(layout.host_dir(name), "sshd", host.address, host.port).answers()
