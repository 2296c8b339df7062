"""Every import path the lab writes into a command, a tool script or a message names a module
(and function) that imports: a moved or renamed module fails here, not on a lab host."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.db_tools import ENTRY_POINTS
from opsrunner_lab.engine_api.unit import SERVER
from opsrunner_lab.engine_tools import ENGINE_TOOLS
from opsrunner_lab.host_tools import TOOLS
from opsrunner_lab.imageio import imageio_site_packages, prepare_imageio
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.manager import write_tools
from opsrunner_lab.modules import dotted, python_m, sibling
from opsrunner_lab.tools import tool_script
from opsrunner_lab.units import host_units

SCRIPTS = {**ENTRY_POINTS,
           **{f"usr/bin/{name}": fn for name, fn in ENGINE_TOOLS.items()},
           **{f"bin/{name}": fn for name, fn in TOOLS.items()}}


def resolve(path: str) -> object:
    """The object a dotted path names: its longest importable module prefix, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(path)


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    return LabLayout(tmp_path / "lab", 2, "127.0.99.", ["ol8-vm1"])


def test_the_helpers_derive_paths_from_names() -> None:
    assert dotted(tool_script) == "opsrunner_lab.tools.tool_script"
    assert sibling("opsrunner_lab.engine_api.unit", "server") == "opsrunner_lab.engine_api.server"
    assert sibling("top", "other") == "other"
    assert python_m(importlib.import_module("opsrunner_lab.idle"))[1:] == ["-m", "opsrunner_lab.idle"]


@pytest.mark.parametrize("relpath", sorted(SCRIPTS))
def test_every_tool_script_imports_its_function(relpath: str) -> None:
    text = tool_script(relpath, SCRIPTS[relpath])
    found = re.search(r"^from (\S+) import (\w+)$", text, re.MULTILINE)
    assert found is not None, text
    assert getattr(importlib.import_module(found[1]), found[2]) is SCRIPTS[relpath]
    assert f"sys.exit({found[2]}(__file__, sys.argv[1:]))" in text


def test_every_python_m_of_a_unit_names_a_runnable_module(layout: LabLayout) -> None:
    modules = set()
    for host in layout.hosts():
        for unit in host_units(layout, host.name).values():
            argv = list(unit.daemon.argv)
            if "-m" in argv:
                modules.add(argv[argv.index("-m") + 1])
    assert SERVER in modules
    assert len(modules) >= 4  # the engine API, the websocket proxy, the OVN provider, idle
    for name in modules:
        module = importlib.import_module(name)
        assert callable(getattr(module, "main", None)), name


def test_the_systemctl_script_runs_the_systemctl_module(layout: LabLayout) -> None:
    host = layout.host(ENGINE)
    write_tools(layout, host)
    text = (layout.bin_dir(host.name) / "systemctl").read_text()
    found = re.search(r" -m (\S+) ", text)
    assert found is not None, text
    assert callable(importlib.import_module(found[1]).main)


def test_the_server_names_itself_as_run(capsys: pytest.CaptureFixture[str]) -> None:
    server = importlib.import_module(SERVER)
    with pytest.raises(SystemExit):
        server.main(["--help"])
    assert capsys.readouterr().out.startswith(f"usage: python -m {SERVER} ")


def _named_installer(message: str) -> object:
    found = re.search(r"\(([\w.]+), run by `opsrunner lab up`\)", message)
    assert found is not None, message
    return resolve(found[1])


def test_missing_vendor_copies_name_their_installers(layout: LabLayout) -> None:
    units = host_units(layout, ENGINE)
    for name in ("ovirt-websocket-proxy", "ovirt-provider-ovn"):
        prepare = units[name].prepare
        assert prepare is not None
        with pytest.raises(LabServerError) as error:
            prepare()
        assert callable(_named_installer(str(error.value)))
    with pytest.raises(LabServerError) as error:
        prepare_imageio(layout, 54324)
    assert callable(_named_installer(str(error.value)))
    (imageio_site_packages(layout) / "ovirt_imageio").mkdir(parents=True)
    with pytest.raises(LabServerError, match="build the sysroots first") as error:
        prepare_imageio(layout, 54324)
    assert callable(_named_installer(str(error.value)))
