"""The PostgreSQL clients ``engine-backup`` runs: dumps, restores and their checks.

Each client runs as ``<tool> -w -U user -h host -p port [-d] database ...`` with the password
in a temporary 0600 pgpass file (never argv or the environment), its command line logged,
its output appended to the log. Any stderr from ``pg_dump`` fails the backup, with that
error as the cause in the ``FATAL:`` line.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from opsrunner_lab.engine_db import DbConf, pg_bin, pgpass_env
from opsrunner_lab.tools.backup_options import DumpOptions
from opsrunner_lab.tools.backup_run import BackupRun, error_line, fail
from opsrunner_lab.tools.faults import take_fault

CHUNK = 1 << 16
# pg_restore errors the real tool ignores (extensions and objects a normal user cannot own).
IGNORED_RESTORE_ERRORS = re.compile("|".join((
    r'language "plpgsql" already exists', r"must be owner of language plpgsql",
    r"must be owner of extension plpgsql", r"must be owner of extension uuid-ossp",
    r'schema "public" already exists', r"must be owner of schema public",
    r'must be member of role "postgres"', r"permission denied for language c",
    r"function public\.uuid_\w+\(.*\) does not exist",
    r"permission denied to create extension", r"extension .* does not exist")))


def open_compressed(path: Path, compressor: str, write: bool) -> io.BufferedIOBase:
    """``path`` opened (binary) through ``compressor`` (gzip, bzip2, xz; "" for none)."""
    mode = "wb" if write else "rb"
    if compressor == "gzip":
        return gzip.GzipFile(path, mode)
    if compressor == "bzip2":
        return bz2.BZ2File(path, "wb") if write else bz2.BZ2File(path, "rb")
    if compressor == "xz":
        return lzma.LZMAFile(path, mode)
    return path.open("wb") if write else path.open("rb")


def pg_argv(tool: str, conf: DbConf, args: Sequence[str], use_d: bool = False) -> list[str]:
    """The client command line (no password in it)."""
    database = ["-d", conf.database] if use_d else [conf.database]
    return [pg_bin(tool), "-w", "-U", conf.user, "-h", conf.host, "-p", str(conf.port),
            *database, *args]


def run_pg(run: BackupRun, conf: DbConf, tool: str, args: Sequence[str], *,
           log_stdout: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a client to completion; its output is returned and logged (stdout only when
    ``log_stdout``: a schema dump stays out of the log)."""
    argv = pg_argv(tool, conf, args)
    run.log.line(f"pg_cmd running: {' '.join([tool, *argv[1:]])}")
    with pgpass_env([conf], base=_base_env()) as env:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
    run.log.raw((done.stdout if log_stdout else "") + done.stderr)
    return done


def dump_database(run: BackupRun, conf: DbConf, target: Path, dump: DumpOptions) -> None:
    """``pg_dump`` ``conf``'s database into ``target`` (compressed by ``dump.compressor``)."""
    args = ["-E", "UTF8", "--disable-dollar-quoting", "--disable-triggers",
            f"--format={dump.dump_format}"]
    if dump.dump_format == "plain":
        args += ["--no-owner", "--no-privileges"]
    argv = pg_argv("pg_dump", conf, args)
    run.log.line(f"pg_cmd running: {' '.join(['pg_dump', *argv[1:]])}")
    failed = f"Database {conf.database} backup failed"
    fault = take_fault(run.layout, "pg_dump", f'pg_dump: error: connection to server at '
                       f'"{conf.host}", port {conf.port} failed: FATAL:  the database '
                       f'system is shutting down')
    if fault is not None:
        run.log.raw(fault + "\n")
        raise fail(failed, cause=fault)
    errors = run.temp / "pgdump.log"
    try:
        with pgpass_env([conf], base=_base_env()) as env, errors.open("wb") as err_out:
            if dump.compressor:
                _dump_compressed(argv, env, err_out, target, dump.compressor, conf.database)
            else:
                with target.open("wb") as out:
                    subprocess.run(argv, env=env, stdout=out, stderr=err_out, check=False)
    except OSError as exc:
        raise fail(failed, cause=str(exc)) from None
    stderr = errors.read_text(errors="replace")
    if stderr.strip():
        run.log.raw(stderr)
        raise fail(failed, cause=error_line(stderr))


