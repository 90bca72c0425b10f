r"""Onset of diffusion in SIREN training from the local (Gaussian) approximation of the NTK.

Castiglione, Buckley, Simpson, *A Closer Look at NTK Alignment: Linking Phase Transitions in Deep Image
Regression* (NeurIPS 2025). Under gradient flow on :math:`\mathcal L = \frac1{2\mathrm{Vol}}\int r^2`, the residual
:math:`r(x) = I(x) - f(x)` evolves as :math:`\dot r(x) = -\frac1{\mathrm{Vol}}\int K(x, x')\,r(x')\,dx'`. The
paper's Prop. 3.1–3.2 approximate the NTK around each point by a Gaussian of width ξ over a uniform background
:math:`c_\infty`,

.. math:: K(x, x+u) \approx \|\nabla_\theta f(x)\|^2\Big[(1-c_\infty)\,e^{-\|u\|^2/2\xi^2} + c_\infty\Big],

so that the velocity splits into a local part and a background part,

.. math:: \dot r(x) \approx -\|\nabla_\theta f(x)\|^2\Big[(1-c_\infty)\frac{(2\pi\xi^2)^{d/2}}{\mathrm{Vol}}\,r(x)
          + c_\infty\,\mu_r\Big],\qquad \mu_r = \frac1{\mathrm{Vol}}\int r ,

(the Gaussian integrates to :math:`(2\pi\xi^2)^{d/2}`; d = 2 for images). Thm. 3.1: once the background
:math:`\mu_r K_\infty` is negligible next to the local term, the residuals obey a diffusion equation (the
wave-crest phase). The ratio of the two terms,

.. math:: \psi = \frac{c_\infty\,|\mu_r|}{(1-c_\infty)\,\frac{(2\pi\xi^2)^{d/2}}{\mathrm{Vol}}\;\mathrm{rms}(r)} ,

is the drift order parameter of the approximation (rms over the domain: the typical local term); the predicted
onset of diffusion is the first step at which ψ falls through 1 (:func:`predicted_onset`), computed from the
measured :math:`c_\infty(t)`, :math:`\xi(t)`, :math:`\mu_r(t)` and :math:`\mathrm{rms}(r)(t)` of the run (the
``ntk_order`` probe, :mod:`descentlab.probes.ntk_order`). The paper's claim is that the loss-rate collapse and the
NTK alignment happen at the same time.

:func:`level_crossing` finds when a curve sampled on (log-spaced) checkpoints first crosses a level, by linear
interpolation in (log step, value).
"""

from __future__ import annotations

import numpy as np


def drift_ratio(
    c_inf: np.ndarray,
    xi: np.ndarray,
    mean_residual: np.ndarray,
    rms_residual: np.ndarray,
    volume: float = 4.0,
    dim: int = 2,
) -> np.ndarray:
    """ψ = c∞|μ_r| / ((1 − c∞)(2πξ²)^{d/2}/Vol · rms r): background over local part of the residual velocity."""
    c_inf, xi = np.asarray(c_inf, float), np.asarray(xi, float)
    local = (1.0 - c_inf) * (2.0 * np.pi * xi**2) ** (dim / 2.0) / volume * np.asarray(rms_residual, float)
    return c_inf * np.abs(np.asarray(mean_residual, float)) / local


def level_crossing(steps: np.ndarray, values: np.ndarray, level: float, direction: str = "down") -> float:
    """The first step at which ``values`` crosses ``level`` (``"down"``: from above to at-or-below; ``"up"``: from
    below to at-or-above), interpolated linearly in (log step, value); step 0 counts as step 1 in the logarithm.
    NaN when it never crosses, or already starts on the far side."""
    steps, values = np.asarray(steps, float), np.asarray(values, float)
    sign = 1.0 if direction == "down" else -1.0
    side = sign * (values - level)  # > 0 before the crossing
    if len(values) == 0 or not np.isfinite(side[0]) or side[0] <= 0:
        return float("nan")
    after = np.flatnonzero(~(side > 0))
    if len(after) == 0:
        return float("nan")
    i = int(after[0])
    if not np.isfinite(side[i]):
        return float("nan")
    lo, hi = np.log(max(steps[i - 1], 1.0)), np.log(max(steps[i], 1.0))
    frac = side[i - 1] / (side[i - 1] - side[i])
    return float(np.exp(lo + frac * (hi - lo)))


def predicted_onset(
    steps: np.ndarray,
    c_inf: np.ndarray,
    xi: np.ndarray,
    mean_residual: np.ndarray,
    rms_residual: np.ndarray,
    volume: float = 4.0,
    level: float = 1.0,
) -> float:
    """The step at which the drift ratio ψ (:func:`drift_ratio`) first falls through ``level`` (1: the local
    term overtakes the background, Thm. 3.1's onset of diffusion); NaN when it never does."""
    psi = drift_ratio(c_inf, xi, mean_residual, rms_residual, volume)
    return level_crossing(steps, psi, level, "down")
