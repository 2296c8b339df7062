"""The documents of the lab's estate, in the shapes an OLVM 4.5 engine answers.

Element names follow the real bodies of the reference folder; values describe the lab (loopback
addresses, Oracle Linux 8.8 KVM hosts, an NFS data domain on the engine).
"""

from __future__ import annotations

from opsrunner_lab.engine_api.model import BLANK_TEMPLATE_ID, Document, listing, ref
from opsrunner_lab.sysroot_files import LAB_DOMAIN, fqdn

GIB = 1024 ** 3
MAC_POOL_ID = "58ca604b-017d-0374-0220-00000000014e"
SCHEDULING_POLICY_ID = "b4ed2332-a7ac-4d5f-9596-99a439cb2812"
MIGRATION_POLICY_ID = "80554327-0569-496b-bdeb-fcbbf52b827b"
LARGE_ICON_ID = "bf6e3b05-2905-4842-b7e3-5e7b26cc34f4"
SMALL_ICON_ID = "92f703c7-91cc-4d2a-a491-e5f09af1b6fc"
CPU_TYPE = "Secure Intel Cascadelake Server Family"
VERSION = {"major": "4", "minor": "7"}  # the cluster/data-center compatibility level of 4.5


def _version(major: str, minor: str, build: str, revision: str, full: str) -> Document:
    return {"build": build, "full_version": full, "major": major, "minor": minor,
            "revision": revision}


def data_center(dc_id: str) -> Document:
    return {"id": dc_id, "name": "Default", "description": "The default Data Center",
            "local": "false", "quota_mode": "disabled", "status": "up",
            "storage_format": "v5", "supported_versions": listing("version", [dict(VERSION)]),
            "version": dict(VERSION), "mac_pool": ref("macpools", MAC_POOL_ID)}


def cluster(cluster_id: str, dc_id: str) -> Document:
    return {
        "id": cluster_id, "name": "Default", "description": "The default server cluster",
        "comment": "", "ballooning_enabled": "true",
        "cpu": {"architecture": "x86_64", "type": CPU_TYPE},
        "custom_scheduling_policy_properties": listing("property", [
            {"name": "HighUtilization", "value": "80"},
            {"name": "CpuOverCommitDurationMinutes", "value": "2"}]),
        "error_handling": {"on_error": "migrate"},
        "fencing_policy": {"enabled": "true",
                           "skip_if_connectivity_broken": {"enabled": "false", "threshold": "50"},
                           "skip_if_gluster_bricks_up": "false",
                           "skip_if_gluster_quorum_not_met": "false",
                           "skip_if_sd_active": {"enabled": "false"}},
        "firewall_type": "firewalld", "gluster_service": "false", "ha_reservation": "false",
        "ksm": {"enabled": "true", "merge_across_nodes": "true"},
        "log_max_memory_used_threshold": "95",
        "log_max_memory_used_threshold_type": "percentage",
        "memory_policy": {"over_commit": {"percent": "100"},
                          "transparent_hugepages": {"enabled": "true"}},
        "migration": {"auto_converge": "inherit", "bandwidth": {"assignment_method": "auto"},
                      "compressed": "inherit", "policy": {"id": MIGRATION_POLICY_ID}},
        "required_rng_sources": listing("required_rng_source", ["urandom"]),
        "switch_type": "legacy", "threads_as_cores": "false", "trusted_service": "false",
        "tunnel_migration": "false", "version": dict(VERSION), "virt_service": "true",
        "data_center": ref("datacenters", dc_id), "mac_pool": ref("macpools", MAC_POOL_ID),
        "scheduling_policy": ref("schedulingpolicies", SCHEDULING_POLICY_ID),
    }


