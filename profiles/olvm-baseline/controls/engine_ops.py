"""Checks of the engine's operations controls (engine_ops.yml): a recent backup that
engine-backup accepts, database dead rows, the engine's services and health page, and the
clocks of the engine and the KVM hosts.

Files are reached through ``host_path`` (the host's sysroot); the engine at its
``engine_address`` (default: ``engine_fqdn``, else localhost) on its ``ports``. Every assertion
message is one line an auditor reads: what was found, what the profile requires, where.
"""

from __future__ import annotations

import datetime
import posixpath
import shlex
import time
from collections.abc import Callable
from typing import Any

Evidence = Callable[[str, object], None]
PathMap = Callable[[str], str]

BACKUP_DIR = "/var/lib/ovirt-engine-backup"
BACKUP_PATTERN = "*.backup"  # engine-backup's own names: ovirt-engine-backup-<stamp>.backup
ENGINE_PSQL = "/usr/share/ovirt-engine/dbscripts/engine-psql.sh"
SERVICES = ("ovirt-engine, ovirt-engine-dwhd, ovirt-imageio, ovirt-provider-ovn, "
            "ovirt-websocket-proxy, httpd, postgresql")
HEALTH_PATH = "/ovirt-engine/services/health"
HEALTHY = "DB Up!Welcome to Health Status!"
# Every user table's live and dead rows, as the statistics collector counts them (what a
# VACUUM gives back); the worst first.
DEAD_ROWS_QUERY = ("SELECT schemaname || '.' || relname, n_live_tup, n_dead_tup "
                   "FROM pg_stat_user_tables ORDER BY n_dead_tup DESC, relname")


def engine_address(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("engine_address") or hostvars.get("engine_fqdn") or "localhost")


