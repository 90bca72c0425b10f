r"""kernel-sgd-curves — one-pass SGD in kernel regression learns at the minimax rate, with no saturation in s.

Claim (Zhang, Lin, Liu, Fang, *Learning Curves of Stochastic Gradient Descent in Kernel Regression*, arXiv
2505.22048, ICML 2025): single-pass SGD with an exponentially decaying step size reaches the minimax rate of the
excess risk, under a source condition f* ∈ [H]^s that allows misspecified targets (s < 1), *without* the
saturation of kernel ridge regression — except when the model is highly misspecified and n is large. The paper
states this for inner-product kernels on the sphere with n ≍ d^γ (its theorems are per scale γ); what was
readable of it here (abstract, the bias–variance recursions f_t^b = (I − η_t K_x⊗K_x) f_{t−1}^b, f_t^v = … + η_t Ξ_t,
and Lemma 2, excess risk = ⟨f − f*, Σ(f − f*)⟩_H) is the basis; the exponents below are its fixed-dimension,
power-law specialisation :math:`\lambda_k\asymp k^{-\beta}`: last-iterate excess risk
:math:`n^{-s\beta/(s\beta+1)}` for s ≥ 1 − 1/β (bias–variance balance at :math:`T=\sum\eta_t\asymp
n^{\beta/(s\beta+1)}`, :mod:`descentlab.theory.kernel_sgd`), against KRR's :math:`n^{-2\beta/(2\beta+1)}` for s ≥ 2.

Set-up: :mod:`descentlab.problems.kernel_regression` as a stream (``n_train = 0``): x uniform on the circle,
λ_k = (1 + k)^-2 (β = 2, cos and sin each), target c_k*² ∝ (1 + k)^-a with a = 1 + sβ for s ∈ {0.75, 1.5, 6}
(misspecified; well specified; far beyond KRR's saturation, where the SGD–KRR gap 12/13 − 4/5 = 0.123 is
largest for a source whose few active modes still give a usable seed spread), σ = 1, M = 64 (quick) or 128
(default) frequencies. Each horizon n is its own experiment of n steps (batch 1) with the engine's
``exponential`` schedule :math:`\eta_t=\eta_0 r^{t/n}`, r = 10⁻³; η₀ is tuned per (s, n) on the
Gaussian-equivalent recursion (:func:`~descentlab.theory.kernel_sgd.tuned_initial_step`, one compiled scan for
all horizons). Experiments: per horizon one for s ∈ {0.75, 1.5} (its learning-rate axis the two tuned steps) and
one for s = 6 alone (its own seeds, twice as many, and two extra low horizons 128, 256 that widen its log-n range).
The excess risk is exact; the seed mean at each n is fitted by a log–log line, its standard error from the seed
spread by the delta method.

Verdicts (declared in :data:`CHECKS`):

1. ``sgd-rate`` (headline): per s, |fitted − min(sβ/(sβ+1), s)| ≤ |recursion bias_s| + 0.03 + k·s.e._s with
   k = 3; the figure is max_s (|fitted − predicted| − |bias_s| − 0.03)/s.e._s. bias_s is the Gaussian
   recursion's own fitted exponent minus the closed form on the same horizons at the same η₀ (quick: +0.030,
   −0.014, +0.010; default: +0.018, −0.016, +0.003), s.e._s the measured seed error. The bounded Fourier
   features run below the Gaussian recursion at small n — measured ratios 0.90–0.93 at n ≤ 512 for every s,
   0.97–1.02 at n ≥ 1024, s = 6 included where η₀ ≤ 0.05, so it is not the tuning: fitted − recursion
   exponent −0.011/−0.019/−0.031 at default (s.e. ≤ 0.011); this FOURIER_SHORTFALL = 0.03 is allowed on top
   of the recursion bias (without it the default headline was 2.90 against 3). The earlier 0.695 at s = 1.5
   is this shortfall plus ≈ 1 s.e. of seed noise
   (0.713 with 128 seeds, 0.715 ± 0.011 at default).
2. ``exponent-precision``: every s.e._s ≤ 0.03 (measured 0.010–0.025 at quick), also required by the headline
   so that a wide error bar cannot pass it.
3. ``beyond-saturation``: at s = 6 the fitted exponent exceeds KRR's saturated 0.8 by at least 0.06 (half the
   predicted gap 0.123).

Measured at --quick (96 seeds, 192 for s = 6, M = 64; 18 s wall with a warm JAX cache on 2 cores shared with
other jobs, load average ≈ 4): fitted exponents 0.597 ± 0.012, 0.695 ± 0.025, 0.905 ± 0.016 against 0.600,
0.750, 0.923 (headline 0.45 ≤ 3); s = 6 minus 0.8: 0.105 (≥ 0.06). Default (128 seeds, 256 for s = 6,
M = 128, n ≤ 16384): 0.607 ± 0.005, 0.715 ± 0.011, 0.895 ± 0.009 (headline −0.56), s = 6 minus 0.8: 0.095;
6 min 32 s wall measured once with a cold JAX cache while a control ran alongside (load average 3 → 10).

Controls: ``constant-step`` (mechanism: decay_rate = 1, the tuned η₀ kept constant; the last iterate sits on a
noise floor ∝ η₀: fitted 0.13, 0.46, 0.84, headline 8.37 at --quick) and ``krr-exponent`` (prediction: every s
judged against KRR's saturated exponents, 0.8 at s = 6: headline 4.04 at --quick, 7.22 at default).

The figure is the paper's: log excess risk against log n per source exponent, with the predicted slopes.
"""

