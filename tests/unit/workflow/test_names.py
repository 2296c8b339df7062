from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from opsrunner.registry import Registry
from opsrunner.result import Result
from opsrunner.task import Task
from opsrunner.workflow import Step, Workflow, check_names, load_workflow


def command(task: Task, *, cmd: str) -> Result:
    return Result()


def set_vars(task: Task, *, values: dict[str, str]) -> Result:
    return Result()


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    reg.add_task(command)
    reg.add_task(set_vars)
    return reg


def load(tmp_path: Path, registry: Registry, text: str) -> Workflow:
    path = tmp_path / "wf.yml"
    path.write_text(textwrap.dedent(text))
    return load_workflow(path, registry)


def lines(workflow: Workflow, known: set[str], **kwargs: object) -> list[str]:
    found = check_names(workflow, known, **kwargs)  # type: ignore[arg-type]
    return [f"{loc.line}:{loc.column}: {msg}" for loc, msg in found]


def test_undefined_name_is_located_with_suggestion(tmp_path: Path, registry: Registry) -> None:
    wf = load(tmp_path, registry, """\
        name: t
        vars: {dump_dir: /var/backups}
        steps:
          - name: a
            task: command
            with: {cmd: "ls {{ dump_dri }}"}
        """)
    assert lines(wf, {"ansible_host"}) == [
        "6:17: undefined variable 'dump_dri'; did you mean 'dump_dir'? (defined here: "
        "check_mode, dump_dir, host, inventory_hostname, run_id and 1 inventory/-e variable)"]
    assert check_names(wf, {"dump_dri"}) == []


def test_registered_names_come_from_earlier_steps_only(tmp_path: Path,
                                                       registry: Registry) -> None:
    wf = load(tmp_path, registry, """\
        name: t
        steps:
          - name: a
            task: command
            with: {cmd: "echo {{ second.stdout }}"}
            register: first
          - name: b
            task: command
            with: {cmd: "echo {{ first.stdout }}"}
            when: first.rc == 0
            register: second
        always:
          - name: c
            task: command
            with: {cmd: "echo {{ first.rc }} {{ second.rc }} {{ third.rc }}"}
          - name: d
            task: command
            with: {cmd: ls}
            register: third
        """)
    assert lines(wf, set()) == [
        f"5:17: undefined variable 'second': registered by a later step ({tmp_path}/wf.yml:7:5)",
        f"15:17: undefined variable 'third': registered by a later step ({tmp_path}/wf.yml:16:5)",
    ]


def test_guarded_names_globals_and_until_scope_are_accepted(tmp_path: Path,
                                                           registry: Registry) -> None:
    wf = load(tmp_path, registry, """\
        name: t
        vars:
          port: "{{ engine_port | default(443) }}"
          url: "https://{{ host.name }}:{{ port }}"
        steps:
          - name: a
            task: command
            with: {cmd: "{% for i in range(3) %}{{ i }}{% endfor %} {{ url }} {{ run_id }}"}
            when: backup is defined and not check_mode
            register: out
            retries: 2
            until: out.rc == 0 and result.rc == 0
        """)
    assert lines(wf, set()) == []


def test_vars_see_only_the_vars_before_them(tmp_path: Path, registry: Registry) -> None:
    wf = load(tmp_path, registry, """\
        name: t
        vars:
          a: "{{ b }}"
          b: "{{ known }}"
        steps: [{name: s, task: command, with: {cmd: "{{ a }}{{ b }}"}}]
        """)
    assert [line.split(";")[0].split(" (")[0] for line in lines(wf, {"known"})] == [
        "3:6: undefined variable 'b'"]


def test_when_cannot_read_the_steps_own_result(tmp_path: Path, registry: Registry) -> None:
    wf = load(tmp_path, registry, """\
        name: t
        steps:
          - {name: s, task: command, with: {cmd: ls}, register: out, when: out.rc == 0}
        """)
    assert lines(wf, set()) == [
        "3:68: undefined variable 'out': this step registers it when done; only its 'until' "
        "and later steps can read it"]


def test_extra_names_defined_by_a_step(tmp_path: Path, registry: Registry) -> None:
    wf = load(tmp_path, registry, """\
        name: t
        steps:
          - {name: a, task: set_vars, with: {values: {release: "4.5"}}}
          - {name: b, task: command, with: {cmd: "echo {{ release }}"}}
        """)
    def defined(step: Step) -> list[str]:
        return list(step.args["values"]) if step.task == "set_vars" else []
    assert len(lines(wf, set())) == 1
    assert lines(wf, set(), extra_by_step=defined) == []
