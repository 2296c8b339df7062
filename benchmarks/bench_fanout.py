"""Fan-out: the same five-step job over N real sshd hosts, opsrunner against its baselines.

Run (as root: it starts sshd servers on 127.0.150.x):
    .venv/bin/python benchmarks/bench_fanout.py [--sizes 10,50,100] [--runs 5] [--warmup 1]
        [--nornir-python PATH] [--json FILE]

Method
------
* Hosts: ``max(sizes)`` real OpenSSH ``sshd`` servers (``opsrunner_lab.sshd.SshdHost``), one
  per loopback address 127.0.150.1, .2, ... (at most 254), public-key login as root, each with
  its own host keys and its own sysroot folder (HOME of its sessions, so no ~/.bashrc runs).
  A size N uses the first N hosts. Every tool that can checks host keys strictly against one
  known_hosts file holding every host's keys (nornir_paramiko cannot: it auto-adds).
* The job, the same for every tool, per host: ``true``; ``uname -r``; ``head -n1
  /etc/os-release``; write a 4 KiB payload to ``<sysroot>/bench.bin``; ``sha256sum`` of it.
  The file is deleted before every run (so every tool really writes it) and checked byte for
  byte after it; a run counts only when every host did the whole job.
  - OpenSSH floor: one ``ssh`` process and one session per host, all started at once, the five
    commands as one ``sh`` script, the payload on stdin (``cat > FILE``); curve25519-sha256,
    StrictHostKeyChecking=yes, no ControlMaster (see ``fanout_drivers.py``; its wall and CPU
    include the small Python driver that starts the ssh processes, ~ ``python -c pass``).
  - paramiko: one thread and one connection per host, each command an exec channel, the
    payload by SFTP put, RejectPolicy on the known_hosts file. Each client loads the file
    itself (``SSHClient.load_host_keys``, the usual idiom): with 2 keys per host that is
    O(N^2) parsing, about 20 ms CPU per client at N=100 (2 s of its controller CPU).
  - Nornir 3 threaded (num_workers=N) + nornir_paramiko: paramiko_command per command,
    paramiko_sftp put (its own sha1sum compare + SCP) for the payload; run by
    ``--nornir-python`` (default: this interpreter), "not installed" when it cannot import
    nornir and nornir_paramiko.
  - opsrunner: ``opsrunner run WF -i INV --forks N --output json`` (the console script of this
    venv) on a SimpleInventory of the hosts, step 4 a ``copy`` with ``content``, step 5
    ``sha256sum {{ sysroot }}/bench.bin``, a fresh ``--state-dir`` per run; once more with
    ``--output text`` to a pipe, reported as its own row.
* Order: for every size, ``warmup + runs`` repetitions; each repetition runs every tool once,
  round-robin, the starting tool rotating by one per repetition, so load drift hits every
  tool alike. Warm-up repetitions are not counted. Figures are medians of the counted runs.
* Wall: from just before the tool's process is spawned until it has been reaped.
* Controller CPU: user+sys of the tool's process and every descendant it waited for, from
  ``os.wait4`` of the tool's process (the ssh processes of the OpenSSH floor included).
* sshd-side CPU: for every listening sshd of the run, utime+stime+cutime+cstime from
  ``/proc/<pid>/stat``, after minus before the run, read once every session process it forked
  has exited and been reaped (sshd reaps its session tree, so its cutime/cstime then hold the
  sessions' privsep, shells and commands); 1/CLK_TCK resolution per host.
* First connection: host 0 of every run is reached on a second port of its address, a
  listener of this script's that records the time of its first accept and hands each
  connection to ``sshd -i`` (inetd mode: the host's own sshd binary, config and host keys;
  nothing is relayed, and those sessions' CPU, from ``os.wait4``, is in the sshd-side CPU).
  "start -> first accept" is that time minus the spawn time: the tool's fixed start-up cost
  before it opens its first connection (host 0 is first in every tool's host list; with
  concurrent connects it is an upper bound of the first attempt, by the scheduling jitter).
* Start-up: ``opsrunner --help``, ``opsrunner --version`` and ``python -c pass`` wall times,
  interleaved, medians of ``--startup-runs`` after one warm-up.

Everything started is stopped and the temporary folder removed on exit, Ctrl-C and SIGTERM.
Run on demand only; no test times anything.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from opsrunner_lab.sshd import SSHD, SshdHost, client_key, free_port

ROOT = Path(__file__).resolve().parents[1]
DRIVERS = Path(__file__).resolve().with_name("fanout_drivers.py")
ADDRESS_PREFIX = "127.0.150."
MAX_HOSTS = 254
PAYLOAD_SIZE = 4096
CLK_TCK = os.sysconf("SC_CLK_TCK")
REMOTE_FILE = "bench.bin"


# --- figures: pure helpers (tests/unit/test_bench_fanout_helpers.py) ------------------------

def median(values: Sequence[float | None]) -> float | None:
    """The median of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``; None when either is missing or base is not positive."""
    if value is None or base is None or base <= 0:
        return None
    return value / base


def fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    """A figure for a table cell: ``-`` when missing."""
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, the first column left-aligned, the others right-aligned and padded."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [str(c).ljust(w) if i == 0 else str(c).rjust(w)
                  for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + "-") if i == 0 else ("-" * (w + 1) + ":")
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def rotated(items: Sequence[str], shift: int) -> list[str]:
    """``items`` starting at position ``shift`` (modulo its length), wrapping around."""
    if not items:
        return []
    k = shift % len(items)
    return [*items[k:], *items[:k]]


@dataclass
class Sample:
    """One run of one tool at one size."""

    tool: str
    size: int
    repetition: int
    counted: bool
    ok: bool
    wall: float
    controller_user: float
    controller_sys: float
    sshd_cpu: float
    first_accept: float | None
    note: str = ""

    @property
    def controller_cpu(self) -> float:
        return self.controller_user + self.controller_sys


@dataclass
class Figures:
    """The medians of one tool at one size (counted, successful runs only)."""

    wall: float | None
    controller_cpu: float | None
    sshd_cpu: float | None
    first_accept: float | None
    runs: int
    failed: int


def figures(samples: Sequence[Sample], tool: str, size: int) -> Figures:
    """The medians of ``tool`` at ``size`` over its counted runs that succeeded."""
    mine = [s for s in samples if s.tool == tool and s.size == size and s.counted]
    good = [s for s in mine if s.ok]
    return Figures(wall=median([s.wall for s in good]),
                   controller_cpu=median([s.controller_cpu for s in good]),
                   sshd_cpu=median([s.sshd_cpu for s in good]),
                   first_accept=median([s.first_accept for s in good]),
                   runs=len(good), failed=len(mine) - len(good))


# --- tools --------------------------------------------------------------------------------

@dataclass
class Tool:
    key: str
    label: str
    argv: Callable[[int, Path], list[str]]
    """The command line at size N, given the run's own folder."""
    check: Callable[[int, str], str]
    """Reads the tool's stdout at size N: "" when every host did the job, else why not."""
    available: bool = True
    why_not: str = ""


