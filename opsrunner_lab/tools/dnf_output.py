"""The text dnf 4 prints: the transaction table and summary, the progress of the RPM
transaction, ``dnf list`` rows, the metadata line, and sizes as dnf writes them."""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Sequence

from opsrunner_lab.tools.lab_packages import Package
from opsrunner_lab.tools.rpmdb import InstalledPackage, Nevra

RULE = "=" * 80


class Output:
    """dnf's logger: information on stdout (silenced by ``-q``), errors on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def info(self, text: str = "") -> None:
        if not self.quiet:
            print(text)

    def error(self, text: str) -> None:
        sys.stdout.flush()
        print(text, file=sys.stderr)


def size_text(size: float) -> str:
    """``size`` bytes as dnf's summary writes it: ``714 k``, ``1.5 M``."""
    unit = " "
    for unit in (" ", "k", "M", "G"):
        if size < 999.5 or unit == "G":
            break
        size /= 1024
    return f"{size:.1f} {unit}" if size < 9.95 and unit != " " else f"{size:.0f} {unit}"


def metadata_line(checked: int, now: float | None = None) -> str:
    """``Last metadata expiration check: H:MM:SS ago on <date>.``"""
    now = time.time() if now is None else now
    age = datetime.timedelta(seconds=max(0, int(now - checked)))
    when = time.strftime("%a %d %b %Y %I:%M:%S %p %Z", time.localtime(checked))
    return f"Last metadata expiration check: {age} ago on {when}."


def transaction_table(heading: str, rows: Sequence[tuple[str, str, str, str, str]]) -> list[str]:
    """The table dnf shows before it asks: a header, ``heading`` (``Installing:``), a row
    (name, arch, version, repository, size) per package."""
    header = ("Package", "Architecture", "Version", "Repository", "Size")
    widths = [max(len(row[col]) for row in (header, *rows)) for col in range(5)]

    def line(row: tuple[str, str, str, str, str]) -> str:
        cells = [f"{row[col]:<{widths[col]}}" for col in range(4)]
        return " " + "  ".join(cells) + f"  {row[4]:>{widths[4]}}"

    return [RULE, line(header), RULE, heading, *(line(row) for row in rows), ""]


def install_rows(packages: Sequence[Package]) -> list[tuple[str, str, str, str, str]]:
    return [(pkg.name, pkg.arch, pkg.evr, pkg.repo, size_text(pkg.download_size))
            for pkg in packages]


def remove_rows(packages: Sequence[InstalledPackage], sizes: dict[str, int]
                ) -> list[tuple[str, str, str, str, str]]:
    return [(pkg.name, pkg.arch, pkg.evr, f"@{pkg.repo}", size_text(sizes.get(pkg.name, 0)))
            for pkg in packages]


def summary(verb: str, count: int) -> list[str]:
    """``Transaction Summary`` and ``Install  2 Packages``."""
    noun = "Package" if count == 1 else "Packages"
    return ["Transaction Summary", RULE, f"{verb:<8} {count} {noun}", ""]


def transaction_steps(verb: str, packages: Sequence[Nevra]) -> list[str]:
    """The RPM transaction's progress lines (``Installing`` or ``Erasing``, then Verifying)."""
    total = len(packages)
    lines = ["Running transaction check", "Transaction check succeeded.",
             "Running transaction test", "Transaction test succeeded.", "Running transaction",
             f"  {'Preparing':<17}: {'':<55}{1:>3}/{1}"]
    for step in (verb, "Verifying"):
        lines += [f"  {step:<17}: {pkg.nevra:<55}{index:>3}/{total}"
                  for index, pkg in enumerate(packages, 1)]
    return lines


def list_rows(packages: Sequence[tuple[Nevra, str]]) -> list[str]:
    """``dnf list`` rows: ``name.arch  version-release  repository``."""
    names = [f"{pkg.name}.{pkg.arch}" for pkg, _repo in packages]
    width = max([40, *map(len, names)])
    evr_width = max([24, *(len(pkg.evr) for pkg, _repo in packages)])
    return [f"{name:<{width}} {pkg.evr:<{evr_width}} {repo}"
            for name, (pkg, repo) in zip(names, packages, strict=True)]
