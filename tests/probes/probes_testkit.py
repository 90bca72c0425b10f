"""Tiny problems with known answers and a ProbeContext builder, shared by the probe tests."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.probes.base import ProbeContext
from descentlab.problems.base import Problem


@dataclasses.dataclass(frozen=True)
class Quadratic(Problem):
    """f(θ) = ½ (θ − θ*)ᵀ A (θ − θ*) with A = Q diag(spectrum) Qᵀ (the batch is ignored)."""

    matrix: Any = None
    center: Any = None

    def init(self, key):
        return jax.random.normal(key, (self.matrix.shape[0],))

    def loss(self, params, batch):
        e = params - self.center
        return 0.5 * e @ (self.matrix @ e)

    @property
    def f_star(self):
        return 0.0

    def optimum(self):
        return self.center


def quadratic(spectrum, rotate: bool = True, seed: int = 0) -> Quadratic:
    spectrum = np.asarray(spectrum, dtype=np.float64)
    n = spectrum.shape[0]
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.standard_normal((n, n)))[0] if rotate else np.eye(n)
    a = (q * spectrum) @ q.T
    return Quadratic(jnp.asarray(0.5 * (a + a.T), jnp.float32), jnp.asarray(rng.standard_normal(n), jnp.float32))


def context(problem, params, eval_batch=None, *, params0=None, key=0, step=0, opt_state=(), last_update=None):
    params0 = params if params0 is None else params0
    last = jax.tree_util.tree_map(jnp.zeros_like, params) if last_update is None else last_update
    return ProbeContext(
        params=params,
        params0=params0,
        problem=problem,
        eval_batch={} if eval_batch is None else eval_batch,
        key=jax.random.PRNGKey(key),
        step=jnp.asarray(step),
        opt_state=opt_state,
        learning_rate=jnp.asarray(0.1),
        last_update=last,
    )


def measure(probe, problem, params, eval_batch=None, state=None, **ctx_kwargs):
    """Run ``probe.measure`` under jit (the problem is closed over, as the engine builds it inside the program)."""

    def run(params, eval_batch, state):
        ctx = context(problem, params, eval_batch, **ctx_kwargs)
        if state is None:
            state = probe.init(ctx)
        return probe.measure(ctx, state)

    return jax.jit(run)(params, eval_batch, state)


DENSE_NETWORKS = [  # (problem, options): the problems whose probes use structured derivatives of dense layers
    ("digits_mlp", {"width": 9, "depth": 2, "n_train": 40, "activation": "tanh", "loss_type": "cross_entropy"}),
    ("digits_mlp", {"width": 7, "depth": 1, "n_train": 40, "activation": "relu", "parameterization": "ntk"}),
    ("ntk_mlp", {"dim": 5, "width": 11, "depth": 3, "n_train": 12}),
]


def perturbed_dense_network(name: str, options: dict, key: int):
    """(problem, parameters off their initialization, biases nonzero) for a DENSE_NETWORKS entry."""
    from descentlab.problems import PROBLEMS

    problem = PROBLEMS.get(name)(**options)
    return problem, jax.tree_util.tree_map(lambda p: p + 0.05, problem.init(jax.random.PRNGKey(key)))
