"""A synthetic store (no JAX): two swept numeric axes, probe metrics, diverged runs, a theory curve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from descentlab.store import Store

LRS = [0.05, 0.1, 0.2, 0.4]
MOMENTA = [0.0, 0.5, 0.9]
SEEDS = 3
STEPS = np.array([0, 1, 2, 5, 10, 20, 50, 100, 200])


def expected_loss(lr: float, beta: float, steps: np.ndarray) -> np.ndarray:
    return np.exp(-lr / (1 - beta) * 0.05 * steps) + 0.01


def build_experiment(
    store: Store,
    experiment: str = "abc123def4560000",
    name: str = "synthetic-sweep",
    lrs=LRS,
    momenta=MOMENTA,
    probes: bool = True,
    theory: bool = True,
    scale: float = 1.0,
) -> str:
    """Runs lr × momentum × seeds; runs with lr/(1−β) ≥ 2 diverge. Metrics: loss (+ probes)."""
    rng = np.random.default_rng(0)
    runs, curves = [], []
    index = 0
    for lr in lrs:
        for beta in momenta:
            for seed in range(SEEDS):
                diverged = lr / (1 - beta) >= 2.0
                runs.append(
                    {
                        "experiment": experiment,
                        "run": index,
                        "name": f"momentum[lr={lr},m={beta},seed={seed}]",
                        "group": 0,
                        "seed": seed,
                        "status": "diverged" if diverged else "ok",
                        "divergence_step": 7 if diverged else None,
                        "problem_name": "least_squares",
                        "problem_dim": 16,
                        "optimizer_name": "momentum",
                        "optimizer_learning_rate": lr,
                        "optimizer_momentum": beta,
                        "run_batch_size": 1,
                        "final_loss": np.nan if diverged else float(scale * expected_loss(lr, beta, STEPS)[-1]),
                    }
                )
                steps = STEPS[STEPS < 7] if diverged else STEPS
                loss = scale * expected_loss(lr, beta, steps) * (1 + 0.05 * rng.standard_normal(steps.size))
                metrics = {"loss": loss}
                if probes:
                    metrics["sharpness"] = np.minimum(1.0 + 0.02 * steps, 2 * (1 + beta) / lr)
                    metrics["ntk_alignment"] = 1 - np.exp(-0.02 * steps)
                    metrics["overlap_m"] = 1 - loss
                for metric, values in metrics.items():
                    curves += [
                        {"experiment": experiment, "run": index, "step": int(t), "metric": metric, "value": float(v)}
                        for t, v in zip(steps, values, strict=True)
                    ]
                index += 1
    runs_frame, curves_frame = pd.DataFrame(runs), pd.DataFrame(curves)
    spec = {
        "name": name,
        "problem": {"name": "least_squares", "dim": 16},
        "optimizer": {"name": "momentum", "learning_rate": {"grid": list(lrs)}, "momentum": {"grid": list(momenta)}},
        "run": {"steps": int(STEPS[-1]), "seeds": SEEDS},
    }
    n_div = int((runs_frame.status == "diverged").sum())
    store.write_experiment(
        experiment,
        {
            "experiment": experiment,
            "name": name,
            "description": "A synthetic sweep <for tests> & escaping",
            "spec": json.dumps(spec),
            "created_at": "2025-01-01T00:00:00+00:00",
            "n_runs": len(runs_frame),
            "n_groups": 1,
            "versions": json.dumps({"descentlab": "0.1.0", "jax": "x"}),
            "git_commit": "deadbeef",
            "device": "1× cpu:cpu",
            "executor": "local",
            "dtype": "float32",
            "steps": int(STEPS[-1]),
            "status": "complete",
            "finished_at": "2025-01-01T00:00:05+00:00",
            "compile_seconds": 1.5,
            "run_seconds": 0.25,
            "store_seconds": 0.05,
            "diverged": n_div,
        },
        spec,
    )
    store.write_chunk(
        experiment,
        "chunk-000000",
        pa.Table.from_pandas(runs_frame, preserve_index=False),
        pa.Table.from_pandas(curves_frame, preserve_index=False),
    )
    if theory:
        frames = [
            pd.DataFrame(
                {
                    "step": STEPS,
                    "value": scale * expected_loss(lr, beta, STEPS),
                    "optimizer_learning_rate": lr,
                    "optimizer_momentum": beta,
                }
            )
            for lr in lrs
            for beta in momenta
            if lr / (1 - beta) < 2.0
        ]
        table = pd.concat(frames, ignore_index=True)
        table.insert(0, "experiment", experiment)
        table["prediction"] = "toy_exponential"
        table["curve"] = "loss"
        table["metric"] = "loss"
        store.write_theory(experiment, pa.Table.from_pandas(table, preserve_index=False))
        store.write_verdicts(
            experiment,
            [
                {
                    "study": "",
                    "claim": "loss follows toy_exponential",
                    "passed": True,
                    "figure": 0.031,
                    "what": "max relative error",
                    "tolerance": 0.05,
                    "line": "verdict: pass 0.031 (max relative error, tolerance 0.05)",
                }
            ],
        )
    return experiment


@pytest.fixture
def synthetic_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "runs")
    build_experiment(store)
    return store
