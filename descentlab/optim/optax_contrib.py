"""Registrations of optax / optax.contrib optimizers that need a name, a default or an adapter.

Nothing here re-implements an update rule: each entry builds optax's own transformation and, where
optax's calling convention differs from the engine's, adapts the extra arguments:

* ``sophia`` / Hutchinson estimators take ``obj_fn`` — the engine's ``value_fn`` — and draw their
  Rademacher probes from the engine's per-step ``key`` (so vmapped seeds differ);
* ``sam`` (opaque mode) calls ``grad_fn(params, i)`` — the engine's ``grad_fn(params)``;
* ``lookahead`` expects ``LookaheadParams(fast, slow)``; the adapter keeps the slow weights in the
  optimizer state so that the engine's parameters are the fast weights;
* line searches (``sgd_armijo``, ``lbfgs``) take ``value``, ``grad`` and ``value_fn``.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import optax
import optax.contrib

from descentlab.optim._common import UNIT, Eps, require
from descentlab.optim.registry import register_optax, register_optimizer
from descentlab.params import Arg


# ---- plain names for optax's sgd variants --------------------------------------------------------------
@register_optimizer(
    "momentum",
    summary="heavy-ball momentum SGD (optax.sgd with momentum)",
    reference="Polyak. Some methods of speeding up the convergence of iteration methods (1964)",
    source="optax",
)
def momentum(
    learning_rate: optax.ScalarOrSchedule, momentum: Annotated[float, Arg("heavy-ball momentum β", **UNIT)] = 0.9
) -> optax.GradientTransformation:
    return optax.sgd(learning_rate, momentum=momentum)


@register_optimizer(
    "nesterov",
    summary="Nesterov accelerated SGD (optax.sgd with nesterov=True)",
    reference="Nesterov. A method for solving the convex programming problem with convergence rate O(1/k²) (1983); "
    "Sutskever et al. (ICML 2013)",
    source="optax",
)
def nesterov(
    learning_rate: optax.ScalarOrSchedule, momentum: Annotated[float, Arg("momentum β", **UNIT)] = 0.9
) -> optax.GradientTransformation:
    return optax.sgd(learning_rate, momentum=momentum, nesterov=True)


# ---- noisy SGD: optax's add_noise with the engine's key ------------------------------------------------------
def keyed_add_noise(eta: float, gamma: float) -> optax.GradientTransformationExtraArgs:
    """optax's ``add_noise`` (std √(η/(t+1)^γ)) drawing from the step's ``key`` instead of a fixed seed."""
    inner = optax.add_noise(eta, gamma, key=0)

    def update_fn(updates, state, params=None, *, key=None, **extra):
        del extra
        key = require(key, "key", "noisy_sgd")
        noisy, new_state = inner.update(updates, state._replace(rng_key=key), params)
        return noisy, new_state._replace(rng_key=state.rng_key)

    return optax.GradientTransformationExtraArgs(inner.init, update_fn)


@register_optimizer(
    "noisy_sgd",
    summary="SGD with annealed Gaussian gradient noise (optax.noisy_sgd), noise from the engine's key",
    reference="Neelakantan et al. Adding Gradient Noise Improves Learning for Very Deep Networks (1511.06807)",
    extra_args=("key",),
    source="optax",
)
def noisy_sgd(
    learning_rate: optax.ScalarOrSchedule,
    eta: Annotated[float, Arg("η: initial noise variance", low=0.0)] = 0.01,
    gamma: Annotated[float, Arg("γ: variance decay exponent, σ_t² = η/(t+1)^γ", low=0.0)] = 0.55,
) -> optax.GradientTransformationExtraArgs:
    return optax.chain(keyed_add_noise(eta, gamma), optax.scale_by_learning_rate(learning_rate))


# ---- parameter-free and schedule-free methods: optax's signatures are fine as they are --------------------
for _name, _ref in {
    "schedule_free_sgd": "Defazio et al. The Road Less Scheduled (2405.15682)",
    "schedule_free_adamw": "Defazio et al. The Road Less Scheduled (2405.15682)",
    "prodigy": "Mishchenko & Defazio. Prodigy: An Expeditiously Adaptive Parameter-Free Learner (2306.06101)",
    "dog": "Ivgi, Hinder, Carmon. DoG is SGD's Best Friend: A Parameter-Free Dynamic Step Size Schedule (2302.12022)",
    "dowg": "Khaled, Mishchenko, Jin. DoWG Unleashed: An Efficient Universal Parameter-Free Gradient Descent "
    "Method (2305.16284)",
}.items():
    register_optax(_name, getattr(optax.contrib, _name), _ref, source="optax.contrib")


# ---- Sophia: Hutchinson diagonal Hessian with the engine's key ------------------------------------------
def keyed_hutchinson() -> optax.GradientTransformationExtraArgs:
    """optax's Hutchinson diagonal-Hessian estimator ``z ⊙ ∇²f z``, probes drawn from the step's ``key``."""
    inner = optax.contrib.hutchinson_estimator_diag_hessian()

    def update_fn(updates, state, params=None, *, obj_fn=None, key=None, **extra):
        del extra
        key = require(key, "key", "hutchinson")
        estimate, _ = inner.update(updates, state._replace(key=key), params, obj_fn=obj_fn)
        return estimate, state

    return optax.GradientTransformationExtraArgs(inner.init, update_fn)


@register_optimizer(
    "sophia",
    summary="Sophia (optax.contrib): clipped preconditioned momentum with a Hutchinson diagonal Hessian",
    reference="Liu et al. Sophia: A Scalable Stochastic Second-order Optimizer for Language Model Pre-training "
    "(2305.14342)",
    extra_args=("value_fn", "key"),
    source="optax.contrib",
)
def sophia(
    learning_rate: optax.ScalarOrSchedule,
    b1: Annotated[float, Arg("β₁", **UNIT)] = 0.965,
    b2: Annotated[float, Arg("β₂ (Hessian EMA)", **UNIT)] = 0.99,
    eps: Eps = 1e-8,
    weight_decay: Annotated[float, Arg("decoupled weight decay", low=0.0)] = 1e-4,
    gamma: Annotated[float, Arg("γ: Hessian scale", low=0.0, low_open=True)] = 0.01,
    clip_threshold: Annotated[float, Arg("elementwise update clip", low=0.0, low_open=True)] = 1.0,
    update_interval: Annotated[int, Arg("steps between Hessian estimates", low=1)] = 10,
) -> optax.GradientTransformationExtraArgs:
    inner = optax.contrib.sophia(
        learning_rate,
        b1=b1,
        b2=b2,
        eps=eps,
        weight_decay=weight_decay,
        gamma=gamma,
        clip_threshold=clip_threshold,
        update_interval=update_interval,
        hessian_diagonal_fn=keyed_hutchinson(),
    )

    def update_fn(updates, state, params=None, *, value_fn=None, key=None, **extra):
        del extra
        return inner.update(updates, state, params, obj_fn=require(value_fn, "value_fn", "sophia"), key=key)

    return optax.GradientTransformationExtraArgs(inner.init, update_fn)


# ---- SAM: one adversarial ascent step then the outer step, every call ------------------------------------
@register_optimizer(
    "sam",
    summary="SAM (optax.contrib, opaque mode): g(x + ρ ∇f/‖∇f‖) fed to SGD",
    reference="Foret et al. Sharpness-Aware Minimization for Efficiently Improving Generalization (2010.01412)",
    extra_args=("grad_fn",),
    source="optax.contrib",
)
def sam(
    learning_rate: optax.ScalarOrSchedule,
    rho: Annotated[float, Arg("ρ: radius of the normalized ascent step", low=0.0)] = 0.05,
) -> optax.GradientTransformationExtraArgs:
    adversary = optax.chain(optax.contrib.normalize(), optax.sgd(rho))
    inner = optax.contrib.sam(optax.sgd(learning_rate), adversary, sync_period=2, opaque_mode=True)

    def update_fn(updates, state, params=None, *, grad_fn=None, **extra):
        del extra
        grad_fn = require(grad_fn, "grad_fn", "sam")
        return inner.update(updates, state, params, grad_fn=lambda p, _: grad_fn(p))

    return optax.GradientTransformationExtraArgs(inner.init, update_fn)


# ---- Lookahead: slow weights live in the state ------------------------------------------------------------
class LookaheadAdapterState(NamedTuple):
    inner: optax.LookaheadState
    slow: optax.Params


@register_optimizer(
    "lookahead",
    summary="Lookahead (optax): k fast steps, then slow ← slow + α(fast − slow) and fast ← slow",
    reference="Zhang, Lucas, Hinton, Ba. Lookahead Optimizer: k steps forward, 1 step back (1907.08610)",
    source="optax",
)
def lookahead(
    learning_rate: optax.ScalarOrSchedule,
    fast: Annotated[str, Arg("fast (inner) optimizer", choices=("sgd", "adam"))] = "sgd",
    sync_period: Annotated[int, Arg("k: fast steps between synchronisations", low=1)] = 5,
    slow_step_size: Annotated[float, Arg("α: slow-weights interpolation", low=0.0, high=1.0)] = 0.5,
) -> optax.GradientTransformation:
    fast_opt = {"sgd": optax.sgd, "adam": optax.adam}[fast](learning_rate)
    inner = optax.lookahead(fast_opt, sync_period=sync_period, slow_step_size=slow_step_size)

    def init_fn(params):
        return LookaheadAdapterState(inner.init(optax.LookaheadParams.init_synced(params)), params)

    def update_fn(updates, state, params=None):
        both = optax.LookaheadParams(fast=params, slow=state.slow)
        moves, inner_state = inner.update(updates, state.inner, both)
        slow = optax.apply_updates(state.slow, moves.slow)
        return moves.fast, LookaheadAdapterState(inner_state, slow)

    return optax.GradientTransformation(init_fn, update_fn)


# ---- line searches -------------------------------------------------------------------------------------------
@register_optimizer(
    "sgd_armijo",
    summary="SGD with optax's backtracking (Armijo) line search on the batch loss",
    reference="Armijo (1966); Vaswani et al. Painless Stochastic Gradient (1905.09997)",
    extra_args=("value", "grad", "value_fn"),
    source="optax",
)
def sgd_armijo(
    learning_rate: optax.ScalarOrSchedule,
    max_backtracking_steps: Annotated[int, Arg("most halvings per step", low=1)] = 15,
    slope_rtol: Annotated[float, Arg("Armijo constant c₁", low=0.0, high=1.0, low_open=True)] = 1e-4,
    decrease_factor: Annotated[
        float, Arg("backtracking factor", low=0.0, high=1.0, low_open=True, high_open=True)
    ] = 0.8,
    increase_factor: Annotated[float, Arg("step growth between iterations", low=1.0)] = 1.5,
    max_learning_rate: Annotated[float, Arg("largest trial step", low=0.0, low_open=True)] = 1.0,
) -> optax.GradientTransformationExtraArgs:
    """``learning_rate`` scales the direction before the search (1 = plain Armijo SGD)."""
    return optax.chain(
        optax.sgd(learning_rate),
        optax.scale_by_backtracking_linesearch(
            max_backtracking_steps,
            slope_rtol=slope_rtol,
            decrease_factor=decrease_factor,
            increase_factor=increase_factor,
            max_learning_rate=max_learning_rate,
        ),
    )


@register_optimizer(
    "lbfgs",
    summary="L-BFGS (optax) with its zoom (strong Wolfe) line search on the batch loss",
    reference="Nocedal. Updating quasi-Newton matrices with limited storage (1980); Nocedal & Wright, Numerical "
    "Optimization",
    extra_args=("value", "grad", "value_fn"),
    source="optax",
)
def lbfgs(
    learning_rate: optax.ScalarOrSchedule,
    memory_size: Annotated[int, Arg("number of curvature pairs kept", low=1)] = 10,
    scale_init_precond: Annotated[bool, Arg("scale the initial inverse Hessian by sᵀy/yᵀy")] = True,
) -> optax.GradientTransformationExtraArgs:
    """``learning_rate`` multiplies the direction before the line search (1 = standard L-BFGS)."""
    return optax.lbfgs(learning_rate, memory_size=memory_size, scale_init_precond=scale_init_precond)
