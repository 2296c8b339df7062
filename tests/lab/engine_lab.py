"""A lab engine host for the engine-backup/cleanup/setup tests: its sysroot, every engine
service started (PostgreSQL provisioned and seeded), and the engine tools installed.

It runs on its own loopback addresses (never the lab's 127.0.80.x) and no sshd: the tools
are run by their paths, as over SSH. Everything started is stopped afterwards, checked by
pid (services the tools started too: they share the lab's pid files).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pg_lab import psql_tcp, require_postgres

from opsrunner_lab.engine_db import DWH_DB, ENGINE_DB, DbConf, read_db_conf
from opsrunner_lab.engine_tools import install_engine_tools
from opsrunner_lab.imageio import install_imageio
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.ovn_provider import install_ovn_provider
from opsrunner_lab.postgres import install_db_tools, provision
from opsrunner_lab.processes import child_pids, pid_alive
from opsrunner_lab.sysroot import build_sysroots
from opsrunner_lab.systemctl import Systemctl
from opsrunner_lab.units import host_units
from opsrunner_lab.websocket_proxy import install_websocket_proxy


@dataclass
class EngineLab:
    """The host; ``engine`` and ``dwh`` are the connections of its conf files as set up (kept
    when engine-cleanup removes the files: the passwords never change)."""

    layout: LabLayout
    engine: DbConf
    dwh: DbConf

    @property
    def sysroot(self) -> Path:
        return self.layout.sysroot(ENGINE)

    @property
    def bin(self) -> Path:
        return self.layout.bin_dir(ENGINE)

    def run(self, tool: str, *args: str, cwd: str = "/") -> subprocess.CompletedProcess[str]:
        """Run an engine tool by its path with a clean environment (stdin not a terminal)."""
        return subprocess.run([str(self.bin / tool), *args], capture_output=True, text=True,
                              check=False, cwd=cwd, stdin=subprocess.DEVNULL,
                              env={"PATH": f"{self.bin}:/usr/bin:/bin"})

    def query(self, sql: str, dwh: bool = False) -> str:
        done = psql_tcp(self.dwh if dwh else self.engine, sql)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def active(self) -> dict[str, bool]:
        return {name: unit.is_active() for name, unit in host_units(self.layout, ENGINE).items()}

    def systemctl(self) -> Systemctl:
        return Systemctl(self.layout, ENGINE)



@contextmanager
def running_engine_lab(prefix: str) -> Iterator[EngineLab]:
    """The engine host of a lab on ``prefix`` with every service up; all stopped after."""
    require_postgres()
    base = Path(tempfile.mkdtemp(prefix="opsrunner-engine-tools-"))
    base.chmod(0o711)  # PostgreSQL runs as postgres and must reach its data folder
    layout = LabLayout(base / "lab", kvm_hosts=1, address_prefix=prefix)
    layout.save()
    seen: set[int] = set()
    try:
        build_sysroots(layout)
        install_db_tools(layout)
        install_imageio(layout)
        install_websocket_proxy(layout)
        install_ovn_provider(layout)
        install_engine_tools(layout)
        for unit in host_units(layout, ENGINE).values():
            unit.start()
        provision(layout)
        sysroot = layout.sysroot(ENGINE)
        yield EngineLab(layout, read_db_conf(sysroot, ENGINE_DB), read_db_conf(sysroot, DWH_DB))
    finally:
        seen.update(_service_pids(layout))
        for unit in reversed(list(host_units(layout, ENGINE).values())):
            unit.stop()
        shutil.rmtree(base, ignore_errors=True)
        survivors = [pid for pid in seen if pid_alive(pid)]
        assert not survivors, f"engine services survived stop(): {survivors}"


def _service_pids(layout: LabLayout) -> list[int]:
    found = []
    for unit in host_units(layout, ENGINE).values():
        pid = unit.daemon.pid()
        if pid is not None:
            found += [pid, *child_pids(pid)]
    return found
