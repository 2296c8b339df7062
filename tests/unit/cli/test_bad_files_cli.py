"""Bad files given to the CLI: special files, huge files, deep nesting, bad tag values and
``-e @FILE`` problems are one located line and exit code 1, never a traceback or a hang."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.deadline import deadline

Cli = Callable[..., tuple[int, str, str]]
WORKFLOW = "name: ok\nsteps:\n  - name: one\n    task: command\n    with: {cmd: 'true'}\n"


def refused(cli: Cli, *args: str) -> str:
    """Run the CLI in-process; it must exit 1 with one error line and no traceback."""
    with deadline(20):
        code, out, err = cli(*args)
    assert code == 1, (out, err)
    assert "Traceback" not in out + err
    assert err.startswith("error: "), err
    return err.strip()


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    path = tmp_path / "ok.yml"
    path.write_text(WORKFLOW)
    return path


def test_a_fifo_workflow_is_refused_without_hanging(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "wf.yml"
    os.mkfifo(fifo)
    assert refused(cli, "validate", str(fifo)) == (
        f"error: {fifo}: workflow is not a regular file (a FIFO)")


def test_the_real_cli_refuses_a_fifo_workflow(tmp_path: Path) -> None:
    fifo = tmp_path / "wf.yml"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "opsrunner.cli", "validate", str(fifo)],
                          capture_output=True, text=True, timeout=60)  # timeout: safety net
    assert done.returncode == 1
    assert done.stderr == f"error: {fifo}: workflow is not a regular file (a FIFO)\n"
    assert done.stdout == ""


def test_dev_zero_as_the_workflow_is_refused(cli: Cli) -> None:
    assert refused(cli, "validate", "/dev/zero") == (
        "error: /dev/zero: workflow is not a regular file (a character device)")


def test_a_50_mib_workflow_is_refused_at_once(cli: Cli, tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    with big.open("wb") as fh:
        fh.write(WORKFLOW.encode())
        fh.truncate(50 * 2**20)
    assert refused(cli, "validate", str(big)) == (
        f"error: {big}: workflow is 50 MiB; workflows are limited to 8 MiB")


@pytest.mark.parametrize("opener,closer", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_in_a_workflow_is_located(cli: Cli, tmp_path: Path, opener: str,
                                                closer: str) -> None:
    path = tmp_path / "deep.yml"
    path.write_text(WORKFLOW + "vars:\n  x: " + opener * 500 + "1" + closer * 500 + "\n")
    message = refused(cli, "validate", str(path))
    assert message.startswith(f"error: {path}:7:")
    assert message.endswith("lists and mappings nested more than 100 levels deep "
                            "(the limit is 100)")


@pytest.mark.parametrize(("value", "problem"), [
    ("!!int x", "'x' is not an integer (!!int)"),
    ("!!float x", "'x' is not a number (!!float)"),
    ("!!bool maybe", "'maybe' is not a boolean (!!bool takes: true, false, yes, no, on, off)"),
    ("!!timestamp soon", "soon is not a date; expected YYYY-MM-DD (or a date and time)"),
])
def test_a_bad_core_tag_value_in_a_workflow_is_located(cli: Cli, tmp_path: Path, value: str,
                                                       problem: str) -> None:
    path = tmp_path / "tag.yml"
    path.write_text(WORKFLOW + f"vars:\n  x: {value}\n")
    assert refused(cli, "validate", str(path)) == f"error: {path}:7:6: {problem}"


def extra_file(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "vars.yml"
    path.write_bytes(content)
    return path


def test_extra_vars_file_not_utf8_names_line_column_and_offset(cli: Cli, workflow: Path,
                                                                tmp_path: Path) -> None:
    path = extra_file(tmp_path, b"a: 1\nb: caf\xe9\n")
    assert refused(cli, "validate", str(workflow), "-e", f"@{path}") == (
        f"error: {path}:2:7: extra-vars file is not valid UTF-8 (byte 0xe9 at offset 11)")


def test_extra_vars_billion_laughs_is_refused_quickly(cli: Cli, workflow: Path,
                                                      tmp_path: Path) -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]"
              for i in range(8)]
    path = extra_file(tmp_path, ("\n".join(lines) + "\n").encode())
    message = refused(cli, "validate", str(workflow), "-e", f"@{path}")
    assert message.startswith(f"error: {path}:")
    assert message.endswith("document too large (more than 200000 values after aliases)")


@pytest.mark.parametrize(("content", "problem"), [
    (b"a: !!bool maybe\n",
     "1:4: 'maybe' is not a boolean (!!bool takes: true, false, yes, no, on, off)"),
    (b"a: !!int x\n", "1:4: 'x' is not an integer (!!int)"),
    (b"a: " + b"[" * 500 + b"]" * 500 + b"\n",
     "1:103: lists and mappings nested more than 100 levels deep (the limit is 100)"),
    (b"a: [1\n", "2:1: YAML syntax error: expected ',' or ']', but got '<stream end>' "
                 "(while parsing a flow sequence started at line 1, column 4)"),
    (b"- a\n", "1:1: an extra-vars file (-e @FILE) holds a mapping of variable names to "
               "values, got a list"),
    (b"ok: 1\na-b: 2\n", "2:1: 'a-b' is not a variable name (letters, digits and _, not "
                         "starting with a digit)"),
])
def test_extra_vars_file_problems_are_located(cli: Cli, workflow: Path, tmp_path: Path,
                                              content: bytes, problem: str) -> None:
    path = extra_file(tmp_path, content)
    assert refused(cli, "validate", str(workflow), "-e", f"@{path}") == (
        f"error: {path}:{problem}")


def test_extra_vars_fifo_is_refused_without_hanging(cli: Cli, workflow: Path,
                                                    tmp_path: Path) -> None:
    fifo = tmp_path / "vars.yml"
    os.mkfifo(fifo)
    assert refused(cli, "validate", str(workflow), "-e", f"@{fifo}") == (
        f"error: {fifo}: extra-vars file is not a regular file (a FIFO)")


def test_extra_vars_missing_or_empty_name(cli: Cli, workflow: Path, tmp_path: Path) -> None:
    assert refused(cli, "validate", str(workflow), "-e", f"@{tmp_path / 'nope.yml'}") == (
        f"error: {tmp_path / 'nope.yml'}: cannot read extra-vars file: No such file or directory")
    assert refused(cli, "validate", str(workflow), "-e", "@") == (
        "error: -e '@': give the file after @ (-e @vars.yml)")


def test_an_extra_vars_file_still_loads(cli: Cli, workflow: Path, tmp_path: Path) -> None:
    path = extra_file(tmp_path, b"x: 1\nempty:\n")
    code, _out, err = cli("validate", str(workflow), "-e", f"@{path}")
    assert code == 0, err


def test_a_fifo_defaults_yaml_in_the_inventory_is_refused(cli: Cli, workflow: Path,
                                                          tmp_path: Path) -> None:
    folder = tmp_path / "inv"
    folder.mkdir()
    (folder / "hosts.yaml").write_text("h1: {hostname: localhost, connection: local}\n")
    os.mkfifo(folder / "defaults.yaml")
    assert refused(cli, "inventory", "-i", str(folder)) == (
        f"error: {folder / 'defaults.yaml'}: inventory file is not a regular file (a FIFO)")


def test_a_fifo_env_file_is_refused_without_blocking(tmp_path: Path) -> None:
    from opsrunner.cli.schedule import _read_env_file
    from opsrunner.errors import UsageError

    fifo = tmp_path / "env"
    os.mkfifo(fifo, 0o600)
    with deadline(), pytest.raises(UsageError) as caught:
        _read_env_file(fifo)
    assert str(caught.value) == f"--env-file {fifo} is not a regular file (a FIFO)"


def test_the_journal_digest_of_a_workflow_replaced_by_a_fifo_is_empty(tmp_path: Path) -> None:
    from opsrunner.registry import Registry
    from opsrunner.workflow.digest import workflow_record
    from opsrunner.workflow.load import load_workflow

    path = tmp_path / "wf.yml"
    path.write_text("name: ok\nsteps:\n  - name: one\n    task: t\n")
    registry = Registry()
    registry.add_task(lambda ctx: None, name="t")
    workflow = load_workflow(path, registry)
    assert workflow_record(workflow)["digest"].startswith("sha256:")
    path.unlink()
    os.mkfifo(path)
    with deadline():
        assert workflow_record(workflow)["digest"] == ""


def test_a_fifo_in_a_plugin_folder_is_refused_without_blocking(cli: Cli, workflow: Path,
                                                               tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    os.mkfifo(folder / "evil.py")
    assert refused(cli, "validate", str(workflow), "--plugin-dir", str(folder)) == (
        f"error: plugin file {folder / 'evil.py'} is not a regular file; the *.py files of a "
        "plugin folder are Python source files")
