"""validate -i and run warn, at file:line:column, of a secret a template changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

Cli = Callable[..., tuple[int, str, str]]
WORKFLOW = """
    name: t
    steps:
      - name: s
        task: command
        with: {cmd: "echo {{ tok | upper }} {{ tok }}"}
"""


@pytest.fixture
def secret_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPS_TEST_TOK", "s3cret-value")
    folder = tmp_path / "inventory"
    folder.mkdir()
    (folder / "hosts.yaml").write_text(yaml.safe_dump({"h1": {
        "hostname": "localhost", "connection": "local",
        "data": {"sysroot": str(tmp_path), "tok": {"secret_env": "OPS_TEST_TOK"}}}}))
    return folder


def test_validate_warns(cli: Cli, write_workflow: Callable[..., Path],
                        secret_inventory: Path) -> None:
    workflow = write_workflow(WORKFLOW)
    code, out, err = cli("validate", str(workflow), "-i", str(secret_inventory))
    assert code == 0, err
    assert err.startswith(f"{workflow}:6:17: warning: the secret 'tok' is changed by the filter "
                          f"'upper' before it reaches parameter 'cmd'")
    assert "s3cret" not in err + out


def test_without_a_change_there_is_no_warning(cli: Cli, write_workflow: Callable[..., Path],
                                              secret_inventory: Path) -> None:
    workflow = write_workflow(WORKFLOW.replace("tok | upper", "tok"))
    code, _, err = cli("validate", str(workflow), "-i", str(secret_inventory))
    assert code == 0 and "warning" not in err


def test_run_warns_and_reports_it(run_json: Callable[..., tuple[int, dict[str, Any]]],
                                  write_workflow: Callable[..., Path],
                                  secret_inventory: Path) -> None:
    code, report = run_json(write_workflow(WORKFLOW), secret_inventory)
    assert code == 0
    assert any("warning: the secret 'tok' is changed by the filter 'upper'" in note
               for note in report["notes"])
