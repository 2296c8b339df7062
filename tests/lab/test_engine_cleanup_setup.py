"""The seed's restore on a lab engine host: engine-backup, engine-cleanup (non-interactive),
engine-backup --mode=restore, engine-setup; the marker row comes back. And the refusals and
failures issue 5's plugins rely on (no prompt without a terminal, an injected setup fault)."""

from __future__ import annotations

import re
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_lab import EngineLab, running_engine_lab

from opsrunner_lab.pg_cluster import PgCluster
from opsrunner_lab.tools.faults import fault_path

PREFIX = "127.0.197."
STOPPED_BY_CLEANUP = ("ovirt-engine", "ovirt-engine-dwhd", "grafana-server", "ovirt-imageio",
                      "ovirt-websocket-proxy", "ovirt-provider-ovn")
ENGINE_CONF = "etc/ovirt-engine/engine.conf.d/10-setup-database.conf"
DWH_CONF = "etc/ovirt-engine-dwh/ovirt-engine-dwhd.conf.d/10-setup-database.conf"
ANSWERS = "[environment:default]\nOVESETUP_CORE/remove=bool:True\n"


@pytest.fixture(scope="module")
def lab() -> Iterator[EngineLab]:
    with running_engine_lab(PREFIX) as engine_lab:
        yield engine_lab


@pytest.fixture
def answer_file(tmp_path: Path) -> Path:
    path = tmp_path / "cleanup-answers.conf"
    path.write_text(ANSWERS)
    return path


def stage_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("[")]


def assert_all_up(lab: EngineLab) -> None:
    assert [name for name, up in lab.active().items() if not up] == []


