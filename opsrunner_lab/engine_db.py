"""The engine's and DWH's database settings as the oVirt tools read them, and pgpass files.

``read_db_conf(sysroot, ENGINE_DB)`` sources the engine's conf files under ``sysroot`` (as
``engine-prolog.sh`` does) and returns the ``ENGINE_DB_*`` connection. Passwords reach the
PostgreSQL clients only through a temporary 0600 pgpass file (``pgpass_env``), never argv.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from opsrunner.errors import Location, UsageError
from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.shell_conf import conf_dir_files, read_shell_confs

PG_BIN_DIR = Path("/usr/lib/postgresql/15/bin")


class DbConfError(UsageError):
    """The database settings are missing or incomplete (never shows the password)."""


@dataclass(frozen=True)
class DbProduct:
    """Where one product keeps its ``<PREFIX>_DB_*`` settings (paths relative to a sysroot).

    :param base_files: read first, when present (the packaged defaults).
    :param conf_dir: then its ``*.conf`` in sorted order (``10-setup-database.conf``...).
    """

    name: str
    prefix: str
    base_files: tuple[str, ...]
    conf_dir: str


ENGINE_DB = DbProduct("engine", "ENGINE", ("usr/share/ovirt-engine/conf/engine.conf.defaults",
                                           "etc/ovirt-engine/engine.conf"),
                      "etc/ovirt-engine/engine.conf.d")
DWH_DB = DbProduct("dwh", "DWH", ("usr/share/ovirt-engine-dwh/services/ovirt-engine-dwhd/"
                                   "ovirt-engine-dwhd.conf",),
                   "etc/ovirt-engine-dwh/ovirt-engine-dwhd.conf.d")
PRODUCTS = (ENGINE_DB, DWH_DB)


@dataclass(frozen=True)
class DbConf:
    """One database connection; ``password`` stays out of ``repr``."""

    host: str
    port: int
    user: str
    database: str
    password: str = field(repr=False)

    def pgpass_line(self) -> str:
        """``host:port:database:user:password`` with ``\\`` and ``:`` escaped."""
        fields = (self.host, str(self.port), self.database, self.user, self.password)
        return ":".join(f.replace("\\", "\\\\").replace(":", "\\:") for f in fields) + "\n"


def conf_files(sysroot: Path, product: DbProduct) -> list[Path]:
    """The files that set ``product``'s settings, in the order the tools read them."""
    base = [sysroot / name for name in product.base_files if (sysroot / name).is_file()]
    return base + conf_dir_files(sysroot / product.conf_dir)


def has_db_conf(sysroot: Path, product: DbProduct) -> bool:
    """Whether ``product``'s conf folder holds any ``*.conf`` (engine-cleanup removes them)."""
    return bool(conf_dir_files(sysroot / product.conf_dir))


def read_db_conf(sysroot: Path, product: DbProduct) -> DbConf:
    """``product``'s connection from its conf files. DbConfError names what is missing."""
    files = conf_files(sysroot, product)
    folder = sysroot / product.conf_dir
    if not conf_dir_files(folder):
        raise DbConfError(f"no {product.prefix}_DB_* settings: no *.conf file in the folder",
                          Location(str(folder)))
    values = read_shell_confs(files)
    keys = {part: f"{product.prefix}_DB_{part}" for part in
            ("HOST", "PORT", "USER", "DATABASE", "PASSWORD")}
    missing = [key for part, key in keys.items() if part != "PASSWORD" and not values.get(key)]
    if missing:
        raise DbConfError(f"{', '.join(missing)} not set by {', '.join(map(str, files))}")
    port = values[keys["PORT"]]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise DbConfError(f"{keys['PORT']} must be a TCP port number (1-65535)",
                          Location(str(folder)))
    return DbConf(values[keys["HOST"]], int(port), values[keys["USER"]],
                  values[keys["DATABASE"]], values.get(keys["PASSWORD"], ""))


def pg_bin(name: str) -> str:
    """The PostgreSQL 15 program ``name``: Debian's versioned folder first, else PATH;
    LabServerError when it is not installed.

    Debian's ``/usr/bin`` wrappers pick a version from cluster configs; the lab's clusters
    are not registered there, so the versioned folder is used directly.
    """
    candidate = PG_BIN_DIR / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise LabServerError(f"{name} not found in {PG_BIN_DIR} or on PATH; install the "
                             f"PostgreSQL 15 packages (postgresql-15, postgresql-client-15)")
    return found


@contextmanager
def pgpass_env(confs: Sequence[DbConf],
               base: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """An environment (``base`` or os.environ) whose ``PGPASSFILE`` holds ``confs``.

    The file is created 0600 in a private temporary folder and removed on exit;
    ``PGPASSWORD`` is dropped so only the file is used.
    """
    env = dict(os.environ if base is None else base)
    env.pop("PGPASSWORD", None)
    folder = Path(tempfile.mkdtemp(prefix="opsrunner-pgpass-"))
    try:
        path = folder / ".pgpass"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("".join(conf.pgpass_line() for conf in confs))
        env["PGPASSFILE"] = str(path)
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)
