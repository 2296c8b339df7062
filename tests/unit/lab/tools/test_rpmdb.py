"""The lab's RPM database, ``rpm -q``/``-qa``/``-qf`` and rpm's config-file rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.host_tools import install_host_tools
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.tools import dnf
from opsrunner_lab.tools.common import ToolError
from opsrunner_lab.tools.lab_host import ToolHost
from opsrunner_lab.tools.lab_packages import CATALOGUE, MSI_PATHS
from opsrunner_lab.tools.rpm_files import install_files
from opsrunner_lab.tools.rpmdb import Nevra, RpmDb, is_installed, rpm_main

QGA = "qemu-ga-win-104.0.2-1.el8.noarch"


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    layout = LabLayout(tmp_path / "lab", kvm_hosts=0)
    install_host_tools(layout)
    return layout


def rpm(layout: LabLayout, capsys: pytest.CaptureFixture[str], *args: str
        ) -> tuple[int, str, str]:
    code = rpm_main(str(layout.bin_dir(ENGINE) / "rpm"), list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_package_specs_as_dnf_reads_them() -> None:
    pkg = Nevra("qemu-ga-win", "104.0.2", "1.el8", "noarch")
    for spec in ("qemu-ga-win", "qemu-ga-win.noarch", "qemu-ga-win-104.0.2",
                 "qemu-ga-win-104.0.2-1.el8", QGA, "qemu-ga-*"):
        assert pkg.matches(spec), spec
    for spec in ("qemu-ga", "qemu-ga-win.x86_64", "qemu-ga-win-1.0"):
        assert not pkg.matches(spec), spec


def test_rpm_queries(layout: LabLayout, capsys: pytest.CaptureFixture[str]) -> None:
    assert rpm(layout, capsys, "-q", "qemu-ga-win") == (
        1, "package qemu-ga-win is not installed\n", "")
    assert rpm(layout, capsys, "-qa") == (0, "", "")
    assert dnf.main(str(layout.bin_dir(ENGINE) / "dnf"), ["install", "-y", "qemu-ga-win"]) == 0
    capsys.readouterr()
    assert is_installed(layout.sysroot(ENGINE), "qemu-ga-win")
    assert rpm(layout, capsys, "-q", "qemu-ga-win") == (0, f"{QGA}\n", "")
    assert rpm(layout, capsys, "-q", "qemu-ga-win", "cloud-init", "genisoimage") == (
        2, f"{QGA}\npackage cloud-init is not installed\npackage genisoimage is not installed\n",
        "")
    assert rpm(layout, capsys, "-qa") == (0, f"{QGA}\n", "")
    assert rpm(layout, capsys, "--query", "--all", "cloud*") == (0, "", "")
    assert rpm(layout, capsys, "-qf", MSI_PATHS["x86_64"]) == (0, f"{QGA}\n", "")
    (layout.sysroot(ENGINE) / "etc").mkdir(exist_ok=True)
    (layout.sysroot(ENGINE) / "etc/hostname").write_text("engine\n")
    assert rpm(layout, capsys, "-q", "-f", "/etc/hostname", "/etc/nope") == (
        2, "file /etc/hostname is not owned by any package\n",
        "error: file /etc/nope: No such file or directory\n")


def test_rpm_refuses_what_it_does_not_answer(layout: LabLayout,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = rpm(layout, capsys, "-ivh", "foo.rpm")
    assert (code, out) == (1, "")
    assert err == ("rpm: -ivh foo.rpm: not supported by the lab's rpm (it answers queries: "
                   "-q NAME..., -qa [PATTERN...], -qf FILE...)\n")
    assert rpm(layout, capsys, "-q") == (1, "", "rpm: no arguments given for query\n")


def test_an_existing_changed_config_file_stays_and_the_new_one_is_rpmnew(tmp_path: Path) -> None:
    host = ToolHost("guest", tmp_path / "bin", tmp_path / "root")
    config = host.sysroot / "etc/cloud/cloud.cfg"
    config.parent.mkdir(parents=True)
    config.write_text("mine\n")
    record, warnings = install_files(host, CATALOGUE["cloud-init"])
    assert warnings == ["warning: /etc/cloud/cloud.cfg created as /etc/cloud/cloud.cfg.rpmnew"]
    assert config.read_text() == "mine\n"
    assert config.with_name("cloud.cfg.rpmnew").read_text().startswith("users:\n")
    assert record.config == ["/etc/cloud/cloud.cfg"]
    assert "/etc/cloud" not in record.dirs and "/usr/bin" not in record.dirs


def test_a_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "var/lib/rpm/opsrunner-lab.json"
    state.parent.mkdir(parents=True)
    state.write_text("{not json")
    with pytest.raises(ToolError, match=r"opsrunner-lab.json: not a lab RPM database"):
        RpmDb.load(tmp_path)
