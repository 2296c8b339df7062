"""The engine session's pure logic: waiting with backoff (fake clock and service), error wording,
settings from inventory variables, the check-mode safety net, and the lazy import of ovirtsdk4."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest

from opsrunner.connection.local import LocalConnection
from opsrunner.engine import EnginePool, EngineSession, not_found_message
from opsrunner.engine.errors import engine_errors, sdk_error_message
from opsrunner.engine.settings import EngineSettings, settings_for, settings_from_vars
from opsrunner.engine.wait import GONE, wait_for_status
from opsrunner.errors import (
    EngineCheckModeError,
    EngineError,
    EngineTimeout,
    TaskFailed,
    UsageError,
)
from opsrunner.host import Host
from opsrunner.secrets import Redactor
from opsrunner.task import Task

URL = "https://engine.example.com/ovirt-engine/api"


class FakeClock:
    """Time moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 4))
        self.now += seconds


@dataclass
class Entity:
    status: Any
    name: str = "kvm1"


@dataclass
class FakeService:
    """``get()`` answers the next status of ``statuses`` (the last one repeats)."""

    statuses: list[Any]
    gets: int = 0
    gone_after: int | None = None
    seen: list[Any] = field(default_factory=list)

    def get(self) -> Entity:
        self.gets += 1
        if self.gone_after is not None and self.gets > self.gone_after:
            raise sdk.NotFoundError("HTTP response code is 404.", code=404)
        return Entity(self.statuses[min(self.gets, len(self.statuses)) - 1])


def test_wait_returns_at_once_when_the_status_is_there() -> None:
    clock = FakeClock()
    service = FakeService([types.HostStatus.MAINTENANCE])
    entity = wait_for_status(service, "maintenance", deadline=clock.now + 10,
                             describe="host kvm1", clock=clock)
    assert entity.status == types.HostStatus.MAINTENANCE
    assert (service.gets, clock.sleeps) == (1, [])


def test_wait_backs_off_from_half_a_second_by_1_5_up_to_3_seconds() -> None:
    clock = FakeClock()
    service = FakeService(["up"] + ["preparing_for_maintenance"] * 8 + ["maintenance"])
    seen: list[str] = []
    wait_for_status(service, "maintenance", deadline=clock.now + 600, describe="host kvm1",
                    clock=clock, on_status=seen.append)
    assert clock.sleeps == [0.5, 0.75, 1.125, 1.6875, 2.5312, 3.0, 3.0, 3.0, 3.0]
    assert seen == ["up", "preparing_for_maintenance", "maintenance"]
    assert service.gets == 10


def test_wait_times_out_naming_the_entity_the_status_reached_and_the_awaited_one() -> None:
    clock = FakeClock()
    service = FakeService(["preparing_for_maintenance"])
    with pytest.raises(EngineTimeout) as caught:
        wait_for_status(service, "maintenance", deadline=clock.now + 10, describe="host kvm1",
                        clock=clock)
    assert str(caught.value) == ("timed out after 10s waiting for host kvm1 to reach "
                                 "maintenance: its status is still preparing_for_maintenance")
    assert clock.now == 110.0  # the last sleep is cut to the deadline
    assert isinstance(caught.value, TaskFailed)


def test_wait_stops_early_on_a_failure_status() -> None:
    clock = FakeClock()
    service = FakeService(["unassigned", "non_operational", "up"])
    with pytest.raises(EngineError) as caught:
        wait_for_status(service, "up", deadline=clock.now + 600, describe="host kvm2",
                        clock=clock)
    assert str(caught.value) == "host kvm2 reached status non_operational while waiting for up"
    assert service.gets == 2


def test_wait_for_one_of_several_statuses_and_custom_failures() -> None:
    clock = FakeClock()
    with pytest.raises(EngineError) as caught:
        wait_for_status(FakeService(["illegal"]), ["ok", "locked"], deadline=clock.now + 60,
                        describe="template t1", clock=clock, failure_statuses={"illegal"})
    assert str(caught.value) == ("template t1 reached status illegal while waiting for "
                                 "locked or ok")
    # An awaited status is never a failure; a custom reader picks another field.
    entity = wait_for_status(FakeService([Entity("x", name="illegal")]), "illegal",
                             deadline=clock.now + 60, describe="t", clock=clock,
                             status_of=lambda e: e.status.name)
    assert entity.status.name == "illegal"


