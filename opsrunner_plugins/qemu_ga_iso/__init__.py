"""The ``qemu_ga_iso`` task: the QEMU guest agent ISO for Windows guests (the OLVM
Administration Guide, "Administration Tasks", section "Installing the QEMU Guest Agent"
("QEMUゲスト・エージェントのインストール")).

Where the ISO is built: on the engine host, as the guide does (``mkisofs -R -J``). The MSIs
are there once ``qemu-ga-win`` is installed, the host's real mkisofs writes Rock Ridge and
Joliet, and the control node needs no ISO library (pycdlib is not a dependency). The ISO is
then fetched (``task.get``) because ``api.upload_iso`` uploads a control-node file, and
its Joliet root is read on the control node (:mod:`._iso_listing`), so no ``isoinfo`` is
needed either. mkisofs stamps the build time into the image, so an ISO already in the build
folder holding exactly the MSIs (names, sizes, sha256) is reused: a second run uploads the
same bytes, which ``api.upload_iso`` recognizes by checksum and leaves alone.
"""

from __future__ import annotations

import posixpath
import shlex
import tempfile
from pathlib import Path
from typing import Literal

from opsrunner import Registry, Result, Task, hookimpl
from opsrunner_plugins._remote import require_absolute
from opsrunner_plugins.engine.upload import upload_iso
from opsrunner_plugins.engine.vms import vm_cdrom
from opsrunner_plugins.qemu_ga_iso.iso_listing import IsoFile, IsoFormatError, joliet_root

MSIS = ("/usr/i686-w64-mingw32/sys-root/mingw/bin/qemu-ga-i386.msi",
        "/usr/x86_64-w64-mingw32/sys-root/mingw/bin/qemu-ga-x86_64.msi")
ISO_NAME = "qemu-ga-windows.iso"
BUILD_DIR = "/var/tmp/qemu-ga-iso"
ATTACH_BOOT: list[Literal["hd", "cdrom", "network"]] = ["hd", "cdrom"]
DETACH_BOOT: list[Literal["hd", "cdrom", "network"]] = ["hd"]


def listing_problems(found: list[IsoFile], wanted: dict[str, tuple[int, str]]) -> list[str]:
    """What differs between an ISO's Joliet root and ``wanted`` (name -> (size, sha256))."""
    problems = []
    held = {f.name: f for f in found}
    for name, (size, sha256) in sorted(wanted.items()):
        entry = held.get(name)
        if entry is None:
            problems.append(f"{name} is missing")
        elif entry.size != size:
            problems.append(f"{name} has {entry.size} bytes, expected {size}")
        elif entry.sha256 != sha256:
            problems.append(f"{name} has other content (sha256 {entry.sha256[:12]}...)")
    problems += [f"{name} is not an installer of qemu-ga-win" for name in sorted(held)
                 if name not in wanted]
    return problems


def parse_sha256sum(output: str) -> dict[str, str]:
    """``sha256sum`` lines -> {file name (basename): sha256}."""
    sums = {}
    for line in output.splitlines():
        digest, _, path = line.strip().partition("  ")
        if digest and path:
            sums[posixpath.basename(path)] = digest
    return sums


