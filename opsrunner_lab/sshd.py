"""Launch a real OpenSSH ``sshd`` for one lab host on a loopback address.

Each :class:`SshdHost` owns a state folder holding its host keys, ``sshd_config``,
``authorized_keys``, pid file and log. It accepts public-key logins only, for any local
user whose key is in its ``authorized_keys`` file (root included).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from opsrunner_lab.daemon import Daemon, LabServerError
from opsrunner_lab.layout import LabHost, LabLayout
from opsrunner_lab.processes import child_pids, term_when_parent_dies, terminate_all

SSHD = "/usr/sbin/sshd"
HOST_KEY_TYPES = ("ed25519", "rsa")
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def free_port(address: str) -> int:
    """A TCP port that is free on ``address`` right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def client_key(folder: Path) -> Path:
    """The ed25519 client key of ``folder`` (``client_ed25519`` + ``.pub``), made once."""
    key = folder / "client_ed25519"
    if not key.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _keygen(key, "ed25519", "opsrunner-lab-client")
    return key


class SshdHost:
    """A real sshd listening on ``address:port``, with its state in ``folder/name``.

    :param path_prefix: when given, sessions get ``PATH=prefix:/usr/sbin:/usr/bin:/sbin:/bin``
        (lab tools first).
    :param home: when given, sessions get ``HOME=home``. bash started by sshd reads
        ``$HOME/.bashrc`` even to run one command, and without this that is the control
        machine's own (here: ``pyenv init``, 90 ms of every command); a lab host's home is
        its sysroot's ``/root``.
    :param die_with_parent: sshd gets SIGTERM when the thread that started it dies (for test
        fixtures: a killed test run leaves no server behind).
    """

    def __init__(self, folder: Path, name: str, address: str, port: int, *,
                 path_prefix: str | None = None, home: str | None = None,
                 start_timeout: float = 10.0,
                 die_with_parent: bool = False) -> None:
        self.name = name
        self.address = address
        self.port = port
        self.folder = folder / name
        self.path_prefix = path_prefix
        self.home = home
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent
        self.config_path = self.folder / "sshd_config"
        self.log_path = self.folder / "sshd.log"
        self.authorized_keys = self.folder / "authorized_keys"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The listening sshd's process id while started."""
        return self._proc.pid if self._proc is not None else None

    def host_key_path(self, key_type: str) -> Path:
        return self.folder / f"ssh_host_{key_type}_key"

    def authorize(self, public_key: str) -> None:
        """Allow logins with ``public_key`` (one ``type base64 [comment]`` line)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.authorized_keys.open("a", encoding="utf-8") as fh:
            fh.write(public_key.strip() + "\n")
        self.authorized_keys.chmod(0o644)

    def authorize_once(self, public_key: str) -> None:
        """:meth:`authorize` unless ``public_key`` is already allowed."""
        wanted = public_key.split()[:2]
        listed = self.authorized_keys.read_text() if self.authorized_keys.exists() else ""
        if any(line.split()[:2] == wanted for line in listed.splitlines()):
            return
        self.authorize(public_key)

    def prepare(self) -> None:
        """Generate missing host keys and write the config (everything but starting)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for key_type in HOST_KEY_TYPES:
            if not self.host_key_path(key_type).exists():
                _keygen(self.host_key_path(key_type), key_type, f"{self.name} host key")
        self.authorized_keys.touch(mode=0o644)
        self.config_path.write_text(self._config(), encoding="utf-8")
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        """The command line that runs this sshd in the foreground (after :meth:`prepare`)."""
        return [SSHD, "-D", "-f", str(self.config_path), "-E", str(self.log_path)]

    def answers(self) -> bool:
        """Whether an SSH server answers on ``address:port`` now (it sends its banner)."""
        try:
            with socket.create_connection((self.address, self.port), timeout=1) as sock:
                if not sock.recv(4).startswith(b"SSH-"):
                    return False
                sock.sendall(b"SSH-2.0-opsrunner-probe\r\n")  # a polite hang-up
                return True
        except OSError:
            return False

    def start(self) -> None:
        """:meth:`prepare`, start sshd as a child process, wait for its banner."""
        if self.is_running():
            return
        self.prepare()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
                preexec_fn=term_when_parent_dies if self.die_with_parent else None)
        self._wait_for_banner()

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Stop the listener and the per-connection sshd processes it forked. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        sessions = child_pids(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        terminate_all(sessions)

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes forked by the listener (one per client)."""
        return child_pids(self._proc.pid) if self.is_running() and self._proc else []

    def rotate_host_keys(self) -> None:
        """Replace every host key with a new one and restart (a "changed host key")."""
        self.stop()
        for key_type in HOST_KEY_TYPES:
            for path in (self.host_key_path(key_type), _pub(self.host_key_path(key_type))):
                path.unlink(missing_ok=True)
        self.start()

    def known_hosts_line(self) -> str:
        """The known_hosts lines (``[address]:port type key``) of all host keys."""
        name = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        lines = []
        for key_type in HOST_KEY_TYPES:
            algorithm, data = _pub(self.host_key_path(key_type)).read_text().split()[:2]
            lines.append(f"{name} {algorithm} {data}\n")
        return "".join(lines)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def __enter__(self) -> SshdHost:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _config(self) -> str:
        lines = [
            f"ListenAddress {self.address}:{self.port}",
            *(f"HostKey {self.host_key_path(t)}" for t in HOST_KEY_TYPES),
            f"PidFile {self.folder / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            # No AcceptEnv line: sshd then accepts no client environment at all.
            "Subsystem sftp internal-sftp",
            "LogLevel ERROR",
        ]
        # One SetEnv line: a later one (even in a Match block) would replace it, not add to it.
        env = [f"PATH={self.path_prefix}:{_SYSTEM_PATH}"] if self.path_prefix else []
        env += [f"HOME={self.home}"] if self.home else []
        if env:
            lines.append("SetEnv " + " ".join(env))
        return "\n".join(lines) + "\n"

    def _wait_for_banner(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and self.is_running():
            if self.answers():
                return
            time.sleep(0.05)
        self.stop()
        raise LabServerError(f"sshd {self.name} did not start on {self.address}:{self.port}; "
                             f"log {self.log_path}:\n{self.log_tail()}")


def sshd_of(layout: LabLayout, host: LabHost) -> SshdHost:
    """The host's sshd (state in ``hosts/<name>/sshd``, lab tools first on PATH, root's
    home the sysroot's ``/root``)."""
    return SshdHost(layout.host_dir(host.name), "sshd", host.address, host.port,
                    path_prefix=str(layout.bin_dir(host.name)),
                    home=str(layout.sysroot(host.name) / "root"))


def sshd_daemon(layout: LabLayout, host: LabHost) -> Daemon:
    server = sshd_of(layout, host)
    return Daemon(f"sshd@{host.name}", server.argv(), layout.run_dir(host.name) / "sshd.pid",
                  layout.log_dir(host.name) / "sshd.log", ready=server.answers)


def _keygen(path: Path, key_type: str, comment: str) -> None:
    bits = ["-b", "2048"] if key_type == "rsa" else []
    done = subprocess.run(["ssh-keygen", "-q", "-t", key_type, *bits, "-N", "", "-C", comment,
                           "-f", str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LabServerError(f"ssh-keygen -t {key_type} -f {path} failed: {done.stderr.strip()}")


def _pub(key: Path) -> Path:
    return key.with_name(key.name + ".pub")
