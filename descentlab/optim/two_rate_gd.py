r"""Layer-wise learning rates: gradient descent with one step size per layer.

For parameters split into layers :math:`\theta = (\theta^{(1)}, \dots, \theta^{(L)})` (the top-level
keys of a parameter dict), the update is

.. math:: \theta^{(\ell)}_{t+1} = \theta^{(\ell)}_t - \eta_t\, \eta_\ell\, g^{(\ell)}_t ,

with :math:`\eta_t` the schedule (base learning rate, 1 by default) and :math:`\eta_\ell` the
layer's rate. ``scale_by_layer`` is the new block (multiply each top-level entry of the update by
its own — possibly traced — scale); ``layerwise_gd`` is the named optimizer with two rates,
``eta_hidden`` for every layer and ``eta_output`` for the top-level keys listed in ``output_keys``
(``"output"`` by default). Both rates are floats, so a spec can sweep them as vmapped axes: this is
the two-learning-rate plane in which the trainability boundary of a one-hidden-layer network is
fractal.

Reference: Sohl-Dickstein, *The boundary of neural network trainability is fractal* (2402.06184).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg


class ScaleByLayerState(NamedTuple):
    pass


def scale_by_layer(scales: Mapping[str, Any], default: Any = 1.0) -> optax.GradientTransformation:
    """Multiply the update's top-level entry ``k`` by ``scales[k]`` (``default`` for the others).

    The updates must be a dict (the usual parameter pytree of a layered model).
    """

    def init_fn(params):
        del params
        return ScaleByLayerState()

    def update_fn(updates, state, params=None):
        del params
        if not isinstance(updates, Mapping):
            raise TypeError(f"scale_by_layer needs a dict of layers, got {type(updates).__name__}")
        out = {}
        for key, value in updates.items():
            scale = scales.get(key, default)
            out[key] = jax.tree_util.tree_map(lambda u, s=scale: jnp.asarray(s, u.dtype) * u, value)
        return out, state

    return optax.GradientTransformation(init_fn, update_fn)


@register_optimizer(
    "layerwise_gd",
    summary="gradient descent with separate rates for hidden and output layers: θ_ℓ ← θ_ℓ − η₀ η_ℓ g_ℓ",
    reference="Sohl-Dickstein. The boundary of neural network trainability is fractal (2402.06184)",
)
def layerwise_gd(
    learning_rate: Annotated[
        optax.ScalarOrSchedule,
        Arg("base rate η₀ multiplying every layer's rate (the schedule's peak)", kind="float", low=0.0, low_open=True),
    ] = 1.0,
    *,
    eta_hidden: Annotated[float, Arg("rate of the hidden layers", low=0.0)],
    eta_output: Annotated[float, Arg("rate of the output layer(s)", low=0.0)],
    output_keys: Annotated[str, Arg("comma-separated top-level parameter keys that get eta_output")] = "output",
) -> optax.GradientTransformation:
    keys = [k.strip() for k in output_keys.split(",") if k.strip()]
    return optax.chain(
        scale_by_layer({k: eta_output for k in keys}, default=eta_hidden),
        optax.scale_by_learning_rate(learning_rate),
    )
