r"""A small convolutional network on scikit-learn's ``digits`` (8×8 images, 10 classes).

Architecture (``c`` = ``channels``, :math:`\phi` = tanh or ReLU, 3×3 "same" convolutions, 2×2 average pooling):

.. math:: x\in\mathbb R^{8\times8\times1}\xrightarrow{\text{conv}_1,\ \phi,\ \text{pool}}\mathbb R^{4\times4\times c}
          \xrightarrow{\text{conv}_2,\ \phi,\ \text{pool}}\mathbb R^{2\times2\times c}
          \xrightarrow{\text{flatten},\ W_3} \mathbb R^{10}.

Weights start at :math:`\mathcal N(0, s^2/\text{fan-in})` (fan-in = 9·channels in, or 4c for the head),
:math:`s` = ``init_scale``, biases at 0. Losses ``mse`` or ``cross_entropy`` and the train/test split are
those of :mod:`descentlab.problems._digits`. Parameters: ``{"conv1": (3,3,1,c), "b1", "conv2": (3,3,c,c),
"b2", "w3": (4c, 10), "b3"}``. Batches ``{"x": (b, 64), "y": (b,)}``; ``predict(params, x)`` reshapes the
64 pixels to an 8×8 image. Metrics: train/test loss and accuracy.

References: LeCun, Bottou, Bengio, Haffner, *Gradient-based learning applied to document recognition*
(1998); Cohen et al., *Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability*
(2103.00065), whose experiments include small CNNs.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._digits import ACTIVATIONS, LOSSES, N_CLASSES, N_DIGITS, DigitsClassification, activation
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem


def _conv(h: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    out = jax.lax.conv_general_dilated(h, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return out + b


def _pool(h: jax.Array) -> jax.Array:
    n, height, width, c = h.shape
    return h.reshape(n, height // 2, 2, width // 2, 2, c).mean(axis=(2, 4))


@register_problem("digits_cnn")
@dataclasses.dataclass(frozen=True)
class DigitsCNN(DigitsClassification, Problem):
    """Two-conv CNN on sklearn digits, train/test accuracy."""

    summary = "Small CNN (2 conv + pool + linear head) on scikit-learn digits; train/test loss and accuracy."
    references = (
        "LeCun, Bottou, Bengio, Haffner. Gradient-based learning applied to document recognition (1998)",
        "Cohen, Kaur, Li, Kolter, Talwalkar. Gradient Descent on Neural Networks Typically Occurs at the Edge of "
        "Stability (2103.00065)",
    )
    is_stream = False
    monitor = "train_loss"
    tiny: ClassVar[dict] = {"channels": 3, "n_train": 40}
    arrays: ClassVar[tuple] = ((9, "channels", "channels"),)

    channels: int = static(16, "channels of both convolutions (the width)", low=1, high=4096)
    activation: str = static("relu", "activation", choices=ACTIVATIONS)
    loss_type: str = static("cross_entropy", "mse on one-hot labels or cross_entropy", choices=LOSSES)
    n_train: int = static(1000, "training examples (the rest are the test set)", low=1, high=N_DIGITS - 1)
    data_seed: int = static(0, "seed of the train/test split", low=0)
    init_scale: float = hyper(1.0, "weights ~ N(0, s²/fan_in)", low=0.0)

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        c = self.channels
        k1, k2, k3 = jax.random.split(key, 3)
        s = self.init_scale
        return {
            "conv1": s / 3.0 * jax.random.normal(k1, (3, 3, 1, c), dtype),
            "b1": jnp.zeros((c,), dtype),
            "conv2": s / jnp.sqrt(9.0 * c) * jax.random.normal(k2, (3, 3, c, c), dtype),
            "b2": jnp.zeros((c,), dtype),
            "w3": s / jnp.sqrt(4.0 * c) * jax.random.normal(k3, (4 * c, N_CLASSES), dtype),
            "b3": jnp.zeros((N_CLASSES,), dtype),
        }

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Outputs (…, 10) for flattened 8×8 images ``x`` of shape (…, 64) (the batch key is ``"x"``)."""
        phi = activation(self.activation)
        lead = x.shape[:-1]
        h = x.reshape((-1, 8, 8, 1))
        h = _pool(phi(_conv(h, params["conv1"], params["b1"])))
        h = _pool(phi(_conv(h, params["conv2"], params["b2"])))
        out = h.reshape(h.shape[0], -1) @ params["w3"] + params["b3"]
        return out.reshape((*lead, N_CLASSES))
