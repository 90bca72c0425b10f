r"""Scaling-law exponents of linear / random-feature models from the spectrum and target exponents.

Let the feature covariance have eigenvalues :math:`\lambda_k\sim k^{-b}` and the target put power
:math:`\lambda_k w_k^{\star2}\sim k^{-a}` on mode k (a > 1). Gradient descent (and small-step SGD) learns
mode k once :math:`\eta t\lambda_k\gtrsim1`, i.e. the first :math:`(\eta t)^{1/b}` modes, so

.. math:: \mathcal L(t) \approx \sum_{k>(\eta t)^{1/b}} k^{-a} \sim t^{-(a-1)/b} .

With N random features of an infinite power-law input, the approximation floor is
:math:`\mathcal L(N)\sim N^{-\min(a-1,\,b)}` (the features capture the top N modes when the target is
rough, a − 1 < b, and are limited by the projection of the spectrum otherwise). With compute
C = N t and :math:`\mathcal L \approx t^{-x}+N^{-y}`, the compute-optimal loss is
:math:`\mathcal L^\star(C)\sim C^{-xy/(x+y)}`.

For :mod:`descentlab.problems.random_features` (Var :math:`x_j = j^{-2\alpha}`, :math:`b_j=j^{-\beta}`):
b = 2α, a = 2α + 2β. For :mod:`descentlab.problems.least_squares` with a ``power_law`` spectrum α and
``power_law`` teacher β: b = α, a = α + β.

References: Bordelon, Atanasov, Pehlevan, *A Dynamical Model of Neural Scaling Laws* (2402.01092);
Paquette, Paquette, Xiao, Pennington, *4+3 Phases of Compute-Optimal Neural Scaling Laws* (2405.15074).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from descentlab.params import Param, SpecError
from descentlab.theory.registry import register_prediction


@dataclasses.dataclass(frozen=True)
class ScalingExponents:
    """Predicted exponents (positive numbers: loss ∝ t^-time, N^-size, C^-compute)."""

    time: float
    size: float
    compute: float


def scaling_exponents(spectrum_exponent: float, task_exponent: float) -> ScalingExponents:
    """Exponents from b (λ_k ∼ k^-b) and a (λ_k w*_k² ∼ k^-a), a > 1."""
    b, a = float(spectrum_exponent), float(task_exponent)
    if a <= 1.0:
        raise SpecError("theory.task_exponent", a, "expected a > 1 (a finite initial loss)")
    x = (a - 1.0) / b
    y = min(a - 1.0, b)
    return ScalingExponents(x, y, x * y / (x + y))


@register_prediction(
    "scaling_law",
    {
        "spectrum_exponent": Param("float", 1.5, "b: eigenvalues λ_k ∼ k^-b", low=0.0, low_open=True),
        "task_exponent": Param("float", 2.0, "a: target power λ_k w*_k² ∼ k^-a (a > 1)", low=1.0, low_open=True),
        "prefactor": Param("float", 1.0, "C in loss ≈ C · t^-x", low=0.0, low_open=True),
    },
    "Power-law loss vs time t^-(a-1)/b, with size exponent min(a-1, b) and compute-optimal exponent",
    "Bordelon, Atanasov, Pehlevan. A Dynamical Model of Neural Scaling Laws (2402.01092)",
    kind="limit",
)
def predict_scaling_law(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    e = scaling_exponents(p["spectrum_exponent"], p["task_exponent"])
    t = np.maximum(steps.astype(np.float64), 1.0)
    return {
        "loss": p["prefactor"] * t ** (-e.time),
        "time_exponent": np.full(steps.shape, e.time),
        "size_exponent": np.full(steps.shape, e.size),
        "compute_exponent": np.full(steps.shape, e.compute),
    }
