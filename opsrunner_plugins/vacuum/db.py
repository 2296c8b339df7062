"""The engine's databases as the vacuum plugin sees them: settings, sizes, PostgreSQL clients.

Settings come from the engine's shell conf files, sourced on the host as the oVirt scripts
source them. A password only ever travels in a command's environment (see
:meth:`opsrunner.Task.run`) and reaches the PostgreSQL client through a private pgpass file;
it never appears in argv, logs or results.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field

from opsrunner import CommandResult, Task

# The size query of the OLVM Administration Guide, "Administration Tasks", section "Reclaiming
# Database Storage" ("データベース記憶域の再利用"), with the exact byte count added for the
# arithmetic.
SIZE_QUERY = ("SELECT datname as db_name, pg_size_pretty(pg_database_size(datname)) as db_usage, "
              "pg_database_size(datname) as db_bytes FROM pg_database")
LAB_PG_BIN_DIR = "/usr/lib/postgresql/15/bin"  # Debian's PostgreSQL 15 clients (the lab)
_SETTINGS = ("HOST", "PORT", "USER", "DATABASE", "PASSWORD")
_PGPASS_VAR = "OPSRUNNER_PGPASS"


@dataclass(frozen=True)
class DbSettings:
    """One database connection read from a conf file; ``password`` stays out of ``repr``."""

    host: str
    port: int
    user: str
    database: str
    password: str = field(repr=False)

    def pgpass_line(self) -> str:
        """``host:port:database:user:password`` with ``\\`` and ``:`` escaped."""
        fields = (self.host, str(self.port), self.database, self.user, self.password)
        return ":".join(f.replace("\\", "\\\\").replace(":", "\\:") for f in fields)


@dataclass(frozen=True)
class DbSize:
    """A database's size: exact bytes and PostgreSQL's pretty form."""

    name: str
    size: int
    pretty: str


def read_settings(task: Task, conf: str, prefix: str) -> DbSettings | None:
    """``<prefix>_DB_*`` of the conf file ``conf`` (a real-system path), or None when the file
    does not exist (the product is not set up). TaskFailed when a setting is missing."""
    path = task.path(conf)
    names = " ".join(f'"${prefix}_DB_{part}"' for part in _SETTINGS)
    script = (f"p={shlex.quote(path)}; [ -f \"$p\" ] || {{ echo absent; exit 0; }}; "
              f"( . \"$p\" >/dev/null 2>&1 && echo present && printf '%s\\n' {names} )")
    res = task.run(script)
    lines = res.stdout.split("\n")
    if res.rc == 0 and lines[0] == "absent":
        return None
    if res.rc != 0 or lines[0] != "present" or len(lines) < len(_SETTINGS) + 1:
        task.fail(f"cannot read the {prefix}_DB_* settings from {conf} (exit status {res.rc})")
    values = dict(zip(_SETTINGS, lines[1:1 + len(_SETTINGS)], strict=True))
    missing = [f"{prefix}_DB_{k}" for k in _SETTINGS[:4] if not values[k]]
    if missing:
        task.fail(f"{conf} does not set {', '.join(missing)}")
    if not values["PORT"].isdigit():
        task.fail(f"{conf}: {prefix}_DB_PORT is not a port number")
    return DbSettings(values["HOST"], int(values["PORT"]), values["USER"], values["DATABASE"],
                      values["PASSWORD"])


def parse_sizes(output: str) -> dict[str, DbSize]:
    """Rows ``name|pretty|bytes`` of :data:`SIZE_QUERY` (psql ``-A -t -F '|'``) by name.

    ValueError when the output holds no such row (``engine-psql.sh`` exits 0 even when psql
    failed, so the output is all there is to judge).
    """
    sizes: dict[str, DbSize] = {}
    for line in output.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3 and parts[0] and parts[2].isdigit():
            sizes[parts[0]] = DbSize(parts[0], int(parts[2]), parts[1])
    if not sizes:
        detail = next((ln.strip() for ln in output.splitlines() if "ERROR" in ln or
                       "FATAL" in ln), output.strip()[-200:] or "no output")
        raise ValueError(f"no database sizes in the output: {detail}")
    return sizes


def measure(task: Task, engine_psql: str) -> dict[str, DbSize]:
    """Every database's size through ``engine-psql.sh`` (a real-system path)."""
    command = (f"{shlex.quote(task.path(engine_psql))} -A -t -F '|' "
               f"-c {shlex.quote(SIZE_QUERY)}")
    res = task.run(command)
    if res.rc != 0:
        task.fail(f"{engine_psql} failed (exit status {res.rc}): {_last(res)}")
    try:
        return parse_sizes(res.stdout)
    except ValueError as exc:
        task.fail(f"{engine_psql}: {exc}")


def pg_bin_dir(task: Task, given: str | None) -> str:
    """The folder of the PostgreSQL clients on the host: ``given`` (a real-system path, checked),
    else that of ``pg_dump`` on the host's PATH, else Debian's PostgreSQL 15 folder."""
    if given:
        folder = task.path(given)
        if task.run(f"[ -x {shlex.quote(posixpath.join(folder, 'pg_dump'))} ]").rc != 0:
            task.fail(f"pg_bin_dir: {given}/pg_dump is not an executable")
        return folder
    res = task.run("command -v pg_dump || "
                   f"{{ [ -x {LAB_PG_BIN_DIR}/pg_dump ] && echo {LAB_PG_BIN_DIR}/pg_dump; }}")
    found = res.stdout.strip()
    if res.rc != 0 or not found.startswith("/"):
        task.fail(f"pg_dump not found on the host's PATH nor in {LAB_PG_BIN_DIR}; "
                  "give pg_bin_dir (the folder of the PostgreSQL client programs)")
    return posixpath.dirname(found)


def run_with_password(task: Task, settings: DbSettings, script: str) -> CommandResult:
    """Run ``script`` with ``PGPASSFILE`` set to a private pgpass file holding ``settings``.

    The file lives in a 0700 temporary folder removed when the script ends; the password
    reaches it through the environment (never argv).
    """
    wrapper = ('umask 077; __pgdir=$(mktemp -d) || exit 1; trap \'rm -rf "$__pgdir"\' EXIT; '
               f'printf \'%s\\n\' "${_PGPASS_VAR}" > "$__pgdir/pgpass" || exit 1; '
               f'unset {_PGPASS_VAR}; export PGPASSFILE="$__pgdir/pgpass"; unset PGPASSWORD\n'
               f"{script}")
    return task.run(wrapper, env={_PGPASS_VAR: settings.pgpass_line()})


def _last(res: CommandResult) -> str:
    lines = (res.stderr or res.stdout).strip().splitlines()
    return lines[-1] if lines else "no output"
