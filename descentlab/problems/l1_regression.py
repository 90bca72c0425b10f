r"""Least-absolute-deviations (ℓ1) regression: a nonsmooth convex finite sum, solved exactly by an LP.

.. math:: F(w) = \frac1n\sum_{i=1}^n \lvert x_i^\top w - y_i\rvert,

on n points :math:`x_i\sim\mathcal N(0, I_d/d)`, :math:`y_i = x_i^\top w^\star + s\,\xi_i` with Laplace noise
:math:`\xi_i` (scale ``noise`` s; data fixed by ``data_seed``). F is convex, piecewise linear and
:math:`\max_i\lVert x_i\rVert`-Lipschitz, neither smooth nor strongly convex: the setting of the
:math:`O(1/\sqrt t)` subgradient rate and of sharp-growth (linear convergence with geometrically
decaying steps) analyses. ``f_star`` is the LP optimum (HiGHS), computed once per configuration.

References: Nesterov, *Introductory Lectures on Convex Optimization* (2004), §3.2; Davis, Drusvyatskiy,
MacPhee, Paquette, *Subgradient methods for sharp weakly convex functions* (1803.02461); Goffin, *On
convergence rates of subgradient optimization methods* (1977).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._finite_linear import FiniteLinear, l1_regression_data, l1_regression_solution
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem


@register_problem("l1_regression")
@dataclasses.dataclass(frozen=True)
class L1Regression(FiniteLinear, Problem):
    """(1/n) Σ |xᵢᵀw − yᵢ| on n Gaussian points with Laplace noise; f* from an LP."""

    summary = "ℓ1 (least absolute deviations) regression on n Gaussian points, Laplace noise; exact f* by LP."
    references = (
        "Nesterov. Introductory Lectures on Convex Optimization (2004), §3.2",
        "Davis, Drusvyatskiy, MacPhee, Paquette. Subgradient methods for sharp weakly convex functions (1803.02461)",
        "Goffin. On convergence rates of subgradient optimization methods (1977)",
    )
    tiny: ClassVar[dict] = {"dim": 4, "n_samples": 12, "init_scale": 1.0}
    example: ClassVar[tuple] = ("dim",)

    @classmethod
    def data_elements(cls, values) -> dict[tuple[str, ...], int]:
        """The design (n, d) and f*'s dense linear program: constraints (2n, d + n) and an identity (n, n)."""
        n, d = values["n_samples"], values["dim"]
        return {("n_samples", "dim"): n * d + 2 * n * (d + n) + n * n}

    dim: int = static(20, "dimension d", low=1, high=10_000)
    n_samples: int = static(200, "number of training points n", low=1, high=20_000)
    noise: float = static(0.5, "Laplace noise scale (static: f* is solved per value)", kind="float", low=0.0)
    data_seed: int = static(0, "seed of the data", low=0)
    init_scale: float = hyper(0.0, "w₀ ~ init_scale · N(0, I/d)", low=0.0)

    def _data(self):
        return l1_regression_data(self.n_samples, self.dim, self.data_seed, self.noise)

    def _solution(self):
        return l1_regression_solution(self.n_samples, self.dim, self.data_seed, self.noise)

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        return jnp.abs(example["x"] @ params - example["y"])
