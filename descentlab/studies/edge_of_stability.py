r"""edge-of-stability — full-batch GD on a tanh MLP sharpens until λ_max ≈ 2/η, then hovers there.

Claim (Cohen, Kaur, Li, Kolter, Talwalkar 2021): for full-batch gradient descent with step η on a
neural network, the sharpness :math:`S_t=\lambda_{\max}(\nabla^2 L(\theta_t))` first rises
(*progressive sharpening*) until it reaches the stability limit of GD on a quadratic, :math:`2/\eta`
(:func:`descentlab.theory.stability.sharpness_threshold`), and then hovers at (in practice just above)
:math:`2/\eta` while the loss keeps decreasing over long times, non-monotonically.

The study trains a tanh MLP with squared loss on one-hot labels (``digits_mlp``, as in the paper's
MSE experiments) by full-batch GD at several step sizes (one vmapped program), with the
``sharpness`` probe (Lanczos on Hessian-vector products of the full training loss). The *edge phase*
of a run is the part after the sharpness first crosses :math:`2/\eta` from below (checkpoints at or
after the first one with :math:`S\ge 2/\eta` that follows one with :math:`S<2/\eta`; an initial
sharpness above :math:`2/\eta` that GD immediately knocks down does not count). Verdict: the median of
:math:`S_t\,\eta/2` over the edge phase lies in [0.95, 1.10] for every step size (a run that never
reaches :math:`2/\eta` fails); the figure is the median farthest outside (or nearest the edge of) the band.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from descentlab.engine.spec import Spec, spec_from_dict
from descentlab.experiment import Result
from descentlab.report import figures as F
from descentlab.studies.base import Analysis, Study, StudyOptions, register_study
from descentlab.theory import PREDICTIONS, Verdict

BAND = (0.95, 1.10)
METRIC = "sharpness"

SIZES = {
    "quick": {"width": 16, "n_train": 128, "steps": 500, "checkpoints": 30, "iterations": 10,
              "learning_rate": [0.3, 0.35, 0.4]},
    "default": {"width": 32, "n_train": 256, "steps": 1200, "checkpoints": 48, "iterations": 12,
                "learning_rate": [0.25, 0.3, 0.35, 0.4]},
    "paper": {"width": 200, "n_train": 1000, "steps": 6000, "checkpoints": 120, "iterations": 20,
              "learning_rate": [0.05, 0.1, 0.15, 0.2]},
}

Threshold = Callable[[float], float]


def edge_line(learning_rate: float) -> float:
    """2/η, from the registered ``edge_of_stability`` prediction (plain GD, β = 0)."""
    steps = np.zeros(1, dtype=int)
    return float(PREDICTIONS.get("edge_of_stability").predict(steps, learning_rate=learning_rate,
                                                               momentum=0.0)["sharpness"][0])


def _size(options: StudyOptions) -> dict:
    return options.pick(SIZES)


def edge_phase(steps: np.ndarray, sharpness: np.ndarray, line: float) -> np.ndarray:
    """Mask of the checkpoints from the first upward crossing of ``line`` on (all False if none)."""
    above = np.isfinite(sharpness) & (sharpness >= line)
    below_seen = np.cumsum(~above & np.isfinite(sharpness)) > 0
    crossing = np.nonzero(above & np.concatenate([[False], below_seen[:-1]]))[0]
    mask = np.zeros(steps.shape, dtype=bool)
    if crossing.size:
        mask[crossing[0]:] = True
    return mask


def band_distance(ratio: float) -> float:
    """> 0 outside the band, in units of the band's half-widths below/above 1 (≤ 0 inside)."""
    if not np.isfinite(ratio):
        return np.inf
    return max((BAND[0] - ratio) / (1.0 - BAND[0]), (ratio - BAND[1]) / (BAND[1] - 1.0))


