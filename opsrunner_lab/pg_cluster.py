"""The engine host's PostgreSQL 15 cluster in the lab folder: initdb, server argv, readiness,
and SQL run as the ``postgres`` superuser over the cluster's unix socket.

The server runs as user postgres (uid and gid, through ``setpriv``), listens on the engine's
loopback address only, and authenticates TCP clients with scram-sha-256; only the postgres
OS user may connect over the socket (peer).
"""

from __future__ import annotations

import pwd
import shutil
import subprocess
from pathlib import Path

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.engine_db import PG_BIN_DIR, pg_bin
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout

PORT = ENGINE_PORTS["postgresql"]
SUPERUSER = "postgres"
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with the terminating NUL
HBA = ("# TYPE  DATABASE  USER      ADDRESS       METHOD\n"
       "local   all       postgres                peer\n"
       "host    all       all       127.0.0.0/8   scram-sha-256\n")


class PgCluster:
    """The cluster of a lab: data in ``hosts/engine/pgdata``, socket in ``hosts/engine/run``."""

    def __init__(self, layout: LabLayout) -> None:
        self.layout = layout
        self.address = layout.engine_address
        self.data_dir = layout.host_dir(ENGINE) / "pgdata"
        self.socket_dir = layout.run_dir(ENGINE) / "postgresql"
        self.pidfile = layout.run_dir(ENGINE) / "postgresql.pid"
        self.logfile = layout.log_dir(ENGINE) / "postgresql.log"

    def argv(self) -> list[str]:
        """The foreground server, switched to user and group postgres before exec."""
        return [SETPRIV, f"--reuid={SUPERUSER}", f"--regid={SUPERUSER}", "--init-groups", "--",
                str(PG_BIN_DIR / "postgres"), "-D", str(self.data_dir),
                "-c", f"listen_addresses={self.address}", "-c", f"port={PORT}",
                "-c", f"unix_socket_directories={self.socket_dir}"]

    def prepare(self) -> None:
        """Make the folders (owned by postgres) and run initdb once. LabServerError on failure."""
        account = postgres_account()
        server = PG_BIN_DIR / "postgres"
        if not server.is_file():
            raise LabServerError(f"the PostgreSQL 15 server is not installed (no {server}): "
                                 f"apt-get install postgresql-15")
        if not Path(SETPRIV).is_file():
            raise LabServerError(f"{SETPRIV} (util-linux) is needed to run PostgreSQL as "
                                 f"user postgres: apt-get install util-linux")
        socket = self.socket_dir / f".s.PGSQL.{PORT}"
        if len(str(socket).encode()) > MAX_SOCKET_PATH or "," in str(self.socket_dir):
            raise LabServerError(f"the PostgreSQL socket path {socket} is longer than "
                                 f"{MAX_SOCKET_PATH} bytes or holds a comma; use a shorter "
                                 f"lab folder")
        for folder, mode in ((self.data_dir, 0o700), (self.socket_dir, 0o755)):
            folder.mkdir(parents=True, exist_ok=True)
            shutil.chown(folder, account.pw_uid, account.pw_gid)
            folder.chmod(mode)
        self._make_reachable(account)
        self._clear_stale_lock()
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.run_as_postgres([pg_bin("initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                              "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8",
                              "--locale=C.UTF-8", "--no-instructions", "--no-sync"],
                             what="initdb")
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(HBA)
        shutil.chown(hba, account.pw_uid, account.pw_gid)
        hba.chmod(0o600)

    def ready(self) -> bool:
        """Whether the postmaster started by the daemon says "ready" in its lock file."""
        try:
            lock = (self.data_dir / "postmaster.pid").read_text().splitlines()
            daemon_pid = self.pidfile.read_text().split()[0]
        except (FileNotFoundError, IndexError):
            return False
        return len(lock) >= 8 and lock[0].strip() == daemon_pid and lock[7].strip() == "ready"

    def psql(self, sql: str, database: str = "postgres", what: str = "psql") -> str:
        """Run ``sql`` (on stdin, stopping at the first error) as the superuser over the
        socket; return the unaligned, tuples-only output. LabServerError on failure, with
        psql's error lines but not the statement text (it may hold password verifiers)."""
        return self.run_as_postgres(
            [pg_bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", str(self.socket_dir), "-p", str(PORT), "-U", SUPERUSER, "-d", database],
            stdin=sql, what=what)

    def run_as_postgres(self, argv: list[str], stdin: str = "", what: str = "") -> str:
        """Run ``argv`` as user and group postgres; its stdout. LabServerError on failure."""
        account = postgres_account()
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False,
                              user=account.pw_uid, group=account.pw_gid, extra_groups=[],
                              cwd="/", env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8",
                                            "HOME": account.pw_dir})
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines()
                      if not line.startswith(("LINE ", " ")) and line.strip()]
            raise LabServerError(f"{what or argv[0]} failed (exit {done.returncode}): "
                                 + "; ".join(errors[-5:]))
        return done.stdout

    def _clear_stale_lock(self) -> None:
        """Remove a ``postmaster.pid`` left by a killed server (its pid may be reused by
        another process, which would make postgres refuse to start)."""
        lock = self.data_dir / "postmaster.pid"
        try:
            pid = int(lock.read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            cmdline = b""
        if lock.exists() and str(self.data_dir).encode() not in cmdline:
            lock.unlink()

    def _make_reachable(self, account: pwd.struct_passwd) -> None:
        """Let postgres traverse the lab's own folders down to its data; refuse (with the fix)
        when a folder above the lab blocks it."""
        root = self.layout.root
        for target in (self.data_dir, self.socket_dir):
            folder = target.parent
            while folder != root.parent and root in (folder, *folder.parents):
                mode = folder.stat().st_mode
                if not mode & 0o001:
                    folder.chmod(mode & 0o7777 | 0o001)
                folder = folder.parent
        blocker = self._first_unreachable(account, self.data_dir.parent)
        if blocker is not None:
            raise LabServerError(
                f"PostgreSQL runs as user postgres, which cannot enter {blocker} on the way to "
                f"{self.data_dir}; put the lab in a folder postgres can traverse (e.g. "
                f"--dir /var/lib/opsrunner/lab) or allow it: chmod o+x {blocker}")

    def _first_unreachable(self, account: pwd.struct_passwd, target: Path) -> Path | None:
        if self._can_enter(account, target):
            return None
        for folder in [*reversed(target.parents), target]:
            if not self._can_enter(account, folder):
                return folder
        return target

    @staticmethod
    def _can_enter(account: pwd.struct_passwd, folder: Path) -> bool:
        done = subprocess.run(["test", "-x", str(folder)], user=account.pw_uid,
                              group=account.pw_gid, extra_groups=[], cwd="/", check=False)
        return done.returncode == 0


def postgres_account() -> pwd.struct_passwd:
    """The ``postgres`` OS user. LabServerError when PostgreSQL is not installed."""
    try:
        return pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise LabServerError("there is no postgres user: install PostgreSQL 15 "
                             "(apt-get install postgresql-15)") from None
