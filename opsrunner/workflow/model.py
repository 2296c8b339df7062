"""The workflow model: validated :class:`Workflow` and :class:`Step` objects.

Built by :func:`opsrunner.workflow.load_workflow`; the format is described in
:mod:`opsrunner.workflow`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsrunner.errors import Location
from opsrunner.yamlsrc import Positions

_NOWHERE = Location("<workflow>")


@dataclass(frozen=True)
class Step:
    """One validated step. ``location`` is the step's first key; ``arg_locations`` and
    ``field_locations`` give the value location of each ``with:`` parameter and step key."""

    name: str
    task: str
    args: dict[str, Any] = field(default_factory=dict)
    when: str | bool | None = None
    register: str | None = None
    retries: int = 0
    delay: float = 1.0
    until: str | None = None
    timeout: float | None = None
    estimate: float | None = None
    """Seconds the step is expected to take (``estimate:``), over what earlier runs measured;
    a maintenance window admits the step only when it would end before the close."""
    on_error: str = "fail"
    run_once: bool = False
    index: int = -1
    """The step's position in its list (``steps`` or ``always``), from 0; how the journal and
    ``--resume`` tell steps apart (names may repeat)."""
    location: Location = _NOWHERE
    arg_locations: dict[str, Location] = field(default_factory=dict)
    field_locations: dict[str, Location] = field(default_factory=dict)


@dataclass(frozen=True)
class Workflow:
    """One validated workflow file; ``batch`` is an int or a ``"N%"`` string. ``notes`` are
    what the user should hear about although the file is valid (a task's former name)."""

    name: str
    hosts: str = "all"
    strategy: str = "parallel"
    batch: int | str = 1
    max_fail_percentage: float = 0.0
    window: str | None = None
    """The maintenance window the workflow runs in (``window:``), by name."""
    vars: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    always: list[Step] = field(default_factory=list)
    verify: list[Path] = field(default_factory=list)
    profile: Path | None = None
    """The compliance profile's folder (``profile:``): after the workflow's own checks, its
    controls tagged with the workflow's file name (without ``.yml``) run on the hosts."""
    path: Path = Path("<workflow>")
    positions: Positions = field(default_factory=lambda: Positions("<workflow>", {}, {}))
    notes: list[str] = field(default_factory=list)

    def var_locations(self) -> dict[str, Location]:
        """Where each of ``vars`` is written, by name (for errors rendering it per host)."""
        return {name: self.positions.value(("vars", name)) for name in self.vars}
