r"""ntk-linearization — wide networks in the NTK parameterization train lazily, at the predicted rates in width.

Claim (Jacot, Gabriel, Hongler 2018; Lee et al. 2019; Dyer & Gur-Ari 2020): trained by full-batch GD
with a width-independent step for a width-independent time, a network of width n in the NTK
parameterization (:mod:`descentlab.problems.ntk_network`) stays close to its linearization
:math:`f^{\rm lin}_t = f_0 + J_0(\theta_t-\theta_0)`; the relative changes at the end of training scale as

* first-layer and readout weights: :math:`\|W_t-W_0\|_F/\|W_0\|_F \propto n^{-1/2}`;
* hidden-to-hidden weights (three-layer network): :math:`\propto n^{-1}`;
* the empirical NTK on the training set: :math:`\|\Theta_t-\Theta_0\|_F/\|\Theta_0\|_F \propto n^{-1}`.

The study trains a two-layer network at widths 64 … 4096 and a three-layer network at widths
64 … 1024 (4096 at ``--scale paper``), several seeds each, with the ``ntk`` probe (kernel drift and
kernel–target alignment over training) and the ``lazy_training`` probe below (per-layer relative
weight change and the distance between the network and its linearization). Verdict: the exponents of
power laws fitted to the seed-mean final values against width match the predictions, each within ±0.2;
the headline figure is the largest deviation.

``lazy_training`` probe (:mod:`descentlab.probes.lazy_training`): with θ₀ the initial
parameters, ``weight_change.<leaf>`` :math:`=\|W_t-W_0\|_F/\|W_0\|_F` for every parameter leaf and
``weight_change`` for the whole vector; and, on the evaluation batch (the whole training set for a
finite problem trained by full-batch GD at a constant step η on ½·mean squared error),
``linearization_gap`` :math:`=\|f_t(X)-f^{\rm lin}_t(X)\|/\|f_0(X)-Y\|`, where the linearized
residual is :math:`r^{\rm lin}_t = V\,\mathrm{diag}\big((1-\eta\omega_k/n)^t\big)V^\top r_0` with
:math:`\Theta_0 = V\mathrm{diag}(\omega)V^\top` (:mod:`descentlab.theory.ntk_linearized`).
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
from descentlab.theory import Verdict, fit_power_law, verdict

TOLERANCE = 0.2
LEARNING_RATE = 1.0
PROBLEM = {"name": "ntk_mlp", "dim": 8, "n_train": 32, "n_test": 256, "activation": "tanh"}

SIZES = {
    "quick": {"steps": 100, "seeds": 2, "widths": {2: [64, 256, 1024], 3: [128, 256, 512]}},
    "default": {"steps": 200, "seeds": 4, "widths": {2: [64, 256, 1024, 4096], 3: [64, 128, 256, 512, 1024]}},
    "paper": {"steps": 1000, "seeds": 8, "widths": {2: [64, 128, 256, 512, 1024, 2048, 4096],
                                                    3: [64, 128, 256, 512, 1024, 2048, 4096]}},
}

# (depth, metric) -> predicted exponent of the final relative change against width (Dyer & Gur-Ari 2020)
PREDICTIONS: dict[tuple[int, str], float] = {
    (2, "weight_change.w1"): -0.5,
    (2, "weight_change.w2"): -0.5,
    (2, "ntk_change"): -1.0,
    (3, "weight_change.w1"): -0.5,
    (3, "weight_change.w2"): -1.0,
    (3, "weight_change.w3"): -0.5,
    (3, "ntk_change"): -1.0,
}
LABELS = {"weight_change.w1": "first layer W₁", "weight_change.w2": "W₂", "weight_change.w3": "readout W₃",
          "ntk_change": "NTK Θ", "linearization_gap": "‖f − f_lin‖/‖f₀ − y‖"}


def _label(depth: int, metric: str) -> str:
    if metric == "weight_change.w2":
        return "readout W₂" if depth == 2 else "hidden-to-hidden W₂"
    return LABELS[metric]


# ---- analysis ----------------------------------------------------------------------------------


def _size(options: StudyOptions) -> dict:
    return options.pick(SIZES)


def final_values(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Seed mean of every metric at the last checkpoint, per (depth, width)."""
    last = curves[curves.step == curves.step.max()].merge(
        runs[["run", "problem_depth", "problem_width", "status"]], on="run")
    last = last[last.status == "ok"]
    return (last.groupby(["problem_depth", "problem_width", "metric"])["value"].mean()
            .unstack("metric").reset_index())


