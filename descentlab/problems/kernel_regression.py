r"""Kernel regression in an RKHS with a power-law spectrum, trained by (S)GD on n samples — learning curves.

Inputs are uniform on the circle, :math:`x\sim\mathcal U[0, 2\pi)`, and the kernel is translation invariant,

.. math:: K(x, x') = \sum_{k=0}^{M}\lambda_k\, c_k\cos\big(k(x-x')\big),\qquad \lambda_k = (1+k)^{-b},\quad
          c_0 = 1,\ c_{k\ge1} = 2,

whose Mercer eigenfunctions in :math:`L^2(\mathcal U)` are :math:`e_0 = 1`, :math:`\sqrt2\cos kx`,
:math:`\sqrt2\sin kx`, with eigenvalue :math:`\lambda_k` (twice for k ≥ 1): a power-law eigen-decay
with exponent b = ``kernel_decay`` (truncated at frequency M = ``n_modes``). The model is the RKHS
function :math:`f_\theta(x) = \sum_j\theta_j\sqrt{\lambda_j}\,e_j(x)` (kernel regression in its primal,
feature-space form, :math:`\|f_\theta\|_{\mathcal H} = \|\theta\|`). The target
:math:`f^\star = \sum_j c^\star_j e_j` has coefficients :math:`|c^\star_j| \propto (1+k_j)^{-a/2}` with random
signs (``target_seed``), :math:`a` = ``target_decay`` (a source condition), normalized to
:math:`\mathbb E f^{\star2} = 1`; labels :math:`y = f^\star(x) + \sigma\varepsilon`. The training set holds
``n_train`` draws (``data_seed``); loss :math:`\tfrac12(f_\theta(x_i) - y_i)^2`.

Exact quantities: the population risk
:math:`\tfrac12\sum_j(\sqrt{\lambda_j}\theta_j - c^\star_j)^2 + \tfrac{\sigma^2}2`;
the training minimum :math:`f^\star = \frac1{2n}\|(I - QQ^\top)y\|^2` (:math:`Q` an orthonormal basis of the span
of the eigenfunctions at the samples; 0 when n ≤ 2M + 1, interpolation); ``smoothness`` and
``strong_convexity`` the extreme eigenvalues of the empirical Hessian :math:`\frac1n\Phi^\top\Phi`
(μ = 0 when n < 2M + 1). Batches ``{"x": (b,), "y": (b,)}``; ``predict(params, x)`` evaluates
:math:`f_\theta`. Sweeping ``n_train`` (static) gives learning curves in the sample size.
With ``n_train = 0`` the problem is a stream instead (one-pass / online SGD): every batch is a fresh draw of x
and ε, ``f_star`` = σ²/2, and ``smoothness``/``strong_convexity`` are the extreme kernel eigenvalues.

References: Bordelon, Canatar, Pehlevan, *Spectrum Dependent Learning Curves in Kernel Regression and Wide
Neural Networks* (2002.02561); Spigler, Geiger, Wyart, *Asymptotic learning curves of kernel methods*
(1905.10843); Pillaud-Vivien, Rudi, Bach, *Statistical Optimality of SGD on Hard Learning Problems through
Multiple Passes* (1805.10074).
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


def _frequencies(n_modes: int) -> np.ndarray:
    """Frequency of each eigenfunction in the order 1, cos 1x, sin 1x, cos 2x, sin 2x, …"""
    return np.concatenate([[0], np.repeat(np.arange(1, n_modes + 1), 2)])


def eigenfunctions(x: jax.Array, n_modes: int) -> jax.Array:
    """(…, 2M + 1) values of e_0 = 1, √2 cos kx, √2 sin kx at ``x``."""
    k = jnp.arange(1, n_modes + 1, dtype=x.dtype)
    angles = x[..., None] * k
    waves = jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=-1).reshape((*x.shape, 2 * n_modes))
    return jnp.concatenate([jnp.ones((*x.shape, 1), x.dtype), jnp.sqrt(2.0) * waves], axis=-1)


def _signs(n_modes: int, target_seed: int) -> np.ndarray:
    """The target's random signs (2M+1,)."""
    return np.random.default_rng(target_seed).choice([-1.0, 1.0], 2 * n_modes + 1)


