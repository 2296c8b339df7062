"""Seeded fuzzing of the shipped workflows and inventories (the examples, the lab's) (issue 16).

Each case mutates one file (byte flips, line deletions and duplications, indentation shifts,
YAML tags, anchors and aliases, deep nesting) and runs ``opsrunner validate`` in-process.
Whatever the bytes, the CLI exits 0 or 1, never with an exception, and an exit 1 prints
``error: `` lines that each name ``file:line`` or a clear reason. Seeded and bounded: the
same cases on every run, a few seconds in all.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsrunner.cli import main
from tests.unit.deadline import deadline

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / "workflows").glob("*.yml"))
SIMPLE_INVENTORY = REPO / "inventory" / "example"
ANSIBLE_INVENTORY = REPO / "inventory" / "example-ansible.yml"
SEED = 16
WORKFLOW_CASES = 210
INVENTORY_CASES = 90
TAGS = ["!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ", "!!null ", "!!str ",
        "!!map ", "!!seq ", "!!set ", "!!python/object:os.system ", "!vault ", "&a ", "*a ",
        "!!merge "]
VALUES = ["[r]", "{a: 1}", "\"\u00b2%\"", ".inf", "-.inf", ".nan", "1e300", "-1", "0",
          "99999999999999999999999", "''", "~", "true", "\"{{ x }}\"", "\"{{ 9 ** 99 }}\"",
          "\"{{ 'a' is match('(') }}\"", "\"!a\"", "\"a & \"", "\"((a)\"", "\"a,,b\"",
          "\"%s\"" % ("x" * 300), "\"{% for i in range(3) %}{{ i }}{% endfor %}\"",
          "\"{{ undefined_name }}\"", "\"\u0000\"", "\"../../etc/passwd\"", "[]", "{}"]
BYTES = b"\x00\x07\t\n\r \"#%&'*,-:>?@[]{|}!\xc3\xe9\xff\xef\xbb\xbf"
LOCATED = re.compile(r"^error: (\S+:\d+(:\d+)?: |.*\S+:\d+: )")
# Messages that do not point into a file but say plainly what is wrong and what is allowed.
CLEAR_REASONS = re.compile(
    r"is not an inventory opsrunner can read|no host matches|matches no host|host pattern|"
    r"undefined|is not defined|does not exist")


@dataclass(frozen=True)
class Case:
    """One mutated file: which mutation of which original."""

    label: str
    original: Path
    data: bytes


def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """One random mutation of ``data`` and its name."""
    lines = data.split(b"\n")
    index = rng.randrange(len(lines))
    kind = rng.choice(["flip", "flip", "delete", "duplicate", "indent", "dedent", "tag",
                       "tag", "alias", "nest", "truncate", "retype", "retype", "retype"])
    if kind == "flip":
        at = rng.randrange(len(data))
        new = bytes([rng.choice(BYTES)])
        return f"flip byte {at} to {new!r}", data[:at] + new + data[at + 1:]
    if kind == "delete":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "indent":
        lines[index] = rng.choice([b"  ", b" ", b"\t", b"    "]) + lines[index]
    elif kind == "dedent":
        lines[index] = lines[index][rng.choice([1, 2, 4]):]
    elif kind in ("tag", "alias"):
        line = lines[index]
        colon = line.find(b": ")
        mark = (rng.choice(TAGS) if kind == "tag" else rng.choice(["&a ", "*a", "<<: *a"])).encode()
        at = colon + 2 if colon >= 0 else len(line) - len(line.lstrip())
        lines[index] = line[:at] + mark + line[at:]
    elif kind in ("nest", "retype"):
        depth = rng.choice([50, 120, 600])
        value = (b"[" * depth + b"]" * depth if kind == "nest"
                 else rng.choice(VALUES).encode())
        line = lines[index]
        colon = line.find(b": ")
        if colon < 0 or line.lstrip().startswith(b"#"):
            return mutate(rng, data)
        lines[index] = line[:colon + 2] + value
    else:
        cut = rng.randrange(len(data))
        return f"truncate at byte {cut}", data[:cut]
    return f"{kind} line {index + 1}", b"\n".join(lines)


def cases(originals: list[Path], count: int, rng: random.Random) -> Iterator[Case]:
    for number in range(count):
        original = originals[number % len(originals)]
        data = original.read_bytes()
        steps = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            step, data = mutate(rng, data)
            steps.append(step)
        name = original.relative_to(REPO) if original.is_relative_to(REPO) else original.name
        yield Case(f"{name}: {', '.join(steps)}", original, data)


def validate(*args: str) -> tuple[int, str, BaseException | None]:
    with deadline(20):
        result = CliRunner().invoke(main, ["validate", *args], catch_exceptions=True)
    exception = result.exception
    if isinstance(exception, SystemExit):
        exception = None
    return result.exit_code, result.stderr, exception


def problems_of(case: Case, code: int, err: str, exception: BaseException | None) -> list[str]:
    """What is wrong with one case's outcome (nothing when it was handled well)."""
    if exception is not None:
        return [f"{case.label}: {type(exception).__name__}: {exception}"]
    if "Traceback" in err:
        return [f"{case.label}: a traceback was printed:\n{err}"]
    if code not in (0, 1):
        return [f"{case.label}: exit code {code}:\n{err}"]
    if code == 1:
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        if not errors:
            return [f"{case.label}: exit 1 without an error line:\n{err}"]
        if not (LOCATED.search(errors[0]) or CLEAR_REASONS.search(errors[0])):
            return [f"{case.label}: the error names no file:line nor a clear reason: "
                    f"{errors[0]}"]
    return []


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLVM_ADMIN_PASSWORD", "fuzz-password")


def test_mutated_workflows_are_refused_cleanly(tmp_path: Path, environment: None) -> None:
    rng = random.Random(SEED)
    found: list[str] = []
    outcomes = {0: 0, 1: 0}
    (tmp_path / "checks").symlink_to(REPO / "workflows" / "checks")  # for verify:
    for number, case in enumerate(cases(WORKFLOWS, WORKFLOW_CASES, rng)):
        path = tmp_path / f"{number:03d}-{case.original.name}"
        path.write_bytes(case.data)
        code, err, exception = validate(str(path))
        outcomes[code] = outcomes.get(code, 0) + 1
        found += problems_of(case, code, err, exception)
    assert found == []
    assert outcomes[1] > WORKFLOW_CASES // 4  # the mutations do break files


@pytest.fixture(scope="module")
def lab_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inventory ``opsrunner lab up`` writes (for a lab that is not started)."""
    from opsrunner_lab.lab_inventory import write_inventory
    from opsrunner_lab.layout import LabLayout

    layout = LabLayout(tmp_path_factory.mktemp("lab"))
    write_inventory(layout)
    return layout.inventory


def test_mutated_inventories_are_refused_cleanly(tmp_path: Path, environment: None,
                                                 lab_inventory: Path) -> None:
    rng = random.Random(SEED + 1)
    workflow = REPO / "workflows" / "vacuum.yml"
    originals = [*sorted(SIMPLE_INVENTORY.glob("*.yaml")), ANSIBLE_INVENTORY,
                 *sorted(lab_inventory.glob("*.yaml"))]
    found: list[str] = []
    for number, case in enumerate(cases(originals, INVENTORY_CASES, rng)):
        if case.original == ANSIBLE_INVENTORY:
            target = tmp_path / f"{number:03d}-inventory.yml"
            target.write_bytes(case.data)
        else:
            target = tmp_path / f"{number:03d}-inventory"
            shutil.copytree(case.original.parent, target)
            (target / case.original.name).write_bytes(case.data)
        code, err, exception = validate(str(workflow), "-i", str(target))
        found += problems_of(case, code, err, exception)
    assert found == []