def fitted_exponents(finals: pd.DataFrame, predictions: dict[tuple[int, str], float]) -> pd.DataFrame:
    rows = []
    for (depth, metric), predicted in predictions.items():
        sub = finals[finals.problem_depth == depth].sort_values("problem_width")
        if metric not in sub or len(sub) < 3:
            rows.append({"depth": depth, "quantity": metric, "predicted": predicted, "fitted": np.nan,
                         "deviation": np.inf, "passed": False})
            continue
        widths, values = sub.problem_width.to_numpy(float), sub[metric].to_numpy(float)
        v = verdict(values, predicted, kind="exponent", tolerance=TOLERANCE, steps=widths)
        fit = fit_power_law(widths, values)
        rows.append({"depth": depth, "quantity": metric, "predicted": predicted, "fitted": fit.value,
                     "ci low": fit.low, "ci high": fit.high, "deviation": v.figure, "passed": v.passed,
                     "C": float(np.exp(fit.intercept))})
    return pd.DataFrame(rows)


def verdicts_from(table: pd.DataFrame) -> list[Verdict]:
    worst = float(np.max(table.deviation)) if len(table) else np.inf
    headline = Verdict(bool(np.isfinite(worst) and table.passed.all()), worst,
                       "max |fitted − predicted| exponent vs width of the relative change of W₁, hidden-to-hidden "
                       "W₂, readout and NTK", TOLERANCE)
    out = [headline]
    for row in table.itertuples():
        out.append(Verdict(bool(row.passed), float(row.deviation),
                           f"|fitted {row.fitted:.3g} − predicted {row.predicted:g}| exponent, "
                           f"{_label(row.depth, row.quantity)}, depth {row.depth}", TOLERANCE))
    return out


def scaling_figure(finals: pd.DataFrame, table: pd.DataFrame, extra: str = "linearization_gap"):
    depths = sorted(finals.problem_depth.unique())
    with plt.rc_context(F.STYLE):
        fig, axs = plt.subplots(1, len(depths), figsize=(5.0 * len(depths) + 0.5, 4.0), squeeze=False)
        for ax, depth in zip(axs[0], depths, strict=True):
            sub = finals[finals.problem_depth == depth].sort_values("problem_width")
            widths = sub.problem_width.to_numpy(float)
            rows = table[table.depth == depth]
            for i, row in enumerate(rows.itertuples()):
                color = plt.get_cmap("tab10")(i)
                ax.plot(widths, sub[row.quantity], "o-", color=color,
                        label=f"{_label(depth, row.quantity)}: fit {row.fitted:.2f}")
                anchor = sub[row.quantity].to_numpy(float)
                # theory: n^p through the geometric mean of the measured points
                c = np.exp(np.mean(np.log(anchor) - row.predicted * np.log(widths)))
                ax.plot(widths, c * widths**row.predicted, **{**F.THEORY_STYLE, "color": color})
            if extra in sub:
                ax.plot(widths, sub[extra], "s:", color="grey", label=f"{LABELS[extra]} (no verdict)")
            ax.plot([], [], **F.THEORY_STYLE, label="prediction n^-1/2, n^-1")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("width n")
            ax.set_title(f"depth {depth} ({depth - 1} hidden layer{'s' if depth > 2 else ''})", fontsize=10)
            ax.legend(loc="best")
        axs[0][0].set_ylabel("relative change at the end of training")
        fig.tight_layout()
        return fig


