"""A template's cloud-init settings: validation with clear messages, the root password only
from a secret, comparison with what the engine returns, the SDK object sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ovirtsdk4.types as types
import pytest

from opsrunner_plugins.seal_template.cloud_init import (
    CloudInitSettings,
    NicSetting,
    differences,
    parse_settings,
    to_initialization,
)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsrunnerTestKey0123456789abcdefghijklmn admin@x"
FULL: dict[str, Any] = {
    "authorized_ssh_keys": [KEY], "regenerate_ssh_keys": True,
    "dns_servers": ["192.0.2.53", "192.0.2.54"], "dns_search": "lab.local example.com",
    "nics": [{"name": "eth0", "boot_protocol": "static", "address": "192.0.2.10",
              "netmask": "255.255.255.0", "gateway": "192.0.2.1"},
             {"name": "eth1", "boot_protocol": "dhcp", "on_boot": False}],
    "custom_script": "runcmd:\n - true\n", "user_name": "root", "timezone": "UTC",
}


def test_a_full_mapping_is_normalized(tmp_path: Path) -> None:
    settings = parse_settings(FULL, tmp_path)
    assert settings == CloudInitSettings(
        authorized_ssh_keys=KEY, regenerate_ssh_keys=True, dns_servers="192.0.2.53 192.0.2.54",
        dns_search="lab.local example.com",
        nics=(NicSetting("eth0", "static", "192.0.2.10", "255.255.255.0", "192.0.2.1"),
              NicSetting("eth1", "dhcp", on_boot=False)),
        custom_script="runcmd:\n - true\n", user_name="root", timezone="UTC")


@pytest.mark.parametrize(("raw", "message"), [
    ({"dns_server": ["192.0.2.1"]}, "cloud_init: unknown key(s) dns_server; allowed: "
     "authorized_ssh_keys, regenerate_ssh_keys, dns_servers, dns_search, nics, custom_script, "
     "user_name, timezone, root_password"),
    ({"dns_servers": ["192.0.2.300"]},
     "cloud_init.dns_servers entry must be an IP address, got '192.0.2.300'"),
    ({"dns_search": ["bad_domain!"]}, "cloud_init.dns_search: 'bad_domain!' is not a domain name"),
    ({"regenerate_ssh_keys": "yes"}, "cloud_init.regenerate_ssh_keys must be true or false"),
    ({"authorized_ssh_keys": ["-----BEGIN OPENSSH PRIVATE KEY-----"]},
     "cloud_init.authorized_ssh_keys entry 1 is a private key; give public keys (the .pub "
     "file's line)"),
    ({"authorized_ssh_keys": [KEY, "not a key"]}, "cloud_init.authorized_ssh_keys entry 2 is not "
     "an OpenSSH public key line (type base64 [comment]): 'not a key'"),
    ({"nics": [{"name": "eth0", "boot_protocol": "static", "address": "192.0.2.10"}]},
     "cloud_init.nics entry 1: boot_protocol static needs address and netmask"),
    ({"nics": [{"name": "eth0", "address": "192.0.2.10"}]},
     "cloud_init.nics entry 1: address only go with boot_protocol static"),
    ({"nics": [{"name": "eth0", "boot_protocol": "bootp"}]},
     "cloud_init.nics entry 1: boot_protocol must be one of dhcp, static, none, got 'bootp'"),
    ({"nics": [{"name": "eth0; rm -rf /"}]}, "cloud_init.nics entry 1: name must be the "
     "interface's name in the guest (eth0, enp1s0, ...), got 'eth0; rm -rf /'"),
    ({"nics": [{"name": "eth0"}, {"name": "eth0"}]},
     "cloud_init.nics: each interface name may appear once"),
    ({"nics": [{"name": "eth0", "boot_protocol": "static", "address": "192.0.2.10",
                "netmask": "24x"}]},
     "cloud_init.nics entry 1: netmask must be dotted, e.g. 255.255.255.0, got '24x'"),
    ({"nics": [{"name": "eth0", "mtu": 9000}]}, "cloud_init.nics entry 1: unknown key(s) mtu; "
     "allowed: name, boot_protocol, address, netmask, gateway, on_boot"),
])
def test_bad_settings_say_what_is_wrong(tmp_path: Path, raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_settings(raw, tmp_path)
    assert str(caught.value) == message


def test_the_root_password_comes_only_from_a_secret(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError) as caught:
        parse_settings({"root_password": "hunter2"}, tmp_path)
    assert str(caught.value) == ("cloud_init.root_password must come from a secret: "
                                 "{secret_env: NAME} or {secret_file: PATH} (a literal password "
                                 "is refused)")
    monkeypatch.setenv("TPL_PW", "from-env")
    assert parse_settings({"root_password": {"secret_env": "TPL_PW"}}, tmp_path).root_password \
        == "from-env"
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    secret.chmod(0o600)
    assert parse_settings({"root_password": {"secret_file": "pw"}}, tmp_path).root_password \
        == "from-file"
    secret.chmod(0o644)
    with pytest.raises(ValueError) as caught:
        parse_settings({"root_password": {"secret_file": "pw"}}, tmp_path)
    assert "readable by others" in str(caught.value) and "from-file" not in str(caught.value)
    monkeypatch.delenv("TPL_PW")
    with pytest.raises(ValueError, match="environment variable TPL_PW is not set"):
        parse_settings({"root_password": {"secret_env": "TPL_PW"}}, tmp_path)


def test_the_password_is_never_in_the_repr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TPL_PW", "s3cr3t-value")
    settings = parse_settings({"root_password": {"secret_env": "TPL_PW"}}, tmp_path)
    assert "s3cr3t-value" not in repr(settings)


def test_differences_against_what_the_engine_returns(tmp_path: Path) -> None:
    settings = parse_settings(FULL, tmp_path)
    assert differences(settings, None) == ["cloud-init (not enabled)"]
    sent = to_initialization(settings)
    assert isinstance(sent, types.Initialization)
    assert differences(settings, sent) == []
    sent.dns_servers = "192.0.2.53"
    sent.nic_configurations[0].ip.address = "192.0.2.11"
    assert differences(settings, sent) == ["dns_servers", "nics"]


def test_the_sdk_object_carries_every_setting(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TPL_PW", "pw")
    init = to_initialization(parse_settings({**FULL, "root_password": {"secret_env": "TPL_PW"}},
                                            tmp_path))
    assert (init.authorized_ssh_keys, init.regenerate_ssh_keys, init.dns_servers,
            init.dns_search, init.root_password) == (KEY, True, "192.0.2.53 192.0.2.54",
                                                     "lab.local example.com", "pw")
    eth0, eth1 = init.nic_configurations
    assert (eth0.name, eth0.boot_protocol, eth0.ip.address, eth0.ip.netmask, eth0.ip.gateway) \
        == ("eth0", types.BootProtocol.STATIC, "192.0.2.10", "255.255.255.0", "192.0.2.1")
    assert (eth1.name, eth1.boot_protocol, eth1.ip, eth1.on_boot) == \
        ("eth1", types.BootProtocol.DHCP, None, False)
