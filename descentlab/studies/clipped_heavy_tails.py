r"""clipped-heavy-tails — under infinite-variance gradient noise, SGD's high-probability error is polynomial in 1/δ,
clipped SGD's is logarithmic.

Claim (Sadiev et al. 2023, 2302.00999; Tight High-Probability Bounds for Nonconvex Heavy-Tailed Scenario):
with gradient noise of bounded α-th moment only, α ∈ (1, 2) (infinite variance), the (1 − δ)-quantile of
plain SGD's final error grows polynomially in 1/δ, while clipped SGD,
:math:`x_{t+1}=x_t-\eta\min(1, c/\|g_t\|)\,g_t`, has bounds that grow like log(1/δ).

Setup: the d = 10 quadratic (``quadratic``, κ = 2, diagonal) with additive Student-t noise of ν = 1.5 degrees of
freedom per coordinate (``noise_tail = 1.5``, ``grad_noise`` σ = 1: tail index 1.5, infinite variance), 20
steps of constant step η = 0.5, both methods from the same seeds; clipped SGD with c = 1. The error is the
final distance ‖x_T − x*‖ (x* = 0), and its empirical (1 − δ)-quantile is read at 10 log-spaced δ from 0.05
down to δ_min = 30/n (at least 30 runs beyond the smallest quantile; n = seeds per method).

Math (:mod:`descentlab.theory.heavy_tail_sgd`): SGD's iterate is a linear combination of the noise draws; their
tails add (one big jump), :math:`q(\delta)\simeq\eta\sigma(C_\nu S_T/\delta)^{1/\nu}`, so on log–log axes the
quantile has slope 1/ν = 0.667 in 1/δ. Clipped SGD moves at most ηc per step, its iterate is a bounded-increment
process whose quantile grows like a + b·log(1/δ) (the paper's log(1/δ)); its log–log slope b/q(δ) is small
and decreasing (→ 0).

Verdicts:

1. ``quantile-exponents`` (headline): fitted log–log slopes ŝ of quantile vs 1/δ (least squares over the δ
   grid) — the figure is max(|ŝ_SGD − 1/ν|, |ŝ_clip − 0|), tolerance 0.12. Basis: bootstrap (100 resamples of
   the seeds, NumPy replica of the same runs) sd of ŝ_SGD is 0.027 at n = 20 000 (--quick) and 0.019 at
   n = 100 000 (default), so 0.12 is ≥ 4.4 sd; clipped SGD's slope is the finite-δ slope of a logarithm,
   measured 0.061–0.076 (sd 0.002), which the tolerance must admit. Both controls move a slope by ≈ 0.6.
2. ``model-selection``: each method's quantile curve is fitted by the power model log q = a + s·log(1/δ) and the
   log model q = a + b·log(1/δ) (weighted by 1/q so both residuals are relative); the figure is
   max(RSS_log/RSS_pow for clipped SGD, RSS_pow/RSS_log for SGD), tolerance 1 (the claimed model wins for each
   method). Measured (engine): 0.53 at --quick, 0.49 at default (both clipped SGD's ratio; SGD's is ≤ 0.03).
3. ``sgd-tail-level``: max over the δ grid's points with δ ≤ 0.01 of |q_SGD(δ) / prediction − 1| against the
   one-big-jump level (``sgd_heavy_tail_quantile``), tolerance 0.3. Basis: the prediction leaves out the bulk
   (+4–9 % at 10⁵ seeds) and an empirical quantile with k ≥ 30 exceedances has relative sd ≈ 1/(ν√k) ≤ 0.12;
   measured 0.13 at --quick and 0.25 at default (the δ = 3·10⁻⁴ point, 30 exceedances).

Measured headline: 0.066 at --quick (ŝ_SGD = 0.659, ŝ_clip = 0.066), 0.058 at default (0.695, 0.058); the
controls at --quick: gaussian-noise 0.605 (ŝ_SGD = 0.062), no-clipping 0.659 (ŝ_clip = 0.659).

Controls (each fails the headline at --quick): ``gaussian-noise`` (mechanism: the noise is Gaussian,
``noise_tail = 0`` — SGD's quantile grows like √log(1/δ) too, its slope collapses to ≈ 0.07, no separation);
``no-clipping`` (mechanism: c = 10¹⁵, clipped SGD is SGD and its slope is ≈ 1/ν, not ≈ 0).

Figures: the paper's headline figure — (1 − δ)-quantile of the final error vs 1/δ on log–log axes for both
methods with the power-law fits and the one-big-jump prediction — and the same quantiles against log(1/δ) on
linear axes with the log-model fits (clipped SGD a straight line).

Scaled down from the paper: a 10-dimensional quadratic (not a nonconvex network), 20 steps, 2·10⁴ (quick),
10⁵ (default) and 10⁶ (paper) seeds per method.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from descentlab.engine.load import spec_from_dict
from descentlab.engine.spec import Spec
from descentlab.experiment import Result
from descentlab.params import Param
from descentlab.report import figures as F
from descentlab.store.schema import OK
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory import PREDICTIONS

TAIL = 1.5  # ν: Student-t degrees of freedom of the noise (tail index; infinite variance)
PROBLEM = {"name": "quadratic", "dim": 10, "condition_number": 2.0, "grad_noise": 1.0}
LEARNING_RATE = 0.5
STEPS = 20
CLIP = 1.0
DELTA_MAX = 0.05
MIN_EXCEEDANCES = 30
GRID_POINTS = 10
LEVEL_DELTA = 0.01  # the tail-level check reads the δ's at or below this one
METRIC = "final_distance_to_optimum"
# The engine freezes a run whose loss exceeds factor × its reference as diverged; SGD's heavy tail is exactly such
# runs (at 10⁵ seeds the default 10⁶ flagged 182 of them), so the test is moved out of reach: a run still flagged
# counts as an infinite error (it stays in the tail instead of being dropped from it).
DIVERGENCE_FACTOR = 1e30

SIZES = {"quick": {"seeds": 20_000}, "default": {"seeds": 100_000}, "paper": {"seeds": 1_000_000}}

CHECK_EXPONENTS = Check(
    "quantile-exponents",
    "max(|ŝ_SGD − 1/ν|, |ŝ_clip|): fitted log–log slopes of the (1−δ)-quantile of ‖x_T − x*‖ vs 1/δ",
    "SGD: 1/ν (one big jump, sgd_heavy_tail_quantile); clipped SGD: 0 (quantile ∝ log(1/δ))",
    0.12,
    "Bootstrap sd of ŝ_SGD (100 resamples of the seeds) 0.027 at 2·10⁴ seeds (--quick), 0.019 at 10⁵ (default): "
    "0.12 ≥ 4.4 sd; clipped SGD's finite-δ log slope measured 0.061–0.076 (sd 0.002); controls move a slope by ≈ 0.6.",
)
CHECK_MODELS = Check(
    "model-selection",
    "max(RSS_log/RSS_power for clipped SGD, RSS_power/RSS_log for SGD), relative residuals of the quantile fits",
    "clipped SGD: the log model a + b·log(1/δ) fits better; SGD: the power model a·δ^{-s} fits better",
    1.0,
    "The claimed model must win for each method; measured 0.53 at --quick (2·10⁴ seeds) and 0.49 at default (10⁵), "
    "both clipped SGD's ratio (SGD's ≤ 0.03).",
)
CHECK_LEVEL = Check(
    "sgd-tail-level",
    f"max over δ ≤ {LEVEL_DELTA:g} of |q_SGD(δ) / one-big-jump prediction − 1|",
    "sgd_heavy_tail_quantile: ησ(C_ν S_T/δ)^{1/ν}",
    0.3,
    "The prediction omits the bulk (+4–9 % at 10⁵ seeds); an empirical quantile with ≥ 30 exceedances has "
    "relative sd ≈ 1/(ν√k) ≤ 0.12; measured 0.13 (--quick) and 0.25 (default, the 30-exceedance point).",
)


def delta_grid(seeds: int) -> np.ndarray:
    """10 log-spaced failure probabilities from 0.05 down to 30/n."""
    return np.geomspace(DELTA_MAX, MIN_EXCEEDANCES / seeds, GRID_POINTS)


def tail_quantiles(errors: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Empirical (1 − δ)-quantiles of ``errors``."""
    return np.quantile(np.asarray(errors, dtype=np.float64), 1.0 - deltas)


