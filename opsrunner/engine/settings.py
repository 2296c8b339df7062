"""Where and how to reach the engine API, read from inventory variables.

Variables (usually on the engine host, the password as a secret reference)::

    engine_url: https://engine.example.com/ovirt-engine/api
    engine_user: admin@internal
    engine_password: {secret_file: /etc/opsrunner/engine-password}
    engine_ca_file: /etc/opsrunner/engine-ca.pem   # the engine's CA (pki-resource)
    engine_insecure: false                         # true: no TLS verification (warned)

A task on a host without ``engine_url`` (e.g. a KVM host) uses the inventory host named by its
``engine_host`` variable, else the one inventory host that defines ``engine_url``.

``-e engine_*`` extra vars win over those of whichever host the settings come from (e.g.
``-e engine_ca_file=/path/new-ca.pem`` reaches the engine session of a guest's task too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsrunner.booleans import parse_bool
from opsrunner.errors import UsageError
from opsrunner.host import Host
from opsrunner.secrets import is_secret_ref

URL_VAR = "engine_url"
HOST_VAR = "engine_host"
PREFIX = "engine_"


@dataclass(frozen=True)
class EngineSettings:
    """One engine login; ``source`` names the inventory host the values came from."""

    url: str
    user: str
    password: str = field(repr=False)
    ca_file: str | None = None
    insecure: bool = False
    source: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What a run shares one connection by."""
        return (self.url, self.user)


def settings_from_vars(data: Mapping[str, Any], source: str) -> EngineSettings:
    """Validate the ``engine_*`` variables of ``data`` (of host ``source``).

    :raises UsageError: a variable is missing or has a wrong value (never quoting the password).
    """
    where = f"host {source!r}"
    url = _text(data, URL_VAR, where)
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"{where}: {URL_VAR} must be an https:// URL such as "
                         f"https://engine.example.com/ovirt-engine/api, got {url!r}")
    user = _text(data, "engine_user", where)
    password = data.get("engine_password")
    if is_secret_ref(password):
        raise UsageError(f"{where}: engine_password is a secret reference that was not read "
                         "(give it in the inventory, where secrets are resolved)")
    if not isinstance(password, str) or not password:
        raise UsageError(f"{where}: engine_password is not set; give it as a secret, "
                         "e.g. engine_password: {secret_file: /path/to/password}")
    insecure = _flag(data.get("engine_insecure", False), where)
    ca_file = data.get("engine_ca_file")
    if ca_file is None or ca_file == "":
        if not insecure and url.startswith("https://"):
            raise UsageError(f"{where}: engine_ca_file is not set; give the engine's CA "
                             "certificate (https://ENGINE/ovirt-engine/services/pki-resource"
                             "?resource=ca-certificate&format=X509-PEM-CA)")
        ca_file = None
    elif not isinstance(ca_file, str) or not Path(ca_file).expanduser().is_file():
        raise UsageError(f"{where}: engine_ca_file {ca_file!r} is not a readable file")
    else:
        ca_file = str(Path(ca_file).expanduser())
    return EngineSettings(url.rstrip("/"), user, password, ca_file, insecure, source)


def engine_extra_vars(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``engine_*`` items of a run's ``-e`` extra vars (``engine_host`` excluded: it
    chooses the engine, through the task's vars)."""
    return {name: value for name, value in (extra or {}).items()
            if name.startswith(PREFIX) and name != HOST_VAR}


def settings_for(host: Host, vars: Mapping[str, Any], inventory: Mapping[str, Host],
                 extra: Mapping[str, Any] | None = None) -> EngineSettings:
    """The engine settings a task on ``host`` uses (see the module docstring).

    :param extra: the run's ``-e`` extra vars; their ``engine_*`` items override the chosen
        host's, whichever host that is.
    """
    overrides = engine_extra_vars(extra)
    if URL_VAR in vars or URL_VAR in overrides:
        return settings_from_vars({**vars, **overrides}, host.name)
    named = vars.get(HOST_VAR)
    if named:
        if named not in inventory:
            raise UsageError(f"host {host.name!r}: {HOST_VAR} {named!r} is not an inventory "
                             f"host (hosts: {', '.join(inventory)})")
        return settings_from_vars({**inventory[str(named)].data, **overrides}, str(named))
    engines = [h for h in inventory.values() if URL_VAR in h.data]
    if len(engines) == 1:
        return settings_from_vars({**engines[0].data, **overrides}, engines[0].name)
    if not engines:
        raise UsageError(f"host {host.name!r}: no engine API settings: no inventory host "
                         f"defines {URL_VAR} (with engine_user, engine_password and "
                         "engine_ca_file)")
    raise UsageError(f"host {host.name!r}: several inventory hosts define {URL_VAR} "
                     f"({', '.join(h.name for h in engines)}); set {HOST_VAR} to the one "
                     "to use")


def _text(data: Mapping[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: {name} is not set (a non-empty string)")
    return value.strip()


def _flag(value: Any, where: str) -> bool:
    flag = parse_bool(value)
    if flag is None:
        raise UsageError(f"{where}: engine_insecure must be true or false, got {value!r}")
    return flag
