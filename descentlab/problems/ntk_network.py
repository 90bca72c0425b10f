r"""A fully connected network in the NTK parameterization on a small synthetic regression — the lazy-training testbed.

Model with ``depth`` L weight layers (L = 2: one hidden layer; L = 3: two hidden layers) of ``width`` n,
activation :math:`\phi` (tanh, ReLU or GELU), scalar output, no biases:

.. math:: h_1 = \tfrac{1}{\sqrt d}\,x W_1,\qquad h_\ell = \tfrac{1}{\sqrt n}\,\phi(h_{\ell-1}) W_\ell\ (1<\ell<L),
          \qquad f(x) = \tfrac{1}{\sqrt n}\,\phi(h_{L-1})\,W_L ,

with every entry of every :math:`W_\ell` drawn :math:`\mathcal N(0, 1)` (Jacot, Gabriel, Hongler 2018).
In this parameterization the NTK :math:`\Theta(x,x')=\langle\nabla_\theta f(x),\nabla_\theta f(x')\rangle`
has an O(1) limit as :math:`n\to\infty` and, trained by GD with an O(1) step for O(1) time, the relative
changes are (Jacot et al. 2018; Lee et al. 2019; Dyer & Gur-Ari 2020)
:math:`\|\Delta W_1\|/\|W_1\|,\ \|\Delta W_L\|/\|W_L\|\propto n^{-1/2}`, hidden-to-hidden
:math:`\|\Delta W_\ell\|/\|W_\ell\|\propto n^{-1}` and :math:`\|\Theta_t-\Theta_0\|/\|\Theta_0\|\propto n^{-1}`.

``parameterization = "mean_field"`` divides the readout by :math:`n` instead of :math:`\sqrt n`,
:math:`f(x)=\tfrac1n\,\phi(h_{L-1})\,W_L` (other layers and the initialization unchanged): at depth 2
this is the mean-field network :math:`f=\tfrac1n\sum_j a_j\phi(w_j\cdot x/\sqrt d)` (Mei, Montanari,
Nguyen 2018; Chizat & Bach 2018), which, trained with a width-scaled step :math:`\eta n`, moves every
neuron by O(1): it learns features instead of staying near its linearization (Chizat, Oyallon, Bach 2019).

Data (static, seeded by ``data_seed``): ``n_train`` training and ``n_test`` test inputs
:math:`x\sim\mathcal N(0, I_d)` rescaled to the sphere :math:`\|x\|=\sqrt d`; target a fixed smooth
function of two teacher directions :math:`u, u'` (unit vectors),
:math:`y^\star(x) = \sin(x\cdot u) + \tfrac12\big((x\cdot u')^2 - 1\big)`, plus label noise
:math:`\sigma\xi` on the training labels (``noise`` σ, a vmappable hyperparameter; ξ fixed standard
normals). Loss :math:`\tfrac12(f(x)-y)^2`, averaged over the batch. Batches ``{"x": (b, d), "y": (b,)}``;
``predict(params, x)`` gives the outputs (…,). Parameters ``{"w1", …, "wL"}``; ``w1`` is the input
layer, ``wL`` the readout. Metrics: ``train_loss``, ``test_loss`` (against the noiseless target).

References: Jacot, Gabriel, Hongler, *Neural Tangent Kernel* (1806.07572); Lee et al., *Wide Neural
Networks of Any Depth Evolve as Linear Models Under Gradient Descent* (1902.06720); Dyer, Gur-Ari,
*Asymptotics of Wide Networks from Feynman Diagrams* (1909.11304).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems._dense_layers import DenseInput, DenseStack
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu}
PARAMETERIZATIONS = ("ntk", "mean_field")


@functools.lru_cache(maxsize=16)
def regression_data(dim: int, n_train: int, n_test: int, seed: int) -> tuple[np.ndarray, ...]:
    """(x_train, y_train*, ξ, x_test, y_test*): inputs on the sphere of radius √d, noiseless targets, noise."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((2, dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)

    def inputs(n: int) -> np.ndarray:
        x = rng.standard_normal((n, dim))
        return np.sqrt(dim) * x / np.linalg.norm(x, axis=1, keepdims=True)

    def target(x: np.ndarray) -> np.ndarray:
        return np.sin(x @ u[0]) + 0.5 * ((x @ u[1]) ** 2 - 1.0)

    x_train, x_test = inputs(n_train), inputs(n_test)
    xi = rng.standard_normal(n_train)
    return x_train, target(x_train), xi, x_test, target(x_test)


