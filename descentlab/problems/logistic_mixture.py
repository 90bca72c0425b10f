r"""Logistic (softmax) regression on a Gaussian mixture — classification in high-dimensional SGD theory.

Data (a stream): a class :math:`c` uniform on :math:`\{1,\dots,k\}`, then

.. math:: x = \mu_c + \sigma\,K_c^{1/2} z,\qquad z\sim\mathcal N(0, I_d),

with means of norm ``mean_norm`` along random orthonormal directions (seed ``means_seed``; for
k = 2 the means are :math:`\pm\mu`), and diagonal class covariances :math:`K_c` with the spectrum
``covariance`` (isotropic, zero_one, power_law; tr K_c = 1 as in ``least_squares``). With
``distinct_covariances`` class c's eigenvalues are cyclically shifted by c·d/k, so classes differ in
their anisotropy.

Models: for k = 2, :math:`\theta\in\mathbb R^d`, labels :math:`y=\pm1`, loss
:math:`\log(1+e^{-y\,x^\top\theta})`; for k > 2, :math:`W\in\mathbb R^{k\times d}` and the softmax
cross-entropy :math:`\operatorname{logsumexp}(Wx) - (Wx)_y`. No bias (the mixture is centred).

Population quantities. For k = 2, :math:`y\,x^\top\theta\mid c \sim \mathcal N(m, s_c^2)` with
:math:`m = \mu^\top\theta`, :math:`s_c^2 = \sigma^2\theta^\top K_c\theta`, so the population loss is a
one-dimensional Gaussian integral (64-node Gauss–Hermite quadrature, error far below 1e-6 for the
smooth softplus) and the accuracy is :math:`\tfrac12\sum_c\Phi(m/s_c)`. For k > 2 the logits given
c are :math:`\mathcal N(W\mu_c, \sigma^2 W K_c W^\top)`, a k-dimensional Gaussian: the loss and
accuracy are averages over a fixed held-out set of :math:`2^{14}` draws per class in logit space
(Monte Carlo standard error ≈ std/128). Overlaps :math:`W_j^\top\mu_c` (``overlap_j_c``; for k = 2
``overlap_mean`` = :math:`\theta^\top\mu`) and ``self_overlap`` :math:`\lVert\theta\rVert^2` are
the order parameters of the ODE / DMFT descriptions. For k = 2 the overlap is also split over the eigen-directions:
``overlap_clean`` = :math:`\sum_{i\in C}\mu_i\theta_i` on the clean half C (the ⌊d/2⌋ directions of smallest
variance) and ``overlap_noisy`` on the rest (2510.14074's clean vs noisy directions). ``mean_decay`` β (k = 2)
tilts μ towards the noisy directions: :math:`\mu_i\propto u_i\,i^{-\beta/2}` (β = 0: the random direction u).

``smoothness`` is the bound :math:`L = c_k\,\lambda_{\max}(\mathbb E\,xx^\top)` with
:math:`c_2 = 1/4` (tight at θ = 0) and :math:`c_k = 1/2` for softmax
(:math:`\lVert \mathrm{diag}(p)-pp^\top\rVert\le 1/2`).

References: Mignacco, Krzakala, Urbani, Zdeborová, *Dynamical mean-field theory for stochastic
gradient descent in Gaussian mixture classification* (2006.06098); Ben Arous, Gheissari, Jagannath,
*High-dimensional limit theorems for SGD: effective dynamics and critical scaling* (2206.04030);
Collins-Woodfin, Paquette, Paquette, Seroussi, *Hitting the high-dimensional notes: an ODE for SGD
learning dynamics on GLMs and multi-index models* (2308.08977).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import SpecError
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.least_squares import covariance_spectrum
from descentlab.problems.registry import register_problem

COVARIANCES = ("isotropic", "zero_one", "power_law")
HELD_OUT = 2**14


@functools.lru_cache(maxsize=16)
def orthonormal_directions(dim: int, count: int, seed: int) -> np.ndarray:
    """``count`` orthonormal vectors in R^dim (rows), from the QR of a Gaussian matrix."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, count)))
    return (q * np.sign(np.diag(r))).T


@functools.lru_cache(maxsize=16)
def decayed_direction(dim: int, seed: int, decay: float) -> np.ndarray:
    """The binary mean's unit direction (1, d): the random direction u, or u_i·i^(-decay/2) renormalised."""
    u = orthonormal_directions(dim, 1, seed)
    if decay == 0.0:
        return u
    u = u * np.arange(1, dim + 1) ** (-decay / 2.0)
    return u / np.linalg.norm(u)