from __future__ import annotations

import functools
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
from descentlab.theory import Verdict
from descentlab.theory import kernel_sgd as theory

METRIC = "excess_risk"
KERNEL_DECAY = 2.0  # β
SOURCES = (0.75, 1.5, 6.0)  # s: misspecified, well specified, beyond KRR's saturation (s > 2)
SATURATED = 6.0  # the s where SGD and KRR differ, judged by the second check
NOISE = 1.0
DECAY_RATE = 1e-3  # r: η_n = r·η₀
# Fourier features vs the Gaussian recursion: fitted − recursion exponent measured −0.011/−0.019/−0.031 at default
# (s.e. ≤ 0.011; the Fourier risk is 7–10 % below the recursion at n ≤ 512 and within 3 % at n ≥ 1024), so the rate
# check allows this much beyond the recursion's own finite-n bias
FOURIER_SHORTFALL = 0.03
TUNING_POINTS = 25  # log grid of η₀ in [1e-3, 1] the recursion is minimised on (then a parabola)

SIZES = {
    # "low": extra horizons run for s = SATURATED only (its η₀ is small there, so the Fourier features follow the
    # Gaussian recursion; the wider range in log n halves the seed error of its fitted exponent)
    # "seeds_saturated": the seeds of the s = SATURATED experiments (its few active modes make its risk the noisiest)
    "quick": {
        "horizons": [512, 1024, 2048, 4096],
        "low": [128, 256],
        "seeds": 96,
        "seeds_saturated": 192,
        "n_modes": 64,
    },
    "default": {
        "horizons": [512, 1024, 2048, 4096, 8192, 16384],
        "low": [128, 256],
        "seeds": 128,
        "seeds_saturated": 256,
        "n_modes": 128,
    },
    "paper": {
        "horizons": [2**k for k in range(9, 18)],
        "low": [128, 256],
        "seeds": 256,
        "seeds_saturated": 512,
        "n_modes": 512,
    },
}

CHECK_RATE = Check(
    "sgd-rate",
    "max over s of (|fitted excess-risk exponent − predicted| − |recursion bias_s| − 0.03) / s.e._s: the deviation "
    "from the closed form beyond the Gaussian-equivalent recursion's own finite-n bias on the same horizons and the "
    "measured Fourier-feature shortfall (FOURIER_SHORTFALL), in units of the fitted exponent's seed standard error",
    "min(sβ/(sβ+1), s) (kernel_sgd.sgd_exponent) for s = 0.75, 1.5, 6, β = 2, i.e. per s "
    "|fitted − predicted| ≤ |recursion bias_s| + 0.03 + 3 s.e._s (and every s.e._s within exponent-precision)",
    3.0,
    "recursion biases (computed per run) +0.030/−0.014/+0.010 (quick), +0.018/−0.016/+0.003 (default) for "
    "s = 0.75/1.5/6; the Fourier-feature shortfall fitted − recursion exponent measured −0.011/−0.019/−0.031 at "
    "default (0.03 allowed); seed s.e. 0.012/0.025/0.016 (quick: 96 seeds, 192 at s = 6) and 0.005/0.011/0.009 "
    "(default: 128, 256); k = 3",
)
CHECK_PRECISION = Check(
    "exponent-precision",
    "largest seed standard error of a fitted exponent (delta method over the seed means)",
    "small enough that 3 s.e. plus the recursion bias stay below half the SGD–KRR gap 0.123 at s = 6",
    0.03,
    "measured 0.012–0.025 at --quick, 0.005–0.011 at default — a run with too few seeds or diverging runs fails here "
    "instead of passing the rate check by a wide error bar",
)
CHECK_SEPARATION = Check(
    "beyond-saturation",
    "fitted exponent at s = 6 minus KRR's saturated exponent 2β/(2β+1) = 0.8",
    "at least half the predicted gap sβ/(sβ+1) − 2β/(2β+1) = 0.123 (SGD does not saturate at s = 2)",
    0.06,
    "half the predicted gap; the fitted s = 6 exponent is 0.905 ± 0.016 (quick, 192 seeds, n = 128…4096) and "
    "0.895 ± 0.009 (default, 256 seeds, n = 128…16384)",
)
CHECKS = (CHECK_RATE, CHECK_PRECISION, CHECK_SEPARATION)


