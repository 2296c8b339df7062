"""The runner's target locks over local hosts: control-node locks first, host locks at the
first connection, and nothing more (always-steps neither) on a host another run holds."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from opsrunner.connection.local import LocalConnection
from opsrunner.host import Host
from opsrunner.state.locks import LockOwner, RunLocks


def _run(cli, tmp_path: Path, *args: str, state: str = "state") -> tuple[int, dict, str]:
    code, out, err = cli("run", *args, "--output", "json", "--state-dir", str(tmp_path / state))
    return code, json.loads(out) if out.strip() else {}, err


def test_a_host_locked_by_another_control_node_fails_at_its_first_connection(
        local_inventory, write_workflow, cli, tmp_path):
    inv = local_inventory(("h1", "h2"))
    wf = write_workflow("""
        name: touches the hosts
        steps:
          - {name: mark, task: command, with: {cmd: "touch {{ host.vars.sysroot }}/mark"}}
        always:
          - {name: cleanup, task: command, with: {cmd: "touch {{ host.vars.sysroot }}/cleanup"}}
    """)
    h1 = Host("h1", "localhost", connection="local",
              data={"sysroot": str(tmp_path / "roots" / "h1")})
    other = RunLocks(tmp_path / "elsewhere" / "locks",
                     LockOwner.for_run("20261203T000000Z-99-beef", "other.yml"))
    with other:
        other.take(h1, lambda: LocalConnection(h1))
        code, doc, err = _run(cli, tmp_path, str(wf), "-i", str(inv))
    assert code == 2, err
    mark, cleanup = doc["hosts"]["h1"]["steps"]
    assert mark["status"] == "failed" and "20261203T000000Z-99-beef" in mark["msg"]
    assert (cleanup["status"], cleanup["msg"]) == ("skipped", "host locked by another run")
    assert not (tmp_path / "roots" / "h1" / "mark").exists()
    assert not (tmp_path / "roots" / "h1" / "cleanup").exists()
    assert [s["status"] for s in doc["hosts"]["h2"]["steps"]] == ["changed", "changed"]
    code, doc, err = _run(cli, tmp_path, str(wf), "-i", str(inv))
    assert code == 0, err  # released with the other run


def test_hosts_only_reached_through_the_engine_api_need_no_host_lock(
        write_workflow, cli, tmp_path):
    folder = tmp_path / "inventory"
    folder.mkdir()
    (folder / "hosts.yaml").write_text(yaml.safe_dump(
        {"kvm1": {"hostname": "192.0.2.1", "port": 22}}))  # TEST-NET: nothing answers there
    wf = write_workflow("""
        name: no connection
        steps:
          - {name: decide, task: assert, with: {that: ["1 == 1"]}}
    """)
    code, doc, err = _run(cli, tmp_path, str(wf), "-i", str(folder))
    assert code == 0, (err, doc)
    locks = tmp_path / "state" / "locks"
    assert locks.is_dir() and list(locks.iterdir()) == []  # released at the end