def qemu_ga_iso(task: Task, *, storage_domain: str, vm: str | None = None,
                mode: Literal["attach", "detach"] = "attach", name: str = ISO_NAME,
                build_dir: str = BUILD_DIR, timeout: float = 3600) -> Result:
    """Build the qemu-ga ISO on the engine host, upload it, attach it to a VM (or detach it).

    :param storage_domain: the data storage domain that receives the ISO disk.
    :param vm: the Windows VM; without it the ISO is only built and uploaded.
    :param mode: attach: boot order hard disk then CD-ROM, the ISO in the CD (before the
        installer runs); detach: boot from hard disk only, CD empty (after it ran).
    :param name: the ISO disk's name in the engine (and the ISO's file name).
    :param build_dir: folder on the engine host: ``build-iso/`` with the MSIs, and the ISO.
    :param timeout: seconds for the upload.

    Installs ``qemu-ga-win`` and ``genisoimage`` with dnf when missing; fails naming an MSI
    that the package did not deliver. data: msis (name -> size), sha256, disk_id, vm.
    """
    if mode not in ("attach", "detach"):
        task.fail(f"mode must be attach or detach, got {mode!r}")
    require_absolute("build_dir", build_dir)
    if not name or "/" in name:
        task.fail(f"name must be a file name (no '/'), got {name!r}")
    changes: list[str] = []
    for package in ("qemu-ga-win", "genisoimage"):
        _ensure_package(task, package, changes)
    if task.check and changes:
        plan = f"would install {', '.join(p.split()[1] for p in changes)}, build {name}, " \
               f"upload it to {storage_domain}"
        return Result(changed=True, msg=plan + (f" and {mode} it on VM {vm}" if vm else ""))
    wanted = _msi_facts(task)
    iso_path = posixpath.join(build_dir, name)
    image = _current_image(task, iso_path, wanted)
    if image is None:
        if task.check:
            then = f"; {mode} it on VM {vm}" if vm else ""
            return Result(changed=True,
                          msg=f"would build {iso_path} and upload it to {storage_domain}{then}")
        image = _build(task, build_dir, iso_path, wanted)
        changes.append(f"built {iso_path}")
    with tempfile.TemporaryDirectory(prefix="qemu-ga-iso-") as folder:
        local = Path(folder) / name
        local.write_bytes(image)
        uploaded = upload_iso(task, src=str(local), name=name, storage_domain=storage_domain,
                              timeout=timeout)
    if uploaded.changed:
        changes.append(uploaded.msg)
    data = {"msis": {n: s for n, (s, _) in wanted.items()}, **uploaded.data, "vm": vm or ""}
    if vm:
        if task.check and uploaded.changed:
            changes.append(f"would {mode} {name} on VM {vm}")
        else:
            cd = vm_cdrom(task, vm=vm, iso=name if mode == "attach" else None,
                          eject=mode == "detach",
                          boot=ATTACH_BOOT if mode == "attach" else DETACH_BOOT)
            if cd.changed:
                changes.append(cd.msg)
    msg = "; ".join(changes) if changes else \
        f"{name} is built and uploaded" + (f", VM {vm} is as wanted ({mode})" if vm else "")
    return Result(changed=bool(changes), msg=msg, data=data)


def _ensure_package(task: Task, package: str, changes: list[str]) -> None:
    if task.run(f"rpm -q {package}").rc == 0:
        return
    if not task.check:
        task.run(f"dnf install -y {package}", check_rc=True)
    changes.append(f"installed {package}")


def _msi_facts(task: Task) -> dict[str, tuple[int, str]]:
    """{MSI file name: (size, sha256)}; fails naming each MSI that is missing."""
    missing = [m for m in MSIS if task.run(f"test -f {shlex.quote(task.path(m))}").rc != 0]
    if missing:
        task.fail(f"qemu-ga-win is installed but {' and '.join(missing)} "
                  f"{'is' if len(missing) == 1 else 'are'} missing; reinstall it "
                  "(dnf reinstall -y qemu-ga-win)")
    quoted = " ".join(shlex.quote(task.path(m)) for m in MSIS)
    sums = parse_sha256sum(task.run(f"sha256sum {quoted}", check_rc=True).stdout)
    sizes = task.run(f"stat -c %s {quoted}", check_rc=True).stdout.split()
    facts = {}
    for msi, size in zip(MSIS, sizes, strict=True):
        base = posixpath.basename(msi)
        facts[base] = (int(size), sums[base])
    return facts


def _current_image(task: Task, iso_path: str, wanted: dict[str, tuple[int, str]]) -> bytes | None:
    """The ISO already built in the build folder, if it holds exactly the MSIs; None means
    build it again."""
    if task.run(f"test -f {shlex.quote(task.path(iso_path))}").rc != 0:
        return None
    image = task.get(task.path(iso_path))
    try:
        problems = listing_problems(joliet_root(image), wanted)
    except IsoFormatError:
        return None
    return None if problems else image


def _build(task: Task, build_dir: str, iso_path: str, wanted: dict[str, tuple[int, str]]) -> bytes:
    """``mkisofs -R -J -o ISO build-iso/*`` with copies of both MSIs; the verified image."""
    folder = shlex.quote(task.path(posixpath.join(build_dir, "build-iso")))
    copies = " ".join(shlex.quote(task.path(m)) for m in MSIS)
    target = shlex.quote(task.path(iso_path))
    task.run(f"rm -rf {folder} && mkdir -p {folder} && cp {copies} {folder}/", check_rc=True)
    task.run(f"mkisofs -quiet -R -J -o {target} {folder}/*", check_rc=True)
    image = task.get(task.path(iso_path))
    try:
        problems = listing_problems(joliet_root(image), wanted)
    except IsoFormatError as exc:
        task.fail(f"mkisofs wrote {iso_path}, but it is not a Joliet ISO: {exc}")
    if problems:
        task.fail(f"{iso_path} does not list the MSIs as expected: {'; '.join(problems)}")
    task.log(f"built {iso_path} ({len(image)} bytes): "
             + ", ".join(f"{n} ({s} bytes)" for n, (s, _) in sorted(wanted.items())))
    return image


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(qemu_ga_iso, name="qemu_ga_iso", idempotent=True)
