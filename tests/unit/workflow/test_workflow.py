from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Literal

import pytest

from opsrunner.errors import Location, TemplateError, WorkflowError, WorkflowErrors
from opsrunner.registry import Registry
from opsrunner.result import Result
from opsrunner.task import Task
from opsrunner.workflow import (
    Step,
    Workflow,
    load_workflow,
    render_args,
    should_run,
)


def command(task: Task, *, cmd: str, rc: list[int] = [0], creates: str | None = None,  # noqa: B006
            env: dict[str, str] | None = None) -> Result:
    """Run a command."""
    return Result()


def service(task: Task, *, name: str, state: Literal["started", "stopped"] = "started") -> Result:
    return Result()


def ping(task: Task) -> Result:
    return Result()


def login(task: Task, *, password: str, port: int = 22) -> Result:
    return Result()


CMD_PARAMS = ("cmd: str, rc: list[int] (optional), creates: str | None (optional), "
              "env: dict[str, str] | None (optional)")


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    for func in (command, service, ping, login):
        reg.add_task(func)
    return reg


def write(tmp_path: Path, text: str, name: str = "wf.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, registry: Registry, text: str) -> list[str]:
    """The reported lines, without the file name prefix."""
    path = write(tmp_path, text)
    with pytest.raises(WorkflowErrors) as info:
        load_workflow(path, registry)
    lines = str(info.value).splitlines()
    assert [f"{loc}: {msg}" for loc, msg in info.value.problems] == lines
    assert all(line.startswith(f"{path}:") for line in lines)
    return [line.removeprefix(f"{path}:") for line in lines]


def one_step(task_lines: str) -> str:
    """A valid workflow around one step whose lines start at line 4, column 5."""
    body = textwrap.indent(textwrap.dedent(task_lines), "    ")
    return "name: t\nsteps:\n  - name: s\n" + body


VALID = """\
name: Vacuum the engine database
hosts: engine
strategy: rolling
batch: 50%
max_fail_percentage: 25
vars:
  dump_dir: /var/backups
steps:
  - name: Measure
    task: command
    with:
      cmd: "du -s {{ dump_dir }}"
      rc: [0, "2"]
    register: size
  - name: Stop
    task: service
    with: {name: ovirt-engine, state: stopped}
    when: "{{ size.rc == 0 }}"
    retries: 2
    delay: 0.5
    until: result.rc == 0
    timeout: 30
    on_error: continue
    run_once: true
always:
  - name: Start
    task: service
    with: {name: ovirt-engine}
    when: true
verify: [checks/vacuum.py]
"""


def test_valid_workflow_round_trip(tmp_path: Path, registry: Registry) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "vacuum.py").write_text("def test_x(): pass\n")
    path = write(tmp_path, VALID)
    wf = load_workflow(path, registry)
    assert (wf.name, wf.hosts, wf.strategy, wf.batch, wf.max_fail_percentage) == (
        "Vacuum the engine database", "engine", "rolling", "50%", 25.0)
    assert wf.vars == {"dump_dir": "/var/backups"}
    assert wf.verify == [tmp_path / "checks" / "vacuum.py"]
    assert wf.path == path
    measure, stop = wf.steps
    assert measure == Step(
        name="Measure", task="command", args={"cmd": "du -s {{ dump_dir }}", "rc": [0, 2]},
        register="size", index=0, location=Location(str(path), 9, 5),
        arg_locations={"cmd": Location(str(path), 12, 12), "rc": Location(str(path), 13, 11)},
        field_locations={k: v for k, v in measure.field_locations.items()})
    assert measure.field_locations["register"] == Location(str(path), 14, 15)
    assert (stop.when, stop.retries, stop.delay, stop.until, stop.timeout, stop.on_error,
            stop.run_once) == ("size.rc == 0", 2, 0.5, "result.rc == 0", 30.0, "continue", True)
    assert stop.args == {"name": "ovirt-engine", "state": "stopped"}
    assert wf.always[0].when is True and wf.always[0].args == {"name": "ovirt-engine"}
    assert (stop.index, wf.always[0].index) == (1, 0)
    assert wf.positions.value(("steps", 1, "name")) == Location(str(path), 15, 11)


