"""Theory speed: the deterministic equivalent vs simulating the same problem with the engine.

Workload (the issue's target): streaming SGD, batch 1, on least squares with a power-law spectrum
(α = 1, trace-normalised), d = 10 000, 10⁵ steps, label noise 0.1, η = 0.5. Times:

(a) the homogenized-SGD ODE (``sgd_least_squares_ode``) on a 100-point log-spaced grid, compiled and
    warmed first, then timed (median of repeats);
(b) the exact finite-d recursion (``sgd_least_squares``), same grid, for reference;
(c) ``descentlab.Experiment`` running 32 seeds of the same problem (run time, compile reported apart).

(c) is the expensive side: ``--steps`` shrinks only the simulated run, and the simulation time is
then scaled linearly to the full number of steps (the step loop is a ``lax.scan``, so its cost is
linear in steps; the reported line says when it was extrapolated). The last line is
``ratio_ode_vs_simulation=<(a)/(c)>`` (target: ≤ 0.1).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import jax
import numpy as np

from descentlab import Experiment
from descentlab.theory import PREDICTIONS

D, STEPS, SEEDS = 10_000, 100_000, 32
PROBLEM = {"name": "least_squares", "dim": D, "spectrum": "power_law", "alpha": 1.0, "noise": 0.1}
LR = 0.5


def grid(steps: int) -> np.ndarray:
    return np.unique(np.concatenate([[0], np.geomspace(1, steps, 100).astype(int)]))


def theory_seconds(name: str, steps: int, repeats: int) -> float:
    params = {k: v for k, v in PROBLEM.items() if k != "name"} | {"learning_rate": LR}
    entry = PREDICTIONS.get(name)
    entry.predict(grid(steps), **params)  # compile and warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        entry.predict(grid(steps), **params)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def simulation_seconds(steps: int, seeds: int) -> tuple[float, float]:
    exp = Experiment(
        name="theory-speed",
        problem=PROBLEM,
        optimizer={"name": "sgd", "learning_rate": LR},
        run={"steps": steps, "batch_size": 1, "seeds": seeds, "checkpoints": 100},
    )
    with tempfile.TemporaryDirectory() as store:
        summary = exp.run(store=store).summary
    return summary.run_seconds, summary.compile_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="steps actually simulated in (c)")
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    a = theory_seconds("sgd_least_squares_ode", STEPS, args.repeats)
    b = theory_seconds("sgd_least_squares", STEPS, 1)
    c_measured, compile_c = simulation_seconds(args.steps, args.seeds)
    c = c_measured * STEPS / args.steps
    print(f"device: {jax.devices()[0]}")
    print(f"(a) ODE deterministic equivalent, d={D}, {STEPS} steps: {a:.4f} s")
    print(f"(b) exact finite-d recursion, d={D}, {STEPS} steps: {b:.3f} s")
    scaled = "" if args.steps == STEPS else f" (measured {c_measured:.2f} s over {args.steps} steps, scaled)"
    print(f"(c) engine, {args.seeds} seeds, {STEPS} steps: {c:.2f} s{scaled}  [compile {compile_c:.2f} s]")
    print(f"ratio_ode_vs_simulation={a / c:.5f} ratio_exact_vs_simulation={b / c:.4f}")


if __name__ == "__main__":
    main()