def test_wait_for_a_removal_sees_gone() -> None:
    clock = FakeClock()
    service = FakeService(["locked"], gone_after=2)
    assert wait_for_status(service, GONE, deadline=clock.now + 60, describe="snapshot s",
                           clock=clock) is None
    assert service.gets == 3
    # Not awaited, a 404 is the SDK's error (the session turns it into an EngineError).
    with pytest.raises(sdk.NotFoundError):
        wait_for_status(FakeService(["ok"], gone_after=0), "ok", deadline=clock.now + 60,
                        describe="disk d", clock=clock)


def fault_error(code: int, reason: str, detail: str) -> sdk.Error:
    return sdk.Error(f'Fault reason is "{reason}". Fault detail is "{detail}". HTTP response '
                     f"code is {code}.", code=code, fault=types.Fault(reason=reason, detail=detail))


@pytest.mark.parametrize(("exc", "expected"), [
    (fault_error(409, "Operation Failed", "[Cannot switch Host kvm1 to Maintenance mode.]"),
     "deactivate host kvm1: Operation Failed: [Cannot switch Host kvm1 to Maintenance mode.] "
     "(HTTP 409)"),
    (sdk.AuthError("Error during SSO authentication access_denied : Cannot authenticate user "
                   "'admin@internal': Unable to log in.."),
     f"engine login as admin@internal at {URL} failed: Error during SSO authentication "
     "access_denied : Cannot authenticate user 'admin@internal': Unable to log in"),
    (sdk.ConnectionError("Error while sending HTTP request: (7, 'Failed to connect to "
                         "127.0.80.2:4444 after 0 ms: Could not connect to server')"),
     f"deactivate host kvm1: cannot reach the engine at {URL}: Failed to connect to "
     "127.0.80.2:4444 after 0 ms: Could not connect to server"),
    (sdk.Error("Error while sending HTTP request: (60, 'SSL certificate OpenSSL verify result: "
               "unable to get local issuer certificate (20)')"),
     f"deactivate host kvm1: TLS with the engine at {URL} failed: SSL certificate OpenSSL "
     "verify result: unable to get local issuer certificate (20) (is engine_ca_file the "
     "engine's CA?)"),
    (sdk.NotFoundError("HTTP response code is 404.", code=404),
     "deactivate host kvm1: not found (HTTP 404)"),
])
def test_sdk_errors_become_messages_in_the_engines_words(exc: Exception, expected: str) -> None:
    assert sdk_error_message(exc, "deactivate host kvm1", URL, "admin@internal") == expected
    with pytest.raises(EngineError) as caught, engine_errors("deactivate host kvm1", URL,
                                                             "admin@internal"):
        raise exc
    assert str(caught.value) == expected
    assert caught.value.__cause__ is exc


def test_other_exceptions_pass_through_the_translation() -> None:
    assert sdk_error_message(ValueError("x"), "w", URL, "u") is None
    with pytest.raises(ValueError), engine_errors("w", URL, "u"):
        raise ValueError("x")


def test_not_found_names_the_collection_and_suggests() -> None:
    assert not_found_message("host", "kvm3", ["kvm1", "web1"]) == (
        "no host named 'kvm3' in the engine; did you mean 'kvm1'? (hosts: kvm1, web1)")
    assert not_found_message("VM", "ol8-VM1", ["ol8-vm1", "web"]) == (
        "no VM named 'ol8-VM1' in the engine; did you mean 'ol8-vm1'? (VMs: ol8-vm1, web)")
    assert not_found_message("disk", "x", []) == (
        "no disk named 'x' in the engine (there are no disks)")


