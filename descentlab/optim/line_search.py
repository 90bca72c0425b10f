r"""Idealized exact line search for SGD: each step, the step size that minimises the next expected risk.

Streaming SGD :math:`\theta_{t+1}=\theta_t-\eta\gamma_tg_t` with :math:`g_t` the mean gradient of a fresh batch
of b examples. The *idealized* exact line search of the high-line paper picks

.. math:: \gamma_t=\operatorname*{arg\,min}_\gamma\ E\big[\mathcal R(\theta_t-\gamma g_t)\,\big|\,\theta_t\big],

the expectation over the fresh batch, using the population risk :math:`\mathcal R` and the current iterate —
knowledge no practical method has, hence "idealized". For a quadratic risk with Hessian K the objective is
:math:`\mathcal R-\gamma\langle\nabla\mathcal R,Eg\rangle+\tfrac{\gamma^2}2E[g^\top Kg]`, so
:math:`\gamma_t=\|\nabla\mathcal R\|^2/E[g^\top Kg]`. On Gaussian least squares (:math:`x\sim N(0,K)`,
:math:`y=x^\top\theta^\star+\sigma\varepsilon`, :math:`e=\theta-\theta^\star`, :math:`\nabla\mathcal R=Ke`) Isserlis'
theorem gives :math:`E[g^\top Kg]=(1+\tfrac1b)\,e^\top K^3e+\tfrac1b\operatorname{tr}(K^2)\,2\mathcal R`, so

.. math:: \gamma_t=\frac{\|\nabla\mathcal R\|^2}
    {(1+\tfrac1b)\,\nabla\mathcal R^\top K\,\nabla\mathcal R+\tfrac1b\,\|Kz\|^2\,2\mathcal R(\theta_t)} ,

the step of :func:`descentlab.theory.adaptive_least_squares.line_search_curves` with :math:`v_i=e_i^2`.
Everything is computed from the risk function alone: :math:`\mathcal R` and :math:`\nabla\mathcal R` by
autodiff, :math:`K\nabla\mathcal R` and :math:`Kz` as Hessian-vector products, and
:math:`\operatorname{tr}(K^2)=E\|Kz\|^2` with a Rademacher vector z — exact for a diagonal K (z_i² = 1), unbiased
otherwise. b is the leading axis of the per-example gradients.

Extra arguments: ``risk_fn`` (the problem's monitored objective: the exact population risk of
``least_squares``), ``example_grads`` (for b) and ``key`` (for z). The state keeps the last step size
(``step_size``, read by the ``effective_lr`` probe). Where :math:`\nabla\mathcal R=0` the step is 0.

Reference: Collins-Woodfin, Seroussi, Garcia Malaxechebarria, Mackenzie, Paquette, Paquette, *The High Line:
Exact Risk and Learning Rate Curves of Stochastic Adaptive Learning Rate Algorithms* (2405.19585).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import require
from descentlab.optim.registry import register_optimizer


class ScaleByLineSearchState(NamedTuple):
    step_size: jax.Array  # γ of the last update (0 before the first)


def _rademacher_like(key: jax.Array, tree: Any) -> Any:
    leaves, treedef = jax.tree.flatten(tree)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(
        treedef, [jax.random.rademacher(k, leaf.shape, leaf.dtype) for k, leaf in zip(keys, leaves, strict=True)]
    )


def line_search_step(risk_fn: Any, params: Any, batch_size: int, key: jax.Array) -> jax.Array:
    r""":math:`\gamma=\|\nabla\mathcal R\|^2/\big((1+\frac1b)\nabla\mathcal R^\top K\nabla\mathcal R+\frac1b\|Kz\|^2
    2\mathcal R\big)` at ``params`` (0 where :math:`\nabla\mathcal R=0`)."""
    risk, grad_risk = jax.value_and_grad(risk_fn)(params)
    z = _rademacher_like(key, params)

    def hvp(v):
        return jax.jvp(jax.grad(risk_fn), (params,), (v,))[1]

    k_grad, k_z = hvp(grad_risk), hvp(z)
    inv_b = 1.0 / batch_size
    numerator = optax.tree.vdot(grad_risk, grad_risk)
    denominator = (1.0 + inv_b) * optax.tree.vdot(grad_risk, k_grad) + inv_b * optax.tree.vdot(k_z, k_z) * 2.0 * risk
    positive = denominator > 0
    return jnp.where(positive, numerator / jnp.where(positive, denominator, 1.0), 0.0)


def scale_by_line_search() -> optax.GradientTransformationExtraArgs:
    """Scale the gradient by the idealized exact line-search step γ_t (extra args ``risk_fn``,
    ``example_grads``, ``key``)."""

    def init_fn(params):
        dtype = jax.tree.leaves(params)[0].dtype if jax.tree.leaves(params) else jnp.result_type(float)
        return ScaleByLineSearchState(jnp.zeros((), dtype))

    def update_fn(updates, state, params=None, *, risk_fn=None, example_grads=None, key=None, **extra):
        del extra
        risk_fn = require(risk_fn, "risk_fn", "line_search")
        example_grads = require(example_grads, "example_grads", "line_search")
        key = require(key, "key", "line_search")
        if params is None:
            raise ValueError("optimizer 'line_search' needs params in update()")
        batch_size = jax.tree.leaves(example_grads)[0].shape[0]
        gamma = line_search_step(risk_fn, params, batch_size, key).astype(state.step_size.dtype)
        updates = jax.tree.map(lambda g: (g * gamma).astype(g.dtype), updates)
        return updates, ScaleByLineSearchState(gamma)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@register_optimizer(
    "line_search",
    summary="idealized exact line search: x ← x − η γ_t g, γ_t = argmin_γ E[R(x − γ g)] (population risk)",
    reference="Collins-Woodfin et al. The High Line: Exact Risk and Learning Rate Curves of Stochastic "
    "Adaptive Learning Rate Algorithms (2405.19585)",
    extra_args=("risk_fn", "example_grads", "key"),
)
def line_search(learning_rate: optax.ScalarOrSchedule = 1.0) -> optax.GradientTransformation:
    """Idealized exact line search as a chain: ``scale_by_line_search`` then the learning rate η (a multiplier,
    1 for the method itself)."""
    return optax.chain(scale_by_line_search(), optax.scale_by_learning_rate(learning_rate))
