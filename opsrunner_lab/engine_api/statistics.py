"""``/hosts/{id}/statistics`` and ``/vms/{id}/statistics`` as the engine answers them.

Views of the host or VM (nothing is stored), with the engine's names, descriptions, ``kind``
(gauge or counter), ``type`` (integer, decimal or string), ``unit`` and ``values/value/datum``
(a number: text in XML, a JSON number). A statistic's id is the name-based UUID (MD5, version
3) of its name, as the engine makes it, so ``memory.used`` has the same id on hosts and VMs.
The history and huge-page statistics have no href and no owner reference, as on the engine.

Values describe the lab: a host that is up uses 660 MiB plus the memory of the VMs running on
it, at 1 % user and 1 % system CPU; one that is not up reports zero use. A running VM (with the
guest agent) uses a quarter of its memory, 2 % CPU, and has run since its ``start_time``; a VM
that does not run reports only its configured memory, every other value zero and empty
histories, as the engine does once a VM is down. The network history is empty even for a
running VM, as on the engine.
"""

from __future__ import annotations

import hashlib
import uuid

from opsrunner_lab.engine_api.model import Document, Number, ref
from opsrunner_lab.engine_api.store import Store

MIB = 1024 ** 2
RUNNING = frozenset({"up", "powering_up", "powering_down", "reboot_in_progress", "migrating",
                     "paused"})
HOST_BASE_USE = 660 * MIB
HISTORY = ("List of {} usage history, sorted by date from newest to oldest, at intervals of "
           "30 seconds")


def statistic_id(name: str) -> str:
    """The engine's id of statistic ``name``: the MD5 name-based UUID (version 3) of it."""
    return str(uuid.UUID(bytes=hashlib.md5(name.encode()).digest(), version=3))


def _datum(values: list[float | int | str]) -> Document:
    return {"value": [{"datum": Number(str(value))} for value in values]} if values else {}


def statistic(name: str, description: str, kind: str, kind_type: str, unit: str,
              values: list[float | int | str], owner: Document | None) -> Document:
    """One statistic; ``owner`` (the host or VM reference) None for an href-less one."""
    doc: Document = {"id": statistic_id(name), "name": name, "description": description,
                     "kind": kind, "type": kind_type, "unit": unit, "values": _datum(values)}
    if owner is None:
        doc["_bare"] = True
    else:
        doc.update(owner)
    return doc


def host_statistics(store: Store, host: Document) -> list[Document]:
    """The statistics of ``host`` (see the module doc)."""
    owner = {"host": ref("hosts", str(host["id"]))}
    total = int(host.get("memory", 0))
    up = host.get("status") == "up"
    running = [vm for vm in store.documents("vms")
               if vm.get("host", {}).get("id") == host["id"] and vm.get("status") in RUNNING]
    used = min(total, HOST_BASE_USE + sum(int(vm.get("memory", 0)) for vm in running)) if up else 0
    swap = 4 * 1024 * MIB
    user, system = (1, 1) if up else (0, 0)
    boot = (int(host.get("_boot_time_ms", store.now_ms() - 3_600_000)) // 1000) if up else 0

    def gauge(name: str, description: str, unit: str, value: float | int,
              kind_type: str = "integer") -> Document:
        return statistic(name, description, "gauge", kind_type, unit, [value], owner)

    docs = [
        gauge("memory.total", "Total memory", "bytes", total),
        gauge("memory.used", "Used memory", "bytes", used),
        gauge("memory.free", "Free memory", "bytes", total - used),
        gauge("memory.shared", "The amount of memory, in bytes, shared among Virtual-Machines "
                               "on this Host by Kernel Same-page Merging (KSM)", "bytes", 0),
        gauge("swap.total", "Total swap", "bytes", swap),
        gauge("swap.free", "Free swap", "bytes", swap if up else 0),
        gauge("swap.used", "Used swap", "bytes", 0),
        gauge("ksm.cpu.current", "KSM CPU usage", "percent", 0, "decimal"),
        gauge("cpu.current.user", "User CPU usage", "percent", user, "decimal"),
        gauge("cpu.current.system", "System CPU usage", "percent", system, "decimal"),
        gauge("cpu.current.idle", "Idle CPU usage", "percent", 100 - user - system if up else 0,
              "decimal"),
        gauge("cpu.load.avg.5m", "CPU 5 minute load average", "percent",
              0.07 if up else 0, "decimal"),
        gauge("boot.time", "Boot time of the machine", "none", boot),
    ]
    for size in ("2048", "1048576"):
        docs.append(statistic(f"hugepages.{size}.free", "Amount of free huge pages of the "
                              "given size", "gauge", "integer", "none", [0], None))
    for size in ("2048", "1048576"):
        docs.append(statistic(f"hugepages.{size}.total", "Amount of total huge pages of the "
                              "given size", "gauge", "integer", "none", [0], None))
    return docs


def vm_statistics(store: Store, vm: Document) -> list[Document]:
    """The statistics of ``vm`` (see the module doc)."""
    owner = {"vm": ref("vms", str(vm["id"]))}
    memory = int(vm.get("memory", 0))
    runs = vm.get("status") in RUNNING
    used = memory // 4 if runs else 0
    start = vm.get("start_time")
    elapsed = max(0, (store.now_ms() - int(start)) // 1000) if runs and start else 0
    cpu = 2 if runs else 0

    def gauge(name: str, description: str, unit: str, value: float | int,
              kind_type: str = "integer") -> Document:
        return statistic(name, description, "gauge", kind_type, unit, [value], owner)

    def history(what: str, values: list[float | int | str]) -> Document:
        return statistic(f"{what}.usage.history", HISTORY.format(what), "gauge", "decimal",
                         "percent", values if runs else [], None)

    return [
        gauge("memory.installed", "Total memory configured", "bytes", memory),
        gauge("memory.used", "Memory used (agent)", "bytes", used),
        gauge("cpu.current.guest", "CPU used by guest", "percent", cpu, "decimal"),
        gauge("cpu.current.hypervisor", "CPU overhead", "percent", 0.5 if runs else 0,
              "decimal"),
        gauge("cpu.current.total", "Total CPU used", "percent", cpu + 0.5 if runs else 0,
              "decimal"),
        gauge("migration.progress", "Migration Progress", "percent", 0, "decimal"),
        gauge("memory.buffered", "Memory buffered (agent)", "bytes", 0),
        gauge("memory.cached", "Memory cached (agent)", "bytes", memory // 8 if runs else 0),
        gauge("memory.free", "Memory free (agent)", "bytes", memory - used if runs else 0),
        gauge("memory.unused", "Memory unused (agent)", "bytes",
              memory - used - memory // 8 if runs else 0),
        gauge("network.current.total", "Total network used", "percent", 0, "decimal"),
        statistic("disks.usage", "Disk usage, in bytes, per filesystem as JSON (agent)",
                  "gauge", "string", "none", [], owner),
        statistic("elapsed.time", "Elapsed VM runtime", "counter", "integer", "seconds",
                  [elapsed], owner),
        history("cpu", [cpu] * 5),
        history("memory", [25] * 5),
        history("network", []),  # the engine keeps none for a VM's network
    ]


def host_statistics_view(store: Store, segments: list[str]) -> list[Document]:
    """``/hosts/{id}/statistics``."""
    host = store.get("hosts", segments[1])
    return [] if host is None else host_statistics(store, host)


def vm_statistics_view(store: Store, segments: list[str]) -> list[Document]:
    """``/vms/{id}/statistics``."""
    vm = store.get("vms", segments[1])
    return [] if vm is None else vm_statistics(store, vm)
