r"""The effective learning rate an optimizer is applying now.

For AdaGrad-Norm (:mod:`descentlab.optim.adagrad_norm`) the step is
:math:`\gamma_t = \eta_t / b_t` with :math:`b_t^2 = b_0^2 + \sum_{s<t}\|g_s\|^2`, read from its state
(``sum_sq_norm``); for the idealized exact line search (:mod:`descentlab.optim.line_search`) it is
:math:`\eta_t\gamma_{t-1}`, the line-search step of the last update (its state's ``step_size``; 0 before the
first); for AutoSGD (:mod:`descentlab.optim.autosgd`) it is the current γ of its state (the middle
stream's step, :math:`\gamma_0` rescaled by every episode's decision);
for optimizers without such a state it is the scheduled :math:`\eta_t`. This is
the learning-rate curve of the high-line analysis (Collins-Woodfin et al., *The High Line*,
2405.19585), recorded on the device at checkpoints.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from descentlab.optim.autosgd import AutoSGDState
from descentlab.probes.base import FunctionProbe, ProbeContext, register_probe


def _fields_named(state, field: str, owner: type | None = None) -> list[jax.Array]:
    """Every ``field`` of a named-tuple node (of type ``owner`` when given) found in the (nested) optimizer state."""
    found = []

    def visit(node):
        if hasattr(node, "_fields"):
            if field in node._fields and (owner is None or isinstance(node, owner)):
                found.append(getattr(node, field))
            for child in node:
                visit(child)
        elif isinstance(node, (tuple, list)):
            for child in node:
                visit(child)
        elif isinstance(node, dict):
            for child in node.values():
                visit(child)

    visit(state)
    return found


def _effective_lr(ctx: ProbeContext) -> dict[str, jax.Array]:
    scheduled = jnp.asarray(ctx.learning_rate, jnp.result_type(float))
    gammas = _fields_named(ctx.opt_state, "gamma", AutoSGDState)
    if gammas:
        return {"effective_lr": jnp.asarray(gammas[0], scheduled.dtype)}
    accumulators = _fields_named(ctx.opt_state, "sum_sq_norm")
    if not accumulators:
        steps = _fields_named(ctx.opt_state, "step_size")
        return {"effective_lr": scheduled * steps[0] if steps else scheduled}
    return {"effective_lr": scheduled * jax.lax.rsqrt(accumulators[0])}


@register_probe(
    "effective_lr",
    summary="the step size applied now: η_t, η_t/b_t for AdaGrad-Norm, η_t γ_t for the line search, γ_t for AutoSGD",
    reference="Collins-Woodfin et al. The High Line (2405.19585)",
)
def effective_lr_probe():
    return FunctionProbe(_effective_lr, uses_eval_batch=False)
