r"""Streaming linear regression with a Gaussian design — the model of high-dimensional SGD theory.

Data: :math:`x \sim \mathcal N(0, K)` with :math:`K = \mathrm{diag}(\lambda_1,\dots,\lambda_d)`,
:math:`y = x^\top\theta^\star + \sigma\varepsilon`, :math:`\varepsilon\sim\mathcal N(0,1)`.
Loss on a batch: :math:`\tfrac1{2b}\sum_j (x_j^\top\theta - y_j)^2`. Exact population risk

.. math:: \mathcal R(\theta) = \tfrac12(\theta-\theta^\star)^\top K(\theta-\theta^\star) + \tfrac{\sigma^2}2 .

Spectra (before normalization): ``isotropic`` :math:`\lambda_i = 1`; ``power_law``
:math:`\lambda_i = i^{-\alpha}`; ``zero_one`` a fraction ``zero_fraction`` of zero eigenvalues and
ones elsewhere; ``two_level`` a fraction ``low_fraction`` at ``low_value``, ones elsewhere;
``custom`` the comma-separated values of ``spectrum_values`` (m values, m dividing d, each repeated
d/m times: m = d gives any spectrum, m = 3 a three-level one).
With ``normalize = "trace"`` (default) :math:`\operatorname{tr} K = 1`, so :math:`\|x\|^2\approx 1`
and step sizes are O(1) whatever d; with ``"max"`` :math:`\lambda_{\max}=1`.

Teacher profile: ``flat`` :math:`\theta^\star_i = 1`; ``power_law``
:math:`(\theta^\star_i)^2 \propto i^{-\beta}` (a source condition); ``random`` Gaussian with
``teacher_seed``. It is rescaled so that the signal variance :math:`\theta^{\star\top}K\theta^\star=1`.

Data modes: ``n_samples = 0`` (default) is a stream (online SGD on the population); ``n_samples = n``
is a fixed training set of n points drawn with ``data_seed`` (the Gaussian draws are fixed, so the set
moves smoothly with the swept ``alpha``/``noise``). The training objective is then the empirical risk
:math:`\hat f(\theta)=\tfrac1{2n}\lVert X\theta-y\rVert^2`, with
:math:`f^\star = \tfrac1{2n}\lVert (I-P_X)y\rVert^2`, :math:`L=\lambda_{\max}(X^\top X/n)`,
:math:`\mu=\lambda_{\min}(X^\top X/n)` (0 when n < d) and the minimum-norm minimizer as ``optimum``;
the population risk above is still reported as a metric (the test error of the finite-sample fit).

References: Paquette, Paquette, Adlam, Pennington, *Homogenization of SGD in high-dimensions*
(2205.07069) and *Implicit Regularization or Implicit Conditioning?* (2206.07252).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import FLOAT_LIMIT, SpecError
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

SPECTRA = ("isotropic", "power_law", "zero_one", "two_level", "custom")
TEACHERS = ("flat", "power_law", "random")


def parse_spectrum_values(text: str, dim: int) -> tuple[float, ...]:
    """The ``custom`` spectrum's values: m comma-separated finite numbers in [0, FLOAT_LIMIT], m dividing ``dim``."""
    allowed = f"comma-separated eigenvalues in [0, {FLOAT_LIMIT:g}], not all zero, their count dividing dim = {dim}"
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SpecError("problem.spectrum_values", text, allowed) from None
    if not values or dim % len(values) or not all(0 <= v <= FLOAT_LIMIT for v in values) or max(values) <= 0:
        raise SpecError("problem.spectrum_values", text, allowed)
    return values


