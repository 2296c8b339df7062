"""A resolved inventory host: connection fields plus its merged variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Host:
    """One target, after inheritance (host -> groups in order, with parents -> defaults).

    ``data`` holds the merged free variables (``data:`` blocks of defaults, groups and the
    host, the host winning). Secret values in it (and ``password``/``sudo_password``) were
    read from environment variables or files; the inventory lists them in its secret set.
    """

    name: str
    hostname: str
    port: int = 22
    username: str | None = None
    ssh_key: str | None = None
    password: str | None = None
    sudo: bool = False
    sudo_password: str | None = None
    connection: str = "ssh"
    known_hosts: str | None = None
    ssh_server_alive_interval: float = 15.0
    ssh_server_alive_count_max: int = 3
    groups: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def sysroot(self) -> str:
        """The folder every absolute path of a plugin lives under (``/`` on a real host)."""
        return str(self.data.get("sysroot") or "/")

    def template_view(self) -> dict[str, Any]:
        """What Jinja2 sees as ``host``: name, hostname, groups, port, and the vars."""
        return {"name": self.name, "hostname": self.hostname, "groups": list(self.groups),
                "port": self.port, "username": self.username, "vars": dict(self.data)}
