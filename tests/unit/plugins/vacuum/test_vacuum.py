"""The ``vacuum`` task on a local sysroot with stand-in tools (engine-psql.sh, pg_dump, the
vacuum scripts, systemctl) that log what they are asked to do: the seed's order, the dumps'
names and flags, the password kept out of argv, and services started again after a failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opsrunner import TaskFailed
from opsrunner.testing import MakeTask
from opsrunner_plugins.vacuum import vacuum
from opsrunner_plugins.vacuum.db import DbSettings
from opsrunner_plugins.vacuum.report import human
from opsrunner_plugins.vacuum.steps import Target, dump_command, own_dumps
from tests.unit.plugins.test_service import FakeSystemd

SERVICES = ["ovirt-engine", "ovirt-engine-dwhd", "grafana-server"]
PASSWORD = "Pa55:word"
TOOLS = {
    "usr/share/ovirt-engine/dbscripts/engine-psql.sh": 'cat "$FAKE_SYSTEMD/sizes"\n',
    "usr/share/ovirt-engine/bin/engine-vacuum.sh": (
        'echo "engine-vacuum.sh $*" >> "$FAKE_SYSTEMD/log"\n'
        '[ -f "$FAKE_SYSTEMD/vacuum-fails" ] && { echo "vacuumdb: error: out of disk" >&2; '
        "exit 1; }\n"
        "sed -i 's/^engine|.*/engine|10 MB|10485760/' \"$FAKE_SYSTEMD/sizes\"\n"),
    "usr/share/ovirt-engine-dwh/bin/dwh-vacuum.sh": (
        'echo "dwh-vacuum.sh $*" >> "$FAKE_SYSTEMD/log"\n'
        "sed -i 's/^ovirt_engine_history|.*/ovirt_engine_history|9 MB|9437184/' "
        '"$FAKE_SYSTEMD/sizes"\n'),
    "opt/pg/bin/pg_dump": (
        'echo "pg_dump $*" >> "$FAKE_SYSTEMD/log"\n'
        'cat "$PGPASSFILE" >> "$FAKE_SYSTEMD/pgpass-seen"\n'
        '[ -f "$FAKE_SYSTEMD/dump-fails" ] && { echo "pg_dump: error: connection to server '
        'failed" >&2; exit 1; }\n'
        'for a; do case "$a" in --file=*) f=${a#--file=} ;; esac; done; echo dump > "$f"\n'),
}
CONFS = {"engine": ("ENGINE", "engine", "engine"),
         "dwh": ("DWH", "ovirt_engine_history", "ovirt_engine_history")}


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
    """A local sysroot with the engine's tools and conf files; the services running."""
    fake = FakeSystemd(tmp_path / "systemd")
    monkeypatch.setenv("FAKE_SYSTEMD", str(fake.root))
    monkeypatch.setenv("PATH", f"{fake.root / 'bin'}:/usr/bin:/bin")
    for name in SERVICES:
        fake.add(name, active=True)
    (fake.root / "sizes").write_text("postgres|7 MB|7340032\nengine|30 MB|31457280\n"
                                     "ovirt_engine_history|17 MB|17825792\n")
    for relative, body in TOOLS.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
    conf_dir = tmp_path / "etc/ovirt-engine/engine.conf.d"
    conf_dir.mkdir(parents=True)
    for key, (prefix, user, database) in CONFS.items():
        name = "10-setup-database.conf" if key == "engine" else "10-setup-dwh-database.conf"
        (conf_dir / name).write_text(
            f'{prefix}_DB_HOST="localhost"\n{prefix}_DB_PORT="5432"\n{prefix}_DB_USER="{user}"\n'
            f'{prefix}_DB_DATABASE="{database}"\n{prefix}_DB_PASSWORD="{PASSWORD}"\n')
    return fake


def log(fake: FakeSystemd) -> list[str]:
    return [line.split(" -U ")[0] for line in fake.changes()]


def test_the_seed_procedure_in_order_with_the_space_reclaimed(
        make_task: MakeTask, engine: FakeSystemd, tmp_path: Path) -> None:
    res = vacuum(make_task(), pg_bin_dir="/opt/pg/bin")
    assert not res.failed, res.msg
    flags = "pg_dump -w -E UTF8 --disable-dollar-quoting --disable-triggers"
    assert log(engine) == ["stop ovirt-engine", "stop ovirt-engine-dwhd", "stop grafana-server",
                           flags, flags, "engine-vacuum.sh -f -v", "dwh-vacuum.sh -f -v",
                           "start ovirt-engine", "start ovirt-engine-dwhd",
                           "start grafana-server"]
    assert res.data["reclaimed"] == {"engine": 20971520, "ovirt_engine_history": 8388608}
    assert res.msg == ("engine: 30 MB -> 10 MB (reclaimed 20971520 bytes, 20.0 MiB); "
                       "ovirt_engine_history: 17 MB -> 9 MB (reclaimed 8388608 bytes, 8.0 MiB)")
    dumps = res.data["dumps"]
    assert own_dumps([(0.0, dumps["engine"])], "engine")
    assert dumps["engine"].startswith("/var/lib/ovirt-engine/backups/engine-")
    assert dumps["ovirt_engine_history"].startswith("/var/lib/ovirt-engine-dwh/backups/dwh-")
    assert (tmp_path / dumps["engine"].lstrip("/")).read_text() == "dump\n"
    dump_lines = [line for line in engine.changes() if line.startswith("pg_dump")]
    assert dump_lines[0].endswith(" -U engine -h localhost -p 5432 --format=custom "
                                  f"--file={tmp_path}{dumps['engine']} engine")
    assert all(PASSWORD not in line for line in engine.changes())
    assert (engine.root / "pgpass-seen").read_text().count("Pa55\\:word") == 2
    record = json.loads((tmp_path / "var/lib/opsrunner/vacuum-last.json").read_text())
    assert record["failed"] is False and record["stopped"] == SERVICES
    assert record["databases"]["engine"] == {"key": "engine", "before": 31457280,
                                             "after": 10485760, "dump": dumps["engine"]}
    assert record["pg_restore"] == f"{tmp_path}/opt/pg/bin/pg_restore"


