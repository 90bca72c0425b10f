r"""logistic-gmm — one-pass SGD on binary logistic regression with anisotropic Gaussian-mixture classes.

Claim (Collins-Woodfin & Seroussi, *Exact Dynamics of Multi-class Stochastic Gradient Descent*, 2510.14074): for
one-pass SGD on :math:`\log(1+e^{-y\,x^\top\theta})` with :math:`x = y\mu + K^{1/2}z`, the risk and the overlap of θ
with the class mean follow a deterministic ODE in the high-dimensional limit, and there is a structural phase
transition: for covariances with a power-law spectrum of a large enough exponent α, SGD aligns more with the part
of μ in the clean (low-variance) directions than with the part in the noisy ones.

Setting. ``logistic_mixture`` with k = 2, :math:`K=\operatorname{diag}(\lambda)`, :math:`\lambda_i\propto i^{-\alpha}`
(tr K = 1), d directions split into the noisy half N (the ⌈d/2⌉ largest variances) and the clean half C. The
class mean is tilted towards the noisy half, :math:`\mu_i\propto u_i\,i^{-\beta/2}` (u a random unit vector,
β = :data:`MEAN_DECAY`; the paper's :math:`\mu_\rho\propto(\rho d)^{\beta}` profile), with
:math:`\lVert\mu\rVert^2 = s^2/d` (s = :data:`SIGNAL`: learning takes O(d) steps), η = 1, batch 1, θ₀ = 0,
T = 8d steps. The overlap :math:`a=\mu^\top\theta` splits as :math:`a = a_C + a_N`,
:math:`a_P=\sum_{i\in P}\mu_i\theta_i` (metrics ``overlap_clean``, ``overlap_noisy``).

Theory (:mod:`descentlab.theory.logistic_gmm`). Given θ, the margin is :math:`\mathcal N(a, \theta^\top K\theta)`;
the mean of each coordinate follows :math:`\bar\theta_i' = \bar\theta_i + \eta(A\mu_i-B\lambda_i\bar\theta_i)` with
:math:`A=E\,\sigma(-m)`, :math:`B=E\,\sigma(-m)\sigma(m)`, so :math:`\bar\theta_i \approx \frac{A\mu_i}{B\lambda_i}
(1-e^{-B\lambda_i\tau})`: a noisy direction saturates at :math:`\mu_i/\lambda_i`, a clean one keeps growing
:math:`\propto\mu_i\tau`. The clean share of the overlap

.. math:: \varphi(\alpha) = a_C / a

therefore grows with α; at α = 0 it is :math:`\lVert\mu_C\rVert^2/\lVert\mu\rVert^2 < 1/2` (μ leans to N). The
transition :math:`\alpha^*` is where :math:`\varphi(\alpha^*) = 1/2`: the clean part of μ overtakes. It is located
on the grid of α (linear interpolation between the two grid points that bracket ½) from the ODE (:math:`\alpha^*_{\rm
ODE}`) and from the seed-mean final overlaps of the simulation (:math:`\alpha^*_{\rm sim}`).

Verdicts (measured on a 2-core machine shared with other jobs; seeds share their data stream across the α grid,
so a seed's error moves φ alike at every α: the per-seed φ has std 0.0087 at d = 500, and the spread of α*_sim is
a bootstrap over seeds drawn jointly for every α):

1. (headline) ``transition``: :math:`|\alpha^*_{\rm sim}-\alpha^*_{\rm ODE}|` ≤ 0.06 (∞ when either has no
   crossing in the grid), under half the 0.125 grid spacing. Measured: quick (d = 500, T = 4000, 16 seeds)
   α*_ODE = 0.389, α*_sim = 0.391, figure 0.0012, bootstrap std of α*_sim 0.022; default (d = 2000, T = 16 000,
   24 seeds) α*_ODE = 0.241, α*_sim = 0.242, figure 0.0012, std 0.004. With 8 seeds at d = 500 the figure was
   0.058 (α*_sim = 0.447: those seeds' shared error, −0.008 in φ, over the slope dφ/dα ≈ 0.17); 32 seeds: 0.001.
   α* moves with d and T/d (the spectrum and the time are finite); each size compares ODE and simulation at its own.
2. ``risk``: max over α and checkpoints t ≥ d of |seed-mean population loss / ODE risk − 1| ≤ 0.03. Measured 0.0061
   (quick), 0.0097 (quick size, 8 seeds), 0.0033 (default).
3. ``overlaps``: max over α, checkpoints t ≥ d and the three overlaps (a, a_C, a_N) of |seed mean − ODE| divided
   by the ODE's final total overlap a(T) at that α, ≤ 0.03. Measured 0.0060 (quick), 0.0100 (8 seeds), 0.0015
   (default).

Controls (each fails the headline at --quick; measured):

* ``isotropic`` (mechanism): K = I/d — no clean directions, φ = 0.434 at every α in the simulation (0.433 ODE), no
  transition in either: figure ∞ (risk 0.005 and overlaps 0.006 still pass: the ODE still holds).
* ``adagrad`` (mechanism): per-coordinate AdaGrad (η = 1) runs instead of SGD; its diagonal preconditioning boosts
  the low-variance coordinates, so φ rises faster (0.58 at α = 0.75 against the SGD ODE's 0.53): α*_sim = 0.275
  against α*_ODE = 0.389, figure 0.115 (risk 0.20 and overlaps 0.34 fail too).
* ``shifted-exponent`` (prediction): the ODE is evaluated at α + 0.25 — α*_ODE = 0.139 against α*_sim = 0.391,
  figure 0.251.

Figures: the clean share φ(α) at T (the paper's headline, simulation seed mean with 10–90 % band and the ODE), the
overlaps a, a_C, a_N against step for each α with the ODE dashed, and the population loss against step with the
ODE risk dashed.

Scaled down from the paper: d = 500 / 2000 / 8000 (quick / default / paper) with T = 8d and 16 / 24 / 32 seeds;
the paper's covariances are not trace-normalised and its mean profile is deterministic (here: a random direction
tilted by i^(-β/2), so the ODE is given the exact μ the runs used). Runtime: quick ≈ 31 s and default ≈ 146 s wall
on the shared machine (15 s and 72 s of CPU).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from descentlab.engine.load import spec_from_dict
from descentlab.engine.spec import Spec
from descentlab.experiment import Result
from descentlab.params import Param
from descentlab.problems.logistic_mixture import LogisticMixture
from descentlab.report import figures as F
from descentlab.store.schema import ok_runs, section_values, seed_mean
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory import Verdict
from descentlab.theory.logistic_gmm import logistic_gmm_curves

ALPHAS = [0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75]
MEAN_DECAY = 0.2  # β: μ_i² ∝ i^-β, so ‖μ_C‖²/‖μ‖² ≈ 1 − 2^(β−1) ≈ 0.43 at α = 0
SIGNAL = 1.0  # s: ‖μ‖² = s²/d
TIME = 8  # T = TIME · d steps
SETTLED = 1  # the curve checks start at t = SETTLED · d
BOOTSTRAP = 200
FORMATS = ("png", "svg")  # not pdf: saving is most of the analysis time at --quick
OVERLAPS = ("overlap_mean", "overlap_clean", "overlap_noisy")

SIZES = {
    "quick": {"dim": 500, "seeds": 16},
    "default": {"dim": 2000, "seeds": 24},
    "paper": {"dim": 8000, "seeds": 32},
}

CHECK_TRANSITION = Check(
    "transition",
    "|α*_sim − α*_ODE|, where the clean share φ = a_C/a of the final overlap crosses ½ (∞ without a crossing)",
    "the α at which the ODE's clean share crosses ½ (descentlab.theory.logistic_gmm)",
    0.06,
    "under half the 0.125 grid spacing; bootstrap std of α*_sim over seeds 0.022 (quick, d = 500, 16 seeds) and "
    "0.004 (default, d = 2000, 24 seeds); measured |α*_sim − α*_ODE| 0.0012 at both sizes (0.058 with 8 seeds)",
)
CHECK_RISK = Check(
    "risk",
    "max over α and checkpoints t ≥ d of |seed-mean population loss / ODE risk − 1|",
    "the ODE's population risk E log(1 + e^{−m}), m ~ N(a, θᵀKθ)",
    0.03,
    "measured 0.0061 (quick, 16 seeds), 0.0097 (quick size, 8 seeds) and 0.0033 (default, 24 seeds); 0.03 is 3× the "
    "8-seed value",
)
CHECK_OVERLAPS = Check(
    "overlaps",
    "max over α, checkpoints t ≥ d and the overlaps a, a_C, a_N of |seed mean − ODE| / ODE a(T)",
    "the ODE's mean overlaps μᵀθ̄ and its clean/noisy parts",
    0.03,
    "measured 0.0060 (quick, 16 seeds), 0.0100 (quick size, 8 seeds) and 0.0015 (default, 24 seeds); 0.03 is 3× the "
    "8-seed value",
)


def spectrum_and_mean(params: dict) -> tuple[np.ndarray, np.ndarray]:
    """(λ, μ) in float64 of the problem the runs used (from its stored values)."""
    keys = {"dim", "covariance", "alpha", "zero_fraction", "mean_norm", "noise", "means_seed", "mean_decay"}
    with jax.enable_x64(True):
        problem = LogisticMixture(**{k: v for k, v in params.items() if k in keys})
        lam = np.asarray(problem.class_spectra[0], dtype=np.float64) * float(problem.noise) ** 2
        mu = np.asarray(problem.means[0], dtype=np.float64)
    return lam, mu


def ode_curves(params: dict, learning_rate: float, steps: np.ndarray, shift: float = 0.0) -> dict[str, np.ndarray]:
    """The ODE's curves for one run's problem (its α moved by ``shift``: a wrong prediction, for the control)."""
    lam, mu = spectrum_and_mean({**params, "alpha": float(params["alpha"]) + shift})
    total = int(np.max(steps))
    return logistic_gmm_curves(lam, mu, np.full(total, learning_rate), steps)


def crossing(alphas: np.ndarray, share: np.ndarray, level: float = 0.5) -> float:
    """First α where ``share`` crosses ``level`` upwards (linear interpolation on the grid); NaN if it never does."""
    above = share >= level
    for i in range(1, len(alphas)):
        if above[i] and not above[i - 1]:
            x0, x1, y0, y1 = alphas[i - 1], alphas[i], share[i - 1], share[i]
            return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))
    return float("nan")


def transition_gap(alpha_sim: float, alpha_ode: float) -> float:
    """|α*_sim − α*_ODE|, infinite when either has no crossing."""
    return abs(alpha_sim - alpha_ode) if np.isfinite(alpha_sim) and np.isfinite(alpha_ode) else float("inf")


def bootstrap_spread(finals: pd.DataFrame, seed: int = 0) -> float:
    """Std of α*_sim over resamples of the seeds, drawn jointly for every α (seed s runs the same data stream at
    every α, so the seeds' errors are shared across the grid): ``finals`` has columns alpha, seed, clean, total."""
    clean = finals.pivot(index="seed", columns="alpha", values="clean")
    total = finals.pivot(index="seed", columns="alpha", values="total")
    alphas = clean.columns.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(clean), len(clean))
        share = clean.to_numpy()[pick].mean(0) / total.to_numpy()[pick].mean(0)
        values.append(crossing(alphas, share))
    values = np.asarray(values)
    return float(np.nanstd(values)) if np.isfinite(values).sum() > 1 else float("nan")


