"""``engine-cleanup`` of the lab: what the real 4.5 tool does to an engine, in otopi's stages.

Asks (or reads) ``OVESETUP_CORE/remove`` ("All the installed ovirt components are about to
be removed, data will be lost (OK, Cancel) [Cancel]"); ``OVESETUP_REMOVE/removeAll``
defaults to True (a partial cleanup is refused). Then stops ovirt-engine, ovirt-engine-dwhd,
grafana-server, ovirt-imageio, ovirt-websocket-proxy and ovirt-provider-ovn; keeps a PKI
backup (``/var/lib/ovirt-engine/backups/engine-pki-<YYYYmmddHHMMSS><random>.tar.gz`` of
``/etc/pki/ovirt-engine`` and ``engine.conf.d/10-setup-pki.conf``, mode 0600) and a
``pg_dump`` of each database (``engine-<stamp>.<random>.dump``, ``dwh-...``) as the real one
does; empties both databases (objects dropped; databases and roles kept); removes the
setup's files (``engine.conf.d/10-setup-*.conf``, the DWH's ``10-setup-*.conf``, the
websocket proxy's ``10-setup.conf``, ``ovirt-engine-setup.conf.d/20-setup-ovirt-post.conf``
and the PKI files setup made). Ends ``[ INFO  ]
Execution of cleanup completed successfully`` (exit 0) or ``... failed`` (exit 1). Printed
paths are the lab's real paths (inside the sysroot).
"""

from __future__ import annotations

import os
import secrets
import tarfile
import tempfile
import time
from pathlib import Path

from opsrunner.errors import OpsrunnerError
from opsrunner_lab.engine_db import DWH_DB, ENGINE_DB, DbConf, DbProduct, read_db_conf
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.shell_conf import conf_dir_files
from opsrunner_lab.sysroot_engine import PKI, WEBSOCKET_PROXY_CONF
from opsrunner_lab.sysroot_setup_files import POST_INSTALL_CONF
from opsrunner_lab.systemctl import Systemctl
from opsrunner_lab.tools.common import fatal
from opsrunner_lab.tools.engine_host import engine_layout, stop_services
from opsrunner_lab.tools.otopi_dialog import OTOPI_VERSION, Dialog, StageError, run_stages
from opsrunner_lab.tools.otopi_env import (
    ANSWERS_DIR,
    OtopiArgs,
    parse_otopi_args,
    write_answer_file,
)
from opsrunner_lab.tools.setup_db import clear_database, dump_database

USAGE = """Usage: {prog}
    --log=file                  write log to this file.
    --config=file               Load configuration files.
    --config-append=file        Load extra configuration files or answer file.
    --generate-answer=file      Generate answer file.
    --otopi-environment="KEY=type:value ..."   answers, e.g. OVESETUP_CORE/remove=bool:True
"""
SETUP_FILES = ("etc/ovirt-engine/engine.conf.d/10-setup-*.conf",
               "etc/ovirt-engine-dwh/ovirt-engine-dwhd.conf.d/10-setup-*.conf",
               WEBSOCKET_PROXY_CONF, POST_INSTALL_CONF)
PKI_FILES = (f"{PKI}/ca.pem", f"{PKI}/apache-ca.pem", f"{PKI}/certs/*", f"{PKI}/keys/*",
             f"{PKI}/private/*")
BACKUP_DIRS = {"engine": "var/lib/ovirt-engine/backups", "dwh": "var/lib/ovirt-engine-dwh/backups"}


def main(script: str, args: list[str]) -> int:
    """Run engine-cleanup; 0 when it completed, 1 otherwise."""
    try:
        layout = engine_layout(script)
        parsed = parse_otopi_args(args)
    except OpsrunnerError as exc:
        return fatal(str(exc))
    if parsed is None:
        print(USAGE.format(prog=script), end="")
        return 0
    return Cleanup(layout, parsed).run()


