"""A whole lab of a test module's own, on its own addresses, taken down and checked by pid."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opsrunner.lab import manager
from opsrunner.lab.layout import LabLayout
from opsrunner.lab.processes import pid_alive


@contextmanager
def running_lab(address_prefix: str, kvm_hosts: int = 2) -> Iterator[LabLayout]:
    """``manager.up`` in a fresh folder; on exit ``down --purge`` and no process may survive."""
    root = Path(tempfile.mkdtemp(prefix="opsrunner-testlab-"))
    root.chmod(0o711)  # PostgreSQL runs as postgres and must reach its data folder
    layout = manager.up(root / "lab", kvm_hosts=kvm_hosts, address_prefix=address_prefix)
    try:
        yield layout
    finally:
        pids = [row.pid for row in manager.status(layout.root) if row.pid]
        manager.down(layout.root, purge=True)
        shutil.rmtree(root, ignore_errors=True)
        survivors = [pid for pid in pids if pid_alive(pid)]
        assert not survivors, f"lab processes survived lab down: {survivors}"
