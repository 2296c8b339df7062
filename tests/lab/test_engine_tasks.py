"""The engine tasks in workflows run by ``opsrunner run`` against a lab engine: the API simulator
behind the lab's Apache (TLS, the lab CA), with the real ovirt-imageio, on 127.0.91.x; the
inventory is the one ``opsrunner lab up`` writes. Results are checked with the real ovirtsdk4."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest

from opsrunner.engine.wait import GONE, wait_for_status
from opsrunner_lab.engine_api.server import admin_password_file
from opsrunner_lab.engine_api.settings import write_timing
from opsrunner_lab.imageio import install_imageio
from opsrunner_lab.lab_inventory import write_inventory
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.processes import pid_alive
from opsrunner_lab.sshd import client_key
from opsrunner_lab.sysroot import build_sysroots
from opsrunner_lab.unit import Unit
from opsrunner_lab.units import host_units
from opsrunner_plugins.engine.imageio import ImageioClient, ImageioError
from opsrunner_plugins.engine.upload import checksum_record, incomplete_record

PREFIX = "127.0.91."
UNITS = ("ovirt-engine", "httpd", "ovirt-imageio")
REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


@dataclass
class EngineLab:
    layout: LabLayout
    units: list[Unit]

    @property
    def ca_file(self) -> Path:
        return self.layout.sysroot(ENGINE) / "etc/pki/ovirt-engine/ca.pem"

    def connect(self) -> sdk.Connection:
        return sdk.Connection(url=f"https://{self.layout.engine_address}/ovirt-engine/api",
                              username="admin@internal",
                              password=admin_password_file(self.layout).read_text().strip(),
                              ca_file=str(self.ca_file))

    def read(self, kind: str, name: str) -> Any:
        """The entity of ``kind`` (hosts, vms, templates, disks) named ``name``, or None."""
        connection = self.connect()
        try:
            service = getattr(connection.system_service(), f"{kind}_service")()
            found = [e for e in service.list(search=f"name={name}") if e.name == name]
            return found[0] if found else None
        finally:
            connection.close()

    def events(self, max_events: int = 200) -> list[Any]:
        """Recent events, oldest first."""
        connection = self.connect()
        try:
            events = connection.system_service().events_service().list(max=max_events)
        finally:
            connection.close()
        return sorted(events, key=lambda e: int(e.index))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineLab]:
    root = tmp_path_factory.mktemp("engine-tasks")
    layout = LabLayout(root / "lab", kvm_hosts=2, address_prefix=PREFIX)
    layout.save()
    build_sysroots(layout)
    install_imageio(layout)
    write_timing(layout, 0.1)
    client_key(layout.client_key.parent)
    units = host_units(layout, ENGINE)
    started: list[Unit] = []
    try:
        for name in UNITS:
            units[name].start()
            started.append(units[name])
        write_inventory(layout)
        yield EngineLab(layout, started)
    finally:
        pids = [pid for unit in started if (pid := unit.daemon.pid())]
        for unit in reversed(started):
            unit.stop()
        assert not [pid for pid in pids if pid_alive(pid)], "a lab server survived stop()"


def run(lab: EngineLab, tmp_path: Path, workflow: str | Path, *args: str
        ) -> tuple[int, dict[str, Any], str]:
    """``opsrunner run`` of a workflow (a path, or YAML text) on the lab's inventory."""
    if isinstance(workflow, str):
        path = tmp_path / "wf.yml"
        path.write_text(textwrap.dedent(workflow))
    else:
        path = workflow
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "run", str(path), "-i",
                           str(lab.layout.inventory), "--output", "json", "--state-dir",
                           str(tmp_path / "state"), *args],
                          capture_output=True, text=True, timeout=300)
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, doc, proc.stderr


def steps(doc: dict[str, Any], host: str) -> list[tuple[str, str]]:
    return [(s["status"], s["msg"]) for s in doc["hosts"][host]["steps"]]


def engine_step(task: str, params: dict[str, Any], name: str = "engine step") -> str:
    """A workflow running one engine task on the engine host."""
    return json.dumps({"name": name, "hosts": "engine",
                       "steps": [{"name": name, "task": task, "with": params}]})


def host_statuses(lab: EngineLab) -> dict[str, str]:
    return {name: lab.read("hosts", name).status.value for name in ("kvm1", "kvm2")}