def test_a_failing_vacuum_tool_starts_the_services_again(
        make_task: MakeTask, engine: FakeSystemd, tmp_path: Path) -> None:
    (engine.root / "vacuum-fails").write_text("")
    res = vacuum(make_task(), pg_bin_dir="/opt/pg/bin")
    assert res.failed
    assert res.msg.startswith("engine-vacuum.sh -f -v failed on database engine (exit status 1): "
                              "vacuumdb: error: out of disk; started again: ovirt-engine, "
                              "ovirt-engine-dwhd, grafana-server; engine: 30 MB -> 30 MB")
    assert "dwh-vacuum.sh -f -v" not in log(engine)
    assert all(engine.active(name) for name in SERVICES)
    record = json.loads((tmp_path / "var/lib/opsrunner/vacuum-last.json").read_text())
    assert record["failed"] is True


def test_a_failing_pg_dump_stops_before_any_vacuum(make_task: MakeTask,
                                                   engine: FakeSystemd) -> None:
    (engine.root / "dump-fails").write_text("")
    res = vacuum(make_task(), pg_bin_dir="/opt/pg/bin")
    assert res.failed
    assert res.msg.startswith("pg_dump of database engine failed (exit status 1): pg_dump: "
                              "error: connection to server failed; started again: ")
    assert not [line for line in log(engine) if "vacuum" in line]
    assert all(engine.active(name) for name in SERVICES)


def test_without_dump_and_without_dwh(make_task: MakeTask, engine: FakeSystemd,
                                      tmp_path: Path) -> None:
    (tmp_path / "etc/ovirt-engine/engine.conf.d/10-setup-dwh-database.conf").unlink()
    (engine.root / "active/grafana-server").unlink()  # not running: not stopped nor started
    res = vacuum(make_task(), dump=False, mode="analyze")
    assert not res.failed, res.msg
    assert log(engine) == ["stop ovirt-engine", "stop ovirt-engine-dwhd", "engine-vacuum.sh -a -v",
                           "start ovirt-engine", "start ovirt-engine-dwhd"]
    assert res.msg.endswith("; DWH skipped: /etc/ovirt-engine/engine.conf.d/"
                            "10-setup-dwh-database.conf does not exist; no dump taken")
    assert not engine.active("grafana-server")


def test_check_mode_reports_the_plan_and_changes_nothing(make_task: MakeTask,
                                                         engine: FakeSystemd) -> None:
    res = vacuum(make_task(check=True), pg_bin_dir="/opt/pg/bin", databases="engine")
    assert res.changed and not res.failed
    assert res.msg == ("would stop ovirt-engine, ovirt-engine-dwhd, grafana-server; "
                       "pg_dump engine; engine-vacuum.sh -f -v; start ovirt-engine, "
                       "ovirt-engine-dwhd, grafana-server")
    assert log(engine) == []


def test_retention_keeps_the_newest_own_dumps_only(make_task: MakeTask, engine: FakeSystemd,
                                                   tmp_path: Path) -> None:
    folder = tmp_path / "var/lib/ovirt-engine/backups"
    folder.mkdir(parents=True)
    old = ["engine-20240101000000.123.dump", "engine-20240102000000.124.dump"]
    setup_backup = "engine-20240101000000.a1B2c3.dump"  # engine-setup's, never touched
    for name in [*old, setup_backup]:
        (folder / name).write_text("old")
    res = vacuum(make_task(), pg_bin_dir="/opt/pg/bin", databases=["engine"], keep_dumps=2)
    assert not res.failed, res.msg
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted([old[1], setup_backup, Path(res.data["dumps"]["engine"]).name])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"databases": ["engine", "history"]},
     "databases must be some of engine, dwh; got ['engine', 'history']"),
    ({"databases": ""}, "databases must be some of engine, dwh; got []"),
    ({"keep_dumps": -1}, "keep_dumps must be 0 (keep all) or more, got -1"),
    ({"record": "last.json"}, "record must be an absolute path, got 'last.json'")])
def test_bad_parameters_fail_before_anything_runs(make_task: MakeTask, engine: FakeSystemd,
                                                  kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TaskFailed) as failed:
        vacuum(make_task(), **kwargs)
    assert str(failed.value) == message
    assert log(engine) == []


def test_dump_command_is_the_seeds_without_the_password() -> None:
    target = Target("engine", DbSettings("localhost", 5432, "engine", "engine", PASSWORD),
                    "/x/engine-vacuum.sh", "/var/lib/ovirt-engine/backups", "engine")
    command = dump_command("/usr/bin", target)
    assert PASSWORD not in command
    assert ("f=/var/lib/ovirt-engine/backups/engine-$(date +%Y%m%d%H%M%S).$$.dump" in command)
    assert ("/usr/bin/pg_dump -w -E UTF8 --disable-dollar-quoting --disable-triggers -U engine "
            '-h localhost -p 5432 --format=custom --file="$f" engine') in command


def test_human_sizes() -> None:
    assert [human(n) for n in (0, 1023, 1536, 5 * 1024 ** 2, -2048, 3 * 1024 ** 4)] == \
        ["0 bytes", "1023 bytes", "1.5 KiB", "5.0 MiB", "-2.0 KiB", "3072.0 GiB"]
