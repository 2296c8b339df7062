"""The pure parts of qemu_ga_iso: the Joliet listing of an ISO (built by this machine's
mkisofs when it has one), what differs from the MSIs, sha256sum output."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from opsrunner_plugins.qemu_ga_iso import listing_problems, parse_sha256sum
from opsrunner_plugins.qemu_ga_iso.iso_listing import IsoFile, IsoFormatError, joliet_root

I386 = b"\xd0\xcf\x11\xe0" + b"a" * 5000
X64 = b"\xd0\xcf\x11\xe0" + b"b" * 300001


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


WANTED = {"qemu-ga-i386.msi": (len(I386), _sha(I386)),
          "qemu-ga-x86_64.msi": (len(X64), _sha(X64))}


@pytest.mark.skipif(shutil.which("mkisofs") is None, reason="no mkisofs on this machine")
def test_joliet_root_lists_the_files_mkisofs_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "build-iso"
    folder.mkdir()
    (folder / "qemu-ga-i386.msi").write_bytes(I386)
    (folder / "qemu-ga-x86_64.msi").write_bytes(X64)
    iso = tmp_path / "qemu-ga-windows.iso"
    subprocess.run(["mkisofs", "-quiet", "-R", "-J", "-o", str(iso),
                    *sorted(str(p) for p in folder.iterdir())], check=True)
    found = joliet_root(iso.read_bytes())
    assert found == [IsoFile("qemu-ga-i386.msi", len(I386), _sha(I386)),
                     IsoFile("qemu-ga-x86_64.msi", len(X64), _sha(X64))]
    assert listing_problems(found, WANTED) == []


@pytest.mark.skipif(shutil.which("mkisofs") is None, reason="no mkisofs on this machine")
def test_an_iso_without_joliet_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.msi").write_bytes(I386)
    iso = tmp_path / "plain.iso"
    subprocess.run(["mkisofs", "-quiet", "-R", "-o", str(iso), str(tmp_path / "a.msi")],
                   check=True)
    with pytest.raises(IsoFormatError, match=r"no Joliet volume descriptor \(built without -J\?\)"):
        joliet_root(iso.read_bytes())


def test_bytes_that_are_no_iso_are_refused() -> None:
    with pytest.raises(IsoFormatError, match="no ISO 9660 volume descriptor at sector 16"):
        joliet_root(b"\0" * 40000)


def test_listing_problems_name_each_difference() -> None:
    found = [IsoFile("qemu-ga-i386.msi", 12, _sha(I386)),
             IsoFile("qemu-ga-x86_64.msi", len(X64), "f" * 64),
             IsoFile("README", 3, "0" * 64)]
    assert listing_problems(found, WANTED) == [
        f"qemu-ga-i386.msi has 12 bytes, expected {len(I386)}",
        "qemu-ga-x86_64.msi has other content (sha256 ffffffffffff...)",
        "README is not an installer of qemu-ga-win"]
    assert listing_problems([], WANTED) == ["qemu-ga-i386.msi is missing",
                                            "qemu-ga-x86_64.msi is missing"]


def test_parse_sha256sum_keys_by_file_name() -> None:
    output = ("ab12  /srv/root/usr/i686-w64-mingw32/sys-root/mingw/bin/qemu-ga-i386.msi\n"
              "cd34  /usr/x86_64-w64-mingw32/sys-root/mingw/bin/qemu-ga-x86_64.msi\n\n")
    assert parse_sha256sum(output) == {"qemu-ga-i386.msi": "ab12", "qemu-ga-x86_64.msi": "cd34"}
