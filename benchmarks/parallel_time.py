"""Parallel-in-time vs sequential evaluation of a long trajectory, on whatever device JAX has.

Workloads (float64): (a) a MALA chain on the Bayesian logistic-regression posterior of the parallel-mcmc study
(n = 100 examples, d = ``--dim``, step 1/L); (b) a gradient-descent trajectory on the same potential (step 1/L, a
contracting nonlinear recursion without accept steps). For each chain length T (``--lengths``) both evaluations
are compiled first and then timed (median of ``--repeats``): ``lax.scan`` (:func:`~descentlab.engine.
parallel_time.sequential`) and parallel Newton over an associative scan (:func:`~descentlab.engine.parallel_time.
newton_solve`, tolerance 1e-10, ≤ 64 iterations). One line per (workload, T): Newton iterations, both times and
``ratio = parallel / sequential`` (< 1: the parallel evaluation is faster); the largest difference between the two
trajectories is printed as a check. The engine would offer the parallel evaluation as a mode for long trajectories
only on a device where the ratio falls below 1.

    python benchmarks/parallel_time.py --lengths 1000 10000 100000
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.engine import parallel_time as pt
from descentlab.studies.parallel_mcmc import logistic_posterior


def median_seconds(fn, *args, repeats: int) -> tuple[object, float]:
    out = jax.block_until_ready(fn(*args))  # compiled already; the first call warms caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return out, float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--dim", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"device: {jax.devices()[0].platform}:{jax.devices()[0].device_kind} × {len(jax.devices())}")
    with jax.enable_x64(True):
        k_target, k_chain = jax.random.split(jax.random.PRNGKey(0))
        potential, smoothness = logistic_posterior(k_target, 100, args.dim)
        h = 1.0 / smoothness
        gradient = jax.grad(potential)
        workloads = {
            "mala": (pt.mala_step(potential, h), lambda T: pt.mala_inputs(k_chain, T, args.dim)),
            "gd": (lambda x, u: x - h * gradient(x), lambda T: jnp.zeros((T, 1))),
        }
        s0 = jnp.zeros(args.dim)
        for name, (step, tape) in workloads.items():
            for horizon in args.lengths:
                inputs = tape(horizon)
                scan = jax.jit(lambda s, u, step=step: pt.sequential(step, s, u)).lower(s0, inputs).compile()
                newton = (
                    jax.jit(lambda s, u, step=step: pt.newton_solve(step, s, u, tolerance=1e-10, max_iterations=64))
                    .lower(s0, inputs)
                    .compile()
                )
                chain, sequential = median_seconds(scan, s0, inputs, repeats=args.repeats)
                solution, parallel = median_seconds(newton, s0, inputs, repeats=args.repeats)
                difference = float(jnp.max(jnp.abs(solution.states - chain)))
                print(
                    f"{name} T={horizon} iterations={int(solution.iterations)} converged={bool(solution.converged)} "
                    f"sequential={sequential:.4g}s parallel={parallel:.4g}s ratio={parallel / sequential:.3g} "
                    f"max_difference={difference:.2g}"
                )


if __name__ == "__main__":
    main()
