"""engine-psql.sh, engine-vacuum.sh and dwh-vacuum.sh against the lab's real PostgreSQL:
the real options and messages, space given back, and the password kept out of argv."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_lab import PgLab, query, running_pg_lab

from opsrunner_lab.postgres import install_db_tools
from opsrunner_lab.tools.common import DWH_VACUUM, ENGINE_PSQL, ENGINE_VACUUM

ADDRESS = "127.0.84.3"


@pytest.fixture(scope="module")
def pg() -> Iterator[PgLab]:
    with running_pg_lab(ADDRESS) as lab:
        yield lab


def run(pg: PgLab, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an installed tool by its path, as over SSH: a clean environment, cwd /."""
    return subprocess.run([str(pg.sysroot / tool), *args], capture_output=True, text=True,
                          check=False, cwd="/", env={"PATH": "/usr/bin:/bin"})


def db_logs(pg: PgLab) -> list[Path]:
    return sorted((pg.sysroot / "var/log/ovirt-engine/db-manual").glob("*-engine-psql.log"))


def test_install_is_idempotent_and_makes_executables(pg: PgLab) -> None:
    first = install_db_tools(pg.layout)
    texts = [path.read_text() for path in first]
    assert install_db_tools(pg.layout) == first
    assert [path.read_text() for path in first] == texts
    assert [path.relative_to(pg.sysroot).as_posix() for path in first] == \
        [ENGINE_PSQL, ENGINE_VACUUM, DWH_VACUUM]
    assert all(path.stat().st_mode & 0o777 == 0o755 for path in first)


def test_engine_psql_prints_the_query_result_and_logs_it(pg: PgLab) -> None:
    done = run(pg, ENGINE_PSQL, "-A", "-t", "-c", "select count(*), current_user from audit_log")
    assert (done.returncode, done.stdout, done.stderr) == (0, "10000|engine\n", "")
    log = "".join(path.read_text() for path in db_logs(pg))
    assert (f" : Executing command : {pg.sysroot / ENGINE_PSQL} -A -t -c select count(*), "
            f"current_user from audit_log\n") in log
    assert " : Output:\n10000|engine\n" in log
    assert " : result: 0\n" in log


def test_engine_psql_exits_0_when_psql_fails_and_logs_the_error(pg: PgLab) -> None:
    done = run(pg, ENGINE_PSQL, "-c", "select * from no_such_table")
    assert done.returncode == 0
    assert 'ERROR:  relation "no_such_table" does not exist' in done.stdout
    log = db_logs(pg)[-1].read_text()
    assert 'ERROR:  relation "no_such_table" does not exist' in log
    assert log.rstrip().endswith(" : result: 1")


def test_engine_psql_logs_the_file_it_runs(pg: PgLab, tmp_path: Path) -> None:
    script = tmp_path / "fix.sql"
    script.write_text("select 'from a file';\n")
    done = run(pg, ENGINE_PSQL, "-A", "-t", f"--file={script}")
    assert done.stdout == "from a file\n"
    log = db_logs(pg)[-1].read_text()
    assert " : file content is:\nselect 'from a file';\n" in log


def test_engine_psql_refuses_an_unreadable_file(pg: PgLab, tmp_path: Path) -> None:
    done = run(pg, ENGINE_PSQL, "-f", str(tmp_path / "missing.sql"))
    assert (done.returncode, done.stderr) == (1, f"FATAL: {tmp_path}/missing.sql is unreadable.\n")


def sizes(pg: PgLab, database: str, table: str) -> tuple[int, int]:
    conf = pg.engine if database == "engine" else pg.dwh
    out = query(conf, f"select pg_database_size('{database}'), pg_total_relation_size('{table}')")
    database_size, table_size = out.split("|")
    return int(database_size), int(table_size)


def test_engine_vacuum_full_verbose_gives_the_space_back(pg: PgLab) -> None:
    database_before, table_before = sizes(pg, "engine", "audit_log")
    done = run(pg, ENGINE_VACUUM, "-f", "-v")
    assert done.returncode == 0, done.stderr
    assert "VACUUM (FULL, VERBOSE) public.audit_log;" in done.stdout  # -e echoes the commands
    assert 'INFO:  vacuuming "public.audit_log"' in done.stderr
    database_after, table_after = sizes(pg, "engine", "audit_log")
    assert table_after * 3 < table_before
    assert database_after < database_before
    assert query(pg.engine, "select count(*) from audit_log") == "10000"