def test_defaults(tmp_path: Path, registry: Registry) -> None:
    wf = load_workflow(write(tmp_path, "name: n\nsteps:\n  - {name: p, task: ping}\n"), registry)
    assert (wf.hosts, wf.strategy, wf.batch, wf.max_fail_percentage, wf.vars, wf.always,
            wf.verify) == ("all", "parallel", 1, 0.0, {}, [], [])
    step = wf.steps[0]
    assert (step.args, step.when, step.register, step.retries, step.delay, step.until,
            step.timeout, step.on_error, step.run_once) == (
        {}, None, None, 0, 1.0, None, None, "fail", False)


def test_errors_are_workflow_errors_with_problems(tmp_path: Path, registry: Registry) -> None:
    path = write(tmp_path, "name: n\nstpes: []\n")
    with pytest.raises(WorkflowError) as info:
        load_workflow(path, registry)
    assert isinstance(info.value, WorkflowErrors)
    assert info.value.location == Location(str(path), 1, 1)
    assert [loc for loc, _ in info.value.problems] == [Location(str(path), 1, 1),
                                                       Location(str(path), 2, 1)]


def test_unknown_top_level_key_suggests_and_lists_allowed(tmp_path: Path,
                                                          registry: Registry) -> None:
    assert problems(tmp_path, registry, "name: n\nstpes: []\n") == [
        "1:1: the workflow needs 'steps': a non-empty list of steps",
        "2:1: unknown key 'stpes' in the workflow; did you mean 'steps'? (allowed: name, hosts, "
        "strategy, batch, max_fail_percentage, window, vars, steps, always, verify, profile)",
    ]


def test_unknown_step_keys(tmp_path: Path, registry: Registry) -> None:
    assert problems(tmp_path, registry, one_step("""\
        task: ping
        regsiter: out
        ignore_errors: true
        """)) == [
        "5:5: unknown key 'regsiter' in step 1 of 'steps'; did you mean 'register'? (allowed: "
        "name, task, with, when, register, retries, delay, until, timeout, estimate, on_error, "
        "run_once)",
        "6:5: unknown key 'ignore_errors' in step 1 of 'steps'; use 'on_error: continue' "
        "(allowed: name, task, with, when, register, retries, delay, until, timeout, estimate, "
        "on_error, run_once)",
    ]


def test_wrong_types_and_values_are_located_at_the_value(tmp_path: Path,
                                                         registry: Registry) -> None:
    assert problems(tmp_path, registry, """\
        name: 42
        strategy: serial
        steps:
          - name: s
            task: ping
            retries: -1
            delay: soon
            timeout: 0
            on_error: ignore
            run_once: "yes"
            when: 1
        """) == [
        "1:7: 'name' must be a non-empty string, got int 42",
        "2:11: 'strategy' must be 'parallel' or 'rolling' (default 'parallel'), got str 'serial'",
        "6:14: 'retries' must be an integer >= 0, got int -1",
        "7:12: 'delay' must be a number >= 0 and <= 2592000, got str 'soon'",
        "8:14: 'timeout' must be a number > 0 and <= 2592000, got int 0",
        "9:15: 'on_error' must be 'fail' or 'continue' (default 'fail'), got str 'ignore'",
        "10:15: 'run_once' must be true or false, got str 'yes'",
        "11:11: 'when' must be an expression or true/false (without {{ }}), got int 1",
    ]


def test_unknown_task_suggests_a_close_name(tmp_path: Path, registry: Registry) -> None:
    assert problems(tmp_path, registry, one_step("task: comand\nwith: {cmd: ls}\n")) == [
        "4:11: unknown task 'comand'; did you mean 'command'? (known: command, login, ping, "
        "service)",
    ]


def test_unknown_parameter_suggests_and_lists_parameters(tmp_path: Path,
                                                         registry: Registry) -> None:
    assert problems(tmp_path, registry, one_step("task: command\nwith: {cmd: ls, createz: /x}\n")
                    ) == [
        f"5:21: task 'command' has no parameter 'createz'; did you mean 'creates'? "
        f"(parameters: {CMD_PARAMS})",
    ]


def test_missing_required_parameter(tmp_path: Path, registry: Registry) -> None:
    with_block = problems(tmp_path, registry, one_step("task: command\nwith: {rc: [0]}\n"))
    no_with = problems(tmp_path, registry, one_step("task: login\n"))
    assert with_block == [f"5:5: task 'command' needs parameter 'cmd' (str); parameters: "
                          f"{CMD_PARAMS}"]
    assert no_with == ["3:5: task 'login' needs parameter 'password' (str); parameters: "
                       "password: str, port: int (optional)"]