def utc(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# ---------------------------------------------------------------- OLVM-BAK-001

def _newest_backup(host: Any, folder: str, pattern: str) -> tuple[float, float, str] | None:
    """(the host's time now, the newest backup's mtime, its file name) or None: no backup."""
    res = host.run(f"date +%s; find {shlex.quote(folder)} -maxdepth 1 -type f "
                   f"-name {shlex.quote(pattern)} -printf '%T@ %f\\n'")
    lines = res.stdout.splitlines()
    assert res.rc == 0 and lines, f"cannot list {folder} on the engine (exit status {res.rc})"
    host_now = float(lines[0])
    found = []
    for line in lines[1:]:
        stamp, _, name = line.partition(" ")
        found.append((float(stamp), name))
    if not found:
        return None
    stamp, name = max(found)
    return host_now, stamp, name


def test_recent_backup_verifies(host: Any, hostvars: dict[str, Any], host_path: PathMap,
                                params: dict[str, Any], evidence: Evidence) -> None:
    folder = str(params.get("backup_dir", BACKUP_DIR))
    max_hours = float(params.get("max_age_hours", 26))
    pattern = str(params.get("backup_pattern", BACKUP_PATTERN))
    newest = _newest_backup(host, host_path(folder), pattern)
    if newest is None:
        evidence("backup.file", "(none)")
    assert newest is not None, (f"no engine backup ({pattern}) in {folder} on the "
                                f"engine, the profile requires one newer than {max_hours:g} "
                                f"hours that engine-backup --mode=verify accepts")
    host_now, stamp, name = newest
    shown = posixpath.join(folder, name)
    path = host_path(shown)
    age = (host_now - stamp) / 3600
    digest = host.run(f"sha256sum -- {shlex.quote(path)}").stdout.split()
    evidence("backup.file", name)
    evidence("backup.sha256", digest[0] if digest else "(unreadable)")
    evidence("backup.time", utc(stamp))
    assert age <= max_hours, (f"the newest engine backup {shown} is {age:.1f} hours old "
                              f"(written {utc(stamp)}), the profile requires one newer than "
                              f"{max_hours:g} hours")
    tool = str(hostvars.get("engine_backup_command") or "engine-backup")
    res = host.run(f"l=$(mktemp) || exit 1; {shlex.quote(tool)} --mode=verify --file={shlex.quote(path)} "
                   "--log=\"$l\" </dev/null; s=$?; rm -f \"$l\"; exit $s")
    why = next((line.strip() for line in (res.stderr + res.stdout).splitlines()
                if "FATAL" in line), (res.stderr or res.stdout).strip()[-200:])
    evidence("backup.verify", "accepted" if res.rc == 0 else f"refused: {why}")
    assert res.rc == 0, (f"engine-backup --mode=verify --file={shown} refuses the newest "
                         f"engine backup (exit status {res.rc}): {why}")


# ---------------------------------------------------------------- OLVM-DB-001

def test_engine_database_dead_rows(host: Any, hostvars: dict[str, Any], host_path: PathMap,
                                   params: dict[str, Any], evidence: Evidence) -> None:
    """A table is bloated when it holds more than ``max_dead_rows`` dead rows and they are more
    than ``max_dead_ratio`` of its rows (as autovacuum's threshold plus scale factor).

    The counts are PostgreSQL's statistics (``pg_stat_user_tables``), read through
    engine-psql.sh as the vacuum procedure measures. A plain VACUUM (autovacuum's) or ANALYZE
    updates them; a ``VACUUM FULL`` (``engine-vacuum.sh -f``) does not, so right after it the
    dead rows stay counted until autovacuum's next pass over the table (a minute or so on an
    engine with autovacuum on, which is PostgreSQL's default)."""
    max_rows = int(params.get("max_dead_rows", 10000))
    max_ratio = float(params.get("max_dead_ratio", 0.2))
    psql = str(hostvars.get("engine_psql") or ENGINE_PSQL)
    res = host.run(f"{shlex.quote(host_path(psql))} -A -t -F '|' "
                   f"-c {shlex.quote(DEAD_ROWS_QUERY)}")
    rows: list[tuple[str, int, int]] = []
    for line in res.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            rows.append((parts[0], int(parts[1]), int(parts[2])))
    detail = next((ln.strip() for ln in (res.stdout + res.stderr).splitlines()
                   if "ERROR" in ln or "FATAL" in ln), "no rows")
    assert res.rc == 0 and rows, (f"{psql} on the engine could not read the engine "
                                  f"database's table statistics: {detail}")
    bloated = [(name, live, dead) for name, live, dead in rows
               if dead > max_rows and dead / (live + dead) > max_ratio]
    described = "; ".join(f"{name} {dead} dead of {live + dead} rows "
                          f"({dead / (live + dead):.0%})" for name, live, dead in bloated[:3])
    # stable while healthy (no drift from the counters' daily movement), the numbers when not
    evidence("dead_rows.bloated_tables", described or "none")
    assert not bloated, (f"the engine database has {len(bloated)} bloated table(s): "
                         f"{described}; the profile allows at most {max_rows} dead rows or "
                         f"{max_ratio:.0%} dead in a table (run the engine vacuum)")


# ---------------------------------------------------------------- OLVM-SVC-001

def test_engine_services_running(host: Any, params: dict[str, Any],
                                 evidence: Evidence) -> None:
    names = [n.strip() for n in str(params.get("services", SERVICES)).split(",") if n.strip()]
    stopped = []
    for name in names:
        running = bool(host.service(name).is_running)
        evidence(f"service.{name}", "running" if running else "not running")
        if not running:
            stopped.append(name)
    assert not stopped, (f"{', '.join(stopped)} {'is' if len(stopped) == 1 else 'are'} not "
                         f"running on the engine, the profile requires {', '.join(names)} "
                         f"running")


# ---------------------------------------------------------------- OLVM-SVC-002

def test_engine_health_page(host: Any, hostvars: dict[str, Any],
                            evidence: Evidence) -> None:
    https = int((hostvars.get("ports") or {}).get("https", 443))
    url = f"https://{engine_address(hostvars)}:{https}{HEALTH_PATH}"
    res = host.run(f"curl -s -k --max-time 10 -w '\\n%{{http_code}}' {shlex.quote(url)}")
    body, _, code = res.stdout.rpartition("\n")
    body = body.strip()
    evidence("health.status", code.strip() or "(no answer)")
    evidence("health.body", body[:80] or "(empty)")
    assert res.rc == 0, f"{url} does not answer (curl exit status {res.rc})"
    assert code.strip() == "200" and HEALTHY in body, (
        f"{url} answers HTTP {code.strip()} {body[:80]!r}, the profile requires 200 "
        f"{HEALTHY!r}")


# ---------------------------------------------------------------- OLVM-TIME-001

def test_clock_in_sync(host: Any, params: dict[str, Any], evidence: Evidence) -> None:
    """The host's ``date +%s.%N`` must fall within ``max_skew_seconds`` of the control node's
    clock between sending the command and reading its answer (the round trip counts for the
    host)."""
    max_skew = float(params.get("max_skew_seconds", 5))
    host.run("true")  # the connection is set up before the clock is read
    before = time.time()
    res = host.run("date -u +%s.%N")
    after = time.time()
    text = res.stdout.strip()
    assert res.rc == 0 and text.replace(".", "", 1).isdigit(), \
        f"date -u +%s.%N on the host answered {text[:60]!r} (exit status {res.rc})"
    remote = float(text)
    offset = remote - (before + after) / 2
    beyond = max(before - remote, remote - after, 0.0)  # off by more than the round trip
    # whole seconds: a healthy clock's evidence stays the same from run to run
    evidence("clock.offset_seconds", f"{round(offset):+d}")
    assert beyond <= max_skew, (f"the host's clock reads {utc(remote)}, {offset:+.1f} s off the "
                                f"control node (round trip {after - before:.2f} s), the profile "
                                f"allows {max_skew:g} s")