@functools.lru_cache(maxsize=16)
def _gaussian_sample(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed standard normal draws (z of shape (n, dim), ε of shape (n,)) for a finite sample."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim)), rng.standard_normal(n)


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
    values: tuple[float, ...] = (),
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
    elif kind == "custom":
        if not values or dim % len(values):
            raise ValueError(f"custom spectrum needs m values with m dividing dim={dim}; got {values!r}")
        lam = jnp.repeat(jnp.asarray(values, dtype=index.dtype), dim // len(values))
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
    """Least squares, x ~ N(0, diag(λ)), y = xᵀθ* + σε: a stream or n points; exact population risk."""

    summary = "Linear regression, Gaussian design with a chosen spectrum and teacher; stream or n points; exact risk."
    references = (
        "Paquette, Paquette, Adlam, Pennington. Homogenization of SGD in high-dimensions (2205.07069)",
        "Paquette, Paquette, Adlam, Pennington. Implicit Regularization or Implicit Conditioning? (2206.07252)",
    )
    monitor = "population_risk"
    tiny: ClassVar[dict] = {"dim": 6, "spectrum": "power_law", "noise": 0.3, "init_scale": 1.0}

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
    scale: float = hyper(
        1.0, "K = scale · K₀: multiplies the covariance (θ* fixed: signal variance = scale)", low=0.0, low_open=True
    )
    spectrum_values: str = static("", "custom spectrum: comma-separated eigenvalues, their count dividing dim")
    n_samples: int = static(0, "0: a stream; n > 0: a fixed training set of n points", low=0, high=10_000_000)
    data_seed: int = static(0, "finite sample: the seed of its Gaussian draws", low=0)

    arrays: ClassVar[tuple] = (("n_samples", "dim", 2),)  # the float64 draws and the training set
    example: ClassVar[tuple] = ("dim",)

    @classmethod
    def check(cls, values) -> None:
        if values["spectrum"] == "custom":
            parse_spectrum_values(values["spectrum_values"], values["dim"])
        elif values["spectrum_values"]:
            raise SpecError("problem.spectrum_values", values["spectrum_values"], "only with spectrum = 'custom'")

    @property
    def is_stream(self) -> bool:  # type: ignore[override]
        """A stream unless ``n_samples > 0``."""
        return self.n_samples == 0

    # ---- the model ---------------------------------------------------------------------------
    @property
    def eigenvalues(self) -> jax.Array:
        """λ of K = scale · K₀ (K₀ the normalized spectrum)."""
        return self.scale * self.base_eigenvalues

    @property
    def base_eigenvalues(self) -> jax.Array:
        """λ of the normalized spectrum K₀ (tr K₀ = 1 or λ_max = 1)."""
        return covariance_spectrum(
            self.dim,
            self.spectrum,
            self.alpha,
            self.zero_fraction,
            self.low_fraction,
            self.low_value,
            self.normalize,
            parse_spectrum_values(self.spectrum_values, self.dim) if self.spectrum == "custom" else (),
        )

    @property
    def theta_star(self) -> jax.Array:
        return teacher_vector(self.dim, self.teacher, self.teacher_decay, self.teacher_seed, self.base_eigenvalues)

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        return self.init_scale * jax.random.normal(key, (self.dim,), dtype) / jnp.sqrt(self.dim)

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        return 0.5 * (example["x"] @ params - example["y"]) ** 2

    def loss(self, params: jax.Array, batch: dict) -> jax.Array:
        return 0.5 * jnp.mean((batch["x"] @ params - batch["y"]) ** 2)

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        if not self.is_stream:
            raise NotImplementedError("least_squares with n_samples > 0 is finite; use dataset() and a sampler")
        k_x, k_e = jax.random.split(key)
        dtype = jnp.result_type(float)
        x = jax.random.normal(k_x, (batch_size, self.dim), dtype) * jnp.sqrt(self.eigenvalues)
        y = x @ self.theta_star + self.noise * jax.random.normal(k_e, (batch_size,), dtype)
        return {"x": x, "y": y}

    def dataset(self) -> dict:
        """The n training points (fixed Gaussian draws; traceable in ``alpha``, ``noise`` …)."""
        if self.is_stream:
            return super().dataset()
        z, eps = _gaussian_sample(self.n_samples, self.dim, self.data_seed)
        dtype = jnp.result_type(float)
        x = jnp.asarray(z, dtype) * jnp.sqrt(self.eigenvalues)
        y = x @ self.theta_star + self.noise * jnp.asarray(eps, dtype)
        return {"x": x, "y": y}

    def _empirical_minimizer(self) -> jax.Array:
        data = self.dataset()
        return jnp.linalg.lstsq(data["x"], data["y"])[0]

    def _empirical_hessian_eigenvalues(self) -> jax.Array:
        x = self.dataset()["x"]
        return jnp.linalg.eigvalsh(x.T @ x / self.n_samples)

    # ---- what is known -----------------------------------------------------------------------
    def population_risk(self, params: jax.Array) -> jax.Array:
        error = params - self.theta_star
        return 0.5 * jnp.sum(self.eigenvalues * error**2) + 0.5 * self.noise**2

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        risk = self.population_risk(params)
        return {"population_risk": risk, "excess_risk": risk - 0.5 * self.noise**2}

    @property
    def f_star(self) -> jax.Array:
        """Population: σ²/2. Finite sample: the least-squares residual ½‖(I−P_X)y‖²/n."""
        if self.is_stream:
            return 0.5 * jnp.asarray(self.noise) ** 2
        return self.loss(self._empirical_minimizer(), self.dataset())

    @property
    def smoothness(self) -> jax.Array:
        if self.is_stream:
            return jnp.max(self.eigenvalues)
        return jnp.max(self._empirical_hessian_eigenvalues())

    @property
    def strong_convexity(self) -> jax.Array:
        if self.is_stream:
            return jnp.min(self.eigenvalues)
        if self.n_samples < self.dim:
            return jnp.zeros((), jnp.result_type(float))
        return jnp.maximum(jnp.min(self._empirical_hessian_eigenvalues()), 0.0)

    def optimum(self) -> jax.Array:
        """θ* for the population; the minimum-norm least-squares solution for a finite sample."""
        if self.is_stream:
            return self.theta_star
        return self._empirical_minimizer()
