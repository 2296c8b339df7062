"""Scale: `opsrunner validate` of N steps and `opsrunner inventory` of N hosts, per item.

Run: .venv/bin/python benchmarks/bench_scale.py [--sizes 1000,10000] [--repeats 3]
        [--against REV] [--timeout SECONDS]

Cases, each generated for every size N (in a temporary folder):
  validate        a workflow of N steps (each templated, reading the one before it's register)
  validate -i     the same, checked against a one-host inventory (undefined variables)
  inventory       a SimpleInventory folder of N hosts in 50 groups, a secret per host
  inventory (A)   an Ansible YAML file of the same hosts and secrets
Every figure is the median wall time of ``--repeats`` runs of the console command, less the
median of the same case at N=1 (its fixed cost: start-up, imports) measured in the same run,
then divided by N; the ratio compares it with the smallest size's: about 1 when the time is
linear in N, about N/N0 when it is quadratic. ``--against REV`` runs the same cases on an earlier commit
(checked out in a temporary git worktree, this venv's libraries), interleaved; a case over
``--timeout`` seconds is reported as such and not repeated.
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
GROUPS = 50


def write_workflow(path: Path, steps: int) -> None:
    lines = ["name: scale", "hosts: all", "vars: {greeting: hi}", "steps:"]
    for i in range(steps):
        before = f"{{{{ r{i - 1}.rc }}}}" if i else "first"
        lines.append(f"  - name: step {i}\n    task: command\n"
                     f"    with: {{cmd: \"echo {{{{ greeting }}}} {before}\"}}\n    register: r{i}")
    path.write_text("\n".join(lines) + "\n")


def write_inventories(folder: Path, hosts: int) -> tuple[Path, Path, dict[str, str]]:
    """A SimpleInventory folder and an Ansible file of ``hosts`` hosts, and the environment
    holding their secrets."""
    simple = folder / f"simple{hosts}"
    simple.mkdir()
    (simple / "groups.yaml").write_text(
        "".join(f"g{g}: {{groups: [fleet], data: {{rack: {g}}}}}\n" for g in range(GROUPS))
        + "fleet: {}\n")
    (simple / "hosts.yaml").write_text("".join(
        f"h{i}:\n  hostname: 10.{i // 62500}.{i // 250 % 250}.{i % 250}\n  groups: [g{i % GROUPS}]\n"
        f"  password_env: OPS_BENCH_PW_{i}\n  data: {{index: {i}}}\n" for i in range(hosts)))
    ansible = folder / f"ansible{hosts}.yml"
    body = ["all:", "  vars: {ansible_user: root}", "  children:"]
    for g in range(GROUPS):
        body.append(f"    g{g}:\n      vars: {{rack: {g}}}\n      hosts:")
        body += [f"        h{i}: {{ansible_host: 10.0.0.{i % 250}, index: {i}, "
                 f"ansible_password: {{secret_env: OPS_BENCH_PW_{i}}}}}"
                 for i in range(g, hosts, GROUPS)]
    ansible.write_text("\n".join(body) + "\n")
    return simple, ansible, {f"OPS_BENCH_PW_{i}": f"password-{i:06d}" for i in range(hosts)}


def once(argv: list[str], env: dict[str, str], cwd: str, timeout: float) -> float | None:
    """Seconds the command took (it must succeed), or None past ``timeout``."""
    started = time.perf_counter()
    try:
        subprocess.run(argv, check=True, capture_output=True, env=env, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="an earlier commit to compare with")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    sizes = sorted({1, *(int(s) for s in args.sizes.split(","))})
    base = [sys.executable, "-m", "opsrunner.cli"]
    with tempfile.TemporaryDirectory(prefix="opsrunner-scale-") as tmp:
        folder = Path(tmp)
        trees = {"now": {**os.environ}}
        if args.against:
            tree = folder / "tree"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree),
                            args.against], check=True, capture_output=True)
            trees[args.against] = {**os.environ, "PYTHONPATH": str(tree)}
        try:
            one_host = folder / "one"
            one_host.mkdir()
            (one_host / "hosts.yaml").write_text("h0: {hostname: localhost}\n")
            cases: dict[tuple[str, int], list[str]] = {}
            secrets: dict[str, str] = {}
            for size in sizes:
                workflow = folder / f"wf{size}.yml"
                write_workflow(workflow, size)
                simple, ansible, env = write_inventories(folder, size)
                secrets.update(env)
                cases[("validate", size)] = [*base, "validate", str(workflow)]
                cases[("validate -i", size)] = [*base, "validate", str(workflow), "-i",
                                                str(one_host)]
                cases[("inventory", size)] = [*base, "inventory", "-i", str(simple)]
                cases[("inventory (A)", size)] = [*base, "inventory", "-i", str(ansible)]
            for name, tree_env in trees.items():
                trees[name] = {**tree_env, **secrets}
            report(cases, trees, sizes, args, tmp)
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(folder / "tree")], check=False, capture_output=True)


def report(cases: dict[tuple[str, int], list[str]], trees: dict[str, dict[str, str]],
           sizes: list[int], args: argparse.Namespace, cwd: str) -> None:
    times: dict[tuple[str, str, int], list[float]] = {}
    over: set[tuple[str, str, int]] = set()
    for _ in range(args.repeats):  # interleaved: each round runs every case once
        for tree, env in trees.items():
            for (case, size), argv in cases.items():
                key = (tree, case, size)
                if key in over:
                    continue
                took = once(argv, env, cwd, args.timeout)
                if took is None:
                    over.add(key)
                else:
                    times.setdefault(key, []).append(took)
    for tree in trees:
        print(f"[{tree}]")
        for case in dict.fromkeys(case for case, _ in cases):
            fixed = statistics.median(times.get((tree, case, 1), [0.0]))
            print(f"  {case:<14} fixed cost (N=1) {fixed:5.2f} s")
            per_item: dict[int, float] = {}
            for size in sizes[1:]:
                key = (tree, case, size)
                if key in over:
                    print(f"  {case:<14} N={size:<6} over {args.timeout:.0f} s")
                    continue
                total = statistics.median(times[key])
                per_item[size] = max(total - fixed, 0.0) / (size - 1)
                first = per_item.get(sizes[1], 0.0)
                ratio = f"{per_item[size] / first:5.2f}x" if first else "  n/a"
                print(f"  {case:<14} N={size:<6} {total:7.2f} s   {per_item[size] * 1e6:7.0f} "
                      f"us/item   {ratio} the N={sizes[1]} cost per item")


if __name__ == "__main__":
    main()
