"""Sweep overhead: descentlab end to end vs a hand-written jit(vmap(scan)) vs a per-run Python loop.

Workload: 32 seeds × 8 learning rates of streaming SGD (batch 1) on power-law least squares,
d = 500, 2 000 steps. Times exclude compilation (each program is compiled and warmed first) and
stop only after ``block_until_ready``:

(a) descentlab: the execution part of ``run_spec`` (device run + writing ~100 checkpoints of
    every run to the Parquet store), compile time reported apart;
(b) a hand-written ``jit(vmap(lax.scan))`` of the same updates, recording only the final risk;
(c) a Python loop calling a jitted single-run function 256 times.

The last line is ``ratio_vs_handwritten=<(a)/(b)> ratio_per_run_loop=<(c)/(a)>``
(targets: (a)/(b) ≤ 1.25, (c)/(a) ≥ 3).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.engine import run_spec, spec_from_dict
from descentlab.problems.least_squares import covariance_spectrum, teacher_vector

D, STEPS, SEEDS, N_LR = 500, 2000, 32, 8
LRS = np.geomspace(0.05, 1.0, N_LR)


def spec(repeat: int):
    return spec_from_dict({
        "name": f"sweep-overhead-{repeat}",
        "problem": {"name": "least_squares", "dim": D, "spectrum": "power_law", "alpha": 1.0, "noise": 0.1},
        "optimizer": {"name": "sgd", "learning_rate": {"logspace": [0.05, 1.0, N_LR]}},
        # a distinct root seed per repeat, so each repeat is a new experiment (nothing resumed)
        "run": {"steps": STEPS, "batch_size": 1, "seeds": SEEDS, "checkpoints": 100, "seed": repeat},
    })


def descentlab_seconds(store: str, repeats: int) -> tuple[float, float]:
    times, compile_times = [], []
    for repeat in range(repeats + 1):
        summary = run_spec(spec(repeat), store)
        if repeat:  # the first is a warm-up
            times.append(summary.run_seconds + summary.store_seconds)
            compile_times.append(summary.compile_seconds)
    return float(np.median(times)), float(np.median(compile_times))


def handwritten(lr, seed):
    lam = covariance_spectrum(D, "power_law", 1.0)
    theta_star = teacher_vector(D, "flat", 0.0, 0, lam)
    key = jax.random.fold_in(jax.random.PRNGKey(0), seed)

    def step(theta, t):
        k_x, k_e = jax.random.split(jax.random.fold_in(key, t))
        x = jax.random.normal(k_x, (1, D)) * jnp.sqrt(lam)
        y = x @ theta_star + 0.1 * jax.random.normal(k_e, (1,))
        grad = x.T @ (x @ theta - y)
        return theta - lr * grad, None

    theta, _ = jax.lax.scan(step, jnp.zeros(D), jnp.arange(STEPS))
    error = theta - theta_star
    return 0.5 * jnp.sum(lam * error**2) + 0.5 * 0.1**2


def timed(fn, *args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))  # compile and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    lrs = jnp.asarray(np.repeat(LRS, SEEDS), jnp.float32)
    seeds = jnp.asarray(np.tile(np.arange(SEEDS), N_LR), jnp.int32)

    with tempfile.TemporaryDirectory() as store:
        a, compile_a = descentlab_seconds(store, args.repeats)
    b = timed(jax.jit(jax.vmap(handwritten)), lrs, seeds, repeats=args.repeats)
    single = jax.jit(handwritten)

    def loop(lrs, seeds):
        return [single(lr, s) for lr, s in zip(lrs, seeds, strict=True)]

    c = timed(loop, lrs, seeds, repeats=max(1, args.repeats // 2))
    print(f"device: {jax.devices()[0]}")
    print(f"(a) descentlab execution (run + store, {len(LRS) * SEEDS} runs): {a:.3f} s  [compile {compile_a:.2f} s]")
    print(f"(b) hand-written jit(vmap(scan)), final risk only: {b:.3f} s")
    print(f"(c) Python loop over 256 jitted single runs: {c:.3f} s")
    print(f"ratio_vs_handwritten={a / b:.3f} ratio_per_run_loop={c / a:.3f}")


if __name__ == "__main__":
    main()
