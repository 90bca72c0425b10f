r"""small-gain-nash — the Small-Gain Nash certificate: certified contraction of simultaneous gradient play in a
block-weighted metric, on games that are not monotone in the Euclidean metric.

Claim (Sharma, *Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable Games*,
2512.06791). From per-player curvature bounds :math:`\mu_i \le \lambda_{\min}(\mathrm{sym}\,J_{ii})` and
cross-player coupling bounds :math:`L_{ij} \ge \lVert J_{ij}\rVert_2`, the SGN matrix
:math:`C(w)_{ii} = 2w_i\mu_i`, :math:`C(w)_{ij} = -(w_iL_{ij}+w_jL_{ji})` gives the margin
:math:`\alpha_*(w) = \tfrac12\lambda_{\min}(D^{-1/2}C(w)D^{-1/2})`; when it is positive the pseudo-gradient is
:math:`\alpha_*`-strongly monotone in :math:`\lVert z\rVert_W^2 = \sum_i w_i\lVert z_i\rVert^2` — even where
:math:`\lambda_{\min}(\mathrm{sym}\,J) < 0` (Rosen's Euclidean test fails) — and simultaneous gradient play with
one step η contracts the weighted distance to the Nash point by at least
:math:`\rho(\eta) = \sqrt{1-2\eta\alpha_* + \eta^2\beta^2}` per step (β: the Lipschitz constant of F in
:math:`\lVert\cdot\rVert_W`) for every :math:`\eta < 2\alpha_*/\beta^2`. For two players the certificate holds
on a finite band of weight ratios :math:`r = w_2/w_1 \in (r_-, r_+)` (the "timescale band"), non-empty iff
:math:`L_{12}L_{21} < \mu_1\mu_2`. :mod:`descentlab.theory.small_gain` has the formulas (the paper's
``sgn_margin``, ``two_player_band`` and Euler bound 2α/β²); the weight ratio of each cell is chosen by a 1-D
search minimizing ρ(η) over the band, as the paper optimizes the block weights.

Runs (one vmapped grid, float64, full batch, 60 linearly spaced checkpoints): the general-sum quadratic game
``general_sum_quadratic_game`` (:math:`f_1 = \tfrac{\mu_x}2\lVert x\rVert^2 + a\,x^\top Ay`,
:math:`f_2 = \tfrac{\mu_y}2\lVert y\rVert^2 + b\,y^\top A^\top x`, μₓ = 1, μᵧ = 0.5, b = 0.25, A with κ = 2 and
‖A‖ = 1, so μ = (1, 0.5), L₁₂ = a, L₂₁ = 0.25) with the coupling a set so that the small-gain fraction
:math:`q = L_{12}L_{21}/(\mu_1\mu_2)` runs over (0.25, 0.5, 0.7, 0.85) (a = 0.5 … 1.7; Euclidean monotonicity
fails for a > 1.16: λ_min(sym H) = −0.112 and −0.257 at q = 0.7, 0.85), crossed with the step
η ∈ (0.01, 0.02, 0.04, 0.08, 0.16, 0.32) of simultaneous gradient play (``simultaneous_gda``, one step for
both players). Quick: d = 4, 4 seeds, 2 000 steps; default: d = 8, 8 seeds, 4 000 steps and q also 0.95;
paper: d = 20, 16 seeds, 10 000 steps (the certificate depends on d only through ‖A‖ = 1; the paper's own
dimensions could not be read, only its formulas). The measured rate of a seed is −(slope) of the least-squares
line through log ‖z_t‖_W over the second half of the run (W at the cell's certified ratio; the optimized ratio
comes out at the balanced L₁₂/L₂₁ here); a diverged run counts as −∞.

Verdicts:

1. ``certified-rate`` (headline): over the certified cells (α_* > 0 and ρ(η) < 1: 18 of 24 at --quick, 19 of 30
   at default), the smallest ratio measured rate / certified rate −log ρ(η) over cells and seeds; passes when
   ≥ 0.999 with at least one cell certified. The bound holds at every step and the least-squares slope is a
   positive average of pairwise slopes, so the ratio is ≥ 1 up to rounding. Measured 1.078 at --quick
   (q = 0.25, η = 0.02) and 1.027 at default (q = 0.25, η = 0.01, where the certificate is nearly tight: the
   spectral rate is 0.00317 against 0.00311 certified); the conservative cells reach 3.5–5.3 (η near the
   certified step bound).
2. ``non-monotone-certified-converges``: over the certified cells whose game is *not* Euclidean monotone
   (λ_min(sym H) < 0; 7 at --quick, 8 at default), the smallest measured rate (seeds and cells); passes when
   > 0 with at least one such cell. Measured 7.8e-4 per step at --quick (q = 0.85, η = 0.01; certified 4.1e-4)
   and 1.7e-4 at default (q = 0.95).
3. ``certified-step-bound``: cells with η below the certified step bound max_r 2α_*(r)/β(r)² where some seed's
   measured rate is not positive: 0 allowed, with at least one such cell. Measured 0 of 18 at --quick and 0 of
   19 at default. The certificate is conservative: the 6 (11 at default) cells above their bound converge too
   (certified bounds 0.049–0.45 against Euler stability limits 1.38–1.69).

Controls: ``beyond-small-gain`` (regime) multiplies every coupling a by 4.5, so L₁₂L₂₁ > μ₁μ₂ in every game
(q = 1.1–3.8): the band is empty, nothing is certified (headline figure NaN) and simultaneous play diverges
(H has an eigenvalue with negative real part); ``two-timescale`` (mechanism) runs two-timescale GDA with x
stepping η/20 (y steps η) where the certificate is for one step size: player 1 barely moves, and the weighted
distance contracts far slower than the certified rate (headline figure 0.12 at --quick: 3.9e-4 measured
against 3.1e-3 certified at q = 0.25, η = 0.01).

Figures: the paper's timescale band (α_*(r) against the weight ratio r for each coupling, with the band
(r₋, r₊) and the balanced ratio L₁₂/L₂₁); weighted distance curves of simultaneous play with the certified
envelopes ‖z₀‖_W ρ(η)^t and the Euclidean distance; measured against certified rates (every cell, certified or
not, Euclidean-monotone or not); measured rate against η per coupling with the certified step bounds.
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
from descentlab.store.schema import DIVERGED, column, section_values
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory.small_gain import (
    certified_step_bound,
    certify,
    game_jacobian,
    sgn_margin,
    timescale_band,
)
from descentlab.theory.verdict import Verdict

MU_X, MU_Y, COUPLING_Y = 1.0, 0.5, 0.25
STEPS_GRID = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32)
FORMATS = ("png",)
SIZES = {
    "quick": {"dim": 4, "seeds": 4, "steps": 2000, "fractions": (0.25, 0.5, 0.7, 0.85)},
    "default": {"dim": 8, "seeds": 8, "steps": 4000, "fractions": (0.25, 0.5, 0.7, 0.85, 0.95)},
    "paper": {"dim": 20, "seeds": 16, "steps": 10000, "fractions": (0.25, 0.5, 0.7, 0.85, 0.95)},
}
A_COL, ETA_COL = column("problem.coupling_x"), column("optimizer.learning_rate")

CHECK_RATE = Check(
    "certified-rate",
    "smallest ratio measured rate / certified rate −log ρ(η) over the certified cells and their seeds (measured: "
    "−slope of least squares on log ‖z_t‖_W, W at the cell's optimized ratio)",
    "the SGN certificate ρ(η) = √(1 − 2ηα_* + η²β²) (small_gain.certify): certified ≤ measured, ratio ≥ tolerance",
    0.999,
    "The bound holds at every step and the least-squares slope is a positive average of pairwise slopes, so the "
    "ratio is ≥ 1 up to float64 rounding: measured minimum 1.078 at --quick (4 seeds, 18 cells) and 1.027 at "
    "default (8 seeds, 19 cells; q = 0.25, η = 0.01, where the certificate is nearly tight); the 0.001 margin only "
    "absorbs rounding. The two-timescale control measures 0.12.",
)
CHECK_NONMONOTONE = Check(
    "non-monotone-certified-converges",
    "smallest measured rate (per step, seeds and cells) over the certified cells whose game is not Euclidean "
    "monotone (λ_min(sym H) < 0)",
    "SGN certifies convergence where Rosen's Euclidean monotonicity fails: the rate is positive",
    0.0,
    "Positive is required (figure > 0) with at least one such cell; measured 7.8e-4 per step at --quick "
    "(q = 0.85, η = 0.01, certified 4.1e-4) and 1.7e-4 at default (q = 0.95), far above the fit's rounding.",
)
CHECK_STEP = Check(
    "certified-step-bound",
    "cells with η below the certified step bound max_r 2α_*(r)/β(r)² where some seed's measured rate is not positive",
    "every step below the certified bound converges",
    0.0,
    "None allowed, with at least one such cell: 18 of 24 cells at --quick (19 of 30 at default) lie below their "
    "bound, all converge (the certified bounds 0.049–0.45 are far below the Euler stability limits 1.38–1.69).",
)


SMALLEST = 1e-250  # distances below are left out of the fit (float64 subnormals lose precision near 1e-308)


def measured_rate(steps: np.ndarray, distance: np.ndarray) -> float:
    """−slope of the least-squares line through log distance over the second half of the run (the checkpoints at
    or after half the last step), finite values above :data:`SMALLEST` (NaN with fewer than 3)."""
    steps = np.asarray(steps, np.float64)
    distance = np.asarray(distance, np.float64)
    keep = (steps >= steps.max() / 2) & np.isfinite(distance) & (distance > SMALLEST)
    if keep.sum() < 3:
        return float("nan")
    slope = np.polyfit(steps[keep], np.log(distance[keep]), 1)[0]
    return float(-slope)


def rate_ratio_figure(measured: np.ndarray, certified: np.ndarray, is_certified: np.ndarray) -> float:
    """min measured/certified over the certified entries (NaN when none is certified; −inf for a diverged run)."""
    measured = np.asarray(measured, np.float64)
    certified = np.asarray(certified, np.float64)
    mask = np.asarray(is_certified, bool)
    if not mask.any():
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = measured[mask] / certified[mask]
    ratio = np.where(np.isnan(ratio), -np.inf, ratio)
    return float(np.min(ratio))


def worst_rate(measured: np.ndarray, mask: np.ndarray) -> float:
    """min measured rate over ``mask`` (NaN when the mask is empty; a NaN rate counts as −∞)."""
    values = np.asarray(measured, np.float64)[np.asarray(mask, bool)]
    if values.size == 0:
        return float("nan")
    return float(np.min(np.where(np.isnan(values), -np.inf, values)))


def step_bound_failures(below_bound: np.ndarray, measured: np.ndarray) -> int:
    """Entries below the certified step bound whose measured rate is not positive (NaN counts as a failure)."""
    below = np.asarray(below_bound, bool)
    rate = np.asarray(measured, np.float64)
    return int(np.sum(below & ~(rate > 0)))


def _log_scales(ax, xs, ys, empty: str, x: bool = True) -> None:
    """Log axes when there is positive finite data to show, else a note saying why the panel is empty."""
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    if xs.size and ys.size and np.any(np.isfinite(ys) & (ys > 0)):
        if x:
            ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center")


def judge_rate(measured: np.ndarray, certified_rate: np.ndarray, is_certified: np.ndarray, detail: str = "") -> Verdict:
    """The headline: min measured/certified over the certified entries ≥ the tolerance (fails with none)."""
    figure = rate_ratio_figure(measured, certified_rate, is_certified)
    passed = bool(np.isfinite(figure) and figure >= CHECK_RATE.tolerance)
    return CHECK_RATE.verdict(figure, passed=passed, detail=detail)


def judge_nonmonotone(measured: np.ndarray, mask: np.ndarray, detail: str = "") -> Verdict:
    """Every certified, Euclidean-non-monotone entry converges: min rate > 0 (fails with no such entry)."""
    figure = worst_rate(measured, mask)
    return CHECK_NONMONOTONE.verdict(
        figure, passed=bool(np.isfinite(figure) and figure > CHECK_NONMONOTONE.tolerance), detail=detail
    )


def judge_steps(below_bound: np.ndarray, measured: np.ndarray, detail: str = "") -> Verdict:
    """Entries below the certified step bound all converge (fails with no such entry)."""
    failures = step_bound_failures(below_bound, measured)
    passed = bool(np.any(below_bound) and failures <= CHECK_STEP.tolerance)
    return CHECK_STEP.verdict(float(failures), passed=passed, detail=detail)


def coupling_for(fraction: float) -> float:
    """a with L₁₂L₂₁ = fraction · μ₁μ₂ (L₁₂ = a, L₂₁ = b)."""
    return fraction * MU_X * MU_Y / COUPLING_Y


@register_study("small-gain-nash")
class SmallGainNash(Study):
    claim = (
        "Where the Small-Gain Nash matrix is positive definite, simultaneous gradient play with one step η below "
        "2α_*/β² contracts the block-weighted distance to the Nash point at least at the certified rate "
        "−log√(1 − 2ηα_* + η²β²) per step — also on games whose pseudo-gradient is not Euclidean monotone"
    )
    reference = "Sharma. Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable Games (2512.06791)"
    checks: ClassVar[tuple[Check, ...]] = (CHECK_RATE, CHECK_NONMONOTONE, CHECK_STEP)
    declared_options: ClassVar[dict[str, Param]] = {
        "coupling_scale": Param(
            "float", 1.0, "multiplies every coupling a of player 1 (4.5: beyond the small-gain limit)", low=0.0
        ),
        "timescale_ratio": Param(
            "float",
            1.0,
            "τ: 1 runs simultaneous gradient play (one step); otherwise two-timescale GDA, x steps η/τ",
            low=0.0,
            low_open=True,
        ),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "beyond-small-gain",
            "Every coupling a is 4.5× larger, so L₁₂L₂₁ > μ₁μ₂ in every game (q = 1.1–3.8): the timescale band is "
            "empty, no block metric certifies anything, and simultaneous play diverges.",
            mechanism=False,
            options=(("coupling_scale", 4.5),),
        ),
        Control(
            "two-timescale",
            "Two-timescale GDA runs (x steps η/20, y steps η) where the certificate is for one step size η: "
            "player 1 barely moves and the weighted distance contracts far slower than the certified rate.",
            mechanism=True,
            options=(("timescale_ratio", 20.0),),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        couplings = [float(coupling_for(q) * options["coupling_scale"]) for q in size["fractions"]]
        tau = options["timescale_ratio"]
        optimizer: dict = {"name": "simultaneous_gda", "learning_rate": {"grid": list(STEPS_GRID)}}
        if tau != 1.0:
            optimizer = {**optimizer, "name": "two_timescale_gda", "ratio": tau}
        spec = {
            "name": "small-gain-nash" + ("-quick" if options.quick else ""),
            "description": self.claim,
            "problem": {
                "name": "general_sum_quadratic_game",
                "dim": size["dim"],
                "mu_x": MU_X,
                "mu_y": MU_Y,
                "coupling_x": {"grid": couplings},
                "coupling_y": COUPLING_Y,
                "condition_number": 2.0,
            },
            "optimizer": optimizer,
            "run": {
                "steps": size["steps"],
                "seeds": size["seeds"],
                "checkpoints": 60,
                "spacing": "linear",
                "dtype": "float64",
                "divergence_factor": 1e30,
            },
            "probes": ["metrics"],
        }
        return [spec_from_dict(spec)]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        result = results[0]
        cells, seeds = self.cell_table(result)
        certified = seeds["certified"].to_numpy()
        measured = seeds["measured"].to_numpy()
        headline = judge_rate(
            measured,
            seeds["certified rate"].to_numpy(),
            certified,
            f"{int(cells['certified'].sum())} of {len(cells)} cells certified; " + self._worst(seeds, certified),
        )
        nonmono = certified & (seeds["euclidean margin"].to_numpy() < 0)
        n_nonmono = int((cells["certified"] & (cells["euclidean margin"] < 0)).sum())
        nonmono_verdict = judge_nonmonotone(measured, nonmono, f"{n_nonmono} certified cells with λ_min(sym H) < 0")
        below = seeds["η"].to_numpy() < seeds["step bound"].to_numpy()
        n_below = int((cells["η"] < cells["step bound"]).sum())
        above_converged = int(((cells["η"] >= cells["step bound"]) & (cells["min measured"] > 0)).sum())
        step_verdict = judge_steps(
            below, measured, f"{n_below} cells below their bound; {above_converged} cells above it converge anyway"
        )
        figures = [
            self._band_figure(cells, folder),
            self._curves_figure(result, cells, folder),
            self._rates_figure(cells, folder),
            self._steps_figure(cells, folder),
        ]
        return Analysis([headline, nonmono_verdict, step_verdict], figures, cells)

    @staticmethod
    def _worst(seeds: pd.DataFrame, certified: np.ndarray) -> str:
        if not certified.any():
            return "no certified cell"
        sub = seeds[certified]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (sub["measured"] / sub["certified rate"]).fillna(-np.inf)
        row = sub.iloc[int(np.argmin(ratio.to_numpy()))]
        return (
            f"worst a = {row['a']:.3g}, η = {row['η']:.3g}: measured {row['measured']:.4g} vs certified "
            f"{row['certified rate']:.4g} per step"
        )

    @staticmethod
    def cell_table(result: Result) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(cells, seeds): the certificate of every (a, η) cell and the measured rate of every seed."""
        runs, curves = result.runs, result.curves
        wide = curves[curves["metric"].isin(["distance_x", "distance_y", "distance_to_equilibrium"])].pivot_table(
            index=["run", "step"], columns="metric", values="value"
        )
        cert_cache: dict[tuple, dict] = {}
        seed_rows = []
        for _, row in runs.iterrows():
            problem = section_values(row, "problem")
            eta = float(row[ETA_COL])
            key = (float(row[A_COL]), eta)
            if key not in cert_cache:
                jac = game_jacobian(**problem)
                d = int(problem["dim"])
                cert = certify(jac, (d, d), eta)
                cert_cache[key] = {
                    "a": key[0],
                    "η": eta,
                    "q": key[0] * COUPLING_Y / (MU_X * MU_Y),
                    "ratio r": cert.ratio,
                    "margin α_*": cert.margin,
                    "lipschitz β": cert.lipschitz,
                    "euclidean margin": cert.euclidean,
                    "certified factor ρ": cert.factor,
                    "certified rate": cert.rate,
                    "step bound": certified_step_bound(jac, (d, d)),
                    "band r-": cert.band[0],
                    "band r+": cert.band[1],
                    "certified": cert.certified,
                }
            cell = cert_cache[key]
            rate = -np.inf
            if row["status"] != DIVERGED and int(row["run"]) in wide.index.get_level_values(0):
                own = wide.loc[int(row["run"])]
                weighted = np.sqrt(own["distance_x"] ** 2 + cell["ratio r"] * own["distance_y"] ** 2)
                rate = measured_rate(own.index.to_numpy(), weighted.to_numpy())
            seed_rows.append({**cell, "run": int(row["run"]), "measured": rate})
        seeds = pd.DataFrame(seed_rows)
        agg = seeds.groupby(["a", "η"])["measured"].agg(["min", "mean"]).reset_index()
        agg.columns = ["a", "η", "min measured", "mean measured"]
        cells = pd.DataFrame(list(cert_cache.values())).merge(agg, on=["a", "η"]).sort_values(["a", "η"])
        return cells.reset_index(drop=True), seeds

    @staticmethod
    def _band_figure(cells: pd.DataFrame, folder: Path) -> tuple[str, str]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        grid = np.geomspace(0.05, 200, 400)
        for i, a in enumerate(sorted(cells["a"].unique())):
            mu, lip = np.array([MU_X, MU_Y]), np.array([[0.0, a], [COUPLING_Y, 0.0]])
            margins = [sgn_margin(mu, lip, np.array([1.0, r])) for r in grid]
            q = a * COUPLING_Y / (MU_X * MU_Y)
            ax.plot(grid, margins, color=f"C{i}", label=f"a = {a:.3g} (q = {q:.2f})")
            lo, hi = timescale_band(MU_X, MU_Y, a, COUPLING_Y)
            if np.isfinite(lo):
                ax.axvspan(lo, hi, color=f"C{i}", alpha=0.08)
            ax.axvline(a / COUPLING_Y, color=f"C{i}", ls=":", lw=0.8)
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_ylim(-0.6, 0.6)
        ax.set_xlabel("weight ratio r = w₂/w₁")
        ax.set_ylabel("SGN margin α_*(1, r)")
        ax.set_title("Certified timescale band: α_* > 0 on (r₋, r₊) (shaded); dotted: balanced r = L₁₂/L₂₁")
        ax.legend(fontsize=8)
        return (
            "The timescale band: SGN margin against the weight ratio r for each coupling (shaded: the band "
            "where the certificate holds)",
            F.save(fig, folder, "timescale_band", FORMATS)["png"],
        )

    @staticmethod
    def _curves_figure(result: Result, cells: pd.DataFrame, folder: Path) -> tuple[str, str]:
        runs, curves = result.runs, result.curves
        eta = 0.04
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        for i, a in enumerate(sorted(cells["a"].unique())):
            cell = cells[(cells["a"] == a) & np.isclose(cells["η"], eta)]
            if cell.empty:
                continue
            cell = cell.iloc[0]
            members = runs[np.isclose(runs[A_COL], a) & np.isclose(runs[ETA_COL], eta) & (runs["status"] != DIVERGED)]
            if members.empty:
                continue
            run = int(members["run"].iloc[0])
            own = curves[curves["run"] == run].pivot_table(index="step", columns="metric", values="value")
            steps = own.index.to_numpy().astype(float)
            weighted = np.sqrt(own["distance_x"] ** 2 + cell["ratio r"] * own["distance_y"] ** 2).to_numpy()
            label = f"a = {a:.3g}: ‖z‖_W (λ_min sym H = {cell['euclidean margin']:.2f})"
            ax.plot(steps, weighted, color=f"C{i}", label=label)
            ax.plot(steps, own["distance_to_equilibrium"].to_numpy(), color=f"C{i}", ls=":", lw=1)
            if cell["certified"]:
                ax.plot(steps, weighted[0] * cell["certified factor ρ"] ** steps, color=f"C{i}", ls="--", lw=1)
        _log_scales(ax, [1.0], [1.0] if ax.lines else [], "every run diverged", x=False)
        ax.set_xlabel("step")
        ax.set_ylabel("distance to the Nash point (one seed)")
        ax.set_title(f"Simultaneous play, η = {eta}: ‖z‖_W (solid), Euclidean (dotted), certified ‖z₀‖_W ρ^t (dashed)")
        ax.legend(fontsize=7)
        return (
            f"Weighted and Euclidean distance to Nash at η = {eta} with the certified envelopes ‖z₀‖_W ρ(η)^t",
            F.save(fig, folder, "certified_envelopes", FORMATS)["png"],
        )

    @staticmethod
    def _rates_figure(cells: pd.DataFrame, folder: Path) -> tuple[str, str]:
        fig, ax = plt.subplots(figsize=(6.5, 5))
        cert = cells[cells["certified"]]
        for label, sub, marker in [
            ("certified, Euclidean monotone", cert[cert["euclidean margin"] >= 0], "o"),
            ("certified, not Euclidean monotone", cert[cert["euclidean margin"] < 0], "s"),
        ]:
            ax.plot(sub["certified rate"], sub["min measured"], marker, ls="none", label=label)
        finite = cert["certified rate"][cert["certified rate"] > 0]
        if not finite.empty:
            line = np.geomspace(finite.min() / 2, finite.max() * 2, 10)
            ax.plot(line, line, "k-", lw=0.8, label="measured = certified")
        _log_scales(ax, cert["certified rate"], cert["min measured"], "no certified cell")
        ax.set_xlabel("certified rate −log ρ(η) per step")
        ax.set_ylabel("measured rate (slowest seed)")
        ax.set_title("Measured contraction vs the SGN certificate (certified cells)")
        ax.legend(fontsize=8)
        return (
            "Measured against certified contraction rates in the weighted metric (every certified cell)",
            F.save(fig, folder, "measured_vs_certified", FORMATS)["png"],
        )

    @staticmethod
    def _steps_figure(cells: pd.DataFrame, folder: Path) -> tuple[str, str]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, a in enumerate(sorted(cells["a"].unique())):
            sub = cells[cells["a"] == a].sort_values("η")
            measured = np.where(np.isfinite(sub["min measured"]), sub["min measured"], np.nan)
            ax.plot(sub["η"], measured, "o-", color=f"C{i}", label=f"a = {a:.3g}: measured")
            certified = np.where(sub["certified rate"] > 0, sub["certified rate"], np.nan)
            ax.plot(sub["η"], certified, "--", color=f"C{i}", lw=1)
            bound = float(sub["step bound"].iloc[0])
            if bound > 0:
                ax.axvline(bound, color=f"C{i}", ls=":", lw=1)
        ax.set_xscale("log")
        _log_scales(ax, cells["η"], cells["min measured"], "no seed converged", x=False)
        ax.set_xlabel("step η")
        ax.set_ylabel("rate per step")
        ax.set_title("Measured (solid) and certified (dashed) rates; dotted: certified step bounds 2α_*/β²")
        ax.legend(fontsize=8)
        return (
            "Measured and certified rates against the step η, with the certified step bound of each coupling",
            F.save(fig, folder, "step_bounds", FORMATS)["png"],
        )
