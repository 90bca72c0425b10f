r"""EXAdam: Adam with cross-moment debiasing and a gradient acceleration term.

With :math:`t` the step count (from 1),

.. math::
    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\\
    d_1 = 1 + \frac{v_t}{v_t+\epsilon}\beta_2^t, \qquad d_2 = 1 + \frac{m_t^2}{m_t^2+\epsilon}\beta_1^t,\\
    \tilde m_t = \frac{m_t}{1-\beta_1^t} d_1, \quad \tilde v_t = \frac{v_t}{1-\beta_2^t} d_2, \quad
    \tilde g_t = \frac{g_t}{1-\beta_1^t} d_1,\\
    x_{t+1} = x_t - \eta\Big(\frac{\tilde m_t + \tilde g_t}{\sqrt{\tilde v_t} + \epsilon} + \lambda x_t\Big)

(decoupled weight decay λ as in the official implementation). The paper's optional growing step
size is not included: the learning rate is the schedule's.

Reference: Adly. *EXAdam: The Power of Adaptive Cross-Moments* (arXiv 2412.20302).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import Beta1, Beta2, Eps, WeightDecay, count_increment
from descentlab.optim.registry import register_optimizer


class ScaleByExadamState(NamedTuple):
    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates


def scale_by_exadam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> optax.GradientTransformation:
    """EXAdam's direction (before the learning rate)."""

    def init_fn(params):
        return ScaleByExadamState(
            jnp.zeros([], jnp.int32), optax.tree.zeros_like(params), optax.tree.zeros_like(params)
        )

    def update_fn(updates, state, params=None):
        del params
        count = count_increment(state.count)
        t = count.astype(jnp.result_type(float))
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, updates)
        p1, p2 = b1**t, b2**t

        def direction(m, v, g):
            d1 = 1 + v / (v + eps) * p2
            d2 = 1 + m * m / (m * m + eps) * p1
            m_tilde = m / (1 - p1) * d1
            v_tilde = v / (1 - p2) * d2
            g_tilde = g / (1 - p1) * d1
            return ((m_tilde + g_tilde) / (jnp.sqrt(v_tilde) + eps)).astype(g.dtype)

        return jax.tree.map(direction, mu, nu, updates), ScaleByExadamState(count, mu, nu)

    return optax.GradientTransformation(init_fn, update_fn)


@register_optimizer(
    "exadam",
    summary="EXAdam: cross-moment debiased Adam with a gradient acceleration term",
    reference="Adly. EXAdam: The Power of Adaptive Cross-Moments (2412.20302)",
)
def exadam(
    learning_rate: optax.ScalarOrSchedule,
    b1: Beta1 = 0.9,
    b2: Beta2 = 0.999,
    eps: Eps = 1e-8,
    weight_decay: WeightDecay = 0.0,
) -> optax.GradientTransformation:
    return optax.chain(
        scale_by_exadam(b1, b2, eps),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(learning_rate),
    )
