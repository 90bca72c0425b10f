r"""sgd-risk-curves — exact risk trajectories of streaming SGD on high-dimensional least squares.

Claim (Paquette, Paquette, Adlam, Pennington 2022): for streaming SGD on least squares with Gaussian
data, the risk concentrates on a deterministic curve given by homogenized SGD (a Volterra
equation, integrated here as its ODE) that depends only on the covariance spectrum, the teacher's
profile in the eigenbasis, the label noise and the learning-rate schedule.

The study sweeps the learning rate × 32 seeds for three spectra (isotropic, zero-one, power law),
overlays the deterministic equivalent, and keeps the exact finite-d expected risk (the closed
second-moment recursion, exact at every d) as a reference. Verdict: the maximum relative error,
over every checkpoint, learning rate and spectrum, between the seed mean and the deterministic
equivalent, within 5 %.
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
from descentlab.theory import PREDICTIONS, Verdict, verdict

SPECTRA = ["isotropic", "zero_one", "power_law"]
METRIC = "population_risk"
TOLERANCE = 0.05

SIZES = {
    "quick": {"dim": 500, "steps": 1500, "seeds": 32, "learning_rate": [0.3, 1.0]},
    "default": {"dim": 2000, "steps": 10000, "seeds": 32, "learning_rate": [0.25, 0.5, 1.0, 1.5]},
    "paper": {"dim": 8000, "steps": 50000, "seeds": 128, "learning_rate": [0.25, 0.5, 1.0, 1.5]},
}
# α = 0.5: the spectrum's effective dimension (Σλ)²/Σλ² ≈ 4d/ln d grows with d, so the risk
# concentrates (for α ≥ 1 it stays O(log² d) and a few directions keep the fluctuations O(1)).
PROBLEM = {"name": "least_squares", "alpha": 0.5, "zero_fraction": 0.5, "noise": 0.1, "teacher": "flat"}

Predictor = Callable[[np.ndarray, dict], np.ndarray]


def _size(options: StudyOptions) -> dict:
    return options.pick(SIZES)


def deterministic_equivalent(steps: np.ndarray, params: dict) -> np.ndarray:
    return PREDICTIONS.get("sgd_least_squares_ode").predict(steps, **params)["risk"]


def exact_finite_d(steps: np.ndarray, params: dict) -> np.ndarray:
    return PREDICTIONS.get("sgd_least_squares").predict(steps, **params)["risk"]


def theory_params(runs: pd.DataFrame, spectrum: str, lr: float) -> dict:
    """The prediction's parameters, read from the stored runs (so theory sees what ran)."""
    row = runs[(runs.problem_spectrum == spectrum) & (runs.optimizer_learning_rate == lr)].iloc[0]
    problem = {k[len("problem_"):]: row[k] for k in runs.columns if k.startswith("problem_") and k != "problem_name"}
    problem = {k: (v.item() if hasattr(v, "item") else v) for k, v in problem.items() if not pd.isna(v)}
    return {**problem, "learning_rate": float(lr), "batch_size": int(row.run_batch_size)}