def test_backup_cleanup_restore_setup_brings_the_marker_back(
        lab: EngineLab, answer_file: Path, tmp_path: Path) -> None:
    lab.query("INSERT INTO opsrunner_marker (note) VALUES ('kept by the backup')")
    backup, log = tmp_path / "engine.backup", tmp_path / "backup.log"
    done = lab.run("engine-backup", "--mode=backup", f"--file={backup}", f"--log={log}")
    assert done.returncode == 0, done.stderr
    lab.query("INSERT INTO opsrunner_marker (note) VALUES ('after the backup')")
    done = lab.run("engine-backup", "--mode=verify", f"--file={backup}",
                   f"--log={tmp_path / 'verify.log'}")
    assert done.returncode == 0, done.stderr
    password = lab.engine.password

    done = lab.run("engine-cleanup", f"--config-append={answer_file}")
    assert done.returncode == 0, done.stdout
    lines = stage_lines(done.stdout)
    assert lines[:2] == ["[ INFO  ] Stage: Initializing", "[ INFO  ] Stage: Environment setup"]
    assert lines[-1] == "[ INFO  ] Execution of cleanup completed successfully"
    for expected in ("[ INFO  ] Stopping engine service", "[ INFO  ] Stopping dwh service",
                     "[ INFO  ] Backing up PKI configuration and keys",
                     "[ INFO  ] Clearing Engine database engine",
                     "[ INFO  ] Clearing DWH database ovirt_engine_history",
                     "[ INFO  ] Removing files"):
        assert expected in lines
    active = lab.active()
    assert [name for name in STOPPED_BY_CLEANUP if active[name]] == []
    assert active["postgresql"] and active["httpd"]
    assert not (lab.sysroot / ENGINE_CONF).exists() and not (lab.sysroot / DWH_CONF).exists()
    assert not (lab.sysroot / "etc/pki/ovirt-engine/keys/apache.key.nopass").exists()
    pki = re.search(r"A backup of PKI configuration and keys is available at (\S+)", done.stdout)
    assert pki is not None
    pki_backup = Path(pki.group(1))
    assert pki_backup.parent == lab.sysroot / "var/lib/ovirt-engine/backups"
    assert re.fullmatch(r"engine-pki-\d{14}\w+\.tar\.gz", pki_backup.name)
    assert pki_backup.stat().st_mode & 0o777 == 0o600
    with tarfile.open(pki_backup) as tar:
        assert "etc/pki/ovirt-engine/keys/apache.key.nopass" in tar.getnames()
    assert re.search(r"A backup of the Engine database is available at \S+/var/lib/"
                     r"ovirt-engine/backups/engine-\d{14}\.\w+\.dump\n", done.stdout)
    assert lab.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0"
    assert lab.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                     dwh=True) == "0"

    done = lab.run("engine-backup", "--mode=restore", f"--file={backup}",
                   f"--log={tmp_path / 'restore.log'}", "--restore-permissions")
    assert (done.returncode, done.stderr) == (0, "")
    assert re.fullmatch(
        "Start of engine-backup with mode 'restore'\nscope: all\n"
        f"archive file: {backup}\nlog file: {tmp_path / 'restore.log'}\n"
        f"Preparing to restore:\n- Unpacking file '{backup}'\nRestoring:\n- Files\n"
        "- Engine database 'engine'\n"
        "  - Cleaning up temporary tables in engine database 'engine'\n"
        "-{78}\nPlease note:\n\n"
        r"The engine database was backed up at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} "
        r"[+-]\d{4} \.\n\n"
        "Objects that were added, removed or changed after this date, such as virtual\n"
        "machines, disks, etc., are missing in the engine, and will probably require\n"
        "recovery or recreation.\n-{78}\n"
        "- DWH database 'ovirt_engine_history'\nYou should now run engine-setup.\nDone.\n",
        done.stdout), done.stdout
    assert (lab.sysroot / ENGINE_CONF).stat().st_mode & 0o777 == 0o600
    assert f'ENGINE_DB_PASSWORD="{password}"' in (lab.sysroot / ENGINE_CONF).read_text()
    assert lab.query("SELECT count(*) FROM job") == "0"  # temporary tables emptied
    assert lab.query("SELECT DISTINCT tableowner FROM pg_tables WHERE "
                     "schemaname = 'public'") == "engine"

    done = lab.run("engine-setup", "--accept-defaults", "--offline")
    assert done.returncode == 0, done.stdout
    assert stage_lines(done.stdout)[-1] == "[ INFO  ] Execution of setup completed successfully"
    assert "[ INFO  ] Running vacuum full on the engine schema" in done.stdout
    assert_all_up(lab)
    assert lab.query("SELECT note FROM opsrunner_marker ORDER BY id") == "kept by the backup"
    assert (lab.sysroot / "etc/pki/ovirt-engine/keys/apache.key.nopass").is_file()


def test_cleanup_never_prompts_without_a_terminal(lab: EngineLab) -> None:
    done = lab.run("engine-cleanup")
    assert done.returncode == 1
    assert ("[ ERROR ] Failed to execute stage 'Setup validation': cannot ask 'All the "
            "installed ovirt components are about to be removed, data will be lost (OK, "
            "Cancel) [Cancel]:': stdin is not a terminal") in done.stdout
    assert 'answer it non-interactively with --otopi-environment="OVESETUP_CORE/remove=' \
           'bool:True"' in done.stdout
    assert stage_lines(done.stdout)[-1] == "[ ERROR ] Execution of cleanup failed"
    assert "Stopping" not in done.stdout
    assert_all_up(lab)
    assert (lab.sysroot / ENGINE_CONF).is_file()


def test_cleanup_cancelled_changes_nothing(lab: EngineLab) -> None:
    done = lab.run("engine-cleanup", "--otopi-environment=OVESETUP_CORE/remove=bool:False")
    assert done.returncode == 1
    assert "[ ERROR ] Failed to execute stage 'Setup validation': Aborted by user" in done.stdout
    assert_all_up(lab)