def host(host_id: str, name: str, address: str, cluster_id: str, ssh_port: int,
         spm: bool) -> Document:
    """A KVM host, ``up``; its ``summary`` (VM counts) is computed when rendered."""
    kernel = "4.18.0-477.10.1.el8_8.x86_64"
    return {
        "id": host_id, "name": name, "comment": "", "address": address,
        "auto_numa_status": "unknown",
        "certificate": {"organization": LAB_DOMAIN,
                        "subject": f"O={LAB_DOMAIN},CN={fqdn(name)}"},
        "cpu": {"name": "Intel Xeon Processor (Cascadelake)", "speed": "2800",
                "topology": {"cores": "2", "sockets": "1", "threads": "1"}, "type": CPU_TYPE},
        "device_passthrough": {"enabled": "false"}, "external_status": "ok",
        "hardware_information": {
            "family": "", "manufacturer": "opsrunner lab", "product_name": "lab KVM host",
            "serial_number": host_id, "version": "",
            "supported_rng_sources": listing("supported_rng_source", ["hwrng", "random"]),
            "uuid": host_id.upper()},
        "iscsi": {"initiator": f"iqn.1994-05.com.redhat:{name}"},
        "kdump_status": "disabled", "ksm": {"enabled": "false"},
        "libvirt_version": _version("9", "0", "0", "0", "libvirt-9.0.0-10.3.0.1.module+el8.8.0"),
        "max_scheduling_memory": str(15 * GIB), "memory": str(16 * GIB),
        "numa_supported": "false",
        "os": {"custom_kernel_cmdline": "", "type": "RHEL",
               "reported_kernel_cmdline": f"BOOT_IMAGE=(hd0,msdos1)/vmlinuz-{kernel} "
                                          "root=/dev/mapper/ol-root ro crashkernel=auto",
               "version": {"full_version": "8.8 - 1.0.1.el8", "major": "8", "minor": "8"}},
        "port": "54321",
        "power_management": {"automatic_pm_enabled": "true", "enabled": "false",
                             "kdump_detection": "true", "pm_proxies": {}},
        "protocol": "stomp", "se_linux": {"mode": "enforcing"},
        "spm": {"priority": "5", "status": "spm" if spm else "none"},
        "ssh": {"port": str(ssh_port)}, "status": "up",
        "transparent_hugepages": {"enabled": "true"}, "type": "rhel",
        "update_available": "false",
        "version": _version("4", "50", "5", "1", "vdsm-4.50.5.1-8.el8"),
        "vgpu_placement": "consolidated", "cluster": ref("clusters", cluster_id),
    }


def _vm_common(memory: int) -> Document:
    """What a VM and a template share (the ``<vm>``/``<template>`` configuration)."""
    return {
        "bios": {"boot_menu": {"enabled": "false"}, "type": "q35_sea_bios"},
        "cpu": {"architecture": "x86_64",
                "topology": {"cores": "1", "sockets": "1", "threads": "1"}},
        "cpu_shares": "0", "delete_protected": "false",
        "display": {"allow_override": "false", "copy_paste_enabled": "true",
                    "disconnect_action": "LOCK_SCREEN", "file_transfer_enabled": "true",
                    "monitors": "1", "smartcard_enabled": "false", "type": "vnc"},
        "high_availability": {"enabled": "false", "priority": "0"},
        "io": {"threads": "1"}, "large_icon": ref("icons", LARGE_ICON_ID),
        "memory": str(memory),
        "memory_policy": {"guaranteed": str(memory), "max": str(4 * memory)},
        "migration": {"auto_converge": "inherit", "compressed": "inherit"},
        "migration_downtime": "-1", "multi_queues_enabled": "true", "origin": "ovirt",
        "os": {"boot": {"devices": listing("device", ["hd"])}, "type": "other"},
        "placement_policy": {"affinity": "migratable"},
        "small_icon": ref("icons", SMALL_ICON_ID),
        "sso": {"methods": listing("method", [{"id": "guest_agent"}])},
        "start_paused": "false", "stateless": "false",
        "storage_error_resume_behaviour": "auto_resume", "type": "server",
        "usb": {"enabled": "false"},
    }


def blank_template(created_ms: int) -> Document:
    doc: Document = {"id": BLANK_TEMPLATE_ID, "name": "Blank",
                     "description": "Blank template", "comment": ""}
    doc.update(_vm_common(GIB))
    doc["cpu"]["architecture"] = "undefined"
    doc.update({"creation_time": created_ms, "status": "ok",
                "version": {"version_name": "", "version_number": "1",
                            "base_template": ref("templates", BLANK_TEMPLATE_ID)}})
    return doc


def vm(vm_id: str, name: str, cluster_id: str, host_id: str, created_ms: int) -> Document:
    """A running Oracle Linux 8 server VM on ``host_id``, made from Blank."""
    doc: Document = {"id": vm_id, "name": name, "description": "", "comment": ""}
    doc.update(_vm_common(2 * GIB))
    doc["os"]["type"] = "rhel_8x64"
    doc.update({
        "creation_time": created_ms, "time_zone": {"name": "Etc/GMT"},
        "cluster": ref("clusters", cluster_id), "cpu_profile": ref("cpuprofiles", cluster_id),
        "fqdn": fqdn(name), "next_run_configuration_exists": "false",
        "numa_tune_mode": "interleave", "run_once": "false", "start_time": created_ms,
        "status": "up", "host": ref("hosts", host_id),
        "original_template": ref("templates", BLANK_TEMPLATE_ID),
        "template": ref("templates", BLANK_TEMPLATE_ID),
    })
    return doc
