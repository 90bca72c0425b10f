r"""Power-law random features (PLRF): the solvable model of compute-optimal neural scaling laws.

Data (a stream): :math:`x\in\mathbb R^{v}`, :math:`x_j\sim\mathcal N(0, j^{-2\alpha})` independent, i.e.
:math:`x\sim\mathcal N(0, D)`, :math:`D = \mathrm{diag}(j^{-2\alpha})`;
target :math:`y = \langle x, b\rangle + \sigma\varepsilon`
with :math:`b_j = j^{-\beta}`. The model sees :math:`N` = ``n_features`` random features
:math:`z = W^\top x`, :math:`W\in\mathbb R^{v\times N}`, :math:`W_{jk}\sim\mathcal N(0, 1/N)` fixed by
``feature_seed``, and predicts :math:`\langle z, \theta\rangle`, :math:`\theta\in\mathbb R^N`, with loss
:math:`\tfrac12(\langle W^\top x,\theta\rangle - y)^2`. The population risk is exact:

.. math:: \mathcal R(\theta) = \tfrac12 (W\theta - b)^\top D\,(W\theta - b) + \tfrac{\sigma^2}{2},

a quadratic with Hessian :math:`H = W^\top D W` (``smoothness`` = :math:`\lambda_{\max}(H)`,
``strong_convexity`` = :math:`\lambda_{\min}(H)`, positive when :math:`v\ge N`). Its minimum, the
approximation floor of N features, is :math:`f^\star = \tfrac12\|(I - QQ^\top)D^{1/2}b\|^2 + \tfrac{\sigma^2}2`
with :math:`Q` an orthonormal basis of the range of :math:`D^{1/2}W`. The risk of one-pass SGD from
:math:`\theta_0 = 0` as a function of steps and N traces the scaling laws (phases set by α, β).

Options (defaults leave the model above unchanged): ``spectrum = "exponential"`` replaces the power law by
:math:`\mathrm{Var}\,x_j = e^{-2\alpha(j-1)/\ell}` (``decay_length`` ℓ; a spectrum without a power law);
``exact_gradient`` makes the training loss the population risk itself (gradient descent on R, the batch is
ignored); ``feature_source = "jax"`` draws W in JAX from ``feature_key``, a vmappable float, so draws of the
projection can be averaged inside one compiled program (``"numpy"``: from ``feature_seed`` on the host).

References: Paquette, Paquette, Xiao, Pennington, *4+3 Phases of Compute-Optimal Neural Scaling Laws*
(2405.15074); Bordelon, Atanasov, Pehlevan, *A Dynamical Model of Neural Scaling Laws* (2402.01092);
Maloney, Roberts, Sully, *A Solvable Model of Neural Scaling Laws* (2210.16859).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

SPECTRA = ("power_law", "exponential")
SOURCES = ("numpy", "jax")


@functools.lru_cache(maxsize=16)
def _feature_matrix(v: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((v, n)) / np.sqrt(n)


@register_problem("random_features")
@dataclasses.dataclass(frozen=True)
class RandomFeatures(Problem):
    """PLRF: N random features of a power-law Gaussian input, power-law target; exact risk and floor."""

    summary = "Power-law random features (scaling laws): N features of x ~ N(0, diag j^-2α), target b_j = j^-β."
    references = (
        "Paquette, Paquette, Xiao, Pennington. 4+3 Phases of Compute-Optimal Neural Scaling Laws (2405.15074)",
        "Bordelon, Atanasov, Pehlevan. A Dynamical Model of Neural Scaling Laws (2402.01092)",
        "Maloney, Roberts, Sully. A Solvable Model of Neural Scaling Laws (2210.16859)",
    )
    is_stream = True
    monitor = "population_risk"
    tiny: ClassVar[dict] = {"n_features": 6, "latent_dim": 15}
    arrays: ClassVar[tuple] = (("latent_dim", "n_features"),)
    example: ClassVar[tuple] = ("latent_dim",)

    n_features: int = static(100, "N: number of random features (the parameter count)", low=1, high=1_000_000)
    latent_dim: int = static(400, "v: dimension of the latent input x", low=1, high=10_000_000)
    feature_seed: int = static(0, "seed of W", low=0)
    alpha: float = hyper(1.0, "input spectrum: Var x_j = j^-2α", low=0.0)
    beta: float = hyper(0.7, "target: b_j = j^-β", low=0.0)
    noise: float = hyper(0.0, "label noise σ", low=0.0)
    init_scale: float = hyper(0.0, "θ0 ~ init_scale · N(0, I/N)", low=0.0)
    spectrum: str = static(
        "power_law", "input spectrum: power_law Var x_j = j^-2α, or exponential e^-2α(j-1)/ℓ", choices=SPECTRA
    )
    decay_length: float = hyper(8.0, "ℓ of the exponential spectrum", low=0.0, low_open=True)
    exact_gradient: bool = static(False, "train on the exact population risk (gradient descent; batches unused)")
    feature_source: str = static(
        "numpy", "W drawn on the host from feature_seed (numpy) or in JAX from feature_key (jax)", choices=SOURCES
    )
    feature_key: float = hyper(0.0, "seed of W when feature_source = jax (integer-valued; vmappable)", low=0.0)

    @property
    def _index(self) -> jax.Array:
        return jnp.arange(1, self.latent_dim + 1, dtype=jnp.result_type(float))

    @property
    def input_variances(self) -> jax.Array:
        """diag(D) = j^-2α (``power_law``) or exp(−2α (j − 1)/ℓ) (``exponential``)."""
        alpha = jnp.asarray(self.alpha, self._index.dtype)
        if self.spectrum == "exponential":
            return jnp.exp(-2.0 * alpha * (self._index - 1.0) / self.decay_length)
        return self._index ** (-2.0 * alpha)

    @property
    def target(self) -> jax.Array:
        """b_j = j^-β."""
        return self._index ** (-jnp.asarray(self.beta, self._index.dtype))

    @property
    def features(self) -> jax.Array:
        dtype = jnp.result_type(float)
        if self.feature_source == "jax":
            key = jax.random.PRNGKey(jnp.asarray(self.feature_key).astype(jnp.uint32))
            return jax.random.normal(key, (self.latent_dim, self.n_features), dtype) / jnp.sqrt(self.n_features)
        return jnp.asarray(_feature_matrix(self.latent_dim, self.n_features, self.feature_seed), dtype)

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        return self.init_scale * jax.random.normal(key, (self.n_features,), dtype) / jnp.sqrt(self.n_features)

    def predict(self, params: jax.Array, x: jax.Array) -> jax.Array:
        """⟨Wᵀx, θ⟩ for latent inputs ``x`` of shape (…, v) (batch key ``"x"``)."""
        return (x @ self.features) @ params

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        return 0.5 * (self.predict(params, example["x"]) - example["y"]) ** 2

    def loss(self, params: jax.Array, batch: dict) -> jax.Array:
        if self.exact_gradient:
            return self.population_risk(params)
        return 0.5 * jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        k_x, k_e = jax.random.split(key)
        dtype = jnp.result_type(float)
        x = jax.random.normal(k_x, (batch_size, self.latent_dim), dtype) * jnp.sqrt(self.input_variances)
        y = x @ self.target + self.noise * jax.random.normal(k_e, (batch_size,), dtype)
        return {"x": x, "y": y}

    # ---- what is known -------------------------------------------------------------------------
    def population_risk(self, params: jax.Array) -> jax.Array:
        error = self.features @ params - self.target
        return 0.5 * jnp.sum(self.input_variances * error**2) + 0.5 * self.noise**2

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        return {"population_risk": self.population_risk(params)}

    @property
    def hessian(self) -> jax.Array:
        """H = Wᵀ D W (N × N)."""
        w = self.features
        return w.T @ (self.input_variances[:, None] * w)

    @property
    def f_star(self) -> jax.Array:
        root = jnp.sqrt(self.input_variances)
        q, _ = jnp.linalg.qr(root[:, None] * self.features)
        scaled_target = root * self.target
        residual = scaled_target - q @ (q.T @ scaled_target)
        return 0.5 * jnp.sum(residual**2) + 0.5 * jnp.asarray(self.noise) ** 2

    @property
    def smoothness(self) -> jax.Array:
        return jnp.linalg.eigvalsh(self.hessian)[-1]

    @property
    def strong_convexity(self) -> jax.Array:
        if self.latent_dim < self.n_features:
            return jnp.zeros((), jnp.result_type(float))
        return jnp.maximum(jnp.linalg.eigvalsh(self.hessian)[0], 0.0)

    def optimum(self) -> jax.Array:
        """argmin R = H⁻¹WᵀDb (unique when v ≥ N)."""
        root = jnp.sqrt(self.input_variances)
        solution, *_ = jnp.linalg.lstsq(root[:, None] * self.features, root * self.target)
        return solution