def per_run(runs: pd.DataFrame, curves: pd.DataFrame, threshold: Threshold = edge_line) -> pd.DataFrame:
    rows = []
    data = curves[curves.metric.isin([METRIC, "train_loss"])]
    for run in runs.itertuples():
        lr = float(run.optimizer_learning_rate)
        line = threshold(lr)
        sub = data[data.run == run.run]
        sharp = sub[sub.metric == METRIC].sort_values("step")
        loss = sub[sub.metric == "train_loss"].sort_values("step")
        steps, values = sharp.step.to_numpy(), sharp.value.to_numpy(float)
        mask = edge_phase(steps, values, line)
        ratio = values[mask] / line
        loss_values = loss.value.to_numpy(float)
        increases = int(np.sum(np.diff(loss_values[np.isin(loss.step.to_numpy(), steps[mask])]) > 0))
        rows.append({
            "lr": lr, "seed": int(run.seed), "2/η": line, "status": run.status,
            "initial sharpness": values[0] if values.size else np.nan,
            "max sharpness": float(np.nanmax(values)) if values.size else np.nan,
            "crossing step": int(steps[mask][0]) if mask.any() else np.nan,
            "edge checkpoints": int(mask.sum()),
            "median S·η/2": float(np.median(ratio)) if ratio.size else np.nan,
            "loss rises in edge phase": increases,
            "initial loss": loss_values[0] if loss_values.size else np.nan,
            "final loss": loss_values[-1] if loss_values.size else np.nan,
        })
    return pd.DataFrame(rows)


def verdicts_from(table: pd.DataFrame) -> list[Verdict]:
    distances = np.array([band_distance(r) for r in table["median S·η/2"]])
    worst = int(np.argmax(distances))
    figure = float(table["median S·η/2"].iloc[worst])
    passed = bool(np.all(distances <= 0))
    what = (f"median sharpness·η/2 after first crossing 2/η, worst of {len(table)} runs (η = "
            f"{table.lr.iloc[worst]:g}); pass band [{BAND[0]}, {BAND[1]}]")
    return [Verdict(passed, figure, what, BAND[1] - 1.0)]


@register_study("edge-of-stability")
class EdgeOfStability(Study):
    claim = ("Full-batch GD on a tanh MLP (MSE, digits): sharpness rises to 2/η and hovers there while the loss "
             "keeps falling non-monotonically")
    reference = ("Cohen, Kaur, Li, Kolter, Talwalkar. Gradient Descent on Neural Networks Typically Occurs at the "
                 "Edge of Stability (2103.00065)")

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = _size(options)
        return [spec_from_dict({
            "name": "edge-of-stability" + ("-quick" if options.quick else ""),
            "description": self.claim,
            "problem": {"name": "digits_mlp", "width": size["width"], "depth": 2, "activation": "tanh",
                        "loss_type": "mse", "n_train": size["n_train"]},
            "optimizer": {"name": "sgd", "learning_rate": {"grid": size["learning_rate"]}},
            "sampler": {"name": "full_batch"},
            "run": {"steps": size["steps"], "batch_size": size["n_train"], "seeds": 1,
                    "checkpoints": size["checkpoints"], "spacing": "linear"},
            "probes": ["metrics", {"name": "sharpness", "iterations": size["iterations"]}],
        })]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions,
                threshold: Threshold = edge_line) -> Analysis:
        result = results[0]
        runs, curves = result.runs, result.curves
        table = per_run(runs, curves, threshold)
        verdicts = verdicts_from(table)
        steps = np.sort(curves.step.unique())
        theory = pd.concat([pd.DataFrame({"optimizer_learning_rate": lr, "step": steps, "value": threshold(lr)})
                            for lr in runs.optimizer_learning_rate.unique()], ignore_index=True)
        fig = F.learning_curves(runs, curves, METRIC, theory=theory, theory_label="2/η (edge of stability)",
                                title="sharpness λ_max of the training loss, full-batch GD", logx=False, logy=False)
        figures = [("Sharpness vs step per step size, with the 2/η lines dashed (progressive sharpening, then the "
                    "edge of stability)", F.save(fig, folder, "sharpness")["png"])]
        fig = F.learning_curves(runs, curves, "train_loss", title="training loss (full batch)", logx=False)
        figures.append(("Training loss vs step per step size: it keeps falling, non-monotonically, at the edge",
                        F.save(fig, folder, "train_loss")["png"]))
        return Analysis(verdicts, figures, table)
