"""``POST /vms/{id}/export`` to an OVA on a host (``export_to_path_on_host``: ``<host>``,
``<directory>``, ``<filename>``), with the engine's rules (ExportOvaCommand): a proxy host must
be given (else 400), exist (400), be ``up`` (409) and be in the VM's data center (409); the
directory (one trailing ``/`` dropped) must be a valid target (400): absolute and, on a host
with a file tree (the lab's KVM hosts' sysroots), an existing writeable directory there. The
statuses are those of the messages' ErrorTypes (BAD_PARAMETERS, CONFLICT). A running VM may be
exported (the engine snapshots it first: ExportVmToOvaCommand); it is locked while it is
exported (a second export is refused, 409). The file name defaults to ``<vm name>.ova``.
It runs asynchronously: a job, then the success event, by when the OVA (:mod:`.ova_files`) has
its final name. An ``export`` to an export domain (no ``<host>`` nor ``<directory>``) is not
implemented (405).

Events (AuditLogType codes): 1223 IMPORTEXPORT_STARTING_EXPORT_VM_TO_OVA, 1224
IMPORTEXPORT_EXPORT_VM_TO_OVA.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.estate import ref_id
from opsrunner_lab.engine_api.faults import ApiFault, bad_request, conflict, not_found
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.ova_files import PACKED_HOOK, host_root, target_folder, write_vm_ova
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.transitions import event_later, event_now, require, start_job
from opsrunner_lab.engine_api.xmlcodec import child_text

CANNOT = "Cannot export VM."
NO_HOST = f"{CANNOT} No host specified to serve as proxy."
INVALID_HOST = f"{CANNOT} Invalid Host Id."
HOST_NOT_UP = f"{CANNOT} Operation can be performed only when Host status is Up."
OTHER_DATA_CENTER = (f"{CANNOT} Proxy host and virtual machine do not reside at the same data "
                     "center.")


def being_exported(vm_name: str) -> str:
    """The engine's refusal while the VM's export holds its lock (the whole command)."""
    return f"{CANNOT} VM {vm_name} is being exported."


def invalid_folder(directory: str, host: str) -> str:
    """The engine's refusal of a target directory the host cannot write to."""
    return (f"{CANNOT} Invalid target folder: {directory} on Host {host}. You may refer to the "
            "engine.log file for further details.")


def _data_center(store: Store, doc: Document) -> str | None:
    cluster = store.get("clusters", ref_id(doc, "cluster") or "")
    return None if cluster is None else ref_id(cluster, "data_center")


def proxy_host(store: Store, vm: Document, body: ET.Element) -> Document:
    """The ``up`` host of the VM's data center ``body`` names (faults as the engine)."""
    element = body.find("host")
    host_id = None if element is None else element.get("id") or child_text(element, "id")
    host_name = None if element is None else child_text(element, "name")
    if not host_id and not host_name:
        raise bad_request(NO_HOST)
    if host_id:
        host = store.get("hosts", host_id)
        if host is None:
            raise bad_request(INVALID_HOST)
    else:
        named = next((h for h in store.documents("hosts") if h["name"] == host_name), None)
        if named is None:
            raise not_found()
        host = named
    if host.get("status") != "up":
        raise conflict(HOST_NOT_UP)
    if _data_center(store, host) != _data_center(store, vm):
        raise conflict(OTHER_DATA_CENTER)
    return host


def export_vm(ctx: ApiContext, target: Target, body: ET.Element,
              query: Mapping[str, str]) -> Document:
    """``POST /vms/{id}/export`` to a path on a host: the job (see the module doc)."""
    store, delay = ctx.store, ctx.settings.timing.snapshot * 2
    if body.find("host") is None and body.find("directory") is None:
        raise ApiFault(405, "[The lab's engine simulator does not implement export to an "
                            "export domain]", reason="Method Not Allowed")
    with store.transaction():
        vm = require(ctx, "vms", target.entity_id)
        if int(vm.get("_exported_until", 0)) > store.now_ms():
            raise conflict(being_exported(str(vm["name"])))
        host = proxy_host(store, vm, body)
        directory = child_text(body, "directory") or ""
        directory = directory[:-1] if directory.endswith("/") else directory
        filename = child_text(body, "filename") or f"{vm['name']}.ova"
        path = f"{directory}/{filename}"  # as the engine joins them
        root = host_root(ctx, host)
        folder = None if root is None else target_folder(root, posixpath.dirname(path))
        if not directory.startswith("/") or (root is not None and (
                folder is None or not posixpath.basename(path))):
            raise bad_request(invalid_folder(directory or "null", str(host["name"])))
        about = {"vm": str(vm["id"]), "host": str(host["id"])}
        store.update("vms", str(vm["id"]), {"_exported_until": store.now_ms() + int(delay * 1000)})
        if folder is not None:
            ova = write_vm_ova(ctx, vm, folder, posixpath.basename(path))
            store.schedule_hook("vms", str(vm["id"]), delay, PACKED_HOOK, {"path": str(ova)})
        event_now(ctx, 1223, f"Starting to export Vm {vm['name']} as a Virtual Appliance",
                  about=about)
        event_later(ctx, delay, 1224, f"Vm {vm['name']} was exported successfully as a Virtual "
                                      f"Appliance to path {path} on Host {host['name']}",
                    about=about)
        job = start_job(ctx, f"Exporting VM {vm['name']} as an OVA to {path} on Host "
                             f"{host['name']}", delay)
        return {"job": job}


def register(handlers: Handlers) -> None:
    handlers.actions[("vms", "export")] = export_vm
