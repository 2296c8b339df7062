"""The public facade: every name resolves lazily, and the plugins import nothing else of the core."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import opsrunner

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", opsrunner.__all__)
def test_every_public_name_resolves(name):
    assert getattr(opsrunner, name) is not None


def test_the_version_comes_from_the_package_metadata():
    assert opsrunner.__version__ == version("opsrunner")


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Regsitry'"):
        _ = opsrunner.Regsitry  # type: ignore[attr-defined]


def test_importing_the_facade_loads_no_submodule():
    code = "import sys, opsrunner; print(sorted(m for m in sys.modules if m.startswith('opsrunner')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['opsrunner']"


def _internal_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("opsrunner."):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module}")
        elif isinstance(node, ast.Import):
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: import {a.name}"
                      for a in node.names if a.name.startswith("opsrunner.")]
    return found


def test_plugins_and_workflow_checks_import_only_the_facade():
    files = [*(ROOT / "opsrunner_plugins").rglob("*.py"), *(ROOT / "workflows").rglob("*.py")]
    assert [line for f in files for line in _internal_imports(f)] == []
