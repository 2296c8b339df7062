"""Packaging: every package of the source tree is installed, first-party plugins by entry point."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("opsrunner", "opsrunner_plugins", "opsrunner_lab")


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_folder_with_modules_is_a_package_that_setuptools_finds():
    include = _config()["tool"]["setuptools"]["packages"]["find"]["include"]
    found = set(find_packages(str(ROOT), include=include))
    folders = {".".join(p.parent.relative_to(ROOT).parts)
               for top in PACKAGES for p in (ROOT / top).rglob("*.py")}
    assert folders - found == set(), "a folder of modules without __init__.py is not installed"
    assert {p for p in found if not p.startswith(PACKAGES)} == set()


def test_first_party_plugins_are_entry_points_of_the_opsrunner_group():
    entry_points = _config()["project"]["entry-points"]["opsrunner"]
    top = ROOT / "opsrunner_plugins"
    capabilities = {p.stem for p in top.glob("*.py") if not p.stem.startswith("_")}
    capabilities |= {p.parent.name for p in top.glob("*/__init__.py")}
    values = {v for v in entry_points.values() if v.startswith("opsrunner_plugins.")}
    assert {v.split(".")[1] for v in values} == capabilities
    for value in values:
        importlib.import_module(value)


def test_the_lab_dependencies_are_an_extra_not_the_core():
    project = _config()["project"]
    core = " ".join(project["dependencies"])
    assert "ovirt-imageio" not in core and "webob" not in core
    assert any(d.startswith("ovirt-imageio") for d in project["optional-dependencies"]["lab"])
