"""Admission control: which steps may still start in the open maintenance window.

Before each step on each host, the runner asks :meth:`Admission.defers`. The step is admitted
when ``now + estimate + reserve`` is before the window's close, where

* ``estimate`` is the step's ``estimate:`` when the workflow gives one, else the 95th
  percentile of the step's durations in earlier runs of the workflow (that host's when it has
  at least :data:`MIN_SAMPLES` of them, else every host's); a step never measured and without
  ``estimate:`` is admitted (nothing predicts it), and the report says so;
* ``reserve`` is what must still fit after it: the host's always-steps (their estimates, the
  same way) plus the task's rollback reserve (:attr:`opsrunner.taskspec.TaskSpec.reserve`).

After the close nothing starts; a step still running at ``cut`` (close plus drain grace) is cut
like a step timeout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from opsrunner.windows.model import Opening
from opsrunner.workflow.model import Step

MIN_SAMPLES = 3
"""Durations of a host's own runs needed before they speak for it (else: all hosts')."""


def percentile_95(samples: Sequence[float]) -> float:
    """The nearest-rank 95th percentile of ``samples`` (not empty)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Estimate:
    """What a step is expected to take, and where the figure came from."""

    seconds: float
    source: str
    """"estimate: in the workflow", "p95 of 12 earlier runs on node1", ..."""


@dataclass
class Estimator:
    """Step estimates from the workflow and from the journal's history.

    ``history`` and ``always_history``: step index -> host -> durations (seconds), as
    :func:`opsrunner.state.history.host_step_durations` returns them.
    """

    history: Mapping[int, Mapping[str, Sequence[float]]] = field(default_factory=dict)
    always_history: Mapping[int, Mapping[str, Sequence[float]]] = field(default_factory=dict)

    def estimate(self, step: Step, host: str, *, always: bool = False) -> Estimate | None:
        if step.estimate is not None:
            return Estimate(step.estimate, "estimate: in the workflow")
        by_host = (self.always_history if always else self.history).get(step.index, {})
        own = list(by_host.get(host, ()))
        if len(own) >= MIN_SAMPLES:
            return Estimate(percentile_95(own), f"p95 of {len(own)} earlier runs on {host}")
        every = [d for durations in by_host.values() for d in durations]
        if every:
            return Estimate(percentile_95(every), f"p95 of {len(every)} earlier runs")
        return None


@dataclass(frozen=True)
class Deferral:
    """Why a step was not started: it would end after the window closes."""

    estimate: float
    """Seconds: the step's estimate plus what must fit after it."""
    ends: datetime
    closes: datetime
    detail: str

    @property
    def message(self) -> str:
        return (f"deferred to the next window: it would end about {_clock(self.ends)}, after "
                f"the window closes at {_clock(self.closes)} ({self.detail})")


@dataclass
class Admission:
    """The open window of a run (``opening``) and how steps are admitted into it."""

    opening: Opening
    estimator: Estimator
    reserve_of: Callable[[str], float]
    """A task name -> its rollback reserve in seconds."""

    @staticmethod
    def clock() -> datetime:
        return datetime.now(UTC)

    def closed(self) -> bool:
        return self.clock() >= self.opening.closes

    def seconds_to_cut(self) -> float:
        """Seconds until running steps are cut (0 when that moment passed)."""
        return max(0.0, (self.opening.cut - self.clock()).total_seconds())

    def defers(self, step: Step, host: str, always_steps: Sequence[Step]) -> Deferral | None:
        """A Deferral when ``step`` on ``host`` would not end, with its always-steps and the
        task's rollback reserve, before the close; None when it is admitted."""
        now = self.clock()
        if now >= self.opening.closes:
            return Deferral(0.0, now, self.opening.closes, "the window has closed")
        estimate = self.estimator.estimate(step, host)
        if estimate is None:
            return None
        parts = [f"{_minutes(estimate.seconds)} for the step ({estimate.source})"]
        total = estimate.seconds
        reserve = self.reserve_of(step.task)
        if reserve:
            total += reserve
            parts.append(f"{_minutes(reserve)} for {step.task}'s rollback")
        after = 0.0
        for always in always_steps:
            known = self.estimator.estimate(always, host, always=True)
            after += known.seconds if known is not None else 0.0
        if after:
            total += after
            parts.append(f"{_minutes(after)} for the always-steps")
        ends = now + timedelta(seconds=total)
        if ends <= self.opening.closes:
            return None
        return Deferral(total, ends, self.opening.closes, ", ".join(parts))

    def describe(self) -> dict[str, object]:
        """The report's ``window`` object."""
        o = self.opening
        return {"name": o.window, "opens": o.opens.isoformat(), "closes": o.closes.isoformat(),
                "cut": o.cut.isoformat(), "timezone": str(o.opens.tzinfo)}


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M %Z").strip()


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f} min"

