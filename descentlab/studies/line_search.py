r"""line-search — idealized exact line search is arbitrarily slower than the best fixed step as the spectrum spreads.

Claim (Collins-Woodfin, Seroussi, Garcia Malaxechebarria, Mackenzie, Paquette, Paquette, *The High Line*, 2024,
arXiv 2405.19585): on high-dimensional streaming least squares, SGD whose step is chosen each step by an
idealized exact line search, :math:`\gamma_t=\arg\min_\gamma E[\mathcal R(\theta_t-\gamma g_t)]`
(:mod:`descentlab.optim.line_search`), follows deterministic risk and learning-rate curves; when the covariance has
strictly positive eigenvalues it can be *arbitrarily slower* than SGD with the best fixed step, the more so the
wider the spectrum; and for two distinct eigenvalues its limiting learning rate is characterized exactly.

Setting: ``least_squares``, noiseless, flat teacher, tr K = 1, the ``two_level`` spectrum with half the
eigenvalues at :math:`\lambda_1` and half at :math:`\lambda_2=\kappa\lambda_1`; the spread is
:math:`\lambda_1/\lambda_2=1/\kappa\in\{1,2,4,8\}` (quick) or :math:`\{1,2,4,8,16\}` (default). Batch b = 1.

Math (:mod:`descentlab.theory.adaptive_least_squares`): the greedy step
:math:`\gamma_t=\sum\lambda_i^2v_i/((1+\frac1b)\sum\lambda_i^3v_i+\frac1b\,2\mathcal R\sum\lambda_i^2)` on the
second-moment recursion of SGD gives the risk and learning-rate curves; as the fast modes are learned the step
falls to :math:`\gamma_\infty` (``line_search_two_level_limit``: the positive root of a quadratic), which lies
between :math:`b\lambda_2/\sum\lambda_i^2` and :math:`b\lambda_1/\sum\lambda_i^2` — of order κ — while the best
fixed step stays of order b/tr K. The slow modes then decay at rate ≈ 2γ∞λ₂ ∝ κ² against ≈ 2γ*λ₂ ∝ κ for the
fixed step, so the slowdown grows like the spread 1/κ.

Runs: two experiments of one compiled program each, seeds × spreads (× learning rates): (1) line search;
(2) SGD on a grid of 8 fixed steps in [0.6, 1.6] (the best one is interior at every spread: measured 0.91–1.21).
The slowdown at a spread is :math:`T_{LS}/\min_\eta T_\eta`, the number of steps the seed-mean risk takes to fall
to ``RISK_LEVEL`` = 10⁻² of its initial value (log-linear interpolation between checkpoints); the recursions'
slowdown is computed on the same checkpoints and learning-rate grid.

Verdicts (tolerances from the figures measured at --quick, d = 64, and default, d = 256, 8 seeds each; the
machine was shared):

1. ``slowdown-grows`` (headline): the slope s of log(slowdown) on log(spread), least squares over the spreads;
   passes when s ≥ 0.1. The recursion gives s = 0.344 (quick spreads 1–8) and 0.503 (default, 1–16); measured
   0.394 (quick) and 0.510 (default); the controls give s = 0.000 (isotropic) and 0.005 (fixed step): the floor
   sits between them.
2. ``slowdown-recursion``: |s − s_recursion| ≤ 0.1; measured 0.050 (quick) and 0.0065 (default); the seed standard
   error of s (s per seed against the seed-mean best fixed step) is 0.028 (quick) and 0.012 (default). At d = 64
   the line search's step sits below the recursion's (finite-size bias, below), hence the larger quick figure.
3. ``curves``: max over spreads and checkpoints (recursion risk ≥ 10⁻³ R₀) of
   (|seed mean − recursion| − 3 standard errors) / recursion, risk and learning rate; ≤ 0.15. Measured 0.089
   (quick) and 0.035 (default): the recursion is the high-dimensional limit and the stochastic γ_t (a ratio of
   quadratic forms of one iterate) is biased by O(1/d).
4. ``limit-lr``: :math:`\max_\kappa|\bar\gamma_{end}/\gamma_\infty-1|` over the spreads > 1, with
   :math:`\bar\gamma_{end}` the seed mean of γ_t over the last fifth of the resolved checkpoints (recursion risk
   ≥ 10⁻⁸ R₀: below it float32 rounds e = θ − θ* away); ≤ 0.12. Measured 0.091 (quick, d = 64: κ = 1/8 at −9 %,
   the finite-d recursion itself −1 %) and 0.012 (default, d = 256: −0.4 %, −1.2 %, −1.0 % at κ = 1/4, 1/8, 1/16).

Controls: ``isotropic`` (K = I/d: every eigenvalue is the smallest, the line search takes the best step
itself, no slowdown at any nominal spread: s = 0.000 at quick) and ``fixed-step`` (mechanism: the line search
replaced by SGD at the fixed step 1.0, with the SGD grid collapsed to it: the slowdown is 1, s = 0.005 at quick).
Both fail the headline.

Scaled down from the paper: d = 64 / 256 (paper size d = 1000), spreads up to 8 / 16, 8 seeds, b = 1.

Figures: the paper's risk curves (line search against the best fixed step per spread, recursion dashed), the
learning-rate curves with γ∞ (dotted), and the slowdown against the spread (log–log, the fit and the recursion).
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
from descentlab.report import figures as F
from descentlab.store.schema import column, section_values, seed_mean
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory._least_squares import problem_arrays
from descentlab.theory.adaptive_least_squares import line_search_curves, line_search_two_level_limit
from descentlab.theory.fitting import time_to_threshold
from descentlab.theory.sgd_exact import exact_risk
from descentlab.theory.verdict import Verdict

SIZES = {
    "quick": {"dim": 64, "ratios": (1.0, 0.5, 0.25, 0.125), "seeds": 8, "ls_steps": 2500, "sgd_steps": 1000},
    "default": {
        "dim": 256,
        "ratios": (1.0, 0.5, 0.25, 0.125, 0.0625),
        "seeds": 8,
        "ls_steps": 16000,
        "sgd_steps": 3600,
    },
    "paper": {
        "dim": 1000,
        "ratios": (1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125),
        "seeds": 10,
        "ls_steps": 200000,
        "sgd_steps": 40000,
    },
}
LEARNING_RATES = tuple(float(x) for x in np.round(np.geomspace(0.6, 1.6, 8), 4))
RISK_LEVEL = 1e-2
"""Steps to reach this fraction of the initial risk define the slowdown."""
CURVE_FLOOR = 1e-3
"""Curves are compared where the recursion's risk is at least this fraction of the initial risk."""
SE_FACTOR = 3.0
"""Deviations of the curves count beyond this many seed standard errors."""
TAIL_FRACTION = 0.8
"""γ∞ is measured as the mean learning rate over the checkpoints ≥ this fraction of the last resolved one."""
RESOLVED = 1e-8
"""A checkpoint is resolved while the recursion's risk is ≥ this fraction of the initial risk: below it float32
iterates lose e = θ − θ* to rounding (|e_i| reaches ~1e-7 |θ*_i|) and γ_t, a ratio of quadratic forms in e, with it."""
CHECKPOINTS = 100
LOW = column("problem.low_value")
LR = column("optimizer.learning_rate")

