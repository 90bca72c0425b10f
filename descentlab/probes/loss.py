r"""The loss family: the problem's own metrics, the loss on the evaluation batch, f − f*, ‖∇f‖, ‖θ − θ*‖.

* ``metrics`` — whatever the problem knows how to measure exactly (population risk, accuracy, …);
* ``loss`` — :math:`f(\theta_t)` on the fixed evaluation batch and, when f* is known,
  the suboptimality :math:`f(\theta_t) - f^\star`;
* ``grad_norm`` — :math:`\|\nabla f(\theta_t)\|` on the evaluation batch;
* ``distance`` — :math:`\|\theta_t-\theta^\star\|` when the problem knows a minimizer.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from descentlab.probes.base import FunctionProbe, ProbeContext, register_probe


def _metrics(ctx: ProbeContext) -> dict[str, jax.Array]:
    return ctx.problem.metrics(ctx.params)


def _loss(ctx: ProbeContext) -> dict[str, jax.Array]:
    value = ctx.problem.loss(ctx.params, ctx.eval_batch)
    out = {"loss": value}
    if ctx.problem.f_star is not None:
        out["suboptimality"] = value - ctx.problem.f_star
    return out


def _grad_norm(ctx: ProbeContext) -> dict[str, jax.Array]:
    _, grads = ctx.problem.grad(ctx.params, ctx.eval_batch)
    return {"grad_norm": optax.global_norm(grads)}


def _distance(ctx: ProbeContext) -> dict[str, jax.Array]:
    optimum = ctx.problem.optimum()
    if optimum is None:
        return {}
    diff = jax.tree_util.tree_map(jnp.subtract, ctx.params, optimum)
    return {"distance_to_optimum": optax.global_norm(diff)}


@register_probe("metrics", summary="the problem's own exact metrics (population risk, accuracy, overlaps)")
def metrics_probe():
    return FunctionProbe(_metrics, uses_eval_batch=False)


@register_probe("loss", summary="loss on the evaluation batch, and f − f* when f* is known")
def loss_probe():
    return FunctionProbe(_loss)


@register_probe("grad_norm", summary="‖∇f‖ on the evaluation batch")
def grad_norm_probe():
    return FunctionProbe(_grad_norm)


@register_probe("distance", summary="‖θ − θ*‖ when the problem knows a minimizer")
def distance_probe():
    return FunctionProbe(_distance)
