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


# ---- the probe table: every registered probe on a problem it can serve -------------------------------------


@dataclasses.dataclass(frozen=True)
class ProbeCase:
    """A problem some probes can serve: its options, a vmapped hyperparameter swept over three values, the
    optimizer whose state (after one step) the probes may read, and the size of a stream's evaluation batch."""

    problem: str
    options: dict
    sweep: tuple[str, tuple[float, float, float]]
    optimizer: str = "sgd"
    eval_size: int = 128


CASES = {
    "least_squares": ProbeCase(
        "least_squares", {"dim": 6, "spectrum": "power_law", "noise": 0.3}, ("alpha", (0.5, 1.0, 2.0)), optimizer="adam"
    ),
    "logistic_mixture": ProbeCase(
        "logistic_mixture", {"dim": 6, "n_classes": 3, "covariance": "power_law"}, ("alpha", (0.5, 1.0, 2.0))
    ),
    "ntk_mlp": ProbeCase(
        "ntk_mlp",
        {"dim": 3, "width": 8, "depth": 2, "n_train": 12, "n_test": 6},
        ("noise", (0.0, 0.1, 0.3)),
        optimizer="adagrad_norm",
    ),
}

DIM = CASES["least_squares"].options["dim"]
PROBE_TABLE = {  # probe -> (case, options): what each registered probe is exercised on
    "accuracy": ("ntk_mlp", {}),  # predict, labels and a test set
    "class_alignment": ("logistic_mixture", {}),  # integer labels and n_classes
    "distance": ("least_squares", {}),  # a known optimum
    "effective_lr": ("ntk_mlp", {}),  # AdaGrad-Norm's accumulator
    "gfs_sharpness": ("least_squares", {"horizon": 20.0, "max_steps": 256, "rtol": 1e-5, "atol": 1e-7}),  # a loss
    "grad_norm": ("least_squares", {}),
    "hessian_density": ("least_squares", {"bins": 4, "low": 0.0, "high": 1.0, "vectors": 2, "iterations": DIM}),
    "lazy_training": ("ntk_mlp", {}),  # predict, real targets
    "loss": ("least_squares", {}),
    "metrics": ("least_squares", {}),
    "noise_scale": ("least_squares", {}),
    "ntk": ("ntk_mlp", {"n_probe": 8, "k": 3}),
    "ntk_order": ("ntk_mlp", {"bins": 6, "far_bins": 2}),  # predict, real targets, inputs with distances
    "preconditioned_sharpness": ("least_squares", {"k": 2, "iterations": DIM}),  # Adam's second moment
    "sharpness": ("least_squares", {"k": 2, "iterations": DIM}),
    "spectral_energy": ("least_squares", {"bands": 3, "spacing": "linear"}),  # eigenvalues and an optimum
    "teacher_overlap": ("least_squares", {}),  # theta_star
    "temperature": ("least_squares", {"window": 3}),  # f*
    "weight_entropy": ("least_squares", {"window": 2, "k": 1}),
    "weights": ("least_squares", {}),
}


def probes_of(case: str) -> dict[str, dict]:
    """The registered probes the table serves with ``case``, with their options."""
    from descentlab.probes import PROBES

    return {name: PROBE_TABLE[name][1] for name in PROBES.names() if PROBE_TABLE.get(name, ("",))[0] == case}


def case_run(case: ProbeCase, probes: dict[str, dict], hyper: jax.Array, key: jax.Array, checkpoints: int = 2):
    """Every probe of ``probes`` on ``case.problem`` with the swept hyperparameter set to ``hyper`` (traced under
    vmap, as the engine builds the problem inside the program): initialised at θ₀, then measured after each of
    ``checkpoints`` optimizer steps on the evaluation batch.

    A probe gets the evaluation batch only if it declares ``uses_eval_batch`` and θ_t − θ_{t−1} only if it declares
    ``uses_last_update`` (None otherwise, as in the engine when no other probe asks). Returns (``probe/metric`` ->
    values at the checkpoints (leading axis), the evaluation batch).
    """
    import optax

    from descentlab.optim import OPTIMIZERS
    from descentlab.probes import PROBES
    from descentlab.problems import PROBLEMS

    problem = PROBLEMS.get(case.problem)(**{**case.options, case.sweep[0]: hyper})
    k_init, k_eval, k_probe = jax.random.split(key, 3)
    params0 = problem.init(k_init)
    batch = problem.sample(k_eval, case.eval_size) if problem.is_stream else problem.dataset()
    learning_rate = 0.05
    optimizer = OPTIMIZERS.get(case.optimizer).build(learning_rate)
    built = {name: PROBES.get(name).factory(**options) for name, options in probes.items()}

    def context(probe, step, params, opt_state, update):
        return ProbeContext(
            params,
            params0,
            problem,
            batch if probe.uses_eval_batch else None,
            jax.random.fold_in(k_probe, step),
            jnp.asarray(step),
            opt_state,
            jnp.asarray(learning_rate),
            update if probe.uses_last_update else None,
        )

    opt_state0 = optimizer.init(params0)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params0)
    states0 = {name: probe.init(context(probe, 0, params0, opt_state0, zeros)) for name, probe in built.items()}

    def checkpoint(carry, step):  # one full-batch optimizer step, then every probe
        params, opt_state, states = carry
        _, grads = problem.grad(params, batch)
        update, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, update)
        out, states = {}, dict(states)
        for name, probe in built.items():
            values, states[name] = probe.measure(context(probe, step, params, opt_state, update), states[name])
            out.update({f"{name}/{metric}": value for metric, value in values.items()})
        return (params, opt_state, states), out

    steps = jnp.arange(1, checkpoints + 1)
    _, measured = jax.lax.scan(checkpoint, (params0, opt_state0, states0), steps)
    return measured, batch