def driver_check(size: int, stdout: str) -> str:
    try:
        summary = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"no summary line: {stdout[-300:]!r}"
    if summary.get("ok") != size:
        failed = summary.get("failed", {})
        first = next(iter(failed.items()), ("?", "?"))
        return f"{len(failed)} host(s) failed, e.g. {first[0]}: {first[1]}"[:400]
    return ""


def opsrunner_json_check(sha256: str) -> Callable[[int, str], str]:
    def check(size: int, stdout: str) -> str:
        try:
            report = json.loads(stdout)
        except ValueError:
            return f"not JSON: {stdout[-300:]!r}"
        hosts = report.get("hosts", {})
        if len(hosts) != size:
            return f"{len(hosts)} hosts in the report, expected {size}"
        for name, host in hosts.items():
            steps = {s["name"]: s for s in host.get("steps", [])}
            sha = steps.get("sha256", {}).get("stdout", "")
            if host.get("status") != "ok" or sha.split()[:1] != [sha256]:
                return f"{name}: status {host.get('status')}, sha256 step said {sha.strip()!r}"
        return ""
    return check


def text_check(size: int, stdout: str) -> str:
    return ""  # exit status and the files on the hosts decide


# --- the hosts ----------------------------------------------------------------------------

class AcceptRecorder:
    """A loopback listener for one host that records the time of its first accept and hands
    every connection to its own ``sshd -i`` (inetd mode: the same sshd binary, config and host
    keys as the host's listener, nothing relayed in the data path). The sessions' CPU is
    collected with ``os.wait4`` as each ends (:attr:`cpu`)."""

    def __init__(self, server: SshdHost) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((server.address, 0))
        self.sock.listen(256)
        self.port = int(self.sock.getsockname()[1])
        self.first: float | None = None
        self.cpu = 0.0
        self._lock = threading.Lock()
        self._sessions: dict[int, subprocess.Popen[bytes]] = {}
        self._thread = threading.Thread(target=self._serve, name="accept-recorder", daemon=True)
        self._thread.start()

    def arm(self) -> None:
        self.first = None

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until every session it started has ended and was reaped."""
        deadline = time.monotonic() + timeout
        while self._sessions:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=2)
        for proc in list(self._sessions.values()):
            kill_group(proc)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            now = time.perf_counter()
            if self.first is None:
                self.first = now
            with conn:
                argv = [SSHD, "-i", "-f", str(self.server.config_path),
                        "-E", str(self.server.log_path)]
                proc = subprocess.Popen(argv, stdin=conn.fileno(), stdout=conn.fileno(),
                                        stderr=subprocess.DEVNULL, start_new_session=True)
            with self._lock:
                self._sessions[proc.pid] = proc
            threading.Thread(target=self._reap, args=(proc,), daemon=True).start()

    def _reap(self, proc: subprocess.Popen[bytes]) -> None:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        with self._lock:
            self.cpu += usage.ru_utime + usage.ru_stime
            del self._sessions[proc.pid]


@dataclass
class BenchHost:
    server: SshdHost
    sysroot: Path
    port: int  # what the tools connect to (the accept recorder's port for host 0)

    @property
    def file(self) -> Path:
        return self.sysroot / REMOTE_FILE


class Lab:
    """The sshd hosts, the accept recorder, the client key and the known_hosts file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key = client_key(folder)
        self.known_hosts = folder / "known_hosts"
        self.hosts: list[BenchHost] = []
        self.recorder: AcceptRecorder | None = None

    def start(self, count: int) -> None:
        """Start ``count`` hosts (every one is stopped by :meth:`stop`, even if one fails)."""
        if not 1 <= count <= MAX_HOSTS:
            raise SystemExit(f"sizes must be 1..{MAX_HOSTS}")
        servers = []
        for i in range(count):
            address = f"{ADDRESS_PREFIX}{i + 1}"
            sysroot = self.folder / "roots" / f"h{i:03d}"
            (sysroot / "root").mkdir(parents=True)
            servers.append(SshdHost(self.folder / "sshd", f"h{i:03d}", address, free_port(address),
                                    home=str(sysroot / "root"), die_with_parent=True))
            self.hosts.append(BenchHost(servers[-1], sysroot, servers[-1].port))
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:  # ssh-keygen
            list(pool.map(SshdHost.prepare, servers))
        public = Path(f"{self.key}.pub").read_text()
        for server in servers:  # in this thread: die_with_parent is tied to it
            server.authorize(public)
            server.start()
        first = self.hosts[0]
        self.recorder = AcceptRecorder(first.server)
        first.port = self.recorder.port
        lines = [h.server.known_hosts_line() for h in self.hosts]
        lines.append(first.server.known_hosts_line().replace(
            f"]:{first.server.port} ", f"]:{self.recorder.port} "))
        self.known_hosts.write_text("".join(lines))

    def listener_pids(self, size: int) -> list[int]:
        return [h.server.pid for h in self.hosts[:size] if h.server.pid is not None]

    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        for host in self.hosts:
            with contextlib.suppress(Exception):
                host.server.stop()


