"""The argv-safe wrapper, run by the local ``sh`` exactly as a remote shell would run it."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from opsrunner.connection import remote_shell


def run_wrapped(command: str, env: dict[str, str] | None = None,
                stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Feed the preamble then ``stdin`` to ``sh -c <wrapped line>``, like a connection does."""
    line = remote_shell.wrap(command, env=env)
    payload = (remote_shell.env_preamble(env) if env else b"") + stdin
    return subprocess.run(["sh", "-c", line], input=payload, capture_output=True, check=False,
                          timeout=30)


NASTY_VALUES = [
    "plain",
    "",
    "it's",
    'say "hi"',
    "two\nlines\n",
    "$(touch {marker})",
    "`touch {marker}`",
    "${{HOME}} $HOME $$ ;|&<> * ?",
    "back\\slash\\",
    "'; touch {marker}; '",
    "ünïcødé ✓",
    "trailing space ",
]


@pytest.mark.parametrize("template", NASTY_VALUES)
def test_env_values_arrive_intact_and_are_never_evaluated(template: str,
                                                          tmp_path: Path) -> None:
    marker = tmp_path / "evaluated"
    value = template.format(marker=marker)
    done = run_wrapped('printf %s "$VALUE"', env={"VALUE": value})
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == value
    assert not marker.exists()


def test_several_variables_arrive_together() -> None:
    done = run_wrapped('printf "%s|%s" "$A" "$B_2"', env={"A": "1 2", "B_2": "x\ny"})
    assert done.stdout == b"1 2|x\ny"


def test_env_values_never_appear_in_the_wrapped_line() -> None:
    line = remote_shell.wrap("true", env={"SECRET": "hunter2-value"})
    assert "hunter2" not in line
    assert base64.b64encode(b"hunter2").decode() not in line


def test_stdin_after_the_preamble_reaches_the_command() -> None:
    data = bytes(range(256)) * 100 + b"no final newline"
    done = run_wrapped("cat", env={"X": "1"}, stdin=data)
    assert done.stdout == data


def test_the_preamble_is_one_base64_line() -> None:
    preamble = remote_shell.env_preamble({"A": "x\ny", "B": "'"})
    assert preamble.endswith(b"\n") and preamble.count(b"\n") == 1
    script = base64.b64decode(preamble).decode()
    assert script == "export A='x\ny'\nexport B=''\"'\"''\n"


def test_the_wrapper_fails_with_97_without_a_preamble() -> None:
    line = remote_shell.wrap("echo ran", env={"A": "1"})
    done = subprocess.run(["sh", "-c", line], input=b"", capture_output=True, check=False)
    assert (done.returncode, done.stdout) == (97, b"")


def test_the_command_keeps_its_exit_status_and_stderr() -> None:
    done = run_wrapped("echo oops >&2; exit 5", env={"A": "1"})
    assert (done.returncode, done.stderr) == (5, b"oops\n")


def test_without_env_the_command_runs_in_plain_sh() -> None:
    assert remote_shell.wrap("echo 'hi'") == "sh -c 'echo '\"'\"'hi'\"'\"''"
    assert run_wrapped("echo hi; cat", stdin=b"in").stdout == b"hi\nin"


@pytest.mark.parametrize("name", ["", "1A", "A-B", "A B", "A=B", "A;id", "Ä"])
def test_invalid_env_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=f"invalid environment variable name {name!r}"):
        remote_shell.env_preamble({name: "x"})
    with pytest.raises(ValueError):
        remote_shell.check_env_names({name: "x"})


def test_valid_env_names_are_accepted() -> None:
    remote_shell.check_env_names({"A": "", "_x": "", "PG_PASSWORD_2": ""})


def test_sudo_flags() -> None:
    assert remote_shell.wrap("id", sudo=True) == "sudo -n -- sh -c id"
    assert remote_shell.wrap("id", sudo=False) == "sh -c id"
