"""``--limit`` and ``hosts:`` with long or deep host patterns: no traceback, a clear error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from opsrunner.inventory.patterns import MAX_NESTING

Cli = Callable[..., tuple[int, str, str]]
WORKFLOW = """
    name: t
    hosts: {hosts}
    steps:
      - {{name: s, task: command, with: {{cmd: "true"}}}}
"""


@pytest.mark.parametrize("limit", [
    " | ".join(["h1", "h2"] * 5_000),
    " & ".join(["all_local"] * 9_999 + ["h2"]),
    ",".join(["h2"] * 10_000),
    "!" * 10_000 + "h2",
    "(" * MAX_NESTING + "h2" + ")" * MAX_NESTING,
])
def test_long_limits_select(cli: Cli, write_workflow: Callable[..., Path],
                            local_inventory: Callable[..., Path], limit: str) -> None:
    workflow = write_workflow(WORKFLOW.format(hosts="all"))
    code, out, err = cli("validate", str(workflow), "-i", str(local_inventory()), "-l", limit)
    assert code == 0, err
    assert "host(s): h2" in out or "host(s): h1, h2" in out


def test_deep_limit_is_a_clear_error(cli: Cli, write_workflow: Callable[..., Path],
                                     local_inventory: Callable[..., Path]) -> None:
    workflow = write_workflow(WORKFLOW.format(hosts="all"))
    limit = "(" * 330 + "h2" + ")" * 330
    code, _, err = cli("validate", str(workflow), "-i", str(local_inventory()), "-l", limit)
    assert code == 1
    assert "Traceback" not in err
    assert (f"column {MAX_NESTING + 1}: parentheses nest deeper than {MAX_NESTING} levels "
            f"(the limit)") in err
    assert len(err) < 300


def test_deep_hosts_is_located_in_the_workflow(cli: Cli, write_workflow: Callable[..., Path],
                                               local_inventory: Callable[..., Path]) -> None:
    workflow = write_workflow(WORKFLOW.format(hosts="'" + "(" * 330 + "h2" + ")" * 330 + "'"))
    code, _, err = cli("validate", str(workflow), "-i", str(local_inventory()))
    assert code == 1
    assert f"{workflow}:3:8: 'hosts': host pattern " in err
    assert f"column {MAX_NESTING + 1}: parentheses nest deeper" in err


def test_unknown_name_in_hosts_is_located_in_the_workflow(
        cli: Cli, write_workflow: Callable[..., Path],
        local_inventory: Callable[..., Path]) -> None:
    workflow = write_workflow(WORKFLOW.format(hosts="'h1 | nope'"))
    code, _, err = cli("validate", str(workflow), "-i", str(local_inventory()))
    assert code == 1
    assert (f"{workflow}:3:8: 'hosts': host pattern 'h1 | nope', column 6: no host or group "
            f"is called 'nope'") in err
