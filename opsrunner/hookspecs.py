r'''Writing opsrunner plugins: the hooks, the task contract, and a complete plugin.

This page is the plugin author's reference (``python -m pydoc opsrunner.hookspecs``). A plugin
imports what it uses from :mod:`opsrunner` only (internal module paths may move between
releases) and implements hooks with :data:`opsrunner.hookimpl`.

Loading
-------
A plugin is a module (or object) implementing some of the hooks below. It is found through:

* the ``opsrunner`` entry-point group of an installed distribution, under the entry point's
  name (first-party plugins load the same way); ``OPSRUNNER_DISABLE_PLUGINS=name,...``
  blocks entry points by name;
* a ``--plugin-dir`` folder: every ``*.py`` file directly in it is loaded as a plugin named
  after the file, in file-name order, except files whose name starts with ``_``: those are
  not loaded as plugins, they are helpers the plugin files may import (``import _common``;
  the folder is put on ``sys.path``);
* an object passed to the plugin manager by code.

Every hook function carries ``@hookimpl`` (an unmarked function is not called) and may take
any subset of its hook's arguments. A module that fails to import, a ``@hookimpl`` function
whose name matches no hook, or one taking an argument its hook does not offer stops the
command with one line naming the plugin.

The registration hooks run in this order, each for every plugin (entry points, then plugin
folders, then objects): :func:`opsrunner_register_connections`,
:func:`opsrunner_register_inventory_sources`, :func:`opsrunner_register_tasks`. Each gets
the run's :class:`opsrunner.Registry` to add to; no hook reads or writes module-level state.
A name registered twice is an error (for a task, naming both plugins: a plugin cannot replace
another's task), and an exception in a hook stops the command naming the plugin and the hook.
The run-event hooks further down are called while ``opsrunner run`` works, in the order stated
with them.

Tasks
-----
A task is a plain typed function, registered with ``registry.add_task(func)`` (its name is the
function's unless ``name=`` is given; ``aliases=`` keeps former names working)::

    def name(task: Task, *, param: type = default, ...) -> Result

* **Schema.** The first parameter receives the :class:`opsrunner.Task`; every other one is
  keyword-only and is a key a workflow step may give under ``with:``. A parameter without a
  default is required. An unknown key, a missing required one, or a value of the wrong type
  is reported with ``file:line:column`` before anything runs; a value holding a Jinja2
  template is checked once rendered, when the step runs.
* **Types.** Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``list[X]``,
  ``dict[str, X]``, ``X | None``, ``Literal[...]`` and ``Any``. Values are coerced from what
  YAML and Jinja2 give: ``true``/``yes``/``on``/``1`` and ``false``/``no``/``off``/``0`` (any
  case) are booleans, ``"42"``, ``"0o644"`` and ``"0x1F"`` integers, ``"1.5"`` a float, a
  number a ``str`` where one is wanted; nothing else is converted. Annotations are
  resolved when the task is registered (``typing.get_type_hints``), so the types they name
  must be importable at run time, not only under ``TYPE_CHECKING``.
* **Documentation.** The docstring is what ``opsrunner plugins`` shows: its first line is the
  summary, its prose follows, and each ``:param name:`` line (continued on the lines indented
  deeper) describes that parameter next to its type and default.
* **Check mode.** Under ``opsrunner run --check`` the task is called as usual with
  ``task.check`` true. It reads the host's state, decides, and returns what it would do
  (``changed=True``, ``msg="would ..."``) without changing anything: no write, no command that
  changes state (reading ones are fine). ``task.engine`` refuses writes in check mode.
* **Idempotence.** Compare the state found with the one wanted and act only on the
  difference: a second run reports ``changed=False``, and check mode reports the ``changed``
  a real run would.
* **Paths (the sysroot rule).** Every absolute path on the host goes through
  ``task.path("/etc/motd")``, whether it is read, written or put in a command. On a real host
  it is returned as is; on a host whose inventory ``data`` has ``sysroot: /var/tmp/web1``
  (the lab's hosts, local tests) it becomes ``/var/tmp/web1/etc/motd``. That is how the same
  code runs on a real engine and in the lab. ``task.get``, ``task.put`` and ``task.fetch`` use
  the path as given: map it first. Messages name the path the admin knows (``/etc/motd``).
* **Commands.** ``task.run(command, env=None, sudo=None, timeout=None, stdin=None,
  check_rc=False)`` runs the shell string ``command`` with ``sh -c`` on the host and returns
  an :class:`opsrunner.CommandResult` (``rc``, ``stdout``, ``stderr``, ``ok``). A non-zero exit
  is not an exception, unless ``check_rc=True``: then :class:`opsrunner.TaskFailed` quotes the
  command and the last line it printed. Quote every value that comes from a parameter, a
  variable or the host with :func:`shlex.quote`, and put ``--`` before path operands.
  ``env`` values reach the command's environment without appearing in any process's argv,
  and ``stdin`` bytes its standard input. ``sudo`` defaults to the host's ``sudo`` setting;
  ``timeout`` (seconds) is capped by the step's ``timeout:``, and a command killed by it has
  ``rc == -1``.
* **Files.** ``task.get(path)`` returns the bytes (``FileNotFoundError`` when the file is
  missing, another ``OSError`` for other file errors); ``task.put(data, path, mode=None)``
  writes through a temporary file and a rename (an existing file keeps its mode and owner, a
  new one gets 0644); ``task.fetch(path, local)`` copies a file to the control node and
  returns its size and sha256.
* **The rest of Task.** ``task.host`` (the inventory host), ``task.vars`` (the host's
  variables at this step), ``task.log(line)`` (a progress line, shown and journaled),
  ``task.confirmed`` (``--yes`` was given: a destructive task refuses without it),
  ``task.engine`` (the engine API session), ``task.fail(message)``.
* **Threads.** A task runs for many hosts at once, in worker threads: keep no module-level
  mutable state.

Results and failures
~~~~~~~~~~~~~~~~~~~~
A task returns an :class:`opsrunner.Result`:

* ``changed``: the task changed the host (in check mode: would change it);
* ``msg``: one line saying what was done, would be done, or why it failed;
* ``failed``: the step failed (the same as raising ``TaskFailed(msg)``);
* ``skipped``: the step did not apply (what a false ``when:`` reports);
* ``rc``, ``stdout``, ``stderr``: a command's outcome (``Result.from_command(res, changed=...)``);
* ``data``: facts for later steps; after ``register: r`` they read ``{{ r.key }}``, next to
  ``r.rc``, ``r.stdout``, ``r.stderr``, ``r.stdout_lines``, ``r.changed``, ``r.failed``,
  ``r.skipped`` and ``r.msg``, which win over ``data`` keys of the same names. ``data`` is not
  part of the reports;
* ``note``: one line for the end-of-run summary, what the admin must know afterwards.

Whatever a task raises becomes that host's step result, and the other hosts go on:

* :class:`opsrunner.TaskFailed` (``task.fail``, ``check_rc=True``, the engine errors): the step
  fails with the exception's message;
* :class:`opsrunner.HostConnectionError`: the step fails with its message and the host is
  unreachable: no further step, always-step or check runs on it;
* :class:`opsrunner.UsageError` (a template or value the task rejects): the step fails with
  its message;
* the step's ``timeout:`` passing: the step fails ("timed out") and the host's connection is
  reset;
* any other exception (``SystemExit`` too): the step fails with ``unexpected ExceptionType:
  message (at file:line)``, the line being the innermost one in the task's own source folder.
  That is a bug report for the plugin's author: a failure the task can foresee is a
  ``TaskFailed`` with a message for the admin. With ``OPSRUNNER_TRACEBACK=1`` in the
  environment the whole traceback (redacted) is added to the host's log lines.

A return value that is not a Result fails the step as well. A failed step ends the host's run
(its always-steps still run) unless the step says ``on_error: continue``.

Secrets
~~~~~~~
Secret values come from the inventory (``{secret_env: NAME}``, ``{secret_file: PATH}``) and
reach a task through its parameters or ``task.vars``. A task never puts one in a command line
(any user of the host sees argv with ``ps``), in ``msg``, ``note``, ``data``, a log line or an
exception's message: it passes secrets with ``env=`` or ``stdin=``. The runner also masks
every secret value it knows in what it reports (output, messages, log lines, the journal),
but a secret the task reads or derives itself is unknown to that masking. The value of a
parameter whose name contains ``password``, ``passwd``, ``secret``, ``token``, ``passphrase``
or ``private_key`` is never shown in a validation error.

Testing
-------
Installing opsrunner gives every pytest session of that environment the helpers of
:mod:`opsrunner.testing`: the ``make_task`` fixture (a Task for a ``local`` host whose sysroot
is the test's ``tmp_path``) and ``tree_state`` (to prove check mode changed nothing).

A complete plugin
-----------------
The distribution ``opsrunner-motd``: one module, its project file, its tests. Install it
next to opsrunner (``pip install .``); ``opsrunner plugins`` then lists ``motd``. While
developing, the module alone also works from a folder, without installing:
``opsrunner run motd.yml -i INVENTORY --plugin-dir FOLDER``.

``opsrunner_motd.py``::

    """The ``motd`` task: the message of the day users see when they log in."""

    from __future__ import annotations

    import shlex

    from opsrunner import Registry, Result, Task, hookimpl


    def motd(task: Task, *, text: str, path: str = "/etc/motd",
             keep_original: bool = True) -> Result:
        """Make the message-of-the-day file hold exactly ``text``.

        :param text: the message; a final newline is added when it has none.
        :param path: the absolute path of the file on the host.
        :param keep_original: before the first change, copy the file as it was to
            ``<path>.orig`` (mode and owner kept); an existing ``.orig`` is never replaced.

        Changed when the file's content differs from ``text``. A new file gets mode 0644, an
        existing one keeps its mode and owner. data["path"] is the file.
        """
        if not path.startswith("/"):
            task.fail(f"path must be absolute, got {path!r}")
        wanted = (text if text.endswith("\n") else text + "\n").encode()
        target = task.path(path)  # where the host's file really is (under its sysroot)
        try:
            current: bytes | None = task.get(target)
        except FileNotFoundError:
            current = None
        data = {"path": path}
        if current == wanted:
            return Result(msg=f"{path} is up to date", data=data)
        if task.check:
            return Result(changed=True, msg=f"would write {path}", data=data)
        if current is not None and keep_original:
            old, orig = shlex.quote(target), shlex.quote(target + ".orig")
            task.run(f"[ -e {orig} ] || cp -p -- {old} {orig}", check_rc=True)
        task.put(wanted, target)
        return Result(changed=True, msg=f"wrote {path}", data=data)


    @hookimpl
    def opsrunner_register_tasks(registry: Registry) -> None:
        registry.add_task(motd)

``pyproject.toml``::

    [build-system]
    requires = ["setuptools>=61"]
    build-backend = "setuptools.build_meta"

    [project]
    name = "opsrunner-motd"
    version = "1.0.0"
    description = "The motd task for opsrunner"
    requires-python = ">=3.11"
    dependencies = ["opsrunner"]

    [project.entry-points.opsrunner]
    motd = "opsrunner_motd"

    [tool.setuptools]
    py-modules = ["opsrunner_motd"]

``tests/test_motd.py`` (run with ``pytest``)::

    """The motd task on a local host whose sysroot is the test's tmp_path."""

    from __future__ import annotations

    from pathlib import Path

    from opsrunner.testing import MakeTask, tree_state
    from opsrunner_motd import motd


    def test_writes_the_message_once(make_task: MakeTask, tmp_path: Path) -> None:
        (tmp_path / "etc").mkdir()
        first = motd(make_task(), text="Maintenance tonight")
        assert first.changed and first.msg == "wrote /etc/motd"
        assert (tmp_path / "etc/motd").read_text() == "Maintenance tonight\n"
        assert not motd(make_task(), text="Maintenance tonight").changed


    def test_keeps_the_original_once(make_task: MakeTask, tmp_path: Path) -> None:
        (tmp_path / "etc").mkdir()
        (tmp_path / "etc/motd").write_text("Welcome\n")
        motd(make_task(), text="first")
        motd(make_task(), text="second")
        assert (tmp_path / "etc/motd.orig").read_text() == "Welcome\n"
        assert (tmp_path / "etc/motd").read_text() == "second\n"


    def test_check_mode_changes_nothing(make_task: MakeTask, tmp_path: Path) -> None:
        (tmp_path / "etc").mkdir()
        (tmp_path / "etc/motd").write_text("Welcome\n")
        before = tree_state(tmp_path)
        result = motd(make_task(check=True), text="Maintenance tonight")
        assert result.changed and result.msg == "would write /etc/motd"
        assert tree_state(tmp_path) == before

A workflow that uses it: ``opsrunner run motd.yml -i INVENTORY --check`` says what would
change, without ``--check`` it writes, and a second run reports no change.

``motd.yml``::

    name: Announce the maintenance window
    steps:
      - name: message of the day
        task: motd
        with:
          text: "{{ host.name }}: maintenance tonight from 22:00 to 23:00 UTC."
'''

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
# lines between them; run_halted when the run stops starting steps early (at most once);
# run_finished once, also after a failure or an interrupt. The progress
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
def opsrunner_step_started(report: RunReport, host: str, step: str, always: bool,
                           index: int) -> None:
    """A step starts on a host (its ``when:`` not yet evaluated).

    :param report: the run's report.
    :param host: the host's inventory name.
    :param step: the step's name.
    :param always: whether it is an always-step.
    :param index: the step's position in ``steps`` (or ``always``), from 0.
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
def opsrunner_run_halted(report: RunReport, reason: str) -> None:
    """The run starts no new step from now on (the always-steps still run): Ctrl-C, SIGTERM,
    or a journal that can no longer be written.

    :param report: the run's report (``interrupted`` is set for a signal).
    :param reason: one sentence saying why, e.g. "interrupted by SIGTERM".
    """


@hookspec
def opsrunner_run_finished(report: RunReport) -> None:
    """The run ended (checks included), whatever happened; ``report.exit_code`` is final.

    :param report: the complete report: every host's steps and checks, notes, duration.
    """
