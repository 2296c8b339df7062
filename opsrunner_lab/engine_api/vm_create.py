"""``POST /vms`` (``?clone=true``): a VM made from Blank or a template, as the engine adds it.

Checks, in the engine's order: the REST layer's required ``cluster.id|name``, ``name`` and
``template.id|name`` (400 ``Incomplete parameters``), the cluster and template lookups (404
``Entity not found: ...``), the OS type (400); then the command's: memory under 1 MiB (400), a
name already used (409), memory above the maximum memory (409) or the cluster level's limit
(400).

The VM takes the template's configuration (memory, memory policy, CPU topology, OS, display,
``initialization``...), then what the body sets (``description``, ``comment``, ``memory``,
``memory_policy``, ``cpu/topology``, ``os/type``, ``initialization``); without a body
``memory_policy/max`` its maximum memory is four times its memory. It gets the template's
disks (:mod:`.vm_from_template`: copies with ``clone=true``, else thin layers) and NICs, a
CD-ROM and its Active VM snapshot. A VM with disks is ``image_locked`` until they are made, then
``down``; one without is ``down`` at once. A cloned VM's ``template`` is Blank (its
``original_template`` the template), as on the engine.

Events (AuditLogType codes): 34 USER_ADD_VM (no disks to make), 37 USER_ADD_VM_STARTED and
53 USER_ADD_VM_FINISHED_SUCCESS (with disks).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api import shapes, shapes_devices
from opsrunner_lab.engine_api.faults import ApiFault, bad_request, conflict, incomplete
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers
from opsrunner_lab.engine_api.model import BLANK_TEMPLATE_ID, Document, ref
from opsrunner_lab.engine_api.template_updates import parse_initialization, with_initialization
from opsrunner_lab.engine_api.templates import TEMPLATE_KEYS
from opsrunner_lab.engine_api.transitions import event_later, event_now, new_id, start_job, user_name
from opsrunner_lab.engine_api.vm_devices import OS_TYPES
from opsrunner_lab.engine_api.vm_from_template import copy_template_disks, copy_template_nics
from opsrunner_lab.engine_api.xmlcodec import child_text

MIB = 1024 * 1024
# VM64BitMaxMemorySizeInMB of cluster level 4.7 (the engine's 0000_config.sql).
MAX_MEMORY_MB = 16777216
NAME_IN_USE = ("Cannot add VM. The VM name is already in use, please choose a unique name and "
               "try again.")
# Template settings a VM does not take over (it has its own).
_OWN_KEYS = ("creation_time", "cluster", "cpu_profile", "cpu", "origin")


def _not_found(what: str) -> ApiFault:
    """The REST layer's failed lookup: 404 with a fault body."""
    return ApiFault(404, f"Entity not found: {what}")


def _cluster(ctx: ApiContext, element: ET.Element) -> Document:
    cluster_id, cluster_name = element.get("id"), child_text(element, "name")
    if cluster_id:
        found = ctx.store.get("clusters", cluster_id)
        if found is None:
            raise _not_found("GetClusterById")
        return found
    for cluster in ctx.store.documents("clusters"):
        if cluster.get("name") == cluster_name:
            return cluster
    raise _not_found(f"Cluster: name={cluster_name}")


def _template(ctx: ApiContext, element: ET.Element) -> Document:
    template_id, template_name = element.get("id"), child_text(element, "name")
    for template in ctx.store.documents("templates"):
        if template["id"] == template_id or (not template_id
                                             and template.get("name") == template_name):
            return template
    raise _not_found("GetVmTemplate")


def _required(body: ET.Element) -> tuple[ET.Element, str, ET.Element]:
    """The body's cluster, name and template, checked as the REST layer checks them."""
    cluster = body.find("cluster")
    if cluster is None or not (cluster.get("id") or child_text(cluster, "name")):
        raise incomplete("Vm", ["cluster.id|name"], "add")
    name = child_text(body, "name")
    if not name:
        raise incomplete("Vm", ["name"], "add")
    template = body.find("template")
    if template is None or not (template.get("id") or child_text(template, "name")):
        raise incomplete("Vm", ["template.id|name"], "add")
    return cluster, name, template


def _number(body: ET.Element, path: str) -> int | None:
    text = child_text(body, path)
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise ApiFault(400, f"The value '{text}' of '{path}' is not a number of bytes",
                       reason="Invalid value")
    return int(text)


