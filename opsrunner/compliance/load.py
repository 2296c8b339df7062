"""Loading a compliance profile: ``profile.yml`` and its ``controls/*.yml``.

A profile is a folder (``profiles/<name>/`` of the repository, or any folder given by path)::

    profiles/olvm-baseline/
      profile.yml           # name: olvm-baseline, title: ..., description: ... (optional)
      controls/
        engine_tls.yml      # a list of controls (below); files are read in name order
        engine_tls.py       # their testinfra checks: one test function a control

A control, in a ``controls/*.yml`` list::

    - id: OLVM-TLS-001                    # upper-case words joined by '-', unique
      title: HSTS on every engine port
      impact: 0.7                         # 0.0 .. 1.0
      section: Administration Tasks > Enabling HTTP Strict Transport Security
      hosts: engines                      # a host pattern, as a workflow's hosts:
      check: engine_tls.py::test_hsts     # file (in controls/) :: test function
      tags: [hsts]                        # optional: workflows that change what it checks
      params: {max_age: 31536000}         # optional: thresholds, scalars only
      rationale: Why an auditor cares.

``-e NAME=VALUE`` overrides the param ``NAME`` of every control that has one (converted to
the type of the profile's value). Every problem of every file is reported at once, each at
its ``file:line:column``; nothing runs before the profile is whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsrunner.booleans import parse_bool
from opsrunner.compliance.model import Control, Profile
from opsrunner.errors import Location, Problem, UsageError, WorkflowError, WorkflowErrors, suggest
from opsrunner.yamlsrc import KeyPath, Positions, load_yaml

PROFILE_FILE = "profile.yml"
CONTROLS_FOLDER = "controls"
PROFILES_FOLDER = "profiles"
PROFILE_KEYS = ("name", "title", "description")
CONTROL_KEYS = ("id", "title", "impact", "section", "hosts", "check", "tags", "params",
                "rationale")
REQUIRED = ("id", "title", "impact", "section", "hosts", "check", "rationale")
CONTROL_ID = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+")
TAG = re.compile(r"[a-z0-9][a-z0-9_-]*")
TEST_NAME = re.compile(r"test_\w+")


def find_profile(name: str, base: Path | None = None) -> Path:
    """The folder of profile ``name``: a path to a profile folder or its ``profile.yml``, or
    a name looked up in ``profiles/`` of ``base`` (the current folder by default).

    :raises UsageError: no such profile (the profiles found are named).
    """
    given = Path(name)
    if given.is_file() and given.name == PROFILE_FILE:
        return given.parent
    if (given / PROFILE_FILE).is_file():
        return given
    folder = (base or Path.cwd()) / PROFILES_FOLDER
    if "/" not in name and (folder / name / PROFILE_FILE).is_file():
        return folder / name
    known = sorted(p.parent.name for p in folder.glob(f"*/{PROFILE_FILE}"))
    hint = suggest(name, known)
    listing = f"profiles in {folder}: {', '.join(known)}" if known else \
        f"no profile in {folder}"
    raise UsageError(f"no compliance profile {name!r} ({listing}){hint}; give a profile "
                     f"name or the path of a folder with a {PROFILE_FILE}")


def load_profile(folder: Path) -> Profile:
    """Read and check the profile in ``folder``.

    :raises WorkflowErrors: every problem, one ``file:line:column: message`` a line.
    """
    reader = _Reader()
    top = reader.document(folder / PROFILE_FILE, "profile file")
    name, title = folder.name, folder.name
    if top is not None:
        data, positions = top
        values = reader.mapping(data, positions, (), "a profile file", PROFILE_KEYS)
        name = reader.text(values, positions, "name", required=True) or name
        title = reader.text(values, positions, "title", required=True) or title
        reader.text(values, positions, "description")
    controls: dict[str, Control] = {}
    files = sorted((folder / CONTROLS_FOLDER).glob("*.yml"))
    if not files:
        reader.report(Location(str(folder / CONTROLS_FOLDER)),
                      f"the profile has no controls: put lists of controls in "
                      f"{folder / CONTROLS_FOLDER}/*.yml")
    for path in files:
        loaded = reader.document(path, "controls file")
        if loaded is None:
            continue
        data, positions = loaded
        if not isinstance(data, list):
            reader.report(positions.value(()), "a controls file is a list of controls "
                                               f"(keys: {', '.join(CONTROL_KEYS)})")
            continue
        for index, item in enumerate(data):
            control = _control(reader, item, positions, (index,), path.parent, controls)
            if control is not None:
                controls[control.id] = control
    reader.raise_if_any()
    return Profile(name=name, title=title, path=folder, controls=controls)


def control_params(profile: Profile, overrides: Mapping[str, object]) -> dict[str, dict[str, Any]]:
    """Each control's params with the ``-e`` overrides applied (keyed by control id).

    :raises UsageError: an override that cannot be converted to the param's type.
    """
    return {cid: {key: _convert(key, overrides[key], default, cid) if key in overrides
                  else default for key, default in control.params.items()}
            for cid, control in profile.controls.items()}


def _convert(key: str, value: object, default: Any, control: str) -> Any:
    if isinstance(default, bool):
        found = parse_bool(value)
        if found is None:
            raise UsageError(f"-e {key}={value}: {control} needs a boolean (true/false)")
        return found
    for kind in (int, float):
        if isinstance(default, kind):
            try:
                return kind(str(value))
            except ValueError:
                raise UsageError(f"-e {key}={value}: {control} needs a number "
                                 f"({kind.__name__}), like {default}") from None
    return str(value)


def _control(reader: _Reader, item: Any, positions: Positions, path: KeyPath, folder: Path,
             seen: Mapping[str, Control]) -> Control | None:
    values = reader.mapping(item, positions, path, "a control", CONTROL_KEYS)
    if values is None:
        return None
    where = positions.key(path)
    missing = [key for key in REQUIRED if key not in values]
    if missing:
        reader.report(where, f"a control needs {', '.join(missing)} (keys: "
                             f"{', '.join(CONTROL_KEYS)})")
        return None
    before = len(reader.problems)
    cid = reader.text(values, positions, "id", path=path) or ""
    if cid and not CONTROL_ID.fullmatch(cid):
        reader.report(positions.value((*path, "id")), f"control id {cid!r}: upper-case words "
                                                      "of letters and digits joined by '-', "
                                                      "like OLVM-TLS-001")
    elif cid in seen:
        reader.report(positions.value((*path, "id")),
                      f"control {cid} is declared twice (first at {seen[cid].location})")
    impact = values.get("impact")
    if isinstance(impact, bool) or not isinstance(impact, (int, float)) or not 0 <= impact <= 1:
        reader.report(positions.value((*path, "impact")),
                      f"impact must be a number from 0.0 to 1.0, got {impact!r}")
        impact = 0.0
    texts = {key: reader.text(values, positions, key, path=path) or ""
             for key in ("title", "section", "hosts", "rationale", "check")}
    if texts["hosts"]:
        _check_pattern(reader, texts["hosts"], positions.value((*path, "hosts")))
    check, test = _check_target(reader, texts["check"], folder,
                                positions.value((*path, "check")))
    tags = _tags(reader, values.get("tags", []), positions, (*path, "tags"))
    params = _scalars(reader, values.get("params", {}), positions, (*path, "params"))
    if len(reader.problems) > before:
        return None
    return Control(id=cid, title=texts["title"], impact=float(impact),
                   section=texts["section"], tags=tags, rationale=texts["rationale"].strip(),
                   hosts=texts["hosts"], check=check, test=test, location=where, params=params)


def _check_pattern(reader: _Reader, text: str, where: Location) -> None:
    from opsrunner.inventory.patterns import parse_limit

    try:
        parse_limit(text)
    except UsageError as exc:
        reader.report(where, f"hosts: {exc.message}")


def _check_target(reader: _Reader, text: str, folder: Path, where: Location) -> tuple[Path, str]:
    file, sep, test = text.partition("::")
    path = folder / file
    if not sep or not file.endswith(".py") or not TEST_NAME.fullmatch(test):
        reader.report(where, f"check {text!r}: give FILE.py::test_name (a test function of a "
                             f"check file in {folder})")
    elif not path.is_file():
        known = sorted(p.name for p in folder.glob("*.py"))
        reader.report(where, f"check file {path} does not exist{suggest(file, known)}")
    elif not re.search(rf"^def {re.escape(test)}\(", path.read_text(encoding="utf-8"), re.M):
        known = re.findall(r"^def (test_\w+)\(", path.read_text(encoding="utf-8"), re.M)
        reader.report(where, f"{path} has no test function {test}{suggest(test, known)}")
    return path, test


def _tags(reader: _Reader, value: Any, positions: Positions, path: KeyPath) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) and TAG.fullmatch(t)
                                              for t in value):
        reader.report(positions.value(path), "tags must be a list of workflow names "
                                             "(lower-case letters, digits, '-', '_')")
        return ()
    return tuple(value)


def _scalars(reader: _Reader, value: Any, positions: Positions, path: KeyPath) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in value.items()):
        reader.report(positions.value(path), "params must be a mapping of names to scalars "
                                             "(text, numbers, booleans)")
        return {}
    return dict(value)


class _Reader:
    """Collects the problems of every file of one profile."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def report(self, where: Location, message: str) -> None:
        self.problems.append((where, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise WorkflowErrors(self.problems)

    def document(self, path: Path, kind: str) -> tuple[Any, Positions] | None:
        try:
            return load_yaml(path, kind=kind, error=WorkflowError)
        except WorkflowError as exc:
            self.report(exc.location or Location(str(path)), exc.message)
            return None

    def mapping(self, value: Any, positions: Positions, path: KeyPath, what: str,
                allowed: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.report(positions.value(path), f"{what} must be a mapping with keys: "
                                               f"{', '.join(allowed)}")
            return None
        for key in value:
            if key not in allowed:
                self.report(positions.key((*path, key)), f"unknown key {key!r} in {what}"
                                                         f"{suggest(str(key), allowed)} "
                                                         f"(keys: {', '.join(allowed)})")
        return {k: v for k, v in value.items() if k in allowed}

    def text(self, values: Mapping[str, Any] | None, positions: Positions, key: str, *,
             path: KeyPath = (), required: bool = False) -> str | None:
        if values is None:
            return None
        if key not in values:
            if required:
                self.report(positions.value(path), f"missing {key!r}")
            return None
        value = values[key]
        if not isinstance(value, str) or not value.strip():
            self.report(positions.value((*path, key)), f"{key} must be a non-empty text")
            return None
        return value
