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
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from descentlab.engine.spec import Spec, spec_from_dict
from descentlab.experiment import Result
from descentlab.report import figures as F
from descentlab.studies.base import Analysis, Study, StudyOptions, register_study
from descentlab.theory import Verdict, fit_power_law

PREDICTED_SLOPE = {"with_replacement": 1.0, "single_shuffle": 2.0, "incremental": 2.0, "random_reshuffling": 3.0}
TOLERANCE = 0.25
METRIC = "suboptimality"

SIZES = {
    "quick": {"n": 16, "epochs": 400, "tail": 100, "seeds": 8, "lr": [0.004, 0.04, 3]},
    "default": {"n": 20, "epochs": 1000, "tail": 300, "seeds": 32, "lr": [0.002, 0.03, 5]},
    "paper": {"n": 64, "epochs": 4000, "tail": 1000, "seeds": 64, "lr": [0.0005, 0.01, 7]},
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


@register_study("shuffling")
class Shuffling(Study):
    claim = ("SGD's error floor at a constant step γ scales as γ with replacement, γ² with one fixed order, "
             "γ³ with random reshuffling")
    reference = ("Mishchenko, Khaled, Richtárik. Random Reshuffling: Simple Analysis with Vast Improvements "
                 "(2006.05988); Safran & Shamir. How Good is SGD with Random Shuffling? (COLT 2020)")

    @staticmethod
    def size(options: StudyOptions) -> dict:
        return options.pick(SIZES)

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = self.size(options)
        n, epochs, tail = size["n"], size["epochs"], size["tail"]
        checkpoints = sorted({0, *(n * k for k in range(epochs - tail, epochs + 1, max(1, tail // 50)))})
        return [spec_from_dict({
            "name": "shuffling" + ("-quick" if options.quick else ""),
            "description": self.claim,
            "problem": {"name": "finite_sum_quadratic", "n": n, "dim": 5, "mu": 0.5},
            "optimizer": {"name": "sgd", "learning_rate": {"logspace": size["lr"]}},
            "sampler": {"name": {"grid": ["with_replacement", "single_shuffle", "incremental", "random_reshuffling"]}},
            "run": {"steps": n * epochs, "batch_size": 1, "seeds": size["seeds"], "checkpoints": checkpoints,
                    "dtype": "float64"},
            "probes": ["metrics"],
        })]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions,
                predicted: dict[str, float] = PREDICTED_SLOPE) -> Analysis:
        size = self.size(options)
        runs, curves = results[0].runs, results[0].curves
        table = floors(runs, curves, size["n"] * (size["epochs"] - size["tail"]))
        slopes = slope_table(table, predicted)
        worst = slopes.loc[slopes["|error|"].idxmax()]
        verdict = Verdict(bool(slopes["|error|"].max() <= TOLERANCE), float(slopes["|error|"].max()),
                          f"largest |fitted − predicted| slope of the error floor vs γ, worst: {worst.sampler}",
                          TOLERANCE)
        figures = [self._floor_figure(table, slopes, folder)]
        fig = F.learning_curves(runs[runs.sampler_name == "random_reshuffling"], curves, METRIC, logx=False,
                                title="random reshuffling: F − F* at epoch ends (last epochs)")
        figures.append(("F − F* at the last epochs' ends, random reshuffling", F.save(fig, folder, "tail_rr")["png"]))
        return Analysis([verdict], figures, slopes)

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