def curve_errors(measured: dict, predicted: dict, steps: np.ndarray, start: int) -> tuple[float, float]:
    """(max relative risk error, max overlap error / predicted final a) over the checkpoints ≥ ``start``."""
    keep = steps >= start
    risk = float(np.max(np.abs(measured["risk"][keep] / predicted["risk"][keep] - 1.0)))
    scale = abs(predicted["overlap_mean"][-1])
    overlap = max(float(np.max(np.abs(measured[m][keep] - predicted[m][keep]))) / scale for m in OVERLAPS)
    return risk, overlap


def judge(table: pd.DataFrame, spread: float) -> list[Verdict]:
    """The three verdicts from the per-α table (columns alpha, share sim, share ODE, risk err, overlap err)."""
    alphas = table["alpha"].to_numpy()
    alpha_sim = crossing(alphas, table["share sim"].to_numpy())
    alpha_ode = crossing(alphas, table["share ODE"].to_numpy())
    return [
        CHECK_TRANSITION.verdict(
            transition_gap(alpha_sim, alpha_ode),
            detail=f"α*_sim = {alpha_sim:.3f}, α*_ODE = {alpha_ode:.3f}, bootstrap std of α*_sim {spread:.3f}",
        ),
        CHECK_RISK.verdict(float(table["risk err"].max())),
        CHECK_OVERLAPS.verdict(float(table["overlap err"].max())),
    ]


