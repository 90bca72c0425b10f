"""Report at scale: ``write_report`` on a synthetic store of 10⁶ runs.

The store is written directly with pyarrow in the store's layout (through ``Store.write_experiment``
and ``Store.write_chunk``, nothing run): 1 000 learning rates × 1 000 seeds of SGD on least squares,
20 log-spaced checkpoints, two metrics (``loss``, ``grad_norm``) — 4·10⁷ curve rows in 100 chunks of
10⁴ runs. The largest learning rates diverge for some seeds. Building the store is not timed.

The last line is ``report_seconds=<wall time of write_report>`` (target: under 30 s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from descentlab.report.html import write_report
from descentlab.store import Store

EXPERIMENT = "5ca1e0000000000a"
N_LR, N_SEEDS, CHUNK_RUNS = 1000, 1000, 10_000
STEPS = np.unique(np.geomspace(1, 100_000, 20).round().astype(np.int64))
METRICS = ["grad_norm", "loss"]
LRS = np.geomspace(1e-3, 1.0, N_LR)


def runs_table(
    runs: np.ndarray, lrs: np.ndarray, seeds: np.ndarray, diverged: np.ndarray, final_loss: np.ndarray
) -> pa.Table:
    """The chunk's ``runs`` rows, columns as the runner writes them."""
    n = len(runs)
    return pa.table(
        {
            "experiment": pa.array([EXPERIMENT] * n, pa.string()),
            "run": runs,
            "name": pa.array([f"sgd[lr={lr:.4g},seed={s}]" for lr, s in zip(lrs, seeds, strict=True)], pa.string()),
            "group": np.zeros(n, np.int64),
            "seed": seeds,
            "status": pa.array(np.where(diverged, "diverged", "ok").tolist(), pa.string()),
            "divergence_step": pa.array(np.full(n, STEPS[10]), pa.int64(), mask=~diverged),
            "problem_name": pa.array(["least_squares"] * n, pa.string()),
            "problem_dim": np.full(n, 64, np.int64),
            "optimizer_name": pa.array(["sgd"] * n, pa.string()),
            "optimizer_learning_rate": lrs,
            "run_batch_size": np.ones(n, np.int64),
            "final_grad_norm": np.where(diverged, np.nan, np.sqrt(final_loss)),
            "final_loss": np.where(diverged, np.nan, final_loss),
        }
    )


def curves_table(
    runs: np.ndarray, lrs: np.ndarray, rng: np.random.Generator, diverged: np.ndarray
) -> tuple[pa.Table, np.ndarray]:
    """The chunk's ``curves`` rows (run, step, metric) and each run's final loss; diverged runs stop early."""
    noise = 1 + 0.05 * rng.standard_normal((len(runs), len(STEPS)))
    loss = (np.exp(-np.outer(lrs, STEPS) * 1e-3) + 0.01) * noise  # (run, checkpoint)
    values = np.stack([np.sqrt(loss), loss], axis=-1)  # (run, checkpoint, metric), metrics sorted
    values[diverged, 10:, :] = np.nan
    flat = values.reshape(-1)
    keep = ~np.isnan(flat)
    per_run = len(STEPS) * len(METRICS)
    table = pa.table(
        {
            "experiment": pa.DictionaryArray.from_arrays(np.zeros(int(keep.sum()), np.int32), [EXPERIMENT]),
            "run": np.repeat(runs, per_run)[keep],
            "step": np.tile(np.repeat(STEPS, len(METRICS)), len(runs))[keep],
            "metric": pa.DictionaryArray.from_arrays(
                np.tile(np.arange(len(METRICS), dtype=np.int32), len(runs) * len(STEPS))[keep], METRICS
            ),
            "value": flat[keep],
        }
    )
    return table, loss[:, -1]


def build_store(root: Path) -> Store:
    """Write the synthetic experiment (row, spec and 100 chunks) into a store at ``root``."""
    store = Store(root)
    spec = {
        "name": "report-scale",
        "problem": {"name": "least_squares", "dim": 64},
        "optimizer": {"name": "sgd", "learning_rate": {"logspace": [1e-3, 1.0, N_LR]}},
        "run": {"steps": int(STEPS[-1]), "seeds": N_SEEDS, "checkpoints": len(STEPS)},
    }
    rng = np.random.default_rng(0)
    total_diverged = 0
    for start in range(0, N_LR * N_SEEDS, CHUNK_RUNS):
        runs = np.arange(start, start + CHUNK_RUNS, dtype=np.int64)
        lrs, seeds = LRS[runs // N_SEEDS], runs % N_SEEDS
        diverged = (lrs > 0.5) & (rng.random(len(runs)) < (lrs - 0.5) * 2)
        curves, final_loss = curves_table(runs, lrs, rng, diverged)
        store.write_chunk(
            EXPERIMENT, f"chunk-{start // CHUNK_RUNS:06d}", runs_table(runs, lrs, seeds, diverged, final_loss), curves
        )
        total_diverged += int(diverged.sum())
    store.write_experiment(
        EXPERIMENT,
        {
            "experiment": EXPERIMENT,
            "name": "report-scale",
            "description": "10⁶ synthetic runs",
            "spec": json.dumps(spec),
            "created_at": "2025-01-01T00:00:00+00:00",
            "n_runs": N_LR * N_SEEDS,
            "n_groups": 1,
            "versions": json.dumps({"descentlab": "benchmark"}),
            "git_commit": "synthetic",
            "device": "none (synthetic)",
            "executor": "local",
            "dtype": "float32",
            "steps": int(STEPS[-1]),
            "status": "complete",
            "finished_at": "2025-01-01T00:00:05+00:00",
            "compile_seconds": 0.0,
            "run_seconds": 0.0,
            "store_seconds": 0.0,
            "diverged": total_diverged,
        },
        spec,
    )
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--store",
        type=Path,
        help="build the synthetic store here, or reuse the one already there (default: a temporary folder)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.store or Path(tmp) / "runs"
        start = time.perf_counter()
        store = Store(root) if EXPERIMENT in Store(root).experiments() else build_store(root)
        print(f"store of {N_LR * N_SEEDS} runs ready in {time.perf_counter() - start:.1f} s at {root}")
        start = time.perf_counter()
        path = write_report(store, EXPERIMENT)
        seconds = time.perf_counter() - start
        print(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB)")
        print(f"report_seconds={seconds:.2f}")


if __name__ == "__main__":
    main()
