"""Shared set-up of the least-squares predictions, following :mod:`descentlab.problems.least_squares`.

The spectrum K = diag(λ) and the teacher θ* are built by the problem's own functions, so the
theory and the engine see the same problem. With θ₀ = init_scale·N(0, I/d) and e = θ − θ*,
the initial per-coordinate second moment is :math:`v_i(0) = E[e_{0,i}^2] = θ^{\\star 2}_i + s^2/d`.
The learning rate η_t of update t+1 (t = 0, 1, …) is the optax schedule at count t, built from
:data:`descentlab.optim.schedules.SCHEDULES` exactly as the engine builds it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.optim.schedules import SCHEDULES
from descentlab.params import Param, SpecError
from descentlab.problems.least_squares import LeastSquares

PROBLEM_PARAMS: dict[str, Param] = LeastSquares.declared_params()


def _schedule_params() -> dict[str, Param]:
    """Union of every schedule's declared parameters (the chosen schedule uses its own)."""
    out: dict[str, Param] = {}
    for _, entry in SCHEDULES.items():
        for key, param in entry.params.items():
            if key not in out:
                out[key] = param
                continue
            # Two schedules share a name (e.g. warmup_steps): accept what either accepts; the
            # schedule itself validates its own value when it is built.
            known = out[key]
            low = None if known.low is None or param.low is None else min(known.low, param.low)
            high = None if known.high is None or param.high is None else max(known.high, param.high)
            choices = (
                None
                if known.choices is None or param.choices is None
                else tuple(dict.fromkeys(known.choices + param.choices))
            )
            out[key] = dataclasses.replace(
                known,
                low=low,
                high=high,
                choices=choices,
                low_open=known.low_open and param.low_open,
                high_open=known.high_open and param.high_open,
            )
    return out


SCHEDULE_PARAMS = _schedule_params()

OPTIMIZER_PARAMS: dict[str, Param] = {
    "learning_rate": Param("float", 0.5, "peak learning rate η₀", low=0.0),
    "batch_size": Param("int", 1, "batch size b", low=1),
    "schedule": Param("str", "constant", "learning-rate schedule", choices=tuple(SCHEDULES.names())),
    "total_steps": Param("int", 0, "the run's total steps T for the schedule (0: the last step of the grid)", low=0),
    **SCHEDULE_PARAMS,
}


def problem_arrays(params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(λ, v₀) in float64 for the streaming least-squares problem described by ``params``."""
    fields = {k: params[k] for k in PROBLEM_PARAMS if k in params}
    if fields.get("n_samples", 0):
        raise SpecError("theory.n_samples", fields["n_samples"], "the prediction is for a stream: 0")
    with jax.enable_x64(True):
        problem = LeastSquares(**fields)
        lam = np.asarray(problem.eigenvalues, dtype=np.float64)
        theta = np.asarray(problem.theta_star, dtype=np.float64)
    v0 = theta**2 + problem.init_scale**2 / problem.dim
    return lam, v0


def learning_rates(n_steps: int, params: dict[str, Any]) -> np.ndarray:
    """η_t for t = 0 … n_steps−1 from the named schedule (float64)."""
    entry = SCHEDULES.get(params.get("schedule", "constant"), "schedule")
    total = int(params.get("total_steps", 0) or 0) or n_steps
    own = {k: params[k] for k in entry.params if k in params}
    with jax.enable_x64(True):
        schedule = entry.build(float(params.get("learning_rate", 0.5)), total, **own)
        etas = np.asarray(jax.vmap(schedule)(jnp.arange(max(n_steps, 1), dtype=jnp.int64)), dtype=np.float64)
    return np.broadcast_to(etas, (max(n_steps, 1),))[:n_steps].copy()
