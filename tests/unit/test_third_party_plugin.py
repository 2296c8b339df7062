"""The plugin author's page (the docstring of opsrunner.hookspecs) is true: its example plugin,
taken from the page alone, installs with pip, is listed, runs in a workflow (idempotent, check
mode changes nothing), and its own tests pass with opsrunner.testing."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

import opsrunner.hookspecs
from opsrunner.testing import tree_state

PLUGIN_FILES = ("opsrunner_motd.py", "pyproject.toml", "tests/test_motd.py")
_CAPTION = re.compile(r"^``(?P<file>[\w./-]+)``.*::$")


def page_files(doc: str) -> dict[str, str]:
    """The literal blocks of ``doc`` introduced by a line starting with a file name in double
    backquotes and ending with ``::``, by file name, dedented."""
    files: dict[str, str] = {}
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        caption = _CAPTION.match(line)
        if caption is None:
            continue
        body: list[str] = []
        for text in lines[i + 1:]:
            if text.strip() and not text.startswith(" "):
                break
            body.append(text)
        files[caption["file"]] = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
    return files


PAGE = page_files(opsrunner.hookspecs.__doc__ or "")


@dataclass(frozen=True)
class Installed:
    """The example distribution: its source folder and the ``--target`` it is installed in."""

    source: Path
    site: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(self.site), *filter(None, [os.environ.get("PYTHONPATH")])])}

    def opsrunner(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "opsrunner.cli", *args], cwd=cwd,
                              env=self.env(), capture_output=True, text=True, timeout=60)


def builds_without_isolation() -> bool:
    """setuptools builds wheels alone from 70.1; before that it needs the ``wheel`` package."""
    try:
        release = tuple(int(part) for part in version("setuptools").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return release >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("motd")
    source, site = root / "opsrunner-motd", root / "site"
    for name in PLUGIN_FILES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(PAGE[name])
    # Without the wheel package, an old setuptools cannot build in place: pip then builds in
    # an isolated environment, with a setuptools from the configured index.
    isolation = ["--no-build-isolation", "--no-index"] if builds_without_isolation() else []
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--disable-pip-version-check", *isolation, "--target", str(site),
                          str(source)], capture_output=True, text=True, timeout=120)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return Installed(source, site)


def test_the_page_holds_the_plugin_its_project_file_tests_and_a_workflow() -> None:
    assert set(PAGE) == {*PLUGIN_FILES, "motd.yml"}
    project = tomllib.loads(PAGE["pyproject.toml"])["project"]
    assert project["entry-points"]["opsrunner"] == {"motd": "opsrunner_motd"}
    assert "import shlex" in PAGE["opsrunner_motd.py"]


def test_opsrunner_plugins_lists_the_installed_task(installed: Installed, tmp_path: Path) -> None:
    listed = installed.opsrunner("plugins", "--output", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    motd = json.loads(listed.stdout)["motd"]
    assert motd["plugin"] == "motd" and motd["doc"].startswith("Make the message-of-the-day")
    params = motd["params"]
    assert list(params) == ["text", "path", "keep_original"]
    assert (params["text"]["type"], params["text"]["required"]) == ("str", True)
    assert (params["keep_original"]["type"], params["keep_original"]["default"]) == ("bool", "True")
    shown = installed.opsrunner("plugins", cwd=tmp_path)
    assert shown.returncode == 0 and "motd" in shown.stdout and "keep_original" in shown.stdout


def test_the_workflow_writes_once_and_check_mode_changes_nothing(
        installed: Installed, local_inventory: Callable[..., Path], tmp_path: Path) -> None:
    inventory = local_inventory(("web1",))
    etc = tmp_path / "roots/web1/etc"
    etc.mkdir()
    (etc / "motd").write_text("Welcome\n")
    (tmp_path / "motd.yml").write_text(PAGE["motd.yml"])

    def run(*extra: str) -> dict[str, Any]:
        done = installed.opsrunner("run", "motd.yml", "-i", str(inventory), "--output", "json",
                                   "--state-dir", str(tmp_path / "state"), *extra,
                                   cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        step: dict[str, Any] = json.loads(done.stdout)["hosts"]["web1"]["steps"][0]
        return step

    before = tree_state(tmp_path / "roots")
    assert run("--check")["msg"] == "would write /etc/motd"
    assert tree_state(tmp_path / "roots") == before

    first = run()
    assert (first["status"], first["msg"]) == ("changed", "wrote /etc/motd")
    text = "web1: maintenance tonight from 22:00 to 23:00 UTC.\n"
    assert (etc / "motd").read_text() == text and (etc / "motd.orig").read_text() == "Welcome\n"

    written = tree_state(tmp_path / "roots")
    again = run()
    assert (again["status"], again["msg"]) == ("ok", "/etc/motd is up to date")
    assert run("--check")["status"] == "ok"
    assert tree_state(tmp_path / "roots") == written


def test_the_plugin_module_alone_loads_from_a_plugin_folder(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "opsrunner_motd.py").write_text(PAGE["opsrunner_motd.py"])
    listed = subprocess.run([sys.executable, "-m", "opsrunner.cli", "plugins", "--plugin-dir",
                             str(folder), "--output", "json"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["motd"]["plugin"] == "opsrunner_motd"


def test_the_plugin_tests_pass_with_opsrunner_testing(installed: Installed) -> None:
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests"], cwd=installed.source, env=installed.env(),
                           capture_output=True, text=True, timeout=120)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout
