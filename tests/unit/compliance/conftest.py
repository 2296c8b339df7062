"""A small profile of real testinfra checks on ``local`` hosts, for the compliance core."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

CONTROLS = """\
- id: DEMO-MOTD-001
  title: The message of the day is there
  impact: 0.3
  section: Administration Tasks > Demo
  hosts: all_local
  check: files.py::test_motd
  tags: [motd]
  params: {min_size: 1}
  rationale: Users are told whose machine this is.
- id: DEMO-PKI-001
  title: /etc/pki is 0755
  impact: 0.8
  section: Administration Tasks > Demo
  hosts: h1
  check: files.py::test_pki_mode
  params: {mode: "0755"}
  rationale: A closed /etc/pki breaks every TLS client.
- id: DEMO-PARAM-001
  title: Each of two files is there
  impact: 0.1
  section: Administration Tasks > Demo
  hosts: all_local
  check: files.py::test_each
  rationale: A parametrized check folds into one result.
"""

CHECKS = '''\
import hashlib

import pytest


def test_motd(host, host_path, params, evidence):
    found = host.file(host_path("/etc/motd"))
    assert found.exists, "/etc/motd is missing"
    evidence("sha256", hashlib.sha256(found.content).hexdigest())
    assert found.size >= params["min_size"], \\
        f"/etc/motd has {found.size} bytes, the profile requires at least {params['min_size']}"


def test_pki_mode(host, host_path, params, evidence):
    found = host.file(host_path("/etc/pki"))
    evidence("mode", oct(found.mode))
    assert oct(found.mode) == "0o" + params["mode"].lstrip("0"), \\
        f"/etc/pki is {oct(found.mode)[2:]:0>4}, expected {params['mode']}"


@pytest.mark.parametrize("name", ["a.conf", "b.conf"])
def test_each(host, host_path, name):
    assert host.file(host_path("/etc/" + name)).exists, f"/etc/{name} is missing"
'''


@pytest.fixture
def demo_profile(tmp_path: Path) -> Path:
    """``<tmp>/profiles/demo``: profile.yml and three controls over two check functions."""
    folder = tmp_path / "profiles" / "demo"
    (folder / "controls").mkdir(parents=True)
    (folder / "profile.yml").write_text("name: demo\ntitle: Demo profile\n")
    (folder / "controls" / "files.yml").write_text(CONTROLS)
    (folder / "controls" / "files.py").write_text(CHECKS)
    return folder


def healthy(root: Path, *, pki: bool = True) -> None:
    """Make ``root`` pass every demo control."""
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/motd").write_text("Authorized use only\n")
    for name in ("a.conf", "b.conf"):
        (root / "etc" / name).write_text("x\n")
    if pki:
        (root / "etc/pki").mkdir(mode=0o755, exist_ok=True)
        (root / "etc/pki").chmod(0o755)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path
