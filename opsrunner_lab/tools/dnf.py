"""``dnf`` (and ``yum``) of the lab: install, remove and list the lab's packages.

``dnf [options] install|remove PKG...`` and ``dnf list [installed|available|all] [PKG...]``
over the catalogue of :mod:`opsrunner_lab.tools.lab_packages`, with dnf 4's output lines and
exit codes: an installed package is ``Package X is already installed.`` then ``Nothing to
do.`` (exit 0); an unknown one ``No match for argument: X`` and ``Error: Unable to find a
match: X`` (exit 1, nothing installed). Without ``-y`` dnf asks ``Is this ok [y/N]:``; when
stdin is not a terminal the lab answers N (``Operation aborted.``, exit 1), so a workflow
that forgot ``-y`` fails instead of hanging. ``--assumeno`` always aborts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opsrunner_lab.tools.common import ToolError
from opsrunner_lab.tools.dnf_commands import COMMANDS, DnfOptions
from opsrunner_lab.tools.dnf_output import Output
from opsrunner_lab.tools.lab_host import tool_host
from opsrunner_lab.tools.rpmdb import RpmDb, locked

ALIASES = {"install": "install", "in": "install", "remove": "remove", "erase": "remove",
           "rm": "remove", "list": "list"}
FLAGS = {"-y": "assumeyes", "--assumeyes": "assumeyes", "--assumeno": "assumeno",
         "-q": "quiet", "--quiet": "quiet", "--installed": "installed",
         "--available": "available", "--all": "all"}
IGNORED = ("-C", "--cacheonly", "--nogpgcheck", "--refresh", "--best", "--nobest",
           "--allowerasing", "--noplugins")
IGNORED_WITH_VALUE = ("--enablerepo", "--disablerepo", "--repo", "--setopt", "--releasever")
HELP = """usage: {prog} [options] COMMAND

List of Main Commands:

install                   install a package or packages on your system
list                      list a package or groups of packages
remove                    remove a package or packages from your system
"""


class CommandLineError(ToolError):
    """dnf's ``Command line error: ...`` (usage on stderr, exit 1)."""


def parse_args(args: list[str]) -> DnfOptions:
    """Options anywhere on the line, as dnf reads them; the first other word is the command."""
    options = DnfOptions()
    words = iter(args)
    for word in words:
        name = word.split("=", 1)[0]
        if word == "--":
            options.args += list(words)
        elif word in FLAGS:
            options.flags.add(FLAGS[word])
        elif word in ("-h", "--help"):
            options.flags.add("help")
        elif word in IGNORED or (name in IGNORED_WITH_VALUE and "=" in word):
            continue
        elif name in IGNORED_WITH_VALUE:
            next(words, None)
        elif len(word) > 2 and word[0] == "-" and word[1] != "-" and set(word[1:]) <= set("yqC"):
            options.flags.update(FLAGS.get(f"-{letter}", "cacheonly") for letter in word[1:])
        elif word.startswith("-") and word != "-":
            raise CommandLineError(f"unrecognized arguments: {word}")
        elif not options.command:
            options.command = word
        else:
            options.args.append(word)
    return options


def main(script: str, args: list[str]) -> int:
    """Run ``dnf`` (or ``yum``: the name the script was called by) with ``args``."""
    prog = Path(script).name
    try:
        options = parse_args(args)
    except CommandLineError as exc:
        print(HELP.format(prog=prog).splitlines()[0], file=sys.stderr)
        print(f"Command line error: {exc}", file=sys.stderr)
        return 1
    if "help" in options.flags or not options.command:
        asked = "help" in options.flags
        print(HELP.format(prog=prog), end="", file=sys.stdout if asked else sys.stderr)
        return 0 if asked else 1
    if options.command not in ALIASES:
        print(f"No such command: {options.command}. Please use /usr/bin/{prog} --help\n"
              f"It could be a DNF plugin command, try: \"{prog} install "
              f"'dnf-command({options.command})'\"", file=sys.stderr)
        return 1
    command = ALIASES[options.command]
    if command != "list" and not options.args:
        print(f"usage: {prog} {command} [-y] PACKAGE [PACKAGE ...]\n{prog} {command}: error: "
              f"the following arguments are required: PACKAGE", file=sys.stderr)
        return 1
    out = Output("quiet" in options.flags)
    try:
        host = tool_host(script)
        with locked(host.sysroot):
            return COMMANDS[command](host, RpmDb.load(host.sysroot), options, out)
    except ToolError as exc:
        out.error(f"Error: {exc}")
        return 1
