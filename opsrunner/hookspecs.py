"""Every hook opsrunner calls. Plugins implement them with :data:`opsrunner.hookimpl`.

A plugin is a module (or object) registered through the ``opsrunner`` entry-point group, a
``--plugin-dir`` folder, or directly on the plugin manager. First-party plugins use the
same path as third-party ones. Registration hooks receive a registry to add to; no hook
reads or writes module-level state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opsrunner.registry import Registry
    from opsrunner.report import RunReport, StepRecord

NAME = "opsrunner"  # the pluggy project name and the entry-point group
hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)


@hookspec
def opsrunner_register_tasks(registry: Registry) -> None:
    """Add task functions with ``registry.add_task(func, name=...)``.

    :param registry: the run's registry; a name registered twice is an error naming both plugins.
    """


@hookspec
def opsrunner_register_connections(registry: Registry) -> None:
    """Add connection types with ``registry.add_connection(name, factory)``.

    :param registry: the run's registry. ``factory(host, options)`` returns an open-on-demand
        :class:`opsrunner.connection.Connection`.
    """


@hookspec
def opsrunner_register_inventory_sources(registry: Registry) -> None:
    """Add inventory readers with ``registry.add_inventory_source(name, loader)``.

    :param registry: the run's registry. ``loader(path)`` returns an
        :class:`opsrunner.inventory.Inventory`, or ``None`` when ``path`` is not of its format.
        Sources are tried in registration order.
    """


# -- The run's life ------------------------------------------------------------------------
# Called by ``opsrunner run`` (and ``opsrunner verify``: run_finished only) in this order:
# run_started once; then, per host and step, step_started and step_finished, with host_log
# lines between them; run_finished once, also after a failure or an interrupt. The progress
# display, the journal, and the JSON and JUnit reports are plugins of these hooks like any
# other (opsrunner.report.*). step_started, step_finished and host_log come from the run's
# worker threads, several at once: an implementation that keeps state locks it. A hook
# implementation may take any subset of the arguments. The journal is called first
# (``tryfirst``), so an event is on disk before another plugin acts on it.


@hookspec
def opsrunner_run_started(report: RunReport, hosts: Sequence[str], steps: int) -> None:
    """The run is about to start, after validation and before the first connection.

    :param report: the run's report (``run_id``, ``workflow``, ``check``); it fills in as
        the run goes and is complete at :func:`opsrunner_run_finished`.
    :param hosts: the selected hosts' names, in run order.
    :param steps: steps plus always-steps of the workflow (a progress total per host).
    """


@hookspec
def opsrunner_step_started(report: RunReport, host: str, step: str, always: bool) -> None:
    """A step starts on a host (its ``when:`` not yet evaluated).

    :param report: the run's report.
    :param host: the host's inventory name.
    :param step: the step's name.
    :param always: whether it is an always-step.
    """


@hookspec
def opsrunner_step_finished(report: RunReport, host: str, record: StepRecord) -> None:
    """A step ended on a host: ok, changed, failed or skipped, with its redacted output.

    :param report: the run's report.
    :param host: the host's inventory name.
    :param record: the step's outcome; secrets are already redacted from every text.
    """


@hookspec
def opsrunner_host_log(report: RunReport, host: str, message: str) -> None:
    """A line of progress from a task (``task.log``) or the runner (retries, interrupts).

    :param report: the run's report.
    :param host: the host's inventory name, or ``"*"`` for the whole run.
    :param message: one line, secrets redacted.
    """


@hookspec
def opsrunner_run_finished(report: RunReport) -> None:
    """The run ended (checks included), whatever happened; ``report.exit_code`` is final.

    :param report: the complete report: every host's steps and checks, notes, duration.
    """