def _memory(body: ET.Element, template: Document) -> Document:
    """The VM's ``memory`` and ``memory_policy``, checked like the engine checks them."""
    memory = _number(body, "memory")
    policy = copy.deepcopy(template.get("memory_policy", {}))
    if memory is None:
        memory = int(template.get("memory", str(shapes.GIB)))
    else:
        policy.update({"guaranteed": str(memory), "max": str(4 * memory)})
    for key in ("guaranteed", "max"):
        value = _number(body, f"memory_policy/{key}")
        if value is not None:
            policy[key] = str(value)
    if memory < MIB:  # VmBase.memSizeMb's @Min(1): Hibernate Validator's default message
        raise bad_request("must be greater than or equal to 1")
    maximum = int(policy.get("max", str(4 * memory)))
    if maximum < memory:
        raise conflict(f"Cannot add VM. Memory size ({memory // MIB}MB) cannot exceed maximum "
                       f"memory size ({maximum // MIB}MB).")
    if memory // MIB > MAX_MEMORY_MB:
        raise bad_request("Cannot add VM. Memory size exceeds supported limit for given cluster "
                          "version.")
    return {"memory": str(memory), "memory_policy": policy}


def _os_type(body: ET.Element) -> str | None:
    value = child_text(body, "os/type")
    if value is None:
        return None
    if value not in OS_TYPES:
        raise bad_request(f"Cannot add VM. The operating system '{value}' is not supported "
                          "(osinfo has no such type).")
    return value


def _configuration(body: ET.Element, template: Document, memory: Document) -> Document:
    """The VM settings taken from the template, then from the body."""
    config: Document = {key: copy.deepcopy(template[key]) for key in TEMPLATE_KEYS
                        if key in template and key not in _OWN_KEYS}
    config.update(memory)
    topology = copy.deepcopy(template.get("cpu", {}).get("topology", {}))
    for key in ("cores", "sockets", "threads"):
        value = child_text(body, f"cpu/topology/{key}")
        if value:
            topology[key] = value
    config["_topology"] = topology
    for key in ("description", "comment"):
        value = child_text(body, key)
        if value is not None:
            config[key] = value
    os_type = _os_type(body)
    if os_type is not None:
        config["os"] = {**config.get("os", {}), "type": os_type}
    return config


def _vm_document(ctx: ApiContext, vm_id: str, name: str, cluster: Document, template: Document,
                 config: Document, clone: bool) -> Document:
    store = ctx.store
    doc = shapes.vm(vm_id, name, str(cluster["id"]), "", store.now_ms())
    for key in ("host", "start_time", "fqdn"):
        doc.pop(key, None)
    topology = config.pop("_topology")
    doc.update(config)
    if topology:
        doc["cpu"]["topology"] = topology
    doc["status"] = "down"
    based_on = BLANK_TEMPLATE_ID if clone else str(template["id"])
    doc["template"] = ref("templates", based_on)
    doc["original_template"] = ref("templates", str(template["id"]))
    return doc


def add_vm(ctx: ApiContext, collection: str, body: ET.Element,
           query: Mapping[str, str]) -> Document:
    """``POST /vms``; the answer is the new VM (``image_locked`` while its disks are made)."""
    store, delay = ctx.store, ctx.settings.timing.disk
    clone = query.get("clone", "false").lower() == "true"
    with store.transaction():
        cluster_element, name, template_element = _required(body)
        cluster = _cluster(ctx, cluster_element)
        template = _template(ctx, template_element)
        config = _configuration(body, template, _memory(body, template))
        if any(vm.get("name") == name for vm in store.documents("vms")):
            raise conflict(NAME_IN_USE)
        vm_id = new_id()
        doc = _vm_document(ctx, vm_id, name, cluster, template, config, clone)
        initialization = body.find("initialization")
        if initialization is not None:
            doc = with_initialization(doc, parse_initialization(initialization))
        store.put("vms", doc)
        disks = copy_template_disks(ctx, str(template["id"]), vm_id, clone, delay)
        copy_template_nics(ctx, str(template["id"]), vm_id, name)
        store.put(f"vms/{vm_id}/cdroms", shapes_devices.cdrom(vm_id))
        store.put(f"vms/{vm_id}/snapshots",
                  shapes_devices.active_snapshot(new_id(), vm_id, store.now_ms()))
        about = {"vm": vm_id, "cluster": str(cluster["id"]), "template": str(template["id"])}
        if disks:
            store.update("vms", vm_id, {"status": "image_locked"})
            store.schedule("vms", vm_id, delay, {"status": "down"})
            event_now(ctx, 37, f"VM {name} creation was initiated by {user_name(ctx)}.",
                      about=about)
            event_later(ctx, delay, 53, f"VM {name} creation has been completed.",
                        about=about, anchor=("vms", vm_id))
        else:
            event_now(ctx, 34, f"VM {name} was created by {user_name(ctx)}.", about=about)
        origin = (f" from Template {template['name']}"
                  if clone and template["id"] != BLANK_TEMPLATE_ID else "")
        start_job(ctx, f"Creating VM {name}{origin} in Cluster {cluster['name']}",
                  delay if disks else 0.0)
        created = store.get("vms", vm_id)
        assert created is not None
        return created


def register(handlers: Handlers) -> None:
    handlers.adders["vms"] = add_vm
