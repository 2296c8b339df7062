"""Shared helpers for unit tests: tiny inventories of ``local`` hosts and workflow files."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from opsrunner.cli import main


@pytest.fixture
def local_inventory(tmp_path: Path) -> Callable[..., Path]:
    """Write a SimpleInventory of ``local`` hosts, each with its own sysroot folder."""

    def make(names: tuple[str, ...] = ("h1", "h2", "h3"), **data: Any) -> Path:
        folder = tmp_path / "inventory"
        folder.mkdir(exist_ok=True)
        hosts = {}
        for name in names:
            root = tmp_path / "roots" / name
            root.mkdir(parents=True, exist_ok=True)
            hosts[name] = {"hostname": "localhost", "connection": "local",
                           "groups": ["all_local"], "data": {"sysroot": str(root), **data}}
        (folder / "hosts.yaml").write_text(yaml.safe_dump(hosts))
        (folder / "groups.yaml").write_text(yaml.safe_dump({"all_local": {}}))
        return folder

    return make


@pytest.fixture
def write_workflow(tmp_path: Path) -> Callable[[str], Path]:
    """Write a workflow file from dedented YAML text."""

    def make(text: str, name: str = "wf.yml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return make


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., tuple[int, str, str]]:
    """Invoke the CLI in-process; returns (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        runner = CliRunner()
        result = runner.invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def run_json(cli: Callable[..., tuple[int, str, str]], tmp_path: Path
             ) -> Callable[..., tuple[int, dict[str, Any]]]:
    """``opsrunner run --output json`` in-process; returns (exit code, parsed JSON)."""

    def invoke(workflow: Path, inventory: Path, *extra: str) -> tuple[int, dict[str, Any]]:
        code, out, err = cli("run", str(workflow), "-i", str(inventory), "--output", "json",
                             "--state-dir", str(tmp_path / "state"), *extra)
        assert out, f"no JSON output; stderr: {err}"
        return code, json.loads(out)

    return invoke
