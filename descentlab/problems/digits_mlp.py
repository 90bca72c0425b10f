r"""A fully connected network on scikit-learn's ``digits`` — the small real-data network of edge-of-stability studies.

Model (``depth`` hidden layers of ``width`` units, activation :math:`\phi` = tanh or ReLU):

.. math:: h_0 = x\in\mathbb R^{64},\quad h_\ell = \phi\big(c_\ell\, h_{\ell-1} W_\ell + b_\ell\big),\quad
          f(x) = c_{L+1}\, h_L W_{L+1} + b_{L+1}\in\mathbb R^{10}.

``parameterization = "standard"``: :math:`c_\ell = 1`, :math:`W_\ell \sim \mathcal N(0, s^2/\text{fan-in})`;
``"ntk"``: :math:`c_\ell = 1/\sqrt{\text{fan-in}}`, :math:`W_\ell\sim\mathcal N(0, s^2)` (Jacot et al.);
:math:`s` = ``init_scale``, biases start at 0. The two give the same function at initialization but
different gradient scales. Losses ``mse`` (:math:`\tfrac12\|f(x)-e_y\|^2`) or ``cross_entropy``;
data and split in :mod:`descentlab.problems._digits`. Parameters are a dict ``{"w1", "b1", …}``
(2-D weight matrices, so Muon applies per layer). Batches: ``{"x": (b, 64), "y": (b,)}``;
``predict(params, x)`` gives the 10 outputs. Metrics: train/test loss and accuracy.

Nothing is known in closed form (f* = 0 is approached only when the network interpolates).

References: Cohen, Kaur, Li, Kolter, Talwalkar, *Gradient Descent on Neural Networks Typically Occurs
at the Edge of Stability* (2103.00065); Jacot, Gabriel, Hongler, *Neural Tangent Kernel* (1806.07572).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._dense_layers import DenseInput, DenseStack
from descentlab.problems._digits import (
    ACTIVATIONS,
    LOSSES,
    N_CLASSES,
    N_DIGITS,
    DigitsClassification,
    activation,
    classification_loss,
)
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

PARAMETERIZATIONS = ("standard", "ntk")


@register_problem("digits_mlp")
@dataclasses.dataclass(frozen=True)
class DigitsMLP(DenseStack, DigitsClassification, Problem):
    """MLP on sklearn digits (tanh/ReLU, MSE/cross-entropy), train/test accuracy."""

    summary = "MLP on scikit-learn digits (tanh/relu, mse/cross-entropy); train/test loss and accuracy."
    references = (
        "Cohen, Kaur, Li, Kolter, Talwalkar. Gradient Descent on Neural Networks Typically Occurs at the Edge of "
        "Stability (2103.00065)",
        "Jacot, Gabriel, Hongler. Neural Tangent Kernel (1806.07572)",
    )
    is_stream = False
    monitor = "train_loss"
    tiny: ClassVar[dict] = {"width": 8, "depth": 1, "n_train": 40}
    arrays: ClassVar[tuple] = (("width", "width", "depth"),)
    example: ClassVar[tuple] = (64,)

    width: int = static(64, "hidden units per layer", low=1, high=100_000)
    depth: int = static(2, "number of hidden layers", low=1, high=64)
    activation: str = static("tanh", "hidden activation", choices=ACTIVATIONS)
    loss_type: str = static("mse", "mse on one-hot labels or cross_entropy", choices=LOSSES)
    n_train: int = static(1000, "training examples (the rest are the test set)", low=1, high=N_DIGITS - 1)
    data_seed: int = static(0, "seed of the train/test split", low=0)
    parameterization: str = static("standard", "standard or ntk scaling", choices=PARAMETERIZATIONS)
    init_scale: float = hyper(1.0, "weights ~ N(0, s²/fan_in) (standard) or N(0, s²) (ntk)", low=0.0)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (64,) + (self.width,) * self.depth + (N_CLASSES,)

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        sizes = self.layer_sizes
        keys = jax.random.split(key, len(sizes) - 1)
        params = {}
        for i, (k, fan_in, fan_out) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True), start=1):
            std = self.init_scale / (jnp.sqrt(fan_in) if self.parameterization == "standard" else 1.0)
            params[f"w{i}"] = std * jax.random.normal(k, (fan_in, fan_out), dtype)
            params[f"b{i}"] = jnp.zeros((fan_out,), dtype)
        return params

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Outputs (…, 10) for inputs ``x`` of shape (…, 64) (the batch key is ``"x"``)."""
        return self._forward(params, x)[0]

    def _forward(
        self, params: dict[str, jax.Array], x: jax.Array, shifts: Sequence[jax.Array] | None = None
    ) -> tuple[jax.Array, list[DenseInput]]:
        """Outputs and each layer's input; ``shifts[ℓ]`` is added to layer ℓ's pre-activation (for
        :class:`DenseStack`'s ``ntk`` and ``example_gradient_moments``)."""
        phi = activation(self.activation)
        n_layers = len(self.layer_sizes) - 1
        h, inputs = x, []
        for i in range(1, n_layers + 1):
            w = params[f"w{i}"]
            scale = 1.0 if self.parameterization == "standard" else 1.0 / jnp.sqrt(w.shape[0])
            inputs.append(DenseInput(h, scale, bias=True))
            h = scale * (h @ w) + params[f"b{i}"]
            if shifts is not None:
                h = h + shifts[i - 1]
            if i < n_layers:
                h = phi(h)
        return h, inputs

    @property
    def dense_widths(self) -> tuple[int, ...]:
        return self.layer_sizes[1:]

    def summed_loss(self, outputs: jax.Array, batch: dict) -> jax.Array:
        return jnp.sum(classification_loss(self.loss_type, outputs, batch["y"]))
