"""Memory plan: a sweep of 100 000 runs of a small problem streams through chunks under a memory budget.

Workload: streaming SGD on least squares (d = 8), 1 000 learning rates × 100 seeds = 100 000 runs of
50 steps with 5 checkpoints, ``run.memory_budget_mb`` = ``--budget-mb`` (chunks are sized from it).
Everything is stored (runs and curves Parquet). Measured in this process:

* baseline RSS — after importing and running a warm-up sweep of one chunk of the same size (the JAX
  runtime and the compiled program, whose one-time compilation does not grow with the sweep);
* peak RSS (``ru_maxrss``) during the 100 000-run sweep and its growth over the baseline;
* runs/s — runs over the wall-clock time of ``run_spec`` (planning, compile, device, store).

The last line is ``peak_rss_mb=<…> growth_mb=<…> budget_mb=<…> runs_per_s=<…>``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.executors import ProgramCache
from descentlab.engine.plan import Plan
from descentlab.engine.runner import chunk_sizes


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def spec(runs: int, budget_mb: float, steps: int, name: str, seeds: int | None = None):
    seeds = seeds or max(1, runs // 1000)
    rates = runs // seeds
    return spec_from_dict(
        {
            "name": name,
            "problem": {"name": "least_squares", "dim": 8, "noise": 0.1},
            "optimizer": {"name": "sgd", "learning_rate": {"logspace": [0.01, 0.5, rates]}},
            "run": {"steps": steps, "seeds": seeds, "checkpoints": 5, "memory_budget_mb": budget_mb},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--budget-mb", type=float, default=32.0)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as store:
        big = spec(args.runs, args.budget_mb, args.steps, "memory-100k")
        the_plan = Plan.from_spec(big)
        sizes = chunk_sizes(big, the_plan, ProgramCache(big, the_plan))
        size, width = next(iter(sizes.values()))
        run_spec(spec(size, args.budget_mb, args.steps, "memory-warmup", seeds=1), store)  # compiles the same program
        baseline = max(rss_mb(), 0.0)
        peak_before = peak_rss_mb()
        start = time.perf_counter()
        summary = run_spec(big, store)
        wall = time.perf_counter() - start
        peak = peak_rss_mb()
    print(
        f"runs: {summary.n_runs} in {len(the_plan.groups)} group(s), chunk {size} runs (vmap width {width}), "
        f"{-(-summary.n_runs // size)} chunks"
    )
    print(
        f"wall {wall:.2f} s: compile {summary.compile_seconds:.2f} s, device {summary.run_seconds:.2f} s, "
        f"store {summary.store_seconds:.2f} s"
    )
    print(f"baseline RSS {baseline:.0f} MB (peak before the sweep {peak_before:.0f} MB)")
    print(
        f"peak_rss_mb={peak:.0f} growth_mb={peak - baseline:.0f} budget_mb={args.budget_mb:g} "
        f"runs_per_s={summary.n_runs / wall:.0f}"
    )


if __name__ == "__main__":
    main()
