r"""shuffling — how the order of the examples sets SGD's error floor.

Claim (Mishchenko, Khaled, Richtárik 2020; Safran & Shamir 2020): on a finite sum of n strongly
convex quadratics with a shared Hessian, SGD with a constant step γ reaches a stationary error
:math:`E[F(x_{kn})-F^\star]` at epoch ends that scales as

* :math:`\gamma^1` when examples are sampled with replacement (the noise of each step survives),
* :math:`\gamma^2` with one fixed order (single shuffle, or incremental), whose first-order epoch
  drift cancels but whose second-order drift does not,
* :math:`\gamma^3` with random reshuffling, whose second-order drift cancels in mean too.

The study sweeps γ (vmapped) × the sampler (static) × seeds, records F − F* (computed exactly, in
float64) at the last epochs' ends, averages it (the floor), and fits its slope against γ on
log–log axes. Verdict: the largest |fitted − predicted| slope over the samplers, within 0.25.

Second half: the last iterate on a nonsmooth convex problem (Liu & Zhou 2024, 2025). On
:math:`F(x)=\frac1n\sum_{i=1}^n f_i(x)` with convex, G-Lipschitz, nonsmooth :math:`f_i`, one epoch of a
shuffling method applies :math:`x \leftarrow x-\eta\,g_{\sigma_k(i)}`, :math:`g_j\in\partial f_j(x)`, for
i = 1…n in the order :math:`\sigma_k` (a fresh permutation each epoch: random reshuffling; one permutation
drawn once: single shuffle; the identity: incremental gradient). With a constant step tuned to the
horizon of K epochs, the *last* iterate satisfies (D = ‖x₀ − x*‖)

.. math:: \mathbb E[F(x_K)] - F^\star = O\!\big(G D / \sqrt K\big)

for any permutation scheme (Liu & Zhou 2024, the nonsmooth convex last-iterate theorem, as summarised in
Table 1 of Liu & Zhou 2025, row "ANY"), and for random reshuffling the improved
:math:`\tilde O\big(G D/(n^{1/4}\sqrt K)\big)` (Liu & Zhou 2025, Theorem 4.2), which matches the
:math:`\Omega(1/(n^{1/4}\sqrt K))` lower bound of Koren et al. (2022, as cited there) up to logarithms. At fixed n every
one of these bounds decays as :math:`K^{-1/2}` in the number of epochs; that is the exponent tested.

The experiment: least-absolute-deviations regression (``l1_regression``: convex, piecewise linear,
:math:`G=\max_i\lVert x_i\rVert`-Lipschitz, exact F* by LP) on n = 32 points in d = 8, single-example
steps, the constant step :math:`\eta_K = c/\sqrt{nK}` with :math:`c = D/G` (the classical tuned step
:math:`D/(G\sqrt T)` for :math:`T=nK` subgradient steps; any :math:`\eta_K\propto K^{-1/2}` at fixed n
gives the same exponent in K), for horizons K = 8, 16, …; the sampler (RR, SS, IG, and with replacement
for contrast) is a static axis, :math:`\eta_K` a vmapped one. One run per (η_K, seed) runs to the largest
horizon; its last iterate is read at its own horizon, step nK. :math:`F(x_K)-F^\star` is averaged over
seeds (random x₀, random permutations) and its exponent in K fitted on log–log axes. Verdict (two-sided, and
separating the schemes): every shuffling scheme's (RR, SS, IG) fitted exponent is within 0.15 of −1/2, AND
at the largest horizon with-replacement sampling's last iterate is at least 1.5 × random reshuffling's
(RR's epoch ends see the full gradient sum, with-replacement's an n-step random walk of the noise). The
figure is the margin min(0.15 − worst |error|, ratio/1.5 − 1), pass at ≥ 0. Measured: --quick (16 seeds)
worst |error| 0.102 (RR), ratio 2.25 (margin 0.048); default (64 seeds) 0.059 (RR), ratio 2.61 (margin
0.091); with RR swapped for with-replacement the ratio is 1.00 by construction and the floor slope of the
RR slot 1.04 (|error| 1.96). The tolerance is tighter than an
:math:`\tilde O` bound needs in general (a log K factor alone adds ≈ 1/ln K ≈ 0.2 to an exponent fitted
over this range of K); it suits this problem, which is sharp (F − F* ≥ α‖x − x*‖ with a unique minimizer
at a kink): with a step η the iterates keep moving by O(η) around x* and F − F* is of order η, so
:math:`\eta_K\propto K^{-1/2}` gives the pure power K^{-1/2} once the initial distance is used up. The
same runs read with a step that is *not* scaled with the horizon (the K = 8 step at every K) show
the O(η) floor of a constant step, exponent ≈ 0 — the control, reported in the summary and the figure.

The headline verdict combines both halves: the number of failed claims (tolerance 0).

Controls: ``rr-with-replacement`` (mechanism: the RR slot is filled by with-replacement runs, option
``rr_sampler``) fails both halves; ``rr-floor-exponent-shifted`` (RR's predicted floor exponent 3 → 2, option
``rr_floor_shift = −1``) fails the floor half with |error| ≈ 1.04.

Not done: how RR's last-iterate advantage grows with n (one n = 32 here) is not tested, and the 1.5 ratio
is a measured margin, not a predicted constant (the theorems are upper bounds).

References: Liu & Zhou, On the Last-Iterate Convergence of Shuffling Gradient Methods (ICML 2024,
2403.07723); Liu & Zhou, Improved Last-Iterate Convergence of Shuffling Gradient Methods for Nonsmooth
Convex Optimization (ICML 2025, 2505.23056).
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
from descentlab.problems.l1_regression import L1Regression
from descentlab.report import figures as F
from descentlab.studies.base import Analysis, Control, Study, StudyOptions, register_study
from descentlab.theory import Verdict, fit_power_law

PREDICTED_SLOPE = {"with_replacement": 1.0, "single_shuffle": 2.0, "incremental": 2.0, "random_reshuffling": 3.0}
TOLERANCE = 0.25
METRIC = "suboptimality"
SAMPLERS = ["with_replacement", "single_shuffle", "incremental", "random_reshuffling"]

SIZES = {
    "quick": {"n": 16, "epochs": 400, "tail": 100, "seeds": 8, "lr": [0.004, 0.04, 3]},
    "default": {"n": 20, "epochs": 1000, "tail": 300, "seeds": 32, "lr": [0.002, 0.03, 5]},
    "paper": {"n": 64, "epochs": 4000, "tail": 1000, "seeds": 64, "lr": [0.0005, 0.01, 7]},
}

# Second half: last iterate of SGD on ℓ1 regression at horizons K (epochs), step η_K = (D/G)/√(nK).
LAST_ITERATE_EXPONENT = -0.5  # O(G D / √K) at fixed n (Liu & Zhou 2024; 2025, Theorem 4.2 for RR)
LAST_ITERATE_TOLERANCE = 0.15  # pass when every shuffling scheme's |fitted exponent + 1/2| ≤ 0.15 (two-sided)
MIN_RR_ADVANTAGE = 1.5  # and with-replacement's last iterate at the largest horizon ≥ 1.5 × RR's
SHUFFLING_SCHEMES = ("random_reshuffling", "single_shuffle", "incremental")  # what the theorems cover
L1_PROBLEM = {"name": "l1_regression", "n_samples": 32, "dim": 8, "noise": 0.5, "data_seed": 0, "init_scale": 1.0}
LAST_ITERATE_SIZES = {
    "quick": {"horizons": [8, 16, 32, 64, 128, 256, 512], "seeds": 16},
    "default": {"horizons": [8, 16, 32, 64, 128, 256, 512, 1024, 2048], "seeds": 64},
    "paper": {"horizons": [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192], "seeds": 128},
}


def floors(runs: pd.DataFrame, curves: pd.DataFrame, first_step: int) -> pd.DataFrame:
    """Mean of F − F* over the recorded epoch ends from ``first_step`` on and over seeds."""
    data = curves[(curves.metric == METRIC) & (curves.step >= first_step)].merge(
        runs[["run", "sampler_name", "optimizer_learning_rate", "status"]], on="run")
    data = data[data.status == "ok"]
    return (data.groupby(["sampler_name", "optimizer_learning_rate"])["value"]
            .agg(floor="mean", sem=lambda v: v.std() / np.sqrt(len(v))).reset_index())


def slope_table(table: pd.DataFrame, predicted: dict[str, float] = PREDICTED_SLOPE) -> pd.DataFrame:
    rows = []
    for sampler, group in table.groupby("sampler_name"):
        fit = fit_power_law(group.optimizer_learning_rate.to_numpy(), group["floor"].to_numpy())
        rows.append({"sampler": sampler, "fitted slope": fit.value, "95% CI": f"[{fit.low:.3f}, {fit.high:.3f}]",
                     "predicted slope": predicted[sampler], "|error|": abs(fit.value - predicted[sampler])})
    return pd.DataFrame(rows)


def step_scale(problem: dict = L1_PROBLEM) -> float:
    r"""c = D/G of the tuned constant step :math:`\eta_K = c/\sqrt{nK}`: D = (E‖x₀ − x*‖²)^{1/2}
    = (‖x*‖² + init_scale²)^{1/2} for x₀ ~ init_scale · N(0, I/d), G = maxᵢ‖xᵢ‖ (the Lipschitz constant
    of every |xᵢᵀw − yᵢ|)."""
    fields = {k: v for k, v in problem.items() if k != "name"}
    instance = L1Regression(**fields)
    x = np.asarray(instance.dataset()["x"], np.float64)
    distance = float(np.sqrt(np.sum(np.asarray(instance.optimum(), np.float64) ** 2) + instance.init_scale**2))
    return distance / float(np.max(np.linalg.norm(x, axis=1)))


def horizon_steps(horizons: list[int], n: int, scale: float) -> list[float]:
    """η_K = scale / √(nK) for each horizon K (largest step first, as ``horizons`` ascends)."""
    return [scale / float(np.sqrt(n * k)) for k in horizons]


def last_iterates(runs: pd.DataFrame, curves: pd.DataFrame, n: int, horizons: list[int],
                  horizon_scaled: bool = True) -> pd.DataFrame:
    """Seed mean and standard error of F(x_K) − F* per sampler and horizon K.

    ``horizon_scaled``: each run's last iterate is read at its own horizon (the i-th largest step η
    belongs to the i-th smallest K). Otherwise (the control) the runs of the largest step, the one
    tuned for the smallest K, are read at every horizon: a constant step not scaled with K.
    """
    data = curves[curves.metric == METRIC].merge(
        runs[["run", "sampler_name", "optimizer_learning_rate", "status"]], on="run")
    data = data[data.status == "ok"]
    steps = np.sort(data.optimizer_learning_rate.unique())[::-1]
    if len(steps) != len(horizons):
        raise ValueError(f"{len(steps)} step sizes for {len(horizons)} horizons {horizons}")
    rows = []
    for i, k in enumerate(horizons):
        step = steps[i] if horizon_scaled else steps[0]
        at = data[np.isclose(data.optimizer_learning_rate, step, rtol=1e-9) & (data.step == n * k)]
        for sampler, group in at.groupby("sampler_name"):
            v = group["value"].to_numpy()
            rows.append({"sampler_name": sampler, "epochs": k, "learning_rate": step, "mean": v.mean(),
                         "sem": v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0, "seeds": v.size})
    return pd.DataFrame(rows)


def exponent_table(table: pd.DataFrame, predicted: float = LAST_ITERATE_EXPONENT) -> pd.DataFrame:
    """Fitted exponent of F(x_K) − F* in K per sampler, against the predicted one."""
    rows = []
    for sampler, group in table.groupby("sampler_name"):
        fit = fit_power_law(group["epochs"].to_numpy(), group["mean"].to_numpy())
        rows.append({"sampler": sampler, "fitted exponent": fit.value, "95% CI": f"[{fit.low:.3f}, {fit.high:.3f}]",
                     "predicted exponent": predicted, "fitted − predicted": fit.value - predicted,
                     "|error|": abs(fit.value - predicted), "covered": sampler in SHUFFLING_SCHEMES,
                     "final F − F*": group.sort_values("epochs")["mean"].iloc[-1]})
    return pd.DataFrame(rows)


@register_study("shuffling")
class Shuffling(Study):
    claim = ("SGD's error floor at a constant step γ scales as γ with replacement, γ² with one fixed order, "
             "γ³ with random reshuffling; on a nonsmooth convex finite sum the last iterate of every shuffling "
             "scheme with a horizon-tuned step decays as K^-1/2 in the number of epochs K")
    reference = ("Mishchenko, Khaled, Richtárik. Random Reshuffling: Simple Analysis with Vast Improvements "
                 "(2006.05988); Safran & Shamir. How Good is SGD with Random Shuffling? (COLT 2020); "
                 "Liu & Zhou. On the Last-Iterate Convergence of Shuffling Gradient Methods (ICML 2024, 2403.07723); "
                 "Liu & Zhou. Improved Last-Iterate Convergence of Shuffling Gradient Methods for Nonsmooth Convex "
                 "Optimization (ICML 2025, 2505.23056)")

    declared_options: ClassVar[dict[str, Param]] = {
        "rr_sampler": Param("str", "random_reshuffling", "the sampler that runs in random reshuffling's place",
                            choices=("random_reshuffling", "with_replacement", "incremental")),
        "rr_floor_shift": Param("float", 0.0, "added to random reshuffling's predicted floor exponent (3)"),
        "last_exponent_shift": Param("float", 0.0, "added to the predicted last-iterate exponent (−1/2)"),
        "horizon_scaled": Param("bool", True, "read each run's last iterate at its own horizon (false: every run at "
                                "the largest step's horizon, a step not scaled with the horizon)"),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control("rr-with-replacement", "Random reshuffling is swapped for sampling with replacement (its runs fill "
                "the RR slot): each step's noise survives, so the floor scales as gamma, not gamma^3, and the last "
                "iterate loses RR's advantage over with-replacement sampling.", mechanism=True,
                options=(("rr_sampler", "with_replacement"),)),
        Control("rr-floor-exponent-shifted", "Random reshuffling's predicted floor exponent is shifted from 3 to 2 "
                "(the fixed-order prediction): the theory would then not separate RR from a single shuffle, and "
                "the measured gamma^3 must contradict it.", mechanism=False, options=(("rr_floor_shift", -1.0),)),
    )

    @staticmethod
    def samplers(options: StudyOptions) -> list[str]:
        """The sampler grid: RR swapped for ``rr_sampler`` (a control) — run once, relabelled in :meth:`relabel`."""
        swap = options.get("rr_sampler", "random_reshuffling")
        return [s for s in SAMPLERS if s != "random_reshuffling"] if swap != "random_reshuffling" else list(SAMPLERS)

    @staticmethod
    def relabel(runs: pd.DataFrame, options: StudyOptions) -> pd.DataFrame:
        """The runs with the swapped sampler's runs also filling the random-reshuffling slot (controls only)."""
        swap = options.get("rr_sampler", "random_reshuffling")
        if swap == "random_reshuffling":
            return runs
        return pd.concat([runs, runs[runs.sampler_name == swap].assign(sampler_name="random_reshuffling")],
                         ignore_index=True)

    @staticmethod
    def size(options: StudyOptions) -> dict:
        return options.pick(SIZES)

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = self.size(options)
        n, epochs, tail = size["n"], size["epochs"], size["tail"]
        checkpoints = sorted({0, *(n * k for k in range(epochs - tail, epochs + 1, max(1, tail // 50)))})
        suffix = "-quick" if options.quick else ""
        floor = spec_from_dict({
            "name": "shuffling" + suffix,
            "description": self.claim,
            "problem": {"name": "finite_sum_quadratic", "n": n, "dim": 5, "mu": 0.5},
            "optimizer": {"name": "sgd", "learning_rate": {"logspace": size["lr"]}},
            "sampler": {"name": {"grid": self.samplers(options)}},
            "run": {"steps": n * epochs, "batch_size": 1, "seeds": size["seeds"], "checkpoints": checkpoints,
                    "dtype": "float64"},
            "probes": ["metrics"],
        })
        last = options.pick(LAST_ITERATE_SIZES)
        n1, horizons = L1_PROBLEM["n_samples"], last["horizons"]
        last_iterate = spec_from_dict({
            "name": "shuffling-last-iterate" + suffix,
            "description": "last iterate of SGD on ℓ1 regression with η_K = (D/G)/√(nK), read at step nK",
            "problem": dict(L1_PROBLEM),
            "optimizer": {"name": "sgd", "learning_rate": {"grid": horizon_steps(horizons, n1, step_scale())}},
            "sampler": {"name": {"grid": self.samplers(options)}},
            "run": {"steps": n1 * max(horizons), "batch_size": 1, "seeds": last["seeds"],
                    "checkpoints": sorted({0, *(n1 * k for k in horizons)})},
            "probes": ["metrics"],
        })
        return [floor, last_iterate]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        """Both halves; the options ``rr_floor_shift``, ``last_exponent_shift`` and ``horizon_scaled=false`` move
        the prediction or the reading, to check that the verdicts fail when the claim is broken."""
        floor_result = next(r for r in results if (r.runs.problem_name == "finite_sum_quadratic").all())
        last_results = [r for r in results if (r.runs.problem_name == "l1_regression").all()]
        size = self.size(options)
        runs, curves = self.relabel(floor_result.runs, options), floor_result.curves
        table = floors(runs, curves, size["n"] * (size["epochs"] - size["tail"]))
        predicted = {**PREDICTED_SLOPE, "random_reshuffling": PREDICTED_SLOPE["random_reshuffling"]
                     + float(options.get("rr_floor_shift", 0.0))}
        last_exponent = LAST_ITERATE_EXPONENT + float(options.get("last_exponent_shift", 0.0))
        horizon_scaled = bool(options.get("horizon_scaled", True))
        slopes = slope_table(table, predicted)
        worst = slopes.loc[slopes["|error|"].idxmax()]
        floor_verdict = Verdict(bool(slopes["|error|"].max() <= TOLERANCE), float(slopes["|error|"].max()),
                                f"largest |fitted − predicted| slope of the error floor vs γ, worst: {worst.sampler}",
                                TOLERANCE)
        figures = [self._floor_figure(table, slopes, folder)]
        fig = F.learning_curves(runs[runs.sampler_name == "random_reshuffling"], curves, METRIC, logx=False,
                                title="random reshuffling: F − F* at epoch ends (last epochs)")
        figures.append(("F − F* at the last epochs' ends, random reshuffling", F.save(fig, folder, "tail_rr")["png"]))
        summary = slopes.rename(columns={"fitted slope": "fitted", "predicted slope": "predicted"})
        summary.insert(0, "part", "floor vs γ")
        verdicts = [floor_verdict]
        if last_results:
            last_verdict, exponents, figure = self._last_iterate(last_results[0], folder, options, last_exponent,
                                                                 horizon_scaled)
            verdicts.append(last_verdict)
            figures.append(figure)
            exponents = exponents.rename(columns={"fitted exponent": "fitted", "predicted exponent": "predicted"})
            exponents.insert(0, "part", "last iterate vs K")
            summary = pd.concat([summary, exponents.drop(columns=["fitted − predicted", "covered"])],
                                ignore_index=True)
        failed = sum(not v.passed for v in verdicts)
        what = "claims failing of {}: {}".format(len(verdicts), "; ".join(
            f"{name} {'pass' if v.passed else 'fail'} {v.figure:.3g} (tolerance {v.tolerance:g})"
            for name, v in zip(("error-floor slopes", "last-iterate exponent and RR advantage"), verdicts,
                               strict=False)))
        headline = Verdict(failed == 0, float(failed), what, 0.0)
        return Analysis([headline, *verdicts], figures, summary)

    @staticmethod
    def _last_iterate(result: Result, folder: Path, options: StudyOptions, predicted: float,
                      horizon_scaled: bool) -> tuple[Verdict, pd.DataFrame, tuple[str, str]]:
        horizons = options.pick(LAST_ITERATE_SIZES)["horizons"]
        n = L1_PROBLEM["n_samples"]
        runs, curves = Shuffling.relabel(result.runs, options), result.curves
        table = last_iterates(runs, curves, n, horizons, horizon_scaled)
        exponents = exponent_table(table, predicted)
        covered = exponents[exponents.covered]
        worst = covered.loc[covered["|error|"].idxmax()]
        error = float(worst["|error|"])
        final = exponents.set_index("sampler")["final F − F*"]
        advantage = float(final["with_replacement"] / final["random_reshuffling"])
        margin = min(LAST_ITERATE_TOLERANCE - error, advantage / MIN_RR_ADVANTAGE - 1.0)
        verdict = Verdict(margin >= 0.0, margin,
                          f"margin of the last iterate F(x_K) − F*: min({LAST_ITERATE_TOLERANCE:g} − largest |fitted − "
                          f"predicted ({predicted:g})| exponent in K over RR, SS, IG (two-sided; worst "
                          f"{worst.sampler}: {error:.3f}), with-replacement / RR at the largest K ({advantage:.2f}) / "
                          f"{MIN_RR_ADVANTAGE:g} − 1); pass at or above the tolerance", 0.0)
        control = last_iterates(runs, curves, n, horizons, horizon_scaled=False) if horizon_scaled else None
        figure_entry = Shuffling._last_iterate_figure(table, exponents, control, predicted, folder)
        if control is not None:  # the same runs with the smallest horizon's step at every K: no decay expected
            rows = exponent_table(control, predicted).assign(covered=False)
            rows["sampler"] = rows["sampler"] + " (step not scaled, control)"
            exponents = pd.concat([exponents, rows], ignore_index=True)
        return verdict, exponents, figure_entry

    @staticmethod
    def _last_iterate_figure(table: pd.DataFrame, exponents: pd.DataFrame, control: pd.DataFrame | None,
                             predicted: float, folder: Path) -> tuple[str, str]:
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(5.6, 4.2))
            for i, sampler in enumerate(SAMPLERS):
                group = table[table.sampler_name == sampler].sort_values("epochs")
                if group.empty:
                    continue
                row = exponents[exponents.sampler == sampler].iloc[0]
                color = f"C{i}"
                k, mean = group["epochs"].to_numpy(), group["mean"].to_numpy()
                ax.errorbar(k, mean, yerr=2 * group["sem"], marker="o", color=color, linestyle="none",
                            label=f"{sampler.replace('_', ' ')}: exponent {row['fitted exponent']:.2f}")
                fit = fit_power_law(k, mean)
                ax.plot(k, np.exp(fit.intercept) * k**fit.slope, color=color, linewidth=1, alpha=0.7)
            k = np.sort(table["epochs"].unique()).astype(float)
            anchor = table[table.epochs == k[0]]["mean"].max()
            ax.plot(k, 1.5 * anchor * (k / k[0]) ** predicted, **F.THEORY_STYLE,
                    label=f"theory: K^{predicted:g} (upper bound, up to constants)")
            if control is not None:
                rr = control[control.sampler_name == "random_reshuffling"].sort_values("epochs")
                ax.plot(rr["epochs"], rr["mean"], color="grey", marker="x", linestyle=":",
                        label="RR, step not scaled with K (control)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("horizon K (epochs), step η_K = (D/G)/√(nK)")
            ax.set_ylabel("last iterate  E[F(x_K) − F*]")
            ax.set_title("ℓ1 regression (nonsmooth convex): last iterate vs K", fontsize=10)
            ax.legend(loc="best")
            fig.tight_layout()
        return ("Last-iterate suboptimality against the horizon K per sampler, fitted slopes (solid) and the "
                "predicted K^-1/2 (dashed)", F.save(fig, folder, "last_iterate")["png"])

    @staticmethod
    def _floor_figure(table: pd.DataFrame, slopes: pd.DataFrame, folder: Path) -> tuple[str, str]:
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(5.6, 4.2))
            for i, (sampler, group) in enumerate(table.groupby("sampler_name")):
                row = slopes[slopes.sampler == sampler].iloc[0]
                color = f"C{i}"
                label = f"{sampler.replace('_', ' ')}: slope {row['fitted slope']:.2f}"
                ax.errorbar(group.optimizer_learning_rate, group["floor"], yerr=2 * group["sem"], marker="o",
                            color=color, linestyle="none", label=label)
                gamma = group.optimizer_learning_rate.to_numpy()
                anchor = group["floor"].to_numpy()[-1]
                ax.plot(gamma, anchor * (gamma / gamma[-1]) ** row["predicted slope"], linestyle="--", color=color,
                        alpha=0.8)
            ax.plot([], [], "k--", label="theory: γ, γ², γ³")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("step size γ")
            ax.set_ylabel("error floor  E[F − F*] at epoch ends")
            ax.legend(loc="best")
            fig.tight_layout()
        return ("Error floor against the step size per sampler, with the predicted slopes (dashed)",
                F.save(fig, folder, "floors")["png"])
