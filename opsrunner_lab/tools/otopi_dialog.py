"""otopi's console and stages, as ``engine-setup`` and ``engine-cleanup`` show them.

Lines are ``[ INFO  ] ...``, ``[WARNING] ...``, ``[ ERROR ] ...`` and notes indented by ten
spaces, on stdout and (timestamped) in the tool's log. ``run_stages`` runs the stages in
otopi's order; an error in one prints ``[ ERROR ] Failed to execute stage '<stage>': <why>``,
skips to the clean-up stages and ends ``[ ERROR ] Execution of <action> failed`` (exit 1);
otherwise ``[ INFO  ] Execution of <action> completed successfully`` (exit 0).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from opsrunner.errors import OpsrunnerError
from opsrunner_lab.tools.otopi_env import Answer

NOTE_INDENT = " " * 10
OTOPI_VERSION = "otopi-1.10.4 (otopi-1.10.4-1.el8)"
# (step id, stage title) in otopi's order; the clean-up stages run whatever happened.
STAGES = (
    ("init", "Initializing"), ("setup", "Environment setup"),
    ("packages", "Environment packages setup"), ("programs", "Programs detection"),
    ("customization", "Environment customization"), ("validation", "Setup validation"),
    ("transaction", "Transaction setup"), ("early_misc", "Misc configuration (early)"),
    ("install", "Package installation"), ("misc", "Misc configuration"),
    ("commit", "Transaction commit"), ("closeup", "Closing up"),
)
FINAL_STAGES = (("cleanup", "Clean up"), ("pre_terminate", "Pre-termination"),
                ("terminate", "Termination"))


class StageError(OpsrunnerError):
    """A stage cannot go on; the message ends ``Failed to execute stage '...': <message>``."""


class Dialog:
    """The console of one run, mirrored into ``log``."""

    def __init__(self, log: Path) -> None:
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch(mode=0o600)

    def info(self, message: str) -> None:
        self._say(f"[ INFO  ] {message}")

    def warn(self, message: str) -> None:
        self._say(f"[WARNING] {message}")

    def error(self, message: str) -> None:
        self._say(f"[ ERROR ] {message}")

    def note(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._say(NOTE_INDENT + line)

    def debug(self, text: str) -> None:
        """Log only (e.g. a command's output)."""
        self._log(f"DEBUG {text}")

    def query_boolean(self, answers: Mapping[str, Answer], key: str, note: str,
                      words: tuple[str, str], default: bool) -> bool:
        """The answer to a yes/no question: from ``answers``, else the default under
        ``--accept-defaults``, else asked on a terminal. StageError when nobody can answer
        (stdin is not a terminal): the lab's tools never hang on a prompt."""
        value = answers.get(key)
        if isinstance(value, bool):
            return value
        if answers.get("DIALOG/autoAcceptDefault") is True:
            return default
        prompt = f"{note} ({words[0]}, {words[1]}) [{words[0] if default else words[1]}]: "
        if not sys.stdin.isatty():
            raise StageError(
                f"cannot ask '{prompt.strip()}': stdin is not a terminal and the lab's tools do "
                f"not prompt then; answer it non-interactively with "
                f"--otopi-environment=\"{key}=bool:True\" (or False), or an answer file "
                f"(--config-append=FILE with [environment:default] {key}=bool:True)")
        while True:
            reply = input(NOTE_INDENT + prompt).strip().lower() or \
                (words[0] if default else words[1]).lower()
            if reply in (words[0].lower(), words[1].lower()):
                self._log(f"answer {key}={reply}")
                return reply == words[0].lower()

    def _say(self, line: str) -> None:
        print(line, flush=True)
        self._log(line)

    def _log(self, text: str) -> None:
        with self.log.open("a") as out:
            out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")


def run_stages(dialog: Dialog, action: str, steps: Mapping[str, Callable[[], None]]) -> int:
    """Run ``steps`` (by step id) in stage order; 0 on success, 1 after an error."""
    failed = False
    for step, title in STAGES:
        dialog.info(f"Stage: {title}")
        try:
            if step in steps:
                steps[step]()
        except (OpsrunnerError, OSError) as exc:
            dialog.error(f"Failed to execute stage '{title}': {exc}")
            failed = True
            break
    for step, title in FINAL_STAGES:
        dialog.info(f"Stage: {title}")
        try:
            if step in steps:
                steps[step]()
        except (OpsrunnerError, OSError) as exc:
            dialog.error(f"Failed to execute stage '{title}': {exc}")
            failed = True
    if failed:
        dialog.error(f"Execution of {action} failed")
        return 1
    dialog.info(f"Execution of {action} completed successfully")
    return 0