SHORT = {"weight_change.w1": "ΔW1", "weight_change.w2": "ΔW2", "weight_change.w3": "ΔW3", "ntk_change": "ΔΘ",
         "ntk_alignment": "alignment", "linearization_gap": "lin gap", "train_loss": "train loss"}


def summary_table(finals: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Per (depth, width) final seed means, then per depth the fitted and predicted exponents."""
    out = finals.rename(columns={"problem_depth": "depth", "problem_width": "width", **SHORT})
    out = out[["depth", "width"] + [c for c in SHORT.values() if c in out]].astype({"width": str})
    rows = []
    for depth, sub in table.groupby("depth"):
        for kind in ("fitted", "predicted"):
            rows.append({"depth": depth, "width": f"{kind} exponent",
                         **{SHORT[q]: v for q, v in zip(sub.quantity, sub[kind], strict=True)}})
    return pd.concat([out, pd.DataFrame(rows)], ignore_index=True).sort_values("depth", kind="stable")


@register_study("ntk-linearization")
class NTKLinearization(Study):
    claim = ("Wide networks in NTK parameterization train lazily: relative change of first-layer and readout "
             "weights ∝ n^-1/2, of hidden-to-hidden weights and of the NTK ∝ n^-1")
    reference = ("Jacot, Gabriel, Hongler (1806.07572); Lee et al. (1902.06720); "
                 "Dyer, Gur-Ari. Asymptotics of Wide Networks from Feynman Diagrams (1909.11304)")

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = _size(options)
        out = []
        for depth, widths in size["widths"].items():
            out.append(spec_from_dict({
                "name": f"ntk-linearization-depth{depth}" + ("-quick" if options.quick else ""),
                "description": self.claim,
                "problem": {**PROBLEM, "depth": depth, "width": {"grid": widths}},
                "optimizer": {"name": "sgd", "learning_rate": LEARNING_RATE},
                "sampler": {"name": "full_batch"},
                "run": {"steps": size["steps"], "batch_size": PROBLEM["n_train"], "seeds": size["seeds"],
                        "checkpoints": 16, "spacing": "log"},
                "probes": ["metrics", {"name": "ntk", "n_probe": PROBLEM["n_train"], "k": 1},
                           "lazy_training"],
            }))
        return out

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions,
                predictions: dict[tuple[int, str], float] | None = None) -> Analysis:
        predictions = PREDICTIONS if predictions is None else predictions
        finals = pd.concat([final_values(r.runs, r.curves) for r in results], ignore_index=True)
        table = fitted_exponents(finals, predictions)
        verdicts = verdicts_from(table)
        figures = [("Relative change at the end of training against width (seed means), with the predicted "
                    "n^-1/2 and n^-1 slopes dashed", F.save(scaling_figure(finals, table), folder, "scaling")["png"])]
        for result in results:
            depth = int(result.runs.problem_depth.iloc[0])
            fig = F.learning_curves(result.runs, result.curves, "ntk_alignment", logy=False,
                                    title=f"kernel–target alignment, depth {depth}")
            figures.append((f"Kernel–target alignment A(Θ_t, yyᵀ) over training per width, depth {depth}",
                            F.save(fig, folder, f"alignment_depth{depth}")["png"]))
            fig = F.learning_curves(result.runs, result.curves, "ntk_change", title=f"NTK change, depth {depth}")
            figures.append((f"‖Θ_t − Θ₀‖/‖Θ₀‖ over training per width, depth {depth}",
                            F.save(fig, folder, f"ntk_change_depth{depth}")["png"]))
            fig = F.learning_curves(result.runs, result.curves, "train_loss", title=f"training loss, depth {depth}")
            figures.append((f"Training loss per width, depth {depth}",
                            F.save(fig, folder, f"train_loss_depth{depth}")["png"]))
        return Analysis(verdicts, figures, summary_table(finals, table))