def proc_cpu(pid: int) -> float:
    """utime+stime+cutime+cstime of ``pid`` in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def children_of(parents: set[int]) -> set[int]:
    """Processes (zombies included) whose parent is one of ``parents``, from one /proc scan."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if ppid in parents:
            found.add(int(stat.parent.name))
    return found


def wait_sessions_gone(listeners: Sequence[int], timeout: float = 30.0) -> bool:
    """Wait until no listener has a child left (every session ended and was reaped)."""
    deadline = time.monotonic() + timeout
    while children_of(set(listeners)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --- running one tool ---------------------------------------------------------------------

@dataclass
class Measured:
    wall: float
    user: float
    sys: float
    rc: int
    stdout: str
    stderr: str


_RUNNING: list[subprocess.Popen[bytes]] = []


def run_measured(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Measured:
    """Spawn ``argv`` in its own session, drain its output, reap it with ``os.wait4``."""
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    _RUNNING.append(proc)
    readers = [threading.Thread(target=drain, args=(n, s), daemon=True)
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if proc.returncode is None:
            kill_group(proc)
    _RUNNING.remove(proc)
    for reader in readers:
        reader.join()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return Measured(wall, usage.ru_utime, usage.ru_stime, proc.returncode,
                    chunks.get("out", b"").decode(errors="replace"),
                    chunks.get("err", b"").decode(errors="replace"))


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        proc.wait()


class Bench:
    def __init__(self, args: argparse.Namespace, folder: Path, lab: Lab) -> None:
        self.args = args
        self.folder = folder
        self.lab = lab
        self.payload = folder / "payload.bin"
        self.payload.write_bytes(make_payload())
        self.sha256 = hashlib.sha256(self.payload.read_bytes()).hexdigest()
        self.opsrunner = opsrunner_command()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("OPSRUNNER_", "NORNIR_"))}
        self.nornir_version = probe_nornir(args.nornir_python or sys.executable)
        self.tools = self._tools()
        self.samples: list[Sample] = []

    # the per-size inputs: a spec for the drivers, an inventory for opsrunner and for Nornir
    def size_dir(self, size: int) -> Path:
        folder = self.folder / f"n{size}"
        if folder.exists():
            return folder
        hosts = self.lab.hosts[:size]
        (folder / "inventory").mkdir(parents=True)
        (folder / "nornir").mkdir()
        spec = {"hosts": [{"name": h.server.name, "address": h.server.address, "port": h.port,
                           "file": str(h.file)} for h in hosts],
                "key": str(self.lab.key), "known_hosts": str(self.lab.known_hosts),
                "payload": str(self.payload), "sha256": self.sha256,
                "nornir_inventory": str(folder / "nornir")}
        (folder / "spec.json").write_text(json.dumps(spec, indent=1))
        inventory = {h.server.name: {"hostname": h.server.address, "port": h.port,
                                     "data": {"sysroot": str(h.sysroot)}} for h in hosts}
        (folder / "inventory" / "hosts.yaml").write_text(yaml.safe_dump(inventory))
        (folder / "inventory" / "defaults.yaml").write_text(yaml.safe_dump(
            {"username": "root", "ssh_key": str(self.lab.key),
             "known_hosts": str(self.lab.known_hosts)}))
        nornir_hosts = {h.server.name: {"hostname": h.server.address, "port": h.port,
                                        "data": {"file": str(h.file)}} for h in hosts}
        (folder / "nornir" / "hosts.yaml").write_text(yaml.safe_dump(nornir_hosts))
        (folder / "nornir" / "groups.yaml").write_text("{}\n")
        (folder / "nornir" / "defaults.yaml").write_text(yaml.safe_dump(
            {"username": "root", "connection_options": {"paramiko": {"extras": {
                "key_filename": str(self.lab.key), "look_for_keys": False,
                "allow_agent": False}}}}))
        return folder

    def workflow(self) -> Path:
        path = self.folder / "fanout.yml"
        if not path.exists():
            steps = [
                {"name": "true", "task": "command", "with": {"cmd": "true", "read_only": True}},
                {"name": "kernel", "task": "command",
                 "with": {"cmd": "uname -r", "read_only": True}},
                {"name": "os-release", "task": "command",
                 "with": {"cmd": "head -n1 /etc/os-release", "read_only": True}},
                {"name": "payload", "task": "copy",
                 "with": {"dest": f"/{REMOTE_FILE}", "content": self.payload.read_text()}},
                {"name": "sha256", "task": "command",
                 "with": {"cmd": f"sha256sum {{{{ sysroot }}}}/{REMOTE_FILE}", "read_only": True}},
            ]
            path.write_text(yaml.safe_dump({"name": "fan-out", "steps": steps}, sort_keys=False))
        return path

    def _tools(self) -> list[Tool]:
        py = sys.executable
        nornir_py = self.args.nornir_python or py
        nornir_version = self.nornir_version
        wf = self.workflow()

        def driver(name: str, python: str) -> Callable[[int, Path], list[str]]:
            return lambda n, run: [python, str(DRIVERS), name, str(self.size_dir(n) / "spec.json")]

        def opsrunner(output: str) -> Callable[[int, Path], list[str]]:
            return lambda n, run: [*self.opsrunner, "run", str(wf), "-i",
                                   str(self.size_dir(n) / "inventory"), "--forks", str(n),
                                   "--output", output, "--state-dir", str(run / "state")]

        nornir_label = (f"Nornir {nornir_version.split()[0] if nornir_version else '3'} threaded"
                        " + nornir_paramiko (no host-key check)")
        return [
            Tool("openssh", "OpenSSH, 1 session/host, curve25519", argv=driver("openssh", py),
                 check=driver_check),
            Tool("paramiko", "paramiko, thread + connection per host", argv=driver("paramiko", py),
                 check=driver_check),
            Tool("nornir", nornir_label, available=nornir_version is not None,
                 why_not="not installed", argv=driver("nornir", nornir_py), check=driver_check),
            Tool("opsrunner", "opsrunner --forks N --output json", argv=opsrunner("json"),
                 check=opsrunner_json_check(self.sha256)),
            Tool("opsrunner-text", "opsrunner --forks N --output text (to a pipe)",
                 argv=opsrunner("text"), check=text_check),
        ]

    def run_one(self, tool: Tool, size: int, repetition: int, counted: bool) -> Sample:
        hosts = self.lab.hosts[:size]
        listeners = self.lab.listener_pids(size)
        run_dir = Path(tempfile.mkdtemp(prefix=f"{tool.key}-", dir=self.folder))
        argv = tool.argv(size, run_dir)
        for host in hosts:
            host.file.unlink(missing_ok=True)
        wait_sessions_gone(listeners)
        recorder = self.lab.recorder
        assert recorder is not None
        recorder.settle()
        before = sum(proc_cpu(p) for p in listeners) + recorder.cpu
        recorder.arm()
        started = time.perf_counter()
        m = run_measured(argv, cwd=run_dir, env=self.env)
        first = recorder.first
        reaped = all([wait_sessions_gone(listeners), recorder.settle()])
        sshd_cpu = round(sum(proc_cpu(p) for p in listeners) + recorder.cpu - before, 3)
        why = tool.check(size, m.stdout) if m.rc == 0 else \
            f"exit {m.rc}: {(m.stderr or m.stdout).strip()[-400:]}"
        if not why:
            wrong = [h.server.name for h in hosts
                     if not h.file.exists() or h.file.read_bytes() != self.payload.read_bytes()]
            why = f"payload missing or wrong on {len(wrong)} host(s), e.g. {wrong[0]}" if wrong else ""
        if not reaped:
            why = (why + "; " if why else "") + "sshd sessions still alive 30 s after the run"
        shutil.rmtree(run_dir, ignore_errors=True)
        return Sample(tool.key, size, repetition, counted, not why, m.wall, m.user, m.sys,
                      sshd_cpu, None if first is None else first - started, why)

    def run(self) -> None:
        tools = [t for t in self.tools if t.available]
        keys = [t.key for t in tools]
        by_key = {t.key: t for t in tools}
        for size in self.args.sizes:
            self.size_dir(size)
            total = self.args.warmup + self.args.runs
            for rep in range(total):
                counted = rep >= self.args.warmup
                for key in rotated(keys, rep):
                    sample = self.run_one(by_key[key], size, rep, counted)
                    self.samples.append(sample)
                    self.progress(sample)

    def progress(self, sample: Sample) -> None:
        rep, warmup = sample.repetition, self.args.warmup
        which = f"run {rep - warmup + 1}/{self.args.runs}" if sample.counted else \
            f"warm-up {rep + 1}/{warmup}"
        first = None if sample.first_accept is None else sample.first_accept * 1000
        print(f"  N={sample.size:<3} {which:<11} {sample.tool:<15} {sample.wall:6.2f} s  "
              f"ctrl {sample.controller_cpu:5.2f} s  sshd {sample.sshd_cpu:5.2f} s  "
              f"first accept {fmt(first, ' ms', 0)}  "
              f"{'ok' if sample.ok else 'FAILED: ' + sample.note}", flush=True)


def make_payload() -> bytes:
    """4096 bytes of text: 64 lines of 63 characters and a newline."""
    lines = [hashlib.sha256(str(i).encode()).hexdigest()[:63] for i in range(64)]
    data = "".join(f"{line}\n" for line in lines).encode()
    assert len(data) == PAYLOAD_SIZE
    return data


def opsrunner_command() -> list[str]:
    script = Path(sys.executable).with_name("opsrunner")
    return [str(script)] if script.exists() else [sys.executable, "-m", "opsrunner.cli"]


def probe_nornir(python: str) -> str | None:
    """Nornir's version when ``python`` imports nornir and nornir_paramiko, else None."""
    code = ("import importlib.metadata as m, nornir, nornir_paramiko; "
            "print(m.version('nornir'), m.version('nornir_paramiko'), m.version('paramiko'))")
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60,
                              check=False)
    except OSError:
        return None
    if done.returncode != 0:
        return None
    nornir, plugin, paramiko = done.stdout.split()
    return f"{nornir} (nornir_paramiko {plugin}, paramiko {paramiko})"