def test_maintenance_workflow_takes_every_kvm_host_down_and_back_one_at_a_time(
        lab: EngineLab, tmp_path: Path) -> None:
    vm_host = lab.read("vms", "ol8-vm1").host.id
    code, doc, err = run(lab, tmp_path, REPO / "workflows/maintenance.yml")
    assert code == 0, (err, doc)
    run_id = doc["run_id"]
    for name in ("kvm1", "kvm2"):
        assert steps(doc, name) == [
            ("changed", f"logged a normal event: Maintenance of host {name} started ({run_id})"),
            ("changed", f"put into maintenance: {name}"),
            ("changed", f"activated: {name}"),
            ("changed", f"logged a normal event: Maintenance of host {name} ended ({run_id})"),
        ]
    assert host_statuses(lab) == {"kvm1": "up", "kvm2": "up"}
    # One host at a time: each host's whole cycle is in the audit log before the next begins.
    texts = [e.description for e in lab.events()]
    order = [texts.index(text) for text in (
        f"Maintenance of host kvm1 started ({run_id})",
        f"Host kvm1 was switched to Maintenance mode by admin@internal-authz (Reason: "
        f"opsrunner maintenance ({run_id})).",
        "Host kvm1 was switched to Maintenance Mode.",
        "Activation of host kvm1 initiated by admin@internal-authz.",
        f"Maintenance of host kvm1 ended ({run_id})",
        f"Maintenance of host kvm2 started ({run_id})",
        "Host kvm2 was switched to Maintenance Mode.",
        f"Maintenance of host kvm2 ended ({run_id})")]
    assert order == sorted(order)
    # The VM went to the other host and came back with the second maintenance.
    assert lab.read("vms", "ol8-vm1").host.id == vm_host
    assert lab.read("vms", "ol8-vm1").status.value == "up"


def test_check_mode_reports_the_plan_and_changes_nothing(lab: EngineLab,
                                                         tmp_path: Path) -> None:
    before = [e.index for e in lab.events()]
    code, doc, err = run(lab, tmp_path, REPO / "workflows/maintenance.yml", "--check")
    assert code == 0, err
    assert steps(doc, "kvm1")[1] == ("changed", "would put into maintenance: kvm1")
    assert steps(doc, "kvm1")[2] == ("ok", "already up: kvm1")
    assert host_statuses(lab) == {"kvm1": "up", "kvm2": "up"}
    after = [e for e in lab.events() if e.index not in before]
    assert [e.origin for e in after if e.origin != "oVirt"] == []


def test_maintenance_is_idempotent_and_a_refusal_stops_the_roll(lab: EngineLab,
                                                              tmp_path: Path) -> None:
    workflow = json.dumps({"name": "cluster", "hosts": "engine", "steps": [
        {"name": "first", "task": "api.host_maintenance", "with": {"hosts": ["kvm1"]}},
        {"name": "again", "task": "api.host_maintenance", "with": {"hosts": ["kvm1"]}},
        {"name": "all", "task": "api.host_maintenance",
         "with": {"cluster": "Default", "reason": "all of them"}}],
        "always": [{"name": "back", "task": "api.host_activate",
                    "with": {"cluster": "Default"}},
                   {"name": "back again", "task": "api.host_activate",
                    "with": {"hosts": ["kvm2", "kvm1"]}}]})
    code, doc, _ = run(lab, tmp_path, workflow)
    assert code == 2
    got = steps(doc, "engine")
    assert got[:2] == [("changed", "put into maintenance: kvm1"),
                       ("ok", "already in maintenance: kvm1")]
    assert got[2] == ("failed", (
        "deactivate host kvm2: Operation Failed: [The following Hosts have running VMs and "
        "cannot be switched to maintenance mode: kvm2.\n"
        "Please ensure that the following Clusters have at least one Host in UP state: "
        "Default.] (HTTP 409)"))
    assert got[3:] == [("changed", "activated: kvm1 (already up: kvm2)"),
                       ("ok", "already up: kvm2, kvm1")]
    assert host_statuses(lab) == {"kvm1": "up", "kvm2": "up"}


