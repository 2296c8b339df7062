"""CLI start-up: how long `opsrunner --help` and `opsrunner plugins` take, and what --help imports.

Run: .venv/bin/python benchmarks/bench_startup.py [repeats]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def timed(argv: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    base = [sys.executable, "-m", "opsrunner.cli"]
    for label, argv in (("python -c pass", [sys.executable, "-c", "pass"]),
                        ("opsrunner --help", [*base, "--help"]),
                        ("opsrunner plugins", [*base, "plugins"])):
        t = timed(argv, repeats)
        print(f"{label:<22} median {statistics.median(t) * 1000:7.1f} ms   "
              f"min {min(t) * 1000:7.1f} ms   ({repeats} runs)")
    probe = ("import sys; from click.testing import CliRunner; from opsrunner.cli import main; "
             "CliRunner().invoke(main, ['--help']); print(len(sys.modules))")
    modules = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             check=True).stdout.strip()
    print(f"modules loaded by --help: {modules}")


if __name__ == "__main__":
    main()
