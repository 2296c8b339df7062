"""What a compliance run is made of: controls and profiles; results, waivers, drift, reports.

A **control** is one testinfra check (one test function of a check file, possibly
parametrized) with the metadata an auditor asks for: a stable id (``OLVM-TLS-001``), a title,
an impact from 0.0 (informational) to 1.0 (critical), the OLVM Administration Guide section it
comes from, tags (the workflows that change what it checks), a rationale, and the hosts it
applies to (a host pattern, as a workflow's ``hosts:``). A **profile** is a named set of
controls with their parameters (thresholds).

A compliance run gives one :class:`ControlResult` per control and host, with a status from
:data:`STATUSES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from opsrunner.errors import Location

PASSED, FAILED, WAIVED, SKIPPED, ERROR = "passed", "failed", "waived", "skipped", "error"
STATUSES = (PASSED, FAILED, WAIVED, SKIPPED, ERROR)
"""Every status of a control on a host: ``passed``; ``failed`` (the check found the estate
not as it must be); ``waived`` (failed or error, but a waiver in force covers it: it does not
fail the run); ``skipped`` (the check does not apply to this host, e.g. no engine API
settings); ``error`` (the check could not run: no connection, a broken check)."""

FAILING = (FAILED, ERROR)
"""The statuses that fail the run (exit code 2)."""

IMPACT_NAMES = ((0.7, "critical"), (0.4, "high"), (0.1, "medium"), (0.0, "low"))
"""Impact bands, highest first, as InSpec names them: >= 0.7 critical, >= 0.4 high,
>= 0.1 medium, else low."""


def impact_name(impact: float) -> str:
    """The band of an impact (:data:`IMPACT_NAMES`)."""
    for lowest, name in IMPACT_NAMES:
        if impact >= lowest:
            return name
    return "low"


@dataclass(frozen=True)
class Control:
    """One control of a profile (see the module docstring).

    ``check`` is the check file and ``test`` the test function's name in it; ``location``
    is where the control is declared in the profile file.
    """

    id: str
    title: str
    impact: float
    section: str
    tags: tuple[str, ...]
    rationale: str
    hosts: str
    check: Path
    test: str
    location: Location
    params: Mapping[str, Any] = field(default_factory=dict)
    """The control's thresholds as the profile sets them (``-e`` may override them)."""

    @property
    def node_id(self) -> str:
        """The pytest node id of the control's test (``.../file.py::test_name``)."""
        return f"{self.check}::{self.test}"


@dataclass(frozen=True)
class Profile:
    """A named set of controls (in file order) with its parameters."""

    name: str
    title: str
    path: Path
    controls: dict[str, Control]

    def tagged(self, tag: str) -> list[Control]:
        """The controls tagged ``tag`` (a workflow's name for what it changes)."""
        return [c for c in self.controls.values() if tag in c.tags]


@dataclass(frozen=True)
class Waiver:
    """An accepted deviation: ``control`` failing on the hosts matching ``hosts`` (a
    ``--limit`` expression) is reported as waived until ``expires`` (that day included)."""

    control: str
    hosts: str
    justification: str
    expires: date
    location: Location

    def in_force(self, today: date) -> bool:
        return today <= self.expires


@dataclass
class ControlResult:
    """One control on one host.

    ``evidence`` is what the check recorded (name -> value), kept for drift; ``message`` is
    the evidence line of a failure, skip or error (the check's own words); ``cases`` counts
    the test cases behind the result (a parametrized check has several: all must pass).
    """

    control: str
    host: str
    status: str
    message: str = ""
    evidence: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    cases: int = 1
    waiver: Waiver | None = None
    """The waiver that turned a failure into ``waived``."""


@dataclass(frozen=True)
class EvidenceChange:
    """One piece of evidence that differs from the accepted baseline, and who changed it:
    ``changed_by`` is the opsrunner run id that touched the host in between (its workflow
    tagged on the control), or None: changed outside opsrunner."""

    control: str
    host: str
    name: str
    before: str | None
    after: str | None
    changed_by: str | None = None
    changed_by_workflow: str | None = None


@dataclass(frozen=True)
class StatusChange:
    """A control whose status on a host differs from the accepted baseline."""

    control: str
    host: str
    before: str | None
    """None: not in the baseline (a new control or host)."""
    after: str
    changed_by: str | None = None
    changed_by_workflow: str | None = None

    @property
    def kind(self) -> str:
        """``newly failing``, ``newly passing`` or ``changed``."""
        if self.after in FAILING and self.before not in FAILING:
            return "newly failing"
        if self.after == PASSED and self.before != PASSED:
            return "newly passing"
        return "changed"


@dataclass
class Drift:
    """What changed since the accepted baseline (run ``baseline_run``, accepted at
    ``accepted``)."""

    baseline_run: str
    accepted: str
    statuses: list[StatusChange] = field(default_factory=list)
    evidence: list[EvidenceChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.statuses and not self.evidence


@dataclass
class ComplianceReport:
    """A whole compliance run: the profile, the hosts, every result, the waivers that
    applied or expired, and the drift against the accepted baseline (None: no baseline)."""

    run_id: str
    profile: Profile
    started: str
    """UTC, ISO 8601 with milliseconds and a ``Z`` (as the run journals)."""
    hosts: list[str]
    results: list[ControlResult] = field(default_factory=list)
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)
    """Expired waivers and other remarks, for every report."""
    waivers: list[Waiver] = field(default_factory=list)
    """Every waiver of the file given, in force or not."""
    drift: Drift | None = None
    accepted: bool = False
    """This run was recorded as the new accepted baseline (``--accept``)."""
    inventory: str = ""
    limit: str | None = None

    def result(self, control: str, host: str) -> ControlResult | None:
        for item in self.results:
            if item.control == control and item.host == host:
                return item
        return None

    def counts(self) -> dict[str, int]:
        """How many results have each status (every status present, 0 if none)."""
        found = dict.fromkeys(STATUSES, 0)
        for item in self.results:
            found[item.status] += 1
        return found

    @property
    def exit_code(self) -> int:
        """0 when every control that was not waived passed (or was skipped), else 2."""
        return 2 if any(r.status in FAILING for r in self.results) else 0
