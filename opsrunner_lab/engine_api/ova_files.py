"""The OVA file of an export to a path on a host, in that host's file tree (the lab: its
sysroot, :attr:`~opsrunner_lab.engine_api.settings.EngineSettings.host_roots` by address).

:func:`target_folder` is the export's validation of its directory, as the engine's
ovirt-ova-export-pre-pack role checks it (it exists, is a directory, is writeable);
:func:`write_vm_ova` packs the VM's OVF and disk images (:mod:`.ova_pack`) under the temporary
name, and the ``ova_packed`` hook gives it its final name when the export's job ends. A host
without a file tree gets no file (the export is then its job and events only).
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from opsrunner_lab.engine_api.disks import image_file
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers
from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.networks import networks_view, vnic_profiles_view
from opsrunner_lab.engine_api.ova_ovf import OvaDisk, vm_ovf
from opsrunner_lab.engine_api.ova_pack import DiskImage, finish_ova, pack_ova
from opsrunner_lab.engine_api.store import Store

PACKED_HOOK = "ova_packed"


def host_root(ctx: ApiContext, host: Document) -> Path | None:
    """The file tree of ``host`` (None: the simulator has none for it)."""
    root = ctx.settings.host_roots.get(str(host.get("address", "")))
    return root if root is not None and root.is_dir() else None


def target_folder(root: Path, directory: str) -> Path | None:
    """The folder ``directory`` (absolute on the host) below ``root`` if it is a writeable
    directory inside that tree, else None."""
    inside = posixpath.normpath("/" + directory).lstrip("/")
    folder = (root / inside).resolve()
    if not folder.is_relative_to(root.resolve()):
        return None
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        return None
    return folder


def _networks(store: Store, nics: list[Document]) -> dict[str, str]:
    """NIC id -> the name of its vNIC profile's network."""
    names = {str(n["id"]): str(n["name"]) for n in networks_view(store, [])}
    profiles = {str(p["id"]): names.get(str(p["network"]["id"]), "")
                for p in vnic_profiles_view(store, [])}
    return {str(nic["id"]): profiles.get(str(nic.get("vnic_profile", {}).get("id")), "")
            for nic in nics}


def write_vm_ova(ctx: ApiContext, vm: Document, folder: Path, filename: str) -> Path:
    """Pack ``vm``'s OVA for ``folder/filename`` (under its temporary name); the final path."""
    store, vm_id = ctx.store, str(vm["id"])
    disks, images = [], []
    for attachment in store.documents(f"vms/{vm_id}/diskattachments"):
        disk = store.get("disks", str(attachment["id"]))
        if disk is None:
            continue
        image_id = str(disk.get("image_id") or disk["id"])
        disks.append(OvaDisk(disk, attachment, image_id))
        images.append(DiskImage(image_id, int(str(disk.get("provisioned_size", 0))),
                                image_file(ctx, disk)))
    nics = store.documents(f"vms/{vm_id}/nics")
    path = folder / filename
    pack_ova(path, vm_ovf(vm, disks, nics, _networks(store, nics)), images)
    return path


def _packed(store: Store, collection: str, entity_id: str, args: Document) -> None:
    finish_ova(Path(str(args["path"])))


def register(handlers: Handlers) -> None:
    handlers.hooks[PACKED_HOOK] = _packed
