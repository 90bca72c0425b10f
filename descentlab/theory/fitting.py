r"""Rate fitting on a measured curve: power-law slope, linear (geometric) rate, time to a threshold.

* :func:`fit_power_law` — least squares of :math:`\log y` on :math:`\log t` over a window:
  :math:`y \approx C t^{p}`; returns :math:`p` with a Student-t confidence interval.
* :func:`fit_linear_rate` — least squares of :math:`\log y` on :math:`t`: :math:`y \approx C\rho^{t}`;
  returns the per-step contraction factor :math:`\rho = e^{\text{slope}}` with its interval.
* :func:`time_to_threshold` — first step at which the curve reaches a level (log-linear
  interpolation between grid points).

The regressions are ``scipy.stats.linregress`` (slope, intercept, standard error) with the Student-t quantile
``scipy.stats.t.ppf`` for the interval; what remains written here is the window selection and
:func:`time_to_threshold`'s first crossing of a curve that need not be monotone, interpolated in log y,
which ``np.interp`` (monotone abscissae, linear in y) does not do.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats


@dataclasses.dataclass(frozen=True)
class Fit:
    """A fitted slope with its confidence interval.

    ``value`` is the quantity of interest (the exponent for a power law, the contraction factor
    ρ per step for a linear rate); ``low``/``high`` its interval at ``level``; ``slope`` and
    ``stderr`` the raw regression slope and its standard error; ``n`` the points used.
    """

    value: float
    low: float
    high: float
    slope: float
    intercept: float
    stderr: float
    n: int
    level: float


def _window(steps: np.ndarray, values: np.ndarray, window: tuple[float, float] | None, positive_steps: bool):
    steps = np.asarray(steps, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if steps.shape != values.shape or steps.ndim != 1:
        raise ValueError(f"steps and values must be 1-D of the same length, got {steps.shape} and {values.shape}")
    keep = np.isfinite(values) & (values > 0)
    if positive_steps:
        keep &= steps > 0
    if window is not None:
        lo, hi = window
        keep &= (steps >= lo) & (steps <= hi)
    if keep.sum() < 3:
        raise ValueError(f"need at least 3 positive finite points in window {window}, got {int(keep.sum())}")
    return steps[keep], values[keep]


def _regress(x: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float, float, float]:
    result = stats.linregress(x, y)
    n = x.size
    q = stats.t.ppf(0.5 + level / 2, n - 2) if n > 2 else np.inf
    return float(result.slope), float(result.intercept), float(result.stderr), float(q * result.stderr)


def fit_power_law(
    steps: np.ndarray, values: np.ndarray, window: tuple[float, float] | None = None, level: float = 0.95
) -> Fit:
    """Exponent ``p`` of ``values ≈ C · steps^p`` over ``window`` (inclusive), with a CI at ``level``."""
    x, y = _window(steps, values, window, positive_steps=True)
    slope, intercept, stderr, half = _regress(np.log(x), np.log(y), level)
    return Fit(slope, slope - half, slope + half, slope, intercept, stderr, x.size, level)


def fit_linear_rate(
    steps: np.ndarray, values: np.ndarray, window: tuple[float, float] | None = None, level: float = 0.95
) -> Fit:
    """Contraction factor ``ρ`` of ``values ≈ C · ρ^steps`` over ``window``, with a CI at ``level``."""
    x, y = _window(steps, values, window, positive_steps=False)
    slope, intercept, stderr, half = _regress(x, np.log(y), level)
    return Fit(
        float(np.exp(slope)),
        float(np.exp(slope - half)),
        float(np.exp(slope + half)),
        slope,
        intercept,
        stderr,
        x.size,
        level,
    )


def time_to_threshold(steps: np.ndarray, values: np.ndarray, threshold: float) -> float:
    """First step where ``values <= threshold`` (log-linear interpolation); ``inf`` if never."""
    steps = np.asarray(steps, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    below = np.nonzero(values <= threshold)[0]
    if below.size == 0:
        return float("inf")
    k = int(below[0])
    if k == 0:
        return float(steps[0])
    y0, y1 = values[k - 1], values[k]
    if y0 > 0 and y1 > 0 and threshold > 0 and np.isfinite(y0):
        frac = (np.log(y0) - np.log(threshold)) / (np.log(y0) - np.log(y1))
    else:
        frac = (y0 - threshold) / (y0 - y1)
    return float(steps[k - 1] + frac * (steps[k] - steps[k - 1]))