def test_an_unknown_host_fails_before_any_change(lab: EngineLab, tmp_path: Path) -> None:
    code, doc, _ = run(lab, tmp_path, engine_step("api.host_maintenance",
                                                  {"hosts": ["kvm1", "kvm3"]}))
    assert code == 2
    assert steps(doc, "engine") == [("failed", "no host named 'kvm3' in the engine; did you "
                                               "mean 'kvm2'? (hosts: kvm1, kvm2)")]
    assert host_statuses(lab) == {"kvm1": "up", "kvm2": "up"}


def test_event_is_logged_once_per_run_and_custom_id(lab: EngineLab, tmp_path: Path) -> None:
    params = {"description": "maintenance window 42 started", "severity": "warning",
              "custom_id": 4242}
    workflow = json.dumps({"name": "event", "hosts": "engine", "steps": [
        {"name": "log", "task": "api.event", "with": params},
        {"name": "log again", "task": "api.event", "with": params}]})
    code, doc, err = run(lab, tmp_path, workflow)
    assert code == 0, err
    assert steps(doc, "engine") == [
        ("changed", "logged a warning event: maintenance window 42 started"),
        ("ok", "event 4242 of opsrunner is already logged")]
    logged = [e for e in lab.events() if e.origin == "opsrunner" and e.custom_id == 4242]
    assert [(e.description, e.severity.value) for e in logged] == [
        ("maintenance window 42 started", "warning")]


def test_vm_power_shutdown_and_start(lab: EngineLab, tmp_path: Path) -> None:
    workflow = json.dumps({"name": "power", "hosts": "engine", "steps": [
        {"name": "down", "task": "api.vm_power", "with": {"vm": "ol8-vm1", "state": "down"}},
        {"name": "down again", "task": "api.vm_power",
         "with": {"vm": "ol8-vm1", "state": "down", "how": "stop"}},
        {"name": "up", "task": "api.vm_power", "with": {"vm": "ol8-vm1", "state": "up"}}]})
    code, doc, err = run(lab, tmp_path, workflow)
    assert code == 0, err
    assert steps(doc, "engine") == [("changed", "VM ol8-vm1: shutdown: up -> down"),
                                    ("ok", "VM ol8-vm1 is already down"),
                                    ("changed", "VM ol8-vm1: start: down -> up")]
    assert lab.read("vms", "ol8-vm1").status.value == "up"


def test_engine_settings_errors_fail_the_host_with_a_clear_message(lab: EngineLab,
                                                                   tmp_path: Path) -> None:
    code, doc, _ = run(lab, tmp_path, engine_step("api.event", {"description": "x"}),
                       "-e", "engine_ca_file=/nonexistent/ca.pem")
    assert code == 2
    assert steps(doc, "engine") == [
        ("failed", "host 'engine': engine_ca_file '/nonexistent/ca.pem' is not a readable "
                   "file")]
    wrong_ca = tmp_path / "other-ca.pem"
    wrong_ca.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text())
    code, doc, _ = run(lab, tmp_path, engine_step("api.event", {"description": "x"}),
                       "-e", f"engine_ca_file={wrong_ca}")
    assert code == 2
    (status, message), = steps(doc, "engine")
    assert status == "failed"
    assert message.startswith(f"read recent events: TLS with the engine at "
                              f"https://{lab.layout.engine_address}/ovirt-engine/api failed: ")
    assert message.endswith("(is engine_ca_file the engine's CA?)")
    password = admin_password_file(lab.layout).read_text().strip()
    journals = "".join(p.read_text() for p in (tmp_path / "state" / "runs").iterdir())
    assert password not in json.dumps(doc) and password not in journals


