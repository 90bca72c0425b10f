"""Cost of the probes, as ratios measured in one run (issue 5's budget).

Setting: ``digits_mlp`` with one tanh hidden layer of 133 units (9 985 parameters), 1 000 training
digits, MSE loss.

1. ``sharpness / grad``: one ``sharpness`` measurement (20 Lanczos iterations on the full batch)
   over one full-batch ``value_and_grad``; both jitted, timed after compilation with
   ``block_until_ready``, median of 60 repeats each, with OpenBLAS on one thread as the engine runs
   its programs (``blas_single_threaded``). The budgeted ratio times the two in alternation, as a
   probe runs between training steps (a noisy spell of a shared machine then hits both alike); the
   ratio of each timed back to back, with caches warm for it alone, is printed too. Budget: ≤ 25.
   When ``matfree`` is installed (the ``bench`` extra), the same 20 steps by ``matfree.decomp.tridiag_sym``
   (full reorthogonalization) are timed in the same alternation, for the comparison in
   ``descentlab/probes/_linalg.py``'s docstring.
2. ``probe overhead``: a 5 000-step full-batch Adam run through the engine (``run_spec``; linear
   checkpoints, 100 of them) with the whole probe set that applies to this problem, over the same
   run with no probes; the engine's run time excludes compilation. Budget: ≤ 1.5 (adds ≤ 50 %).
   The probe set is listed in ``PROBE_SET``: curvature probes track the top eigenvalue by
   warm-started power iteration and read Hessians on a fixed batch of 256 examples, the way one
   tracks them along a run; ``PROBE_SET_DEFAULTS`` (every probe with its default options) is timed
   too and printed for reference.

Run: ``python benchmarks/probes.py``; the last line prints the ratios.
"""

from __future__ import annotations

import tempfile
import time

import jax
import numpy as np

from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.executors import blas_single_threaded
from descentlab.probes import PROBES
from descentlab.probes.base import ProbeContext
from descentlab.problems import PROBLEMS

PROBLEM = {"name": "digits_mlp", "width": 133, "depth": 1, "n_train": 1000, "loss_type": "mse"}
STEPS, CHECKPOINTS = 5000, 100

PROBE_SET = [
    "metrics",
    "loss",
    "grad_norm",
    "accuracy",
    {"name": "sharpness", "method": "power", "iterations": 2, "batch_size": 256},
    {"name": "preconditioned_sharpness", "iterations": 5, "batch_size": 256},
    {"name": "hessian_density", "vectors": 1, "iterations": 8, "batch_size": 256, "low": -1.0, "high": 20.0},
    {"name": "ntk", "n_probe": 32},
    {"name": "class_alignment", "param_key": "w1", "classes": 10},
    {"name": "spectral_energy", "param_key": "w1", "target": "params"},
    {"name": "noise_scale", "batch_size": 256},
    "temperature",
    "weights",
]
PROBE_SET_DEFAULTS = [
    "metrics",
    "loss",
    "grad_norm",
    "accuracy",
    "sharpness",
    "preconditioned_sharpness",
    "hessian_density",
    "ntk",
    {"name": "class_alignment", "param_key": "w1", "classes": 10},
    {"name": "spectral_energy", "param_key": "w1", "target": "params"},
    "noise_scale",
    "temperature",
    "weights",
]


def interleaved(fns: list, args: list[tuple], repeats: int = 60) -> list[float]:
    """Median seconds of each function, timed in alternation so that a slow spell of a shared machine
    hits all of them alike (the ratio is what the budget is about)."""
    for fn, a in zip(fns, args, strict=True):
        jax.block_until_ready(fn(*a))  # compile
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, a, out in zip(fns, args, times, strict=True):
            start = time.perf_counter()
            jax.block_until_ready(fn(*a))
            out.append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def matfree_sharpness(problem):
    """The top Ritz value by matfree's Lanczos (jitted), or None when matfree is not installed."""
    try:
        from matfree import decomp
    except ImportError:
        return None
    from descentlab.probes._linalg import flat_loss, hvp_operator, ritz

    def sharp(params, data, key):
        fun, flat = flat_loss(problem, params, data)
        v0 = jax.random.normal(jax.random.split(key)[0], flat.shape, flat.dtype)
        tridiag = decomp.tridiag_sym(20, materialize=False, reortho="full", custom_vjp=False)
        return ritz(*tridiag(hvp_operator(fun, flat), v0).J_small)[0][-1]

    return jax.jit(sharp)


def sharpness_ratio() -> tuple[float, float, float]:
    problem = PROBLEMS.get("digits_mlp")(**{k: v for k, v in PROBLEM.items() if k != "name"})
    params = problem.init(jax.random.PRNGKey(0))
    data = problem.dataset()
    grad = jax.jit(jax.value_and_grad(problem.loss))
    probe = PROBES.get("sharpness").factory(iterations=20)

    def sharp(params, data, key):
        ctx = ProbeContext(params, params, problem, data, key, 0, (), 0.0, None)
        return probe.measure(ctx, ())[0]["sharpness"]

    fns, args = [grad, jax.jit(sharp)], [(params, data), (params, data, jax.random.PRNGKey(1))]
    matfree = matfree_sharpness(problem)
    if matfree is not None:
        fns, args = [*fns, matfree], [*args, args[1]]
    with blas_single_threaded():  # as the engine runs its programs
        t_grad, t_sharp, *t_matfree = interleaved(fns, args)
    if t_matfree:
        print(f"matfree tridiag_sym, 20 steps: {t_matfree[0] * 1e3:.3f} ms = {t_matfree[0] / t_sharp:.2f} × ours")
    with blas_single_threaded():
        (t_grad_alone,), (t_sharp_alone,) = (interleaved([f], [a]) for f, a in zip(fns[:2], args[:2], strict=True))
    print(
        f"back to back (warm caches, each alone): grad {t_grad_alone * 1e3:.3f} ms, sharpness "
        f"{t_sharp_alone * 1e3:.3f} ms, ratio {t_sharp_alone / t_grad_alone:.1f}"
    )
    return t_sharp / t_grad, t_grad, t_sharp


def run_seconds(probes: list) -> float:
    spec = spec_from_dict(
        {
            "name": "probe-benchmark",
            "problem": PROBLEM,
            "optimizer": {"name": "adam", "learning_rate": 1e-3},
            "sampler": {"name": "full_batch"},
            "run": {"steps": STEPS, "seeds": 1, "checkpoints": CHECKPOINTS, "spacing": "linear"},
            "probes": probes,
        }
    )
    with tempfile.TemporaryDirectory() as root:
        return run_spec(spec, root).run_seconds


def main() -> None:
    ratio, t_grad, t_sharp = sharpness_ratio()
    print(f"alternating: full-batch grad {t_grad * 1e3:.3f} ms; sharpness (20 Lanczos) {t_sharp * 1e3:.3f} ms")
    bare = run_seconds([])
    chosen = run_seconds(PROBE_SET)
    defaults = run_seconds(PROBE_SET_DEFAULTS)
    print(f"{STEPS}-step run: no probes {bare:.2f} s; probe set {chosen:.2f} s; probe set at defaults {defaults:.2f} s")
    print(
        f"sharpness/grad = {ratio:.1f} (budget 25); run with probes/without = {chosen / bare:.2f} (budget 1.5); "
        f"at defaults = {defaults / bare:.2f}"
    )


if __name__ == "__main__":
    main()
