"""What the lab fixtures hand to tests: running sshd hosts and a throwaway sudo user."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from opsrunner.host import Host
from opsrunner_lab.sshd import SshdHost


@dataclass
class SshdLab:
    """Running lab hosts ``node1..nodeN`` with the client key and known_hosts to reach them."""

    hosts: list[SshdHost]
    key: Path
    known_hosts: Path

    def host(self, index: int = 0, **overrides: Any) -> Host:
        """An opsrunner Host (root, key auth) for ``hosts[index]``."""
        server = self.hosts[index]
        fields: dict[str, Any] = {
            "name": f"node{index + 1}", "hostname": server.address, "port": server.port,
            "username": "root", "ssh_key": str(self.key), "known_hosts": str(self.known_hosts)}
        return Host(**{**fields, **overrides})

    def write_inventory(self, folder: Path, names: list[str] | None = None,
                        **overrides: Any) -> Path:
        """Write a SimpleInventory of ``node1..nodeN`` (or ``names``); ``overrides`` are
        merged into every host entry. Returns ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        hosts = {}
        for index, server in enumerate(self.hosts):
            name = f"node{index + 1}"
            if names is None or name in names:
                hosts[name] = {"hostname": server.address, "port": server.port, **overrides}
        defaults = {"username": "root", "ssh_key": str(self.key),
                    "known_hosts": str(self.known_hosts)}
        (folder / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
        (folder / "defaults.yaml").write_text(yaml.safe_dump(defaults, sort_keys=False))
        return folder


@dataclass
class LabUser:
    """A non-root login (``sudo`` with a password) on a private sshd."""

    lab: SshdLab
    name: str
    password: str = field(repr=False)
    sudoers: Path

    def host(self, **overrides: Any) -> Host:
        return self.lab.host(0, username=self.name, **overrides)

    def allow_sudo(self, *, nopasswd: bool) -> None:
        tag = "NOPASSWD: " if nopasswd else ""
        self.sudoers.write_text(f"{self.name} ALL=(ALL:ALL) {tag}ALL\n")
        self.sudoers.chmod(0o440)
