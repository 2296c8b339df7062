"""Read-only checks: ``wait_for`` (a port or URL answers) and ``assert`` (expressions hold).

Neither changes anything (changed is always false); both run in check mode too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from opsrunner import Registry, Result, Task, TemplateError, evaluate, hookimpl
from opsrunner_plugins.checks import probe as _probe

_SSH_SLACK = 30.0  # seconds the remote run may take beyond the probe's own timeout


def wait_for(task: Task, *, port: int | None = None, host: str = "127.0.0.1",
             url: str | None = None, ca_file: str | None = None,
             status: list[int] | None = None,
             state: Literal["started", "stopped"] = "started", timeout: float = 60,
             delay: float = 0, sleep: float = 1, from_control: bool = False) -> Result:
    """Wait until a TCP port or an HTTP(S) URL answers (or stops answering).

    :param port: TCP port to connect to on ``host`` (give port or url).
    :param host: address the port is probed on, as seen from where the check runs.
    :param url: http:// or https:// URL to GET (redirects are not followed).
    :param ca_file: PEM CA bundle on the control node to verify the URL's certificate
        (default: the system trust store of where the check runs).
    :param status: HTTP statuses that count (default: any HTTP answer).
    :param state: started: wait until it answers; stopped: until it no longer answers.
    :param timeout: seconds to wait in all, counted from the start (capped by the step's).
    :param delay: seconds to wait before the first probe.
    :param sleep: seconds between probes.
    :param from_control: probe from the control node instead of from the host (the default
        runs ``python3`` on the host, so 127.0.0.1 is the host's loopback).
    """
    _validate(task, port, url, ca_file, status, timeout, delay, sleep)
    cadata = _read_ca(task, ca_file) if ca_file else None
    budget = float(task.remaining(timeout) or 0)
    arguments: dict[str, Any] = {"host": host, "port": port, "url": url, "cadata": cadata,
                                 "status": status, "state": state, "timeout": budget,
                                 "delay": delay, "sleep": sleep}
    outcome = _probe.wait(**arguments) if from_control else _wait_on_host(task, arguments)
    goal = _goal(url or f"{host}:{port}", url is not None, state, status)
    if outcome["ok"]:
        return Result(msg=f"{goal}: done after {outcome['elapsed']:.1f}s",
                      data={"elapsed": outcome["elapsed"]})
    return Result(failed=True, data={"elapsed": outcome["elapsed"]},
                  msg=f"timed out after {budget:g}s waiting for {goal} "
                      f"(last probe: {outcome['detail']})")


def assert_(task: Task, *, that: list[str], msg: str | None = None,
            success_msg: str | None = None) -> Result:
    """Fail unless every Jinja2 expression in ``that`` is true for this host's variables.

    :param that: expressions as in ``when:``, e.g. "free_gb > 10" or "'4.5' in engine_version".
    :param msg: message when one is false (the false expression is appended).
    :param success_msg: message when all are true.
    """
    if not that:
        task.fail("that: give at least one expression")
    for expression in that:
        try:
            value = evaluate(expression, task.vars)
        except TemplateError as exc:
            return Result(failed=True, data={"failed_assertion": expression},
                          msg=f"cannot evaluate assertion {expression!r}: {exc}")
        if not value:
            text = f"{msg} (false: {expression})" if msg else f"assertion failed: {expression}"
            return Result(failed=True, msg=text, data={"failed_assertion": expression})
    return Result(msg=success_msg or f"all {len(that)} assertions passed")


def _validate(task: Task, port: int | None, url: str | None, ca_file: str | None,
              status: list[int] | None, timeout: float, delay: float, sleep: float) -> None:
    """Fail on parameters that cannot work, before anything runs."""
    if (port is None) == (url is None):
        task.fail("give exactly one of port or url")
    if port is not None and not 0 < port < 65536:
        task.fail(f"port must be 1-65535, got {port}")
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        task.fail(f"url must start with http:// or https://, got {url!r}")
    if ca_file is not None and not (url or "").startswith("https://"):
        task.fail("ca_file applies to https:// URLs only")
    if status is not None and url is None:
        task.fail("status applies to url only")
    if timeout < 0 or delay < 0 or sleep <= 0:
        task.fail("timeout and delay must be >= 0 and sleep > 0")


def _goal(what: str, is_url: bool, state: str, status: list[int] | None) -> str:
    if is_url:
        wanted = f" with HTTP {', '.join(map(str, status))}" if status else ""
        return f"{what} to answer{wanted}" if state == "started" else f"{what} to stop answering"
    return f"{what} to accept connections" if state == "started" else \
        f"{what} to stop accepting connections"


def _read_ca(task: Task, ca_file: str) -> str:
    try:
        return Path(ca_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        task.fail(f"cannot read ca_file {ca_file} on the control node: {exc}")


def _wait_on_host(task: Task, arguments: dict[str, Any]) -> dict[str, Any]:
    res = task.run("python3 -", sudo=False, timeout=arguments["timeout"] + _SSH_SLACK,
                   stdin=_probe.script(arguments).encode())
    lines = res.stdout.strip().splitlines()
    if res.rc != 0 or not lines:
        detail = (res.stderr or res.stdout).strip().splitlines()
        task.fail(f"cannot run the wait_for probe with python3 on {task.host.name} "
                  f"(exit status {res.rc})" + (f": {detail[-1]}" if detail else ""))
    outcome: dict[str, Any] = json.loads(lines[-1])
    return outcome


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(wait_for, name="wait_for", idempotent=True)
    registry.add_task(assert_, name="assert", idempotent=True)
