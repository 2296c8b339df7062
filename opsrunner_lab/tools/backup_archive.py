"""The engine-backup archive: its members, checksums, version check, packing and unpacking.

The archive is a tar (gzip by default) of a folder holding ``files`` (the inner tar of the
engine's files), ``db/engine_backup.db``, ``db/dwh_backup.db`` (and ``db/grafana.db``),
``version``, ``os_version``, ``config`` (the dump formats and compressors, ``KEY=value``)
and ``sha256sum`` (``<hex>  <member>`` for every other member), as the real tool makes it.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import tarfile
import zlib
from pathlib import Path
from typing import BinaryIO

from opsrunner_lab.shell_conf import ShellConfError, read_shell_conf
from opsrunner_lab.tools.backup_options import BackupOptions, DumpOptions
from opsrunner_lab.tools.backup_run import fail
from opsrunner_lab.tools.common import ToolError

PACKAGE_VERSION = "4.5.6"
FILES = "files"
ENGINE_DUMP = "db/engine_backup.db"
DWH_DUMP = "db/dwh_backup.db"
GRAFANA_DUMP = "db/grafana.db"
VERSION = "version"
OS_VERSION = "os_version"
CONFIG = "config"
HASHERS = {"sha256sum": hashlib.sha256, "md5sum": hashlib.md5}  # restore accepts either
HASHER = "sha256sum"  # what a backup writes
_READ_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError)


def write_metadata(folder: Path, options: BackupOptions, os_version: str) -> None:
    """``version``, ``os_version`` and ``config`` of a new backup in ``folder``."""
    (folder / VERSION).write_text(PACKAGE_VERSION + "\n")
    (folder / OS_VERSION).write_text(os_version + "\n")
    config = {"DB_DUMP_COMPRESSOR": options.engine_db.compressor,
              "DB_DUMP_FORMAT": options.engine_db.dump_format,
              "DWH_DB_DUMP_COMPRESSOR": options.dwh_db.compressor,
              "DWH_DB_DUMP_FORMAT": options.dwh_db.dump_format,
              "CINDERLIB_DB_DUMP_COMPRESSOR": "", "CINDERLIB_DB_DUMP_FORMAT": "custom"}
    (folder / CONFIG).write_text("".join(f"{key}={value}\n" for key, value in config.items()))


def read_config(folder: Path) -> tuple[DumpOptions, DumpOptions]:
    """The engine's and DWH's dump format and compressor recorded in ``config``."""
    try:
        values = read_shell_conf(folder / CONFIG)
    except ShellConfError as exc:
        raise fail("Cannot read the backup's config", cause=str(exc)) from None
    dumps = []
    for prefix in ("DB", "DWH_DB"):
        dump = DumpOptions(values.get(f"{prefix}_DUMP_COMPRESSOR", ""),
                           values.get(f"{prefix}_DUMP_FORMAT", "custom"))
        if dump.compressor not in ("", "gzip", "bzip2", "xz") or \
                dump.dump_format not in ("plain", "custom"):
            raise ToolError(f"Unsupported format {dump.dump_format} or compressor "
                            f"{dump.compressor!r} in the backup's config")
        dumps.append(dump)
    return dumps[0], dumps[1]


def os_version(sysroot: Path) -> str:
    """The OS as the real tool records it (``ol8``), from the sysroot's ``os-release``."""
    try:
        values = read_shell_conf(sysroot / "etc/os-release")
    except ShellConfError:
        return "Unknown"
    return values.get("ID", "") + values.get("VERSION_ID", "").split(".")[0] or "Unknown"


def member_files(folder: Path) -> list[str]:
    """Every regular file under ``folder`` but the hash files, relative, sorted."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                  if path.is_file() and not path.is_symlink()
                  and path.relative_to(folder).as_posix() not in HASHERS)


def write_hash_file(folder: Path) -> None:
    """``sha256sum`` over the members, as ``sha256sum <member>`` prints each."""
    lines = [f"{_digest(folder / name, HASHER)}  {name}\n" for name in member_files(folder)]
    (folder / HASHER).write_text("".join(lines))


def verify_hash(folder: Path) -> None:
    """Every line of the first hash file found matches its member. ToolError otherwise."""
    for hasher in HASHERS:
        path = folder / hasher
        if path.is_file():
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                digest, sep, name = line.partition("  ")
                member = folder / name
                if (not sep or ".." in Path(name).parts or Path(name).is_absolute()
                        or not member.is_file()
                        or _digest(member, hasher) != digest.lower()):
                    raise fail("Checksum verification failed",
                               cause=f"{hasher} line {number}: {name or repr(line)}")
            return
    raise ToolError("No supported hash file found")


def check_version(folder: Path) -> str:
    """The backup's version; ToolError unless it has the installed X.Y and is not newer."""
    try:
        backup = (folder / VERSION).read_text().strip()
    except OSError:
        backup = ""
    if backup.split(".")[:2] != PACKAGE_VERSION.split(".")[:2] or \
            _numbers(backup) > _numbers(PACKAGE_VERSION):
        raise ToolError(f"Backup was created by version '{backup}' and can not be restored "
                        f"using the installed version {PACKAGE_VERSION}")
    return backup


def open_tar_writer(out: BinaryIO, compressor: str) -> tarfile.TarFile:
    """A GNU-format tar writing to ``out`` through ``compressor`` ("" for none)."""
    if compressor == "gzip":
        return tarfile.open(fileobj=out, mode="w:gz", format=tarfile.GNU_FORMAT)
    if compressor == "bzip2":
        return tarfile.open(fileobj=out, mode="w:bz2", format=tarfile.GNU_FORMAT)
    if compressor == "xz":
        return tarfile.open(fileobj=out, mode="w:xz", format=tarfile.GNU_FORMAT)
    return tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT)


def pack(folder: Path, target: Path, compressor: str) -> None:
    """Write the archive of ``folder`` (members ``./...``) to ``target``, which keeps its
    mode. OSError (e.g. ENOSPC) propagates."""
    with target.open("wb") as out:
        with open_tar_writer(out, compressor) as tar:
            tar.add(folder, arcname=".")
        out.flush()
        os.fsync(out.fileno())


def unpack(archive: Path, folder: Path) -> None:
    """Extract the archive into ``folder``; ToolError when it is not a readable archive
    (corrupt, truncated) or holds unsafe paths."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            tar.extractall(folder, filter="data")
    except _READ_ERRORS as exc:
        raise fail(f"cannot open {archive}", cause=f"not a readable backup archive ({exc})") \
            from None


def _digest(path: Path, hasher: str) -> str:
    digest = HASHERS[hasher]()
    with path.open("rb") as data:
        while chunk := data.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])
