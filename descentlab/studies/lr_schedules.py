r"""lr-schedules — what a learning-rate schedule does to SGD's final risk, and at what rate.

Claim (the asymptotic theory of SGD with a general learning rate; Moulines & Bach 2011 for
polynomial decays): on least squares with label noise σ, once the initial error is forgotten the
excess risk tracks the step size, :math:`\mathcal R_t-\sigma^2/2 \asymp \eta_t\,\sigma^2\operatorname{tr}K/4`.
So a constant step stalls on a floor ∝ η₀, a polynomial decay :math:`\eta_t=\eta_0/(1+t/t_0)^{\alpha}`
(0 < α < 1) gives the rate :math:`t^{-\alpha}`, and schedules that end at zero (linear decay,
warmup–stable–decay) finish far below the constant step; a triangular cyclical schedule
oscillates between the floors of its two extremes.

The study runs each schedule family as its own experiment (α of the polynomial decay is a vmapped
axis), 32 seeds each, and checks three things:

1. the rate: the slope of the seed-mean excess risk over the last decade of steps, fitted on log–log
   axes, equals −α for each polynomial decay — the headline verdict is the largest |slope + α|,
   tolerance 0.15 (finite-time corrections of the exact recursion are ≤ 0.03 at these sizes);
2. the curves: the exact expected-risk recursion for SGD with that schedule agrees with the seed
   mean within sampling error everywhere (max |mean − exact| / standard error ≤ 4.5);
3. the ordering: every schedule that decays to zero ends below the constant step, and a larger α
   ends lower (reported as the number of violated orderings, which must be 0).

The same schedules also run on logistic regression on a two-class Gaussian mixture. There, within
the step budget, the loss is still far from its noise floor (bias-dominated), and the theory's
prediction is different: the risk is a function of the intrinsic time :math:`\tau_T=\sum_{t<T}\eta_t`
(gradient flow time), so the final loss is ordered inversely to :math:`\tau_T` — a constant step now
ends lowest. Verdict 4: the number of schedule pairs whose final loss is not ordered by
:math:`\tau_T` (must be 0).
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from descentlab.engine.spec import Spec, spec_from_dict
from descentlab.experiment import Result
from descentlab.optim import SCHEDULES
from descentlab.report import figures as F
from descentlab.studies.base import Analysis, Study, StudyOptions, register_study
from descentlab.theory import PREDICTIONS, Verdict, fit_power_law, verdict

ALPHAS = [0.3, 0.5, 0.7]
RATE_TOLERANCE = 0.15
Z_TOLERANCE = 4.5  # max |seed mean − exact| / standard error over every point of every curve
METRIC = "excess_risk"

# d = 20 keeps η_t·λ·t ≫ α (the quasi-static regime where the excess risk tracks η_t) within the
# step budget; the exact recursion's late slopes are then within 0.03 of −α. Small d means larger
# per-run fluctuations, hence many seeds (they are cheap at this size).
SIZES = {
    "quick": {"dim": 20, "steps": 5000, "seeds": 64},
    "default": {"dim": 20, "steps": 20000, "seeds": 128},
    "paper": {"dim": 50, "steps": 200000, "seeds": 256},
}
LEARNING_RATE = 0.5
NOISE = 0.5
LOGISTIC_DIM = 20


def schedules(steps: int) -> dict[str, dict]:
    """Each family's ``[schedule]`` section (``power`` swept for the polynomial decay)."""
    return {
        "constant": {"name": "constant"},
        "polynomial": {"name": "polynomial", "power": {"grid": ALPHAS}, "t0": 100.0},
        "linear_decay": {"name": "linear_decay"},
        "wsd": {"name": "wsd", "decay_fraction": 0.2, "cooldown": "linear"},
        "triangular": {"name": "triangular", "half_cycle": max(steps // 10, 1), "min_fraction": 0.1},
    }


def label(row: pd.Series) -> str:
    if row["schedule_name"] == "polynomial":
        return f"polynomial α={row['schedule_power']:g}"
    return str(row["schedule_name"])


def seed_mean_by_label(result: Result) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = result.runs.copy()
    runs["label"] = runs.apply(label, axis=1)
    curves = result.curves
    data = curves[curves.metric == METRIC].merge(runs[["run", "label", "status"]], on="run")
    data = data[data.status == "ok"]
    means = data.groupby(["label", "step"])["value"].agg(["mean", "std", "count"]).reset_index()
    means["stderr"] = means["std"] / np.sqrt(means["count"])
    return runs, means


def exact_curve(row: pd.Series, steps: np.ndarray, total: int) -> np.ndarray:
    params = {k[len("problem_"):]: row[k] for k in row.index if k.startswith("problem_") and k != "problem_name"}
    params = {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items() if not pd.isna(v)}
    schedule = {k[len("schedule_"):]: row[k] for k in row.index
                if k.startswith("schedule_") and k != "schedule_name" and not pd.isna(row[k])}
    schedule = {k: (v.item() if hasattr(v, "item") else v) for k, v in schedule.items()}
    out = PREDICTIONS.get("sgd_least_squares").predict(
        steps, **params, learning_rate=float(row["optimizer_learning_rate"]), batch_size=int(row["run_batch_size"]),
        schedule=row["schedule_name"], total_steps=total, **schedule)
    return out[METRIC]


@register_study("lr-schedules")
class LRSchedules(Study):
    claim = ("With label noise, SGD's excess risk tracks the step size: a polynomial decay η₀/(1+t/t₀)^α gives "
             "the rate t^-α, schedules decaying to zero beat a constant step")
    reference = ("Moulines & Bach. Non-asymptotic analysis of stochastic approximation algorithms (NeurIPS 2011); "
                 "Asymptotic theory of SGD with a general learning-rate")

    @staticmethod
    def size(options: StudyOptions) -> dict:
        return options.pick(SIZES)

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = self.size(options)
        out = []
        for family, schedule in schedules(size["steps"]).items():
            out.append(spec_from_dict({
                "name": f"lr-schedules-{family}" + ("-quick" if options.quick else ""),
                "description": self.claim,
                "problem": {"name": "least_squares", "dim": size["dim"], "spectrum": "isotropic", "noise": NOISE},
                "optimizer": {"name": "sgd", "learning_rate": LEARNING_RATE},
                "schedule": schedule,
                "run": {"steps": size["steps"], "seeds": size["seeds"], "checkpoints": 80},
                "probes": ["metrics"],
            }))
        for family, schedule in schedules(size["steps"]).items():
            out.append(spec_from_dict({
                "name": f"lr-schedules-logistic-{family}" + ("-quick" if options.quick else ""),
                "description": self.claim,
                "problem": {"name": "logistic_mixture", "dim": LOGISTIC_DIM},
                "optimizer": {"name": "sgd", "learning_rate": LEARNING_RATE},
                "schedule": schedule,
                "run": {"steps": size["steps"], "seeds": size["seeds"] // 2, "checkpoints": 40},
                "probes": ["metrics"],
            }))
        return out

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions,
                alphas: list[float] | None = None) -> Analysis:
        size = self.size(options)
        total = size["steps"]
        logistic = [r for r in results if r.info["name"].startswith("lr-schedules-logistic")]
        results = [r for r in results if r not in logistic]
        all_runs, all_means = [], []
        for result in results:
            runs, means = seed_mean_by_label(result)
            all_runs.append(runs)
            all_means.append(means)
        runs = pd.concat(all_runs, ignore_index=True)
        means = pd.concat(all_means, ignore_index=True)
        rows, measured, predicted, stderr = [], [], [], []
        for name, group in means.groupby("label"):
            row = runs[runs.label == name].iloc[0]
            steps = group["step"].to_numpy()
            exact = exact_curve(row, steps, total)
            late = steps >= total / 10
            fit = fit_power_law(steps[late], group["mean"].to_numpy()[late])
            alpha = float(row["schedule_power"]) if row["schedule_name"] == "polynomial" else np.nan
            keep = group["stderr"].to_numpy() > 0  # not step 0, where every seed starts alike
            measured.append(group["mean"].to_numpy()[keep])
            predicted.append(exact[keep])
            stderr.append(group["stderr"].to_numpy()[keep])
            rows.append({"schedule": name, "final excess risk": group["mean"].iloc[-1],
                         "exact final": exact[-1], "late slope": fit.value, "predicted slope": -alpha,
                         "max rel err vs exact": float(np.max(np.abs(measured[-1] - predicted[-1]) / predicted[-1]))})
        table = pd.DataFrame(rows)
        if alphas is not None:  # analysis against other predicted exponents (for tests of the verdict)
            table.loc[table.schedule.str.startswith("polynomial"), "predicted slope"] = [-a for a in alphas]
        poly = table[table.schedule.str.startswith("polynomial")]
        worst = float(np.max(np.abs(poly["late slope"] - poly["predicted slope"])))
        headline = Verdict(worst <= RATE_TOLERANCE, worst,
                           "largest |fitted − predicted| late-time exponent of the polynomial decays", RATE_TOLERANCE)
        curves_verdict = verdict(np.concatenate(measured), np.concatenate(predicted), kind="standard_error",
                                 tolerance=Z_TOLERANCE, stderr=np.concatenate(stderr))
        final = table.set_index("schedule")["final excess risk"]
        pairs = zip(poly.schedule[:-1], poly.schedule[1:], strict=True)  # α ascending: each ends lower
        violations = int(sum(final[s] >= final["constant"] for s in ("linear_decay", "wsd"))
                         + sum(final[a] <= final[b] for a, b in pairs))
        ordering = Verdict(violations == 0, float(violations),
                           "violated orderings (decay-to-zero < constant; larger α ends lower)", 0.0)
        exact_vs = Verdict(curves_verdict.passed, curves_verdict.figure,
                           "max |seed mean − exact recursion| / standard error, every schedule", Z_TOLERANCE)
        figures = self._figures(runs, results, folder)
        verdicts = [headline, exact_vs, ordering]
        if logistic:
            logistic_table, intrinsic = self._intrinsic_time_ordering(logistic, total)
            verdicts.append(intrinsic)
            table = pd.concat([table, logistic_table], ignore_index=True)
        return Analysis(verdicts, figures, table)

    @staticmethod
    def _intrinsic_time_ordering(results: list[Result], total: int) -> tuple[pd.DataFrame, Verdict]:
        """Final logistic loss per schedule against τ_T = Σ η_t; count pairs out of order."""
        rows = []
        for result in results:
            runs = result.runs.copy()
            runs["label"] = runs.apply(label, axis=1)
            for name, group in runs[runs.status == "ok"].groupby("label"):
                row = group.iloc[0]
                params = {k[len("schedule_"):]: (row[k].item() if hasattr(row[k], "item") else row[k])
                          for k in row.index if k.startswith("schedule_") and k != "schedule_name"
                          and not pd.isna(row[k])}
                schedule = SCHEDULES.get(row["schedule_name"]).build(float(row["optimizer_learning_rate"]), total,
                                                                     **params)
                tau = float(np.sum(jax.vmap(schedule)(jnp.arange(total))))
                rows.append({"schedule": f"logistic: {name}", "intrinsic time τ_T": tau,
                             "final excess risk": np.nan, "final loss": group.final_population_loss.mean()})
        table = pd.DataFrame(rows).sort_values("intrinsic time τ_T").reset_index(drop=True)
        loss = table["final loss"].to_numpy()
        violations = int(sum(loss[j] >= loss[i] for i in range(len(loss)) for j in range(i + 1, len(loss))))
        verdict = Verdict(violations == 0, float(violations),
                          "logistic regression: schedule pairs whose final loss is not ordered by τ_T = Σ η_t", 0.0)
        return table, verdict

    @staticmethod
    def _figures(runs: pd.DataFrame, results: list[Result], folder: Path) -> list[tuple[str, str]]:
        curves = pd.concat([r.curves for r in results], ignore_index=True)
        fig = F.learning_curves(runs.assign(schedule=runs.label).drop(columns=["label"]), curves, METRIC,
                                title="SGD on least squares with label noise: excess risk by schedule")
        return [("Excess risk vs step for each schedule: seed mean and 10–90 % band",
                 F.save(fig, folder, "schedules")["png"])]
