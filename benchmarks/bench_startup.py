"""CLI start-up: how long `opsrunner --help` and `opsrunner plugins` take, and what --help imports.

Run: .venv/bin/python benchmarks/bench_startup.py [--repeats N] [--against REV]

Every figure is printed with its ratio to bare ``python -c pass`` measured in the same run;
``--against REV`` also times ``--help`` of an earlier commit (checked out in a temporary git
worktree, imported from there with this venv's libraries), interleaved with this tree's runs
so both see the same machine load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def once(argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env, cwd=cwd)
    return time.perf_counter() - started


def modules_loaded(env: dict[str, str] | None = None, cwd: str | None = None) -> str:
    probe = ("import sys; from click.testing import CliRunner; from opsrunner.cli import main; "
             "CliRunner().invoke(main, ['--help']); print(len(sys.modules))")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, env=env, cwd=cwd).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--against", metavar="REV", help="an earlier commit to compare --help with")
    args = parser.parse_args()
    base = [sys.executable, "-m", "opsrunner.cli"]
    cases: dict[str, tuple[list[str], dict[str, str] | None, str | None]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], None, None),
        "opsrunner --help": ([*base, "--help"], None, None),
        "opsrunner plugins": ([*base, "plugins"], None, None),
    }
    with tempfile.TemporaryDirectory(prefix="opsrunner-bench-") as tmp:
        if args.against:
            tree = Path(tmp) / "tree"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree),
                            args.against], check=True, capture_output=True)
            env = {**os.environ, "PYTHONPATH": str(tree)}
            cases[f"--help at {args.against}"] = ([*base, "--help"], env, tmp)
        try:
            times: dict[str, list[float]] = {label: [] for label in cases}
            for _ in range(args.repeats):  # interleaved: each round runs every case once
                for label, (argv, env_, cwd) in cases.items():
                    times[label].append(once(argv, env_, cwd))
            floor = statistics.median(times["python -c pass"])
            for label, t in times.items():
                median = statistics.median(t)
                print(f"{label:<28} median {median * 1000:7.1f} ms   min {min(t) * 1000:7.1f} ms"
                      f"   {median / floor:5.2f}x python   ({args.repeats} runs)")
            print(f"modules loaded by --help: {modules_loaded()}")
            if args.against:
                _, env_, cwd = cases[f"--help at {args.against}"]
                print(f"modules loaded by --help at {args.against}: {modules_loaded(env_, cwd)}")
                ratio = (statistics.median(times["opsrunner --help"])
                         / statistics.median(times[f"--help at {args.against}"]))
                print(f"--help now / at {args.against}: {ratio:.2f}")
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(Path(tmp) / "tree")], check=False, capture_output=True)


if __name__ == "__main__":
    main()
