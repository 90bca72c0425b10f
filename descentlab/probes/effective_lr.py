r"""The effective learning rate an optimizer is applying now.

For AdaGrad-Norm (:mod:`descentlab.optim.adagrad_norm`) the step is
:math:`\gamma_t = \eta_t / b_t` with :math:`b_t^2 = b_0^2 + \sum_{s<t}\|g_s\|^2`, read from its state
(``sum_sq_norm``); for optimizers without such a state it is the scheduled :math:`\eta_t`. This is
the learning-rate curve of the high-line analysis (Collins-Woodfin et al., *The High Line*,
2405.19585), recorded on the device at checkpoints.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from descentlab.probes.base import FunctionProbe, ProbeContext, register_probe


def _accumulators(state) -> list[jax.Array]:
    """Every ``sum_sq_norm`` field found in the (nested) optimizer state."""
    found = []

    def visit(node):
        if hasattr(node, "_fields"):
            if "sum_sq_norm" in node._fields:
                found.append(node.sum_sq_norm)
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
    accumulators = _accumulators(ctx.opt_state)
    if not accumulators:
        return {"effective_lr": scheduled}
    return {"effective_lr": scheduled * jax.lax.rsqrt(accumulators[0])}


@register_probe(
    "effective_lr",
    summary="the step size applied now: η_t, or η_t/b_t for AdaGrad-Norm",
    reference="Collins-Woodfin et al. The High Line (2405.19585)",
)
def effective_lr_probe():
    return FunctionProbe(_effective_lr, uses_eval_batch=False)
