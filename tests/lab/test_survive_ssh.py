"""Runs that survive, over real sshd hosts: kill -9 then --resume, two runs on one host, a
second control node, a full disk under the state folder."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sshd_lab import SshdLab
from test_run_ssh import inventory, write

from opsrunner.state.journal_read import read_journal

NODES = ("node1", "node2", "node3")
R = "{{ host.vars.sysroot }}"
GATE = (f"echo gate >> {R}/trace; touch {R}/at-gate; "
        f"while [ ! -e {R}/../go ]; do sleep 0.05; done; touch {R}/gate.done")


def _workflow(tmp_path: Path, *, gate_at: int, guarded: bool = True) -> Path:
    steps = [
        f'  - {{name: count, task: command, with: {{cmd: "echo count >> {R}/trace"}}}}',
        '  - {name: config, task: copy, with: {dest: /etc/app.conf, content: "a=1\\n"}}',
        f'  - {{name: last, task: command, with: {{cmd: "echo last >> {R}/trace"}}}}',
    ]
    creates = ", creates: /gate.done" if guarded else ""
    steps.insert(gate_at, f'  - {{name: gate, task: command, with: {{cmd: "{GATE}"{creates}}}}}')
    return write(tmp_path / "survive.yml", "name: survive\nsteps:\n" + "\n".join(steps) + f"""
always:
  - {{name: cleanup, task: command, with: {{cmd: "echo always >> {R}/trace"}}}}
