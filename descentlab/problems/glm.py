r"""Generalized linear models with a Gaussian design of general covariance: logistic regression, phase retrieval.

Data (a stream): :math:`x\sim\mathcal N(0,K)`, :math:`K=\mathrm{diag}(\lambda)` from
:func:`~descentlab.problems.least_squares.covariance_spectrum` (``isotropic``, ``power_law``, ``zero_one``;
:math:`\operatorname{tr}K = 1`, so step sizes are O(1) whatever d), a teacher :math:`\theta^\star` (a random direction,
seed ``teacher_seed``, rescaled so that :math:`\theta^{\star\top}K\theta^\star = 1`), and with :math:`r=x^\top\theta`,
:math:`r^\star = x^\top\theta^\star`:

* ``task = "logistic"``: labels :math:`y\in\{0,1\}`, :math:`P(y=1\mid x)=\sigma(r^\star)` (a logistic teacher), loss
  :math:`f = \log(1+e^{r}) - y\,r`;
* ``task = "phase_retrieval"``: :math:`y = (r^\star)^2 + \sigma_\varepsilon\varepsilon` (``noise``), loss
  :math:`f=\tfrac12(r^2-y)^2`.

:math:`\theta_0 = \rho\,\theta^\star + s\,z`, :math:`z\sim\mathcal N(0,I_d)` (``init_overlap`` ρ, ``init_scale`` s): the
random part has :math:`z^\top Kz\approx s^2\operatorname{tr}K = s^2`.

Because :math:`(r, r^\star)\sim\mathcal N(0,B)` with
:math:`B=\begin{psmallmatrix}q & m\\ m & 1\end{psmallmatrix}`, :math:`q=\theta^\top K\theta` (metric ``q``) and
:math:`m=\theta^\top K\theta^\star` (metric ``m``), the population risk depends on (q, m) only: for phase retrieval in
closed form, :math:`\mathcal R = \tfrac12(3q^2+3-2q-4m^2)+\tfrac{\sigma_\varepsilon^2}2` (Isserlis), for logistic
regression :math:`\mathcal R = E[\log(1+e^{r}) - \sigma(r^\star)\,r]` by 40×40 tensor Gauss–Hermite quadrature (the
integrand is smooth; error far below 1e-8).

Reference: Collins-Woodfin, Paquette, Paquette, Seroussi, *Hitting the High-Dimensional Notes: An ODE for SGD
Learning Dynamics on GLMs and Multi-Index Models* (2308.08977) — its examples are exactly these two GLMs; the
deterministic equivalent is :mod:`descentlab.theory.glm_ode`.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._index import gaussian_expectation
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.least_squares import SPECTRA, covariance_spectrum, teacher_vector
from descentlab.problems.registry import register_problem

TASKS = ("logistic", "phase_retrieval")
COVARIANCES = SPECTRA[:3]  # isotropic, power_law, zero_one
QUADRATURE_NODES = 40


@register_problem("glm")
@dataclasses.dataclass(frozen=True)
class GLM(Problem):
    """Streaming GLM, x ~ N(0, K): logistic regression (logistic teacher) or phase retrieval; overlaps m, q."""

    summary = "GLM with x ~ N(0, K), teacher θ*: logistic regression or phase retrieval; risk and overlaps θᵀKθ*, θᵀKθ."
    references = (
        "Collins-Woodfin, Paquette, Paquette, Seroussi. Hitting the high-dimensional notes: an ODE for SGD on GLMs "
        "and multi-index models (2308.08977)",
    )
    is_stream = True
    monitor = "population_risk"
    tiny: ClassVar[dict] = {"dim": 6, "covariance": "power_law", "init_scale": 0.5, "init_overlap": 0.3}

    dim: int = static(500, "dimension d", low=1, high=2_000_000)
    task: str = static("logistic", "logistic (labels from a logistic teacher) or phase_retrieval", choices=TASKS)
    covariance: str = static("isotropic", "spectrum of K (tr K = 1)", choices=COVARIANCES)
    alpha: float = hyper(1.0, "power_law covariance: λ_i ∝ i^-α", low=0.0, high=10.0)
    zero_fraction: float = hyper(0.5, "zero_one covariance: fraction of zero eigenvalues", low=0.0, high=0.99)
    teacher_seed: int = static(0, "seed of the teacher direction", low=0)
    noise: float = hyper(0.0, "phase retrieval: label noise σ_ε", low=0.0)
    init_scale: float = hyper(0.0, "s: θ₀ = ρθ* + s·N(0, I_d)", low=0.0)
    init_overlap: float = hyper(0.0, "ρ: θ₀ = ρθ* + s·N(0, I_d)")

    example: ClassVar[tuple] = ("dim",)

    @property
    def eigenvalues(self) -> jax.Array:
        """λ of K (tr K = 1)."""
        return covariance_spectrum(self.dim, self.covariance, self.alpha, self.zero_fraction)

    @property
    def theta_star(self) -> jax.Array:
        """θ*, a random direction rescaled to θ*ᵀKθ* = 1."""
        return teacher_vector(self.dim, "random", 0.0, self.teacher_seed, self.eigenvalues)

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        return self.init_overlap * self.theta_star + self.init_scale * jax.random.normal(key, (self.dim,), dtype)

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        r = example["x"] @ params
        if self.task == "logistic":
            return jax.nn.softplus(r) - example["y"] * r
        return 0.5 * (r**2 - example["y"]) ** 2

    def loss(self, params: jax.Array, batch: dict) -> jax.Array:
        return jnp.mean(jax.vmap(self.example_loss, in_axes=(None, 0))(params, batch))

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        k_x, k_y = jax.random.split(key)
        dtype = jnp.result_type(float)
        x = jnp.sqrt(self.eigenvalues) * jax.random.normal(k_x, (batch_size, self.dim), dtype)
        r_star = x @ self.theta_star
        if self.task == "logistic":
            y = (jax.random.uniform(k_y, (batch_size,), dtype) < jax.nn.sigmoid(r_star)).astype(dtype)
        else:
            y = r_star**2 + self.noise * jax.random.normal(k_y, (batch_size,), dtype)
        return {"x": x, "y": y}

    def overlaps(self, params: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(m = θᵀKθ*, q = θᵀKθ)."""
        weighted = self.eigenvalues * params
        return weighted @ self.theta_star, weighted @ params

    def population_risk(self, params: jax.Array) -> jax.Array:
        m, q = self.overlaps(params)
        if self.task == "phase_retrieval":
            return 0.5 * (3.0 * q**2 + 3.0 - 2.0 * q - 4.0 * m**2) + 0.5 * self.noise**2
        cov = jnp.stack([jnp.stack([q, m]), jnp.stack([m, jnp.ones_like(q)])])
        return gaussian_expectation(
            lambda z: jax.nn.softplus(z[..., 0]) - jax.nn.sigmoid(z[..., 1]) * z[..., 0], cov, QUADRATURE_NODES
        )

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        m, q = self.overlaps(params)
        return {"population_risk": self.population_risk(params), "m": m, "q": q}

    @property
    def f_star(self) -> jax.Array:
        """The risk at θ* (the minimum: σ_ε²/2 for phase retrieval, the labels' mean entropy for logistic)."""
        return self.population_risk(self.theta_star)

    def optimum(self) -> jax.Array:
        return self.theta_star
