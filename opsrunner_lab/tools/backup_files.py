"""The ``files`` scope of engine-backup: the engine's configuration and data files, backed up
as an inner tar (paths relative to the sysroot, as the real tool's are relative to ``/``)
and restored into the sysroot with their modes and numeric owners."""

from __future__ import annotations

import fnmatch
import tarfile
from pathlib import Path

from opsrunner_lab.tools.backup_archive import open_tar_writer

# What the real 4.5 tool backs up (those that exist), relative to the root.
BACKUP_PATHS = (
    "etc/ovirt-engine", "etc/ovirt-engine-dwh", "etc/ovirt-provider-ovn/conf.d",
    "etc/ovirt-provider-ovn/logger.conf", "etc/ovirt-vmconsole", "etc/pki/ovirt-engine",
    "etc/pki/ovirt-vmconsole", "etc/ovirt-engine-setup.conf.d",
    "etc/httpd/conf.d/ovirt-engine-root-redirect.conf", "etc/httpd/conf.d/ssl.conf",
    "etc/httpd/conf.d/z-ovirt-engine-proxy.conf", "etc/httpd/http.keytab",
    "etc/httpd/conf.d/ovirt-sso.conf", "etc/yum/pluginconf.d/versionlock.list",
    "etc/dnf/plugins/versionlock.list", "etc/firewalld/services/ovirt-https.xml",
    "etc/firewalld/services/ovirt-http.xml", "etc/firewalld/services/ovirt-postgres.xml",
    "etc/firewalld/services/ovirt-provider-ovn.xml",
    "etc/firewalld/services/ovn-central-firewall-service.xml", "var/lib/openvswitch",
    "etc/grafana",
)
# Folders whose entries are all backed up but these.
FOLDER_EXCLUSIONS = {
    "var/lib/ovirt-engine": ("backups", "jboss_runtime", "ansible-runner-service.log"),
    "var/lib/grafana": ("grafana.db",),
}
EXCLUDED_ON_RESTORE = (
    "etc/ovirt-engine/engine-config/engine-config.properties",
    "etc/ovirt-engine-setup.conf.d/*packaging*", "etc/pki/ovirt-engine/cacert.template.in",
    "etc/pki/ovirt-engine/cert.template.in", "etc/pki/ovirt-engine/openssl.conf",
)


def backup_paths(sysroot: Path) -> list[str]:
    """The existing paths of the ``files`` scope, relative to ``sysroot``."""
    paths = [path for path in BACKUP_PATHS if (sysroot / path).exists()]
    for folder, excluded in FOLDER_EXCLUSIONS.items():
        if (sysroot / folder).is_dir():
            paths += sorted(f"{folder}/{entry.name}" for entry in (sysroot / folder).iterdir()
                            if entry.name not in excluded)
    return paths


def backup_files(sysroot: Path, target: Path, compressor: str) -> None:
    """Write the inner tar of the engine's files to ``target``. OSError propagates."""
    with target.open("wb") as out, open_tar_writer(out, compressor) as tar:
        for path in backup_paths(sysroot):
            tar.add(sysroot / path, arcname=path)


def restore_files(archive: Path, sysroot: Path) -> list[str]:
    """Extract the inner tar into ``sysroot`` (modes and numeric owners kept; paths and links
    that would leave the sysroot refused), skipping what the real tool never restores.
    Returns the restored names. tarfile/OS errors propagate."""
    with tarfile.open(archive, mode="r:*") as tar:
        members = [member for member in tar.getmembers()
                   if not any(fnmatch.fnmatch(member.name, pattern)
                              for pattern in EXCLUDED_ON_RESTORE)]
        tar.extractall(sysroot, members=members, numeric_owner=True, filter=_keep_modes)
    return [member.name for member in members]


def _keep_modes(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """tarfile's ``data`` checks (nothing outside ``dest``, no link leaving it, no device
    file) without its changes to modes and owners: the engine's files come back exactly."""
    checked = tarfile.data_filter(member, dest)
    return checked.replace(mode=member.mode, uid=member.uid, gid=member.gid,
                           uname=member.uname, gname=member.gname, deep=False)