class Recorder:
    """Stands in for the SDK connection: records what is asked of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.closed = 0

    def system_service(self) -> Recorder:
        self.calls.append("system_service")
        return self

    def deactivate(self, **kwargs: Any) -> None:
        self.calls.append(f"deactivate {kwargs}")

    def close(self) -> None:
        self.closed += 1


def settings(**overrides: Any) -> EngineSettings:
    values: dict[str, Any] = {"url": URL, "user": "admin@internal", "password": "s3cret!",
                              "ca_file": None, **overrides}
    return EngineSettings(**values)


def test_check_mode_refuses_every_write_before_sending_it() -> None:
    recorder = Recorder()
    made: list[EngineSettings] = []
    session = EngineSession(settings(), check=True,
                            connect=lambda s: made.append(s) or recorder)
    with pytest.raises(EngineCheckModeError) as caught:
        session.act(recorder, "deactivate", "deactivate host kvm1", reason="patching")
    assert str(caught.value) == ("check mode: refusing to deactivate host kvm1 (the task tried "
                                 "to change the engine in check mode; nothing was sent)")
    with pytest.raises(EngineCheckModeError), session.change("remove disk d"):
        recorder.deactivate(never=True)
    assert recorder.calls == [] and made == []
    live = EngineSession(settings(), check=False, connect=lambda s: recorder)
    live.act(live.connection, "deactivate", "deactivate host kvm1", reason="patching")
    assert recorder.calls == ["deactivate {'reason': 'patching'}"]


def make_ca(tmp_path: Path) -> str:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    return str(ca)


def test_settings_from_inventory_variables(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    data = {"engine_url": URL + "/", "engine_user": "admin@internal",
            "engine_password": "s3cret!", "engine_ca_file": ca}
    got = settings_from_vars(data, "engine")
    assert got == EngineSettings(URL, "admin@internal", "s3cret!", ca, False, "engine")
    assert "s3cret!" not in repr(got)
    insecure = settings_from_vars({**data, "engine_ca_file": None, "engine_insecure": "yes"},
                                  "engine")
    assert (insecure.insecure, insecure.ca_file) == (True, None)
    assert settings_from_vars({**data, "engine_insecure": "off"}, "engine").insecure is False


@pytest.mark.parametrize(("change", "message"), [
    ({"engine_url": None}, "host 'engine': engine_url is not set (a non-empty string)"),
    ({"engine_url": "engine.example.com"},
     "host 'engine': engine_url must be an https:// URL such as "
     "https://engine.example.com/ovirt-engine/api, got 'engine.example.com'"),
    ({"engine_password": None},
     "host 'engine': engine_password is not set; give it as a secret, e.g. engine_password: "
     "{secret_file: /path/to/password}"),
    ({"engine_password": {"secret_file": "/x"}},
     "host 'engine': engine_password is a secret reference that was not read (give it in the "
     "inventory, where secrets are resolved)"),
    ({"engine_ca_file": None},
     "host 'engine': engine_ca_file is not set; give the engine's CA certificate "
     "(https://ENGINE/ovirt-engine/services/pki-resource?resource=ca-certificate"
     "&format=X509-PEM-CA)"),
    ({"engine_ca_file": "/nonexistent/ca.pem"},
     "host 'engine': engine_ca_file '/nonexistent/ca.pem' is not a readable file"),
    ({"engine_insecure": "maybe"},
     "host 'engine': engine_insecure must be true or false, got 'maybe'"),
    ({"engine_insecure": ""}, "host 'engine': engine_insecure must be true or false, got ''"),
])
def test_bad_settings_say_what_is_wrong(tmp_path: Path, change: dict[str, Any],
                                        message: str) -> None:
    data = {"engine_url": URL, "engine_user": "admin@internal", "engine_password": "s3cret!",
            "engine_ca_file": make_ca(tmp_path), **change}
    with pytest.raises(UsageError) as caught:
        settings_from_vars(data, "engine")
    assert str(caught.value) == message
    assert "s3cret!" not in str(caught.value)


def engine_data(tmp_path: Path, url: str = URL) -> dict[str, Any]:
    return {"engine_url": url, "engine_user": "admin@internal", "engine_password": "s3cret!",
            "engine_ca_file": make_ca(tmp_path)}


def test_a_host_without_engine_url_uses_the_inventorys_engine_host(tmp_path: Path) -> None:
    kvm = Host("kvm1", "10.0.0.11")
    engine = Host("engine", "10.0.0.2", data=engine_data(tmp_path))
    assert settings_for(kvm, {}, {"engine": engine, "kvm1": kvm}).source == "engine"
    other = Host("engine2", "10.0.0.3", data=engine_data(tmp_path, URL.replace("engine.", "e2.")))
    hosts = {"engine": engine, "engine2": other, "kvm1": kvm}
    with pytest.raises(UsageError) as caught:
        settings_for(kvm, {}, hosts)
    assert str(caught.value) == ("host 'kvm1': several inventory hosts define engine_url "
                                 "(engine, engine2); set engine_host to the one to use")
    assert settings_for(kvm, {"engine_host": "engine2"}, hosts).url.startswith("https://e2.")
    with pytest.raises(UsageError, match="engine_host 'engin' is not an inventory host"):
        settings_for(kvm, {"engine_host": "engin"}, hosts)
    with pytest.raises(UsageError) as caught:
        settings_for(kvm, {}, {"kvm1": kvm})
    assert str(caught.value) == ("host 'kvm1': no engine API settings: no inventory host "
                                 "defines engine_url (with engine_user, engine_password and "
                                 "engine_ca_file)")


def test_the_pool_shares_one_session_per_url_and_user_and_closes_them(tmp_path: Path) -> None:
    recorders: list[Recorder] = []

    def connect(_settings: EngineSettings) -> Recorder:
        recorders.append(Recorder())
        return recorders[-1]

    redactor = Redactor()
    engine = Host("engine", "10.0.0.2", data=engine_data(tmp_path))
    kvm = Host("kvm1", "10.0.0.11")
    pool = EnginePool(check=False, inventory={"engine": engine, "kvm1": kvm},
                      redactor=redactor, connect=connect)
    first = pool.session(engine, engine.data)
    assert pool.session(kvm, {}) is first
    assert redactor.text("password s3cret!") == "password ********"
    first.connection.system_service()
    pool.close()
    pool.close()
    assert [r.closed for r in recorders] == [1]
    assert pool.session(engine, engine.data) is not first


def test_insecure_is_warned_once(tmp_path: Path) -> None:
    lines: list[str] = []
    data = {**engine_data(tmp_path), "engine_insecure": True}
    host = Host("engine", "10.0.0.2", data=data)
    pool = EnginePool(check=False, connect=lambda s: Recorder())
    pool.session(host, data, log=lines.append)
    pool.session(host, data, log=lines.append)
    assert lines == [f"WARNING: engine_insecure is true: the TLS certificate of {URL} is not "
                     "verified"]


def test_task_engine_needs_the_runs_pool(tmp_path: Path) -> None:
    host = Host("engine", "localhost", connection="local", data=engine_data(tmp_path))
    with pytest.raises(TaskFailed, match="started without the run's engine sessions"):
        _ = Task(host, LocalConnection).engine
    pool = EnginePool(check=True, connect=lambda s: Recorder())
    task = Task(host, LocalConnection, check=True, vars=host.data, engines=pool)
    assert task.engine is task.engine and task.engine.check is True


def test_the_sdk_is_imported_only_when_the_engine_is_used(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from opsrunner.cli import main
        from opsrunner.engine import EnginePool
        from opsrunner.host import Host
        from opsrunner.task import Task
        import opsrunner_plugins.engine
        r = CliRunner().invoke(main, ["plugins"])
        names = sorted(opsrunner_plugins.engine.TASKS)
        assert r.exit_code == 0 and all(n in r.output for n in names), r.output
        assert names == ["api.event", "api.host_activate", "api.host_maintenance",
                         "api.snapshot", "api.template_from_vm", "api.upload_iso",
                         "api.vm_cdrom", "api.vm_power"], names
        data = {{"engine_url": "{URL}", "engine_user": "u", "engine_password": "p",
                 "engine_ca_file": {make_ca(tmp_path)!r}}}
        host = Host("engine", "localhost", connection="local", data=data)
        session = Task(host, None, vars=data, engines=EnginePool(check=False)).engine
        before = "ovirtsdk4" in sys.modules
        session.connection
        print(before, "ovirtsdk4" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False True"
