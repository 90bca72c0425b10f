r"""Linear support-vector machine: the ℓ2-regularized hinge loss, a nonsmooth strongly convex finite sum.

.. math:: F(w) = \frac1n\sum_{i=1}^n \max(0, 1 - y_i x_i^\top w) + \frac\lambda2\lVert w\rVert^2,

on n points :math:`x_i\sim\mathcal N(0, I_d/d)`, :math:`y_i=\mathrm{sign}(x_i^\top w^\star)` each flipped with
probability ``label_flip`` (data fixed by ``data_seed``). F is λ-strongly convex (``strong_convexity``)
and not smooth; its minimum ``f_star`` is computed once per configuration by solving the dual QP
to a duality gap below 1e-8 (see :mod:`descentlab.problems._finite_linear`). Metrics: ``suboptimality``
:math:`F(w)-F^\star` and the training ``error`` rate. The per-example loss carries the regularizer, so
mini-batch subgradients are unbiased. Subgradient methods with steps :math:`2/(\lambda(t+1))` reach
:math:`O(1/(\lambda t))` (Lacoste-Julien, Schmidt, Bach 2012); Pegasos is the stochastic version.

References: Shalev-Shwartz, Singer, Srebro, Cotter, *Pegasos: primal estimated sub-gradient solver for
SVM* (2011); Shalev-Shwartz, Zhang, *Stochastic dual coordinate ascent methods for regularized loss
minimization* (1209.1873); Lacoste-Julien, Schmidt, Bach, *A simpler approach to obtaining an O(1/t)
convergence rate for the projected stochastic subgradient method* (1212.2002).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._finite_linear import FiniteLinear, svm_data, svm_solution
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem


@register_problem("svm")
@dataclasses.dataclass(frozen=True)
class SVM(FiniteLinear, Problem):
    """ℓ2-regularized hinge loss on n Gaussian points with noisy linear labels; f* from a dual solve."""

    summary = "Linear SVM: hinge loss + (λ/2)‖w‖² on n Gaussian points (nonsmooth, λ-strongly convex); exact f*."
    references = (
        "Shalev-Shwartz, Singer, Srebro, Cotter. Pegasos: primal estimated sub-gradient solver for SVM (2011)",
        "Shalev-Shwartz, Zhang. Stochastic dual coordinate ascent methods (1209.1873)",
        "Lacoste-Julien, Schmidt, Bach. An O(1/t) rate for the projected stochastic subgradient method (1212.2002)",
    )
    tiny: ClassVar[dict] = {"dim": 4, "n_samples": 12, "init_scale": 1.0}
    arrays: ClassVar[tuple] = (("n_samples", "dim"),)
    example: ClassVar[tuple] = ("dim",)

    dim: int = static(20, "dimension d", low=1, high=10_000)
    n_samples: int = static(200, "number of training points n", low=1, high=100_000)
    regularization: float = static(0.01, "λ (static: f* is solved per value)", kind="float", low=0.0, low_open=True)
    label_flip: float = static(0.1, "probability of flipping each label", kind="float", low=0.0, high=0.5)
    data_seed: int = static(0, "seed of the data", low=0)
    init_scale: float = hyper(0.0, "w₀ ~ init_scale · N(0, I/d)", low=0.0)

    def _data(self):
        return svm_data(self.n_samples, self.dim, self.data_seed, self.label_flip)

    def _solution(self):
        w, f_star, _ = svm_solution(self.n_samples, self.dim, self.data_seed, self.label_flip, self.regularization)
        return w, f_star

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        hinge = jnp.maximum(0.0, 1.0 - example["y"] * (example["x"] @ params))
        return hinge + 0.5 * self.regularization * params @ params

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        data = self.dataset()
        out = super().metrics(params)
        out["error"] = jnp.mean(data["y"] * (data["x"] @ params) <= 0)
        return out

    @property
    def strong_convexity(self) -> float:
        return self.regularization