def clean_mask(dim: int) -> np.ndarray:
    """1 on the clean half of the eigen-directions — the ⌊d/2⌋ smallest variances, the last indices (every
    spectrum here is non-increasing in the index) — and 0 on the noisy rest."""
    return (np.arange(dim) >= dim - dim // 2).astype(np.float64)


@functools.lru_cache(maxsize=4)
def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E f(g), g ~ N(0, 1): Σ w_i f(x_i)."""
    t, w = np.polynomial.hermite.hermgauss(n)
    return np.sqrt(2.0) * t, w / np.sqrt(np.pi)


@functools.lru_cache(maxsize=8)
def held_out_normals(n: int, k: int) -> np.ndarray:
    """Fixed standard normal draws (k classes, n, k) for the logit-space held-out set."""
    return np.random.default_rng(12345).standard_normal((k, n, k))


@register_problem("logistic_mixture")
@dataclasses.dataclass(frozen=True)
class LogisticMixture(Problem):
    """Binary logistic / softmax regression on a k-class Gaussian mixture (a stream)."""

    summary = "Logistic/softmax regression on a k-class Gaussian mixture, anisotropic covariances; population loss."
    references = (
        "Mignacco, Krzakala, Urbani, Zdeborová. DMFT for SGD in Gaussian mixture classification (2006.06098)",
        "Ben Arous, Gheissari, Jagannath. High-dimensional limit theorems for SGD (2206.04030)",
        "Collins-Woodfin, Paquette, Paquette, Seroussi. Hitting the high-dimensional notes (2308.08977)",
    )
    is_stream = True
    monitor = "population_loss"
    tiny: ClassVar[dict] = {"dim": 6, "n_classes": 3, "covariance": "power_law", "init_scale": 1.0}

    dim: int = static(200, "dimension d", low=2, high=1_000_000)
    n_classes: int = static(2, "number of classes k (k = 2: logistic with θ ∈ R^d)", low=2, high=100)
    covariance: str = static("isotropic", "class covariance spectrum (tr K = 1)", choices=COVARIANCES)
    distinct_covariances: bool = static(False, "shift class c's spectrum by c·d/k")
    means_seed: int = static(0, "seed of the orthonormal mean directions", low=0)
    mean_decay: float = static(
        0.0, "k = 2: μ's profile in the eigenbasis, μ_i ∝ u_i·i^(-β/2) (u the random direction), ‖μ‖ kept", low=0.0
    )
    alpha: float = hyper(1.0, "power_law covariance: λ_i ∝ i^-α", low=0.0, high=10.0)
    zero_fraction: float = hyper(
        0.5, "zero_one covariance: fraction of zero eigenvalues", low=0.0, high=1.0, high_open=True
    )
    mean_norm: float = hyper(1.0, "‖μ_c‖ (signal strength)", low=0.0)
    noise: float = hyper(1.0, "σ: x = μ_c + σ K_c^½ z", low=0.0)
    init_scale: float = hyper(0.0, "θ₀ ~ init_scale · N(0, I/d)", low=0.0)

    arrays: ClassVar[tuple] = (("dim", "n_classes"),)
    example: ClassVar[tuple] = ("dim",)

    @classmethod
    def check(cls, values) -> None:
        if values["n_classes"] > values["dim"]:
            raise SpecError("problem.n_classes", values["n_classes"], f"at most dim = {values['dim']}")
        if values.get("mean_decay", 0.0) and values["n_classes"] != 2:
            raise SpecError("problem.mean_decay", values["mean_decay"], "0 unless n_classes = 2")

    # ---- the model ---------------------------------------------------------------------------
    @property
    def binary(self) -> bool:
        return self.n_classes == 2

    @property
    def means(self) -> jax.Array:
        """Class means (k, d); for k = 2 rows are +μ and −μ."""
        dtype = jnp.result_type(float)
        if self.binary:
            u = jnp.asarray(decayed_direction(self.dim, self.means_seed, self.mean_decay), dtype)
            return self.mean_norm * jnp.concatenate([u, -u])
        return self.mean_norm * jnp.asarray(orthonormal_directions(self.dim, self.n_classes, self.means_seed), dtype)

    @property
    def class_spectra(self) -> jax.Array:
        """Eigenvalues (k, d) of the diagonal class covariances K_c."""
        base = covariance_spectrum(self.dim, self.covariance, self.alpha, self.zero_fraction)
        if not self.distinct_covariances:
            return jnp.tile(base, (self.n_classes, 1))
        return jnp.stack([jnp.roll(base, c * self.dim // self.n_classes) for c in range(self.n_classes)])

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        shape = (self.dim,) if self.binary else (self.n_classes, self.dim)
        return self.init_scale * jax.random.normal(key, shape, dtype) / jnp.sqrt(self.dim)

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        if self.binary:
            return jax.nn.softplus(-example["y"] * (example["x"] @ params))
        logits = params @ example["x"]
        return jax.nn.logsumexp(logits) - logits[example["y"]]

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        k_c, k_z = jax.random.split(key)
        dtype = jnp.result_type(float)
        c = jax.random.randint(k_c, (batch_size,), 0, self.n_classes)
        z = jax.random.normal(k_z, (batch_size, self.dim), dtype)
        x = self.means[c] + self.noise * jnp.sqrt(self.class_spectra[c]) * z
        y = (1.0 - 2.0 * c).astype(dtype) if self.binary else c
        return {"x": x, "y": y}

    # ---- population quantities ---------------------------------------------------------------
    def _binary_margins(self, theta: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(m, s_c): y xᵀθ | c ~ N(m, s_c²)."""
        m = self.means[0] @ theta
        s = self.noise * jnp.sqrt(self.class_spectra @ theta**2)
        return m, s

    def _logit_samples(self, w: jax.Array) -> jax.Array:
        """Held-out logits (k, N, k): class c's logits N(Wμ_c, σ² W K_c Wᵀ) from fixed draws."""
        g = jnp.asarray(held_out_normals(HELD_OUT, self.n_classes), w.dtype)
        cov = self.noise**2 * jnp.einsum("jd,cd,ld->cjl", w, self.class_spectra, w)
        evals, evecs = jnp.linalg.eigh(cov)
        root = evecs * jnp.sqrt(jnp.maximum(evals, 0.0))[:, None, :]  # (k, k, k): root @ rootᵀ = cov
        return (self.means @ w.T)[:, None, :] + jnp.einsum("cnj,clj->cnl", g, root)

    def population_loss(self, params: jax.Array) -> jax.Array:
        if self.binary:
            m, s = self._binary_margins(params)
            nodes, weights = gauss_hermite(64)
            nodes, weights = jnp.asarray(nodes, params.dtype), jnp.asarray(weights, params.dtype)
            values = jax.nn.softplus(-(m + s[:, None] * nodes))
            return jnp.mean(values @ weights)
        logits = self._logit_samples(params)
        true = jnp.take_along_axis(logits, jnp.arange(self.n_classes)[:, None, None], axis=2)[..., 0]
        return jnp.mean(jax.nn.logsumexp(logits, axis=2) - true)

    def population_accuracy(self, params: jax.Array) -> jax.Array:
        if self.binary:
            m, s = self._binary_margins(params)
            safe = jnp.where(s > 0, s, 1.0)
            correct = jnp.where(s > 0, jax.scipy.stats.norm.cdf(m / safe), jnp.where(m > 0, 1.0, 0.5 * (m == 0)))
            return jnp.mean(correct)
        logits = self._logit_samples(params)
        return jnp.mean(jnp.argmax(logits, axis=2) == jnp.arange(self.n_classes)[:, None])

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        out = {
            "population_loss": self.population_loss(params),
            "population_accuracy": self.population_accuracy(params),
            "self_overlap": jnp.sum(params**2),
        }
        if self.binary:
            out["overlap_mean"] = self.means[0] @ params
            clean = jnp.asarray(clean_mask(self.dim), params.dtype)
            out["overlap_clean"] = (clean * self.means[0]) @ params
            out["overlap_noisy"] = ((1.0 - clean) * self.means[0]) @ params
        else:
            overlaps = params @ self.means.T
            for j in range(self.n_classes):
                for c in range(self.n_classes):
                    out[f"overlap_{j}_{c}"] = overlaps[j, c]
        return out

    def second_moment(self) -> jax.Array:
        """E[x xᵀ] = (1/k) Σ_c μ_c μ_cᵀ + σ² diag(mean_c λ_c)."""
        means = self.means
        return means.T @ means / self.n_classes + self.noise**2 * jnp.diag(jnp.mean(self.class_spectra, axis=0))

    @property
    def smoothness(self) -> jax.Array:
        factor = 0.25 if self.binary else 0.5
        return factor * jnp.linalg.eigvalsh(self.second_moment())[-1]
