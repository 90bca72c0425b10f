"""One conformance table for every registered optimizer (ours and optax's).

Each optimizer, built by name from spec-like values, must: run under ``jit`` inside ``lax.scan``;
give under ``vmap`` over a float hyperparameter the same trajectory as unbatched runs; give the
same result through ``optax.inject_hyperparams``; keep float32 and float64 parameters in their
dtype; and converge on the strongly convex quadratic of :mod:`optim_quadratic`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optim_quadratic as q
import pytest

from descentlab.optim import OPTIMIZERS
from descentlab.params import fill_defaults


@dataclasses.dataclass(frozen=True)
class Case:
    learning_rate: float | None = 0.1
    steps: int = 150
    tol: float = 1e-3  # final (f − f*) / (f₀ − f*)
    params: tuple[tuple[str, object], ...] = ()
    same_in_float64: bool = True  # False where the method draws its own noise (float64 draws differ)


# Per-optimizer settings on the quadratic (L = 2, μ = 0.5, start at gap ≈ 0.05).
CASES: dict[str, Case] = {
    "adadelta": Case(learning_rate=1.0, steps=300),
    "adagrad": Case(learning_rate=0.1, steps=300),
    "adam": Case(learning_rate=0.02, steps=300, tol=1e-2),
    "adamw": Case(learning_rate=0.02, steps=300, tol=1e-2, params=(("weight_decay", 0.0),)),
    "adabelief": Case(learning_rate=0.02, steps=300, tol=1e-2),
    "adamax": Case(learning_rate=0.02, steps=300, tol=1e-2),
    "amsgrad": Case(learning_rate=0.02, steps=300, tol=1e-2),
    "nadam": Case(learning_rate=0.02, steps=300, tol=1e-2),
    "radam": Case(learning_rate=0.02, steps=300, tol=1e-2),
    "yogi": Case(learning_rate=0.02, steps=300, tol=1e-2),
    "adan": Case(learning_rate=0.02, steps=300, tol=1e-2, params=(("weight_decay", 0.0),)),
    "lamb": Case(learning_rate=0.02, steps=300, tol=1e-2, params=(("weight_decay", 0.0),)),
    "novograd": Case(learning_rate=0.02, steps=300, tol=1e-2, params=(("weight_decay", 0.0),)),
    "fromage": Case(learning_rate=0.01, steps=300, tol=5e-2),
    "lion": Case(learning_rate=0.002, steps=300, tol=2e-2, params=(("weight_decay", 0.0),)),
    "sign_sgd": Case(learning_rate=0.002, steps=300, tol=2e-2),
    "muon": Case(learning_rate=0.02, steps=300, tol=1e-2, params=(("weight_decay", 0.0),)),
    "noisy_sgd": Case(learning_rate=0.1, params=(("eta", 1e-4),), tol=1e-2, same_in_float64=False),
    "polyak_sgd": Case(learning_rate=None, params=(("max_learning_rate", 1.0), ("f_min", q.f_star()))),
    "prodigy": Case(learning_rate=1.0, steps=300, tol=1e-2),
    "dog": Case(learning_rate=1.0, steps=300, tol=1e-2),
    "dowg": Case(learning_rate=1.0, steps=300, tol=1e-2),
    "schedule_free_adamw": Case(learning_rate=0.02, steps=300, tol=1e-2),
    "schedule_free_sgd": Case(learning_rate=0.1, steps=300, tol=1e-2),
    "sgd_armijo": Case(learning_rate=1.0),
    "lbfgs": Case(learning_rate=1.0, steps=30),
    "cautious_adamw": Case(learning_rate=0.02, steps=300, tol=1e-2, params=(("weight_decay", 0.0),)),
    "cautious_lion": Case(learning_rate=0.002, steps=300, tol=2e-2, params=(("weight_decay", 0.0),)),
    "sophia": Case(learning_rate=0.05, steps=300, tol=1e-2, params=(("weight_decay", 0.0), ("update_interval", 1))),
    "rmsprop": Case(learning_rate=0.003, steps=300),
    "sam": Case(learning_rate=0.1, params=(("rho", 0.01),)),
    "lars": Case(learning_rate=0.3, steps=300, params=(("weight_decay", 0.0),)),
    "dpsgd": Case(learning_rate=0.2, params=(("l2_norm_clip", 100.0), ("noise_multiplier", 0.0))),
    "lookahead": Case(learning_rate=0.2, steps=200),
    "exponentiated_gradient": Case(learning_rate=1.0),
    "eg_pm": Case(learning_rate=1.0),
    "reparam_gd": Case(learning_rate=0.2),
    "proximal_l1": Case(learning_rate=0.1, params=(("l1", 0.0),)),  # λ > 0 is checked in test_proximal
    "frank_wolfe": Case(learning_rate=None, steps=300, tol=5e-3),
    "extragradient": Case(learning_rate=0.3),
    "alternating_gda": Case(learning_rate=0.3),
    "simultaneous_gda": Case(learning_rate=0.3),
    "adahessian": Case(learning_rate=0.05, steps=300),
    "exadam": Case(learning_rate=0.02, steps=300, tol=5e-2),  # Adam-like floor at constant η
    "adamp": Case(learning_rate=0.02, steps=300),
    "autosgd": Case(learning_rate=0.01),
    "natural_gradient": Case(learning_rate=0.01),
    "layerwise_gd": Case(learning_rate=1.0, params=(("eta_hidden", 0.3), ("eta_output", 0.3))),
    # γ_t → 0 as ∇f → 0 with f* > 0 (the noise term 2R/b of the idealized line search): sublinear, tol loosened
    "line_search": Case(learning_rate=1.0, steps=300, tol=5e-2),
}


def _values(name: str) -> tuple[dict, float | None]:
    entry = OPTIMIZERS.get(name)
    case = CASES.get(name, Case())
    given = {k: v for k, v in case.params if v is not None}
    values = fill_defaults(entry.params, given)
    for k, v in case.params:
        if v is None:
            values.pop(k, None)
    return values, case.learning_rate


def _sweep_param(name: str) -> str:
    entry = OPTIMIZERS.get(name)
    if entry.takes_learning_rate:
        return "learning_rate"
    values, _ = _values(name)
    return next(k for k, p in entry.params.items() if p.vmapped and k in values)


def _build(name: str, **overrides):
    entry = OPTIMIZERS.get(name)
    values, lr = _values(name)
    values.update(overrides)
    if entry.takes_learning_rate:
        lr = values.pop("learning_rate", lr)
        return entry.build(learning_rate=lr, **values)
    return entry.build(**values)


def _gap(params) -> float:
    return (float(q.loss(params)) - q.f_star()) / (float(q.loss(q.init())) - q.f_star())


NAMES = OPTIMIZERS.names()


def test_every_optimizer_is_listed_with_a_reference():
    assert len(NAMES) >= 40
    for name, entry in OPTIMIZERS.items():
        assert entry.reference and entry.summary, name
        assert set(entry.extra_args) <= {"value", "grad", "value_fn", "grad_fn", "example_grads", "key", "risk_fn"}, (
            name
        )


def _injected(name: str, **overrides):
    entry = OPTIMIZERS.get(name)
    values, lr = _values(name)
    values.update(overrides)
    static = tuple(k for k, v in values.items() if k != "learning_rate" and entry.params[k].kind != "float")
    if entry.takes_learning_rate:
        values = {"learning_rate": lr, **values}
    return optax.with_extra_args_support(optax.inject_hyperparams(entry.factory, static_args=static)(**values))


@pytest.mark.parametrize("name", NAMES)
def test_conformance(name):
    """jit + lax.scan + vmap over a float hyperparameter, inject_hyperparams, float32/float64, convergence.

    Two compiled programs per optimizer: (1) float32, vmapped over two values of a float hyperparameter,
    running the directly built optimizer and its ``inject_hyperparams`` twin side by side (they must
    agree); (2) float64, unbatched, at the first value: parameters stay float64, its first steps agree
    with the vmapped float32 lane, and both runs converge on the quadratic.
    """
    entry = OPTIMIZERS.get(name)
    case = CASES.get(name, Case())
    sweep = _sweep_param(name)
    values, lr = _values(name)
    base = lr if sweep == "learning_rate" else values[sweep]
    grid = jnp.asarray([base, 0.5 * base], jnp.float32)

    def both(v):
        direct = q.run(_build(name, **{sweep: v}), entry.extra_args, q.init(), case.steps)
        injected = q.run(_injected(name, **{sweep: v}), entry.extra_args, q.init(), case.steps)
        return direct, injected

    (p32, losses32), (_, losses_inj) = jax.jit(jax.vmap(both))(grid)
    for k in p32:
        assert p32[k].dtype == jnp.float32, (name, k, p32[k].dtype)
    # Trajectories are compared over their first steps: some methods (sign-based, trust-ratio) never
    # settle at constant step size and amplify rounding differences later on.
    np.testing.assert_allclose(
        np.asarray(losses_inj[:, :20]), np.asarray(losses32[:, :20]), rtol=2e-4, err_msg=f"{name}: inject_hyperparams"
    )
    assert np.all(np.isfinite(np.asarray(losses32))), name

    with jax.enable_x64(True):
        p64, losses64 = jax.jit(
            lambda v: q.run(_build(name, **{sweep: v}), entry.extra_args, q.init(jnp.float64), case.steps)
        )(jnp.float64(base))
        assert all(p64[k].dtype == jnp.float64 for k in p64), name
        gap64 = _gap(p64)
    if case.same_in_float64:
        np.testing.assert_allclose(
            np.asarray(losses32[0, :5]),
            np.asarray(losses64[:5]),
            rtol=1e-3,
            err_msg=f"{name}: vmapped float32 lane vs unbatched float64",
        )
    gap32 = _gap({k: v[0] for k, v in p32.items()})
    assert gap32 < case.tol, f"{name}: float32 relative gap {gap32:.3g} after {case.steps} steps (tol {case.tol})"
    assert gap64 < case.tol, f"{name}: float64 relative gap {gap64:.3g} after {case.steps} steps (tol {case.tol})"


@pytest.mark.parametrize("name", NAMES)
def test_every_float_hyperparameter_may_be_traced(name):
    """The engine builds optimizers inside vmap: every vmapped float parameter (and the learning rate)
    may be a tracer. Tracing one init + update with all of them abstract must not hit Python branching."""
    entry = OPTIMIZERS.get(name)
    values, lr = _values(name)
    traced = [k for k, v in values.items() if entry.params[k].vmapped and v is not None]
    if entry.takes_learning_rate:
        traced.append("learning_rate")
        values["learning_rate"] = lr

    def one_step(*xs):
        kw = {**values, **dict(zip(traced, xs, strict=True))}
        lr_ = kw.pop("learning_rate", None)
        opt = entry.build(learning_rate=lr_, **kw) if entry.takes_learning_rate else entry.build(**kw)
        params = q.init()
        u, _ = opt.update(
            jax.grad(q.loss)(params), opt.init(params), params, **q.extras(entry.extra_args, params, jax.random.key(0))
        )
        return u

    jax.make_jaxpr(one_step)(*[jnp.float32(values[k]) for k in traced])