CHECK_GROWS = Check(
    "slowdown-grows",
    "slope s of log(T_line-search / T_best-fixed) on log(λ₁/λ₂) over the spreads",
    "the slowdown grows with the spread (the recursion: s = 0.344 at the quick spreads, 0.503 at default); "
    "pass when s ≥ the tolerance",
    0.1,
    "recursion s = 0.344 (quick) / 0.503 (default); measured 0.394 / 0.510; controls: isotropic 0.000, fixed step "
    "0.005",
)
CHECK_RECURSION = Check(
    "slowdown-recursion",
    "|s − s_recursion|: the fitted slowdown slope against the high-line recursion's on the same grid",
    "the high-line recursion (line_search_least_squares, sgd_least_squares) on the same checkpoints and lr grid",
    0.1,
    "measured 0.050 (quick, d = 64) and 0.0065 (default, d = 256), 8 seeds; seed standard error of s 0.028 / 0.012",
)
CHECK_CURVES = Check(
    "curves",
    "max of (|seed mean − recursion| − 3 SE) / recursion, risk and learning rate, where the risk is ≥ 1e-3 R₀",
    "line_search_least_squares: the greedy step on the second-moment recursion",
    0.15,
    "measured 0.089 (quick, d = 64) and 0.035 (default, d = 256), 8 seeds: the O(1/d) bias of the stochastic γ_t",
)
CHECK_LIMIT = Check(
    "limit-lr",
    "max over spreads > 1 of |mean γ_t over the last fifth of the resolved checkpoints / γ∞ − 1|",
    "γ∞ of line_search_two_level_limit (the two-eigenvalue limit of the high-line ODE)",
    0.12,
    "measured 0.091 (quick, d = 64, κ = 1/8; the finite-d recursion −1 %) and 0.012 (default, d = 256), 8 seeds",
)


