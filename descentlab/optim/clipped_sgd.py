r"""Clipped SGD: SGD on the gradient clipped to a maximal global norm.

.. math::
    x_{t+1} = x_t - \eta \min\!\Big(1, \frac{c}{\|g_t\|}\Big) g_t,

optionally with heavy-ball momentum applied after clipping. The clipping is optax's
``clip_by_global_norm``; this module only names the chain.

Reference: Zhang, He, Sra, Jadbabaie. *Why gradient clipping accelerates training: a theoretical
justification for adaptivity* (ICLR 2020, arXiv 1905.11881).
"""

from __future__ import annotations

from typing import Annotated

import optax

from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


@register_optimizer(
    "clipped_sgd",
    summary="SGD with global-norm gradient clipping: x ← x − η min(1, c/‖g‖) g",
    reference="Zhang, He, Sra, Jadbabaie. Why gradient clipping accelerates training (1905.11881)",
)
def clipped_sgd(
    learning_rate: optax.ScalarOrSchedule,
    max_norm: Annotated[float, Arg("clipping threshold c on the global gradient norm", low=0.0, low_open=True)] = 1.0,
    momentum: Annotated[
        float, Arg("heavy-ball momentum after clipping (0 = none)", low=0.0, high=1.0, high_open=True)
    ] = 0.0,
) -> optax.GradientTransformation:
    return optax.chain(
        optax.clip_by_global_norm(max_norm),
        optax.trace(decay=momentum),
        optax.scale_by_learning_rate(learning_rate),
    )
