r"""Streaming linear regression with a Gaussian design — the model of high-dimensional SGD theory.

Data: :math:`x \sim \mathcal N(0, K)` with :math:`K = \mathrm{diag}(\lambda_1,\dots,\lambda_d)`,
:math:`y = x^\top\theta^\star + \sigma\varepsilon`, :math:`\varepsilon\sim\mathcal N(0,1)`.
Loss on a batch: :math:`\tfrac1{2b}\sum_j (x_j^\top\theta - y_j)^2`. Exact population risk

.. math:: \mathcal R(\theta) = \tfrac12(\theta-\theta^\star)^\top K(\theta-\theta^\star) + \tfrac{\sigma^2}2 .

Spectra (before normalization): ``isotropic`` :math:`\lambda_i = 1`; ``power_law``
:math:`\lambda_i = i^{-\alpha}`; ``zero_one`` a fraction ``zero_fraction`` of zero eigenvalues and
ones elsewhere; ``two_level`` a fraction ``low_fraction`` at ``low_value``, ones elsewhere.
With ``normalize = "trace"`` (default) :math:`\operatorname{tr} K = 1`, so :math:`\|x\|^2\approx 1`
and step sizes are O(1) whatever d; with ``"max"`` :math:`\lambda_{\max}=1`.

Teacher profile: ``flat`` :math:`\theta^\star_i = 1`; ``power_law``
:math:`(\theta^\star_i)^2 \propto i^{-\beta}` (a source condition); ``random`` Gaussian with
``teacher_seed``. It is rescaled so that the signal variance :math:`\theta^{\star\top}K\theta^\star=1`.

References: Paquette, Paquette, Adlam, Pennington, *Homogenization of SGD in high-dimensions*
(2205.07069) and *Implicit Regularization or Implicit Conditioning?* (2206.07252).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

SPECTRA = ("isotropic", "power_law", "zero_one", "two_level")
TEACHERS = ("flat", "power_law", "random")


@functools.lru_cache(maxsize=16)
def _random_teacher_direction(dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(dim)


def covariance_spectrum(
    dim: int,
    kind: str,
    alpha: float = 1.0,
    zero_fraction: float = 0.5,
    low_fraction: float = 0.5,
    low_value: float = 0.1,
    normalize: str = "trace",
) -> jax.Array:
    """Eigenvalues of K (length ``dim``), traceable in every float argument."""
    index = jnp.arange(1, dim + 1, dtype=jnp.result_type(float))
    position = (index - 0.5) / dim  # in (0, 1): the quantile of each eigen-direction
    if kind == "isotropic":
        lam = jnp.ones_like(index)
    elif kind == "power_law":
        lam = index ** (-alpha)
    elif kind == "zero_one":
        lam = jnp.where(position < 1.0 - zero_fraction, 1.0, 0.0)
    elif kind == "two_level":
        lam = jnp.where(position < 1.0 - low_fraction, 1.0, low_value)
    else:
        raise ValueError(f"unknown spectrum {kind!r}; allowed: {', '.join(SPECTRA)}")
    if normalize == "trace":
        return lam / jnp.sum(lam)
    return lam / jnp.max(lam)


def teacher_vector(dim: int, profile: str, beta: float, seed: int, spectrum: jax.Array) -> jax.Array:
    """θ* with the given profile, rescaled so that θ*ᵀKθ* = 1."""
    index = jnp.arange(1, dim + 1, dtype=spectrum.dtype)
    if profile == "flat":
        direction = jnp.ones_like(index)
    elif profile == "power_law":
        direction = index ** (-beta / 2.0)
    elif profile == "random":
        direction = jnp.asarray(_random_teacher_direction(dim, seed), dtype=spectrum.dtype)
    else:
        raise ValueError(f"unknown teacher {profile!r}; allowed: {', '.join(TEACHERS)}")
    signal = jnp.sum(spectrum * direction**2)
    return direction / jnp.sqrt(signal)


@register_problem("least_squares")
@dataclasses.dataclass(frozen=True)
class LeastSquares(Problem):
    """Streaming least squares, x ~ N(0, diag(λ)), y = xᵀθ* + σε; exact population risk."""

    summary = "Streaming linear regression, Gaussian design with a chosen spectrum; exact risk."
    references = (
        "Paquette, Paquette, Adlam, Pennington. Homogenization of SGD in high-dimensions (2205.07069)",
        "Paquette, Paquette, Adlam, Pennington. Implicit Regularization or Implicit Conditioning? (2206.07252)",
    )
    is_stream = True
    monitor = "population_risk"

    dim: int = static(500, "dimension d", low=1, high=2_000_000)
    spectrum: str = static("isotropic", "covariance spectrum", choices=SPECTRA)
    normalize: str = static("trace", "trace: tr K = 1; max: λ_max = 1", choices=("trace", "max"))
    alpha: float = hyper(1.0, "power-law exponent: λ_i ∝ i^-α", low=0.0, high=10.0)
    zero_fraction: float = hyper(0.5, "zero_one: fraction of zero eigenvalues", low=0.0, high=1.0, high_open=True)
    low_fraction: float = hyper(0.5, "two_level: fraction of eigenvalues at low_value", low=0.0, high=1.0)
    low_value: float = hyper(0.1, "two_level: the low eigenvalue (before normalization)", low=0.0, low_open=True)
    teacher: str = static("flat", "teacher profile", choices=TEACHERS)
    teacher_decay: float = hyper(0.0, "power_law teacher: (θ*_i)² ∝ i^-β", low=0.0, high=10.0)
    teacher_seed: int = static(0, "random teacher: its seed", low=0)
    noise: float = hyper(0.0, "label noise σ", low=0.0)
    init_scale: float = hyper(0.0, "θ₀ ~ init_scale · N(0, I/d)", low=0.0)

    # ---- the model ---------------------------------------------------------------------------
    @property
    def eigenvalues(self) -> jax.Array:
        return covariance_spectrum(
            self.dim, self.spectrum, self.alpha, self.zero_fraction, self.low_fraction, self.low_value, self.normalize
        )

    @property
    def theta_star(self) -> jax.Array:
        return teacher_vector(self.dim, self.teacher, self.teacher_decay, self.teacher_seed, self.eigenvalues)

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        return self.init_scale * jax.random.normal(key, (self.dim,), dtype) / jnp.sqrt(self.dim)

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        return 0.5 * (example["x"] @ params - example["y"]) ** 2

    def loss(self, params: jax.Array, batch: dict) -> jax.Array:
        return 0.5 * jnp.mean((batch["x"] @ params - batch["y"]) ** 2)

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        k_x, k_e = jax.random.split(key)
        dtype = jnp.result_type(float)
        x = jax.random.normal(k_x, (batch_size, self.dim), dtype) * jnp.sqrt(self.eigenvalues)
        y = x @ self.theta_star + self.noise * jax.random.normal(k_e, (batch_size,), dtype)
        return {"x": x, "y": y}

    # ---- what is known -----------------------------------------------------------------------
    def population_risk(self, params: jax.Array) -> jax.Array:
        error = params - self.theta_star
        return 0.5 * jnp.sum(self.eigenvalues * error**2) + 0.5 * self.noise**2

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        risk = self.population_risk(params)
        return {"population_risk": risk, "excess_risk": risk - 0.5 * self.noise**2}

    @property
    def f_star(self) -> jax.Array:
        return 0.5 * jnp.asarray(self.noise) ** 2

    @property
    def smoothness(self) -> jax.Array:
        return jnp.max(self.eigenvalues)

    @property
    def strong_convexity(self) -> jax.Array:
        return jnp.min(self.eigenvalues)

    def optimum(self) -> jax.Array:
        return self.theta_star
