"""Loading a profile and a waivers file: every problem at its file:line:column, nothing run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from opsrunner.compliance.load import control_params, find_profile, load_profile
from opsrunner.compliance.waivers import load_waivers
from opsrunner.errors import UsageError, WorkflowErrors
from opsrunner.inventory import load_inventory
from opsrunner.plugins import load_registry

from .conftest import write

REPOSITORY = Path(__file__).resolve().parents[3]


def test_the_demo_profile_loads_in_file_order(demo_profile: Path) -> None:
    profile = load_profile(demo_profile)
    assert (profile.name, profile.title) == ("demo", "Demo profile")
    assert list(profile.controls) == ["DEMO-MOTD-001", "DEMO-PKI-001", "DEMO-PARAM-001"]
    motd = profile.controls["DEMO-MOTD-001"]
    assert motd.node_id == f"{demo_profile}/controls/files.py::test_motd"
    assert (motd.impact, motd.tags, dict(motd.params)) == (0.3, ("motd",), {"min_size": 1})
    assert str(motd.location) == f"{demo_profile}/controls/files.yml:1:3"
    assert [c.id for c in profile.tagged("motd")] == ["DEMO-MOTD-001"]
    assert control_params(profile, {"min_size": "7", "mode": "0700"}) == {
        "DEMO-MOTD-001": {"min_size": 7}, "DEMO-PKI-001": {"mode": "0700"},
        "DEMO-PARAM-001": {}}


def test_find_profile_by_name_path_or_file(demo_profile: Path, tmp_path: Path) -> None:
    assert find_profile("demo", tmp_path) == tmp_path / "profiles/demo"
    assert find_profile(str(demo_profile)) == demo_profile
    assert find_profile(str(demo_profile / "profile.yml")) == demo_profile
    with pytest.raises(UsageError, match=r"no compliance profile 'dem' \(profiles in .*: demo\)"
                                         r"; did you mean 'demo'\?"):
        find_profile("dem", tmp_path)


def test_the_repository_profile_loads() -> None:
    profile = load_profile(find_profile("olvm-baseline", REPOSITORY))
    assert profile.name == "olvm-baseline"
    for control in profile.controls.values():
        assert control.rationale and control.section and 0 <= control.impact <= 1


def test_every_problem_of_every_controls_file_is_located(demo_profile: Path) -> None:
    bad = write(demo_profile / "controls" / "more.yml", """\
        - id: demo-lower
          title: x
          impact: 1.5
          section: s
          hosts: "h1 &"
          check: files.py::test_nothing
          rationale: r
          colour: blue
        - id: DEMO-MOTD-001
          title: twice
          impact: 0.1
          section: s
          hosts: all
          check: missing.py::test_motd
          tags: [Not A Tag]
          params: {nested: {a: 1}}
          rationale: r
        - title: no id
        """)
    with pytest.raises(WorkflowErrors) as caught:
        load_profile(demo_profile)
    lines = str(caught.value).splitlines()
    assert lines == [
        f"{bad}:1:7: control id 'demo-lower': upper-case words of letters and digits joined "
        "by '-', like OLVM-TLS-001",
        f"{bad}:3:11: impact must be a number from 0.0 to 1.0, got 1.5",
        f"{bad}:5:10: hosts: host pattern 'h1 &', column 5: expected a host or group "
        "name, '!' or '(', found the end of the pattern",
        f"{bad}:6:10: {demo_profile}/controls/files.py has no test function test_nothing; "
        "did you mean 'test_motd'?",
        f"{bad}:8:3: unknown key 'colour' in a control (keys: id, title, impact, section, "
        "hosts, check, tags, params, rationale)",
        f"{bad}:9:7: control DEMO-MOTD-001 is declared twice (first at "
        f"{demo_profile}/controls/files.yml:1:3)",
        f"{bad}:14:10: check file {demo_profile}/controls/missing.py does not exist",
        f"{bad}:15:9: tags must be a list of workflow names (lower-case letters, digits, "
        "'-', '_')",
        f"{bad}:16:11: params must be a mapping of names to scalars (text, numbers, booleans)",
        f"{bad}:18:3: a control needs id, impact, section, hosts, check, rationale (keys: id, "
        "title, impact, section, hosts, check, tags, params, rationale)",
    ]


def test_a_profile_without_controls_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "profile.yml").write_text("name: empty\n")
    with pytest.raises(WorkflowErrors) as caught:
        load_profile(folder)
    assert str(caught.value).splitlines() == [
        f"{folder}/controls: the profile has no controls: put lists of controls in "
        f"{folder}/controls/*.yml",
        f"{folder}/profile.yml:1:1: missing 'title'"]


@pytest.fixture
def inventory(local_inventory: Callable[..., Path]) -> Path:
    return local_inventory(("h1", "h2"))


def test_waivers_load(demo_profile: Path, inventory: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "waivers.yml", """\
        waivers:
          - control: DEMO-PKI-001
            justification: CHG-1
            expires: 2027-01-31
        """)
    (waiver,) = load_waivers(path, load_profile(demo_profile),
                             load_inventory(str(inventory), load_registry(())))
    assert (waiver.control, waiver.hosts, waiver.expires.isoformat()) == (
        "DEMO-PKI-001", "all", "2027-01-31")
    assert str(waiver.location) == f"{path}:2:5"


def test_every_waiver_problem_is_located(demo_profile: Path, inventory: Path,
                                         tmp_path: Path) -> None:
    path = write(tmp_path / "waivers.yml", """\
        waivers:
          - control: DEMO-PKI-01
            hosts: h9
            justification: CHG-1
            expires: 2027-01-31
          - control: DEMO-MOTD-001
            justification: "  "
            expires: soon
            until: 2027-01-01
          - control: DEMO-MOTD-001
        """)
    with pytest.raises(WorkflowErrors) as caught:
        load_waivers(path, load_profile(demo_profile),
                     load_inventory(str(inventory), load_registry(())))
    assert str(caught.value).splitlines() == [
        f"{path}:2:14: profile demo: unknown control 'DEMO-PKI-01'; did you mean "
        "'DEMO-PKI-001'? (known: DEMO-MOTD-001, DEMO-PARAM-001, DEMO-PKI-001)",
        f"{path}:3:12: host pattern 'h9', column 1: no host or group is called 'h9'",
        f"{path}:7:20: a waiver needs a 'justification': why the deviation is accepted (a "
        "change or ticket number, who approved it)",
        f"{path}:8:14: expires must be a date YYYY-MM-DD (the last day the waiver applies), "
        "got 'soon'",
        f"{path}:9:5: unknown key 'until' in a waiver (keys: control, hosts, justification, "
        "expires)",
        f"{path}:10:5: a waiver needs a 'justification': why the deviation is accepted (a "
        "change or ticket number, who approved it)",
        f"{path}:10:5: a waiver needs 'expires': the last day it applies (YYYY-MM-DD)",
    ]


def test_a_waivers_file_that_is_not_a_list(demo_profile: Path, inventory: Path,
                                           tmp_path: Path) -> None:
    path = write(tmp_path / "waivers.yml", "- control: DEMO-PKI-001\n")
    with pytest.raises(WorkflowErrors, match=r"waivers.yml:1:1: a waivers file is a mapping "
                                             r"with one key, 'waivers'"):
        load_waivers(path, load_profile(demo_profile),
                     load_inventory(str(inventory), load_registry(())))
