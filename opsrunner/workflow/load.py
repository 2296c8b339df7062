"""Loading a workflow file: YAML with positions -> schema checks -> :class:`Workflow`.

Every problem is collected with its ``file:line:column``; one :class:`WorkflowErrors` lists
them all. Literal ``with:`` values are coerced to the task's parameter types here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from opsrunner.errors import Location, UsageError, WorkflowError, WorkflowErrors, suggest
from opsrunner.hoststate import RUNTIME_NAMES
from opsrunner.inventory.patterns import parse_limit
from opsrunner.pathnames import is_file, path_problem
from opsrunner.registry import Registry
from opsrunner.taskspec import TaskSpec
from opsrunner.workflow.check import (
    Checker,
    coerce_param,
    describe,
    has_template,
    is_variable_name,
)
from opsrunner.workflow.model import Step, Workflow
from opsrunner.yamlsrc import KeyPath, load_yaml

TOP_KEYS = ("name", "hosts", "strategy", "batch", "max_fail_percentage", "window", "vars",
            "steps", "always", "verify", "profile")
MAX_SECONDS = 30 * 86400.0
"""The longest ``timeout:``, ``delay:`` or ``estimate:`` a step may have (30 days)."""
STEP_KEYS = ("name", "task", "with", "when", "register", "retries", "delay", "until",
             "timeout", "estimate", "on_error", "run_once")
_PERCENT = re.compile(r"\s*([0-9]{1,3})\s*%", re.ASCII)
_STEP_HINTS = {"args": "; task parameters go under 'with'", "params": "; use 'with'",
               "ignore_errors": "; use 'on_error: continue'"}


def load_workflow(path: str | Path, registry: Registry) -> Workflow:
    """Parse and validate ``path``; raise :class:`WorkflowErrors` listing every problem."""
    try:
        data, positions = load_yaml(path, kind="workflow", error=WorkflowError)
    except WorkflowError as exc:
        raise WorkflowErrors([(exc.location or Location(str(path)), exc.message)]) from None
    if not isinstance(data, dict):
        raise WorkflowErrors([(positions.value(()), f"a workflow is a mapping with keys: "
                                                    f"{', '.join(TOP_KEYS)}; got {describe(data)}")])
    check = Checker(positions)
    top = check.mapping(data, (), "the workflow", TOP_KEYS) or {}
    check.require(top, (), "name", "the workflow")
    hosts = check.string(top, (), "hosts", "all") or "all"
    try:
        parse_limit(hosts)
    except UsageError as exc:
        check.report(positions.value(("hosts",)), f"'hosts': {exc.message}")
    strategy = check.choice(top, (), "strategy", ("parallel", "rolling"))
    for key in ("batch", "max_fail_percentage"):
        if key in top and strategy != "rolling":
            check.report(positions.key((key,)), f"{key!r} applies to strategy 'rolling' only")
    workflow = Workflow(
        name=check.string(top, (), "name") or "",
        hosts=hosts, strategy=strategy, batch=_batch(check, top),
        max_fail_percentage=check.number(top, (), "max_fail_percentage", default=0.0,
                                         minimum=0, maximum=100) or 0.0,
        window=check.string(top, (), "window"),
        vars=_vars(check, top.get("vars")),
        steps=_steps(check, top, "steps", registry, required=True),
        always=_steps(check, top, "always", registry, required=False),
        verify=_verify(check, top.get("verify"), Path(path).parent),
        profile=_profile(check, top, Path(path)),
        path=Path(path), positions=positions)
    check.raise_if_any()
    return replace(workflow, notes=_renamed_tasks(workflow, registry))


def _profile(check: Checker, top: dict[str, Any], path: Path) -> Path | None:
    """The folder of the ``profile:`` named (looked up in ``profiles/`` beside the workflow's
    folder, then in the current folder's), checked whole; None without the key."""
    name = check.string(top, (), "profile")
    if name is None:
        return None
    from opsrunner.compliance.load import find_profile, load_profile

    where = check.positions.value(("profile",))
    problem = path_problem(name)
    if problem is not None:
        check.report(where, f"'profile' must be a profile name or folder, got {describe(name)}, "
                            f"which {problem}")
        return None
    problems: list[str] = []
    for base in (path.resolve().parent.parent, Path.cwd()):
        try:
            folder = find_profile(name, base)
            break
        except UsageError as exc:
            problems.append(exc.message)
    else:
        check.report(where, f"'profile': {problems[0]}")
        return None
    try:
        profile = load_profile(folder)
    except WorkflowErrors as exc:
        check.report(where, f"'profile': profile {name!r} has problems:\n{exc}")
        return None
    if not profile.tagged(path.stem):
        check.report(where, f"'profile': no control of profile {profile.name} is tagged "
                            f"{path.stem!r} (the workflow's file name), so none would run "
                            f"after it")
    return folder


def _renamed_tasks(workflow: Workflow, registry: Registry) -> list[str]:
    """One note per former task name the workflow uses, located at its first use."""
    notes: dict[str, str] = {}
    for step in (*workflow.steps, *workflow.always):
        new = registry.new_name(step.task)
        if new is not None and step.task not in notes:
            where = step.field_locations.get("task", step.location)
            notes[step.task] = (f"{where}: task {step.task!r} is now called {new!r}; the old "
                                f"name works in this release only")
    return list(notes.values())


def _batch(check: Checker, top: Mapping[str, Any]) -> int | str:
    value = top.get("batch", 1)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    percent = _PERCENT.fullmatch(value) if isinstance(value, str) else None
    if percent and 1 <= int(percent.group(1)) <= 100:
        return f"{int(percent.group(1))}%"
    check.report(check.positions.value(("batch",)),
                 f"'batch' must be an integer >= 1 or a percentage \"1%\"..\"100%\", "
                 f"got {describe(value)}")
    return 1


def _vars(check: Checker, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.report(check.positions.value(("vars",)),
                     f"'vars' must be a mapping of names to values, got {describe(value)}")
        return {}
    for name, item in value.items():
        if not is_variable_name(name) or name in RUNTIME_NAMES:
            why = "is set by the runner" if name in RUNTIME_NAMES else "is not a variable name"
            check.report(check.positions.key(("vars", name)), f"variable {name!r} {why}")
        check.templates(item, ("vars", name))
    return dict(value)


def _steps(check: Checker, top: Mapping[str, Any], key: str, registry: Registry, *,
           required: bool) -> list[Step]:
    value = top.get(key)
    if value is None or value == []:
        if required:
            where = check.positions.value((key,) if key in top else ())
            check.report(where, f"the workflow needs {key!r}: a non-empty list of steps")
        return []
    if not isinstance(value, list):
        check.report(check.positions.value((key,)),
                     f"{key!r} must be a list of steps, got {describe(value)}")
        return []
    steps = [_step(check, item, key, index, registry) for index, item in enumerate(value)]
    return [step for step in steps if step is not None]


def _step(check: Checker, value: Any, key: str, index: int, registry: Registry) -> Step | None:
    path, what = (key, index), f"step {index + 1} of {key!r}"
    data = check.mapping(value, path, what, STEP_KEYS, _STEP_HINTS)
    if data is None:
        return None
    check.require(data, path, "name", what)
    check.require(data, path, "task", what)
    task = check.string(data, path, "task") or ""
    args, arg_locations = _args(check, data, path, _spec(check, registry, task, path))
    when = data.get("when")
    return Step(
        name=check.string(data, path, "name") or "", task=task, args=args,
        when=when if isinstance(when, bool) else check.expression(data, path, "when",
                                                                   allow_bool=True),
        register=check.identifier(data, path, "register"),
        retries=check.integer(data, path, "retries", default=0, minimum=0),
        delay=check.number(data, path, "delay", default=1.0, minimum=0,
                           maximum=MAX_SECONDS) or 0.0,
        until=check.expression(data, path, "until", allow_bool=False),
        timeout=check.number(data, path, "timeout", default=None, minimum=0, exclusive=True,
                             maximum=MAX_SECONDS),
        estimate=_estimate(check, data, path),
        on_error=check.choice(data, path, "on_error", ("fail", "continue")),
        run_once=check.boolean(data, path, "run_once", default=False), index=index,
        location=check.positions.value(path), arg_locations=arg_locations,
        field_locations={k: check.positions.value((*path, k)) for k in data})


def _estimate(check: Checker, data: Mapping[str, Any], path: KeyPath) -> float | None:
    """``estimate:`` as seconds: a number, or a duration such as ``20m`` or ``1h30m``."""
    value = data.get("estimate")
    if value is None:
        return None
    if isinstance(value, str):
        from opsrunner.durations import parse_duration

        try:
            seconds = parse_duration(value)
        except UsageError as exc:
            check.report(check.positions.value((*path, "estimate")), f"'estimate': {exc.message}")
            return None
        if seconds <= MAX_SECONDS:
            return seconds
    return check.number(data, path, "estimate", default=None, minimum=0, maximum=MAX_SECONDS)


def _spec(check: Checker, registry: Registry, task: str, path: KeyPath) -> TaskSpec | None:
    if not task:
        return None
    try:
        return registry.task(task)
    except UsageError as exc:
        check.report(check.positions.value((*path, "task")), exc.message)
        return None


def _args(check: Checker, data: Mapping[str, Any], path: KeyPath,
          spec: TaskSpec | None) -> tuple[dict[str, Any], dict[str, Location]]:
    given = data.get("with") or {}
    at = (*path, "with")
    if not isinstance(given, dict):
        check.report(check.positions.value(at),
                     f"'with' must be a mapping of task parameters, got {describe(given)}")
        return {}, {}
    args: dict[str, Any] = {}
    locations = {name: check.positions.value((*at, name)) for name in given}
    for name, value in given.items():
        check.templates(value, (*at, name))
        if spec is None:
            args[name] = value
        elif name not in spec.params:
            check.report(check.positions.key((*at, name)),
                         f"task {spec.name!r} has no parameter {name!r}"
                         f"{suggest(str(name), spec.params)} ({_signature(spec)})")
        elif has_template(value):
            args[name] = value
        else:
            try:
                args[name] = coerce_param(spec, name, value)
            except ValueError as exc:
                check.report(locations[name], str(exc))
    if spec is not None:
        where = check.positions.key(at) if "with" in data else check.positions.value(path)
        for param in spec.params.values():
            if param.required and param.name not in given:
                check.report(where, f"task {spec.name!r} needs parameter {param.name!r} "
                                    f"({param.type_name}); {_signature(spec)}")
    return args, locations


def _signature(spec: TaskSpec) -> str:
    if not spec.params:
        return "it takes no parameters"
    parts = [f"{p.name}: {p.type_name}" + ("" if p.required else " (optional)")
             for p in spec.params.values()]
    return "parameters: " + ", ".join(parts)


def _verify(check: Checker, value: Any, base: Path) -> list[Path]:
    if value is None:
        return []
    if not isinstance(value, list):
        check.report(check.positions.value(("verify",)),
                     f"'verify' must be a list of testinfra files, got {describe(value)}")
        return []
    files: list[Path] = []
    for index, item in enumerate(value):
        where = check.positions.value(("verify", index))
        problem = path_problem(base / item) if isinstance(item, str) else None
        if not isinstance(item, str) or not item.strip():
            check.report(where, f"a verify entry must be a file path, got {describe(item)}")
        elif problem is not None:
            check.report(where, f"a verify entry must be a file path, got {describe(item)}, "
                                f"which {problem}")
        elif not is_file(base / item):
            check.report(where, f"verify file not found: {item} (looked for {base / item})")
        else:
            files.append(base / item)
    return files
