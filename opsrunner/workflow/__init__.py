"""Workflow files: YAML -> validated :class:`Workflow` and :class:`Step` objects; rendering.

The format::

    name: Vacuum the engine database     # required string
    hosts: engine                        # host pattern (limit syntax); default "all"
    strategy: parallel                   # parallel (default) | rolling
    batch: 1                             # rolling only: integer >= 1 or "N%"; default 1
    max_fail_percentage: 0               # rolling only: 0..100 (default 0); when the failed
                                         # share of a batch exceeds it, later batches don't start
    vars: {backup_dir: /var/backups}     # workflow variables (values may use Jinja2)
    steps: [step, ...]                   # required, non-empty
    always: [step, ...]                  # run on every host that started, whatever failed
    verify: [checks/vacuum.py]           # testinfra files, relative to this file; must exist

A step::

    - name: Stop the engine              # required string
      task: service                      # required: a registered task
      with: {name: ovirt-engine}         # the task's keyword parameters (values may use Jinja2)
      when: not check_mode               # Jinja2 expression (no {{ }}) or true/false
      register: stopped                  # later steps read the result as {{ stopped.rc }}
      retries: 0                         # extra attempts after a failure (>= 0)
      delay: 1                           # seconds between attempts (>= 0)
      until: stopped.rc == 0             # retry while this expression is false
      timeout: 600                       # seconds (> 0); default none
      on_error: fail                     # fail (the host stops) | continue
      run_once: false                    # run on the first selected host only, result shared

Every problem is reported with ``file:line:column``; :func:`load_workflow` reports them all
at once. Literal parameter values are coerced to the task's types at load time; templated
ones at run time by :func:`render_args`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsrunner.booleans import parse_bool
from opsrunner.errors import WorkflowError, WorkflowErrors
from opsrunner.taskspec import TaskSpec
from opsrunner.templating import evaluate, render_value
from opsrunner.workflow.check import coerce_param, describe
from opsrunner.workflow.load import load_workflow
from opsrunner.workflow.model import Step, Workflow
from opsrunner.workflow.names import check_names

__all__ = ["Step", "Workflow", "WorkflowErrors", "check_names", "load_workflow", "render_args",
           "should_run"]

def render_args(step: Step, spec: TaskSpec, context: Mapping[str, Any]) -> dict[str, Any]:
    """The step's parameters rendered in ``context`` and coerced to the task's types.

    Raises TemplateError (rendering) or WorkflowError (wrong type), located at the parameter.
    """
    args: dict[str, Any] = {}
    for name, value in step.args.items():
        where = step.arg_locations.get(name, step.location)
        rendered = render_value(value, context, location=where)
        try:
            args[name] = coerce_param(spec, name, rendered)
        except ValueError as exc:
            raise WorkflowError(str(exc), where) from None
    return args


def should_run(step: Step, context: Mapping[str, Any]) -> bool:
    """Evaluate ``when``; a string must be a boolean word (:mod:`opsrunner.booleans`) or blank
    (false); WorkflowError for any other string."""
    if step.when is None or isinstance(step.when, bool):
        return step.when is not False
    where = step.field_locations.get("when", step.location)
    value = evaluate(step.when, context, location=where)
    if isinstance(value, str):
        flag = parse_bool(value)
        if flag is None and value.strip():
            raise WorkflowError(f"'when' must give a boolean, got {describe(value)}", where)
        return bool(flag)
    return bool(value)
