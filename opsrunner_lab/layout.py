"""Where everything of a lab lives, and the addresses and ports its servers use.

One folder holds a whole lab: ``state.json``, the client key and known_hosts, the
inventory, and per host its sshd state, its ``bin/`` (lab tools first on PATH) and its
``sysroot/`` (the file tree of its role). Servers listen on their host's own loopback
address, so the engine's services keep their real port numbers.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ENGINE = "engine"
GUEST = "ol8-vm1"
SSH_PORT = 2222
ADDRESS_PREFIX = "127.0.80."
LAB_DIR_ENV = "OPSRUNNER_LAB_DIR"
GUEST_NAME = re.compile(r"ol(6|7|8|9)-[a-z0-9]+(-[a-z0-9]+)*")

# The engine host's service ports (as on a real engine; own loopback address, no clash).
ENGINE_PORTS = {
    "https": 443,
    "http": 80,
    "postgresql": 5432,
    "ovirt-engine": 8702,  # the API simulator behind Apache (the real engine's AJP/HTTP side)
    "ovirt-imageio": 54323,
    "ovirt-imageio-control": 54324,
    "ovirt-websocket-proxy": 6100,
    "ovirt-provider-ovn": 35357,
    "grafana-server": 3000,
}
# The lab's imageio control ports (see LabLayout.imageio_control_port): prefixes 127.0.80.-
# 127.0.255. map to 24324-24499, below the kernel's default ephemeral range.
IMAGEIO_CONTROL_BASE = 24324


@dataclass(frozen=True)
class LabHost:
    """One lab host: ``role`` is engine, kvm or guest."""

    name: str
    role: str
    address: str
    port: int = SSH_PORT


def default_lab_dir() -> Path:
    """``$OPSRUNNER_LAB_DIR``, else ``/var/lib/opsrunner/lab``.

    Not under the home folder: PostgreSQL runs as user postgres and must be able to walk
    down to its data folder (root's home is mode 0700).
    """
    env = os.environ.get(LAB_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path("/var/lib/opsrunner/lab")


def check_guests(names: Sequence[str]) -> list[str]:
    """``names`` as a list of guest names; ValueError says which one is wrong and what is allowed.

    A guest's name announces its Oracle Linux release (``ol6-`` to ``ol9-``, then
    lower-case letters, digits and dashes); names are unique, and there are 1 to 100 of them.
    """
    guests = list(names)
    if not 1 <= len(guests) <= 100:
        raise ValueError(f"a lab has 1 to 100 guests, not {len(guests)}")
    for name in guests:
        if not GUEST_NAME.fullmatch(name):
            raise ValueError(f"guest name {name!r} is not allowed: it starts with ol6-, ol7-, "
                             f"ol8- or ol9- (its Oracle Linux release), then lower-case letters, "
                             f"digits and dashes, e.g. ol7-vm1")
    duplicates = sorted({name for name in guests if guests.count(name) > 1})
    if duplicates:
        raise ValueError(f"guest names must be unique; repeated: {', '.join(duplicates)}")
    return guests


class LabLayout:
    """Paths and hosts of the lab in ``root`` (with ``kvm_hosts`` KVM hosts and ``guests``).

    ``address_prefix`` (``127.0.80.`` by default) places the hosts: engine ``.2``, kvmN
    ``.10+N``, the guests ``.101``, ``.102``, ... in order; a second lab (the test suite's) uses
    another prefix. ``guests`` (default ``["ol8-vm1"]``) is checked by :func:`check_guests`.
    """

    def __init__(self, root: Path, kvm_hosts: int = 2, address_prefix: str = ADDRESS_PREFIX,
                 guests: Sequence[str] = (GUEST,)) -> None:
        self.root = root.resolve()
        self.kvm_hosts = kvm_hosts
        self.address_prefix = address_prefix
        self.guests = check_guests(guests)

    @classmethod
    def load(cls, root: Path) -> LabLayout:
        """The layout recorded in ``root/state.json`` (defaults when there is none)."""
        layout = cls(root)
        try:
            state = json.loads(layout.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return layout
        return cls(root, int(state.get("kvm_hosts", 2)),
                   str(state.get("address_prefix", ADDRESS_PREFIX)),
                   [str(name) for name in state.get("guests", [GUEST])])

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({"kvm_hosts": self.kvm_hosts,
                                               "address_prefix": self.address_prefix,
                                               "guests": self.guests}) + "\n")

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def client_key(self) -> Path:
        return self.root / "keys" / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"

    @property
    def secrets(self) -> Path:
        """Secret files the inventory points at (mode 0600)."""
        return self.root / "secrets"

    @property
    def data(self) -> Path:
        """Service data that is not part of a host's file tree (e.g. the API simulator state)."""
        return self.root / "data"

    def host_dir(self, name: str) -> Path:
        return self.root / "hosts" / name

    def sysroot(self, name: str) -> Path:
        return self.host_dir(name) / "sysroot"

    def bin_dir(self, name: str) -> Path:
        return self.host_dir(name) / "bin"

    def run_dir(self, name: str) -> Path:
        """Pid files and unit state of the host's services."""
        return self.host_dir(name) / "run"

    def log_dir(self, name: str) -> Path:
        return self.host_dir(name) / "log"

    def hosts(self) -> list[LabHost]:
        """engine, kvm1..kvmN, then the guests, with their addresses."""
        prefix = self.address_prefix
        hosts = [LabHost(ENGINE, "engine", prefix + "2")]
        hosts += [LabHost(f"kvm{i}", "kvm", prefix + str(10 + i))
                  for i in range(1, self.kvm_hosts + 1)]
        hosts += [LabHost(name, "guest", prefix + str(101 + i))
                  for i, name in enumerate(self.guests)]
        return hosts

    def host(self, name: str) -> LabHost:
        for host in self.hosts():
            if host.name == name:
                return host
        raise KeyError(name)

    @property
    def engine_address(self) -> str:
        return self.host(ENGINE).address

    @property
    def imageio_control_port(self) -> int:
        """imageio's control port: on 127.0.0.1 (its only address), one per lab prefix.

        Not the engine's 54324: every loopback client socket takes an ephemeral port on
        127.0.0.1 (Linux: 32768-60999), and a listener cannot bind a port that a client's
        connection, even one in TIME_WAIT for 60 s, still holds there (``SO_REUSEADDR`` does
        not help). The lab's control ports sit below that range, from ``IMAGEIO_CONTROL_BASE``.
        """
        offset = int(self.address_prefix.rstrip(".").split(".")[-1]) - 80
        return IMAGEIO_CONTROL_BASE + offset