def power_fit(deltas: np.ndarray, quantiles: np.ndarray) -> tuple[float, float, float]:
    """(slope s, intercept a, RSS) of log q = a + s·log(1/δ) (residuals in log q, i.e. relative)."""
    x, y = np.log(1.0 / deltas), np.log(quantiles)
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept), float(np.sum((y - intercept - slope * x) ** 2))


def log_fit(deltas: np.ndarray, quantiles: np.ndarray) -> tuple[float, float, float]:
    """(b, a, RSS) of q = a + b·log(1/δ), weighted by 1/q (relative residuals, comparable with :func:`power_fit`)."""
    x = np.log(1.0 / deltas)
    design = np.stack([np.ones_like(x), x], axis=1) / quantiles[:, None]
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(x), rcond=None)
    return float(b), float(a), float(np.sum((1.0 - (a + b * x) / quantiles) ** 2))


def exponent_figure(sgd_slope: float, clip_slope: float, predicted: float) -> float:
    """The headline figure: max(|ŝ_SGD − 1/ν|, |ŝ_clip − 0|)."""
    return float(max(abs(sgd_slope - predicted), abs(clip_slope)))


def model_figure(sgd: np.ndarray, clipped: np.ndarray, deltas: np.ndarray) -> tuple[float, dict[str, float]]:
    """max(RSS_log/RSS_pow for clipped SGD, RSS_pow/RSS_log for SGD) and the four RSS's."""
    rss = {
        "sgd power": power_fit(deltas, sgd)[2],
        "sgd log": log_fit(deltas, sgd)[2],
        "clipped power": power_fit(deltas, clipped)[2],
        "clipped log": log_fit(deltas, clipped)[2],
    }
    tiny = np.finfo(float).tiny
    figure = max(rss["clipped log"] / max(rss["clipped power"], tiny), rss["sgd power"] / max(rss["sgd log"], tiny))
    return float(figure), rss


