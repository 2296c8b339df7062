"""What ``dnf install``, ``dnf remove`` and ``dnf list`` do: resolve the packages against the
catalogue and the host's database, show the transaction, ask, then run it (the files, the
database, the programs in ``bin/``), printing dnf 4's lines (see :mod:`.dnf`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from opsrunner_lab.tools.common import ToolError
from opsrunner_lab.tools.dnf_output import (
    Output,
    install_rows,
    list_rows,
    metadata_line,
    remove_rows,
    size_text,
    summary,
    transaction_steps,
    transaction_table,
)
from opsrunner_lab.tools.lab_host import ToolHost
from opsrunner_lab.tools.lab_packages import CATALOGUE, Package, sync_commands
from opsrunner_lab.tools.rpm_files import install_files, remove_files
from opsrunner_lab.tools.rpmdb import InstalledPackage, Nevra, RpmDb

P = TypeVar("P", bound=Nevra)


@dataclass
class DnfOptions:
    """A parsed command line: the command, its arguments and the flags."""

    command: str = ""
    args: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def _confirm(options: DnfOptions) -> bool:
    """dnf's question; not asked with ``-y``; N with ``--assumeno`` or stdin not a terminal."""
    if "assumeno" in options.flags:
        return False
    if "assumeyes" in options.flags:
        return True
    sys.stdout.write("Is this ok [y/N]: ")
    sys.stdout.flush()
    if sys.stdin is None or not sys.stdin.isatty():
        return False
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def install(host: ToolHost, db: RpmDb, options: DnfOptions, out: Output) -> int:
    out.info(metadata_line(db.metadata_time))
    unknown = [spec for spec in options.args
               if not any(pkg.matches(spec) for pkg in CATALOGUE.values())]
    for spec in unknown:
        out.info(f"No match for argument: {spec}")
    if unknown:
        raise ToolError(f"Unable to find a match: {' '.join(unknown)}")
    wanted: list[Package] = []
    for spec in options.args:
        for pkg in CATALOGUE.values():
            if not pkg.matches(spec) or pkg in wanted:
                continue
            if pkg.name in db.packages:
                out.info(f"Package {db.packages[pkg.name].nevra} is already installed.")
            else:
                wanted.append(pkg)
    for pkg in wanted:
        if missing := pkg.missing_programs():
            raise ToolError(f"{pkg.name} of the lab links {', '.join(missing)} of this machine, "
                            f"which is missing (install it: apt-get install -y {pkg.name})")
    out.info("Dependencies resolved.")
    if not wanted:
        return _nothing_to_do(out)
    for line in [*transaction_table("Installing:", install_rows(wanted)),
                 *summary("Install", len(wanted)),
                 f"Total download size: {size_text(sum(p.download_size for p in wanted))}",
                 f"Installed size: {size_text(sum(p.installed_size for p in wanted))}"]:
        out.info(line)
    if not _confirm(options):
        out.error("Operation aborted.")
        return 1
    out.info("Downloading Packages:")
    for pkg in wanted:
        out.info(f"{pkg.nevra + '.rpm':<58} {size_text(pkg.download_size) + 'B':>10}     00:00")

    def install_one(pkg: Package) -> list[str]:
        db.packages[pkg.name], warnings = install_files(host, pkg)
        return warnings

    return _transaction(host, db, out, ("Installing", "Installed"), wanted, install_one)


def remove(host: ToolHost, db: RpmDb, options: DnfOptions, out: Output) -> int:
    doomed = []
    for spec in options.args:
        found = [pkg for pkg in db.packages.values() if pkg.matches(spec)]
        if not found:
            out.info(f"No match for argument: {spec}")
        doomed += [pkg for pkg in found if pkg not in doomed]
    if not doomed:
        out.error("No packages marked for removal.")
        out.info("Dependencies resolved.")
        return _nothing_to_do(out)
    out.info("Dependencies resolved.")
    sizes = {name: pkg.installed_size for name, pkg in CATALOGUE.items()}
    for line in [*transaction_table("Removing:", remove_rows(doomed, sizes)),
                 *summary("Remove", len(doomed)),
                 f"Freed space: {size_text(sum(sizes.get(p.name, 0) for p in doomed))}"]:
        out.info(line)
    if not _confirm(options):
        out.error("Operation aborted.")
        return 1

    def remove_one(pkg: InstalledPackage) -> list[str]:
        del db.packages[pkg.name]
        return remove_files(host, pkg)

    return _transaction(host, db, out, ("Erasing", "Removed"), doomed, remove_one)


def list_packages(host: ToolHost, db: RpmDb, options: DnfOptions, out: Output) -> int:
    args = list(options.args)
    scope = next((flag for flag in ("installed", "available", "all") if flag in options.flags),
                 "all")
    if args and args[0] in ("installed", "available", "all"):
        scope = args.pop(0)

    def wanted(pkg: Nevra) -> bool:
        return not args or any(pkg.matches(spec) for spec in args)

    if scope != "installed":
        out.info(metadata_line(db.metadata_time))
    installed: list[tuple[Nevra, str]] = [
        (pkg, f"@{pkg.repo}") for pkg in db.packages.values() if wanted(pkg)]
    available: list[tuple[Nevra, str]] = [
        (pkg, pkg.repo) for pkg in CATALOGUE.values()
        if pkg.name not in db.packages and wanted(pkg)]
    sections = {"Installed Packages": installed if scope != "available" else [],
                "Available Packages": available if scope != "installed" else []}
    if not any(sections.values()):
        raise ToolError("No matching Packages to list")
    for title, rows in sections.items():
        if rows:
            out.info(title)
            for line in list_rows(sorted(rows, key=lambda row: row[0].name)):
                out.info(line)
    return 0


def _transaction(host: ToolHost, db: RpmDb, out: Output, verbs: tuple[str, str],
                 packages: Sequence[P], act: Callable[[P], list[str]]) -> int:
    """Run the RPM transaction: ``act`` on each package (its lines are rpm's warnings), save
    the database, relink the host's programs; print the progress and ``Complete!``."""
    count = len(packages)
    steps = transaction_steps(verbs[0], packages)
    for line in steps[:-2 * count]:
        out.info(line)
    for line, pkg in zip(steps[-2 * count:-count], packages, strict=True):
        out.info(line)
        for warning in act(pkg):
            out.info(warning)
    db.save()
    sync_commands(host, set(db.packages))
    for line in [*steps[-count:], "", f"{verbs[1]}:", *(f"  {pkg.nevra}" for pkg in packages),
                 "", "Complete!"]:
        out.info(line)
    return 0


def _nothing_to_do(out: Output) -> int:
    out.info("Nothing to do.")
    out.info("Complete!")
    return 0


COMMANDS: dict[str, Callable[[ToolHost, RpmDb, DnfOptions, Output], int]] = {
    "install": install, "remove": remove, "list": list_packages}
