r"""adagrad-norm — AdaGrad-Norm's learning rate settles at a limit set by the data's covariance.

Claim (Collins-Woodfin, Seroussi, Garcia Malaxechebarria, Mackenzie, Paquette, Paquette, *The High
Line*, 2024): on high-dimensional least squares, AdaGrad-Norm's risk and learning rate
:math:`\gamma_t=\eta/\sqrt{b_0^2+\sum_{s\le t}\|g_s\|^2}` concentrate on deterministic curves given by
a coupled risk / learning-rate system; with noiseless targets the learning rate converges to a
limit :math:`\gamma_\infty` inversely proportional to the average eigenvalue :math:`\bar\lambda` of the
covariance (at a fixed distance to the teacher).

The study multiplies the covariance by a scale factor (``problem.scale``, a vmapped axis, so
:math:`\bar\lambda` ∝ scale and θ* is unchanged), runs AdaGrad-Norm on streaming least squares,
records the effective learning rate on the device (probe ``effective_lr``) and the exact population
risk, and overlays the high-line prediction. Verdicts: the simulated limiting learning rate
(seed mean at the last step) over the predicted one, for every scale, within 5 % (the headline:
the largest |ratio − 1|); and the fitted exponent of :math:`\gamma_\infty` against :math:`\bar\lambda`
equals −1 within 0.1.
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
from descentlab.theory import PREDICTIONS, Verdict, fit_power_law

SCALES = [0.25, 0.5, 1.0, 2.0, 4.0]
LEARNING_RATE = 2.0
B0 = 0.01
RATIO_TOLERANCE = 0.05
EXPONENT_TOLERANCE = 0.1

SIZES = {
    "quick": {"dim": 100, "steps": 3000, "seeds": 8},
    "default": {"dim": 400, "steps": 12000, "seeds": 16},
    "paper": {"dim": 2000, "steps": 60000, "seeds": 32},
}


def predicted_curves(runs: pd.DataFrame, steps: np.ndarray, scale: float) -> dict[str, np.ndarray]:
    row = runs[runs.problem_scale == scale].iloc[0]
    return PREDICTIONS.get("adagrad_norm_least_squares").predict(
        steps, dim=int(row.problem_dim), spectrum=row.problem_spectrum, scale=float(scale),
        noise=float(row.problem_noise), learning_rate=float(row.optimizer_learning_rate),
        b0=float(row.optimizer_b0), batch_size=int(row.run_batch_size))


def seed_means(runs: pd.DataFrame, curves: pd.DataFrame, metric: str) -> pd.DataFrame:
    data = curves[curves.metric == metric].merge(runs[["run", "problem_scale", "status"]], on="run")
    data = data[data.status == "ok"]
    return data.groupby(["problem_scale", "step"])["value"].mean().reset_index()


@register_study("adagrad-norm")
class AdaGradNorm(Study):
    claim = ("AdaGrad-Norm's learning rate on least squares converges to a limit inversely proportional to the "
             "covariance's average eigenvalue, as the high-line ODE predicts")
    reference = "Collins-Woodfin et al. The High Line: Exact Risk and Learning Rate Curves (2405.19585)"

    @staticmethod
    def size(options: StudyOptions) -> dict:
        return options.pick(SIZES)

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = self.size(options)
        return [spec_from_dict({
            "name": "adagrad-norm" + ("-quick" if options.quick else ""),
            "description": self.claim,
            "problem": {"name": "least_squares", "dim": size["dim"], "spectrum": "isotropic", "noise": 0.0,
                        "scale": {"grid": SCALES}},
            "optimizer": {"name": "adagrad_norm", "learning_rate": LEARNING_RATE, "b0": B0},
            "run": {"steps": size["steps"], "seeds": size["seeds"], "checkpoints": 60},
            "probes": ["metrics", "effective_lr"],
        })]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions,
                predicted_exponent: float = -1.0) -> Analysis:
        runs, curves = results[0].runs, results[0].curves
        lr = seed_means(runs, curves, "effective_lr")
        risk = seed_means(runs, curves, "population_risk")
        rows, theory_lr, theory_risk = [], [], []
        for scale, group in lr.groupby("problem_scale"):
            steps = group["step"].to_numpy()
            predicted = predicted_curves(runs, steps, scale)
            measured_limit = float(group["value"].iloc[-1])
            predicted_limit = float(predicted["learning_rate"][-1])
            mean_eigenvalue = float(scale) / int(runs.problem_dim.iloc[0])
            rows.append({"scale": scale, "average eigenvalue": mean_eigenvalue, "γ∞ measured": measured_limit,
                         "γ∞ predicted": predicted_limit, "ratio": measured_limit / predicted_limit,
                         "γ∞ closed form": float(predicted["limit_learning_rate_closed_form"][-1]),
                         "final risk": float(risk[risk.problem_scale == scale]["value"].iloc[-1])})
            theory_lr.append(pd.DataFrame({"problem_scale": scale, "step": steps, "value": predicted["learning_rate"]}))
            theory_risk.append(pd.DataFrame({"problem_scale": scale, "step": steps, "value": predicted["risk"]}))
        table = pd.DataFrame(rows)
        worst = float(np.max(np.abs(table["ratio"] - 1.0)))
        headline = Verdict(worst <= RATIO_TOLERANCE, worst,
                           "largest |γ∞ simulated / γ∞ predicted − 1| over covariance scales", RATIO_TOLERANCE)
        fit = fit_power_law(table["average eigenvalue"].to_numpy(), table["γ∞ measured"].to_numpy())
        gap = abs(fit.value - predicted_exponent)
        exponent = Verdict(gap <= EXPONENT_TOLERANCE, gap,
                           f"|fitted {fit.value:.3f} − predicted {predicted_exponent:g}| exponent of γ∞ vs average "
                           "eigenvalue", EXPONENT_TOLERANCE)
        figures = []
        fig = F.learning_curves(runs, curves, "effective_lr", theory=pd.concat(theory_lr),
                                theory_label=f"high-line ODE ({'pass' if headline.passed else 'fail'} {worst:.3g})",
                                title="AdaGrad-Norm learning rate", logy=True)
        figures.append(("Effective learning rate γ_t per covariance scale: seed mean, band, high-line prediction",
                        F.save(fig, folder, "learning_rate")["png"]))
        fig = F.learning_curves(runs, curves, "population_risk", theory=pd.concat(theory_risk),
                                theory_label="high-line ODE", title="AdaGrad-Norm risk")
        figures.append(("Population risk per covariance scale, with the high-line prediction",
                        F.save(fig, folder, "risk")["png"]))
        figures.append(self._limit_figure(table, fit, folder))
        return Analysis([headline, exponent], figures, table)

    @staticmethod
    def _limit_figure(table: pd.DataFrame, fit, folder: Path) -> tuple[str, str]:
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(5.2, 3.9))
            ax.plot(table["average eigenvalue"], table["γ∞ measured"], "o", label="simulated (seed mean)")
            ax.plot(table["average eigenvalue"], table["γ∞ predicted"], **F.THEORY_STYLE,
                    label="high-line prediction")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("average eigenvalue λ̄ of the covariance")
            ax.set_ylabel("limiting learning rate γ∞")
            ax.set_title(f"fitted exponent {fit.value:.3f} (predicted −1)", fontsize=10)
            ax.legend()
            fig.tight_layout()
        return "Limiting learning rate against the average eigenvalue (log–log)", F.save(fig, folder, "limit")["png"]
