"""``-e engine_*`` extra vars win over the inventory's engine settings for every host's engine
session: the engine host's own tasks, a guest reaching the one engine, a host naming its
``engine_host``, the pool's sessions and the checks' ``hostvars``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opsrunner.engine import EnginePool
from opsrunner.engine.settings import EngineSettings, engine_extra_vars, settings_for
from opsrunner.errors import UsageError
from opsrunner.host import Host
from opsrunner.hoststate import HostSession, HostState
from opsrunner.verify import checks_context

URL = "https://engine.example.com/ovirt-engine/api"


def pem(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return str(path)


@pytest.fixture
def hosts(tmp_path: Path) -> dict[str, Host]:
    data = {"engine_url": URL, "engine_user": "admin@internal", "engine_password": "s3cret!",
            "engine_ca_file": pem(tmp_path, "old-ca.pem")}
    return {"engine": Host("engine", "10.0.0.2", data=data),
            "guest": Host("guest", "10.0.0.20"),
            "kvm1": Host("kvm1", "10.0.0.11", data={"engine_host": "engine"})}


def test_only_engine_vars_but_engine_host_are_overrides() -> None:
    extra = {"engine_ca_file": "/x", "engine_insecure": True, "engine_host": "e2", "ca_chain": "/y"}
    assert engine_extra_vars(extra) == {"engine_ca_file": "/x", "engine_insecure": True}
    assert engine_extra_vars(None) == {}


@pytest.mark.parametrize("name", ["engine", "guest", "kvm1"])
def test_extra_engine_ca_file_wins_on_every_host(hosts: dict[str, Host], tmp_path: Path,
                                                 name: str) -> None:
    new = pem(tmp_path, "new-ca.pem")
    host = hosts[name]
    got = settings_for(host, host.data, hosts, {"engine_ca_file": new})
    assert (got.ca_file, got.source) == (new, "engine")
    assert settings_for(host, host.data, hosts).ca_file == str(tmp_path / "old-ca.pem")


def test_extra_vars_win_over_the_tasks_own_vars(hosts: dict[str, Host], tmp_path: Path) -> None:
    new = pem(tmp_path, "new-ca.pem")
    engine = hosts["engine"]
    vars = {**engine.data, "engine_ca_file": str(tmp_path / "old-ca.pem")}  # e.g. a workflow var
    assert settings_for(engine, vars, hosts, {"engine_ca_file": new}).ca_file == new


def test_extra_engine_insecure_reaches_a_guest(hosts: dict[str, Host]) -> None:
    got = settings_for(hosts["guest"], {}, hosts, {"engine_insecure": "true", "engine_ca_file": ""})
    assert (got.insecure, got.ca_file) == (True, None)


def test_a_bad_extra_ca_file_is_named_with_the_engine_host(hosts: dict[str, Host]) -> None:
    with pytest.raises(UsageError) as caught:
        settings_for(hosts["guest"], {}, hosts, {"engine_ca_file": "/nonexistent/ca.pem"})
    assert str(caught.value) == ("host 'engine': engine_ca_file '/nonexistent/ca.pem' is not a "
                                 "readable file")


def test_the_pool_applies_extra_vars_to_every_session(hosts: dict[str, Host],
                                                      tmp_path: Path) -> None:
    new = pem(tmp_path, "new-ca.pem")
    made: list[EngineSettings] = []

    def connect(settings: EngineSettings) -> Any:
        made.append(settings)
        return object()

    pool = EnginePool(check=False, inventory=hosts, connect=connect,
                      extra_vars={"engine_ca_file": new})
    session = pool.session(hosts["guest"], {})
    assert pool.session(hosts["kvm1"], hosts["kvm1"].data) is session
    assert session.settings.ca_file == new


def test_checks_see_the_extra_ca_file_on_a_guest(hosts: dict[str, Host], tmp_path: Path) -> None:
    new = pem(tmp_path, "new-ca.pem")

    def no_connection() -> Any:
        raise AssertionError("never connects")

    state = HostState(hosts["guest"], HostSession(no_connection), workflow_vars={},
                      extra_vars={"engine_ca_file": new}, check=False, run_id="r1")
    context = checks_context(state, hosts)
    assert (context["engine_ca_file"], context["engine_url"]) == (new, URL)
