"""The lab's dnf/yum: output lines, exit codes, files, database and program links."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from opsrunner_lab import host_tools
from opsrunner_lab.layout import ENGINE, GUEST, LabLayout
from opsrunner_lab.tools import dnf, lab_packages
from opsrunner_lab.tools.dnf import CommandLineError, parse_args
from opsrunner_lab.tools.lab_packages import CATALOGUE, GUARD_MARK, MSI_MAGIC, MSI_PATHS, Command
from opsrunner_lab.tools.rpmdb import STATE

QGA = "qemu-ga-win-104.0.2-1.el8.noarch"
Run = Callable[..., tuple[int, str, str]]


class Terminal(io.StringIO):
    """A stdin that is a terminal, holding the user's answer."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def system_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in system PATH with an executable ``mkisofs`` (Debian's genisoimage has one)."""
    folder = tmp_path / "system-bin"
    folder.mkdir()
    fake = folder / "mkisofs"
    fake.write_text("#!/bin/sh\necho system mkisofs\n")
    fake.chmod(0o755)
    monkeypatch.setattr(lab_packages, "SYSTEM_PATH", str(folder))
    return folder


@pytest.fixture
def layout(tmp_path: Path, system_bin: Path) -> LabLayout:
    layout = LabLayout(tmp_path / "lab", kvm_hosts=1, address_prefix="127.0.92.")
    host_tools.install_host_tools(layout)
    return layout


@pytest.fixture
def run(layout: LabLayout, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run ``dnf``/``yum`` of a host in-process: (exit code, stdout, stderr)."""

    def invoke(host: str, *args: str, tool: str = "dnf",
               stdin: io.StringIO | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", stdin if stdin is not None else io.StringIO(""))
        code = dnf.main(str(layout.bin_dir(host) / tool), list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_options_anywhere_and_command_line_errors() -> None:
    options = parse_args(["-q", "install", "--nogpgcheck", "a", "-y", "--enablerepo", "x",
                          "--setopt=foo=1", "b"])
    assert (options.command, options.args, options.flags) == ("install", ["a", "b"],
                                                             {"quiet", "assumeyes"})
    assert parse_args(["-yq", "remove", "--", "-odd"]).args == ["-odd"]
    with pytest.raises(CommandLineError, match=r"^unrecognized arguments: --frobnicate$"):
        parse_args(["install", "--frobnicate", "a"])


def test_install_prints_the_transaction_and_writes_the_files(layout: LabLayout, run: Run) -> None:
    code, out, err = run(ENGINE, "install", "-y", "qemu-ga-win")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Last metadata expiration check: 0:00:0")
    assert lines[1:3] == ["Dependencies resolved.", "=" * 80]
    assert "Installing:" in lines and "Install  1 Package" in lines
    assert lines[lines.index("Installing:") + 1].split() == [
        "qemu-ga-win", "noarch", "104.0.2-1.el8", "ol8_ovirt45", "714", "k"]
    assert "Is this ok [y/N]: " not in out
    assert out.endswith(f"\nInstalled:\n  {QGA}\n\nComplete!\n")
    sysroot = layout.sysroot(ENGINE)
    sizes = {}
    for arch, path in MSI_PATHS.items():
        data = (sysroot / path.lstrip("/")).read_bytes()
        assert data[:8] == MSI_MAGIC == bytes.fromhex("D0CF11E0A1B11AE1")
        assert data == lab_packages.msi_bytes(arch, "104.0.2")
        sizes[arch] = len(data)
    assert sizes == {"i386": 372_736, "x86_64": 401_408}
    assert (sysroot / "usr/share/doc/qemu-ga-win/README").read_text().startswith("qemu-ga-win")
    record = json.loads((sysroot / STATE).read_text())["packages"]["qemu-ga-win"]
    assert (record["version"], record["release"], record["repo"]) == (
        "104.0.2", "1.el8", "ol8_ovirt45")
    assert sorted(record["files"]) == sorted([*MSI_PATHS.values(),
                                              "/usr/share/doc/qemu-ga-win/README"])


def test_an_installed_package_is_nothing_to_do(layout: LabLayout, run: Run) -> None:
    run(ENGINE, "install", "-y", "qemu-ga-win")
    state = (layout.sysroot(ENGINE) / STATE).read_bytes()
    code, out, err = run(ENGINE, "install", "-y", "qemu-ga-win")
    assert (code, err) == (0, "")
    assert out.splitlines()[1:] == [f"Package {QGA} is already installed.",
                                    "Dependencies resolved.", "Nothing to do.", "Complete!"]
    assert (layout.sysroot(ENGINE) / STATE).read_bytes() == state


def test_an_unknown_package_fails_and_installs_nothing(layout: LabLayout, run: Run) -> None:
    code, out, err = run(ENGINE, "install", "-y", "foo", "qemu-ga-win", "bar")
    assert code == 1
    assert out.splitlines()[1:] == ["No match for argument: foo", "No match for argument: bar"]
    assert err == "Error: Unable to find a match: foo bar\n"
    assert not (layout.sysroot(ENGINE) / STATE).exists()
    assert not (layout.sysroot(ENGINE) / MSI_PATHS["i386"].lstrip("/")).exists()


def test_without_y_dnf_asks_and_a_non_terminal_answers_no(layout: LabLayout, run: Run) -> None:
    code, out, err = run(ENGINE, "install", "qemu-ga-win")
    assert (code, err) == (1, "Operation aborted.\n")
    assert out.endswith("\nInstalled size: 758 k\nIs this ok [y/N]: ")
    assert not (layout.sysroot(ENGINE) / STATE).exists()
    assert run(ENGINE, "install", "--assumeno", "qemu-ga-win")[:3:2] == (1, "Operation aborted.\n")
    assert run(ENGINE, "install", "qemu-ga-win", stdin=Terminal("\n"))[0] == 1
    code, out, _ = run(ENGINE, "install", "qemu-ga-win", stdin=Terminal("y\n"))
    assert code == 0 and "Is this ok [y/N]: " in out and out.endswith("Complete!\n")


def test_genisoimage_links_the_real_program_over_the_guard(layout: LabLayout, run: Run) -> None:
    mkisofs = layout.bin_dir(ENGINE) / "mkisofs"
    assert GUARD_MARK in mkisofs.read_text()
    guarded = subprocess.run([str(mkisofs), "-version"], capture_output=True, text=True,
                             check=False)
    assert (guarded.returncode, guarded.stderr) == (127, "mkisofs: command not found\n")
    code, _out, err = run(ENGINE, "install", "-y", "genisoimage")
    assert (code, err) == (0, "")
    for name in ("mkisofs", "genisoimage"):
        link = layout.bin_dir(ENGINE) / name
        assert link.is_symlink() and str(link.readlink()) == "/usr/bin/genisoimage"
    assert not (layout.bin_dir(GUEST) / "mkisofs").is_symlink()
    code, out, _ = run(ENGINE, "remove", "-y", "genisoimage")
    assert code == 0 and out.endswith(
        "\nRemoved:\n  genisoimage-1.1.11-39.el8.x86_64\n\nComplete!\n")
    assert not mkisofs.is_symlink() and GUARD_MARK in mkisofs.read_text()


def test_no_guard_where_the_system_has_no_such_program(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab_packages, "SYSTEM_PATH", str(tmp_path / "empty"))
    layout = LabLayout(tmp_path / "lab", kvm_hosts=0)
    host_tools.install_host_tools(layout)
    assert not (layout.bin_dir(ENGINE) / "mkisofs").exists()
    assert not (layout.bin_dir(ENGINE) / "cloud-init").exists()


def test_genisoimage_needs_the_real_program(layout: LabLayout, run: Run,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    broken = dataclasses.replace(CATALOGUE["genisoimage"],
                                 commands=(Command("mkisofs", "/nonexistent/genisoimage"),))
    monkeypatch.setitem(CATALOGUE, "genisoimage", broken)
    code, _out, err = run(ENGINE, "install", "-y", "genisoimage")
    assert code == 1
    assert err == ("Error: genisoimage of the lab links /nonexistent/genisoimage of this "
                   "machine, which is missing (install it: apt-get install -y genisoimage)\n")
    assert not (layout.sysroot(ENGINE) / STATE).exists()


def test_cloud_init_keeps_a_changed_config_as_rpmsave(layout: LabLayout, run: Run) -> None:
    assert run(GUEST, "install", "-y", "-q", "cloud-init")[:2] == (0, "")
    sysroot = layout.sysroot(GUEST)
    program = layout.bin_dir(GUEST) / "cloud-init"
    assert program.resolve() == sysroot / "usr/bin/cloud-init"
    version = subprocess.run([str(program), "--version"], capture_output=True, text=True,
                             check=True)
    assert version.stdout == "/usr/bin/cloud-init 23.4-7.0.1.el8\n"
    assert (sysroot / "usr/lib/systemd/system/cloud-init.service").is_file()
    config = sysroot / "etc/cloud/cloud.cfg"
    config.write_text(config.read_text() + "# local change\n")
    code, out, _ = run(GUEST, "remove", "-y", "cloud-init")
    assert code == 0
    assert "warning: /etc/cloud/cloud.cfg saved as /etc/cloud/cloud.cfg.rpmsave\n" in out
    assert (sysroot / "etc/cloud/cloud.cfg.rpmsave").read_text().endswith("# local change\n")
    assert not config.exists() and not program.exists()
    assert not (sysroot / "usr/bin/cloud-init").exists()
    assert (sysroot / "usr/lib/systemd/system").is_dir()  # the filesystem package's


def test_remove_takes_the_files_and_the_folders_it_made(layout: LabLayout, run: Run) -> None:
    run(ENGINE, "install", "-y", "qemu-ga-win")
    code, out, err = run(ENGINE, "remove", "-y", "qemu-ga-win")
    assert (code, err) == (0, "")
    assert "Removing:" in out and "Remove   1 Package" in out and "Freed space: 758 k" in out
    sysroot = layout.sysroot(ENGINE)
    assert not (sysroot / "usr/i686-w64-mingw32").exists()
    assert not (sysroot / "usr/share/doc/qemu-ga-win").exists()
    assert json.loads((sysroot / STATE).read_text())["packages"] == {}
    code, out, err = run(ENGINE, "remove", "-y", "qemu-ga-win")
    assert (code, err) == (0, "No packages marked for removal.\n")
    assert out == ("No match for argument: qemu-ga-win\nDependencies resolved.\n"
                   "Nothing to do.\nComplete!\n")


def test_list_installed_and_available(run: Run) -> None:
    code, out, err = run(ENGINE, "list", "installed")
    assert (code, out, err) == (1, "", "Error: No matching Packages to list\n")
    run(ENGINE, "install", "-y", "qemu-ga-win")
    code, out, _ = run(ENGINE, "list", "--installed", "qemu*")
    assert code == 0
    assert [line.split() for line in out.splitlines()] == [
        ["Installed", "Packages"], ["qemu-ga-win.noarch", "104.0.2-1.el8", "@ol8_ovirt45"]]
    code, out, _ = run(ENGINE, "list", "available")
    assert "qemu-ga-win" not in out
    assert [line.split()[0] for line in out.splitlines()[2:]] == [
        "cloud-init.noarch", "genisoimage.x86_64"]


def test_yum_is_dnf_and_command_errors(layout: LabLayout, run: Run) -> None:
    assert run(GUEST, "install", "-y", "cloud-init", tool="yum")[0] == 0
    code, out, err = run(GUEST, "frobnicate", tool="yum")
    assert (code, out) == (1, "")
    assert err.startswith("No such command: frobnicate. Please use /usr/bin/yum --help\n")
    code, out, err = run(GUEST)
    assert code == 1 and err.startswith("usage: dnf [options] COMMAND\n")
    assert run(GUEST, "--help")[:2] == (0, err)
    code, _out, err = run(GUEST, "install", "--frobnicate")
    assert (code, err) == (1, "usage: dnf [options] COMMAND\n"
                              "Command line error: unrecognized arguments: --frobnicate\n")
    code, _out, err = run(GUEST, "remove")
    assert code == 1 and err.endswith("the following arguments are required: PACKAGE\n")
