"""Packaging: every package of the source tree is installed, first-party plugins by entry point."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "opsrunner").rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages"


def test_first_party_plugins_are_entry_points_of_the_opsrunner_group():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entry_points = config["project"]["entry-points"]["opsrunner"]
    modules = {p.stem for p in (ROOT / "plugins").glob("*.py") if not p.stem.startswith("_")}
    assert {v.split(".")[-1] for v in entry_points.values() if v.startswith("opsrunner_plugins")} \
        == modules
    assert config["tool"]["setuptools"]["package-dir"]["opsrunner_plugins"] == "plugins"
