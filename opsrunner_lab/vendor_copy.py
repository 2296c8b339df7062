"""Vendor Python code copied into a sysroot, and the environment that runs the copy.

Some engine services run Python files that OLVM procedures patch in place (the HSTS
procedure edits ``ovirt_imageio``, ``webob`` and the stdlib ``http`` package). The lab copies
those packages into the engine sysroot at their real paths and runs its servers with the copy
first on ``PYTHONPATH``, so an edit of the copy is what a service runs after a restart.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sysconfig
from collections.abc import Callable
from pathlib import Path

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.modules import dotted

_IGNORED = shutil.ignore_patterns("__pycache__")


def installed_package(name: str) -> Path:
    """The folder of the installed package ``name`` (``ovirt_imageio``), without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise LabServerError(f"the Python package {name!r} is not installed in this "
                             "environment; install opsrunner with its dependencies")
    return Path(next(iter(spec.submodule_search_locations)))


def stdlib_package(name: str) -> Path:
    """The folder of the running interpreter's standard library package ``name`` (``http``)."""
    return Path(sysconfig.get_paths()["stdlib"]) / name


def install_copy(source: Path, destination: Path, *, replace: bool = False) -> bool:
    """Copy the package folder ``source`` to ``destination``; True if copied.

    An existing ``destination`` (possibly patched) is kept unless ``replace`` is true, which
    restores the pristine copy as a package update does. The copy is made beside
    ``destination`` and renamed into place, so an interrupted copy never looks installed.
    ``__pycache__`` folders are not copied.
    """
    if destination.exists() and not replace:
        return False
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.new")
    previous = destination.with_name(f".{destination.name}.old")
    for leftover in (staging, previous):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(source, staging, ignore=_IGNORED, symlinks=True)
    if destination.exists():
        destination.rename(previous)
    staging.rename(destination)
    shutil.rmtree(previous, ignore_errors=True)
    return True


def require_copy(destination: Path, installer: Callable[..., object]) -> None:
    """LabServerError unless the vendor copy ``destination`` exists (the message names the
    function ``installer`` that makes it)."""
    if not destination.is_dir():
        raise LabServerError(f"{destination} is missing: install the vendor copy first "
                             f"({dotted(installer)}, run by `opsrunner lab up`)")


def copy_first_env(path: Path) -> dict[str, str]:
    """This process's environment with ``path`` first on ``PYTHONPATH``.

    Bytecode is not written, so the sysroot holds only the vendor sources and what runs is
    always compiled from them.
    """
    env = dict(os.environ)
    rest = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = f"{path}{os.pathsep}{rest}" if rest else str(path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
