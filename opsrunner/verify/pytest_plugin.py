"""pytest plugin loaded into verification runs (``-p opsrunner.verify.pytest_plugin``).

Check files use testinfra's ``host`` fixture plus these:

* ``hostvars``: the inventory data of the host under test, with ``-e`` vars, its
  ``inventory_hostname`` and ``sysroot``.
* ``host_path``: maps an absolute path of the real system into the host's sysroot
  (``host_path("/etc/pki")``), as plugins do, so one check file fits the lab and production.
* ``engine_api``: the engine API's system service (the real ovirtsdk4 on the control node),
  logged in with the host's ``engine_*`` settings (for a host without them, those of its
  engine: see :func:`opsrunner.verify.checks_context`); skips a host that has none.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Callable, Iterator
from typing import Any

import pytest

VARS_ENV = "OPSRUNNER_VERIFY_VARS"
LOCAL_HOST_ENV = "OPSRUNNER_VERIFY_LOCAL_HOST"
PARAMS_ENV = "OPSRUNNER_VERIFY_PARAMS"
EVIDENCE_PREFIX = "evidence:"
"""The JUnit property name prefix of each ``evidence(name, value)``."""


def _json_of(env: str) -> dict[str, dict[str, Any]]:
    """The JSON file named by environment variable ``env`` ({} when it is not set)."""
    path = os.environ.get(env)
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        data: dict[str, dict[str, Any]] = json.load(fh)
    return data


def _all_vars() -> dict[str, dict[str, Any]]:
    return _json_of(VARS_ENV)


def host_name(host: Any) -> str:
    """The inventory name of a testinfra host (ssh alias, or the local host's name)."""
    backend = host.backend
    if backend.NAME == "local":
        return os.environ.get(LOCAL_HOST_ENV, "local")
    return str(backend.get_hostname())


@pytest.fixture(scope="session")
def _opsrunner_vars() -> dict[str, dict[str, Any]]:
    return _all_vars()


@pytest.fixture(scope="session")
def _opsrunner_params() -> dict[str, dict[str, Any]]:
    return _json_of(PARAMS_ENV)


@pytest.fixture
def params(request: pytest.FixtureRequest,
           _opsrunner_params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The thresholds of the compliance control this test is (empty for a workflow check).

    The params file maps ``<check file>::<test function>`` to the control's params."""
    node = request.node
    key = f"{node.path}::{getattr(node, 'originalname', node.name)}"
    return dict(_opsrunner_params.get(key, {}))


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Callable[[str, object], None]:
    """Record ``name = value`` as evidence of this check (kept whether it passes or fails)."""

    def record(name: str, value: object) -> None:
        request.node.user_properties.append((EVIDENCE_PREFIX + name, str(value)))

    return record


@pytest.fixture
def hostvars(host: Any, _opsrunner_vars: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Variables of the host under test."""
    return _opsrunner_vars.get(host_name(host), {})


@pytest.fixture
def host_path(hostvars: dict[str, Any]) -> Callable[[str], str]:
    """Map an absolute path into the host's sysroot."""
    root = str(hostvars.get("sysroot") or "/")

    def mapped(path: str) -> str:
        if root in ("", "/"):
            return path
        return posixpath.join(root, path.lstrip("/"))

    return mapped


def _secret_text(value: Any) -> str:
    """A password given as text or, when not resolved yet, as a secret reference."""
    if isinstance(value, dict):
        from pathlib import Path

        from opsrunner.secrets import read_secret

        return read_secret(value, Path.cwd(), "engine_password")
    return str(value)


@pytest.fixture
def engine_api(hostvars: dict[str, Any]) -> Iterator[Any]:
    """The engine's system service for this host's checks (logged out afterwards)."""
    if not hostvars.get("engine_url"):
        pytest.skip("no engine API settings for this host (engine_url)")
    import ovirtsdk4 as sdk

    connection = sdk.Connection(url=str(hostvars["engine_url"]),
                                username=str(hostvars.get("engine_user") or "admin@internal"),
                                password=_secret_text(hostvars.get("engine_password", "")),
                                ca_file=hostvars.get("engine_ca_file") or None,
                                insecure=bool(hostvars.get("engine_insecure", False)))
    try:
        yield connection.system_service()
    finally:
        connection.close()