def startup_times(bench: Bench, repeats: int) -> dict[str, list[float]]:
    cases = {"opsrunner --help": [*bench.opsrunner, "--help"],
             "opsrunner --version": [*bench.opsrunner, "--version"],
             "python -c pass": [sys.executable, "-c", "pass"]}
    times: dict[str, list[float]] = {label: [] for label in cases}
    for rep in range(repeats + 1):
        for label, argv in cases.items():
            m = run_measured(argv, cwd=bench.folder, env=bench.env)
            if m.rc != 0:
                raise SystemExit(f"{label} failed: {m.stderr.strip()}")
            if rep:  # the first round is a warm-up
                times[label].append(m.wall)
    return times


# --- report -------------------------------------------------------------------------------

def report_tables(tools: Sequence[Tool], sizes: Sequence[int], samples: Sequence[Sample]) -> str:
    """Every table the benchmark prints, from its samples."""
    figs = {(t.key, n): figures(samples, t.key, n) for t in tools for n in sizes}
    cols = [f"N={n}" for n in sizes]
    biggest = max(sizes)

    def rows(cell: Callable[[Tool, int], str]) -> list[list[str]]:
        return [[t.label, *((cell(t, n) if t.available else t.why_not) for n in sizes)]
                for t in tools]

    def wall_cell(t: Tool, n: int) -> str:
        f = figs[t.key, n]
        failed = f" ({f.failed} failed)" if f.failed else ""
        return fmt(f.wall) + failed

    def ratio_cell(base: str) -> Callable[[Tool, int], str]:
        return lambda t, n: fmt(ratio(figs[t.key, n].wall, figs[base, n].wall), "x")

    def attr_cell(name: str, scale: float = 1.0, unit: str = "", digits: int = 2
                  ) -> Callable[[Tool, int], str]:
        def cell(t: Tool, n: int) -> str:
            value = getattr(figs[t.key, n], name)
            return fmt(None if value is None else value * scale, unit, digits)
        return cell

    nornir = next((t for t in tools if t.key == "nornir"), None)
    summary = [[t.label, *((wall_cell(t, n) if t.available else t.why_not) for n in sizes),
                attr_cell("controller_cpu", unit=" s")(t, biggest) if t.available else "",
                attr_cell("sshd_cpu", unit=" s")(t, biggest) if t.available else ""]
               for t in tools]
    parts = [
        "Median wall seconds (and CPU at the largest size):",
        format_table(["tool", *cols, f"controller CPU at {biggest}", f"sshd-side CPU at {biggest}"],
                     summary),
        "", "Ratio to the OpenSSH floor (median wall / OpenSSH's):",
        format_table(["tool", *cols], rows(ratio_cell("openssh"))),
    ]
    if nornir is not None and nornir.available:
        parts += ["", "Ratio to Nornir (median wall / Nornir's):",
                  format_table(["tool", *cols], rows(ratio_cell("nornir")))]
    parts += [
        "", "Controller CPU, user+sys of the tool's process tree (median s):",
        format_table(["tool", *cols], rows(attr_cell("controller_cpu"))),
        "", "sshd-side CPU, all sshd processes serving the run (median s):",
        format_table(["tool", *cols], rows(attr_cell("sshd_cpu"))),
        "", "Start -> first TCP accept on host 0 (median ms):",
        format_table(["tool", *cols], rows(attr_cell("first_accept", 1000, "", 0))),
    ]
    return "\n".join(parts)


