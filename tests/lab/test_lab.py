"""The whole lab: hosts over SSH with strict host keys, services through systemctl, TLS, down."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsrunner_lab import manager
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout

ENGINE_SERVICES = ["postgresql", "httpd", "ovirt-engine", "ovirt-imageio", "ovirt-websocket-proxy",
                   "ovirt-provider-ovn", "ovirt-engine-dwhd", "ovirt-engine-notifier",
                   "grafana-server"]


def run(lab: LabLayout, tmp_path: Path, workflow: str, *args: str) -> tuple[int, dict[str, Any]]:
    wf = tmp_path / "wf.yml"
    wf.write_text(textwrap.dedent(workflow))
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "run", str(wf), "-i",
                           str(lab.inventory), "--output", "json", "--state-dir",
                           str(tmp_path / "state"), *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_status_shows_every_host_and_service_up(lab):
    rows = manager.status(lab.root)
    assert {(r.host, r.service) for r in rows} >= {(ENGINE, s) for s in ["sshd", *ENGINE_SERVICES]}
    assert {r.host for r in rows} == {"engine", "kvm1", "kvm2", "ol8-vm1"}
    down = [(r.host, r.service) for r in rows if not r.active]
    assert not down


def test_inventory_is_ready_and_hosts_answer_with_strict_host_keys(lab, tmp_path):
    hosts = yaml.safe_load((lab.inventory / "hosts.yaml").read_text())
    assert set(hosts) == {"engine", "kvm1", "kvm2", "ol8-vm1"}
    assert hosts["engine"]["data"]["sysroot"] == str(lab.sysroot("engine"))
    code, doc = run(lab, tmp_path, """
        name: who
        steps:
          - {name: hostname, task: command, with: {cmd: "cat {{ sysroot }}/etc/hostname", read_only: true}}
    """)
    assert code == 0
    names = {h: d["steps"][0]["stdout"].strip() for h, d in doc["hosts"].items()}
    assert names == {"engine": "engine.lab.local", "kvm1": "kvm1.lab.local",
                     "kvm2": "kvm2.lab.local", "ol8-vm1": "ol8-vm1.lab.local"}


def test_sessions_have_the_sysroots_root_home_and_read_its_bashrc_only(lab, tmp_path):
    """Not the control machine's /root/.bashrc (pyenv init: 90 ms on every lab command)."""
    bashrc = lab.sysroot("kvm1") / "root/.bashrc"
    bashrc.write_text("export LAB_BASHRC=kvm1\n")
    try:
        code, doc = run(lab, tmp_path, """
            name: home
            hosts: kvm1
            steps:
              - {name: home, task: command, with: {cmd: 'echo "$HOME $LAB_BASHRC"', read_only: true}}
        """)
    finally:
        bashrc.unlink()
    assert code == 0
    assert doc["hosts"]["kvm1"]["steps"][0]["stdout"] == f"{lab.sysroot('kvm1')}/root kvm1\n"
    assert (lab.sysroot("engine") / "root").stat().st_mode & 0o777 == 0o550


def test_every_engine_service_goes_down_and_up_through_systemctl(lab, tmp_path):
    steps = []
    for name in ENGINE_SERVICES:
        steps += [
            {"name": f"stop {name}", "task": "command", "with": {"cmd": f"systemctl stop {name}"}},
            {"name": f"{name} is down", "task": "command",
             "with": {"cmd": f"systemctl is-active {name}", "rc": [3]}},
        ]
    always = [{"name": f"start {name}", "task": "service",
               "with": {"name": name, "state": "started"}} for name in ENGINE_SERVICES]
    code, doc = run(lab, tmp_path, yaml.safe_dump(
        {"name": "down and up", "hosts": "engine", "steps": steps, "always": always}))
    assert code == 0, doc
    statuses = [s["status"] for s in doc["hosts"]["engine"]["steps"]]
    assert statuses == ["changed"] * (len(steps) + len(always))
    assert all(r.active for r in manager.status(lab.root))


@pytest.mark.parametrize("service", ["https", "ovirt-imageio", "ovirt-websocket-proxy",
                                     "ovirt-provider-ovn"])
def test_tls_endpoints_validate_with_the_lab_ca(lab, service):
    ca = lab.sysroot(ENGINE) / "etc/pki/ovirt-engine/ca.pem"
    context = ssl.create_default_context(cafile=str(ca))
    import socket

    with socket.create_connection((lab.engine_address, ENGINE_PORTS[service]), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="engine.lab.local") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert tls.getpeercert()["subject"]


def test_vacuum_through_ssh_reclaims_space(lab, tmp_path):
    psql = "{{ sysroot }}/usr/share/ovirt-engine/dbscripts/engine-psql.sh"
    size = f"{psql} -At -c \"SELECT pg_database_size('engine')\""
    workflow = {"name": "vacuum", "hosts": "engine", "steps": [
        {"name": "size before", "task": "command", "with": {"cmd": size}, "register": "before"},
        {"name": "vacuum full", "task": "command",
         "with": {"cmd": "{{ sysroot }}/usr/share/ovirt-engine/bin/engine-vacuum.sh -f -v"}},
        {"name": "size after", "task": "command", "with": {"cmd": size}, "register": "after"},
        {"name": "reclaimed", "task": "assert",
         "with": {"that": ["after.stdout | trim | int < before.stdout | trim | int"]}},
    ]}
    code, doc = run(lab, tmp_path, yaml.safe_dump(workflow))
    assert code == 0, doc["hosts"]["engine"]["steps"]


def test_lab_up_again_is_idempotent(lab):
    before = {(r.host, r.service): r.pid for r in manager.status(lab.root)}
    manager.up(lab.root)
    after = {(r.host, r.service): r.pid for r in manager.status(lab.root)}
    assert before == after
