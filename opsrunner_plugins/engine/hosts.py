"""``api.host_maintenance`` and ``api.host_activate``: hosts in and out of maintenance,
by name or a whole cluster, rolling one host at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsrunner import FAILURE_STATUSES, EngineError, EngineSession, Result, Task, status_value
from opsrunner_plugins.engine.common import (
    deadline,
    event_mark,
    events_since,
    progress,
    returning_status,
    with_events,
)


@dataclass(frozen=True)
class _Move:
    """One direction: the action, the status it leads to, the statuses passed on the way."""

    action: str
    wanted: str
    passing: frozenset[str]
    done_words: str


_TO_MAINTENANCE = _Move("deactivate", "maintenance", frozenset({"preparing_for_maintenance"}),
                        "in maintenance")
_TO_UP = _Move("activate", "up", frozenset({"unassigned", "initializing", "connecting"}), "up")


def host_maintenance(task: Task, *, hosts: list[str] | None = None, cluster: str | None = None,
                     reason: str | None = None, timeout: float = 600) -> Result:
    """Put hosts into maintenance in the engine, one at a time (their VMs migrate away).

    :param hosts: the hosts' names in the engine, in the order they go.
    :param cluster: instead of hosts: every host of this cluster, in name order.
    :param reason: why, recorded by the engine with the maintenance.
    :param timeout: seconds each host may take to reach maintenance.

    A host already in maintenance is left alone (ok). Each host must reach maintenance before
    the next one starts; the first that fails stops the roll (later hosts are not touched), and
    the message quotes the engine's refusal or its events about the host. Runs on a host whose
    variables (or the inventory's engine host) give the engine API settings.
    data["hosts"]: host name -> status (planned status in check mode).
    """
    params = {"reason": reason} if reason else {}
    return _roll(task, _TO_MAINTENANCE, hosts, cluster, timeout, params)


def host_activate(task: Task, *, hosts: list[str] | None = None, cluster: str | None = None,
                  timeout: float = 600) -> Result:
    """Activate hosts in the engine (back from maintenance to up), one at a time.

    :param hosts: the hosts' names in the engine, in the order they go.
    :param cluster: instead of hosts: every host of this cluster, in name order.
    :param timeout: seconds each host may take to come up.

    A host already up is left alone (ok). The first host that fails (non_operational,
    non_responsive, install_failed...) stops the roll. data["hosts"]: host name -> status.
    """
    return _roll(task, _TO_UP, hosts, cluster, timeout, {})


def _roll(task: Task, move: _Move, hosts: list[str] | None, cluster: str | None,
          timeout: float, params: dict[str, Any]) -> Result:
    session = task.engine
    targets = _targets(task, session, hosts, cluster)
    statuses = {str(h.name): status_value(h) for h in targets}
    todo = [h for h in targets if statuses[h.name] != move.wanted]
    if task.check or not todo:
        planned = {**statuses, **{str(h.name): move.wanted for h in todo}}
        return Result(changed=bool(todo), msg=_summary(task, move, todo, targets),
                      data={"hosts": planned})
    done: list[str] = []
    for index, host in enumerate(todo):
        try:
            statuses[host.name] = _move_host(task, session, move, host, timeout, params)
        except EngineError as exc:
            left = [str(h.name) for h in todo[index + 1:]]
            task.fail(f"{exc}" + (f"; already {move.done_words}: {', '.join(done)}" if done
                                   else "") + (f"; not started: {', '.join(left)}" if left
                                              else ""))
        done.append(str(host.name))
    return Result(changed=True, msg=_summary(task, move, todo, targets),
                  data={"hosts": statuses})


def _move_host(task: Task, session: EngineSession, move: _Move, host: Any, timeout: float,
               params: dict[str, Any]) -> str:
    """Bring one host to ``move.wanted``; its new status."""
    name = str(host.name)
    service = session.service("hosts", host.id)
    with session.errors(f"read host {name}"):
        current = status_value(service.get())
    if current == move.wanted:
        return current
    mark = event_mark(session)
    if current not in move.passing:
        suffix = f" ({params['reason']})" if params.get("reason") else ""
        task.log(f"host {name}: {current} -> {move.action}{suffix}")
        session.act(service, move.action, f"{move.action} host {name}", **params)
    # The status the host starts from is no failure (a non_operational host going to maintenance
    # may still show it on the first poll); falling back to it means the engine gave up.
    status_of, again = returning_status(current, move.passing)
    failures = (FAILURE_STATUSES - {current}) | {again}
    try:
        session.wait_for_status(service, move.wanted, deadline=deadline(task, timeout),
                                describe=f"host {name}", failure_statuses=failures,
                                status_of=status_of, on_status=progress(task, f"host {name}"))
    except EngineError as exc:
        events = events_since(session, mark, lambda e: e.host is not None
                              and e.host.id == host.id)
        raise EngineError(with_events(str(exc), events)) from exc
    return move.wanted


def _targets(task: Task, session: EngineSession, hosts: list[str] | None,
             cluster: str | None) -> list[Any]:
    """The engine hosts named (all found before anything changes), or those of ``cluster``."""
    if hosts is not None and cluster is not None:
        task.fail("give hosts or cluster, not both")
    if cluster is not None:
        found = session.find("clusters", cluster)
        members = [h for h in session.search("hosts", f'cluster="{cluster}"')
                   if h.cluster is not None and h.cluster.id == found.id]
        if not members:
            task.fail(f"cluster {cluster!r} has no hosts")
        return sorted(members, key=lambda h: str(h.name))
    if not hosts:
        task.fail("give hosts (their names in the engine) or cluster")
    if len(set(hosts)) != len(hosts):
        task.fail(f"hosts lists a host twice: {', '.join(hosts)}")
    return [session.find("hosts", name) for name in hosts]


def _summary(task: Task, move: _Move, todo: list[Any], targets: list[Any]) -> str:
    if not todo:
        return f"already {move.done_words}: {', '.join(str(h.name) for h in targets)}"
    names = ", ".join(str(h.name) for h in todo)
    verb = {"deactivate": "put into maintenance", "activate": "activated"}[move.action]
    if task.check:
        verb = {"deactivate": "would put into maintenance", "activate": "would activate"}[
            move.action]
    moving = {str(h.name) for h in todo}
    rest = [str(h.name) for h in targets if str(h.name) not in moving]
    return f"{verb}: {names}" + (f" (already {move.done_words}: {', '.join(rest)})" if rest
                                 else "")
