"""What ``engine-setup`` leaves on the engine host for the engine's own tools to read.

- ``/etc/ovirt-engine-setup.conf.d/``: ``10-packaging.conf`` and ``10-packaging-jboss.conf``
  (installed by the ovirt-engine package) and ``20-setup-ovirt-post.conf``, the post-install
  environment (``[environment:default]``, ``KEY=type:value``) whose ``OVESETUP_ENGINE_CORE/enable``
  and ``OVESETUP_DWH_CORE/enable`` engine-backup queries before dumping a database;
- ``engine.conf.d/10-setup-protocols.conf`` (``ENGINE_FQDN``, the proxy and JBoss ports);
- ``ovirt-engine-dwhd.conf.d/10-setup-uuid.conf`` (``DWH_UUID``);
- one answer file under ``/var/lib/ovirt-engine/setup/answers`` with the database settings
  (``OVESETUP_DB/*``, ``OVESETUP_DWH_DB/*``; the databases are provisioned, so no password).

Every file is written only when missing; the values match ``sysroot_engine.db_settings``.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout
from opsrunner_lab.sysroot_files import LAB_DOMAIN, ensure_file, fqdn, shell_conf
from opsrunner_lab.tools.otopi_env import ANSWERS_DIR

ENGINE_VERSION = "4.5.6"
SETUP_CONF = "etc/ovirt-engine-setup.conf"  # otopi-config-query's --file (it may not exist)
SETUP_CONF_D = f"{SETUP_CONF}.d"
PACKAGING_CONF = f"{SETUP_CONF_D}/10-packaging.conf"
PACKAGING_JBOSS_CONF = f"{SETUP_CONF_D}/10-packaging-jboss.conf"
POST_INSTALL_CONF = f"{SETUP_CONF_D}/20-setup-ovirt-post.conf"
PROTOCOLS_CONF = "etc/ovirt-engine/engine.conf.d/10-setup-protocols.conf"
DWH_UUID_CONF = "etc/ovirt-engine-dwh/ovirt-engine-dwhd.conf.d/10-setup-uuid.conf"
AJP_PORT = ENGINE_PORTS["ovirt-engine"]

_PACKAGING = {
    "OVESETUP_APACHE/configureRootRedirectionDefault": "bool:True",
    "OVESETUP_CONFIG/validFirewallManagers": "str:firewalld",
}
_PACKAGING_JBOSS = {
    "OVESETUP_CONFIG/jbossHome": "str:/usr/share/ovirt-engine-wildfly",
    "OVESETUP_RPMDISTRO/jbossPackages": "str:ovirt-engine-wildfly,ovirt-engine-wildfly-overlay",
}


def otopi_conf(values: dict[str, str]) -> str:
    """An otopi environment file: ``[environment:default]`` and ``KEY=type:value`` lines."""
    return "[environment:default]\n" + "".join(f"{key}={value}\n" for key, value in values.items())


def post_install_values() -> dict[str, str]:
    """The post-install environment of the lab's engine (engine, DWH, OVN; no Keycloak)."""
    name = fqdn(ENGINE)
    return {
        "OVESETUP_CORE/generatedByVersion": f"str:{ENGINE_VERSION}",
        "OVESETUP_CONFIG/fqdn": f"str:{name}",
        "OVESETUP_CONFIG/firewallManager": "str:firewalld",
        "OVESETUP_ENGINE_CORE/enable": "bool:True",
        "OVESETUP_DWH_CORE/enable": "bool:True",
        "OVESETUP_ENGINE_CONFIG/fqdn": f"str:{name}",
        "OVESETUP_PKI/organization": f"str:{LAB_DOMAIN}",
        "OVESETUP_CONFIG/adminUser": "str:admin@internal",
        "OVESETUP_APACHE/configured": "bool:True",
        "OVESETUP_CONFIG/websocketProxyConfig": "bool:True",
        "OVESETUP_OVN/ovirtProviderOvn": "bool:True",
        "OVESETUP_CONFIG/keycloakEnable": "bool:False",
        "OVESETUP_MB_DB/enable": "bool:False",
        "OVESETUP_CL_DB/enable": "bool:False",
        "OVESETUP_VMCONSOLE_PROXY_CONFIG/vmconsoleProxyConfig": "bool:False",
    }


