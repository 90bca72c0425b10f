r"""A two-layer ReLU network with biases regressing a smooth function of inputs uniform in the unit ball.

Model (``width`` m neurons, input dimension d = ``dim``):

.. math:: f_\theta(x) = \sum_{j=1}^{m} a_j\,\mathrm{ReLU}(w_j\cdot x + b_j) + c,

initialized :math:`w_j\sim\mathcal N(0, I_d/d)`, :math:`b_j\sim\mathcal N(0, \tfrac14)`,
:math:`a_j\sim\mathcal N(0, 1/m)`, c = 0. Inputs are uniform in the unit ball :math:`B^d`
(:math:`x = r\,s`, s uniform on the sphere, :math:`r = U^{1/d}`), the target is the single-index
:math:`f^\star(x) = \sin(2\,u\cdot x)` (u a random unit vector: smooth, and of low norm in the
ReLU-network variation space), labels :math:`y = f^\star(x) + \sigma\xi` with ξ standard normal (σ = ``noise``).

The dataset holds ``n_train`` draws (``data_seed`` and ``data_draw``, drawn with ``jax.random`` inside the
program, so the dataset itself is a *vmappable* hyperparameter: one program runs many independent datasets; the
draw is also folded into the initialization key) plus an index ``i``; the training objective uses only the
first :math:`n` = ``n_used`` of them (0: all), so the sample size is a *vmappable* hyperparameter and one
compiled program sweeps a grid of n (nested datasets, as in a learning curve):

.. math:: L(\theta) = \frac{1}{2\,|B_n|}\sum_{i\in B_n}(f_\theta(x_i) - y_i)^2
          + \frac\lambda2\big(\lVert W\rVert^2 + \lVert b\rVert^2 + \lVert a\rVert^2\big),

:math:`B_n` the examples of the batch with index < n and λ = ``weight_decay`` (an explicit L2 penalty, the
low-norm arm of Liang et al. 2025; c is not penalized). ``example_loss`` is the unmasked squared error plus the
penalty.

Metrics (at checkpoints; the test set is ``n_test`` fresh draws):

* ``train_loss`` — the masked half squared error, without the penalty;
* ``excess_risk`` — :math:`\mathbb E(f_\theta - f^\star)^2` on the test set (the MSE of the estimate);
* ``rare_weight_share`` — the *neural shattering* statistic: with :math:`p_j` the fraction of test inputs on which
  neuron j is active and :math:`s_j = |a_j|\,\lVert(w_j, b_j)\rVert` its weight magnitude, the share
  :math:`\sum_{0<p_j<\tau}s_j / \sum_{p_j>0}s_j` of the live neurons' magnitude carried by neurons active on
  fewer than τ = ``rare_fraction`` of the inputs (dead neurons, :math:`p_j = 0`, compute nothing and are left out);
* ``active_fraction`` — the mean of :math:`p_j` over live neurons;
* ``weighted_coverage`` — :math:`\sum_j s_jp_j / \sum_{p_j>0}s_j`, the activation rate of the live neurons
  weighted by their magnitude (small when the large weights sit on rarely active neurons).

Reference: Liang, Qiao, Wang, Parhi, *Stable Minima of ReLU Neural Networks Suffer from the Curse of
Dimensionality: The Neural Shattering Phenomenon* (NeurIPS 2025, 2506.20779).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.params import SpecError
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def ball_data(dim: int, n_train: int, n_test: int, seed: int, draw=0) -> tuple[jax.Array, ...]:
    """(x_train, f*(x_train), ξ, x_test, f*(x_test), u) of dataset ``draw`` (a traceable integer or float) for
    ``seed``: inputs uniform in the unit ball of R^d, drawn with ``jax.random`` so that ``draw`` can be vmapped."""
    dtype = jnp.result_type(float)
    key = jax.random.fold_in(jax.random.PRNGKey(seed), jnp.asarray(draw).astype(jnp.uint32))
    k_u, k_train, k_test, k_xi = jax.random.split(key, 4)
    u = jax.random.normal(k_u, (dim,), dtype)
    u = u / jnp.linalg.norm(u)

    def inputs(k: jax.Array, n: int) -> jax.Array:
        k_s, k_r = jax.random.split(k)
        s = jax.random.normal(k_s, (n, dim), dtype)
        s = s / jnp.linalg.norm(s, axis=1, keepdims=True)
        return s * jax.random.uniform(k_r, (n, 1), dtype) ** (1.0 / dim)

    x_train, x_test = inputs(k_train, n_train), inputs(k_test, n_test)
    xi = jax.random.normal(k_xi, (n_train,), dtype)
    return x_train, jnp.sin(2.0 * x_train @ u), xi, x_test, jnp.sin(2.0 * x_test @ u), u


@register_problem("relu_ball")
@dataclasses.dataclass(frozen=True)
class ReluBall(Problem):
    """Two-layer ReLU network with biases, noisy regression of sin(2u·x) on the unit ball, nested samples."""

    summary = "Two-layer ReLU net with biases on inputs uniform in the unit ball; sample size n vmappable (masked)."
    references = (
        "Liang, Qiao, Wang, Parhi. Stable Minima of ReLU Neural Networks Suffer from the Curse of Dimensionality: "
        "The Neural Shattering Phenomenon (2506.20779)",
    )
    is_stream = False
    monitor = "train_loss"
    tiny: ClassVar[dict] = {"dim": 3, "width": 6, "n_train": 12, "n_test": 20}
    arrays: ClassVar[tuple] = (("n_train", "dim"), ("n_test", "dim"), ("dim", "width"))
    example: ClassVar[tuple] = ("dim",)

    dim: int = static(5, "input dimension d", low=1, high=10_000)
    width: int = static(64, "hidden ReLU neurons m", low=1, high=1_000_000)
    n_train: int = static(256, "examples in the dataset (the largest sample size)", low=1, high=1_000_000)
    n_test: int = static(2048, "test inputs (excess risk and activation rates)", low=1, high=1_000_000)
    data_seed: int = static(0, "seed of the inputs, the teacher direction u and the label noise", low=0)
    data_draw: float = hyper(
        0.0, "which dataset of data_seed (an integer; vmappable); also mixed into the init key", low=0.0
    )
    rare_fraction: float = static(0.05, "τ: a neuron active on fewer than this fraction of inputs is rare", low=0.0)
    noise: float = hyper(0.5, "label-noise standard deviation σ", low=0.0)
    n_used: float = hyper(0.0, "sample size n: only examples with index < n are trained on (0: all)", low=0.0)
    weight_decay: float = hyper(0.0, "λ of the L2 penalty λ/2 (‖W‖² + ‖b‖² + ‖a‖²)", low=0.0)

    @classmethod
    def check(cls, values) -> None:
        if not 0.0 < float(values["rare_fraction"]) <= 1.0:
            raise SpecError("problem.rare_fraction", values["rare_fraction"], "must lie in (0, 1]")

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        key = jax.random.fold_in(key, jnp.asarray(self.data_draw).astype(jnp.uint32))
        kw, kb, ka = jax.random.split(key, 3)
        return {
            "w": jax.random.normal(kw, (self.dim, self.width), dtype) / jnp.sqrt(jnp.asarray(self.dim, dtype)),
            "b": 0.5 * jax.random.normal(kb, (self.width,), dtype),
            "a": jax.random.normal(ka, (self.width,), dtype) / jnp.sqrt(jnp.asarray(self.width, dtype)),
            "c": jnp.zeros((), dtype),
        }

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Outputs (…,) for inputs (…, d)."""
        return jax.nn.relu(x @ params["w"] + params["b"]) @ params["a"] + params["c"]

    def _penalty(self, params: dict[str, jax.Array]) -> jax.Array:
        norms = jnp.sum(params["w"] ** 2) + jnp.sum(params["b"] ** 2) + jnp.sum(params["a"] ** 2)
        return 0.5 * self.weight_decay * norms

    def _n(self) -> jax.Array:
        """The sample size in use: ``n_used`` capped at ``n_train`` (all of them when 0)."""
        n = jnp.asarray(self.n_used, jnp.result_type(float))
        return jnp.where(n > 0, jnp.minimum(n, self.n_train), self.n_train)

    def _masked_error(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        keep = (batch["i"] < self._n()).astype(batch["x"].dtype)
        squared = (self.predict(params, batch["x"]) - batch["y"]) ** 2
        return 0.5 * jnp.sum(keep * squared) / jnp.maximum(jnp.sum(keep), 1.0)

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        return self._masked_error(params, batch) + self._penalty(params)

    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return 0.5 * (self.predict(params, example["x"]) - example["y"]) ** 2 + self._penalty(params)

    def _arrays(self) -> tuple[dict[str, jax.Array], dict[str, jax.Array]]:
        dtype = jnp.result_type(float)
        x_tr, f_tr, xi, x_te, f_te, _ = ball_data(self.dim, self.n_train, self.n_test, self.data_seed, self.data_draw)
        train = {"x": x_tr, "y": f_tr + self.noise * xi, "i": jnp.arange(self.n_train, dtype=dtype)}
        return train, {"x": x_te, "y": f_te}

    def dataset(self) -> dict[str, jax.Array]:
        return self._arrays()[0]

    def test_set(self) -> dict[str, jax.Array]:
        return self._arrays()[1]

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        train, test = self._arrays()
        rates = jnp.mean(test["x"] @ params["w"] + params["b"] > 0, axis=0)
        magnitude = jnp.abs(params["a"]) * jnp.sqrt(jnp.sum(params["w"] ** 2, axis=0) + params["b"] ** 2)
        live = rates > 0
        rare = live & (rates < self.rare_fraction)
        live_total = jnp.sum(jnp.where(live, magnitude, 0.0))
        return {
            "train_loss": self._masked_error(params, train),
            "excess_risk": jnp.mean((self.predict(params, test["x"]) - test["y"]) ** 2),
            "rare_weight_share": jnp.sum(jnp.where(rare, magnitude, 0.0)) / jnp.maximum(live_total, 1e-30),
            "active_fraction": jnp.sum(jnp.where(live, rates, 0.0)) / jnp.maximum(jnp.sum(live), 1),
            "weighted_coverage": jnp.sum(jnp.where(live, magnitude * rates, 0.0)) / jnp.maximum(live_total, 1e-30),
        }