def problem_values(dim: int, ratios) -> dict:
    return {
        "name": "least_squares",
        "dim": dim,
        "spectrum": "two_level",
        "low_fraction": 0.5,
        "low_value": {"grid": list(ratios)},
        "teacher": "flat",
        "noise": 0.0,
    }


def spread_of(ratio: float) -> float:
    """λ₁/λ₂ of the two-level design (the nominal spread, also under a control that changes the spectrum)."""
    return 1.0 / float(ratio)


def steps_to_level(steps: np.ndarray, risk: np.ndarray, level: float = RISK_LEVEL) -> float:
    """Steps until ``risk`` falls to ``level`` × its initial value (log-linear interpolation; inf if never)."""
    risk = np.asarray(risk, dtype=np.float64)
    return time_to_threshold(steps, risk, level * risk[0])


def fitted_slope(spread: np.ndarray, slowdown: np.ndarray) -> float:
    """Least-squares slope of log(slowdown) on log(spread); NaN unless ≥ 2 finite points with distinct spreads."""
    x, y = np.log(np.asarray(spread, float)), np.log(np.asarray(slowdown, float))
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2 or np.ptp(x[keep]) == 0.0:
        return float("nan")
    return float(np.polyfit(x[keep], y[keep], 1)[0])


def _curve(table: pd.DataFrame, keys: dict) -> tuple[np.ndarray, np.ndarray]:
    mask = np.ones(len(table), bool)
    for k, v in keys.items():
        mask &= table[k].to_numpy() == v
    part = table[mask].sort_values("step")
    return part["step"].to_numpy(), part["mean"].to_numpy()


def measured_table(ls: Result, sgd: Result) -> pd.DataFrame:
    """Per spread: steps to the risk level for the line search and the best fixed step (seed means), the
    slowdown, the best step, and the slowdown per seed (against the seed-mean best step)."""
    ls_risk = seed_mean(ls.runs, ls.curves, "population_risk", by=[LOW])
    sgd_risk = seed_mean(sgd.runs, sgd.curves, "population_risk", by=[LOW, LR])
    rows = []
    for ratio in sorted(ls.runs[LOW].unique(), reverse=True):
        t_ls = steps_to_level(*_curve(ls_risk, {LOW: ratio}))
        per_lr = {lr: steps_to_level(*_curve(sgd_risk, {LOW: ratio, LR: lr})) for lr in sorted(sgd.runs[LR].unique())}
        best_lr = min(per_lr, key=per_lr.get)
        t_best = per_lr[best_lr]
        per_seed = []
        runs = ls.runs[(ls.runs[LOW] == ratio) & (ls.runs.status == "ok")]
        for run in runs["run"]:
            one = ls.curves[(ls.curves.run == run) & (ls.curves.metric == "population_risk")].sort_values("step")
            per_seed.append(steps_to_level(one.step.to_numpy(), one.value.to_numpy()) / t_best)
        rows.append(
            {
                "κ = λ₂/λ₁": float(ratio),
                "spread λ₁/λ₂": spread_of(ratio),
                "T line search": t_ls,
                "T best fixed": t_best,
                "best fixed step": float(best_lr),
                "slowdown": t_ls / t_best,
                "slowdown per seed": per_seed,
            }
        )
    return pd.DataFrame(rows)


def recursion_table(ls: Result, sgd: Result, checkpoints: np.ndarray) -> pd.DataFrame:
    """The same table from the recursions on the same checkpoints and learning-rate grid."""
    rows = []
    grid = sorted(sgd.runs[LR].unique())
    sgd_steps = np.sort(sgd.curves["step"].unique())
    for ratio in sorted(ls.runs[LOW].unique(), reverse=True):
        row = ls.runs[ls.runs[LOW] == ratio].iloc[0]
        lam, v0 = problem_arrays(section_values(row, "problem"))
        batch = int(row[column("run.batch_size")])
        t_ls = steps_to_level(checkpoints, line_search_curves(lam, v0, checkpoints, batch)["risk"])
        t_best = min(
            steps_to_level(sgd_steps, exact_risk(lam, v0, np.full(sgd_steps[-1], lr), sgd_steps, batch)) for lr in grid
        )
        rows.append({"κ = λ₂/λ₁": float(ratio), "spread λ₁/λ₂": spread_of(ratio), "slowdown recursion": t_ls / t_best})
    return pd.DataFrame(rows)