def level_figure(quantiles: np.ndarray, predicted: np.ndarray, deltas: np.ndarray) -> float:
    """max over δ ≤ LEVEL_DELTA of |measured / predicted − 1|."""
    keep = deltas <= LEVEL_DELTA
    return float(np.max(np.abs(quantiles[keep] / predicted[keep] - 1.0)))


def predicted_quantiles(deltas: np.ndarray) -> np.ndarray:
    """The one-big-jump (1 − δ)-quantiles of SGD's ‖x_T‖ (sgd_heavy_tail_quantile) on ``deltas``."""
    entry = PREDICTIONS.get("sgd_heavy_tail_quantile")
    fields = {k: PROBLEM[k] for k in ("dim", "condition_number", "grad_noise")}
    return np.array(
        [
            entry.predict(
                np.array([STEPS]), **fields, learning_rate=LEARNING_RATE, noise_tail=TAIL, delta=float(delta)
            )["distance_quantile"][0]
            for delta in deltas
        ]
    )


@register_study("clipped-heavy-tails")
class ClippedHeavyTails(Study):
    claim = (
        "Under infinite-variance (Student-t, ν = 1.5) gradient noise the (1−δ)-quantile of SGD's final error grows "
        "like (1/δ)^{1/ν}, clipped SGD's like log(1/δ)"
    )
    reference = (
        "Sadiev, Danilova, Gorbunov, Horváth, Gidel, Dvurechensky, Gasnikov, Richtárik. High-Probability Bounds "
        "for Stochastic Optimization and Variational Inequalities: the Case of Unbounded Variance (2302.00999); "
        "Tight High-Probability Bounds for Nonconvex Heavy-Tailed Scenario under Weaker Assumptions"
    )
    checks: ClassVar[tuple[Check, ...]] = (CHECK_EXPONENTS, CHECK_MODELS, CHECK_LEVEL)
    declared_options: ClassVar[dict[str, Param]] = {
        "gaussian_noise": Param("bool", False, "run Gaussian gradient noise instead of Student-t (ν = 1.5)"),
        "clip_threshold": Param("float", CLIP, "clipping threshold c of clipped SGD", low=0.0, low_open=True),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "gaussian-noise",
            "Gaussian gradient noise has every moment: SGD's quantile also grows like √log(1/δ), its log–log slope "
            "collapses to ≈ 0.07, so neither the 1/ν rate nor the separation from clipped SGD is there.",
            mechanism=True,
            options=(("gaussian_noise", True),),
        ),
        Control(
            "no-clipping",
            "A clipping threshold of 10¹⁵ never clips: 'clipped' SGD is plain SGD, its quantile grows like "
            "(1/δ)^{1/ν}, not like log(1/δ).",
            mechanism=True,
            options=(("clip_threshold", 1e15),),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        seeds = options.pick(SIZES)["seeds"]
        problem = {**PROBLEM, "noise_tail": 0.0 if options["gaussian_noise"] else TAIL}
        arms = {
            "sgd": {"name": "sgd", "learning_rate": LEARNING_RATE},
            "clipped": {
                "name": "clipped_sgd",
                "learning_rate": LEARNING_RATE,
                "max_norm": float(options["clip_threshold"]),
            },
        }
        return [
            spec_from_dict(
                {
                    "name": f"clipped-heavy-tails-{arm}" + ("-quick" if options.quick else ""),
                    "description": self.claim,
                    "problem": problem,
                    "optimizer": optimizer,
                    "run": {"steps": STEPS, "seeds": seeds, "checkpoints": 2, "divergence_factor": DIVERGENCE_FACTOR},
                    "probes": ["metrics"],
                }
            )
            for arm, optimizer in arms.items()
        ]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        errors = {}
        for result in results:
            arm = "clipped" if result.runs["optimizer_name"].iloc[0] == "clipped_sgd" else "sgd"
            runs = result.runs
            errors[arm] = np.where(runs["status"] == OK, runs[METRIC].to_numpy(dtype=np.float64), np.inf)
        seeds = min(len(e) for e in errors.values())
        deltas = delta_grid(seeds)
        quantiles = {arm: tail_quantiles(e, deltas) for arm, e in errors.items()}
        predicted = predicted_quantiles(deltas)
        slopes = {arm: power_fit(deltas, q)[0] for arm, q in quantiles.items()}
        exponent = 1.0 / TAIL
        headline = CHECK_EXPONENTS.verdict(
            exponent_figure(slopes["sgd"], slopes["clipped"], exponent),
            detail=f"ŝ_SGD = {slopes['sgd']:.3f} vs 1/ν = {exponent:.3f}, ŝ_clip = {slopes['clipped']:.3f} vs 0",
        )
        models, rss = model_figure(quantiles["sgd"], quantiles["clipped"], deltas)
        selection = CHECK_MODELS.verdict(models, detail=", ".join(f"RSS {k} = {v:.2e}" for k, v in rss.items()))
        level = CHECK_LEVEL.verdict(level_figure(quantiles["sgd"], predicted, deltas))
        summary = pd.DataFrame(
            {
                "delta": deltas,
                "sgd quantile": quantiles["sgd"],
                "clipped quantile": quantiles["clipped"],
                "one-big-jump prediction": predicted,
            }
        )
        figures = self._figures(deltas, quantiles, predicted, folder)
        return Analysis([headline, selection, level], figures, summary)

    @staticmethod
    def _figures(
        deltas: np.ndarray, quantiles: dict[str, np.ndarray], predicted: np.ndarray, folder: Path
    ) -> list[tuple[str, str]]:
        colors = {"sgd": "tab:red", "clipped": "tab:blue"}
        names = {"sgd": "SGD", "clipped": "clipped SGD"}
        inverse, logs = 1.0 / deltas, np.log(1.0 / deltas)
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for arm, q in quantiles.items():
            slope, intercept, _ = power_fit(deltas, q)
            ax.plot(inverse, q, "o", color=colors[arm], label=f"{names[arm]} (fitted slope {slope:.2f})")
            ax.plot(inverse, np.exp(intercept) * inverse**slope, "-", color=colors[arm], alpha=0.6)
        ax.plot(inverse, predicted, "k--", label=f"one big jump, slope 1/ν = {1 / TAIL:.2f}")
        ax.set(xscale="log", yscale="log", xlabel="1/δ", ylabel="(1−δ)-quantile of ‖x_T − x*‖")
        ax.set_title("Student-t (ν = 1.5) gradient noise: error quantile vs 1/δ")
        ax.legend(fontsize=8)
        F.plain_log_ticks(fig)
        first = F.save(fig, folder, "quantile_vs_inverse_delta")["png"]
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for arm, q in quantiles.items():
            b, a, _ = log_fit(deltas, q)
            ax.plot(logs, q, "o", color=colors[arm], label=f"{names[arm]}")
            ax.plot(logs, a + b * logs, "-", color=colors[arm], alpha=0.6, label=f"{names[arm]}: a + b·log(1/δ)")
        ax.set(yscale="log", xlabel="log(1/δ)", ylabel="(1−δ)-quantile of ‖x_T − x*‖")
        ax.set_title("Quantiles against log(1/δ) with the log-model fits")
        ax.legend(fontsize=8)
        second = F.save(fig, folder, "quantile_vs_log_inverse_delta")["png"]
        plt.close(fig)
        return [
            (
                "(1−δ)-quantile of the final distance vs 1/δ (log–log) for SGD and clipped SGD, with power-law fits "
                "and the one-big-jump prediction for SGD",
                first,
            ),
            ("The same quantiles against log(1/δ), with the log-model fits a + b·log(1/δ)", second),
        ]
