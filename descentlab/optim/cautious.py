r"""Cautious optimizers: keep only the update coordinates that agree in sign with the gradient.

For an update direction :math:`u_t` (the step is :math:`-\eta u_t`) and gradient :math:`g_t`,

.. math::
    \phi_t = \mathbb 1[u_t \odot g_t > 0], \qquad
    u_t \leftarrow u_t \odot \phi_t \cdot \frac{d}{\operatorname{nnz}(\phi_t) + 1},

per parameter leaf of size d: coordinates whose proposed move would increase the loss to first
order are zeroed, and the rest are rescaled by the inverse kept fraction (the "+1" avoids a
division by zero when nothing is kept). Weight decay is applied outside the mask, as in the
paper's C-AdamW (Algorithm 2).

* :func:`scale_by_cautious` wraps a direction block (``scale_by_adam``, ``scale_by_lion`` …,
  whose output is aligned with the gradient);
* :func:`cautious` wraps any full optimizer (whose output is a descent step, anti-aligned).

``mask="disagree"`` on C-AdamW / C-Lion keeps the opposite coordinates (:math:`u_t \odot g_t < 0`), the ones
whose move increases the loss to first order: not an optimizer anyone should use, the broken mechanism of a
control (the default ``"agree"`` is the paper's mask, unchanged).

Reference: Liang, Chen, Liu, Liu. *Cautious Optimizers: Improving Training with One Line of Code*
(arXiv 2411.16085).
"""

from __future__ import annotations

from typing import Annotated, Literal

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import Beta1, Beta2, Eps, WeightDecay
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


def _mask(updates, grads, sign: float):
    def leaf(u, g):
        keep = (sign * u * g > 0).astype(u.dtype)
        return (u * keep * (keep.size / (jnp.sum(keep) + 1.0))).astype(u.dtype)

    return jax.tree.map(leaf, updates, grads)


def _wrap(inner: optax.GradientTransformation, sign: float) -> optax.GradientTransformationExtraArgs:
    inner = optax.with_extra_args_support(inner)

    def update_fn(updates, state, params=None, **extra):
        directions, state = inner.update(updates, state, params, **extra)
        return _mask(directions, updates, sign), state

    return optax.GradientTransformationExtraArgs(inner.init, update_fn)


MASK_SIGN = {"agree": 1.0, "disagree": -1.0}
"""The mask's sign: keep the coordinates agreeing with the gradient (the paper), or the opposite ones (a control)."""

Mask = Annotated[
    Literal["agree", "disagree"],
    Arg("coordinates kept: agree (the paper's mask) or disagree (inverted: a broken control)", static=True),
]


def scale_by_cautious(
    direction: optax.GradientTransformation, mask: str = "agree"
) -> optax.GradientTransformationExtraArgs:
    """Mask a direction block's output (kept where it agrees in sign with the gradient; ``mask="disagree"``:
    where it disagrees)."""
    return _wrap(direction, MASK_SIGN[mask])


def cautious(optimizer: optax.GradientTransformation) -> optax.GradientTransformationExtraArgs:
    """Mask a full optimizer's descent step (kept where it opposes the gradient)."""
    return _wrap(optimizer, -1.0)


@register_optimizer(
    "cautious_adamw",
    summary="C-AdamW: AdamW whose Adam direction is masked to coordinates agreeing with the gradient",
    reference="Liang, Chen, Liu, Liu. Cautious Optimizers: Improving Training with One Line of Code (2411.16085)",
)
def cautious_adamw(
    learning_rate: optax.ScalarOrSchedule,
    b1: Beta1 = 0.9,
    b2: Beta2 = 0.999,
    eps: Eps = 1e-8,
    weight_decay: WeightDecay = 1e-4,
    mask: Mask = "agree",
) -> optax.GradientTransformation:
    return optax.chain(
        scale_by_cautious(optax.scale_by_adam(b1=b1, b2=b2, eps=eps), mask),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(learning_rate),
    )


@register_optimizer(
    "cautious_lion",
    summary="C-Lion: Lion whose sign direction is masked to coordinates agreeing with the gradient",
    reference="Liang, Chen, Liu, Liu. Cautious Optimizers (2411.16085); Chen et al. Lion (2302.06675)",
)
def cautious_lion(
    learning_rate: optax.ScalarOrSchedule,
    b1: Annotated[float, Arg("β₁ (interpolation for the sign)", low=0.0, high=1.0)] = 0.9,
    b2: Annotated[float, Arg("β₂ (momentum decay)", low=0.0, high=1.0)] = 0.99,
    weight_decay: WeightDecay = 1e-3,
    mask: Mask = "agree",
) -> optax.GradientTransformation:
    return optax.chain(
        scale_by_cautious(optax.scale_by_lion(b1=b1, b2=b2), mask),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(learning_rate),
    )
