r"""AdaGrad-Norm: one scalar step size from the accumulated squared gradient norm.

.. math::
    b_{t+1}^2 = b_t^2 + \|g_t\|^2, \qquad x_{t+1} = x_t - \frac{\eta}{b_{t+1}}\, g_t,

with :math:`\|g\|` the Euclidean norm of the whole gradient pytree. Unlike coordinate-wise
AdaGrad, the preconditioner is a scalar, so the method is "SGD with an automatic 1/√t-like
schedule" and is robust to the choice of η (Ward, Wu, Bottou 2019).

``accumulator = "max"`` replaces the sum by a running maximum, :math:`b_{t+1}^2=\max(b_t^2,\|g_t\|^2)`
(an AMSGrad-like normalisation, *not* AdaGrad-Norm): it keeps the scale-equivariance of AdaGrad-Norm but
forgets the accumulated gradient history. Studies use it as a mechanism control.

Reference: Ward, Wu, Bottou. *AdaGrad stepsizes: sharp convergence over nonconvex landscapes*
(ICML 2019, arXiv 1806.01811).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


class ScaleByAdagradNormState(NamedTuple):
    sum_sq_norm: jax.Array  # b_t^2


ACCUMULATORS = ("sum", "max")


def scale_by_adagrad_norm(b0: float = 1e-2, accumulator: str = "sum") -> optax.GradientTransformation:
    r"""Scale the gradient by :math:`1/\sqrt{b_0^2 + \sum_{s\le t} \|g_s\|^2}`.

    Args:
      b0: initial accumulator :math:`b_0 > 0`.
      accumulator: ``"sum"`` (AdaGrad-Norm) or ``"max"``: :math:`b^2 \leftarrow \max(b^2, \|g\|^2)`.
    """
    if accumulator not in ACCUMULATORS:
        raise ValueError(f"unknown accumulator {accumulator!r}; allowed: {', '.join(ACCUMULATORS)}")
    combine = jnp.add if accumulator == "sum" else jnp.maximum

    def init_fn(params):
        del params
        return ScaleByAdagradNormState(jnp.square(jnp.asarray(b0, jnp.result_type(float))))

    def update_fn(updates, state, params=None):
        del params
        sum_sq = combine(state.sum_sq_norm, jnp.square(optax.tree.norm(updates)))
        scale = jax.lax.rsqrt(sum_sq)
        updates = jax.tree.map(lambda g: (g * scale).astype(g.dtype), updates)
        return updates, ScaleByAdagradNormState(sum_sq)

    return optax.GradientTransformation(init_fn, update_fn)


@register_optimizer(
    "adagrad_norm",
    summary="AdaGrad-Norm: x ← x − η g / √(b₀² + Σ‖g‖²)",
    reference="Ward, Wu, Bottou. AdaGrad stepsizes: sharp convergence over nonconvex landscapes (1806.01811)",
)
def adagrad_norm(
    learning_rate: optax.ScalarOrSchedule,
    b0: Annotated[float, Arg("initial accumulator b₀", low=0.0, low_open=True)] = 1e-2,
    accumulator: Annotated[
        str, Arg("sum: b² += ‖g‖² (AdaGrad-Norm); max: b² = max(b², ‖g‖²) (a control)", choices=ACCUMULATORS)
    ] = "sum",
) -> optax.GradientTransformation:
    """AdaGrad-Norm as a chain: ``scale_by_adagrad_norm`` then the learning rate."""
    return optax.chain(scale_by_adagrad_norm(b0, accumulator), optax.scale_by_learning_rate(learning_rate))
