"""The engine host's file tree, as a fresh OLVM 4.5 engine has it after ``engine-setup``.

Database settings in ``engine.conf.d``/``ovirt-engine-dwhd.conf.d``, what else setup leaves
for the engine's tools (``sysroot_setup_files``: ``ovirt-engine-setup.conf.d``, protocols,
answers), the engine PKI made by the lab CA, the websocket proxy config, Apache's ``conf.d``
(with engine-setup's ``ssl.conf``) and the backup/log folders.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout
from opsrunner_lab.pki import LabCA
from opsrunner_lab.sysroot_files import (
    ensure_dir,
    ensure_file,
    ensure_symlink,
    fqdn,
    shell_conf,
    write_os_identity,
)
from opsrunner_lab.sysroot_setup_files import write_setup_files
from opsrunner_lab.sysroot_ssl_conf import write_ssl_conf

ENGINE_DB_CONF = "etc/ovirt-engine/engine.conf.d/10-setup-database.conf"
ENGINE_DWH_DB_CONF = "etc/ovirt-engine/engine.conf.d/10-setup-dwh-database.conf"
DWH_DB_CONF = "etc/ovirt-engine-dwh/ovirt-engine-dwhd.conf.d/10-setup-database.conf"
WEBSOCKET_PROXY_CONF = "etc/ovirt-engine/ovirt-websocket-proxy.conf.d/10-setup.conf"
PKI = "etc/pki/ovirt-engine"
APACHE_CA = "apache-ca.pem"  # PKI-relative: a symlink to ca.pem until a third-party CA's chain
# Each engine service certificate: PKI-relative cert and key paths.
SERVICE_CERTS = {
    "apache": ("certs/apache.cer", "keys/apache.key.nopass"),
    "websocket-proxy": ("certs/websocket-proxy.cer", "keys/websocket-proxy.key.nopass"),
    "engine": ("certs/engine.cer", "keys/engine.key.nopass"),
}
DATABASES = {"engine": ("ENGINE_DB", "engine", "engine"),
             "dwh": ("DWH_DB", "ovirt_engine_history", "ovirt_engine_history")}
_FOLDERS = (
    "etc/pki/ca-trust/source/anchors", "etc/httpd/conf.d", "etc/sysconfig",
    "var/lib/ovirt-engine/backups", "var/lib/ovirt-engine-dwh/backups",
    "var/lib/ovirt-engine-backup", "var/log/ovirt-engine-backup", "var/log/ovirt-engine",
    "usr/share/ovirt-engine/dbscripts", "usr/share/ovirt-engine/bin",
)
_ROOT_REDIRECT = "RedirectMatch ^/$ /ovirt-engine/\n"
_PROXY_NOTE = """\
# The lab's Apache proxies /ovirt-engine/ to the engine API simulator from its own
# configuration (opsrunner_lab.httpd), not from this file.
"""


def db_password(layout: LabLayout, database: str) -> str:
    """The lab's password of ``database`` (``engine`` or ``dwh``), made once (``secrets/``).

    Kept apart from the config files so that recreating a removed config file keeps the
    password the database roles were made with.
    """
    path = layout.secrets / f"{database}-db-password"
    ensure_dir(layout.secrets, 0o700)
    ensure_file(path, lambda: secrets.token_urlsafe(18) + "\n", 0o600)
    return path.read_text().strip()


def db_settings(layout: LabLayout, database: str) -> dict[str, str]:
    """The ``<PREFIX>_DB_*`` settings (HOST ... URL) of ``database`` as engine-setup writes them."""
    prefix, user, name = DATABASES[database]
    return {
        f"{prefix}_HOST": layout.engine_address,
        f"{prefix}_PORT": str(ENGINE_PORTS["postgresql"]),
        f"{prefix}_USER": user,
        f"{prefix}_PASSWORD": db_password(layout, database),
        f"{prefix}_DATABASE": name,
        f"{prefix}_SECURED": "False",
        f"{prefix}_SECURED_VALIDATION": "False",
        f"{prefix}_DRIVER": "org.postgresql.Driver",
        f"{prefix}_URL": (f"jdbc:postgresql://${{{prefix}_HOST}}:${{{prefix}_PORT}}/"
                          f"${{{prefix}_DATABASE}}?sslfactory=org.postgresql.ssl.NonValidatingFactory"),
    }


def write_db_confs(layout: LabLayout) -> None:
    """The three database config files (mode 0600) that are missing."""
    root = layout.sysroot(ENGINE)
    engine, dwh = db_settings(layout, "engine"), db_settings(layout, "dwh")
    ensure_file(root / ENGINE_DB_CONF, shell_conf(engine), 0o600)
    ensure_file(root / ENGINE_DWH_DB_CONF, shell_conf(dwh), 0o600)
    ensure_file(root / DWH_DB_CONF, shell_conf({**dwh, **engine}), 0o600)


def write_engine_pki(layout: LabLayout, ca: LabCA) -> None:
    """``/etc/pki/ovirt-engine``: ca.pem, apache-ca.pem -> ca.pem, the service certs and keys."""
    root = layout.sysroot(ENGINE)
    ensure_dir(root / "etc/pki", 0o755)
    pki = ensure_dir(root / PKI, 0o755)
    ensure_dir(pki / "certs", 0o755)
    ensure_dir(pki / "keys", 0o755)
    ensure_file(pki / "ca.pem", ca.cert_pem)
    ensure_symlink(pki / APACHE_CA, "ca.pem")
    name = fqdn(ENGINE)
    for cert_path, key_path in SERVICE_CERTS.values():
        cert, key = pki / cert_path, pki / key_path
        if cert.exists() or key.exists():
            continue  # never replace half of a pair (a workflow may be mid-change)
        key_pem, cert_pem = ca.issue(name, [name], [layout.engine_address])
        ensure_file(key, key_pem, 0o600)
        ensure_file(cert, cert_pem)
    ensure_file(root / "etc/pki/java/cacerts", b"")


def build_engine(layout: LabLayout, ca: LabCA) -> Path:
    """Create what is missing of the engine's sysroot; return it."""
    root = ensure_dir(layout.sysroot(ENGINE))
    write_os_identity(root, 8, fqdn(ENGINE))
    for folder in _FOLDERS:
        ensure_dir(root / folder)
    write_db_confs(layout)
    write_setup_files(layout, db_settings(layout, "engine"), db_settings(layout, "dwh"))
    write_engine_pki(layout, ca)
    ensure_file(root / WEBSOCKET_PROXY_CONF, "".join(f"{key}={value}\n" for key, value in {
        "PROXY_PORT": ENGINE_PORTS["ovirt-websocket-proxy"],
        "SSL_CERTIFICATE": f"/{PKI}/{SERVICE_CERTS['websocket-proxy'][0]}",
        "SSL_KEY": f"/{PKI}/{SERVICE_CERTS['websocket-proxy'][1]}",
        "FORCE_DATA_VERIFICATION": "False",
        "CERT_FOR_DATA_VERIFICATION": f"/{PKI}/{SERVICE_CERTS['engine'][0]}",
        "SSL_ONLY": "True",
    }.items()))
    ensure_file(root / "etc/httpd/conf.d/ovirt-engine-root-redirect.conf", _ROOT_REDIRECT)
    ensure_file(root / "etc/httpd/conf.d/z-ovirt-engine-proxy.conf", _PROXY_NOTE)
    cert, key = SERVICE_CERTS["apache"]
    write_ssl_conf(root, f"/{PKI}/{cert}", f"/{PKI}/{key}", f"/{PKI}/{APACHE_CA}")
    return root
