"""``opsrunner run --resume`` end to end on local hosts: what is skipped, re-checked, re-run."""

from __future__ import annotations

import json
from pathlib import Path

from opsrunner.state.journal_read import read_journal

STEPS = """
name: resumable
steps:
  - name: count
    task: command
    with: {{cmd: "echo count >> {{{{ host.vars.sysroot }}}}/trace"}}
  - name: config
    task: copy
    with: {{dest: /app.conf, content: "setting=1\\n"}}
  - name: gate
    task: command
    with:
      cmd: "cd {{{{ host.vars.sysroot }}}} && test -e ready && echo gate >> trace && touch gate.done"
      {creates}
  - name: last
    task: command
    with: {{cmd: "echo last >> {{{{ host.vars.sysroot }}}}/trace"}}
always:
  - name: cleanup
    task: command
    with: {{cmd: "echo always >> {{{{ host.vars.sysroot }}}}/trace"}}
"""


def _workflow(write_workflow, *, guarded: bool = True) -> Path:
    return write_workflow(STEPS.format(creates="creates: /gate.done" if guarded else ""))


def _trace(tmp_path: Path, host: str) -> list[str]:
    return (tmp_path / "roots" / host / "trace").read_text().split()


def _run(cli, tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    code, out, err = cli("run", *args, "--output", "json", "--state-dir", str(tmp_path / "state"))
    return code, (json.loads(out) if out.strip() else {}), err


def _steps(doc: dict, host: str) -> list[tuple[str, str]]:
    return [(s["name"], s["status"]) for s in doc["hosts"][host]["steps"]]


def test_resume_skips_finished_steps_rechecks_idempotent_ones_and_reruns_the_failed(
        local_inventory, write_workflow, cli, tmp_path):
    inv = local_inventory(("h1", "h2"))
    wf = _workflow(write_workflow)
    (tmp_path / "roots" / "h2" / "ready").touch()
    code, first, err = _run(cli, tmp_path, str(wf), "-i", str(inv))
    assert code == 2, err
    assert _steps(first, "h1")[2] == ("gate", "failed")
    assert _trace(tmp_path, "h1") == ["count", "always"]
    # someone edits h1's config by hand meanwhile: the re-check sees it
    (tmp_path / "roots" / "h1" / "app.conf").write_text("setting=2\n")
    (tmp_path / "roots" / "h1" / "ready").touch()
    code, resumed, err = _run(cli, tmp_path, "--resume", "last")
    assert code == 0, err
    assert resumed["parent"] == first["run_id"]
    assert list(resumed["hosts"]) == ["h1"]  # h2 finished in the first run
    assert _steps(resumed, "h1") == [("count", "skipped"), ("config", "changed"),
                                     ("gate", "changed"), ("last", "changed"),
                                     ("cleanup", "changed")]
    count = resumed["hosts"]["h1"]["steps"][0]
    assert count["resumed_from"] == first["run_id"] and "not run again" in count["msg"]
    assert _trace(tmp_path, "h1") == ["count", "always", "gate", "last", "always"]
    assert _trace(tmp_path, "h2") == ["count", "gate", "last", "always"]
    assert (tmp_path / "roots" / "h1" / "app.conf").read_text() == "setting=1\n"
    journal = read_journal(tmp_path / "state" / "runs" / f"{resumed['run_id']}.jsonl")
    assert journal.header["parent"] == first["run_id"]
    assert journal.header["done_hosts"] == {"h2": first["run_id"]}
    assert journal.notes == []
    code, out, err = cli("run", "--resume", "last", "--state-dir", str(tmp_path / "state"))
    assert code == 0 and "nothing to resume" in out, out + err


def test_a_finished_idempotent_step_unchanged_on_the_host_is_skipped_by_check_mode(
        local_inventory, write_workflow, cli, tmp_path):
    inv = local_inventory(("h1",))
    wf = _workflow(write_workflow)
    code, first, _ = _run(cli, tmp_path, str(wf), "-i", str(inv))
    assert code == 2
    (tmp_path / "roots" / "h1" / "ready").touch()
    code, resumed, err = _run(cli, tmp_path, "--resume", first["run_id"], str(wf))
    assert code == 0, err
    config = resumed["hosts"]["h1"]["steps"][1]
    assert config["status"] == "skipped" and "check mode: no change" in config["msg"]


def test_a_failed_step_that_is_not_safe_twice_needs_yes(local_inventory, write_workflow, cli,
                                                        tmp_path):
    inv = local_inventory(("h1",))
    wf = _workflow(write_workflow, guarded=False)
    code, _first, _ = _run(cli, tmp_path, str(wf), "-i", str(inv))
    assert code == 2
    (tmp_path / "roots" / "h1" / "ready").touch()
    before = _trace(tmp_path, "h1")
    code, _, err = _run(cli, tmp_path, "--resume", "last")
    assert code == 1
    assert "h1: step 3 'gate' (task command) failed in run" in err
    assert "--yes" in err and "nothing was changed" in err and "Traceback" not in err
    assert _trace(tmp_path, "h1") == before
    assert len(list((tmp_path / "state" / "runs").glob("*.jsonl"))) == 1
    code, _resumed, err = _run(cli, tmp_path, "--resume", "last", "--yes")
    assert code == 0, err
    assert _trace(tmp_path, "h1") == [*before, "gate", "last", "always"]


def test_a_changed_workflow_is_refused_naming_the_step_and_force_accepts_it(
        local_inventory, write_workflow, cli, tmp_path):
    inv = local_inventory(("h1",))
    wf = _workflow(write_workflow)
    code, _first, _ = _run(cli, tmp_path, str(wf), "-i", str(inv))
    assert code == 2
    wf.write_text(wf.read_text().replace("echo last", "echo final"))
    code, _, err = _run(cli, tmp_path, "--resume", "last")
    assert code == 1
    assert "steps[4] 'last': changed" in err and "--force" in err
    (tmp_path / "roots" / "h1" / "ready").touch()
    code, _resumed, err = _run(cli, tmp_path, "--resume", "last", "--force")
    assert code == 0, err
    assert _trace(tmp_path, "h1")[-2:] == ["final", "always"]


def test_resume_asks_for_the_extra_vars_again(local_inventory, write_workflow, cli, tmp_path):
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: with extra
        steps:
          - {name: fail, task: command, with: {cmd: "exit {{ code }}"}}
    """)
    code, _, _ = _run(cli, tmp_path, str(wf), "-i", str(inv), "-e", "code=3")
    assert code == 2
    code, _, err = _run(cli, tmp_path, "--resume", "last")
    assert code == 1 and "was given -e code" in err
    code, _doc, err = _run(cli, tmp_path, "--resume", "last", "-e", "code=0", "--yes")
    assert code == 0, err


def test_resume_of_an_unknown_run_and_force_without_resume_are_usage_errors(cli, tmp_path):
    code, _, err = _run(cli, tmp_path, "--resume", "20990101T000000Z-1-ffff")
    assert code == 1 and "Traceback" not in err
    code, _, err = cli("run", "wf.yml", "--force")
    assert code == 1 and "--force goes with --resume" in err