def test_upload_iso_then_insert_it_and_set_the_boot_order(lab: EngineLab,
                                                          tmp_path: Path) -> None:
    data = os.urandom(20 * MIB)
    iso = tmp_path / "tools.iso"
    iso.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    upload = {"src": str(iso), "name": "tools.iso", "storage_domain": "data"}
    insert = {"vm": "ol8-vm1", "iso": "tools.iso", "boot": ["cdrom", "hd"]}
    workflow = json.dumps({"name": "iso", "hosts": "engine", "steps": [
        {"name": "upload", "task": "api.upload_iso", "with": upload},
        {"name": "upload again", "task": "api.upload_iso", "with": upload},
        {"name": "insert", "task": "api.vm_cdrom", "with": insert},
        {"name": "insert again", "task": "api.vm_cdrom", "with": insert},
        {"name": "insert now", "task": "api.vm_cdrom",
         "with": {"vm": "ol8-vm1", "iso": "tools.iso", "current": True}}]})
    code, doc, err = run(lab, tmp_path, workflow)
    assert code == 0, (err, doc)
    disk = lab.read("disks", "tools.iso")
    assert steps(doc, "engine") == [
        ("changed", f"uploaded tools.iso ({20 * MIB} bytes, sha256 checked) to storage domain "
                    "data as disk tools.iso"),
        ("ok", f"disk tools.iso already holds tools.iso ({20 * MIB} bytes, sha256 "
               f"{digest[:12]}...)"),
        ("changed", "VM ol8-vm1: changed CD-ROM in the configuration: insert tools.iso; boot "
                    "order hd -> cdrom,hd (at its next run)"),
        ("ok", "VM ol8-vm1 is as wanted"),
        ("changed", "VM ol8-vm1: changed CD-ROM in the running VM: insert tools.iso")]
    # The bytes landed in the storage domain, and the disk records what it holds.
    domain = disk.storage_domains[0].id
    image = lab.layout.data / "storage" / domain / "images" / disk.id
    assert hashlib.sha256(image.read_bytes()).hexdigest() == digest
    assert (disk.status.value, disk.content_type.value, disk.description) == (
        "ok", "iso", f"sha256={digest} size={20 * MIB}")
    connection = lab.connect()
    try:
        vm_service = connection.system_service().vms_service().vm_service(
            lab.read("vms", "ol8-vm1").id)
        cdroms = vm_service.cdroms_service()
        cdrom = cdroms.cdrom_service(cdroms.list()[0].id)
        assert cdrom.get().file.id == disk.id
        assert cdrom.get(current=True).file.id == disk.id
        boot = vm_service.get(next_run=True).os.boot.devices
        assert [d.value for d in boot] == ["cdrom", "hd"]
    finally:
        connection.close()
    eject = json.dumps({"name": "eject", "hosts": "engine", "steps": [
        {"name": "eject", "task": "api.vm_cdrom",
         "with": {"vm": "ol8-vm1", "eject": True, "boot": ["hd"]}}]})
    code, doc, err = run(lab, tmp_path, eject)
    assert code == 0, err
    assert steps(doc, "engine") == [
        ("changed", "VM ol8-vm1: changed CD-ROM in the configuration: eject; boot order "
                    "cdrom,hd -> hd (at its next run)")]


def test_upload_refuses_a_disk_of_that_name_with_other_content(lab: EngineLab,
                                                               tmp_path: Path) -> None:
    first, second = tmp_path / "a.iso", tmp_path / "b.iso"
    first.write_bytes(os.urandom(MIB))
    second.write_bytes(os.urandom(MIB))
    params = {"name": "other.iso", "storage_domain": "data"}
    code, _, err = run(lab, tmp_path, engine_step("api.upload_iso",
                                                  {"src": str(first), **params}))
    assert code == 0, err
    code, doc, _ = run(lab, tmp_path, engine_step("api.upload_iso",
                                                  {"src": str(second), **params}, "again"))
    assert code == 2
    held = hashlib.sha256(first.read_bytes()).hexdigest()
    assert steps(doc, "engine") == [
        ("failed", f"disk other.iso exists with other content (sha256={held} size={MIB}, "
                   "status ok); remove it or choose another name")]


class BreakingRelay:
    """A TCP relay on ``address`` to ``target`` that cuts its first connection once ``cut``
    bytes went upstream (a broken network in the middle of an upload)."""

    def __init__(self, address: str, target: tuple[str, int], cut: int) -> None:
        self.server = socket.create_server((address, 0))
        self.server.settimeout(0.1)
        self.stop = threading.Event()
        self.port = self.server.getsockname()[1]
        self.target = target
        self.cut = cut
        self.connections = 0
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = []
        self._accept = threading.Thread(target=self._serve)
        self._accept.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            self.connections += 1
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            limit = self.cut if self.connections == 1 else None
            for source, sink, cut in ((client, upstream, limit), (upstream, client, None)):
                thread = threading.Thread(target=self._pump, args=(source, sink, cut))
                thread.start()
                self.threads.append(thread)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, cut: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                sent += len(data)
                if cut is not None and sent >= cut:
                    break
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.stop.set()
        self._accept.join()
        self.server.close()
        for sock in self.sockets:
            sock.close()
        for thread in self.threads:
            thread.join()