def growth_verdicts(measured: pd.DataFrame, recursion: pd.DataFrame) -> tuple[Verdict, Verdict, float]:
    """The headline (fitted slope ≥ floor) and the slope against the recursion's; also the seed SE of the slope."""
    s = fitted_slope(measured["spread λ₁/λ₂"], measured["slowdown"])
    s_th = fitted_slope(recursion["spread λ₁/λ₂"], recursion["slowdown recursion"])
    per_seed = np.array([list(x) for x in measured["slowdown per seed"]], dtype=float)  # spreads × seeds
    slopes = [fitted_slope(measured["spread λ₁/λ₂"], per_seed[:, k]) for k in range(per_seed.shape[1])]
    se = float(np.nanstd(slopes, ddof=1) / np.sqrt(len(slopes))) if len(slopes) > 1 else float("nan")
    grows = CHECK_GROWS.verdict(
        s, passed=bool(np.isfinite(s) and s >= CHECK_GROWS.tolerance), detail=f"recursion {s_th:.3f}, seed SE {se:.3f}"
    )
    close = CHECK_RECURSION.verdict(abs(s - s_th), detail=f"measured {s:.3f}, recursion {s_th:.3f}")
    return grows, close, se


def curve_deviation(ls: Result) -> tuple[float, pd.DataFrame]:
    """max over spreads and checkpoints (recursion risk ≥ CURVE_FLOOR·R₀, step ≥ 1) of
    (|mean − recursion| − SE_FACTOR·stderr) / recursion, for the risk and the learning rate; the learning rate
    stored at step t is the one of update t (the recursion's γ_{t−1})."""
    risk = seed_mean(ls.runs, ls.curves, "population_risk", by=[LOW])
    lr = seed_mean(ls.runs, ls.curves, "effective_lr", by=[LOW])
    excess, theory = [], []
    for ratio in sorted(ls.runs[LOW].unique(), reverse=True):
        row = ls.runs[ls.runs[LOW] == ratio].iloc[0]
        lam, v0 = problem_arrays(section_values(row, "problem"))
        batch = int(row[column("run.batch_size")])
        r_part = risk[risk[LOW] == ratio].sort_values("step")
        g_part = lr[lr[LOW] == ratio].sort_values("step")
        steps = r_part["step"].to_numpy()
        pred = line_search_curves(lam, v0, steps, batch)
        pred_lr = line_search_curves(lam, v0, np.maximum(steps - 1, 0), batch)["learning_rate"]
        window = (pred["risk"] >= CURVE_FLOOR * pred["risk"][0]) & (steps >= 1)
        for part, predicted in ((r_part, pred["risk"]), (g_part, pred_lr)):
            mean, se = part["mean"].to_numpy()[window], part["stderr"].to_numpy()[window]
            excess.append((np.abs(mean - predicted[window]) - SE_FACTOR * se) / predicted[window])
        theory.append(pd.DataFrame({LOW: ratio, "step": steps, "risk": pred["risk"], "learning_rate": pred_lr}))
    values = np.concatenate(excess)
    worst = float(np.max(values)) if values.size and np.all(np.isfinite(values)) else float("nan")
    return worst, pd.concat(theory, ignore_index=True)


