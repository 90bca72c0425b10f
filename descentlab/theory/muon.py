r"""Muon's Newton–Schulz orthogonalization as a scalar map, and the smoothness constants that compare Muon with GD.

**Newton–Schulz.** Muon (Jordan et al. 2024; optax ``orthogonalize_via_newton_schulz``, Frobenius
preconditioning) replaces a matrix :math:`G = U\,\mathrm{diag}(\sigma)\,V^\top` by :math:`X_T` where
:math:`X_0 = G/(\|G\|_F+\epsilon)` and :math:`X_{t+1} = aX_t + b\,(X_tX_t^\top)X_t + c\,(X_tX_t^\top)^2X_t`
(optax's coefficients :math:`(a,b,c) = (3.4445, -4.7750, 2.0315)`, T = 5). Every iterate is an odd polynomial of
:math:`X_0`, so it keeps the singular vectors and maps each singular value through the scalar polynomial
:math:`p(s) = as+bs^3+cs^5`:

.. math:: X_T = U\,\mathrm{diag}\big(p^{\circ T}(\sigma_i/\|G\|_F)\big)\,V^\top .

The polar factor is :math:`UV^\top` (thin SVD, nonzero singular values only), so the error
:math:`\|X_T-UV^\top\|_{op}=\max_i|p^{\circ T}(\sigma_i/\|G\|_F)-1|` is the scalar map's distance from 1 on the
normalized singular values. These coefficients maximize the slope at 0 rather than converge: after 5 steps the
singular values in the working range land in about [0.7, 1.2], not at 1; singular values far below
:math:`\|G\|_F` (an ill-conditioned G) are not lifted to that band.

**Muon against GD** (Shen et al. 2505.23737). With Frobenius smoothness :math:`L`
(:math:`\|\nabla f(W)-\nabla f(W')\|_F\le L\|W-W'\|_F`), GD with step 1/L finds :math:`\|\nabla f\|_F\le\epsilon`
within :math:`O(L\Delta\epsilon^{-2})` steps; with spectral-norm smoothness :math:`L_*`
(:math:`\|\nabla f(W)-\nabla f(W')\|_*\le L_*\|W-W'\|_{op}`), Muon (update :math:`UV^\top` of the gradient) finds
:math:`\|\nabla f\|_*\le\epsilon` within :math:`O(L_*\Delta\epsilon^{-2})` steps. Since
:math:`\|X\|_F\le\|X\|_*\le\sqrt r\|X\|_F` (r = min(m, n)), GD needs :math:`O(rL\Delta\epsilon^{-2})` steps for
the nuclear-norm target, so the theory favours Muon when :math:`L_* < rL`, and :math:`L\le L_*\le rL` always.
For :math:`f(W)=\tfrac12\operatorname{tr}(\Delta^\top A\Delta)` (Hessian :math:`I_n\otimes A`, block diagonal)
:math:`L=\|A\|_{op}` and :math:`L_*=\|A\|_*=\operatorname{tr}A`, so the figure of merit
:math:`rL/L_*=r\|A\|_{op}/\operatorname{tr}A` is r over the stable rank of A: large for a low-rank Hessian, 1
for :math:`A\propto I` (no advantage). :func:`muon_gd_ratio` computes it.

References: Shen, Huang, Huang, Shen, Zhang, *On the Convergence Analysis of Muon* (2505.23737); Jordan et al.,
*Muon: An optimizer for hidden layers in neural networks* (2024); Bernstein & Newhouse, *Old Optimizer, New
Norm* (2409.20325).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from descentlab.params import Param
from descentlab.theory.registry import register_prediction

OPTAX_COEFFS = (3.4445, -4.7750, 2.0315)
"""optax.contrib.muon's default Newton–Schulz coefficients (a, b, c)."""
REFERENCE = (
    "Shen et al. On the Convergence Analysis of Muon (2505.23737); Jordan et al. Muon (2024), Newton–Schulz 5 with "
    "coefficients (3.4445, −4.7750, 2.0315)"
)


def newton_schulz_map(s: Any, steps: int, coeffs: tuple[float, float, float] = OPTAX_COEFFS) -> np.ndarray:
    """p^{∘steps}(s) with p(s) = a s + b s³ + c s⁵, elementwise in float64."""
    a, b, c = coeffs
    x = np.asarray(s, dtype=np.float64)
    for _ in range(int(steps)):
        x2 = x * x
        x = a * x + b * x2 * x + c * x2 * x2 * x
    return x


def newton_schulz_svd(
    g: np.ndarray, steps: int = 5, coeffs: tuple[float, float, float] = OPTAX_COEFFS, eps: float = 1e-8
) -> tuple[np.ndarray, np.ndarray]:
    """(the Newton–Schulz output predicted from a float64 SVD, the polar factor UVᵀ) of a 2-D ``g``.

    The prediction is U p^{∘steps}(σ/(‖G‖_F + eps)) Vᵀ; singular values below ``1e-12·σ_max`` are dropped
    (they map to 0 and have no polar direction)."""
    g = np.asarray(g, dtype=np.float64)
    u, sigma, vt = np.linalg.svd(g, full_matrices=False)
    keep = sigma > 1e-12 * max(float(sigma[0]), np.finfo(np.float64).tiny) if sigma.size else sigma > 0
    u, sigma, vt = u[:, keep], sigma[keep], vt[keep]
    mapped = newton_schulz_map(sigma / (np.linalg.norm(g) + eps), steps, coeffs)
    return (u * mapped) @ vt, u @ vt


def polar_error(g: np.ndarray, steps: int = 5, coeffs: tuple[float, float, float] = OPTAX_COEFFS) -> float:
    """‖NS_steps(G) − UVᵀ‖_op = max_i |p^{∘steps}(σ_i/‖G‖_F) − 1| (float64 SVD)."""
    predicted, polar = newton_schulz_svd(g, steps, coeffs)
    return float(np.linalg.norm(predicted - polar, 2)) if polar.size else 0.0


def muon_gd_ratio(eigenvalues: np.ndarray, r: int) -> dict[str, float]:
    """The constants of f = ½tr(ΔᵀAΔ) with A's ``eigenvalues`` (≥ 0) and r = min(m, n):
    ``{"L": ‖A‖_op, "L_star": tr A, "ratio": r L / L_*}`` (ratio > 1: the theory favours Muon)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    big, total = float(lam.max()), float(lam.sum())
    return {"L": big, "L_star": total, "ratio": r * big / total}


@register_prediction(
    "newton_schulz",
    {
        "singular_value": Param(
            "float", 0.5, "s = σ/‖G‖_F: a normalized singular value of the input", low=0.0, high=1.0
        ),
        "a": Param("float", OPTAX_COEFFS[0], "Newton–Schulz coefficient a"),
        "b": Param("float", OPTAX_COEFFS[1], "Newton–Schulz coefficient b"),
        "c": Param("float", OPTAX_COEFFS[2], "Newton–Schulz coefficient c"),
    },
    "Singular value after t Newton–Schulz iterations of Muon, p^{∘t}(s), and its distance from the polar factor's 1",
    REFERENCE,
    kind="exact",
)
def predict_newton_schulz(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    coeffs = (p["a"], p["b"], p["c"])
    values = np.array([newton_schulz_map(p["singular_value"], int(t), coeffs) for t in steps])
    return {"singular_value": values, "polar_error": np.abs(values - 1.0)}
