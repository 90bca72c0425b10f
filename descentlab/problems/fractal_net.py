r"""The fractal-trainability network: one hidden layer, mean-field output, as many points as parameters.

Model (width :math:`n`, input dimension :math:`d`, activation :math:`\phi` = tanh by default):

.. math:: f(x; W_0, w_1) = \frac1n\, w_1^\top \phi(W_0 x/\sqrt d),
          \qquad W_0\in\mathbb R^{n\times d},\ w_1\in\mathbb R^n,

with the paper's gains :math:`\phi(z)=\tanh(\sqrt2 z)` (or :math:`\sqrt2\,\mathrm{relu}(z)`, or z),

no biases, :math:`W_0, w_1` initialised i.i.d. :math:`\mathcal N(0, s^2)` (``init_scale`` = s = 1). Data:
:math:`N` points with :math:`x_i\sim\mathcal N(0, I_d)`, :math:`y_i\sim\mathcal N(0,1)` drawn with
``data_seed``; by default :math:`N = nd + n` — as many points as parameters (272 for
:math:`n = d = 16`). The loss is the mean squared error
:math:`\mathcal L = \frac1N\sum_i (f(x_i) - y_i)^2`, trained full batch (``sampler = "full_batch"``)
with separate rates for the two layers (optimizer ``layerwise_gd``: parameters are
``{"hidden": W_0, "output": w_1}``). Sweeping the two rates on a grid and marking which runs
diverge draws the trainability boundary, which is fractal over many decades of scale.

With ``train_hidden = False`` the hidden layer keeps its initialisation (its gradient is zero): the
model is then random features, the loss a convex quadratic in :math:`w_1`, and GD diverges exactly when
:math:`\eta_{\rm output}` exceeds :math:`2/\lambda_{\max}` of that quadratic — a straight trainability
boundary in the two-rate plane, whatever :math:`\eta_{\rm hidden}`.

Metric: ``train_loss`` (the monitored quantity of the divergence test).

Speed: ``grad`` is written by hand (equal to autodiff to rounding, tested in float64) and the
forward is laid out hidden-major (n × N), so that under ``vmap`` over runs sharing the data each
product is one large matrix product and nothing is transposed: about 5 µs per run·step in float64
on 2 CPU cores, against about 15 µs with autodiff.

Reference: Sohl-Dickstein, *The boundary of neural network trainability is fractal* (2402.06184).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

ACTIVATIONS = ("tanh", "relu", "identity")


@functools.lru_cache(maxsize=8)
def fractal_data(n_points: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed training set: x (n_points, dim) and y (n_points,), standard normal."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_points, dim)), rng.standard_normal(n_points)


# φ(z) = ψ(g·z) for the three activations (relu is positively homogeneous): (gain g, ψ, ψ'(u, ψ(u))).
_ACTIVATIONS = {
    "tanh": (math.sqrt(2.0), jnp.tanh, lambda u, h: 1.0 - h * h),
    "relu": (math.sqrt(2.0), jax.nn.relu, lambda u, h: (u > 0).astype(h.dtype)),
    "identity": (1.0, lambda u: u, lambda u, h: jnp.ones_like(h)),
}


@register_problem("fractal_net")
@dataclasses.dataclass(frozen=True)
class FractalNet(Problem):
    """One-hidden-layer mean-field network on random data (Sohl-Dickstein 2024)."""

    summary = "one-hidden-layer mean-field net, as many random points as parameters (fractal trainability)"
    references = ("Sohl-Dickstein. The boundary of neural network trainability is fractal (2402.06184)",)
    is_stream = False
    monitor = "train_loss"
    tiny: ClassVar[dict] = {"width": 4, "input_dim": 3}

    @classmethod
    def data_elements(cls, values) -> dict[tuple[str, ...], int]:
        """The inputs (N, d), N = ``n_points`` or the parameter count n·d + n."""
        n_data = values["n_points"] or values["width"] * values["input_dim"] + values["width"]
        return {
            ("n_points", "input_dim"): n_data * values["input_dim"],
            ("width", "input_dim"): values["width"] * values["input_dim"],
        }

    width: int = static(16, "hidden units n", low=1, high=65_536)
    input_dim: int = static(16, "input dimension d", low=1, high=65_536)
    n_points: int = static(0, "training points N (0: as many as parameters, n·d + n)", low=0, high=10_000_000)
    activation: str = static("tanh", "hidden activation φ", choices=ACTIVATIONS)
    data_seed: int = static(0, "seed of the random inputs and targets", low=0)
    init_scale: float = hyper(1.0, "weights ~ N(0, s²)", low=0.0)
    train_hidden: bool = static(
        True,
        "train the hidden layer (False: it stays at its initialisation — random "
        "features, a convex quadratic in the output weights)",
    )

    @property
    def n_params(self) -> int:
        return self.width * self.input_dim + self.width

    @property
    def n_data(self) -> int:
        return self.n_points or self.n_params

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        k0, k1 = jax.random.split(key)
        return {
            "hidden": self.init_scale * jax.random.normal(k0, (self.width, self.input_dim), dtype),
            "output": self.init_scale * jax.random.normal(k1, (self.width,), dtype),
        }

    def _hidden(self, params: dict[str, jax.Array], x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(scaled inputs x̃ = g·x/√d (N, d), pre-activations U = W₀x̃ᵀ (n, N), H = ψ(U)), hidden-major."""
        gain, psi, _ = _ACTIVATIONS[self.activation]
        xs = x * (gain / math.sqrt(self.input_dim))
        hidden = params["hidden"] if self.train_hidden else jax.lax.stop_gradient(params["hidden"])
        u = hidden @ xs.T
        return xs, u, psi(u)

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """f(x) for inputs of shape (..., d): the paper's mean-field net, pre-activations O(1)."""
        _, _, h = self._hidden(params, x.reshape(-1, self.input_dim))
        return ((params["output"] @ h) / self.width).reshape(x.shape[:-1])

    def dataset(self) -> dict[str, jax.Array]:
        x, y = fractal_data(self.n_data, self.input_dim, self.data_seed)
        dtype = jnp.result_type(float)
        return {"x": jnp.asarray(x, dtype), "y": jnp.asarray(y, dtype)}

    def example_loss(self, params, example) -> jax.Array:
        return (self.predict(params, example["x"]) - example["y"]) ** 2

    def loss(self, params, batch) -> jax.Array:
        return jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)

    def metrics(self, params) -> dict[str, jax.Array]:
        return {"train_loss": self.loss(params, self.dataset())}

    def grad(self, params, batch) -> tuple[jax.Array, dict[str, jax.Array]]:
        r"""(loss, gradient) by hand: the same numbers as ``jax.value_and_grad(self.loss)``, about 2.5× faster.

        With :math:`\phi(z) = \psi(g z)` (:math:`g = \sqrt2` for tanh and relu), scaled inputs
        :math:`\tilde x = g\,x/\sqrt d`, pre-activations :math:`U = W_0 \tilde X^\top` (n × N),
        :math:`H = \psi(U)`, residuals :math:`r = H^\top w_1/n - y` and :math:`s = 2r/N`:

        .. math:: \mathcal L = \tfrac1N \lVert r\rVert^2,\qquad
                  \nabla_{w_1}\mathcal L = H s/n,\qquad
                  \nabla_{W_0}\mathcal L = \big(\psi'(U)\odot (w_1 s^\top)/n\big)\,\tilde X .

        Everything is laid out hidden-major (n × N), so under ``vmap`` over runs with shared data the
        two big products are single (runs·n)-row matrix products with no transposes, and the
        activation is evaluated once (its slope is read off its value: 1 − tanh²).
        """
        slope = _ACTIVATIONS[self.activation][2]
        y, n = batch["y"], self.width
        xs, u, h = self._hidden(params, batch["x"])
        w1 = params["output"]
        r = (w1 @ h) / n - y  # (N,)
        s = r * (2.0 / y.shape[0])
        delta = slope(u, h) * ((w1 / n)[:, None] * s[None, :])  # ∂L/∂U, (n, N)
        hidden = delta @ xs if self.train_hidden else jnp.zeros_like(params["hidden"])
        return jnp.mean(r * r), {"hidden": hidden, "output": (h @ s) / n}

    def flops_per_step(self) -> int:
        """Multiply-adds ×2 of one full-batch gradient step (forward, output grad, hidden grad)."""
        n, d, N = self.width, self.input_dim, self.n_data
        return 4 * N * n * d + 4 * N * n