def limit_table(ls: Result) -> pd.DataFrame:
    """Per spread > 1: the measured tail learning rate (checkpoints from TAIL_FRACTION of the last resolved one to
    it) and γ∞ of the two-eigenvalue formula (NaN when the run's spectrum does not have two distinct values)."""
    lr = seed_mean(ls.runs, ls.curves, "effective_lr", by=[LOW])
    rows = []
    for ratio in sorted(ls.runs[LOW].unique(), reverse=True):
        if ratio >= 1.0:
            continue
        row = ls.runs[ls.runs[LOW] == ratio].iloc[0]
        lam, v0 = problem_arrays(section_values(row, "problem"))
        batch = int(row[column("run.batch_size")])
        try:
            limit = line_search_two_level_limit(lam, batch)
        except ValueError:
            limit = float("nan")
        steps, values = _curve(lr, {LOW: ratio})
        risk = line_search_curves(lam, v0, steps, batch)["risk"]
        last = steps[risk >= RESOLVED * risk[0]].max()
        tail = (steps >= TAIL_FRACTION * last) & (steps <= last)
        rows.append(
            {
                "κ = λ₂/λ₁": float(ratio),
                "γ end measured": float(np.mean(values[tail])),
                "γ∞ predicted": limit,
                "tail steps": f"{int(steps[tail].min())}–{int(last)}",
            }
        )
    table = pd.DataFrame(rows)
    table["|γ/γ∞ − 1|"] = (table["γ end measured"] / table["γ∞ predicted"] - 1.0).abs()
    return table


def limit_verdict(table: pd.DataFrame) -> Verdict:
    values = table["|γ/γ∞ − 1|"].to_numpy(dtype=float)
    figure = float(np.max(values)) if values.size and np.all(np.isfinite(values)) else float("nan")
    return CHECK_LIMIT.verdict(figure)


