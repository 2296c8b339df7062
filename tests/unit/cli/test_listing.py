"""``opsrunner plugins`` as people read it: prose, then a parameter table with descriptions."""

from __future__ import annotations

from rich.console import Console

from opsrunner import Result, Task
from opsrunner.cli.listing import print_tasks, readable
from opsrunner.registry import Registry

LONG = "/usr/lib64/python3.6/site-packages/ovirt_imageio/_internal/http.py"


def sample(task: Task, *, boot: list[str], path: str = LONG, quiet: bool = False) -> Result:
    """Set the boot order of ``vm``, e.g. [cdrom, hd].

    :param boot: boot devices in order, e.g. [cdrom, hd]; see
        :mod:`opsrunner.engine`.
    :param path: the file patched.
    :param quiet:

    A second paragraph that is long enough to be wrapped by the console at eighty columns wide.
    """
    return Result()


def listing(width: int = 80) -> list[str]:
    registry = Registry()
    registry.current_plugin = "demo"
    registry.add_task(sample, name="api.sample", aliases=("engine.sample",))
    console = Console(width=width, record=True, color_system=None)
    print_tasks(registry, console)
    return console.export_text().splitlines()


def test_prose_first_then_a_table_of_name_type_default_description():
    lines = listing()
    assert lines[0].startswith("api.sample  (demo) ─") and len(lines[0]) == 80
    assert [line.rstrip() for line in lines[1:]] == [
        "Set the boot order of vm, e.g. [cdrom, hd].",
        "",
        "A second paragraph that is long enough to be wrapped by the console at eighty",
        "columns wide.",
        "parameter  type / default  description",
        "boot       list[str]       boot devices in order, e.g. [cdrom, hd]; see",
        "           required        opsrunner.engine.",
        "path       str             the file patched.",
        "                           default:",
        "                           '/usr/lib64/python3.6/site-packages/ovirt_imageio/_in",
        "                           ternal/http.py'",
        "quiet      bool",
        "           = False",
        ""]
    assert all(len(line) <= 80 for line in lines)


def test_literals_and_roles_lose_their_markup():
    text = readable("run ``sh -c``, see :mod:`opsrunner.engine` or `x`; [bold]not markup[/]")
    assert text.plain == "run sh -c, see opsrunner.engine or x; [bold]not markup[/]"
    assert [text.plain[s.start:s.end] for s in text.spans] == ["sh -c", "opsrunner.engine", "x"]