@functools.lru_cache(maxsize=16)
def _data(n: int, n_modes: int, data_seed: int, target_seed: int) -> tuple[np.ndarray, ...]:
    """(x (n,), ε (n,), signs (2M+1,), Q): samples, noise, target signs, basis of the sampled span."""
    if n == 0:  # a stream: no training set, only the target's signs
        return np.zeros(0), np.zeros(0), _signs(n_modes, target_seed), np.zeros((0, 0))
    rng = np.random.default_rng(data_seed)
    x = rng.uniform(0.0, 2.0 * np.pi, n)
    eps = rng.standard_normal(n)
    signs = _signs(n_modes, target_seed)
    k = np.arange(1, n_modes + 1)
    waves = np.stack([np.cos(x[:, None] * k), np.sin(x[:, None] * k)], axis=-1).reshape(n, 2 * n_modes)
    basis = np.concatenate([np.ones((n, 1)), np.sqrt(2.0) * waves], axis=1)
    u, s, _ = np.linalg.svd(basis, full_matrices=False)
    q = u[:, s > s[0] * max(n, 2 * n_modes + 1) * np.finfo(float).eps]
    return x, eps, signs, q


@register_problem("kernel_regression")
@dataclasses.dataclass(frozen=True)
class KernelRegression(Problem):
    """Kernel regression on the circle, power-law kernel spectrum and source; exact risk and training minimum."""

    summary = "RKHS regression with power-law eigen-decay on n samples (learning curves); exact risk and f*."
    references = (
        "Bordelon, Canatar, Pehlevan. Spectrum Dependent Learning Curves in Kernel Regression and Wide Neural "
        "Networks (2002.02561)",
        "Spigler, Geiger, Wyart. Asymptotic learning curves of kernel methods (1905.10843)",
        "Pillaud-Vivien, Rudi, Bach. Statistical Optimality of SGD on Hard Learning Problems through Multiple "
        "Passes (1805.10074)",
    )
    monitor = "population_risk"
    tiny: ClassVar[dict] = {"n_train": 12, "n_modes": 4}
    arrays: ClassVar[tuple] = (("n_train", "n_modes", 6),)  # the basis (n, 2M + 1), its waves and its SVD

    n_train: int = static(
        100, "n: training samples (0: a stream of fresh samples, one-pass SGD)", low=0, high=10_000_000
    )
    n_modes: int = static(256, "M: highest frequency kept (2M + 1 eigenfunctions)", low=1, high=100_000)
    data_seed: int = static(0, "seed of the samples and the noise", low=0)
    target_seed: int = static(0, "seed of the target's signs", low=0)
    kernel_decay: float = hyper(2.0, "b: λ_k = (1 + k)^-b", low=0.0)
    target_decay: float = hyper(2.0, "a: (c*_k)² ∝ (1 + k)^-a", low=0.0)
    noise: float = hyper(0.0, "label noise σ", low=0.0)
    init_scale: float = hyper(0.0, "θ0 ~ init_scale · N(0, I/(2M+1))", low=0.0)

    @property
    def is_stream(self) -> bool:  # type: ignore[override]
        """A stream when ``n_train = 0``."""
        return self.n_train == 0

    @property
    def _host(self) -> tuple[np.ndarray, ...]:
        return _data(self.n_train, self.n_modes, self.data_seed, self.target_seed)

    @property
    def _dtype(self):
        return jnp.result_type(float)

    @property
    def eigenvalues(self) -> jax.Array:
        """λ_j for each eigenfunction (2M + 1)."""
        frequency = jnp.asarray(_frequencies(self.n_modes), self._dtype)
        return (1.0 + frequency) ** (-jnp.asarray(self.kernel_decay, self._dtype))

    @property
    def target_coefficients(self) -> jax.Array:
        """c*_j, with Σ c*_j² = E f*² = 1."""
        frequency = jnp.asarray(_frequencies(self.n_modes), self._dtype)
        magnitude = (1.0 + frequency) ** (-0.5 * jnp.asarray(self.target_decay, self._dtype))
        coefficients = jnp.asarray(self._host[2], self._dtype) * magnitude
        return coefficients / jnp.linalg.norm(coefficients)

    def _dataset(self) -> dict[str, jax.Array]:
        x, eps, *_ = self._host
        x = jnp.asarray(x, self._dtype)
        y = eigenfunctions(x, self.n_modes) @ self.target_coefficients + self.noise * jnp.asarray(eps, self._dtype)
        return {"x": x, "y": y}

    def sample(self, key: jax.Array, batch_size: int) -> dict[str, jax.Array]:
        """A fresh batch x ~ U[0, 2π), y = f*(x) + σε (stream, ``n_train = 0``)."""
        if not self.is_stream:
            raise NotImplementedError("kernel_regression with n_train > 0 is finite; use dataset() and a sampler")
        k_x, k_e = jax.random.split(key)
        x = jax.random.uniform(k_x, (batch_size,), self._dtype, 0.0, 2.0 * jnp.pi)
        eps = jax.random.normal(k_e, (batch_size,), self._dtype)
        return {"x": x, "y": eigenfunctions(x, self.n_modes) @ self.target_coefficients + self.noise * eps}

    def dataset(self) -> dict[str, jax.Array]:
        if self.is_stream:
            return super().dataset()
        return self._dataset()

    def init(self, key: jax.Array) -> jax.Array:
        size = 2 * self.n_modes + 1
        return self.init_scale * jax.random.normal(key, (size,), self._dtype) / jnp.sqrt(size)

    def predict(self, params: jax.Array, x: jax.Array) -> jax.Array:
        """f_θ(x) for points ``x`` of shape (…) on the circle (batch key ``"x"``)."""
        return eigenfunctions(x, self.n_modes) @ (jnp.sqrt(self.eigenvalues) * params)

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        return 0.5 * (self.predict(params, example["x"]) - example["y"]) ** 2

    def loss(self, params: jax.Array, batch: dict) -> jax.Array:
        return 0.5 * jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)

    # ---- what is known -------------------------------------------------------------------------
    def population_risk(self, params: jax.Array) -> jax.Array:
        error = jnp.sqrt(self.eigenvalues) * params - self.target_coefficients
        return 0.5 * jnp.sum(error**2) + 0.5 * self.noise**2

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        risk = self.population_risk(params)
        return {"population_risk": risk, "excess_risk": risk - 0.5 * self.noise**2}

    @property
    def f_star(self) -> jax.Array:
        if self.is_stream:
            return 0.5 * jnp.asarray(self.noise, self._dtype) ** 2
        q = jnp.asarray(self._host[3], self._dtype)
        y = self.dataset()["y"]
        residual = y - q @ (q.T @ y)
        return 0.5 * jnp.mean(residual**2)

    def _hessian_eigenvalues(self) -> jax.Array:
        phi = eigenfunctions(self.dataset()["x"], self.n_modes) * jnp.sqrt(self.eigenvalues)
        gram = phi @ phi.T if self.n_train < phi.shape[1] else phi.T @ phi
        return jnp.linalg.eigvalsh(gram / self.n_train)

    @property
    def smoothness(self) -> jax.Array:
        if self.is_stream:
            return jnp.max(self.eigenvalues)
        return self._hessian_eigenvalues()[-1]

    @property
    def strong_convexity(self) -> jax.Array:
        if self.is_stream:
            return jnp.min(self.eigenvalues)
        if self.n_train < 2 * self.n_modes + 1:
            return jnp.zeros((), self._dtype)
        return jnp.maximum(self._hessian_eigenvalues()[0], 0.0)