@register_study("line-search")
class LineSearch(Study):
    claim = (
        "Idealized exact line search on least squares follows the high-line risk and learning-rate curves, its "
        "learning rate tends to the exact two-eigenvalue limit, and it is slower than the best fixed step by a "
        "factor that grows with the spread of the spectrum"
    )
    reference = (
        "Collins-Woodfin, Seroussi, Garcia Malaxechebarria, Mackenzie, Paquette, Paquette. The High Line: Exact Risk "
        "and Learning Rate Curves of Stochastic Adaptive Learning Rate Algorithms (2405.19585)"
    )
    checks: ClassVar[tuple[Check, ...]] = (CHECK_GROWS, CHECK_RECURSION, CHECK_CURVES, CHECK_LIMIT)
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "isotropic",
            "With K = I/d every eigenvalue is the smallest one: the line search takes the best step itself and there "
            "is no slowdown at any nominal spread.",
            mechanism=False,
            overrides=("problem.spectrum=isotropic",),
        ),
        Control(
            "fixed-step",
            "SGD at the fixed step 1.0 replaces the line search (and the fixed-step grid collapses to it): "
            "the slowdown is 1 at every spread.",
            mechanism=True,
            overrides=("optimizer.name=sgd", "optimizer.learning_rate=1.0"),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        suffix = "-quick" if options.quick else ""
        run = {"seeds": size["seeds"], "checkpoints": CHECKPOINTS, "batch_size": 1}
        line_search = {
            "name": "line-search" + suffix,
            "description": self.claim,
            "problem": problem_values(size["dim"], size["ratios"]),
            "optimizer": {"name": "line_search", "learning_rate": 1.0},
            "run": {**run, "steps": size["ls_steps"]},
            "probes": ["metrics", "effective_lr"],
        }
        fixed = {
            "name": "line-search-fixed-steps" + suffix,
            "description": "SGD at fixed steps on the same problems: the best fixed step per spread",
            "problem": problem_values(size["dim"], size["ratios"]),
            "optimizer": {"name": "sgd", "learning_rate": {"grid": list(LEARNING_RATES)}},
            "run": {**run, "steps": size["sgd_steps"]},
            "probes": ["metrics"],
        }
        return [spec_from_dict(line_search), spec_from_dict(fixed)]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        ls, sgd = results[0], results[1]
        checkpoints = np.sort(ls.curves["step"].unique())
        measured = measured_table(ls, sgd)
        recursion = recursion_table(ls, sgd, checkpoints)
        grows, close, _ = growth_verdicts(measured, recursion)
        worst, theory = curve_deviation(ls)
        curves = CHECK_CURVES.verdict(worst)
        limits = limit_table(ls)
        verdicts = [grows, close, curves, limit_verdict(limits)]
        summary = measured.drop(columns=["slowdown per seed"]).merge(recursion, on=["κ = λ₂/λ₁", "spread λ₁/λ₂"])
        summary = summary.merge(limits, on="κ = λ₂/λ₁", how="left")
        figures = [
            self._risk_figure(ls, sgd, measured, theory, grows, folder),
            self._lr_figure(ls, theory, limits, folder),
            self._slowdown_figure(measured, recursion, grows, folder),
        ]
        return Analysis(verdicts, figures, summary)

    @staticmethod
    def _risk_figure(ls, sgd, measured, theory, headline, folder) -> tuple[str, str]:
        ls_risk = seed_mean(ls.runs, ls.curves, "population_risk", by=[LOW])
        sgd_risk = seed_mean(sgd.runs, sgd.curves, "population_risk", by=[LOW, LR])
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(6.4, 4.4))
            for i, row in measured.iterrows():
                ratio, color = row["κ = λ₂/λ₁"], f"C{i}"
                steps, values = _curve(ls_risk, {LOW: ratio})
                ax.plot(steps[1:], values[1:], color=color, label=f"line search, λ₁/λ₂ = {row['spread λ₁/λ₂']:g}")
                steps, values = _curve(sgd_risk, {LOW: ratio, LR: row["best fixed step"]})
                ax.plot(steps[1:], values[1:], color=color, linestyle=":", linewidth=1.4)
                ours = theory[theory[LOW] == ratio]
                ax.plot(ours["step"][1:], ours["risk"][1:], **{**F.THEORY_STYLE, "color": color, "linewidth": 1.0})
            ax.axhline(RISK_LEVEL * float(ls_risk["mean"].max()), color="grey", linewidth=0.8)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_ylabel("population risk (seed mean)")
            ax.set_title(
                f"line search (solid), best fixed step (dotted), recursion (dashed): slope "
                f"{headline.figure:.3g} ({'pass' if headline.passed else 'fail'})",
                fontsize=9,
            )
            ax.legend(fontsize=7)
            fig.tight_layout()
        return (
            "Risk of idealized exact line search and of SGD at the best fixed step per spread λ₁/λ₂ (seed means), "
            "the high-line recursion dashed; the grey line is the level that defines the slowdown",
            F.save(fig, folder, "risk")["png"],
        )

    @staticmethod
    def _lr_figure(ls, theory, limits, folder) -> tuple[str, str]:
        lr = seed_mean(ls.runs, ls.curves, "effective_lr", by=[LOW])
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(6.0, 4.2))
            for i, ratio in enumerate(sorted(ls.runs[LOW].unique(), reverse=True)):
                steps, values = _curve(lr, {LOW: ratio})
                ax.plot(steps[1:], values[1:], color=f"C{i}", label=f"λ₁/λ₂ = {spread_of(ratio):g}")
                ours = theory[theory[LOW] == ratio]
                ax.plot(ours["step"][1:], ours["learning_rate"][1:], **{**F.THEORY_STYLE, "color": f"C{i}"})
                match = limits[limits["κ = λ₂/λ₁"] == ratio]
                if len(match) and np.isfinite(match["γ∞ predicted"].iloc[0]):
                    ax.axhline(match["γ∞ predicted"].iloc[0], color=f"C{i}", linestyle=":", linewidth=1.0)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_ylabel("line-search learning rate γ_t")
            ax.set_title("γ_t: seed mean (solid), recursion (dashed), two-eigenvalue limit γ∞ (dotted)", fontsize=9)
            ax.legend(fontsize=7)
            fig.tight_layout()
        return (
            "Learning rate of the line search per spread: seed mean, the high-line recursion and the exact limit γ∞",
            F.save(fig, folder, "learning_rate")["png"],
        )

    @staticmethod
    def _slowdown_figure(measured, recursion, headline, folder) -> tuple[str, str]:
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(5.2, 3.9))
            ax.plot(measured["spread λ₁/λ₂"], measured["slowdown"], "o-", label="measured (seed means)")
            ax.plot(recursion["spread λ₁/λ₂"], recursion["slowdown recursion"], **F.THEORY_STYLE, label="recursion")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("spread λ₁/λ₂")
            ax.set_ylabel("slowdown T_line search / T_best fixed")
            ax.set_title(f"fitted slope {headline.figure:.3g} ({'pass' if headline.passed else 'fail'})", fontsize=10)
            ax.legend(fontsize=8)
            fig.tight_layout()
        return (
            "Slowdown of line search against the best fixed step, steps to reach 1 % of the initial risk, against the "
            "eigenvalue ratio (log–log)",
            F.save(fig, folder, "slowdown")["png"],
        )