def test_engine_vacuum_refuses_analyze_only_with_full(pg: PgLab) -> None:
    for args in (["-A", "-f"], ["-fA"], ["-f", "-a", "-A"]):
        done = run(pg, ENGINE_VACUUM, *args)
        assert (done.returncode, done.stdout, done.stderr) == \
            (1, "", "FATAL: Can not mix -A and -f, use only one of them\n"), args


def test_engine_vacuum_analyze_only_of_one_table_passes_the_options(pg: PgLab) -> None:
    done = run(pg, ENGINE_VACUUM, "-A", "-v", "-t", "job")
    assert done.returncode == 0, done.stderr
    assert "ANALYZE (VERBOSE) public.job;" in done.stdout
    assert "audit_log" not in done.stdout


def test_engine_vacuum_exits_with_vacuumdbs_status(pg: PgLab) -> None:
    done = run(pg, ENGINE_VACUUM, "-t", "no_such_table")
    assert done.returncode == 1
    assert 'relation "no_such_table" does not exist' in done.stderr


def test_engine_vacuum_help_and_missing_argument(pg: PgLab) -> None:
    done = run(pg, ENGINE_VACUUM, "-h")
    assert done.returncode == 0
    assert done.stdout.startswith(f"Usage {pg.sysroot / ENGINE_VACUUM}:\n")
    assert "    -A          - analyze only" in done.stdout
    done = run(pg, ENGINE_VACUUM, "-t")
    assert (done.returncode, done.stderr) == (1, "FATAL: -t requires an argument\n")


def test_dwh_vacuum_full_of_a_table_gives_its_space_back(pg: PgLab) -> None:
    _, before = sizes(pg, "ovirt_engine_history", "vm_samples_history")
    done = run(pg, DWH_VACUUM, "-f", "-t", "vm_samples_history")
    assert done.returncode == 0, done.stderr
    _, after = sizes(pg, "ovirt_engine_history", "vm_samples_history")
    assert after * 3 < before
    assert query(pg.dwh, "select count(*) from vm_samples_history") == "9600"


def test_vacuum_without_connection_details_says_so(pg: PgLab, tmp_path: Path) -> None:
    empty = tmp_path / "sysroot"
    tool = empty / ENGINE_VACUUM
    tool.parent.mkdir(parents=True)
    tool.write_bytes((pg.sysroot / ENGINE_VACUUM).read_bytes())
    tool.chmod(0o755)
    done = subprocess.run([str(tool), "-f"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (1, "FATAL: Can't parse the connection details\n")


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(errors="replace"): value.decode(errors="replace") for key, value in pairs}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_the_password_never_shows_in_argv_or_the_environment(pg: PgLab) -> None:
    """Watch every process while engine-psql.sh runs a slow query: the password is in no
    argv and no environment; psql gets it through a 0600 PGPASSFILE, removed afterwards."""
    secret = pg.engine.password.encode()
    tool = subprocess.Popen([str(pg.sysroot / ENGINE_PSQL), "-c", "select pg_sleep(1)"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    leaks: list[str] = []
    pgpass_files: dict[str, int] = {}
    while tool.poll() is None:
        for entry in Path("/proc").glob("[0-9]*"):
            pid = int(entry.name)
            if pid == os.getpid():
                continue
            environ = _environ(pid)
            if secret in _cmdline(pid) or any(pg.engine.password in v for v in environ.values()):
                leaks.append(_cmdline(pid).decode(errors="replace"))
            path = environ.get("PGPASSFILE")
            if path and path not in pgpass_files:
                with contextlib.suppress(FileNotFoundError):
                    pgpass_files[path] = Path(path).stat().st_mode & 0o777
    assert tool.returncode == 0
    assert leaks == []
    assert list(pgpass_files.values()) == [0o600]
    assert not any(Path(path).exists() for path in pgpass_files)
    for script in pg.sysroot.rglob("*.sh"):
        assert pg.engine.password not in script.read_text()