def test_literal_values_are_coerced_at_load(tmp_path: Path, registry: Registry) -> None:
    wf = load_workflow(write(tmp_path, one_step("task: login\nwith: {password: x, port: '2222'}\n"
                                                )), registry)
    assert wf.steps[0].args == {"password": "x", "port": 2222}
    assert problems(tmp_path, registry, one_step("""\
        task: command
        with: {cmd: ls, rc: x}
        """)) == ["5:25: parameter 'rc' of task 'command': expected list[int], got str 'x'"]


def test_literal_type_errors_inside_lists_and_literals(tmp_path: Path,
                                                       registry: Registry) -> None:
    assert problems(tmp_path, registry, """\
        name: t
        steps:
          - {name: a, task: command, with: {cmd: ls, rc: [0, x]}}
          - {name: b, task: service, with: {name: httpd, state: restarted}}
        """) == [
        "3:50: parameter 'rc' of task 'command': expected list[int], got list [0, 'x'] "
        "(expected an integer, got str 'x')",
        "4:57: parameter 'state' of task 'service': expected 'started' | 'stopped', "
        "got str 'restarted'",
    ]


def test_secret_values_never_appear_in_messages(tmp_path: Path, registry: Registry) -> None:
    lines = problems(tmp_path, registry, one_step("task: login\nwith: {password: [hunter2]}\n"))
    assert lines == ["5:22: parameter 'password' of task 'login': expected str, "
                     "got list (value hidden)"]


def test_template_syntax_errors_are_located(tmp_path: Path, registry: Registry) -> None:
    assert problems(tmp_path, registry, """\
        name: t
        vars:
          base: "{{ x"
        steps:
          - name: s
            task: command
            with:
              cmd: ls
              env: {A: "{% if %}"}
            when: "a and"
            until: "a =="
        """) == [
        "3:9: template syntax error: unexpected end of template, expected "
        "'end of print statement'.",
        "9:16: template syntax error: Expected an expression, got 'end of statement block'",
        "10:11: 'when': template syntax error: unexpected 'end of print statement'",
        "11:12: 'until': template syntax error: unexpected 'end of print statement'",
    ]


def test_when_accepts_a_lone_braced_expression_but_not_text(tmp_path: Path,
                                                            registry: Registry) -> None:
    wf = load_workflow(write(tmp_path, one_step("task: ping\nwhen: '{{ a == 1 }}'\n")), registry)
    assert wf.steps[0].when == "a == 1"
    assert problems(tmp_path, registry, one_step("task: ping\nwhen: '{{ a }} and {{ b }}'\n")
                    ) == ["5:11: 'when' is one expression, written without {{ }}: "
                          "got '{{ a }} and {{ b }}'"]


def test_batch_and_percentage_ranges(tmp_path: Path, registry: Registry) -> None:
    steps = "steps:\n  - {name: p, task: ping}\n"
    assert problems(tmp_path, registry, "name: t\nstrategy: rolling\nbatch: 0\n"
                    "max_fail_percentage: 101\n" + steps) == [
        "3:8: 'batch' must be an integer >= 1 or a percentage \"1%\"..\"100%\", got int 0",
        "4:22: 'max_fail_percentage' must be a number >= 0 and <= 100, got int 101",
    ]
    assert problems(tmp_path, registry, "name: t\nstrategy: rolling\nbatch: 150%\n" + steps
                    ) == ["3:8: 'batch' must be an integer >= 1 or a percentage "
                          "\"1%\"..\"100%\", got str '150%'"]
    assert problems(tmp_path, registry, "name: t\nbatch: 2\n" + steps) == [
        "2:1: 'batch' applies to strategy 'rolling' only"]


def test_register_reserved_names_refused_duplicates_allowed(tmp_path: Path,
                                                            registry: Registry) -> None:
    ok = load_workflow(write(tmp_path, """\
        name: t
        steps:
          - {name: a, task: ping, register: out}
          - {name: b, task: ping, register: out}
        """), registry)
    assert [s.register for s in ok.steps] == ["out", "out"]
    assert problems(tmp_path, registry, """\
        name: t
        vars: {run_id: 1, 2x: 3}
        steps:
          - {name: a, task: ping, register: host}
          - {name: b, task: ping, register: my-var}
        """) == [
        "2:8: variable 'run_id' is set by the runner",
        "2:19: variable '2x' is not a variable name",
        "4:37: 'register' must be a variable name (letters, digits, _); 'host' is reserved "
        "(set by the runner: check_mode, host, inventory_hostname, run_id)",
        "5:37: 'register' must be a variable name (letters, digits, _); got str 'my-var'",
    ]