@register_problem("ntk_mlp")
@dataclasses.dataclass(frozen=True)
class NTKNetwork(DenseStack, Problem):
    """Two- or three-layer network in NTK parameterization, scalar regression on a small fixed dataset."""

    summary = "Wide MLP in NTK parameterization (depth 2 or 3, static width) on a small synthetic regression."
    references = (
        "Jacot, Gabriel, Hongler. Neural Tangent Kernel (1806.07572)",
        "Lee et al. Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient Descent (1902.06720)",
        "Dyer, Gur-Ari. Asymptotics of Wide Networks from Feynman Diagrams (1909.11304)",
    )
    is_stream = False
    monitor = "train_loss"
    tiny: ClassVar[dict] = {"width": 8, "depth": 3, "n_train": 12, "n_test": 6, "dim": 3}
    example: ClassVar[tuple] = ("dim",)

    @classmethod
    def data_elements(cls, values) -> dict[tuple[str, ...], int]:
        """Train and test inputs, the first layer (d, n) and, at depth 3, the hidden layer (n, n)."""
        width, dim = values["width"], values["dim"]
        return {
            ("n_train", "n_test", "dim"): (values["n_train"] + values["n_test"]) * dim,
            ("dim", "width"): dim * width,
            ("width", "depth"): width * width * (values["depth"] - 2),
        }

    width: int = static(256, "hidden units per layer n", low=1, high=1_000_000)
    depth: int = static(2, "weight layers L (2: one hidden layer, 3: two hidden layers)", low=2, high=3)
    dim: int = static(8, "input dimension d", low=1, high=10_000)
    n_train: int = static(32, "training examples", low=1, high=100_000)
    n_test: int = static(256, "test examples", low=1, high=100_000)
    activation: str = static("tanh", "hidden activation", choices=tuple(ACTIVATIONS))
    parameterization: str = static("ntk", "ntk (readout /√n) or mean_field (readout /n)", choices=PARAMETERIZATIONS)
    data_seed: int = static(0, "seed of inputs, teacher directions and label noise", low=0)
    noise: float = hyper(0.0, "label-noise standard deviation σ on the training targets", low=0.0)

    def _sizes(self) -> tuple[int, ...]:
        return (self.dim,) + (self.width,) * (self.depth - 1) + (1,)

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        sizes = self._sizes()
        keys = jax.random.split(key, len(sizes) - 1)
        return {
            f"w{i}": jax.random.normal(k, (a, b), dtype)
            for i, (k, a, b) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True), start=1)
        }

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Outputs (…,) for inputs of shape (…, d)."""
        return self._forward(params, x)[0]

    def _forward(
        self, params: dict[str, jax.Array], x: jax.Array, shifts: Sequence[jax.Array] | None = None
    ) -> tuple[jax.Array, list[DenseInput]]:
        """Outputs and each layer's input; ``shifts[ℓ]`` is added to layer ℓ's pre-activation (for
        :class:`DenseStack`'s ``ntk`` and ``example_gradient_moments``)."""
        phi = ACTIVATIONS[self.activation]
        h, inputs = x, []
        for i in range(1, self.depth + 1):
            w = params[f"w{i}"]
            if i > 1:
                h = phi(h)
            divisor = self._divisor(i, w)
            inputs.append(DenseInput(h, 1.0 / divisor, bias=False))
            h = (h @ w) / divisor
            if shifts is not None:
                h = h + shifts[i - 1]
        return h[..., 0], inputs

    def _divisor(self, layer: int, w: jax.Array) -> jax.Array:
        """What layer ``layer``'s pre-activation is divided by: √fan-in, or fan-in for a mean-field readout."""
        fan_in = jnp.asarray(w.shape[0], w.dtype)
        if self.parameterization == "mean_field" and layer == self.depth:
            return fan_in
        return jnp.sqrt(fan_in)

    @property
    def dense_widths(self) -> tuple[int, ...]:
        return self._sizes()[1:]

    def summed_loss(self, outputs: jax.Array, batch: dict) -> jax.Array:
        return 0.5 * jnp.sum((outputs - batch["y"]) ** 2)

    def _arrays(self) -> tuple[dict[str, jax.Array], dict[str, jax.Array]]:
        dtype = jnp.result_type(float)
        x_tr, y_tr, xi, x_te, y_te = regression_data(self.dim, self.n_train, self.n_test, self.data_seed)
        train = {"x": jnp.asarray(x_tr, dtype), "y": jnp.asarray(y_tr, dtype) + self.noise * jnp.asarray(xi, dtype)}
        return train, {"x": jnp.asarray(x_te, dtype), "y": jnp.asarray(y_te, dtype)}

    def dataset(self) -> dict[str, jax.Array]:
        return self._arrays()[0]

    def test_set(self) -> dict[str, jax.Array]:
        return self._arrays()[1]

    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return 0.5 * (self.predict(params, example["x"]) - example["y"]) ** 2

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        return 0.5 * jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        train, test = self._arrays()
        return {"train_loss": self.loss(params, train), "test_loss": self.loss(params, test)}