def protocols_values() -> dict[str, str]:
    """``10-setup-protocols.conf``: Apache proxies to the engine's AJP port (no direct HTTP)."""
    return {
        "ENGINE_FQDN": fqdn(ENGINE),
        "ENGINE_PROXY_ENABLED": "true",
        "ENGINE_PROXY_HTTP_PORT": str(ENGINE_PORTS["http"]),
        "ENGINE_PROXY_HTTPS_PORT": str(ENGINE_PORTS["https"]),
        "ENGINE_AJP_ENABLED": "true",
        "ENGINE_AJP_PORT": str(AJP_PORT),
        "ENGINE_HTTP_ENABLED": "false",
        "ENGINE_HTTPS_ENABLED": "false",
        "ENGINE_HTTP_PORT": "",
        "ENGINE_HTTPS_PORT": "",
    }


def answer_values(engine: dict[str, str], dwh: dict[str, str]) -> dict[str, str]:
    """The database answers of the setup run, from the ``<PREFIX>_DB_*`` settings."""
    values = {"OVESETUP_PROVISIONING/postgresProvisioningEnabled": "bool:True",
              "OVESETUP_DWH_PROVISIONING/postgresProvisioningEnabled": "bool:True",
              "OVESETUP_ENGINE_CORE/enable": "bool:True", "OVESETUP_DWH_CORE/enable": "bool:True"}
    for section, prefix, settings in (("OVESETUP_DB", "ENGINE_DB", engine),
                                      ("OVESETUP_DWH_DB", "DWH_DB", dwh)):
        values.update({
            f"{section}/host": f"str:{settings[f'{prefix}_HOST']}",
            f"{section}/port": f"int:{settings[f'{prefix}_PORT']}",
            f"{section}/secured": f"bool:{settings[f'{prefix}_SECURED']}",
            f"{section}/securedHostValidation": f"bool:{settings[f'{prefix}_SECURED_VALIDATION']}",
            f"{section}/database": f"str:{settings[f'{prefix}_DATABASE']}",
            f"{section}/user": f"str:{settings[f'{prefix}_USER']}",
        })
    return values


def write_setup_files(layout: LabLayout, engine: dict[str, str], dwh: dict[str, str]) -> None:
    """The files above that are missing, under the engine's sysroot.

    ``engine``/``dwh`` are ``db_settings`` of the two databases (passwords are not written).
    """
    root = layout.sysroot(ENGINE)
    ensure_file(root / PACKAGING_CONF, otopi_conf(_PACKAGING))
    ensure_file(root / PACKAGING_JBOSS_CONF, otopi_conf(_PACKAGING_JBOSS))
    ensure_file(root / POST_INSTALL_CONF, otopi_conf(post_install_values()))
    ensure_file(root / PROTOCOLS_CONF, shell_conf(protocols_values()))
    ensure_file(root / DWH_UUID_CONF, lambda: shell_conf({"DWH_UUID": str(uuid.uuid4())}))
    answers = root / ANSWERS_DIR
    if not any(answers.glob("*-setup.conf")):
        target = answers / f"{time.strftime('%Y%m%d%H%M%S')}-setup.conf"
        ensure_file(target, "# OTOPI answer file, generated by human dialog\n"
                    + otopi_conf(answer_values(engine, dwh)), 0o600)


def setup_files(root: Path) -> list[Path]:
    """The files otopi-config-query reads for ``SETUP_CONF``: the file, then ``.d/*.conf`` sorted."""
    files = [root / SETUP_CONF] if (root / SETUP_CONF).is_file() else []
    folder = root / SETUP_CONF_D
    return files + (sorted(folder.glob("*.conf")) if folder.is_dir() else [])