def test_an_upload_resumes_after_a_broken_connection(lab: EngineLab, tmp_path: Path) -> None:
    data = os.urandom(12 * MIB)
    path = tmp_path / "resume.iso"
    path.write_bytes(data)
    connection = lab.connect()
    system = connection.system_service()
    try:
        disk = system.disks_service().add(types.Disk(
            name="resume.iso", format=types.DiskFormat.RAW, provisioned_size=len(data),
            content_type=types.DiskContentType.ISO,
            storage_domains=[types.StorageDomain(name="data")]))
        disk_service = system.disks_service().disk_service(disk.id)
        wait_for_status(disk_service, "ok", deadline=time.monotonic() + 30, describe="disk")
        transfers = system.image_transfers_service()
        transfer = transfers.add(types.ImageTransfer(
            disk=types.Disk(id=disk.id), direction=types.ImageTransferDirection.UPLOAD,
            format=types.DiskFormat.RAW))
        transfer_service = transfers.image_transfer_service(transfer.id)
        ready = wait_for_status(transfer_service, "transferring", describe="transfer",
                                deadline=time.monotonic() + 30,
                                status_of=lambda t: t.phase.value)
        url = urllib.parse.urlsplit(ready.proxy_url)
        relay = BreakingRelay(lab.layout.engine_address, (url.hostname, url.port), 3 * MIB)
        lines: list[str] = []
        client = ImageioClient(f"https://{url.hostname}:{relay.port}{url.path}",
                               ca_file=str(lab.ca_file), log=lines.append, sleep=lambda s: None)
        try:
            assert client.upload(path, len(data)) == 1
            assert client.sha256(len(data)) == hashlib.sha256(data).hexdigest()
        finally:
            client.close()
            relay.close()
        assert relay.connections == 2
        assert len(lines) == 1 and lines[0].startswith(
            "image transfer: connection broken at offset 0 (")
        assert lines[0].endswith("); resuming in 0.5s (attempt 1/3)")
        transfer_service.finalize()
        wait_for_status(transfer_service, {"finished_success", GONE}, describe="transfer",
                        deadline=time.monotonic() + 30, status_of=lambda t: t.phase.value)
        image = lab.layout.data / "storage" / disk_service.get().storage_domains[0].id
        assert (image / "images" / disk.id).read_bytes() == data
        # An HTTP error is the daemon's answer, not retried.
        bogus = ImageioClient(ready.proxy_url.rsplit("/", 1)[0] + "/no-such-ticket",
                              ca_file=str(lab.ca_file))
        with pytest.raises(ImageioError) as caught:
            bogus.upload(path, MIB)
        assert str(caught.value).startswith(
            f"image daemon at {url.netloc}: write at offset 0 refused: HTTP 403 Forbidden: ")
    finally:
        connection.close()


def upload_workflow(tmp_path: Path, data: bytes, name: str, timeout: float | None = None
                    ) -> Path:
    """A workflow uploading ``data`` (written to tmp_path/name) as disk ``name``, with a step
    ``timeout`` if given."""
    iso = tmp_path / name
    iso.write_bytes(data)
    step: dict[str, Any] = {"name": "upload", "task": "api.upload_iso",
                            "with": {"src": str(iso), "name": name, "storage_domain": "data"}}
    if timeout is not None:
        step["timeout"] = timeout
    path = tmp_path / f"{name}.yml"
    path.write_text(json.dumps({"name": "upload", "hosts": "engine", "steps": [step]}))
    return path


# ``opsrunner run`` whose image uploads go in 1 MiB chunks, writing the bytes confirmed so far
# to the file argv[1], and sleeping argv[2] seconds after each chunk from half of the image on.
SLOW_UPLOAD = """
import runpy, sys, time
from pathlib import Path
import opsrunner_plugins.engine.imageio as imageio
progress, pause = Path(sys.argv.pop(1)), float(sys.argv.pop(1))
imageio.CHUNK = 1024 * 1024
put = imageio.ImageioClient._put
def slow_put(self, data, offset, size, *, flush):
    put(self, data, offset, size, flush=flush)
    progress.write_text(str(offset + len(data)))
    if offset + len(data) >= size // 2:
        time.sleep(pause)
imageio.ImageioClient._put = slow_put
sys.argv[0] = "opsrunner"
runpy.run_module("opsrunner.cli", run_name="__main__")
"""


