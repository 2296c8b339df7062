"""Checks after workflows/restore.yml: ovirt-engine, httpd and PostgreSQL run, the engine's
databases answer, the engine's health page answers over TLS (checked with the engine CA),
and the marker the backup held is back.

The marker is ``restore_marker`` (a note in the ``opsrunner_marker`` table, as the lab tests
plant it) or ``restore_marker_query`` (SQL on the engine database that returns a row only
when the marker is there); without either, that check is skipped.
"""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import urlsplit

import pytest

ENGINE_PSQL = "/usr/share/ovirt-engine/dbscripts/engine-psql.sh"
DWH_CONF = "/etc/ovirt-engine/engine.conf.d/10-setup-dwh-database.conf"
CA = "/etc/pki/ovirt-engine/ca.pem"
HEALTH = "/ovirt-engine/services/health"


def psql(host: Any, host_path: Any, sql: str) -> str:
    """The rows of ``sql`` through engine-psql.sh (which exits 0 even when psql fails)."""
    res = host.run(f"{shlex.quote(host_path(ENGINE_PSQL))} -A -t -c {shlex.quote(sql)}")
    assert res.rc == 0, res.stderr
    assert "ERROR" not in res.stdout and "FATAL" not in res.stdout, res.stdout
    return str(res.stdout).strip()


@pytest.mark.parametrize("service", ["ovirt-engine", "httpd", "postgresql"])
def test_service_is_active(host: Any, service: str) -> None:
    assert host.run(f"systemctl is-active {service}").rc == 0, f"{service} is not active"


def test_engine_databases_answer(host: Any, host_path: Any) -> None:
    assert psql(host, host_path, "SELECT count(*) > 0 FROM schema_version") == "t"
    dwh = host.run(f"f={shlex.quote(host_path(DWH_CONF))}; [ -f \"$f\" ] || exit 0; "
                   "( . \"$f\" && printf %s \"$DWH_DB_DATABASE\" )").stdout.strip()
    if dwh:
        names = psql(host, host_path, "SELECT datname FROM pg_database").split()
        assert dwh in names, f"the DWH database {dwh} is missing"


def test_engine_health_page_answers(host: Any, hostvars: dict[str, Any], host_path: Any) -> None:
    if hostvars.get("engine_url"):
        parts = urlsplit(str(hostvars["engine_url"]))
        url = f"{parts.scheme}://{parts.netloc}{HEALTH}"
    else:
        fqdn = hostvars.get("engine_fqdn") or host.run("hostname -f").stdout.strip()
        url = f"https://{fqdn}{HEALTH}"
    res = host.run(f"curl -fsS --max-time 30 --cacert {shlex.quote(host_path(CA))} "
                   f"{shlex.quote(url)}")
    assert res.rc == 0, f"GET {url}: {res.stderr.strip()}"
    assert "DB Up" in res.stdout, f"GET {url}: {res.stdout.strip()[:200]}"


def test_marker_from_the_backup_is_back(host: Any, hostvars: dict[str, Any],
                                        host_path: Any) -> None:
    query = hostvars.get("restore_marker_query")
    marker = hostvars.get("restore_marker")
    if not query and not marker:
        pytest.skip("no restore_marker or restore_marker_query given")
    if not query:
        note = str(marker).replace("'", "''")
        query = f"SELECT 1 FROM opsrunner_marker WHERE note = '{note}'"
    assert psql(host, host_path, str(query)), f"the marker is not back ({query})"
