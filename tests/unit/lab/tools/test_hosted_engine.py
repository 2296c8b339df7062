"""The lab's hosted-engine: maintenance modes, --vm-status and the real script's errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from opsrunner_lab.host_tools import install_host_tools
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.tools import hosted_engine
from opsrunner_lab.tools.hosted_engine import CONF, STATE

BANNER = "!! Cluster is in GLOBAL MAINTENANCE mode !!"
NO_MODE = "You must specify a maintenance mode with --mode\n"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    layout = LabLayout(tmp_path / "lab", kvm_hosts=0)
    install_host_tools(layout)
    return layout


@pytest.fixture
def run(layout: LabLayout, capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*args: str) -> tuple[int, str, str]:
        code = hosted_engine.main(str(layout.bin_dir(ENGINE) / "hosted-engine"), list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def field(text: str, name: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith(f"{name:<35}: "))
    return line.split(": ", 1)[1]


def test_global_maintenance_shows_in_vm_status(layout: LabLayout, run: Run) -> None:
    code, out, _ = run("--vm-status")
    assert code == 0 and BANNER not in out
    assert field(out, "Hostname") == "engine.lab.local"
    assert (field(out, "Score"), field(out, "Local maintenance")) == ("3400", "False")
    assert run("--set-maintenance", "--mode=global") == (0, "", "")
    state = json.loads((layout.sysroot(ENGINE) / STATE).read_text())
    assert state == {"global_maintenance": True, "local_maintenance": False}
    code, out, _ = run("--vm-status")
    assert code == 0
    assert out.startswith(f"\n\n{BANNER}\n\n\n\n--== Host engine.lab.local (id: 1) status ==--\n")
    assert out.endswith(f"\tstate=GlobalMaintenance\n\tstopped=False\n\n\n{BANNER}\n")
    assert json.loads(field(out, "Engine status")) == {
        "vm": "up", "health": "good", "detail": "Up", "reason": ""}
    code, out, _ = run("--vm-status", "--json")
    status = json.loads(out)
    assert status["global_maintenance"] is True
    assert (status["1"]["hostname"], status["1"]["score"]) == ("engine.lab.local", 3400)
    assert run("--set-maintenance", "--mode=none") == (0, "", "")
    assert BANNER not in run("--vm-status")[1]


def test_local_maintenance_and_back(run: Run) -> None:
    assert run("--set-maintenance", "--mode=local")[0] == 0
    out = run("--vm-status")[1]
    assert (field(out, "Score"), field(out, "Local maintenance")) == ("0", "True")
    assert "\tstate=LocalMaintenance\n" in out and BANNER not in out
    assert run("--set-maintenance", "--mode=none")[0] == 0
    assert field(run("--vm-status")[1], "Local maintenance") == "False"


@pytest.mark.parametrize(("args", "message"), [
    (["--set-maintenance", "--mode=maintenance"], "Invalid value 'maintenance' for --mode\n"),
    (["--set-maintenance", "--mode", "global"], NO_MODE),
    (["--set-maintenance"], NO_MODE),
])
def test_a_wrong_mode_is_refused(layout: LabLayout, run: Run, args: list[str],
                                 message: str) -> None:
    assert run(*args) == (1, message, "")
    assert not (layout.sysroot(ENGINE) / STATE).exists()


def test_usage_and_unknown_options(run: Run) -> None:
    code, out, err = run()
    assert (code, err) == (1, "") and out.startswith("Usage: hosted-engine [--help] <command>")
    assert run("--help") == (0, out, "")
    assert run("--bogus") == (1, out, "Invalid option '--bogus'\n")
    assert run("--deploy") == (1, "", "hosted-engine: the lab does not simulate --deploy\n")
    code, out, _ = run("--set-maintenance", "--help")
    assert code == 0 and "'global', 'local', and 'none'" in out
    assert run("--check-deployed") == (0, "The hosted engine has been deployed\n", "")


def test_not_deployed(layout: LabLayout, run: Run) -> None:
    (layout.sysroot(ENGINE) / CONF).unlink()
    assert run("--vm-status") == (1, "You must run deploy first\n", "")
    assert run("--set-maintenance", "--mode=global") == (1, "You must run deploy first\n", "")
    assert run("--check-deployed") == (1, "The hosted engine has not been deployed\n", "")