def seed_means(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard error and count of the risk over seeds, per (spectrum, lr, step)."""
    data = curves[curves.metric == METRIC].merge(
        runs[["run", "problem_spectrum", "optimizer_learning_rate", "status"]], on="run")
    data = data[data.status == "ok"]
    grouped = data.groupby(["problem_spectrum", "optimizer_learning_rate", "step"])["value"]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    out["stderr"] = out["std"] / np.sqrt(out["count"])
    return out


def _max_z(mean: np.ndarray, stderr: np.ndarray, exact: np.ndarray) -> float:
    """Largest |mean − exact| / standard error over the points where seeds differ (not step 0)."""
    spread = stderr > 0
    return float(np.max(np.abs(mean - exact)[spread] / stderr[spread])) if spread.any() else 0.0


def compare(runs: pd.DataFrame, curves: pd.DataFrame, predictor: Predictor = deterministic_equivalent,
            reference: Predictor = exact_finite_d) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-curve comparison table and the long theory frame for the overlay."""
    means = seed_means(runs, curves)
    rows, theory = [], []
    for (spectrum, lr), sub in means.groupby(["problem_spectrum", "optimizer_learning_rate"]):
        steps = sub["step"].to_numpy()
        params = theory_params(runs, spectrum, lr)
        predicted = predictor(steps, params)
        exact = reference(steps, params)
        n_diverged = int((runs[(runs.problem_spectrum == spectrum) & (runs.optimizer_learning_rate == lr)]
                          .status == "diverged").sum())
        rows.append({
            "spectrum": spectrum, "lr": lr, "seeds": int(sub["count"].max()), "diverged": n_diverged,
            "final risk (mean)": sub["mean"].iloc[-1], "final risk (ODE)": predicted[-1],
            "final risk (exact)": exact[-1],
            "max rel err ODE": float(np.max(np.abs(sub["mean"].to_numpy() - predicted) / np.abs(predicted))),
            "max rel err exact": float(np.max(np.abs(sub["mean"].to_numpy() - exact) / np.abs(exact))),
            "max |z| exact": _max_z(sub["mean"].to_numpy(), sub["stderr"].to_numpy(), exact),
        })
        theory.append(pd.DataFrame({"problem_spectrum": spectrum, "optimizer_learning_rate": lr,
                                    "step": steps, "value": predicted}))
    return pd.DataFrame(rows), pd.concat(theory, ignore_index=True)


def verdicts_from(table: pd.DataFrame, measured_and_predicted: list[tuple[np.ndarray, np.ndarray]]) -> list[Verdict]:
    measured = np.concatenate([m for m, _ in measured_and_predicted])
    predicted = np.concatenate([p for _, p in measured_and_predicted])
    headline = verdict(measured, predicted, kind="curve", tolerance=TOLERANCE)
    return [Verdict(headline.passed, headline.figure,
                    "max relative error, deterministic equivalent vs seed mean, all curves", headline.tolerance)]


@register_study("sgd-risk-curves")
class SGDRiskCurves(Study):
    claim = ("Streaming SGD on high-dimensional least squares follows a deterministic risk curve "
             "(homogenized SGD), for isotropic, zero-one and power-law spectra")
    reference = "Paquette, Paquette, Adlam, Pennington. Homogenization of SGD in high-dimensions (2205.07069)"

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = _size(options)
        return [spec_from_dict({
            "name": "sgd-risk-curves" + ("-quick" if options.quick else ""),
            "description": self.claim,
            "problem": {**PROBLEM, "dim": size["dim"], "spectrum": {"grid": SPECTRA}},
            "optimizer": {"name": "sgd", "learning_rate": {"grid": size["learning_rate"]}},
            "run": {"steps": size["steps"], "batch_size": 1, "seeds": size["seeds"], "checkpoints": 60},
            "probes": ["metrics"],
        })]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions,
                predictor: Predictor = deterministic_equivalent) -> Analysis:
        result = results[0]
        runs, curves = result.runs, result.curves
        table, theory = compare(runs, curves, predictor)
        means = seed_means(runs, curves)
        pairs = []
        for (spectrum, lr), sub in means.groupby(["problem_spectrum", "optimizer_learning_rate"]):
            predicted = theory[(theory.problem_spectrum == spectrum) & (theory.optimizer_learning_rate == lr)]
            pairs.append((sub["mean"].to_numpy(), predicted["value"].to_numpy()))
        verdicts = verdicts_from(table, pairs)
        fig = F.learning_curves(runs, curves, METRIC, theory=theory,
                                theory_label=f"deterministic equivalent ({'pass' if verdicts[0].passed else 'fail'}"
                                             f" {verdicts[0].figure:.3g})",
                                title="streaming SGD, least squares")
        figures = [("Population risk vs step per spectrum: seed mean, 10–90 % band, deterministic equivalent dashed",
                    F.save(fig, folder, "risk_curves")["png"])]
        fig = F.final_vs_axis(runs, "population_risk")
        figures.append(("Final risk against the learning rate, per spectrum", F.save(fig, folder, "final_risk")["png"]))
        return Analysis(verdicts, figures, table)