""")


def _opsrunner(state: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "opsrunner.cli", *args, "--state-dir", str(state)]


def _start(state: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(_opsrunner(state, "run", *args, "--output", "json"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, dict[str, Any], str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, (json.loads(out) if out.strip() else {}), err


def _run(state: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    return _finish(_start(state, *args))


def _wait_for(paths: list[Path], proc: subprocess.Popen[str] | None = None) -> None:
    """Poll until every path exists (the hosts reached a point), at most a minute."""
    deadline = time.monotonic() + 60
    while not all(p.exists() for p in paths):
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"opsrunner ended early ({proc.returncode}): {err}{out}")
        assert time.monotonic() < deadline, f"never reached: {[p for p in paths if not p.exists()]}"
        time.sleep(0.05)


def _roots(tmp_path: Path) -> dict[str, Path]:
    return {name: tmp_path / "roots" / name for name in NODES}


def _trace(root: Path) -> list[str]:
    return (root / "trace").read_text().split() if (root / "trace").exists() else []


def _journals(state: Path) -> list[Path]:
    return sorted((state / "runs").glob("*.jsonl"))


def _every_complete_line_parses(path: Path) -> None:
    lines = path.read_bytes().split(b"\n")
    complete, last = lines[:-1], lines[-1]
    for number, line in enumerate(complete, 1):
        json.loads(line), f"{path}:{number}"
    assert not last or read_journal(path).notes  # a torn last line is named, never fatal


@pytest.mark.parametrize("gate_at", [0, 2], ids=["killed-in-step-1", "killed-in-step-3"])
def test_kill_9_mid_run_then_resume_finishes_without_rerunning_finished_steps(
        sshd_hosts: SshdLab, tmp_path: Path, gate_at: int) -> None:
    inv = inventory(sshd_hosts, tmp_path)
    roots = _roots(tmp_path)
    state = tmp_path / "state"
    wf = _workflow(tmp_path, gate_at=gate_at)
    proc = _start(state, str(wf), "-i", str(inv))
    _wait_for([root / "at-gate" for root in roots.values()], proc)
    proc.kill()
    proc.communicate(timeout=30)
    (killed,) = _journals(state)
    _every_complete_line_parses(killed)
    journal = read_journal(killed)
    assert journal.end is None
    assert {r["host"] for r in journal.events("step_started") if r["step"] == "gate"} == set(NODES)
    status = subprocess.run(_opsrunner(state, "lock", "status", "--output", "json"),
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert {lock["state"] for lock in json.loads(status.stdout)["locks"]} <= {"stale", "free"}
    (tmp_path / "roots" / "go").touch()  # what the gate waits for; the orphaned commands may finish
    code, doc, err = _run(state, "--resume", "last")
    assert code == 0, err
    assert doc["parent"] == journal.run_id
    for name, root in roots.items():
        steps = {s["name"]: s for s in doc["hosts"][name]["steps"]}
        before = [n for n in ("count", "config", "last") if ["count", "config", "last"].index(n)
                  < gate_at]
        for finished in before:
            assert steps[finished]["status"] == "skipped", steps[finished]
            assert steps[finished]["resumed_from"] == journal.run_id
        assert steps["cleanup"]["status"] == "changed"
        trace = _trace(root)
        assert trace.count("count") == 1 and trace.count("last") == 1, trace
        assert trace[-1] == "always" and trace.count("always") == 1
        assert (root / "etc" / "app.conf").read_text() == "a=1\n"
    (resumed,) = [p for p in _journals(state) if p != killed]
    assert read_journal(resumed).header["parent"] == journal.run_id
    shown = subprocess.run(_opsrunner(state, "runs", "show", journal.run_id, "--output", "json"),
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert resumed.stem in json.dumps(json.loads(shown.stdout))  # linked both ways


def test_a_killed_step_that_is_not_safe_twice_is_not_rerun_without_yes(
        sshd_hosts: SshdLab, tmp_path: Path) -> None:
    inv = inventory(sshd_hosts, tmp_path)
    roots = _roots(tmp_path)
    state = tmp_path / "state"
    wf = _workflow(tmp_path, gate_at=1, guarded=False)
    proc = _start(state, str(wf), "-i", str(inv))
    _wait_for([root / "at-gate" for root in roots.values()], proc)
    proc.kill()
    proc.communicate(timeout=30)
    (tmp_path / "roots" / "go").touch()
    traces = {name: _trace(root) for name, root in roots.items()}
    code, _, err = _run(state, "--resume", "last")
    assert code == 1, err
    for name in NODES:
        assert f"{name}: step 2 'gate' (task command) was interrupted in run" in err
    assert {name: _trace(root) for name, root in roots.items()} == traces
    code, _doc, err = _run(state, "--resume", "last", "--yes")
    assert code == 0, err
    for root in roots.values():
        trace = _trace(root)
        assert trace.count("count") == 1 and trace.count("gate") == 2 and trace[-1] == "always"


@contextlib.contextmanager
def _holding_run(tmp_path: Path, inv: Path, state: Path) -> Iterator[subprocess.Popen[str]]:
    """A run of the gated workflow parked at its gate on every host, holding their locks."""
    wf = _workflow(tmp_path, gate_at=0)
    proc = _start(state, str(wf), "-i", str(inv))
    try:
        _wait_for([root / "at-gate" for root in _roots(tmp_path).values()], proc)
        yield proc
    finally:
        (tmp_path / "roots" / "go").touch()
        proc.communicate(timeout=120)


def test_a_second_run_fails_with_the_owner_or_waits_for_the_lock(
        sshd_hosts: SshdLab, tmp_path: Path) -> None:
    inv = inventory(sshd_hosts, tmp_path)
    state = tmp_path / "state"
    other = write(tmp_path / "other.yml", """
        name: other
        steps:
          - {name: mark, task: command, with: {cmd: "echo other >> {{ host.vars.sysroot }}/trace"}}
    """)
    with _holding_run(tmp_path, inv, state) as first:
        (first_journal,) = _journals(state)
        code, doc, err = _run(state, str(other), "-i", str(inv))
        assert code == 2, err
        for name in NODES:
            (step,) = doc["hosts"][name]["steps"]
            assert step["name"] == "take the target lock" and step["status"] == "failed"
            assert first_journal.stem in step["msg"] and f"pid {first.pid}" in step["msg"]
        code, doc, err = _run(state, str(other), "-i", str(inv), "--check")
        assert code == 0, err  # check mode takes no lock
        waiting = _start(state, str(other), "-i", str(inv), "--lock-wait", "2m")
        elsewhere = tmp_path / "second-control-node"
        code, doc, err = _run(elsewhere, str(other), "-i", str(inv))
        assert code == 2, err
        for name in NODES:
            message = doc["hosts"][name]["steps"][0]["msg"]
            assert "host" in message and first_journal.stem in message
        assert all("other" not in _trace(root) for root in _roots(tmp_path).values())
    code, doc, err = _finish(waiting)
    assert code == 0, err
    for root in _roots(tmp_path).values():
        assert _trace(root)[-1] == "other"  # after the first run's cleanup, never inside it


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs for the state folder (needs root, as CI runs)."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)],
                   check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_refuses_the_run_before_any_change(sshd_hosts: SshdLab, tmp_path: Path,
                                                         small_disk: Path) -> None:
    inv = inventory(sshd_hosts, tmp_path)
    subprocess.run(["dd", "if=/dev/zero", f"of={small_disk}/filler", "bs=4k"],
                   capture_output=True)
    (small_disk / "runs").mkdir(exist_ok=True)
    wf = _workflow(tmp_path, gate_at=3)
    (tmp_path / "roots" / "go").touch()
    code, _, err = _run(small_disk, str(wf), "-i", str(inv))
    assert code == 1, err
    assert f"in {small_disk}/runs: No space left on device" in err and "Traceback" not in err
    assert "nothing was changed" in err or "--state-dir" in err
    assert all(not _trace(root) for root in _roots(tmp_path).values())


def test_a_disk_filling_up_during_the_run_stops_new_steps_and_runs_the_always_steps(
        sshd_hosts: SshdLab, tmp_path: Path, small_disk: Path) -> None:
    inv = inventory(sshd_hosts, tmp_path)
    wf = write(tmp_path / "fill.yml", f"""
        name: fill
        steps:
          - {{name: count, task: command, with: {{cmd: "echo count >> {R}/trace"}}}}
          - name: fill the control node's disk
            task: command
            run_once: true
            with: {{cmd: "dd if=/dev/zero of={small_disk}/filler bs=4k 2>/dev/null; true"}}
          - {{name: never, task: command, with: {{cmd: "echo never >> {R}/trace"}}}}
        always:
          - {{name: cleanup, task: command, with: {{cmd: "echo always >> {R}/trace"}}}}
    """)
    code, doc, err = _run(small_disk, str(wf), "-i", str(inv))
    assert code == 2, err
    assert any(f"{small_disk}/runs: No space left on device" in n for n in doc["notes"]), doc
    assert not doc["ok"] and doc["halted"]
    for root in _roots(tmp_path).values():
        assert _trace(root) == ["count", "always"]
    os.remove(small_disk / "filler")
    (journal,) = _journals(small_disk)
    _every_complete_line_parses(journal)