class Cleanup:
    """One engine-cleanup run."""

    def __init__(self, layout: LabLayout, args: OtopiArgs) -> None:
        self.layout, self.args = layout, args
        self.sysroot = layout.sysroot(ENGINE)
        self.stamp = time.strftime("%Y%m%d%H%M%S")
        log = args.log or str(self.sysroot / "var/log/ovirt-engine/setup" /
                              f"ovirt-engine-remove-{self.stamp}-{_random()}.log")
        self.dialog = Dialog(Path(log))
        self.summary: list[str] = []
        self.databases: list[tuple[str, DbConf]] = []

    def run(self) -> int:
        return run_stages(self.dialog, "cleanup", {
            "setup": self.environment_setup, "customization": self.customization,
            "validation": self.validation, "transaction": self.stop_services,
            "misc": self.remove, "closeup": self.closing_up, "cleanup": self.clean_up})

    def environment_setup(self) -> None:
        self.dialog.note(f"Configuration files: {self.args.config_files}")
        self.dialog.note(f"Log file: {self.dialog.log}")
        self.dialog.note(f"Version: {OTOPI_VERSION}")
        if not conf_dir_files(self.sysroot / ENGINE_DB.conf_dir):
            self.dialog.error("Could not detect a completed product setup")
            self.dialog.note("Please use the cleanup utility only after a setup or after an "
                             "upgrade from an older installation.")
            raise StageError("Could not detect product setup")
        products: tuple[tuple[str, DbProduct], ...] = (("Engine", ENGINE_DB), ("DWH", DWH_DB))
        for label, product in products:
            if conf_dir_files(self.sysroot / product.conf_dir):
                self.databases.append((label, read_db_conf(self.sysroot, product)))

    def customization(self) -> None:
        if self.args.answers.get("OVESETUP_REMOVE/removeAll", True) is not True:
            self.dialog.warn("Partial cleanup is not supported")
            raise StageError("the lab's engine-cleanup removes all components only; answer "
                             "OVESETUP_REMOVE/removeAll=bool:True")

    def validation(self) -> None:
        if not self.dialog.query_boolean(
                self.args.answers, "OVESETUP_CORE/remove",
                "All the installed ovirt components are about to be removed, data will be lost",
                ("OK", "Cancel"), default=False):
            raise StageError("Aborted by user")

    def stop_services(self) -> None:
        stop_services(Systemctl(self.layout, ENGINE), self.dialog.info)

    def remove(self) -> None:
        self.dialog.info("Backing up PKI configuration and keys")
        self.summary.append(f"A backup of PKI configuration and keys is available at "
                            f"{self._backup_pki()}")
        for label, conf in self.databases:
            kind = "engine" if label == "Engine" else "dwh"
            target = self._mkstemp(BACKUP_DIRS[kind], f"{kind}-{time.strftime('%Y%m%d%H%M%S')}.",
                                   ".dump")
            self.dialog.info(f"Backing up database {conf.host}:{conf.database} to "
                             f"'{target}'.")
            dump_database(conf, target, self.dialog)
            self.summary.append(f"A backup of the {label} database is available at {target}")
            self.dialog.info(f"Clearing {label} database {conf.database}")
            clear_database(conf, self.dialog)
        self.dialog.info("Removing files")
        for pattern in (*SETUP_FILES, *PKI_FILES):
            for path in sorted(self.sysroot.glob(pattern)):
                if path.is_file() or path.is_symlink():
                    self.dialog.debug(f"removing {path}")
                    path.unlink()
        self.dialog.info("Reverting changes to files")

    def closing_up(self) -> None:
        self.dialog.note("\n--== SUMMARY ==--\n")
        self.dialog.note("Engine setup successfully cleaned up")
        for line in (*self.summary[:1], "ovirt-engine has been removed", *self.summary[1:]):
            self.dialog.note(line)
        self.dialog.note("\n--== END OF SUMMARY ==--\n")

    def clean_up(self) -> None:
        self.dialog.note(f"Log file is located at {self.dialog.log}")
        answers = {"OVESETUP_CORE/remove": True, "OVESETUP_REMOVE/removeAll": True,
                   **self.args.answers}
        targets = [self.sysroot / ANSWERS_DIR / f"{time.strftime('%Y%m%d%H%M%S')}-cleanup.conf"]
        if self.args.generate_answer:
            targets.append(Path(self.args.generate_answer))
        for path in targets:
            self.dialog.info(f"Generating answer file '{path}'")
            write_answer_file(path, answers)

    def _backup_pki(self) -> Path:
        target = self._mkstemp(BACKUP_DIRS["engine"], f"engine-pki-{self.stamp}", ".tar.gz")
        with tarfile.open(target, "w:gz") as tar:
            for relative in ("etc/ovirt-engine/engine.conf.d/10-setup-pki.conf", PKI):
                if (self.sysroot / relative).exists():
                    tar.add(self.sysroot / relative, arcname=relative)
        return target

    def _mkstemp(self, folder: str, prefix: str, suffix: str) -> Path:
        """A new 0600 file in the sysroot's ``folder``, named as ``mkstemp`` names them."""
        directory = self.sysroot / folder
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
        os.close(fd)  # mkstemp made it 0600
        return Path(name)


def _random() -> str:
    return secrets.token_hex(3)
