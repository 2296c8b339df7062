"""pytest helpers for testing task plugins, loaded by pytest through the ``pytest11`` entry point.

Installing opsrunner makes these available in every pytest session of that environment, with
no import or ``conftest.py`` needed (``pytest -p no:opsrunner`` turns them off):

* fixture ``make_task``: ``make_task(check=False, vars=None, confirmed=False)`` returns a
  :class:`opsrunner.Task` for a ``local`` host (commands run on this machine) whose sysroot
  is the test's ``tmp_path``: ``task.path("/etc/motd")`` is ``tmp_path / "etc/motd"``.
  Annotate it with :class:`MakeTask`.
* :func:`tree_state`: a file tree's state, to assert that check mode (or a second run)
  changed nothing: ``before = tree_state(tmp_path)`` ... ``assert tree_state(tmp_path) == before``.

Example, for a task ``motd(task, *, text)`` that writes ``/etc/motd``::

    from pathlib import Path

    from opsrunner.testing import MakeTask, tree_state
    from opsrunner_motd import motd

    def test_check_mode_changes_nothing(make_task: MakeTask, tmp_path: Path) -> None:
        (tmp_path / "etc").mkdir()
        before = tree_state(tmp_path)
        assert motd(make_task(check=True), text="hello").changed
        assert tree_state(tmp_path) == before

This module imports only the standard library and pytest when pytest loads it; the task
machinery loads on the first ``make_task`` call.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from opsrunner.task import Task

__all__ = ["Entry", "MakeTask", "TreeState", "make_task", "tree_state"]

Entry = tuple[int, int, int, bytes | str | None]
"""One path of a :data:`TreeState`: ``(st_mode, uid, gid, content)``; ``content`` is a regular
file's bytes, a symbolic link's target, ``None`` for anything else."""

TreeState = dict[str, Entry]
"""Every path under a root (``"."`` is the root itself), POSIX-relative, to its :data:`Entry`."""


class MakeTask(Protocol):
    """The type of the ``make_task`` fixture."""

    def __call__(self, *, check: bool = False, vars: Mapping[str, Any] | None = None,
                 confirmed: bool = False) -> Task:
        """A new Task for the test's local host.

        :param check: check mode (``--check``).
        :param vars: the host's variables at this step (``task.vars``).
        :param confirmed: destructive changes confirmed (``--yes``).
        """
        ...


@pytest.fixture
def make_task(tmp_path: Path) -> MakeTask:
    """Tasks for one ``local`` host named ``h`` whose sysroot is ``tmp_path``.

    Each call returns a new Task (no deadline, no engine sessions); its commands run on this
    machine through ``sh -c`` and its ``sudo`` is off.
    """

    def make(*, check: bool = False, vars: Mapping[str, Any] | None = None,
             confirmed: bool = False) -> Task:
        from opsrunner.connection.local import LocalConnection
        from opsrunner.host import Host
        from opsrunner.task import Task

        host = Host(name="h", hostname="localhost", connection="local",
                    data={"sysroot": str(tmp_path)})
        return Task(host, lambda: LocalConnection(host), check=check, vars=dict(vars or {}),
                    confirmed=confirmed)

    return make


OWN_STATE = ("run/opsrunner",)
"""What a run itself leaves in a sysroot: the host lock's folder (``/run/opsrunner``, on a
volatile file system on a real host), left out by :func:`tree_state`."""


def tree_state(root: Path, *, skip: tuple[str, ...] = OWN_STATE) -> TreeState:
    """Every entry under ``root``, ``root`` included, with its mode, owner, group and content,
    but the entries ``skip`` names (relative paths: the entry and everything below it; by
    default opsrunner's own lock folder).

    Links are described, not followed. Equal states mean nothing under ``root`` was created,
    removed, rewritten, re-owned or chmod-ed (times are not compared).
    """
    state: TreeState = {}
    for path in [root, *sorted(root.rglob("*"))]:
        relative = path.relative_to(root).as_posix()
        if any(relative == s or relative.startswith(s + "/") for s in skip):
            continue
        info = path.lstat()
        content: bytes | str | None = None
        if stat.S_ISREG(info.st_mode):
            content = path.read_bytes()
        elif stat.S_ISLNK(info.st_mode):
            content = os.readlink(path)
        state[path.relative_to(root).as_posix()] = (info.st_mode, info.st_uid, info.st_gid,
                                                    content)
    return state
