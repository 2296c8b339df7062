"""Pid-file tracked daemons and the lab's systemctl, on a KVM host's stand-in unit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsrunner_lab.daemon import Daemon, LabServerError, pid_alive, port_open, start_time
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.systemctl import main as systemctl


def idle(tmp_path: Path, name: str = "svc", port: int | None = None) -> Daemon:
    argv = [sys.executable, "-m", "opsrunner_lab.idle", name]
    ready = None
    if port:
        argv += ["127.0.0.1", str(port)]
        ready = lambda: port_open("127.0.0.1", port)  # noqa: E731
    return Daemon(name, argv, tmp_path / f"{name}.pid", tmp_path / f"{name}.log",
                  **({"ready": ready} if ready else {}))


def test_start_is_idempotent_and_stop_leaves_nothing(tmp_path):
    daemon = idle(tmp_path)
    pid = daemon.start()
    try:
        assert daemon.start() == pid
        assert daemon.is_running() and pid_alive(pid)
    finally:
        assert daemon.stop() is True
    assert not pid_alive(pid)
    assert not daemon.pidfile.exists()
    assert daemon.stop() is False


def test_stale_or_recycled_pid_is_not_ours(tmp_path):
    daemon = idle(tmp_path)
    other = subprocess.Popen(["sleep", "30"])
    try:
        # a pid file naming a live process with another start time: not the daemon
        daemon.pidfile.write_text(f"{other.pid} 1\n")
        assert daemon.pid() is None
        assert daemon.stop() is False
        assert pid_alive(other.pid)
        daemon.pidfile.write_text(f"{other.pid} {start_time(other.pid)}\n")
        assert daemon.pid() == other.pid
    finally:
        other.kill()
        other.wait()


# Counts SIGTERMs and ends only at the second, like imageio when its first one is missed.
_DEAF_ONCE = """
import signal, sys, time
seen = []
def term(signo, frame):
    seen.append(signo)
    print(f"term {len(seen)}", flush=True)
    if len(seen) == 2:
        sys.exit(0)
signal.signal(signal.SIGTERM, term)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


@pytest.mark.parametrize("term_every", [None, 0.2])
def test_a_stop_repeats_sigterm_only_when_asked(tmp_path, term_every):
    log = tmp_path / "deaf.log"
    daemon = Daemon("deaf", [sys.executable, "-c", _DEAF_ONCE], tmp_path / "deaf.pid", log,
                    ready=lambda: "ready" in log.read_text(), term_every=term_every)
    daemon.start()
    assert daemon.stop(timeout=1) is True
    # once: the second SIGTERM never comes and the stop ends with SIGKILL at its timeout
    assert log.read_text().splitlines()[1:] == (["term 1", "term 2"] if term_every else
                                                ["term 1"])


def test_failing_start_reports_log_tail(tmp_path):
    daemon = Daemon("broken", [sys.executable, "-c", "import sys; print('bad config line 3');"
                               " sys.exit(1)"], tmp_path / "b.pid", tmp_path / "b.log",
                    ready=lambda: False, start_timeout=5)
    with pytest.raises(LabServerError, match=r"(?s)broken exited.*bad config line 3"):
        daemon.start()
    assert not daemon.pidfile.exists()


def ctl(layout: LabLayout, host: str, *args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "opsrunner_lab.systemctl", "--lab",
                           str(layout.root), "--host", host, *args],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def test_systemctl_exit_codes_and_output(tmp_path):
    layout = LabLayout(tmp_path / "lab", kvm_hosts=1)
    layout.save()
    try:
        assert ctl(layout, "kvm1", "is-active", "vdsmd") == (3, "inactive\n", "")
        code, out, _ = ctl(layout, "kvm1", "status", "vdsmd.service")
        assert code == 3 and "Active: inactive (dead)" in out
        assert ctl(layout, "kvm1", "start", "vdsmd")[0] == 0
        assert ctl(layout, "kvm1", "is-active", "vdsmd.service") == (0, "active\n", "")
        code, out, _ = ctl(layout, "kvm1", "status", "vdsmd")
        assert code == 0 and "Active: active (running)" in out and "Main PID:" in out
        code, _, err = ctl(layout, "kvm1", "start", "nosuch")
        assert code == 5 and "Unit nosuch.service not found." in err
        assert ctl(layout, "kvm1", "status", "nosuch")[0] == 4
        assert ctl(layout, "kvm1", "is-enabled", "vdsmd") == (0, "enabled\n", "")
        assert ctl(layout, "kvm1", "disable", "--now", "vdsmd")[0] == 0
        assert ctl(layout, "kvm1", "is-enabled", "vdsmd") == (1, "disabled\n", "")
        assert ctl(layout, "kvm1", "is-active", "vdsmd")[0] == 3
        assert ctl(layout, "kvm1", "restart", "vdsmd")[0] == 0
        assert ctl(layout, "kvm1", "-q", "is-active", "vdsmd") == (0, "", "")
        assert ctl(layout, "kvm1", "daemon-reload")[0] == 0
    finally:
        ctl(layout, "kvm1", "stop", "vdsmd")
    assert ctl(layout, "kvm1", "is-active", "vdsmd")[0] == 3


def test_systemctl_in_process_main(tmp_path, capsys):
    layout = LabLayout(tmp_path / "lab", kvm_hosts=1)
    assert systemctl(["--lab", str(layout.root), "--host", "kvm1", "is-active", "vdsmd"]) == 3
    assert capsys.readouterr().out == "inactive\n"
    assert os.geteuid() == 0  # the lab runs as root (documented)