def test_verify_files_must_exist(tmp_path: Path, registry: Registry) -> None:
    lines = problems(tmp_path, registry, """\
        name: t
        steps: [{name: p, task: ping}]
        verify:
          - checks/missing.py
          - 7
        """)
    assert lines == [
        f"4:5: verify file not found: checks/missing.py (looked for {tmp_path}/checks/missing.py)",
        "5:5: a verify entry must be a file path, got int 7",
    ]


def test_structure_errors(tmp_path: Path, registry: Registry) -> None:
    assert problems(tmp_path, registry, "- a\n- b\n") == [
        "1:1: a workflow is a mapping with keys: name, hosts, strategy, batch, "
        "max_fail_percentage, window, vars, steps, always, verify, profile; got list ['a', 'b']"]
    assert problems(tmp_path, registry, "name: t\nsteps: []\nalways: {a: 1}\n") == [
        "2:8: the workflow needs 'steps': a non-empty list of steps",
        "3:9: 'always' must be a list of steps, got dict {'a': 1}"]
    assert problems(tmp_path, registry, "name: t\nsteps: [ping]\n") == [
        "2:9: step 1 of 'steps' must be a mapping with keys: name, task, with, when, register, "
        "retries, delay, until, timeout, estimate, on_error, run_once; got str 'ping'"]
    assert problems(tmp_path, registry, "steps:\n  - with: [1]\n") == [
        "1:1: the workflow: missing required key 'name'",
        "2:5: step 1 of 'steps': missing required key 'name'",
        "2:5: step 1 of 'steps': missing required key 'task'",
        "2:11: 'with' must be a mapping of task parameters, got list [1]"]


def test_hosts_pattern_is_checked(tmp_path: Path, registry: Registry) -> None:
    lines = problems(tmp_path, registry, "name: t\nhosts: '(engine'\nsteps: [{name: p, task: ping}]\n")
    assert lines == ["2:8: 'hosts': host pattern '(engine', column 1: '(' is never closed"]


def test_several_errors_are_reported_together_in_file_order(tmp_path: Path,
                                                           registry: Registry) -> None:
    lines = problems(tmp_path, registry, """\
        name: t
        steps:
          - name: a
            task: comand
          - name: b
            task: command
            with: {cmd: ls, rc: x}
        verify: [nope.py]
        always:
          - {name: c, task: ping, retries: many}
        """)
    assert [line.split(": ")[0] for line in lines] == ["4:11", "7:25", "8:10", "10:36"]


@pytest.mark.parametrize(("text", "expected"), [
    ("name: t\nname: u\n", "2:1: duplicate key 'name' (first at line 1, column 1)"),
    ("name: [t\nsteps: []\n", "2:6: YAML syntax error: expected ',' or ']', but got ':' "
                             "(while parsing a flow sequence started at line 1, column 7)"),
    ("", "1:1: empty workflow"),
])
def test_yaml_level_errors(tmp_path: Path, registry: Registry, text: str, expected: str) -> None:
    lines = problems(tmp_path, registry, text)
    assert len(lines) == 1 and lines[0].startswith(expected)


# -- rendering ------------------------------------------------------------------------------

def _step(registry: Registry, tmp_path: Path, lines: str) -> Step:
    return load_workflow(write(tmp_path, one_step(lines)), registry).steps[0]


def test_render_args_keeps_native_values_and_coerces(tmp_path: Path, registry: Registry) -> None:
    step = _step(registry, tmp_path, "task: command\nwith: {cmd: '{{ n }}', rc: '{{ [0, 1] }}'}\n")
    spec = registry.task("command")
    assert render_args(step, spec, {"n": 3}) == {"cmd": "3", "rc": [0, 1]}


def test_render_args_wrong_type_is_located(tmp_path: Path, registry: Registry) -> None:
    step = _step(registry, tmp_path, "task: command\nwith: {cmd: ls, rc: '{{ codes }}'}\n")
    with pytest.raises(WorkflowError) as info:
        render_args(step, registry.task("command"), {"codes": "x"})
    assert info.value.location == Location(str(tmp_path / "wf.yml"), 5, 25)
    assert info.value.message == "parameter 'rc' of task 'command': expected list[int], got str 'x'"