class SlowRun:
    """``opsrunner run`` of a workflow with :data:`SLOW_UPLOAD`, in the background."""

    def __init__(self, lab: EngineLab, tmp_path: Path, workflow: Path, pause: float) -> None:
        self.progress, self.out = tmp_path / "progress", tmp_path / "slow-run.json"
        self.err = tmp_path / "slow-run.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SLOW_UPLOAD, str(self.progress), str(pause), "run",
                 str(workflow), "-i", str(lab.layout.inventory), "--output", "json",
                 "--state-dir", str(tmp_path / "state")], stdout=out, stderr=err)

    def wait_for_bytes(self, count: int) -> None:
        """Until the upload confirmed ``count`` bytes."""
        deadline = time.monotonic() + 60
        while not (self.progress.exists() and int(self.progress.read_text() or 0) >= count):
            assert self.proc.poll() is None, self.err.read_text()
            assert time.monotonic() < deadline, "the upload did not progress"
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill the run (SIGKILL) if it still runs."""
        self.proc.kill()
        self.proc.wait()


def image_of(lab: EngineLab, disk: Any) -> Path:
    return lab.layout.data / "storage" / disk.storage_domains[0].id / "images" / disk.id


def transfers_of(lab: EngineLab, disk_id: str) -> list[tuple[str, str]]:
    """(id, phase) of the image transfers of a disk that the engine still lists."""
    connection = lab.connect()
    try:
        return [(t.id, t.phase.value) for t in
                connection.system_service().image_transfers_service().list()
                if t.disk is not None and t.disk.id == disk_id]
    finally:
        connection.close()


def wait_until_gone(lab: EngineLab, kind: str, name: str) -> None:
    deadline = time.monotonic() + 30
    while lab.read(kind, name) is not None:
        assert time.monotonic() < deadline, f"{name} is still there"
        time.sleep(0.1)


def test_images_aligned_to_512_bytes_upload_with_their_exact_size(lab: EngineLab,
                                                                   tmp_path: Path) -> None:
    """ISO 9660 images are multiples of 2048 bytes, not always of 4096."""
    for name, size in (("sectors-2048.iso", 2048 * 3), ("sectors-512.iso", 512 * 2049)):
        data = os.urandom(size)
        code, doc, err = run(lab, tmp_path, upload_workflow(tmp_path, data, name))
        assert code == 0, (err, doc)
        assert steps(doc, "engine") == [
            ("changed", f"uploaded {name} ({size} bytes, sha256 checked) to storage domain "
                        f"data as disk {name}")]
        disk = lab.read("disks", name)
        digest = hashlib.sha256(data).hexdigest()
        assert (disk.status.value, disk.provisioned_size, disk.description) == (
            "ok", size, checksum_record(digest, size))
        assert image_of(lab, disk).read_bytes() == data


def test_an_upload_killed_half_way_is_resumed_by_the_next_run(lab: EngineLab,
                                                             tmp_path: Path) -> None:
    data = os.urandom(8 * MIB)
    digest, half = hashlib.sha256(data).hexdigest(), 4 * MIB
    workflow = upload_workflow(tmp_path, data, "killed.iso")
    slow = SlowRun(lab, tmp_path, workflow, pause=600)
    try:
        slow.wait_for_bytes(half)
    finally:
        slow.stop()
    disk = lab.read("disks", "killed.iso")
    # Half the bytes: locked by its open transfer, and not recorded as holding the ISO.
    assert (disk.status.value, disk.description) == ("locked",
                                                     incomplete_record(digest, 8 * MIB))
    ((transfer_id, phase),) = transfers_of(lab, disk.id)
    assert phase == "transferring"
    held = image_of(lab, disk).read_bytes()
    assert held[:half] == data[:half] and held[half:] == bytes(half)

    code, doc, err = run(lab, tmp_path, workflow)
    assert code == 0, (err, doc)
    assert steps(doc, "engine") == [
        ("changed", f"uploaded killed.iso ({8 * MIB} bytes, sha256 checked, resumed an "
                    "interrupted upload) to storage domain data as disk killed.iso")]
    done = lab.read("disks", "killed.iso")
    assert (done.id, done.status.value, done.description) == (
        disk.id, "ok", checksum_record(digest, 8 * MIB))
    assert transfers_of(lab, disk.id) == [(transfer_id, "finished_success")]
    assert image_of(lab, done).read_bytes() == data


def test_an_upload_past_its_step_timeout_is_cancelled_then_redone(lab: EngineLab,
                                                                 tmp_path: Path) -> None:
    data = os.urandom(8 * MIB)
    workflow = upload_workflow(tmp_path, data, "late.iso", timeout=2)
    slow = SlowRun(lab, tmp_path, workflow, pause=0.5)
    try:
        slow.wait_for_bytes(MIB)
        disk = lab.read("disks", "late.iso")
        assert slow.proc.wait(timeout=60) == 2, slow.err.read_text()
    finally:
        slow.stop()
    ((status, message),) = steps(json.loads(slow.out.read_text()), "engine")
    assert status == "failed"
    assert message.startswith(f"image daemon at {lab.layout.engine_address}:54323: time is "
                              "up, "), message
    assert message.endswith(f" of {8 * MIB} bytes written"), message
    # The transfer was cancelled, and the disk (half written) went with it.
    wait_until_gone(lab, "disks", "late.iso")
    assert [phase for _, phase in transfers_of(lab, disk.id)] == ["finished_cleanup"]

    code, doc, err = run(lab, tmp_path, workflow)
    assert code == 0, (err, doc)
    assert steps(doc, "engine") == [
        ("changed", f"uploaded late.iso ({8 * MIB} bytes, sha256 checked) to storage domain "
                    "data as disk late.iso")]
    assert image_of(lab, lab.read("disks", "late.iso")).read_bytes() == data


def test_a_disk_left_by_an_interrupted_upload_is_replaced(lab: EngineLab,
                                                         tmp_path: Path) -> None:
    """Ok but unverified (the run died after finalizing), or still sending another file."""
    data = os.urandom(MIB)
    record = checksum_record(hashlib.sha256(data).hexdigest(), MIB)
    connection = lab.connect()
    try:
        disks = connection.system_service().disks_service()
        left = {}
        for name, description in (("unverified.iso", incomplete_record("0" * 64, MIB)),
                                  ("busy.iso", incomplete_record("1" * 64, MIB))):
            disk = disks.add(types.Disk(
                name=name, description=description, format=types.DiskFormat.RAW,
                provisioned_size=MIB, content_type=types.DiskContentType.ISO,
                storage_domains=[types.StorageDomain(name="data")]))
            wait_for_status(disks.disk_service(disk.id), "ok", describe=name,
                            deadline=time.monotonic() + 30)
            left[name] = disk.id
        transfers = connection.system_service().image_transfers_service()
        busy = transfers.add(types.ImageTransfer(
            disk=types.Disk(id=left["busy.iso"]),
            direction=types.ImageTransferDirection.UPLOAD))
        wait_for_status(transfers.image_transfer_service(busy.id), "transferring",
                        describe="transfer", deadline=time.monotonic() + 30,
                        status_of=lambda t: t.phase.value)
    finally:
        connection.close()
    code, doc, err = run(lab, tmp_path, upload_workflow(tmp_path, data, "unverified.iso"))
    assert code == 0, (err, doc)
    assert steps(doc, "engine") == [
        ("changed", f"uploaded unverified.iso ({MIB} bytes, sha256 checked, replaced an "
                    "interrupted upload) to storage domain data as disk unverified.iso")]
    done = lab.read("disks", "unverified.iso")
    assert done.id != left["unverified.iso"] and done.description == record
    assert image_of(lab, done).read_bytes() == data

    code, doc, _ = run(lab, tmp_path, upload_workflow(tmp_path, data, "busy.iso"))
    assert code == 2
    assert steps(doc, "engine") == [
        ("failed", f"disk busy.iso is being uploaded with other content "
                   f"({incomplete_record('1' * 64, MIB)}); wait for that upload to end, or "
                   f"cancel image transfer {busy.id}")]
    assert lab.read("disks", "busy.iso").id == left["busy.iso"]
    connection = lab.connect()
    try:
        connection.system_service().image_transfers_service().image_transfer_service(
            busy.id).cancel()
    finally:
        connection.close()
    wait_until_gone(lab, "disks", "busy.iso")


def test_snapshot_create_restore_remove(lab: EngineLab, tmp_path: Path) -> None:
    snap = {"vm": "ol8-vm1", "description": "before patching"}
    workflow = json.dumps({"name": "snapshots", "hosts": "engine", "steps": [
        {"name": "create", "task": "api.snapshot", "with": {**snap, "action": "create"}},
        {"name": "create again", "task": "api.snapshot",
         "with": {**snap, "action": "create"}},
        {"name": "restore while up", "task": "api.snapshot", "on_error": "continue",
         "with": {**snap, "action": "restore"}},
        {"name": "stop", "task": "api.vm_power",
         "with": {"vm": "ol8-vm1", "state": "down", "how": "stop"}},
        {"name": "restore", "task": "api.snapshot", "with": {**snap, "action": "restore"}},
        {"name": "start", "task": "api.vm_power", "with": {"vm": "ol8-vm1", "state": "up"}},
        {"name": "remove", "task": "api.snapshot", "with": {**snap, "action": "remove"}},
        {"name": "remove again", "task": "api.snapshot",
         "with": {**snap, "action": "remove"}}]})
    code, doc, err = run(lab, tmp_path, workflow)
    assert code == 0, (err, doc)
    label = "snapshot 'before patching' of VM ol8-vm1"
    assert steps(doc, "engine") == [
        ("changed", f"created {label}"),
        ("ok", f"{label} exists"),
        ("failed", "VM ol8-vm1 is up; a snapshot can only be restored while the VM is down "
                   "(api.vm_power state=down first)"),
        ("changed", "VM ol8-vm1: stop: up -> down"),
        ("changed", f"restored {label}"),
        ("changed", "VM ol8-vm1: start: down -> up"),
        ("changed", f"removed {label}"),
        ("ok", f"{label} does not exist")]
    connection = lab.connect()
    try:
        snapshots = connection.system_service().vms_service().vm_service(
            lab.read("vms", "ol8-vm1").id).snapshots_service().list()
        assert [s.snapshot_type.value for s in snapshots] == ["active"]
    finally:
        connection.close()
    texts = [e.description for e in lab.events()]
    assert "Restoring VM ol8-vm1 from snapshot started by user admin@internal-authz." in texts


def test_a_sealed_template_from_a_vm_that_is_down(lab: EngineLab, tmp_path: Path) -> None:
    make = {"vm": "ol8-vm1", "name": "ol8-tpl"}
    workflow = json.dumps({"name": "template", "hosts": "engine", "steps": [
        {"name": "while up", "task": "api.template_from_vm", "with": make,
         "on_error": "continue"},
        {"name": "down", "task": "api.vm_power", "with": {"vm": "ol8-vm1", "state": "down"}},
        {"name": "make", "task": "api.template_from_vm", "with": make},
        {"name": "make again", "task": "api.template_from_vm", "with": make},
        {"name": "up", "task": "api.vm_power", "with": {"vm": "ol8-vm1", "state": "up"}}]})
    code, doc, err = run(lab, tmp_path, workflow)
    assert code == 0, (err, doc)
    assert steps(doc, "engine") == [
        ("failed", "VM ol8-vm1 is up; a template can only be made from a VM that is down "
                   "(api.vm_power state=down first)"),
        ("changed", "VM ol8-vm1: shutdown: up -> down"),
        ("changed", "created template ol8-tpl from VM ol8-vm1 (sealed)"),
        ("ok", "template ol8-tpl exists"),
        ("changed", "VM ol8-vm1: start: down -> up")]
    template = lab.read("templates", "ol8-tpl")
    assert template.status.value == "ok"
    connection = lab.connect()
    try:
        system = connection.system_service()
        attachments = system.templates_service().template_service(
            template.id).disk_attachments_service().list()
        aliases = [system.disks_service().disk_service(a.disk.id).get().alias
                   for a in attachments]
    finally:
        connection.close()
    assert aliases == ["ol8-tpl"]
    assert "Template ol8-tpl was sealed." in [e.description for e in lab.events()]
