r"""Natural-gradient step with a damped empirical Fisher (for small models).

.. math::
    F_t = \frac1B \sum_{i=1}^B g_i g_i^\top + \lambda I, \qquad x_{t+1} = x_t - \eta F_t^{-1} \bar g_t,

with :math:`g_i` the per-example gradients of the batch (extra argument ``example_grads``),
:math:`\bar g_t` their mean and λ the damping. The d×d system over the flattened parameters is
solved by Cholesky, so the method is for models with at most a few thousand parameters. The
empirical Fisher is not the Fisher (Kunstner et al.); it is the variant used in practice and in
the literature on its pitfalls.

References: Amari. *Natural Gradient Works Efficiently in Learning* (Neural Comput. 1998);
Martens. *New Insights and Perspectives on the Natural Gradient Method* (JMLR 2020, arXiv 1412.1193);
Kunstner, Balles, Hennig. *Limitations of the Empirical Fisher Approximation* (NeurIPS 2019, 1905.12558).
"""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp
import optax

from descentlab.optim._common import flat, require
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


def scale_by_empirical_fisher(damping: float = 1e-3) -> optax.GradientTransformationExtraArgs:
    """Precondition the gradient by the damped empirical Fisher of ``example_grads``."""

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None, *, example_grads=None, **extra):
        del params, extra
        example_grads = require(example_grads, "example_grads", "natural_gradient")
        g, unflatten = flat(updates)
        per_example = jax.vmap(lambda e: flat(e)[0])(example_grads)  # (B, d)
        fisher = per_example.T @ per_example / per_example.shape[0]
        fisher = fisher + damping * jnp.eye(g.size, dtype=g.dtype)
        direction = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(fisher), g)
        return unflatten(direction.astype(g.dtype)), state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@register_optimizer(
    "natural_gradient",
    summary="natural gradient with the damped empirical Fisher: x ← x − η (G Gᵀ/B + λI)⁻¹ ḡ",
    reference="Amari. Natural Gradient Works Efficiently in Learning (1998); Martens (1412.1193)",
    extra_args=("example_grads",),
)
def natural_gradient(
    learning_rate: optax.ScalarOrSchedule,
    damping: Annotated[float, Arg("λ: Tikhonov damping of the empirical Fisher", low=0.0, low_open=True)] = 1e-3,
) -> optax.GradientTransformationExtraArgs:
    return optax.chain(scale_by_empirical_fisher(damping), optax.scale_by_learning_rate(learning_rate))
