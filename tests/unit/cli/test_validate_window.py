"""``opsrunner validate`` checks the workflow's maintenance window."""

from __future__ import annotations

import yaml


def _setup(tmp_path, write_workflow, window: dict, estimate: str = "30m"):
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(yaml.safe_dump({"h1": {"hostname": "localhost",
                                                          "connection": "local"}}))
    (inv / "windows.yaml").write_text(yaml.safe_dump({"windows": {"night": window}}))
    wf = write_workflow(f"""
        name: windowed
        window: night
        steps:
          - {{name: work, task: command, with: {{cmd: "true"}}, estimate: {estimate}}}
    """)
    return wf, inv


def test_a_fitting_window_validates(tmp_path, write_workflow, cli):
    wf, inv = _setup(tmp_path, write_workflow, {"daily": "01:00", "duration": "4h",
                                                "timezone": "Asia/Tokyo"})
    code, out, err = cli("validate", str(wf), "-i", str(inv))
    assert code == 0, err
    assert "window night" in out


def test_a_window_shorter_than_the_shortest_step_and_a_late_deadline_are_reported(
        tmp_path, write_workflow, cli):
    wf, inv = _setup(tmp_path, write_workflow, {"daily": "01:00", "duration": "10m",
                                                "timezone": "Asia/Tokyo",
                                                "start_deadline": "20m"}, estimate="1h")
    code, _, err = cli("validate", str(wf), "-i", str(inv))
    assert code == 1
    assert "shorter than the workflow's shortest step estimate (60 min)" in err
    assert "start_deadline 20m is longer than the duration 10m" in err
    assert "Traceback" not in err


def test_an_unknown_window_and_a_missing_file_are_named(tmp_path, write_workflow, cli):
    wf, inv = _setup(tmp_path, write_workflow, {"daily": "01:00", "duration": "4h",
                                                "timezone": "Asia/Tokyo"})
    code, _, err = cli("validate", str(wf), "-i", str(inv), "--window", "nigth")
    assert code == 1 and "nigth" in err and "night" in err
    code, _, err = cli("validate", str(wf))
    assert code == 1 and "give -i INVENTORY" in err