def test_render_args_undefined_variable_is_located(tmp_path: Path, registry: Registry) -> None:
    step = _step(registry, tmp_path, "task: command\nwith:\n  cmd: 'ls {{ missing }}'\n")
    with pytest.raises(TemplateError) as info:
        render_args(step, registry.task("command"), {})
    assert str(info.value) == (f"{tmp_path / 'wf.yml'}:6:12: undefined variable: "
                               "'missing' is undefined")


def test_render_args_sandbox_violation_is_an_error(tmp_path: Path, registry: Registry) -> None:
    step = _step(registry, tmp_path, "task: command\nwith: {cmd: \"{{ ''.__class__.__mro__ }}\"}\n")
    with pytest.raises(TemplateError) as info:
        render_args(step, registry.task("command"), {})
    assert info.value.location == Location(str(tmp_path / "wf.yml"), 5, 17)
    assert info.value.message.startswith("not allowed in the template sandbox: ")


def test_render_args_hides_secret_values(registry: Registry) -> None:
    step = Step(name="s", task="login", args={"password": "{{ pw }}"})
    with pytest.raises(WorkflowError) as info:
        render_args(step, registry.task("login"), {"pw": ["s3cr3t"]})
    assert "s3cr3t" not in str(info.value)
    assert info.value.message == ("parameter 'password' of task 'login': expected str, "
                                  "got list (value hidden)")


@pytest.mark.parametrize(("when", "context", "expected"), [
    (None, {}, True), (True, {}, True), (False, {}, False),
    ("n > 2", {"n": 3}, True), ("n > 2", {"n": 1}, False),
    ("flag", {"flag": "no"}, False), ("flag", {"flag": "Yes"}, True),
    ("items", {"items": []}, False), ("out.rc == 0", {"out": {"rc": 0}}, True),
    ("flag", {"flag": ""}, False), ("flag", {"flag": "  "}, False), ("flag", {"flag": " on"}, True),
])
def test_should_run(when: Any, context: dict[str, Any], expected: bool) -> None:
    assert should_run(Step(name="s", task="ping", when=when), context) is expected


def test_should_run_errors_are_located(tmp_path: Path, registry: Registry) -> None:
    step = _step(registry, tmp_path, "task: ping\nwhen: flag\n")
    where = Location(str(tmp_path / "wf.yml"), 5, 11)
    with pytest.raises(WorkflowError) as info:
        should_run(step, {"flag": "maybe"})
    assert (info.value.location, info.value.message) == (
        where, "'when' must give a boolean, got str 'maybe'")
    with pytest.raises(TemplateError) as undefined:
        should_run(step, {})
    assert undefined.value.location == where


def test_workflow_can_be_built_directly_for_runner_tests() -> None:
    wf = Workflow(name="w", steps=[Step(name="s", task="ping")])
    assert wf.hosts == "all" and wf.positions.value(()) == Location("<workflow>")


def test_window_and_estimates(tmp_path: Path, registry: Registry) -> None:
    wf = load_workflow(write(tmp_path, """\
name: n
window: sunday-night
steps:
  - {name: a, task: ping, estimate: 20m}
  - {name: b, task: ping, estimate: 90}
  - {name: c, task: ping}
"""), registry)
    assert wf.window == "sunday-night"
    assert [s.estimate for s in wf.steps] == [1200.0, 90.0, None]
    assert problems(tmp_path, registry, "name: n\nsteps:\n  - {name: a, task: ping, "
                    "estimate: soon}\n") == [
        "3:37: 'estimate': invalid duration 'soon': expected seconds (90), or numbers with the "
        "units d, h, m, s from the largest to the smallest (90s, 5m, 1.5h, 1h30m, 1d)"]


def test_timeout_and_delay_must_be_finite_and_at_most_thirty_days(tmp_path: Path,
                                                                   registry: Registry) -> None:
    assert problems(tmp_path, registry, one_step("task: ping\ntimeout: .inf\ndelay: .nan\n")) == [
        "5:14: 'timeout' must be a number > 0 and <= 2592000, got float inf",
        "6:12: 'delay' must be a number >= 0 and <= 2592000, got float nan",
    ]
    assert problems(tmp_path, registry, one_step("task: ping\ntimeout: 2592001\n")) == [
        "5:14: 'timeout' must be a number > 0 and <= 2592000, got int 2592001"]
    wf = load_workflow(write(tmp_path, one_step("task: ping\ntimeout: 2592000\ndelay: 0\n")),
                       registry)
    assert (wf.steps[0].timeout, wf.steps[0].delay) == (2592000.0, 0.0)
