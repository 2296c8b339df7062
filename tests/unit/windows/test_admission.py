"""Admission into an open window: estimates from the workflow and the history, reserves,
deferral messages. Windows are real: they opened a minute ago and close soon."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsrunner.windows.admission import Admission, Estimator, percentile_95
from opsrunner.windows.model import Opening
from opsrunner.workflow.model import Step

TOKYO = ZoneInfo("Asia/Tokyo")


def _opening(closes_in: float, grace: float = 60.0) -> Opening:
    now = datetime.now(TOKYO)
    closes = now + timedelta(seconds=closes_in)
    return Opening("sunday-night", now - timedelta(minutes=1), closes,
                   now + timedelta(minutes=14), closes + timedelta(seconds=grace))


def _admission(closes_in: float, history=None, always_history=None, reserves=None) -> Admission:
    return Admission(_opening(closes_in), Estimator(history or {}, always_history or {}),
                     lambda task: (reserves or {}).get(task, 0.0))


def test_percentile_95_is_the_nearest_rank():
    assert percentile_95([5.0]) == 5.0
    assert percentile_95([float(i) for i in range(1, 21)]) == 19.0
    assert percentile_95([float(i) for i in range(1, 101)]) == 95.0


def test_a_host_speaks_for_itself_after_three_runs_else_every_host_does():
    estimator = Estimator({0: {"a": [10.0, 12.0], "b": [100.0, 100.0, 100.0]}})
    step = Step("vacuum", "vacuum", index=0)
    b = estimator.estimate(step, "b")
    assert b is not None and (b.seconds, b.source) == (100.0, "p95 of 3 earlier runs on b")
    a = estimator.estimate(step, "a")
    assert a is not None and (a.seconds, a.source) == (100.0, "p95 of 5 earlier runs")
    assert estimator.estimate(Step("new", "command", index=1), "a") is None
    given = estimator.estimate(Step("vacuum", "vacuum", index=0, estimate=30.0), "b")
    assert given is not None and given.source == "estimate: in the workflow"


def test_a_step_that_fits_is_admitted_and_one_that_does_not_is_deferred_with_the_reason():
    step = Step("vacuum", "vacuum", index=0, estimate=60.0)
    assert _admission(closes_in=3600).defers(step, "engine", []) is None
    deferral = _admission(closes_in=30).defers(step, "engine", [])
    assert deferral is not None and deferral.estimate == 60.0
    assert deferral.message.startswith("deferred to the next window: it would end about ")
    assert "60s for the step (estimate: in the workflow)" in deferral.message


def test_the_always_steps_and_the_rollback_reserve_must_fit_too():
    step = Step("certs", "cert_replace", index=0, estimate=60.0)
    always = [Step("start engine", "service", index=0, estimate=120.0)]
    admission = _admission(closes_in=300, reserves={"cert_replace": 180.0})
    deferral = admission.defers(step, "engine", always)
    assert deferral is not None and deferral.estimate == pytest.approx(360.0)
    assert "3 min for cert_replace's rollback" in deferral.message
    assert "2 min for the always-steps" in deferral.message
    assert _admission(closes_in=400, reserves={"cert_replace": 180.0}).defers(
        step, "engine", always) is None


def test_after_the_close_nothing_is_admitted_and_an_unmeasured_step_is_admitted_before():
    unmeasured = Step("new", "command", index=3)
    assert _admission(closes_in=5).defers(unmeasured, "h", []) is None
    closed = _admission(closes_in=-1)
    assert closed.closed()
    deferral = closed.defers(unmeasured, "h", [])
    assert deferral is not None and "the window has closed" in deferral.message
    assert closed.seconds_to_cut() == pytest.approx(59, abs=2)