def target_decay(source: float) -> float:
    return theory.target_decay_for(source, KERNEL_DECAY)


def source_horizons(size: dict, source: float) -> list[int]:
    """The horizons n at which source exponent s is run: the main ones, and the low ones for s = SATURATED."""
    return sorted(size["horizons"] + (size["low"] if np.isclose(source, SATURATED) else []))


@functools.lru_cache(maxsize=32)
def _tuned(horizons: tuple[int, ...], source: float, n_modes: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    eta, _ = theory.tuned_initial_step(
        list(horizons), KERNEL_DECAY, target_decay(source), n_modes, NOISE, DECAY_RATE, points=TUNING_POINTS
    )
    eta = np.array([float(f"{e:.4g}") for e in eta])
    risk = theory.expected_excess_risk(
        list(horizons), list(eta), KERNEL_DECAY, target_decay(source), n_modes, NOISE, DECAY_RATE
    ).diagonal()
    return tuple(eta), tuple(risk)


def tuned_steps(size: dict) -> dict[float, np.ndarray]:
    """η₀*(s, n) on the Gaussian-equivalent recursion, 4 significant digits, per s over its horizons."""
    return {s: np.array(_tuned(tuple(source_horizons(size, s)), s, size["n_modes"])[0]) for s in SOURCES}


def recursion_risks(size: dict) -> dict[float, np.ndarray]:
    """The Gaussian-equivalent recursion's expected excess risk at the tuned η₀ (per s over its horizons)."""
    return {s: np.array(_tuned(tuple(source_horizons(size, s)), s, size["n_modes"])[1]) for s in SOURCES}


def fit_exponent(horizons: np.ndarray, mean: np.ndarray, stderr: np.ndarray) -> tuple[float, float]:
    """(exponent e of mean ≈ C n^-e by least squares in log–log, its standard error from the seed spread:
    var(log mean_i) ≈ (stderr_i/mean_i)², propagated by the delta method). NaN when fewer than 3 points."""
    keep = np.isfinite(mean) & (mean > 0)
    if keep.sum() < 3:
        return float("nan"), float("nan")
    x = np.log(np.asarray(horizons, float)[keep])
    y = np.log(mean[keep])
    dx = x - x.mean()
    slope = float(dx @ (y - y.mean()) / (dx @ dx))
    var_y = (np.asarray(stderr, float)[keep] / mean[keep]) ** 2
    return -slope, float(np.sqrt(dx**2 @ var_y) / (dx @ dx))


def rate_scores(table: pd.DataFrame) -> np.ndarray:
    """Per s: (|fitted − predicted| − |recursion bias| − FOURIER_SHORTFALL) / s.e. (NaN or s.e. ≤ 0 gives +inf)."""
    allowance = table["recursion bias"].abs() + FOURIER_SHORTFALL
    excess = (table["fitted exponent"] - table["predicted exponent"]).abs() - allowance
    se = table["exponent s.e."].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = excess.to_numpy(float) / se
    return np.where(np.isfinite(score) & (se > 0), score, np.inf)


def rate_verdict(table: pd.DataFrame, check: Check = CHECK_RATE, precision: Check = CHECK_PRECISION) -> Verdict:
    """Headline: the largest score over the sources must be ≤ k = check.tolerance, with every s.e. within the
    precision check's tolerance (a wide error bar cannot pass); NaN fails."""
    scores = rate_scores(table)
    worst = float(np.max(scores))
    precise = bool(np.all(table["exponent s.e."].to_numpy(float) <= precision.tolerance))
    allowed = table["recursion bias"].abs() + FOURIER_SHORTFALL + check.tolerance * table["exponent s.e."]
    detail = ", ".join(
        f"s={r.source:g}: {r['fitted exponent']:.3f}±{r['exponent s.e.']:.3f} vs {r['predicted exponent']:.3f} "
        f"(recursion bias {r['recursion bias']:+.3f}, allowed {a:.3f})"
        for a, (_, r) in zip(allowed, table.iterrows(), strict=True)
    )
    if not precise:
        detail += f"; an s.e. exceeds {precision.tolerance:g}"
    return check.verdict(worst, passed=bool(np.isfinite(worst) and worst <= check.tolerance and precise), detail=detail)


def precision_verdict(table: pd.DataFrame, check: Check = CHECK_PRECISION) -> Verdict:
    """The largest fitted-exponent standard error (NaN fails)."""
    se = table["exponent s.e."].to_numpy(float)
    worst = float(np.max(np.where(np.isfinite(se), se, np.inf)))
    return check.verdict(worst, detail=", ".join(f"s={s:g}: {e:.3f}" for s, e in zip(table.source, se, strict=True)))


def separation_verdict(table: pd.DataFrame, check: Check = CHECK_SEPARATION) -> Verdict:
    """The s = 6 exponent minus KRR's saturated one; passes when at least the tolerance (NaN fails)."""
    row = table[np.isclose(table["source"], SATURATED)]
    gap = float(row["fitted exponent"].iloc[0] - row["krr exponent"].iloc[0]) if len(row) else float("nan")
    return check.verdict(
        gap, passed=bool(np.isfinite(gap) and gap >= check.tolerance), detail="must be at least the tolerance"
    )


def final_table(results: list[Result]) -> pd.DataFrame:
    """One row per run: horizon n, source s, η₀, status and the final excess risk (at step n)."""
    rows = []
    for result in results:
        runs, curves = result.runs, result.curves
        n = int(curves["step"].max())  # the horizon: each experiment runs n steps and checks in at n
        final = curves[(curves["metric"] == METRIC) & (curves["step"] == n)].set_index("run")["value"]
        frame = pd.DataFrame(
            {
                "horizon": n,
                "source": np.round([theory.source_exponent(a, KERNEL_DECAY) for a in runs["problem_target_decay"]], 6),
                "learning_rate": runs["optimizer_learning_rate"].to_numpy(),
                "status": runs["status"].to_numpy(),
                "final": final.reindex(runs["run"]).to_numpy(),
            }
        )
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def exponent_table(finals: pd.DataFrame, size: dict, prediction: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-s fit table, per-(s, n) seed means) for each s read at its own tuned η₀ over its own horizons."""
    steps, recursion = tuned_steps(size), recursion_risks(size)
    points, rows = [], []
    for source in SOURCES:
        for n, eta in zip(source_horizons(size, source), steps[source], strict=True):
            sub = finals[
                (finals.horizon == n) & np.isclose(finals.source, source) & np.isclose(finals.learning_rate, eta)
            ]
            values = sub.loc[sub.status == OK, "final"].to_numpy(float)
            count = int(np.isfinite(values).sum())
            mean = float(np.nanmean(values)) if count else float("nan")
            stderr = float(np.nanstd(values, ddof=1) / np.sqrt(count)) if count > 1 else float("nan")
            points.append(
                {
                    "source": source,
                    "horizon": n,
                    "learning_rate": eta,
                    "mean": mean,
                    "stderr": stderr,
                    "seeds": count,
                    "diverged": int((sub.status != OK).sum()),
                }
            )
    points = pd.DataFrame(points)
    points["recursion"] = np.concatenate([recursion[s] for s in SOURCES])
    for source, sub in points.groupby("source"):
        n = sub.horizon.to_numpy()
        fitted, se = fit_exponent(n, sub["mean"].to_numpy(), sub["stderr"].to_numpy())
        sgd = theory.sgd_exponent(source, KERNEL_DECAY)
        krr = theory.krr_exponent(source, KERNEL_DECAY)
        recursion_exponent = fit_exponent(n, sub["recursion"].to_numpy(), np.zeros(len(n)))[0]
        rows.append(
            {
                "source": source,
                "target decay a": target_decay(source),
                "fitted exponent": fitted,
                "exponent s.e.": se,
                "predicted exponent": krr if prediction == "krr" else sgd,
                "sgd exponent": sgd,
                "krr exponent": krr,
                "recursion exponent": recursion_exponent,
                "recursion bias": recursion_exponent - sgd,
                "diverged runs": int(sub.diverged.sum()),
            }
        )
    return pd.DataFrame(rows), points


@register_study("kernel-sgd-curves")
class KernelSGDCurves(Study):
    claim = (
        "One-pass SGD with exponentially decaying steps in kernel regression reaches the minimax rate "
        "n^-sβ/(sβ+1) for every source exponent s, without the saturation at s = 2 of kernel ridge regression"
    )
    reference = (
        "Zhang, Lin, Liu, Fang. Learning Curves of Stochastic Gradient Descent in Kernel Regression (2505.22048)"
    )
    checks: ClassVar[tuple[Check, ...]] = CHECKS
    declared_options: ClassVar[dict[str, Param]] = {
        "prediction": Param(
            "str",
            "sgd",
            "the exponents the fits are judged against: sgd (the claim) or krr (saturated at s = 2)",
            choices=("sgd", "krr"),
        ),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "constant-step",
            "The step is not decayed (decay_rate = 1): the last iterate keeps the noise floor ∝ η₀ of a constant "
            "step, so the excess risk falls only as fast as the tuned η₀(n), not at the minimax rate.",
            mechanism=True,
            overrides=("schedule.decay_rate=1.0",),
        ),
        Control(
            "krr-exponent",
            "The fits are judged against kernel ridge regression's exponents, which saturate at s = 2: 0.8 "
            "instead of 0.923 at s = 6, where one-pass SGD keeps improving.",
            mechanism=False,
            options=(("prediction", "krr"),),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        steps = tuned_steps(size)
        out = []
        groups = ((tuple(x for x in SOURCES if x != SATURATED), size["seeds"]), ((SATURATED,), size["seeds_saturated"]))
        for sources, seeds in groups:
            for n in sorted({n for x in sources for n in source_horizons(size, x)}):
                etas = sorted({float(steps[x][source_horizons(size, x).index(n)]) for x in sources})
                tag = "-".join(f"{x:g}" for x in sources)
                out.append(
                    spec_from_dict(
                        {
                            "name": f"kernel-sgd-curves-s{tag}-n{n}" + ("-quick" if options.quick else ""),
                            "description": self.claim,
                            "problem": {
                                "name": "kernel_regression",
                                "n_train": 0,
                                "n_modes": size["n_modes"],
                                "kernel_decay": KERNEL_DECAY,
                                "target_decay": {"grid": [target_decay(x) for x in sources]},
                                "noise": NOISE,
                            },
                            "optimizer": {"name": "sgd", "learning_rate": {"grid": etas}},
                            "schedule": {"name": "exponential", "decay_rate": DECAY_RATE},
                            "run": {"steps": n, "batch_size": 1, "seeds": seeds, "checkpoints": [n]},
                            "probes": ["metrics"],
                        }
                    )
                )
        return out

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        size = options.pick(SIZES)
        table, points = exponent_table(final_table(results), size, options["prediction"])
        verdicts = [
            rate_verdict(table, self.checks[0], self.checks[1]),
            precision_verdict(table, self.checks[1]),
            separation_verdict(table, self.checks[2]),
        ]
        figures = [self._curves(points, table, folder)]
        return Analysis(verdicts, figures, table)

    @staticmethod
    def _curves(points: pd.DataFrame, table: pd.DataFrame, folder: Path) -> tuple[str, str]:
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(6.0, 4.4))
            for i, (source, sub) in enumerate(points.groupby("source")):
                row = table[table.source == source].iloc[0]
                n = sub.horizon.to_numpy(float)
                ax.errorbar(
                    n,
                    sub["mean"],
                    yerr=2 * sub["stderr"],
                    fmt="o",
                    color=f"C{i}",
                    ms=4,
                    label=f"s = {source:g}: fitted {row['fitted exponent']:.3f}",
                )
                anchor = sub["mean"].to_numpy()[0]
                ax.plot(
                    n,
                    anchor * (n / n[0]) ** (-row["sgd exponent"]),
                    **{**F.THEORY_STYLE, "color": f"C{i}"},
                    label=f"n^-{row['sgd exponent']:.3f} (SGD, predicted)",
                )
                ax.plot(n, sub["recursion"], ":", color=f"C{i}", lw=1.2)
                if row["krr exponent"] < row["sgd exponent"] - 1e-9:
                    ax.plot(
                        n,
                        anchor * (n / n[0]) ** (-row["krr exponent"]),
                        "-.",
                        color="grey",
                        lw=1.2,
                        label=f"n^-{row['krr exponent']:.3f} (KRR, saturated)",
                    )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("samples n (one pass)")
            ax.set_ylabel("excess risk of the last iterate")
            ax.set_title("one-pass SGD, exponentially decaying step, kernel regression (β = 2)")
            ax.legend(fontsize=7)
            path = F.save(fig, folder, "learning_curves")["png"]
            plt.close(fig)
        return (
            "Excess risk of the last iterate against n for each source exponent s: seed means ± 2 s.e., predicted "
            "slope dashed (anchored at the first point), Gaussian-equivalent recursion dotted, KRR's saturated slope "
            "dash-dotted",
            path,
        )
