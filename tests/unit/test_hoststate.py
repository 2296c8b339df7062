"""A host's template context: the run-time names are set over every other source."""

from __future__ import annotations

from typing import Any

from opsrunner.host import Host
from opsrunner.hoststate import RUNTIME_NAMES, HostSession, HostState


def _state(host: Host, extra: dict[str, Any] | None = None) -> HostState:
    def no_connection() -> Any:
        raise AssertionError("never connects")

    return HostState(host, HostSession(no_connection), workflow_vars={}, extra_vars=extra or {},
                     check=True, run_id="r1")


def test_the_runtime_names_are_exactly_what_the_state_sets() -> None:
    assert set(_state(Host(name="h1", hostname="a")).context()) == RUNTIME_NAMES


def test_the_runtime_names_win_over_inventory_extra_vars_and_registered_results() -> None:
    taken = dict.fromkeys(RUNTIME_NAMES, "user value")
    state = _state(Host(name="h1", hostname="a", data=taken), taken)
    state.registered.update(taken)
    context = state.context()
    assert (context["inventory_hostname"], context["check_mode"], context["run_id"]) == (
        "h1", True, "r1")
    assert context["host"] != "user value"
