"""Checks after workflows/vacuum.yml: the services that were stopped run again, each dump is
there and readable by pg_restore, and no vacuumed database is larger than before (page-level
noise aside).

They read the vacuum step's record on the host (``vacuum_record``, default
/var/lib/opsrunner/vacuum-last.json): its sizes before, its dumps and the pg_restore it used.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from opsrunner_plugins.vacuum.db import SIZE_QUERY, parse_sizes

RECORD = "/var/lib/opsrunner/vacuum-last.json"
ENGINE_PSQL = "/usr/share/ovirt-engine/dbscripts/engine-psql.sh"
SEED_SERVICES = ["ovirt-engine", "ovirt-engine-dwhd", "grafana-server"]


@pytest.fixture
def record(host: Any, hostvars: dict[str, Any], host_path: Any) -> dict[str, Any]:
    path = host_path(hostvars.get("vacuum_record", RECORD))
    found = host.file(path)
    assert found.is_file, f"no vacuum record at {path}: the vacuum step did not finish"
    data: dict[str, Any] = json.loads(found.content_string)
    return data


def test_the_vacuum_finished(record: dict[str, Any]) -> None:
    assert record["failed"] is False, "the last vacuum failed (see the run's report)"


@pytest.mark.parametrize("service", SEED_SERVICES)
def test_stopped_service_runs_again(host: Any, record: dict[str, Any], service: str) -> None:
    if service not in record["stopped"]:
        pytest.skip(f"{service} was not running before the vacuum")
    assert host.run(f"systemctl is-active {shlex.quote(service)}").rc == 0, \
        f"{service} is not active"


def test_each_dump_is_readable_by_pg_restore(host: Any, record: dict[str, Any],
                                             host_path: Any) -> None:
    dumps = {name: db["dump"] for name, db in record["databases"].items() if db["dump"]}
    if not dumps:
        pytest.skip("the vacuum took no dump (dump: false)")
    for name, dump in dumps.items():
        path = host_path(dump)
        assert host.file(path).is_file, f"the dump of {name} is missing: {dump}"
        listing = host.run(f"{shlex.quote(record['pg_restore'])} -l {shlex.quote(path)}")
        assert listing.rc == 0, f"pg_restore -l {dump}: {listing.stderr.strip()}"
        assert "TABLE DATA" in listing.stdout, f"the dump of {name} holds no table data"


def test_no_database_is_larger_than_before(host: Any, record: dict[str, Any],
                                           hostvars: dict[str, Any], host_path: Any) -> None:
    """A VACUUM FULL of a database without dead rows may leave it a few pages larger (new
    files for rewritten tables and catalogs); ``vacuum_size_tolerance`` bytes, by default 1%
    of the size before (at least 64 KiB), count as noise."""
    psql = host_path(hostvars.get("engine_psql", ENGINE_PSQL))
    res = host.run(f"{shlex.quote(psql)} -A -t -F '|' -c {shlex.quote(SIZE_QUERY)}")
    sizes = parse_sizes(res.stdout)
    for name, db in record["databases"].items():
        assert name in sizes, f"database {name} is gone"
        before = int(db["before"])
        tolerance = int(hostvars.get("vacuum_size_tolerance", max(before // 100, 65536)))
        assert sizes[name].size <= before + tolerance, \
            f"{name} is {sizes[name].size} bytes, larger than before the vacuum ({before})"
