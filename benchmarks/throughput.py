"""Close to the hardware: the fractal-trainability workload's FLOP/s against a large matmul's, same process.

Workload (Sohl-Dickstein 2024, 2402.06184): ``fractal_net`` — one hidden layer of width 16, input
dimension 16, 272 random points (as many as parameters), tanh, mean-field output, MSE — trained by
full-batch gradient descent with separate rates for the two layers (``layerwise_gd``), over a
``--grid`` × ``--grid`` plane of (η_hidden, η_output), through descentlab's engine (``run_spec``).

FLOPs per run and step (matrix products only, no elementwise work):
``4·N·n·d + 4·N·n`` = 295 936 (forward hidden and output products, output gradient, hidden gradient).
Achieved FLOP/s = runs × steps × that / device seconds (compile excluded, ``block_until_ready``
included, store writes excluded). The reference is a jitted ``--matmul`` × ``--matmul`` float32
product timed in the same process (median of repeats).

Roofline (``roofline``): a step cannot beat its two matrix products (runs·n × d by d × N, and
runs·n × N by N × d: all runs share the data, so under ``vmap`` each is one large product) plus
its N·n = 4 352 activations per run (XLA's float32 tanh is already a clamped rational approximation;
a hand-written one measured only ~20 % faster, within its error of 3e-7). Both are timed
at the workload's shapes, in a loop that cannot be hoisted; ``bound_fraction`` = model FLOP/s at
(products + tanh) time over the matmul reference — the best fraction this workload can reach with
these kernels, before any elementwise pass (1 − h², the residual) or the engine's per-step work.

The last line is ``runs_steps_per_s=<…> achieved_gflops=<…> matmul_gflops=<…> fraction=<…>`` (target ≥ 0.5 on CPU).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.engine import run_spec, spec_from_dict
from descentlab.problems.fractal_net import FractalNet


def matmul_gflops(n: int, repeats: int) -> float:
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    f = jax.jit(jnp.dot)
    jax.block_until_ready(f(a, b))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(f(a, b))
        times.append(time.perf_counter() - start)
    return 2 * n**3 / float(np.median(times)) / 1e9


def _per_run_step(f, *args, runs: int, inner: int = 20, repeats: int = 5) -> float:
    """Seconds per run of ``inner`` iterations of ``f`` (carried, so nothing is hoisted), min of repeats."""
    loop = jax.jit(lambda *a: jax.lax.fori_loop(0, inner, lambda i, c: f(*c), a))
    jax.block_until_ready(loop(*args))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(loop(*args))
        best = min(best, time.perf_counter() - start)
    return best / inner / runs


def roofline(runs: int, dtype=jnp.float32) -> tuple[float, float]:
    """(seconds per run·step of the two products, of the N·n tanh), at the workload's shapes."""
    problem = FractalNet()
    n, d, N = problem.width, problem.input_dim, problem.n_data
    x = jax.random.normal(jax.random.PRNGKey(0), (N, d), dtype)
    w = 0.3 * jax.random.normal(jax.random.PRNGKey(1), (runs * n, d), dtype)
    u = jax.random.normal(jax.random.PRNGKey(2), (runs * n, N), dtype)
    products = _per_run_step(lambda w, u: (w + 1e-6 * ((w @ x.T) @ x), u), w, u, runs=runs)
    tanh = _per_run_step(lambda w, u: (w, jnp.tanh(u) * 2.0), w, u, runs=runs)  # one pass: read, tanh, write
    return products, tanh


def spec(grid: int, steps: int, width: int | None, seed: int):
    run = {"steps": steps, "checkpoints": 4, "spacing": "linear", "seed": seed}
    if width:
        run["vmap_width"] = width
    return spec_from_dict(
        {
            "name": f"fractal-throughput-{seed}",
            "problem": {"name": "fractal_net", "width": 16, "input_dim": 16},
            "optimizer": {
                "name": "layerwise_gd",
                "eta_hidden": {"logspace": [0.01, 100.0, grid]},
                "eta_output": {"logspace": [0.01, 100.0, grid]},
            },
            "sampler": {"name": "full_batch"},
            "run": run,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=32, help="rates per axis (runs = grid²)")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--vmap-width", type=int, default=None, help="runs per vmap block (default: the engine's)")
    parser.add_argument("--matmul", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    flops = FractalNet().flops_per_step()
    reference = matmul_gflops(args.matmul, args.repeats)
    device_seconds = []
    with tempfile.TemporaryDirectory() as store:
        for repeat in range(args.repeats + 1):  # the first compiles (and warms up)
            summary = run_spec(spec(args.grid, args.steps, args.vmap_width, repeat), store)
            if repeat:
                device_seconds.append(summary.run_seconds)
    seconds = float(np.median(device_seconds))
    reference = max(reference, matmul_gflops(args.matmul, args.repeats))  # best of before and after
    products, tanh = roofline(min(summary.n_runs, 256))
    runs_steps = summary.n_runs * args.steps / seconds
    achieved = runs_steps * flops / 1e9
    print(
        f"device: {jax.devices()[0]} · {summary.n_runs} runs × {args.steps} steps, "
        f"{summary.diverged} diverged, device time {seconds:.3f} s (median of {args.repeats})"
    )
    print(f"model FLOPs per run·step: {flops}")
    bound = flops / (products + tanh) / 1e9
    per_step = seconds / summary.n_runs / args.steps
    print(
        f"roofline per run·step: products {products * 1e6:.3f} us ({flops / products / 1e9:.3g} GFLOP/s), "
        f"tanh {tanh * 1e6:.3f} us, achieved {per_step * 1e6:.3f} us; "
        f"bound_gflops={bound:.3g} bound_fraction={bound / reference:.3f}"
    )
    print(
        f"runs_steps_per_s={runs_steps:.4g} achieved_gflops={achieved:.3g} matmul_gflops={reference:.3g} "
        f"fraction={achieved / reference:.3f}"
    )


if __name__ == "__main__":
    main()
