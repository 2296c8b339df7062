"""``engine-setup`` of the lab: (re)configure the engine and bring its services back.

Options as the real wrapper's (``--accept-defaults``, ``--offline``, ``--config-append=FILE``,
``--otopi-environment=...``, ``--log=``, ``--generate-answer=``,
``--reconfigure-optional-components``). Unattended with ``--accept-defaults`` or an answer
for ``OVESETUP_DIALOG/confirmSettings``; it never prompts when stdin is not a terminal.

What it does, in otopi's stages: stops the engine services; recreates the engine's missing
configuration (conf files with the lab's database passwords, PKI) with the sysroot builder;
makes the database roles match the conf files; creates a fresh schema in an empty database
("Creating/refreshing Engine database schema"); runs ``engine-vacuum.sh -f -v`` ("Running
vacuum full on the engine schema"; ``OVESETUP_DB/engineVacuumFull=bool:False`` skips it);
enables and starts the services, restarts httpd. Ends ``[ INFO  ] Execution of setup
completed successfully`` (exit 0).

Fault: while ``<lab>/faults/engine-setup`` exists (see ``faults``) it fails with ``[ ERROR ]
Failed to execute stage 'Misc configuration': Engine schema refresh failed`` (or the file's
message) and ``[ ERROR ] Execution of setup failed`` (exit 1), the services left stopped.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

from opsrunner.errors import OpsrunnerError
from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.engine_db import DWH_DB, ENGINE_DB
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.postgres import provision
from opsrunner_lab.sysroot import build_sysroots
from opsrunner_lab.sysroot_files import fqdn
from opsrunner_lab.systemctl import Systemctl
from opsrunner_lab.tools.common import ENGINE_VACUUM, fatal
from opsrunner_lab.tools.engine_host import engine_layout, start_services, stop_services
from opsrunner_lab.tools.faults import take_fault
from opsrunner_lab.tools.otopi_dialog import OTOPI_VERSION, Dialog, StageError, run_stages
from opsrunner_lab.tools.otopi_env import (
    ANSWERS_DIR,
    OtopiArgs,
    parse_otopi_args,
    write_answer_file,
)
from opsrunner_lab.tools.setup_db import create_schema_if_empty

FLAGS = ("--accept-defaults", "--offline", "--reconfigure-optional-components")
USAGE = """Usage: {prog}
    --log=file                  write log to this file.
    --config=file               Load configuration files.
    --config-append=file        Load extra configuration files or answer file.
    --offline                   Offline mode.
    --generate-answer=file      Generate answer file.
    --accept-defaults           Accept the default answer of every question.
    --reconfigure-optional-components
                                Ask again about components that were disabled.
    --otopi-environment="KEY=type:value ..."   answers, e.g.
                                OVESETUP_DIALOG/confirmSettings=bool:True
"""
SCHEMA_FAILED = "Engine schema refresh failed"


def main(script: str, args: list[str]) -> int:
    """Run engine-setup; 0 when it completed, 1 otherwise."""
    try:
        layout = engine_layout(script)
        parsed = parse_otopi_args(args, FLAGS)
    except OpsrunnerError as exc:
        return fatal(str(exc))
    if parsed is None:
        print(USAGE.format(prog=script), end="")
        return 0
    return Setup(layout, parsed).run()


class Setup:
    """One engine-setup run."""

    def __init__(self, layout: LabLayout, args: OtopiArgs) -> None:
        self.layout, self.args = layout, args
        self.sysroot = layout.sysroot(ENGINE)
        self.ctl = Systemctl(layout, ENGINE)
        stamp = time.strftime("%Y%m%d%H%M%S")
        log = args.log or str(self.sysroot / "var/log/ovirt-engine/setup" /
                              f"ovirt-engine-setup-{stamp}-{secrets.token_hex(3)}.log")
        self.dialog = Dialog(Path(log))

    def run(self) -> int:
        return run_stages(self.dialog, "setup", {
            "setup": self.environment_setup, "programs": self.check_updates,
            "validation": self.validation, "transaction": self.stop_services,
            "misc": self.configure, "closeup": self.closing_up, "cleanup": self.clean_up})

    def environment_setup(self) -> None:
        self.dialog.note(f"Configuration files: {self.args.config_files}")
        self.dialog.note(f"Log file: {self.dialog.log}")
        self.dialog.note(f"Version: {OTOPI_VERSION}")

    def check_updates(self) -> None:
        if "--offline" not in self.args.flags:
            self.dialog.info("Checking for product updates...")
            self.dialog.info("No product updates found")

    def validation(self) -> None:
        if not self.dialog.query_boolean(self.args.answers, "OVESETUP_DIALOG/confirmSettings",
                                         "Please confirm installation settings",
                                         ("OK", "Cancel"), default=True):
            raise StageError("Aborted by user")

    def stop_services(self) -> None:
        stop_services(self.ctl, self.dialog.info)

    def configure(self) -> None:
        try:
            build_sysroots(self.layout)
            for change in provision(self.layout):
                self.dialog.debug(f"provision: {change}")
        except (LabServerError, OpsrunnerError) as exc:
            raise StageError(str(exc)) from None
        fault = take_fault(self.layout, "engine-setup", SCHEMA_FAILED)
        if fault is not None:
            raise StageError(fault)
        self.dialog.info("Creating/refreshing DWH database schema")
        create_schema_if_empty(self.layout, DWH_DB, self.dialog)
        self.dialog.info("Creating/refreshing Engine database schema")
        create_schema_if_empty(self.layout, ENGINE_DB, self.dialog)
        if self.args.answers.get("OVESETUP_DB/engineVacuumFull", True) is not False:
            self.dialog.info("Running vacuum full on the engine schema")
            self._vacuum()

    def closing_up(self) -> None:
        start_services(self.ctl, self.dialog.info)
        self.dialog.note("\n--== SUMMARY ==--\n")
        self.dialog.note("Web access is enabled at:")
        self.dialog.note(f"    https://{fqdn(ENGINE)}/ovirt-engine")
        self.dialog.note("\n--== END OF SUMMARY ==--\n")

    def clean_up(self) -> None:
        self.dialog.note(f"Log file is located at {self.dialog.log}")
        answers = {"OVESETUP_DIALOG/confirmSettings": True, **self.args.answers}
        targets = [self.sysroot / ANSWERS_DIR / f"{time.strftime('%Y%m%d%H%M%S')}-setup.conf"]
        if self.args.generate_answer:
            targets.append(Path(self.args.generate_answer))
        for path in targets:
            self.dialog.info(f"Generating answer file '{path}'")
            write_answer_file(path, answers)

    def _vacuum(self) -> None:
        tool = self.sysroot / ENGINE_VACUUM
        if not os.access(tool, os.X_OK):
            raise StageError(f"Command '/{ENGINE_VACUUM}' failed to execute (not installed)")
        done = subprocess.run([str(tool), "-f", "-v"], capture_output=True, text=True,
                              check=False, stdin=subprocess.DEVNULL, cwd="/")
        self.dialog.debug(f"{tool} -f -v: exit {done.returncode}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            raise StageError(f"Command '/{ENGINE_VACUUM}' failed to execute")