@register_study("logistic-gmm")
class LogisticGMM(Study):
    claim = (
        "One-pass SGD on logistic regression with two Gaussian classes ±μ + N(0, K) follows the ODE in risk and "
        "overlaps, and for power-law K past a critical exponent aligns more with μ's clean (low-variance) part"
    )
    reference = (
        "Collins-Woodfin, Seroussi. Exact Dynamics of Multi-class Stochastic Gradient Descent (2510.14074); "
        "Collins-Woodfin, Paquette, Paquette, Seroussi. Hitting the High-Dimensional Notes (2308.08977)"
    )
    checks: ClassVar[tuple[Check, ...]] = (CHECK_TRANSITION, CHECK_RISK, CHECK_OVERLAPS)
    declared_options: ClassVar[dict[str, Param]] = {
        "exponent_shift": Param(
            "float", 0.0, "evaluate the ODE at α + this (0: the claim; anything else a wrong prediction)", low=-1.0
        ),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "isotropic",
            "With isotropic K every direction has the same variance: there are no clean directions, the clean share "
            "of the overlap does not depend on α and no transition exists.",
            mechanism=True,
            overrides=("problem.covariance=isotropic",),
        ),
        Control(
            "adagrad",
            "Per-coordinate AdaGrad runs instead of SGD: its diagonal preconditioning boosts the low-variance "
            "coordinates, so the clean part overtakes at a smaller exponent than the plain-SGD ODE predicts.",
            mechanism=True,
            overrides=("optimizer.name=adagrad",),
        ),
        Control(
            "shifted-exponent",
            "The ODE is evaluated at α + 0.25, a wrong prediction whose transition sits two grid cells too low.",
            mechanism=False,
            options=(("exponent_shift", 0.25),),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        dim = size["dim"]
        return [
            spec_from_dict(
                {
                    "name": "logistic-gmm" + ("-quick" if options.quick else ""),
                    "description": self.claim,
                    "problem": {
                        "name": "logistic_mixture",
                        "dim": dim,
                        "covariance": "power_law",
                        "alpha": {"grid": ALPHAS},
                        "mean_decay": MEAN_DECAY,
                        "mean_norm": SIGNAL / float(np.sqrt(dim)),
                    },
                    "optimizer": {"name": "sgd", "learning_rate": 1.0},
                    "run": {"steps": TIME * dim, "batch_size": 1, "seeds": size["seeds"], "checkpoints": 40},
                    "probes": ["metrics"],
                }
            )
        ]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        runs, curves = results[0].runs, results[0].curves
        shift = options["exponent_shift"]
        means = {m: seed_mean(runs, curves, m, by=["problem_alpha"]) for m in ("population_loss", *OVERLAPS)}
        rows, theory = [], []
        finals = []
        for alpha in sorted(runs["problem_alpha"].unique()):
            row = runs[runs.problem_alpha == alpha].iloc[0]
            params = section_values(row, "problem")
            pick = {m: frame[frame.problem_alpha == alpha] for m, frame in means.items()}
            steps = pick["population_loss"]["step"].to_numpy()
            predicted = ode_curves(params, float(row["optimizer_learning_rate"]), steps, shift)
            predicted = {**predicted, "overlap_mean": predicted["overlap"]}
            measured = {"risk": pick["population_loss"]["mean"].to_numpy()} | {
                m: pick[m]["mean"].to_numpy() for m in OVERLAPS
            }
            risk_err, overlap_err = curve_errors(measured, predicted, steps, SETTLED * int(params["dim"]))
            rows.append(
                {
                    "alpha": float(alpha),
                    "share sim": measured["overlap_clean"][-1] / measured["overlap_mean"][-1],
                    "share ODE": predicted["overlap_clean"][-1] / predicted["overlap_mean"][-1],
                    "final loss sim": measured["risk"][-1],
                    "final risk ODE": predicted["risk"][-1],
                    "risk err": risk_err,
                    "overlap err": overlap_err,
                }
            )
            for m in ("risk", *OVERLAPS):
                theory.append(pd.DataFrame({"problem_alpha": alpha, "metric": m, "step": steps, "value": predicted[m]}))
            finals.append(final_overlaps(runs[runs.problem_alpha == alpha], curves, float(alpha)))
        table = pd.DataFrame(rows)
        finals = pd.concat(finals, ignore_index=True)
        spread = bootstrap_spread(finals)
        verdicts = judge(table, spread)
        theory = pd.concat(theory, ignore_index=True)
        figures = [
            (
                "Clean share φ = a_C/a of the final overlap against the power-law exponent α: simulation (seed mean, "
                "10–90 % band over seeds) and ODE; the transition is where φ crosses ½",
                F.save(share_figure(table, finals, verdicts[0]), folder, "clean_share", FORMATS)["png"],
            )
        ]
        for m, label in (("overlap_clean", "Clean-half overlap a_C"),):
            fig = F.learning_curves(
                runs,
                curves,
                m,
                theory=theory[theory.metric == m].drop(columns="metric"),
                theory_label="ODE",
                title=label,
                logy=False,
            )
            figures.append(
                (
                    f"{label} against step per α: seed mean, 10–90 % band, ODE dashed",
                    F.save(fig, folder, m, FORMATS)["png"],
                )
            )
        fig = F.learning_curves(
            runs,
            curves,
            "population_loss",
            theory=theory[theory.metric == "risk"].drop(columns="metric"),
            theory_label=f"ODE (max rel. err {verdicts[1].figure:.3g})",
            title="population loss",
        )
        figures.append(
            (
                "Population loss against step per α: seed mean, band, ODE risk dashed",
                F.save(fig, folder, "risk", FORMATS)["png"],
            )
        )
        return Analysis(verdicts, figures, table)


def final_overlaps(runs: pd.DataFrame, curves: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per ok seed: the final clean-half overlap and total overlap (columns alpha, seed, clean, total)."""
    ok = ok_runs(runs)
    return pd.DataFrame(
        {
            "alpha": alpha,
            "seed": ok["seed"].to_numpy(),
            "clean": ok["final_overlap_clean"].to_numpy(dtype=float),
            "total": ok["final_overlap_mean"].to_numpy(dtype=float),
        }
    )


def share_figure(table: pd.DataFrame, finals: pd.DataFrame, headline: Verdict):
    """φ(α): the simulation's per-seed band and seed-mean ratio, the ODE, ½ and the two located transitions."""
    with plt.rc_context(F.STYLE):
        fig, ax = plt.subplots(figsize=(5.4, 3.9))
        per_seed = finals.assign(share=finals["clean"] / finals["total"]).groupby("alpha")["share"]
        lo, hi = per_seed.quantile(0.1), per_seed.quantile(0.9)
        ax.fill_between(lo.index, lo.to_numpy(), hi.to_numpy(), color="C0", alpha=0.2, linewidth=0)
        ax.plot(table["alpha"], table["share sim"], "o-", color="C0", label="simulation (seed mean)")
        ax.plot(table["alpha"], table["share ODE"], **F.THEORY_STYLE, label="ODE")
        ax.axhline(0.5, color="grey", linewidth=0.8)
        alphas = table["alpha"].to_numpy()
        for share, color, name in (("share sim", "C0", "sim"), ("share ODE", "black", "ODE")):
            star = crossing(alphas, table[share].to_numpy())
            if np.isfinite(star):
                ax.axvline(star, color=color, linestyle=":", linewidth=1.2, label=f"α* {name} = {star:.3f}")
        ax.set_xlabel("power-law exponent α")
        ax.set_ylabel("clean share of the overlap, a_C / a")
        outcome = "pass" if headline.passed else "fail"
        ax.set_title(f"transition: |α*_sim − α*_ODE| = {headline.figure:.3g} ({outcome})", fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig
