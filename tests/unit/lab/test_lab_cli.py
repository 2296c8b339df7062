"""``opsrunner lab``: loaded only when asked for, and without the lab extra one line says what
to install (exit 1, no traceback). Nothing here starts a lab: the subprocesses refuse to import
``opsrunner_lab.manager``, the in-process commands have its entry points replaced."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsrunner.cli import main
from opsrunner_lab import extra, imageio, manager, websocket_proxy

HINT = ("error: opsrunner lab needs the lab extra: pip install 'opsrunner[lab]' "
        "(missing: ovirt_imageio, webob)")

# Any import of these fails (a finder refuses them); the manager is always among them, so a
# check that lets `lab up` through fails the test instead of starting a lab.
SITECUSTOMIZE = '''
import sys

BLOCKED = {blocked!r}


class _Refuse:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (refused by the test)", name=name)
        return None


sys.meta_path.insert(0, _Refuse)
'''
STUB = 'raise ImportError("this stand-in of {name} cannot be imported")\n'


def _python(tmp_path: Path, code: list[str], *, refuse: tuple[str, ...] = (),
            stubs: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run this Python with ``code`` (arguments after the interpreter), the modules ``refuse``
    unimportable through a finder and ``stubs`` shadowed by modules that fail to import."""
    folder = tmp_path / "path"
    folder.mkdir()
    blocked = {"opsrunner_lab.manager", *refuse}
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE.format(blocked=blocked))
    for name in stubs:
        (folder / f"{name}.py").write_text(STUB.format(name=name))
    rest = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": f"{folder}{os.pathsep}{rest}" if rest else str(folder),
           "OPSRUNNER_LAB_DIR": str(tmp_path / "lab")}
    return subprocess.run([sys.executable, *code], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


@pytest.mark.parametrize("how", ["refused by a finder", "shadowed by failing stubs"])
def test_lab_up_without_the_extra_says_what_to_install(tmp_path: Path, how: str) -> None:
    packages = extra.EXTRA_PACKAGES
    done = _python(tmp_path, ["-m", "opsrunner.cli", "lab", "up"],
                   refuse=packages if how.startswith("refused") else (),
                   stubs=packages if how.startswith("shadowed") else ())
    assert done.returncode == 1, done
    assert done.stderr.splitlines() == [HINT]
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "lab").exists()


def test_the_cli_imports_nothing_of_the_lab(tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import sys
        import opsrunner.cli
        loaded = [m for m in sys.modules if m.split(".")[0] == "opsrunner_lab"]
        try:
            opsrunner.cli.main(["--help"])
        except SystemExit:
            pass
        loaded += [m for m in sys.modules if m.split(".")[0] == "opsrunner_lab"]
        print(sorted(set(loaded)), file=sys.stderr)
    """)
    done = _python(tmp_path, ["-c", code])
    assert done.returncode == 0, done
    assert done.stderr.strip() == "[]"
    assert "lab " in done.stdout  # the group is listed all the same


def test_lab_help_lists_the_lab_commands() -> None:
    result = CliRunner().invoke(main, ["lab", "--help"])
    assert result.exit_code == 0
    commands = result.output.split("Commands:")[1].split()
    assert {"up", "status", "down"} <= set(commands)


@pytest.fixture
def no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """The extra looks missing; the manager must not be reached."""
    monkeypatch.setattr(extra, "missing_packages", lambda: ["ovirt_imageio", "webob"])

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the lab command went past the extra check")

    for name in ("up", "status", "down"):
        monkeypatch.setattr(manager, name, refuse)


@pytest.mark.usefixtures("no_extra")
@pytest.mark.parametrize("command", ["up", "status", "down"])
def test_every_lab_command_needs_the_extra(command: str) -> None:
    result = CliRunner().invoke(main, ["lab", command])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [HINT]
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.usefixtures("no_extra")
def test_lab_command_help_needs_no_extra() -> None:
    result = CliRunner().invoke(main, ["lab", "up", "--help"])
    assert result.exit_code == 0
    assert "--kvm-hosts" in result.output


def test_the_extra_is_what_the_lab_copies_and_is_installed_here() -> None:
    assert set(extra.EXTRA_PACKAGES) == {imageio.PACKAGE, websocket_proxy.PACKAGE}
    assert extra.missing_packages() == []
