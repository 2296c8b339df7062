"""The fan-out benchmark's figure helpers (medians, ratios, tables); nothing here times anything."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_fanout.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fanout", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_fanout"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_median_skips_missing_values(bench: ModuleType) -> None:
    assert bench.median([3.0, 1.0, 2.0]) == 2.0
    assert bench.median([4.0, 1.0, None, 2.0, 3.0]) == 2.5
    assert bench.median([None, None]) is None
    assert bench.median([]) is None


def test_ratio_is_none_without_a_positive_base(bench: ModuleType) -> None:
    assert bench.ratio(3.0, 2.0) == 1.5
    assert bench.ratio(None, 2.0) is None
    assert bench.ratio(1.0, None) is None
    assert bench.ratio(1.0, 0.0) is None


def test_fmt_and_rotated(bench: ModuleType) -> None:
    assert bench.fmt(1.234) == "1.23"
    assert bench.fmt(1.5, "x") == "1.50x"
    assert bench.fmt(41.6, " ms", 0) == "42 ms"
    assert bench.fmt(None, "x") == "-"
    assert bench.rotated(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert bench.rotated(["a", "b", "c"], 4) == ["b", "c", "a"]
    assert bench.rotated([], 3) == []


def test_format_table_aligns_columns(bench: ModuleType) -> None:
    table = bench.format_table(["tool", "N=10"], [["ssh", "0.42"], ["opsrunner", "1.62"]])
    assert table.splitlines() == [
        "| tool      | N=10 |",
        "|-----------|-----:|",
        "| ssh       | 0.42 |",
        "| opsrunner | 1.62 |",
    ]


def sample(bench: ModuleType, tool: str, wall: float, *, size: int = 10, counted: bool = True,
           ok: bool = True) -> object:
    return bench.Sample(tool, size, 0, counted, ok, wall, wall / 4, wall / 4, wall / 3,
                        wall / 10, "" if ok else "failed")


def test_figures_count_only_counted_successful_runs(bench: ModuleType) -> None:
    samples = [sample(bench, "t", 1.0), sample(bench, "t", 3.0), sample(bench, "t", 2.0),
               sample(bench, "t", 100.0, counted=False), sample(bench, "t", 50.0, ok=False),
               sample(bench, "other", 7.0), sample(bench, "t", 9.0, size=50)]
    figs = bench.figures(samples, "t", 10)
    assert figs.wall == 2.0
    assert figs.controller_cpu == pytest.approx(1.0)
    assert figs.sshd_cpu == pytest.approx(2 / 3)
    assert figs.first_accept == pytest.approx(0.2)
    assert (figs.runs, figs.failed) == (3, 1)
    assert bench.figures(samples, "missing", 10).wall is None


def test_report_tables_ratios_and_absent_tools(bench: ModuleType) -> None:
    def tool(key: str, available: bool = True) -> object:
        return bench.Tool(key, key, lambda n, run: [], lambda n, out: "", available,
                          "" if available else "not installed")

    tools = [tool("openssh"), tool("nornir", available=False), tool("opsrunner")]
    samples = [sample(bench, "openssh", 0.5), sample(bench, "openssh", 0.4),
               sample(bench, "openssh", 0.6), sample(bench, "opsrunner", 1.0),
               sample(bench, "opsrunner", 50.0, ok=False)]
    text = bench.report_tables(tools, [10], samples)
    rows = [[c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ")]
    opsrunner = [r[1:] for r in rows if r[0] == "opsrunner"]
    # summary, ratio to OpenSSH (1.0 / median(0.4, 0.5, 0.6)), controller CPU, sshd CPU, accept
    assert opsrunner == [["1.00 (1 failed)", "0.50 s", "0.33 s"], ["2.00x"], ["0.50"],
                         ["0.33"], ["100"]]
    assert [r[1:] for r in rows if r[0] == "nornir"][:2] == [["not installed", "", ""],
                                                             ["not installed"]]
    assert "Ratio to Nornir" not in text  # no Nornir figures: no such table


def test_checks_read_the_tools_output(bench: ModuleType) -> None:
    assert bench.driver_check(2, '{"ok": 2, "failed": {}}\n') == ""
    assert "1 host(s) failed, e.g. h001: boom" in bench.driver_check(
        2, json.dumps({"ok": 1, "failed": {"h001": "boom"}}))
    assert bench.driver_check(2, "").startswith("no summary line")
    sha = "ab" * 32
    good = {"hosts": {"h000": {"status": "ok", "steps": [
        {"name": "sha256", "stdout": f"{sha}  /x/bench.bin\n"}]}}}
    check = bench.opsrunner_json_check(sha)
    assert check(1, json.dumps(good)) == ""
    assert "expected 2" in check(2, json.dumps(good))
    good["hosts"]["h000"]["status"] = "failed"
    assert "h000: status failed" in check(1, json.dumps(good))


def test_payload_is_4_kib(bench: ModuleType) -> None:
    assert len(bench.make_payload()) == 4096
