"""A template's cloud-init initial-run settings (the "Initial Run" tab ("初期実行") of the OLVM
Administration Guide, "Administration Tasks", section "Creating a Cloud-Init Enabled Template"
("Cloud-Init対応テンプレートの作成")), validated.

Workflow form (every key optional)::

    cloud_init:
      authorized_ssh_keys: ["ssh-ed25519 AAAA... admin@example.com"]
      regenerate_ssh_keys: true
      dns_servers: [192.0.2.53, 192.0.2.54]
      dns_search: [example.com]
      nics: [{name: eth0, boot_protocol: dhcp}]      # or static with address/netmask/gateway
      custom_script: "runcmd:\\n - ..."
      user_name: root
      timezone: Europe/Berlin
      root_password: {secret_env: TEMPLATE_ROOT_PASSWORD}   # or {secret_file: PATH}; never literal

The engine never returns the root password, so it cannot be compared: it is sent whenever the
other settings are, i.e. when they differ from the template's or cloud-init is not enabled yet.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsrunner import UsageError, is_secret_ref, read_secret

_KEYS = ("authorized_ssh_keys", "regenerate_ssh_keys", "dns_servers", "dns_search", "nics",
         "custom_script", "user_name", "timezone", "root_password")
_NIC_KEYS = ("name", "boot_protocol", "address", "netmask", "gateway", "on_boot")
_BOOT_PROTOCOLS = ("dhcp", "static", "none")
_SSH_KEY = re.compile(r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|"
                      r"sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+[A-Za-z0-9+/]+=*"
                      r"(\s+\S.*)?$")
_NIC_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                     r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class NicSetting:
    """One in-guest network interface of the initial run."""

    name: str
    boot_protocol: str = "dhcp"
    address: str = ""
    netmask: str = ""
    gateway: str = ""
    on_boot: bool = True


@dataclass(frozen=True)
class CloudInitSettings:
    """The settings, normalized the way the engine stores them (keys one per line, DNS servers
    and search domains space-separated)."""

    authorized_ssh_keys: str = ""
    regenerate_ssh_keys: bool = False
    dns_servers: str = ""
    dns_search: str = ""
    nics: tuple[NicSetting, ...] = ()
    custom_script: str = ""
    user_name: str = ""
    timezone: str = ""
    root_password: str | None = field(default=None, repr=False)


def _words(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [w for v in value for w in v.split()]
    raise ValueError(f"cloud_init.{key} must be a string or a list of strings")


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"cloud_init.{key} must be a string")
    return value


def _ssh_keys(value: Any) -> str:
    lines = value.splitlines() if isinstance(value, str) else value
    if not isinstance(lines, list) or not all(isinstance(k, str) for k in lines):
        raise ValueError("cloud_init.authorized_ssh_keys must be a string or a list of strings")
    keys = [k.strip() for k in lines if k.strip()]
    for number, key in enumerate(keys, start=1):
        if "PRIVATE KEY" in key:
            raise ValueError(f"cloud_init.authorized_ssh_keys entry {number} is a private key; "
                             "give public keys (the .pub file's line)")
        if not _SSH_KEY.match(key):
            raise ValueError(f"cloud_init.authorized_ssh_keys entry {number} is not an OpenSSH "
                             f"public key line (type base64 [comment]): {key[:30]!r}")
    return "\n".join(keys)


def _address(value: Any, what: str) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise ValueError(f"{what} must be an IP address, got {value!r}") from None


def _nic(raw: Any, number: int) -> NicSetting:
    where = f"cloud_init.nics entry {number}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a mapping with name, boot_protocol, ...")
    unknown = sorted(set(raw) - set(_NIC_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: "
                         f"{', '.join(_NIC_KEYS)}")
    name = str(raw.get("name", ""))
    if not _NIC_NAME.match(name):
        raise ValueError(f"{where}: name must be the interface's name in the guest (eth0, "
                         f"enp1s0, ...), got {name!r}")
    protocol = str(raw.get("boot_protocol", "dhcp"))
    if protocol not in _BOOT_PROTOCOLS:
        raise ValueError(f"{where}: boot_protocol must be one of {', '.join(_BOOT_PROTOCOLS)}, "
                         f"got {protocol!r}")
    on_boot = raw.get("on_boot", True)
    if not isinstance(on_boot, bool):
        raise ValueError(f"{where}: on_boot must be true or false")
    if protocol != "static":
        given = [k for k in ("address", "netmask", "gateway") if raw.get(k)]
        if given:
            raise ValueError(f"{where}: {', '.join(given)} only go with boot_protocol static")
        return NicSetting(name, protocol, on_boot=on_boot)
    if not raw.get("address") or not raw.get("netmask"):
        raise ValueError(f"{where}: boot_protocol static needs address and netmask")
    address = _address(raw["address"], f"{where}: address")
    try:
        ipaddress.ip_network(f"0.0.0.0/{raw['netmask']}")
    except ValueError:
        raise ValueError(f"{where}: netmask must be dotted, e.g. 255.255.255.0, got "
                         f"{raw['netmask']!r}") from None
    gateway = _address(raw["gateway"], f"{where}: gateway") if raw.get("gateway") else ""
    return NicSetting(name, protocol, address, str(raw["netmask"]), gateway, on_boot)


def parse_settings(raw: Mapping[str, Any], base_dir: Path) -> CloudInitSettings:
    """Validate the workflow's ``cloud_init`` mapping; the root password is read from its
    secret here (relative ``secret_file`` paths are relative to ``base_dir``).

    :raises ValueError: what is wrong, naming the key; never quoting a password.
    """
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise ValueError(f"cloud_init: unknown key(s) {', '.join(unknown)}; allowed: "
                         f"{', '.join(_KEYS)}")
    regenerate = raw.get("regenerate_ssh_keys", False)
    if not isinstance(regenerate, bool):
        raise ValueError("cloud_init.regenerate_ssh_keys must be true or false")
    nics = raw.get("nics", [])
    if not isinstance(nics, list):
        raise ValueError("cloud_init.nics must be a list of mappings")
    servers = [_address(s, "cloud_init.dns_servers entry")
               for s in _words(raw.get("dns_servers", []), "dns_servers")]
    domains = _words(raw.get("dns_search", []), "dns_search")
    for domain in domains:
        if not _DOMAIN.match(domain):
            raise ValueError(f"cloud_init.dns_search: {domain!r} is not a domain name")
    built = [_nic(nic, n) for n, nic in enumerate(nics, start=1)]
    if len({nic.name for nic in built}) != len(built):
        raise ValueError("cloud_init.nics: each interface name may appear once")
    return CloudInitSettings(
        authorized_ssh_keys=_ssh_keys(raw.get("authorized_ssh_keys", "")),
        regenerate_ssh_keys=regenerate, dns_servers=" ".join(servers),
        dns_search=" ".join(domains), nics=tuple(built),
        custom_script=_text(raw, "custom_script"), user_name=_text(raw, "user_name"),
        timezone=_text(raw, "timezone"), root_password=_root_password(raw, base_dir))


def _root_password(raw: Mapping[str, Any], base_dir: Path) -> str | None:
    spec = raw.get("root_password")
    if spec is None:
        return None
    if not is_secret_ref(spec):
        raise ValueError("cloud_init.root_password must come from a secret: {secret_env: NAME} "
                         "or {secret_file: PATH} (a literal password is refused)")
    try:
        return read_secret(spec, base_dir, "cloud_init.root_password")
    except UsageError as exc:
        raise ValueError(str(exc)) from None


def _current_nics(initialization: Any) -> tuple[NicSetting, ...]:
    found = []
    for nic in initialization.nic_configurations or []:
        ip = nic.ip
        protocol = nic.boot_protocol.value if nic.boot_protocol is not None else "dhcp"
        found.append(NicSetting(str(nic.name or ""), str(protocol),
                                str(ip.address or "") if ip is not None else "",
                                str(ip.netmask or "") if ip is not None else "",
                                str(ip.gateway or "") if ip is not None else "",
                                bool(nic.on_boot) if nic.on_boot is not None else True))
    return tuple(found)


def differences(settings: CloudInitSettings, initialization: Any) -> list[str]:
    """Names of the settings the template's ``initialization`` (SDK object or None) lacks."""
    if initialization is None:
        return ["cloud-init (not enabled)"]
    current = {
        "authorized_ssh_keys": "\n".join(
            k.strip() for k in (initialization.authorized_ssh_keys or "").splitlines()
            if k.strip()),
        "regenerate_ssh_keys": bool(initialization.regenerate_ssh_keys),
        "dns_servers": " ".join((initialization.dns_servers or "").split()),
        "dns_search": " ".join((initialization.dns_search or "").split()),
        "nics": _current_nics(initialization),
        "custom_script": initialization.custom_script or "",
        "user_name": initialization.user_name or "",
        "timezone": initialization.timezone or "",
    }
    return [key for key, value in current.items() if getattr(settings, key) != value]


def to_initialization(settings: CloudInitSettings) -> Any:
    """The SDK's ``types.Initialization`` for ``settings`` (ovirtsdk4 imported here)."""
    import ovirtsdk4.types as types

    nics = [types.NicConfiguration(
        name=nic.name, on_boot=nic.on_boot, boot_protocol=types.BootProtocol(nic.boot_protocol),
        ip=types.Ip(address=nic.address, netmask=nic.netmask, gateway=nic.gateway or None)
        if nic.boot_protocol == "static" else None) for nic in settings.nics]
    return types.Initialization(
        authorized_ssh_keys=settings.authorized_ssh_keys or None,
        regenerate_ssh_keys=settings.regenerate_ssh_keys,
        dns_servers=settings.dns_servers or None, dns_search=settings.dns_search or None,
        nic_configurations=nics, custom_script=settings.custom_script or None,
        user_name=settings.user_name or None, timezone=settings.timezone or None,
        root_password=settings.root_password)
