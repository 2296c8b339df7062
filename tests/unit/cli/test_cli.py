"""The command line: help, start-up weight, plugins listing, validate, inventory, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def test_help_does_not_import_heavy_libraries():
    code = textwrap.dedent("""
        import sys
        from click.testing import CliRunner
        from opsrunner.cli import main
        for args in (["--help"], ["run", "--help"], ["validate", "--help"]):
            r = CliRunner().invoke(main, args)
            assert r.exit_code == 0, r.output
        heavy = [m for m in ("paramiko", "ovirtsdk4", "jinja2", "testinfra", "pytest")
                 if m in sys.modules]
        print(",".join(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_help_documents_exit_codes(cli):
    code, out, _ = cli("--help")
    assert code == 0
    assert ("0 all hosts ok, 1 usage or input error, 2 some host failed, 3 outside the "
            "maintenance window (nothing changed), 4 some host deferred to the next window, "
            "130 interrupted") in " ".join(out.split())


def test_plugins_lists_generic_tasks_with_parameters(cli):
    code, out, _ = cli("plugins", "--output", "json")
    assert code == 0
    tasks = json.loads(out)
    for name in ("command", "copy", "template", "file", "lineinfile", "service", "wait_for",
                 "assert"):
        assert name in tasks, name
        assert tasks[name]["doc"], f"{name} has no docstring"
    assert set(tasks["command"]["params"]) >= {"cmd", "creates", "removes", "rc", "env"}
    assert tasks["command"]["params"]["cmd"]["required"] is True
    assert tasks["command"]["plugin"] == "command"
    assert tasks["command"]["params"]["env"]["description"] == (
        "environment variables for the command; the values never appear in any process's argv, "
        "so secrets belong here rather than in ``cmd``.")
    assert tasks["command"]["doc"].startswith("Run a shell command on the host")
    assert all(":param" not in task["doc"] for task in tasks.values())


def test_plugins_text_output_reads_in_80_columns(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = cli("plugins")
    assert code == 0
    assert "command" in out and "creates" in out and "list[int]" in out
    assert ":param" not in out and "``" not in out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    command = lines.index(next(line for line in lines if line.startswith("command  (command) ")))
    assert lines[command + 1] == "Run a shell command on the host (changed when it ran)."
    header = next(i for i in range(command, len(lines)) if lines[i].startswith("parameter "))
    assert lines[header].split() == ["parameter", "type", "/", "default", "description"]
    assert lines[header + 1].split() == ["cmd", "str", "the", "command", "line,", "run", "by",
                                         "sh", "-c", "on", "the", "host."]
    assert lines[header + 2].split() == ["required"]
    rc = next(line for line in lines[header:] if line.startswith("rc "))
    assert rc.split()[:2] == ["rc", "list[int]"]
    assert lines[lines.index(rc) + 1].split()[:2] == ["=", "[0]"]


def test_validate_ok_and_broken(cli, write_workflow, local_inventory):
    good = write_workflow("""
        name: good
        steps:
          - {name: s, task: command, with: {cmd: "echo {{ greeting }}"}}
    """, "good.yml")
    code, out, err = cli("validate", str(good), "-e", "greeting=hi")
    assert code == 0, err
    assert "ok" in out
    broken = write_workflow("""
        name: broken
        steps:
          - name: s
            task: comand
            with: {cmd: "true"}
    """, "broken.yml")
    code, out, err = cli("validate", str(broken))
    assert code == 1
    assert f"{broken}:5:" in err
    assert "did you mean 'command'" in err


def test_validate_with_inventory_finds_undefined_variable(cli, write_workflow, local_inventory):
    inv = local_inventory(("h1",), known_var="x")
    wf = write_workflow("""
        name: vars
        steps:
          - name: s
            task: command
            with: {cmd: "echo {{ known_var }} {{ unknown_var }}"}
    """)
    code, _, err = cli("validate", str(wf), "-i", str(inv))
    assert code == 1
    assert "unknown_var" in err and f"{wf}:" in err
    assert "undefined variable 'known_var'" not in err


def test_inventory_command_redacts_secrets(cli, local_inventory, monkeypatch):
    monkeypatch.setenv("OPSR_PW", "hunter2-long-secret")
    inv = local_inventory(("h1", "h2"), pw={"secret_env": "OPSR_PW"}, note="plain")
    code, out, err = cli("inventory", "-i", str(inv), "--limit", "h1", "--output", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == ["h1"]
    assert "hunter2-long-secret" not in out
    assert "plain" in out


def test_missing_workflow_file_is_usage_error(cli, local_inventory, tmp_path):
    code, _, err = cli("run", str(tmp_path / "nope.yml"), "-i", str(local_inventory()))
    assert code == 1
    assert "nope.yml" in err
    assert "Traceback" not in err


def test_missing_inventory_is_usage_error(cli, write_workflow, tmp_path):
    wf = write_workflow("""
        name: x
        steps: [{name: s, task: command, with: {cmd: "true"}}]
    """)
    code, _, err = cli("run", str(wf), "-i", str(tmp_path / "no-such-inventory"))
    assert code == 1
    assert "no-such-inventory" in err


def test_bad_extra_var(cli, write_workflow, local_inventory):
    wf = write_workflow("""
        name: x
        steps: [{name: s, task: command, with: {cmd: "true"}}]
    """)
    code, _, err = cli("run", str(wf), "-i", str(local_inventory()), "-e", "no-equals")
    assert code == 1
    assert "KEY=VALUE" in err


def test_click_usage_errors_exit_1_not_2(cli):
    code, _, err = cli("run", "--no-such-option")
    assert code == 1
    assert "No such option" in err


def test_run_without_inventory_or_lab_is_usage_error(cli, write_workflow, monkeypatch, tmp_path):
    monkeypatch.setenv("OPSRUNNER_LAB_DIR", str(tmp_path / "no-lab"))
    monkeypatch.delenv("OPSRUNNER_INVENTORY", raising=False)
    wf = write_workflow("""
        name: x
        steps: [{name: s, task: command, with: {cmd: "true"}}]
    """)
    code, _, err = cli("run", str(wf))
    assert code == 1
    assert "opsrunner lab up" in err