def startup_table(times: dict[str, list[float]]) -> str:
    return format_table(["command", "median ms", "min ms"],
                        [[label, fmt(1000 * (median(v) or 0), "", 0), fmt(1000 * min(v), "", 0)]
                         for label, v in times.items()])


def machine_facts(bench: Bench) -> dict[str, Any]:
    def out(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
        except OSError:
            return ""
        return (done.stdout + done.stderr).strip()

    import paramiko

    dirty = out(["git", "status", "--porcelain", "--", "opsrunner", "opsrunner_plugins"])
    return {"cpus": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version(), "paramiko": paramiko.__version__,
            "openssh": out(["ssh", "-V"]), "opsrunner": out([*bench.opsrunner, "--version"]),
            "commit": out(["git", "rev-parse", "--short", "HEAD"]),
            "nornir": bench.nornir_version or "not installed",
            "opsrunner_tree_modified": bool(dirty), "loadavg_start": os.getloadavg()}


def parse_sizes(text: str) -> list[int]:
    sizes = [int(x) for x in text.split(",") if x.strip()]
    if not sizes or any(not 1 <= n <= MAX_HOSTS for n in sizes):
        raise argparse.ArgumentTypeError(f"sizes are 1..{MAX_HOSTS}, comma-separated")
    return sizes


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    """A temporary folder, removed on exit; SIGTERM and SIGHUP end the run as Ctrl-C does
    (and so does SIGINT, even where the shell started this with SIGINT ignored)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    folder = Path(tempfile.mkdtemp(prefix="opsrunner-bench-fanout-"))
    try:
        yield folder
    finally:
        for proc in list(_RUNNING):
            kill_group(proc)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[10, 50, 100],
                        help="host counts, comma-separated (default 10,50,100)")
    parser.add_argument("--runs", type=int, default=5, help="counted repetitions per size")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted repetitions first")
    parser.add_argument("--startup-runs", type=int, default=10,
                        help="repetitions of the --help/--version timings")
    parser.add_argument("--nornir-python", metavar="PATH",
                        help="interpreter that has nornir and nornir_paramiko (default: this one)")
    parser.add_argument("--json", metavar="FILE", type=Path, help="write every figure here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the hosts are real sshd servers on 127.0.150.x")
    method = __doc__.split("Method\n------\n", 1)[1].split("\nEverything started", 1)[0]
    print("Fan-out benchmark. Method:\n" + method, flush=True)
    try:
        with workspace() as folder:
            lab = Lab(folder)
            try:
                started = time.perf_counter()
                lab.start(max(args.sizes))
                print(f"{len(lab.hosts)} sshd hosts up in {time.perf_counter() - started:.1f} s",
                      flush=True)
                bench = Bench(args, folder, lab)
                facts = machine_facts(bench)
                print("Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), flush=True)
                startup = startup_times(bench, args.startup_runs)
                bench.run()
            finally:
                lab.stop()
    except KeyboardInterrupt:
        print("\ninterrupted: every sshd stopped, temporary folder removed", file=sys.stderr)
        return 130
    facts["loadavg_end"] = os.getloadavg()
    print("\nStart-up (wall, interleaved):")
    print(startup_table(startup))
    print()
    print(report_tables(bench.tools, args.sizes, bench.samples))
    failures = [s for s in bench.samples if not s.ok]
    for s in failures:
        print(f"FAILED: {s.tool} N={s.size} repetition {s.repetition + 1}: {s.note}")
    if args.json:
        document = {
            "method": method, "machine": facts, "sizes": args.sizes, "runs": args.runs,
            "warmup": args.warmup,
            "tools": [{"key": t.key, "label": t.label, "available": t.available,
                       "why_not": "" if t.available else t.why_not} for t in bench.tools],
            "startup": {label: {"median": median(v), "samples": v}
                        for label, v in startup.items()},
            "medians": {t.key: {str(n): asdict(figures(bench.samples, t.key, n))
                                for n in args.sizes} for t in bench.tools if t.available},
            "samples": [{**asdict(s), "controller_cpu": s.controller_cpu}
                        for s in bench.samples],
        }
        args.json.write_text(json.dumps(document, indent=1) + "\n")
        print(f"\nAll figures: {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
