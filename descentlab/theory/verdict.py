r"""Verdicts: does a measurement agree with a prediction? One number, a stated tolerance, pass/fail.

Figures, by ``kind``:

* ``"curve"`` — max relative error :math:`\max_t |m_t - p_t| / |p_t|` over the curve
  (``tolerance`` default 0.05);
* ``"exponent"`` — :math:`|\hat p - p|` between the exponent fitted on a log–log window
  and the predicted one (default 0.1);
* ``"threshold"`` — ratio measured / predicted of a threshold (a critical step size, a
  limiting learning rate); pass when :math:`|r - 1| \le` tolerance (default 0.05);
* ``"bound"`` — fraction of the curve at or under an upper bound (with relative slack
  ``rtol``); pass when it is at least ``1 - tolerance`` (default 0: every point);
* ``"standard_error"`` — max over the curve of :math:`|\bar m_t - p_t| / \mathrm{se}_t`
  (a Monte Carlo mean against an exact expectation; default 3).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from descentlab.theory.fitting import fit_power_law

DEFAULT_TOLERANCE = {"curve": 0.05, "exponent": 0.1, "threshold": 0.05, "bound": 0.0, "standard_error": 3.0}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Outcome of comparing a measurement with a prediction.

    ``check`` names the declared check it judges (a study's :class:`~descentlab.studies.Check`), "" otherwise.
    """

    passed: bool
    figure: float
    what: str
    tolerance: float
    check: str = ""

    def line(self) -> str:
        """``verdict: pass|fail <figure> (<what>, tolerance <t>)``."""
        outcome = "pass" if self.passed else "fail"
        return f"verdict: {outcome} {self.figure:.4g} ({self.what}, tolerance {self.tolerance:g})"


def _pair(measured, predicted) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(measured, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if m.shape != p.shape:
        raise ValueError(f"measured and predicted must have the same shape, got {m.shape} and {p.shape}")
    if m.size == 0:
        raise ValueError("empty curves")
    return m, p


def curve_verdict(measured, predicted, tolerance: float = DEFAULT_TOLERANCE["curve"]) -> Verdict:
    """Max relative error over the whole curve (non-finite measurements fail)."""
    m, p = _pair(measured, predicted)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(m - p) / np.abs(p)
    err = np.where((m == p), 0.0, err)
    figure = float(np.max(np.where(np.isfinite(err), err, np.inf)))
    return Verdict(bool(figure <= tolerance), figure, "max relative error over the curve", tolerance)


def exponent_verdict(
    steps,
    measured,
    predicted_exponent: float,
    window: tuple[float, float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE["exponent"],
) -> Verdict:
    """|fitted − predicted| exponent of a power law fitted on ``window``."""
    fit = fit_power_law(steps, measured, window)
    figure = abs(fit.value - float(predicted_exponent))
    what = f"|fitted {fit.value:.4g} − predicted {float(predicted_exponent):.4g}| exponent"
    return Verdict(bool(figure <= tolerance), figure, what, tolerance)


def threshold_verdict(measured: float, predicted: float, tolerance: float = DEFAULT_TOLERANCE["threshold"]) -> Verdict:
    """Ratio measured / predicted; pass when within ``tolerance`` of 1."""
    figure = float(measured) / float(predicted)
    ok = bool(np.isfinite(figure) and abs(figure - 1.0) <= tolerance)
    return Verdict(ok, figure, "ratio measured / predicted", tolerance)


def bound_verdict(measured, bound, tolerance: float = DEFAULT_TOLERANCE["bound"], rtol: float = 1e-9) -> Verdict:
    """Fraction of the curve with ``measured <= bound·(1 + rtol)``; pass when ≥ 1 − tolerance.

    Points where the bound is NaN (not stated there, e.g. between epochs) are left out.
    """
    m, b = _pair(measured, bound)
    stated = ~np.isnan(b)
    if not np.any(stated):
        raise ValueError("the bound is not stated at any point of the curve")
    ms, bs = m[stated], b[stated]
    under = (bs == np.inf) | (np.isfinite(ms) & (ms <= bs * (1.0 + rtol) + 1e-300))
    figure = float(np.mean(under))
    return Verdict(bool(figure >= 1.0 - tolerance), figure, "fraction of the curve under the bound", tolerance)


def standard_error_verdict(mean, stderr, predicted, tolerance: float = DEFAULT_TOLERANCE["standard_error"]) -> Verdict:
    """Max over checkpoints of |mean − predicted| / standard error (agreement to 1e-12 counts as exact)."""
    m, p = _pair(mean, predicted)
    s = np.asarray(stderr, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(np.abs(m - p) <= 1e-12 * np.abs(p), 0.0, np.abs(m - p) / s)
    figure = float(np.max(np.where(np.isfinite(z), z, np.inf)))
    return Verdict(bool(figure <= tolerance), figure, "max |mean − predicted| / standard error", tolerance)


def verdict(measured, predicted, kind: str = "curve", tolerance: float | None = None, **options) -> Verdict:
    """Dispatch on ``kind`` (curve, exponent, threshold, bound, standard_error); see the module doc.

    ``exponent`` takes ``steps=`` and optionally ``window=``; ``standard_error`` takes ``stderr=``;
    ``bound`` takes ``rtol=``.
    """
    tol = DEFAULT_TOLERANCE.get(kind) if tolerance is None else tolerance
    if kind == "curve":
        return curve_verdict(measured, predicted, tol)
    if kind == "exponent":
        return exponent_verdict(options["steps"], measured, predicted, options.get("window"), tol)
    if kind == "threshold":
        return threshold_verdict(measured, predicted, tol)
    if kind == "bound":
        return bound_verdict(measured, predicted, tol, options.get("rtol", 1e-9))
    if kind == "standard_error":
        return standard_error_verdict(measured, options["stderr"], predicted, tol)
    raise ValueError(f"unknown verdict kind {kind!r}; allowed: {', '.join(DEFAULT_TOLERANCE)}")