def _dump_compressed(argv: list[str], env: dict[str, str], err_out: IO[bytes], target: Path,
                     compressor: str, database: str) -> None:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=err_out)
    assert proc.stdout is not None
    try:
        with open_compressed(target, compressor, write=True) as out:
            while chunk := proc.stdout.read(CHUNK):
                out.write(chunk)
    except OSError as exc:
        proc.kill()
        raise fail(f"{compressor} failed compressing the backup of database {database}",
                   cause=str(exc)) from None
    finally:
        proc.stdout.close()
        proc.wait()


def restore_database(run: BackupRun, conf: DbConf, source: Path, dump: DumpOptions,
                     restore_permissions: bool) -> None:
    """Restore ``source`` into ``conf``'s database: ``pg_restore`` (custom) or ``psql``
    (plain); ToolError on a failure or an ``ERROR:`` line outside the ignore list."""
    failed = f"Database {conf.database} restore failed"
    if dump.dump_format == "plain":
        argv, feed = pg_argv("psql", conf, []), True
    else:
        args = [] if restore_permissions else ["--no-owner", "--no-privileges"]
        feed = bool(dump.compressor)  # a piped dump cannot be restored in parallel
        if not feed:
            args += ["-j", str(dump.restore_jobs), str(source)]
        argv = pg_argv("pg_restore", conf, args, use_d=True)
    run.log.line(f"pg_cmd running: {' '.join([Path(argv[0]).name, *argv[1:]])}")
    with pgpass_env([conf], base=_base_env()) as env:
        status, text = _run_logged(argv, env, run.temp / "pg-restore-log",
                                   source if feed else None, dump.compressor, failed)
    run.log.raw(text)
    if dump.dump_format == "plain" and status != 0:
        raise fail(failed, cause=error_line(text))
    errors = [line for line in text.splitlines()
              if "ERROR: " in line and not IGNORED_RESTORE_ERRORS.search(line)]
    if errors:
        run.log.line("Non-ignored-errors in pg_restore log:")
        run.log.raw("\n".join(errors) + "\n")
        raise fail(f"Errors while restoring database {conf.database}", cause=errors[0])


def verify_dump(run: BackupRun, source: Path, dump: DumpOptions, database: str) -> None:
    """Check that a dump reads back: ``pg_restore -l`` lists a custom dump; a plain dump must
    decompress. ToolError: ``Errors while running pg_restore <database>``."""
    failed = f"Errors while running pg_restore {database}"
    if dump.dump_format == "plain":
        try:
            with open_compressed(source, dump.compressor, write=False) as data:
                while data.read(CHUNK):
                    pass
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise fail(failed, cause=str(exc)) from None
        return
    argv = [pg_bin("pg_restore"), "-l"] + ([] if dump.compressor else [str(source)])
    _, text = _run_logged(argv, _base_env(), run.temp / "pg-verify-log",
                          source if dump.compressor else None, dump.compressor, failed)
    bad = [line for line in text.splitlines() if "error: " in line.lower()]
    if bad:
        run.log.raw("\n".join(bad) + "\n")
        raise fail(failed, cause=bad[0])


def _run_logged(argv: list[str], env: dict[str, str], log_path: Path, source: Path | None,
                compressor: str, failed: str) -> tuple[int, str]:
    """Run ``argv`` with stdout and stderr into ``log_path``, feeding it ``source``
    (decompressed) on stdin when given; its exit status and output."""
    with log_path.open("wb") as out:
        if source is None:
            done = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, check=False)
            status = done.returncode
        else:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=out,
                                    stderr=subprocess.STDOUT)
            assert proc.stdin is not None
            try:
                with open_compressed(source, compressor, write=False) as data:
                    while chunk := data.read(CHUNK):
                        proc.stdin.write(chunk)
            except BrokenPipeError:
                pass
            except (OSError, EOFError, lzma.LZMAError) as exc:
                proc.kill()
                raise fail(failed, cause=f"{compressor} -d: {exc}") from None
            finally:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
                proc.wait()
            status = proc.returncode
    return status, log_path.read_text(errors="replace")


def _base_env() -> dict[str, str]:
    """The clean environment the real tool re-executes itself with (plus C messages)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
            "TMPDIR": os.environ.get("TMPDIR", "/tmp")}
