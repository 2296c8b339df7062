"""``profile:`` in a workflow: after its own checks, the profile's controls tagged with the
workflow's file name run on the hosts that ran, and fail the run as a check does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import healthy, write

Cli = Callable[..., tuple[int, str, str]]
RunJson = Callable[..., tuple[int, dict[str, Any]]]

MOTD = """\
    name: motd
    hosts: h1
    profile: {profile}
    steps:
      - name: new motd
        task: command
        with: {{cmd: "echo 'Authorized use only' > {root}/etc/motd"}}
    """


@pytest.fixture
def inventory(local_inventory: Callable[..., Path], tmp_path: Path) -> Path:
    folder = local_inventory(("h1", "h2"))
    for name in ("h1", "h2"):
        healthy(tmp_path / "roots" / name)
    return folder


def workflow(tmp_path: Path, profile: str = "demo", name: str = "motd.yml") -> Path:
    (tmp_path / "workflows").mkdir(exist_ok=True)
    return write(tmp_path / "workflows" / name,
                 MOTD.format(profile=profile, root=tmp_path / "roots/h1"))


def test_the_tagged_controls_run_after_the_workflow(demo_profile: Path, inventory: Path,
                                                    tmp_path: Path, run_json: RunJson) -> None:
    code, report = run_json(workflow(tmp_path), inventory)
    assert code == 0
    (check,) = report["hosts"]["h1"]["verify"]
    assert (check["name"], check["status"]) == ("DEMO-MOTD-001: The message of the day is "
                                                "there", "passed")
    assert check["file"] == "demo/files.py" and len(check["evidence"]["sha256"]) == 64
    assert "h2" not in report["hosts"]


def test_a_failing_control_fails_the_run(demo_profile: Path, inventory: Path, tmp_path: Path,
                                         run_json: RunJson) -> None:
    code, report = run_json(workflow(tmp_path), inventory, "-e", "min_size=1000")
    assert code == 2
    host = report["hosts"]["h1"]
    assert host["status"] == "failed"
    (check,) = host["verify"]
    assert check["status"] == "failed"
    assert check["message"] == ("/etc/motd has 20 bytes, the profile requires at least 1000")


def test_validate_refuses_an_unknown_profile_and_an_untagged_workflow(
        demo_profile: Path, inventory: Path, tmp_path: Path, cli: Cli) -> None:
    unknown = workflow(tmp_path, profile="dem")
    code, _, err = cli("validate", str(unknown))
    assert code == 1
    assert f"{unknown}:3:10: 'profile': no compliance profile 'dem'" in err
    assert "did you mean 'demo'?" in err
    untagged = workflow(tmp_path, name="other.yml")
    code, _, err = cli("validate", str(untagged))
    assert code == 1
    assert (f"{untagged}:3:10: 'profile': no control of profile demo is tagged 'other' (the "
            "workflow's file name), so none would run after it") in err