def test_setup_fault_fails_like_the_real_one_then_setup_recovers(
        lab: EngineLab, answer_file: Path) -> None:
    done = lab.run("engine-cleanup", f"--config-append={answer_file}")
    assert done.returncode == 0, done.stdout
    fault = fault_path(lab.layout, "engine-setup")
    fault.parent.mkdir(exist_ok=True)
    fault.write_text("times=1\n")
    done = lab.run("engine-setup", "--accept-defaults", "--offline")
    assert done.returncode == 1
    lines = stage_lines(done.stdout)
    assert "[ ERROR ] Failed to execute stage 'Misc configuration': Engine schema refresh " \
           "failed" in lines
    assert lines[-5:] == ["[ INFO  ] Stage: Clean up",
                          "[ INFO  ] Generating answer file '" + done.stdout.split(
                              "Generating answer file '")[1].split("\n")[0],
                          "[ INFO  ] Stage: Pre-termination", "[ INFO  ] Stage: Termination",
                          "[ ERROR ] Execution of setup failed"]
    assert "Stage: Transaction commit" not in done.stdout
    assert not fault.exists()
    assert not lab.active()["ovirt-engine"]
    # Without the fault, setup on the emptied databases creates a fresh schema.
    done = lab.run("engine-setup", "--accept-defaults", "--offline")
    assert done.returncode == 0, done.stdout
    assert_all_up(lab)
    assert lab.query("SELECT count(*) FROM audit_log") == "10000"
    assert lab.query("SELECT count(*) FROM opsrunner_marker") == "0"


def test_bad_command_lines_are_fatal(lab: EngineLab, tmp_path: Path) -> None:
    done = lab.run("engine-setup", "--accept-defaults", "--bogus")
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", "FATAL: Invalid option '--bogus'\n")
    bad = tmp_path / "bad.conf"
    bad.write_text("[environment:default]\nOVESETUP_CORE/remove=True\n")
    done = lab.run("engine-cleanup", f"--config-append={bad}")
    assert (done.returncode, done.stderr) == (
        1, f"FATAL: {bad}:2: OVESETUP_CORE/remove: the value needs a type prefix, one of "
           f"bool:, int:, str:, multi-str:, none:\n")
    assert subprocess.run([str(lab.bin / "engine-setup"), "--help"], capture_output=True,
                          check=False).returncode == 0


def test_restore_provisions_missing_databases_and_roles(
        lab: EngineLab, answer_file: Path, tmp_path: Path) -> None:
    lab.query("INSERT INTO opsrunner_marker (note) VALUES ('provisioned back')")
    backup = tmp_path / "engine.backup"
    done = lab.run("engine-backup", f"--file={backup}", f"--log={tmp_path / 'b.log'}")
    assert done.returncode == 0, done.stderr
    assert lab.run("engine-cleanup", f"--config-append={answer_file}").returncode == 0
    restore = ["engine-backup", "--mode=restore", f"--file={backup}", "--provision-db"]
    done = lab.run(*restore, f"--log={tmp_path / 'r1.log'}")
    assert (done.returncode, done.stderr) == (
        1, "FATAL: Existing database 'engine' or user 'engine' found and temporary ones "
           "created - Please clean up everything and try again\n")
    PgCluster(lab.layout).psql("DROP DATABASE engine;\nDROP DATABASE ovirt_engine_history;\n"
                               "DROP ROLE engine;\nDROP ROLE ovirt_engine_history;\n")
    done = lab.run(*restore[:-1], "--provision-all-databases", f"--log={tmp_path / 'r2.log'}")
    assert (done.returncode, done.stderr) == (0, "")
    assert ("Restoring:\n- Files\nProvisioning PostgreSQL users/databases:\n"
            "- user 'engine', database 'engine'\n"
            "- user 'ovirt_engine_history', database 'ovirt_engine_history'\nRestoring:\n"
            "- Engine database 'engine'\n") in done.stdout
    # The provisioned roles log in with the restored conf files' passwords.
    assert lab.query("SELECT note FROM opsrunner_marker") == "provisioned back"
    assert lab.query("SELECT count(*) FROM vm_configuration", dwh=True) == "24"
