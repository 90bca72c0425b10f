r"""AdaHessian: Adam with the squared diagonal Hessian (Hutchinson) in place of squared gradients.

.. math::
    D_t = |z \odot \nabla^2 f(x_t) z|,\ z \sim \text{Rademacher} \quad(\text{spatially averaged}),\\
    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) D_t^2,\\
    x_{t+1} = x_t - \eta \Big(\frac{m_t/(1-\beta_1^t)}{(\sqrt{v_t}/\sqrt{1-\beta_2^t})^k + \epsilon}
              + \lambda x_t\Big),

with Hessian power k (1 by default) and decoupled weight decay λ. Spatial averaging: for 4-D
convolution kernels (flax layout H×W×in×out) :math:`D` is averaged over the two spatial axes; other
leaves use the per-coordinate estimate. The Hutchinson product :math:`z\odot Hz` is optax's
``hutchinson_estimator_diag_hessian`` with the engine's per-step key; it needs ``value_fn``.

Reference: Yao, Gholami, Shen, Mustafa, Keutzer, Mahoney. *ADAHESSIAN: An Adaptive Second Order
Optimizer for Machine Learning* (AAAI 2021, arXiv 2006.00719).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import Beta1, Beta2, Eps, WeightDecay, count_increment, require
from descentlab.optim.optax_contrib import keyed_hutchinson
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


class ScaleByAdaHessianState(NamedTuple):
    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates
    hutchinson: optax.OptState


def spatial_average(d: jax.Array) -> jax.Array:
    """|D| averaged over the spatial axes of a 4-D (H, W, in, out) kernel; |D| otherwise."""
    d = jnp.abs(d)
    if d.ndim == 4:
        return jnp.broadcast_to(jnp.mean(d, axis=(0, 1), keepdims=True), d.shape)
    return d


def scale_by_adahessian(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-4, hessian_power: float = 1.0
) -> optax.GradientTransformationExtraArgs:
    """AdaHessian's direction (before the learning rate); needs extra args ``value_fn`` and ``key``."""
    hutchinson = keyed_hutchinson()

    def init_fn(params):
        return ScaleByAdaHessianState(
            jnp.zeros([], jnp.int32),
            optax.tree.zeros_like(params),
            optax.tree.zeros_like(params),
            hutchinson.init(params),
        )

    def update_fn(updates, state, params=None, *, value_fn=None, key=None, **extra):
        del extra
        value_fn = require(value_fn, "value_fn", "adahessian")
        diag, _ = hutchinson.update(updates, state.hutchinson, params, obj_fn=value_fn, key=key)
        diag = jax.tree.map(spatial_average, diag)
        count = count_increment(state.count)
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, d: b2 * v + (1 - b2) * d * d, state.nu, diag)
        t = count.astype(jnp.result_type(float))
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        direction = jax.tree.map(
            lambda m, v, p: (m / bc1 / ((jnp.sqrt(v) / jnp.sqrt(bc2)) ** hessian_power + eps)).astype(p.dtype),
            mu,
            nu,
            updates,
        )
        return direction, ScaleByAdaHessianState(count, mu, nu, state.hutchinson)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@register_optimizer(
    "adahessian",
    summary="AdaHessian: Adam with the Hutchinson diagonal Hessian (spatially averaged) as second moment",
    reference="Yao et al. ADAHESSIAN: An Adaptive Second Order Optimizer for Machine Learning (2006.00719)",
    extra_args=("value_fn", "key"),
)
def adahessian(
    learning_rate: optax.ScalarOrSchedule,
    b1: Beta1 = 0.9,
    b2: Beta2 = 0.999,
    eps: Eps = 1e-4,
    hessian_power: Annotated[float, Arg("k: power of the Hessian preconditioner", low=0.0, high=1.0)] = 1.0,
    weight_decay: WeightDecay = 0.0,
) -> optax.GradientTransformationExtraArgs:
    return optax.chain(
        scale_by_adahessian(b1, b2, eps, hessian_power),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(learning_rate),
    )
