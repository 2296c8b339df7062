"""A lab guest's power state is its engine VM's: ``poweroff`` inside it powers the VM off as the
engine sees it (API down, sshd gone), an API start brings its sshd back; OL6 and OL7 guests
beside ol8-vm1. Own lab on 127.0.104.x (a lab the user runs is never disturbed)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator

import ovirtsdk4 as sdk
import pytest
import yaml
from lab_up import answers, engine_system, eventually, running_lab

from opsrunner_lab import manager
from opsrunner_lab.engine_api.lab_internal import internal_token_file
from opsrunner_lab.engine_api.settings import write_timing
from opsrunner_lab.layout import ENGINE_PORTS, LabLayout

PREFIX = "127.0.104."
GUESTS = ["ol8-vm1", "ol7-vm1", "ol6-vm1"]


@pytest.fixture(scope="module")
def lab() -> Iterator[LabLayout]:
    with running_lab(PREFIX, kvm_hosts=1, guests=GUESTS,
                     before_up=lambda layout: write_timing(layout, 0.1)) as layout:
        yield layout


@pytest.fixture
def vms(lab: LabLayout) -> Iterator[sdk.services.VmsService]:
    with engine_system(lab) as system:
        yield system.vms_service()


def ssh(lab: LabLayout, host: str, command: str) -> subprocess.CompletedProcess[str]:
    address = lab.host(host).address
    return subprocess.run(["ssh", "-i", str(lab.client_key), "-p", str(lab.host(host).port),
                           "-o", f"UserKnownHostsFile={lab.known_hosts}",
                           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                           "-o", "ConnectTimeout=5", f"root@{address}", command],
                          capture_output=True, text=True, timeout=30)




def vm_status(vms: sdk.services.VmsService, name: str) -> str:
    return str(vms.list(search=f"name={name}")[0].status.value)


def test_guests_are_hosts_vms_and_inventory_entries(lab: LabLayout,
                                                    vms: sdk.services.VmsService) -> None:
    guests = [(h.name, h.address) for h in lab.hosts() if h.role == "guest"]
    assert guests == [("ol8-vm1", PREFIX + "101"), ("ol7-vm1", PREFIX + "102"),
                      ("ol6-vm1", PREFIX + "103")]
    assert LabLayout.load(lab.root).guests == GUESTS
    assert {vm.name: vm.status.value for vm in vms.list()} == dict.fromkeys(GUESTS, "up")
    hosts = yaml.safe_load((lab.inventory / "hosts.yaml").read_text())
    assert {name: (hosts[name]["groups"], hosts[name]["data"]["vm_name"])
            for name in GUESTS} == {name: (["guests"], name) for name in GUESTS}


def test_ol7_and_ol6_guests_have_their_releases_files(lab: LabLayout) -> None:
    ol7, ol6 = lab.sysroot("ol7-vm1"), lab.sysroot("ol6-vm1")
    assert (ol7 / "etc/hostname").read_text() == "ol7-vm1.lab.local\n"
    assert 'VERSION_ID="7.9"' in (ol7 / "etc/os-release").read_text()
    assert not (ol6 / "etc/hostname").exists()
    assert "HOSTNAME=ol6-vm1.lab.local\n" in (ol6 / "etc/sysconfig/network").read_text()
    assert "6.10" in (ol6 / "etc/oracle-release").read_text()
    assert sorted(p.name for p in (ol6 / "etc/ssh").glob("ssh_host_*_key")) == [
        "ssh_host_dsa_key", "ssh_host_rsa_key"]
    assert ssh(lab, "ol6-vm1", "echo ok").stdout == "ok\n"


def test_poweroff_in_the_guest_powers_its_vm_off_and_an_api_start_brings_it_back(
        lab: LabLayout, vms: sdk.services.VmsService) -> None:
    done = ssh(lab, "ol7-vm1", "poweroff")
    assert (done.returncode, done.stderr) == (0, "")
    assert eventually(lambda: vm_status(vms, "ol7-vm1") == "down")
    assert eventually(lambda: not answers(lab, "ol7-vm1"))
    assert answers(lab, "ol8-vm1")  # the other guests run on
    row = next(r for r in manager.status(lab.root) if (r.host, r.service) == ("ol7-vm1", "sshd"))
    assert (row.active, row.vm_down) == (False, True)
    status = subprocess.run([sys.executable, "-m", "opsrunner.cli", "lab", "status", "--dir",
                             str(lab.root)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "COLUMNS": "200"})
    assert status.returncode == 0, status.stdout  # a powered-off guest is not a fault
    assert [line.split()[:4] for line in status.stdout.splitlines() if "ol7-vm1" in line] == [
        ["│", "ol7-vm1", "│", "sshd"]]
    assert "down (VM down)" in status.stdout

    vms.vm_service(vms.list(search="name=ol7-vm1")[0].id).start()
    assert answers(lab, "ol7-vm1")
    assert eventually(lambda: vm_status(vms, "ol7-vm1") == "up")
    assert ssh(lab, "ol7-vm1", "echo ok").stdout == "ok\n"


def test_shutdown_h_now_and_an_api_stop_power_the_guest_off(
        lab: LabLayout, vms: sdk.services.VmsService) -> None:
    vm = vms.vm_service(vms.list(search="name=ol6-vm1")[0].id)
    assert ssh(lab, "ol6-vm1", "shutdown -r now").returncode == 2  # reboot: not simulated
    assert ssh(lab, "ol6-vm1", "shutdown -h now").returncode == 0
    assert eventually(lambda: not answers(lab, "ol6-vm1"))
    assert vm_status(vms, "ol6-vm1") == "down"
    vm.start()
    assert eventually(lambda: vm_status(vms, "ol6-vm1") == "up")
    vm.stop()
    assert eventually(lambda: not answers(lab, "ol6-vm1"))
    assert eventually(lambda: vm_status(vms, "ol6-vm1") == "down")
    vm.start()
    assert answers(lab, "ol6-vm1")


def _post(lab: LabLayout, token: str) -> tuple[int, dict[str, object]]:
    connection = http.client.HTTPConnection(lab.engine_address, ENGINE_PORTS["ovirt-engine"],
                                            timeout=10)
    try:
        connection.request("POST", "/lab/vm-power", json.dumps({"vm": "ol8-vm1",
                                                                "state": "down"}),
                           {"X-Lab-Token": token, "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_the_internal_path_wants_the_token_and_is_not_behind_apache(
        lab: LabLayout, vms: sdk.services.VmsService) -> None:
    token_file = internal_token_file(lab)
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert _post(lab, "wrong") == (403, {"error": "wrong or missing lab token"})
    assert _post(lab, "") == (403, {"error": "wrong or missing lab token"})
    assert vm_status(vms, "ol8-vm1") == "up"
    context = ssl.create_default_context(cafile=str(lab.root / "pki" / "ca.pem"))
    for path in ("/lab/vm-power", "/ovirt-engine/../lab/vm-power"):
        sock = socket.create_connection((lab.engine_address, ENGINE_PORTS["https"]), 10)
        with contextlib.closing(context.wrap_socket(sock, server_hostname="engine.lab.local")) \
                as tls:
            body = json.dumps({"vm": "ol8-vm1", "state": "down"})
            tls.sendall((f"POST {path} HTTP/1.1\r\nHost: engine.lab.local\r\n"
                         f"X-Lab-Token: {token_file.read_text().strip()}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
                         ).encode())
            response = http.client.HTTPResponse(tls)
            response.begin()
            response.read()
            assert response.status in (400, 404), path
    assert vm_status(vms, "ol8-vm1") == "up"
    assert answers(lab, "ol8-vm1")
