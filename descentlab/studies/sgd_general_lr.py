r"""sgd-general-lr — the last SGD iterate is Gaussian with a covariance set by the whole schedule.

Claim (Goldreich, Wei, Bonnerjee, Li, Wu, *Asymptotic theory of SGD with a general learning-rate*, NeurIPS
2025): for online SGD under an arbitrary learning-rate schedule the uncertainty of the iterate is
quantified by a Gaussian limit; cyclical learning rates and linear decay to zero are covered. For streaming
least squares (:math:`x\sim\mathcal N(0,K)`, label noise σ, so :math:`H=K`, :math:`S=\sigma^2K`) the limit
(:mod:`descentlab.theory.sgd_general_lr`) is

.. math:: \theta_T-\theta^\star\approx\mathcal N\big(\textstyle\prod_t(I-\eta_tK)\,e_0,\ \Sigma_T\big),\qquad
          (\Sigma_T)_{ii}=\sigma^2\lambda_i\sum_{t<T}\eta_t^2\,e^{-2\lambda_i\sum_{t<s<T}\eta_s} ,

i.e. :math:`\Sigma_T=\int\eta(s)^2e^{-H\Lambda(s,T)}Se^{-H\Lambda(s,T)}ds`. A constant step gives the Lyapunov
value :math:`\eta\sigma^2/2` in every direction; linear decay to zero gives
:math:`\sigma^2\frac{\sqrt\pi}4\sqrt{\eta_0/(\lambda_iT)}` — the spread falls as :math:`T^{-1/4}` and depends on
the curvature as :math:`\lambda^{-1/2}`; cosine decay and a triangular cyclical schedule have no closed form.

The study runs plain online SGD (batch 1) on d = 4 (K = diag(1, 0.6, 0.35, 0.2), σ = 1, θ₀ = 0) under four
schedules — constant, linear decay to zero, cosine decay to zero, triangular cyclical (ten half-cycles,
lowest rate 0.1·η₀, ending at the lowest rate) — one experiment each, thousands of seeds vmapped, and reads
the last iterate of every seed: the squared error per eigen-direction (``spectral_energy``, one band per
direction) and the signed projection :math:`(\theta_T-\theta^\star)^\top\theta^\star` (``teacher_overlap``:
:math:`d\,(m-\rho)`).

Checks (declared in :attr:`SGDGeneralLR.checks`):

1. ``variance`` (headline): per schedule and direction, the z-score of the seed mean of
   :math:`e_{T,i}^2` against the prediction :math:`\mu_i^2+v_i`, with the standard error of a Gaussian's
   second moment :math:`\sqrt{(2v_i^2+4\mu_i^2v_i)/n}` (relative :math:`\sqrt{2/n}` once the mean is
   forgotten); figure = max |z| over the 16 pairs, tolerance 4.0. Basis: the limit differs from the exact
   finite-η second-moment recursion by 0.1–0.35 standard errors at --quick (η₀ = 0.01, 2048 seeds) and
   0.05–0.25 at default (η₀ = 0.005, 4096 seeds); 16 independent |N(0,1)| exceed 4 with probability 1e-3.
2. ``normality``: per schedule, the Kolmogorov–Smirnov distance D between the seeds' standardized projection
   :math:`(p-\mathbb Ep)/\sqrt{\operatorname{Var}p}` (both predicted) and N(0, 1); figure = max over schedules of
   :math:`\sqrt n\,D`, tolerance 1.95 (the 0.999 quantile of the Kolmogorov distribution; a 2 % error in the
   predicted variance moves :math:`\sqrt n D` by only ≈ 0.005·√n ≈ 0.2 at --quick).
3. ``linear-decay-curvature``: the log–log slope of the measured variance :math:`\hat v_i=\overline{e_i^2}-\mu_i^2`
   of the linear-decay runs against :math:`\lambda_i`, compared with the closed form's −1/2; figure
   :math:`|\hat s+1/2|`, tolerance 0.1. Basis: the limit integral's own slope is −0.499 (quick) and −0.4998
   (default); the slope's sampling s.e. is ≈ :math:`\sqrt{2/n}/\sqrt{\sum(\ln\lambda-\overline{\ln\lambda})^2}`
   = 0.026 (quick) and 0.018 (default); a constant step has slope 0, the Lyapunov-like guess η/λ slope −1.

Measured (2 CPU cores shared with other jobs, load ≈ 8): --quick (T = 4000, η₀ = 0.01, 2048 seeds; 65 s wall,
20 s CPU, warm cache): variance 1.80 (worst: linear decay at λ = 1, measured/predicted 1.056), normality 1.23,
linear-decay slope ŝ = −0.449 (figure 0.051). Default (T = 16 000, η₀ = 0.005, 4096 seeds; 459 s wall, 115 s CPU):
variance 2.27 (worst: constant at λ = 0.2, ratio 1.050), normality 0.91, ŝ = −0.507 (figure 0.007). The limit's
slope for cosine decay to zero is −0.61 (quick), −0.63 (default): its closed form (η ∝ (T−t)² at the end) gives −2/3.
Controls at --quick: ``heavy-ball-momentum`` variance 37.1 (ratio 2.16), normality 5.3;
``constant-step-prediction`` variance 27.8 (cosine at λ = 1, ratio 0.13), normality 8.1.

Controls (each fails the headline): ``heavy-ball-momentum`` (mechanism: momentum β = 0.5 runs, an effective
step η/(1−β), so every variance is about twice the plain-SGD prediction) and ``constant-step-prediction``
(every schedule is judged against the constant-step Lyapunov variance η₀σ²/2, the wrong schedule in the
prediction: the decaying and cyclical schedules end far below it).

Figures: the per-direction variance of the last iterate against the curvature λ for each schedule (measured
points with ±2 s.e., the predicted limit as lines, the constant-step and linear-decay closed forms dashed)
— the paper's comparison of the schedules' asymptotic variances; and a normal Q–Q plot of the standardized
projection for each schedule.

Scaled down from the paper: its dimensions, step counts and replication counts were not available here (only
the abstract); the sizes below are chosen so that the limit is within a third of a standard error of the exact
recursion.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from descentlab.engine.load import spec_from_dict
from descentlab.engine.spec import Spec
from descentlab.experiment import Result
from descentlab.params import Param
from descentlab.problems.least_squares import LeastSquares
from descentlab.report import figures as F
from descentlab.store.schema import final_column, ok_runs, section_values
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory._least_squares import learning_rates
from descentlab.theory.sgd_general_lr import (
    constant_step_covariance,
    gd_mean,
    limit_covariance,
    linear_decay_covariance,
)

PROBLEM = {
    "name": "least_squares",
    "dim": 4,
    "spectrum": "custom",
    "spectrum_values": "1,0.6,0.35,0.2",
    "normalize": "max",
    "noise": 1.0,
}
SIZES = {
    "quick": {"steps": 4000, "seeds": 2048, "learning_rate": 0.01},
    "default": {"steps": 16000, "seeds": 4096, "learning_rate": 0.005},
    "paper": {"steps": 100000, "seeds": 10000, "learning_rate": 0.002},
}
SCHEDULE_NAMES = ("constant", "linear_decay", "cosine", "triangular")
LINEAR_DECAY_SLOPE = -0.5

CHECK_VARIANCE = Check(
    "variance",
    "max over schedules and eigen-directions of |mean of e_T,i² − (μ_i² + v_i)| / s.e., s.e. = √((2v_i² + 4μ_i²v_i)/n)",
    "the Gaussian limit: mean ∏(1−η_tλ_i)e_0,i, variance v_i = σ²λ_i Σ_t η_t² exp(−2λ_i Σ_{s>t} η_s)",
    4.0,
    "16 z-scores; the limit is 0.1–0.35 s.e. from the exact finite-η recursion at --quick (2048 seeds), 0.05–0.25 "
    "at default (4096 seeds); P(max of 16 |N(0,1)| > 4) ≈ 1e-3",
)
CHECK_NORMALITY = Check(
    "normality",
    "max over schedules of √n · KS distance between the standardized projection (θ_T − θ*)·θ* and N(0, 1)",
    "the projection is Gaussian with the predicted mean and variance",
    1.95,
    "0.999 quantile of the Kolmogorov distribution (1.949); a 2 % variance error moves √n·D by ≈ 0.2 at 2048 seeds",
)
CHECK_SLOPE = Check(
    "linear-decay-curvature",
    "|ŝ + 1/2|, ŝ the log–log slope of the linear-decay runs' measured variance against λ_i",
    "linear decay to zero: v_i = σ²(√π/4)·√(η₀/(λ_i T)), slope −1/2",
    0.1,
    "the limit integral's slope is −0.499 (quick), −0.4998 (default); sampling s.e. of ŝ 0.026 (2048 seeds), "
    "0.018 (4096 seeds)",
)


def schedule_section(name: str, steps: int) -> dict:
    """The ``[schedule]`` section of schedule ``name`` (triangular: ten half-cycles, lowest rate 0.1·η₀)."""
    if name == "triangular":
        return {"name": "triangular", "half_cycle": max(steps // 10, 1), "min_fraction": 0.1}
    return {"name": name}


def predicted_moments(row: pd.Series, steps: int, prediction: str) -> dict[str, np.ndarray]:
    """λ (descending), θ*, the predicted mean and variance of e_T per direction for ``row``'s run.

    ``prediction`` = ``own``: the limit for the run's schedule; ``constant``: the constant-step Lyapunov
    variance η₀σ²/2 whatever the schedule (the wrong-schedule control)."""
    fields = section_values(row, "problem")
    with jax.enable_x64(True):
        problem = LeastSquares(**fields)
        lam = np.asarray(problem.eigenvalues, dtype=np.float64)
        theta = np.asarray(problem.theta_star, dtype=np.float64)
    order = np.argsort(-lam, kind="stable")
    lam, theta = lam[order], theta[order]
    eta0 = float(row["optimizer_learning_rate"])
    schedule = {"schedule": row["schedule_name"], "learning_rate": eta0, "total_steps": steps}
    etas = learning_rates(steps, {**schedule, **section_values(row, "schedule")})
    noise_cov = float(fields["noise"]) ** 2 * lam
    if prediction == "constant":
        var = constant_step_covariance(lam, noise_cov, eta0)
    else:
        var = limit_covariance(lam, noise_cov, etas)
    # θ₀ has mean zero, so E e_0 = −θ* (PROBLEM starts at θ₀ = 0 exactly)
    return {"lam": lam, "theta": theta, "mean": gd_mean(lam, -theta, etas), "var": var}


def variance_z(second_moment: np.ndarray, mean: np.ndarray, var: np.ndarray, n: int) -> np.ndarray:
    """z-scores of measured second moments against μ² + v, with a Gaussian's s.e. √((2v² + 4μ²v)/n)."""
    return (second_moment - (mean**2 + var)) / np.sqrt((2.0 * var**2 + 4.0 * mean**2 * var) / n)


def ks_statistic(standardized: np.ndarray) -> float:
    """√n times the Kolmogorov–Smirnov distance of ``standardized`` from N(0, 1)."""
    values = np.asarray(standardized, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan")
    return float(np.sqrt(values.size) * stats.kstest(values, "norm").statistic)


def curvature_slope(lam: np.ndarray, variance: np.ndarray) -> float:
    """Least-squares slope of log variance against log λ (NaN if any variance is not positive)."""
    if np.any(~np.isfinite(variance)) or np.any(variance <= 0):
        return float("nan")
    return float(np.polyfit(np.log(lam), np.log(variance), 1)[0])


def worst(values: list[float] | np.ndarray) -> float:
    """The largest value, NaN counted as +inf (a NaN figure fails)."""
    array = np.asarray(values, dtype=np.float64)
    return float(np.max(np.where(np.isfinite(array), array, np.inf)))


@register_study("sgd-general-lr")
class SGDGeneralLR(Study):
    claim = (
        "Under any learning-rate schedule (constant, linear or cosine decay to zero, triangular cyclical), the last "
        "online-SGD iterate is Gaussian with the covariance ∫η(s)² e^{−HΛ(s,T)} S e^{−HΛ(s,T)} ds of the whole schedule"
    )
    reference = (
        "Goldreich, Wei, Bonnerjee, Li, Wu. Asymptotic theory of SGD with a general learning-rate "
        "(NeurIPS 2025, openreview y5Diyh9XEQ)"
    )
    checks: ClassVar[tuple[Check, ...]] = (CHECK_VARIANCE, CHECK_NORMALITY, CHECK_SLOPE)
    declared_options: ClassVar[dict[str, Param]] = {
        "prediction": Param(
            "str",
            "own",
            "own: each run's own schedule in the prediction; constant: the constant-step variance for every schedule",
            choices=("own", "constant"),
        ),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "heavy-ball-momentum",
            "Heavy-ball momentum β = 0.5 runs instead of plain SGD: the effective step is η/(1−β), so every "
            "iterate variance is about twice the plain-SGD limit.",
            mechanism=True,
            overrides=("optimizer.momentum=0.5",),
        ),
        Control(
            "constant-step-prediction",
            "Every schedule is judged against the constant-step Lyapunov variance η₀σ²/2: the wrong schedule in "
            "the prediction, while the decaying and cyclical schedules end far below it.",
            mechanism=False,
            options=(("prediction", "constant"),),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        return [
            spec_from_dict(
                {
                    "name": f"sgd-general-lr-{name}" + ("-quick" if options.quick else ""),
                    "description": self.claim,
                    "problem": dict(PROBLEM),
                    "optimizer": {"name": "sgd", "learning_rate": size["learning_rate"]},
                    "schedule": schedule_section(name, size["steps"]),
                    "run": {
                        "steps": size["steps"],
                        "seeds": size["seeds"],
                        "checkpoints": [size["steps"]],
                        "dtype": "float64",
                    },
                    "probes": [
                        {"name": "spectral_energy", "bands": PROBLEM["dim"], "spacing": "linear"},
                        "teacher_overlap",
                    ],
                }
            )
            for name in SCHEDULE_NAMES
        ]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        steps = options.pick(SIZES)["steps"]
        rows, projections, zs, ks, slope = [], {}, [], [], float("nan")
        measured: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]] = {}
        for result in results:
            runs = ok_runs(result.runs)
            first = result.runs.iloc[0]
            name = str(first["schedule_name"])
            n = len(runs)
            pred = predicted_moments(first, steps, options["prediction"])
            dim = len(pred["lam"])
            second = np.array(
                [runs[final_column(f"spectral_energy_{i:02d}")].mean() if n else np.nan for i in range(dim)]
            )
            z = variance_z(second, pred["mean"], pred["var"], max(n, 1))
            zs.extend(np.abs(z))
            var_hat = second - pred["mean"] ** 2
            measured[name] = (pred["lam"], var_hat, pred["var"], np.sqrt(2.0 * pred["var"] ** 2 / max(n, 1)), n)
            if name == "linear_decay":
                slope = curvature_slope(pred["lam"], var_hat)
            projection = dim * (runs[final_column("overlap_m")] - runs[final_column("overlap_rho")]).to_numpy()
            p_mean = float(pred["theta"] @ pred["mean"])
            p_sd = float(np.sqrt(pred["theta"] ** 2 @ pred["var"]))
            standardized = (projection - p_mean) / p_sd
            projections[name] = standardized
            ks.append(ks_statistic(standardized))
            for i in range(dim):
                rows.append(
                    {
                        "schedule": name,
                        "λ": pred["lam"][i],
                        "seeds": n,
                        "predicted mean²": pred["mean"][i] ** 2,
                        "predicted variance": pred["var"][i],
                        "measured variance": var_hat[i],
                        "variance ratio": var_hat[i] / pred["var"][i],
                        "z": z[i],
                        "√n·KS (projection)": ks[-1],
                        "excess kurtosis (projection)": float(stats.kurtosis(standardized)) if n > 3 else np.nan,
                    }
                )
        table = pd.DataFrame(rows)
        figure_z = worst(zs) if zs else float("nan")
        worst_row = table.iloc[int(np.nanargmax(np.abs(table["z"].to_numpy())))] if len(table) else None
        detail = (
            f"worst: {worst_row['schedule']} at λ = {worst_row['λ']:g}, ratio {worst_row['variance ratio']:.3f}"
            if worst_row is not None
            else ""
        )
        verdicts = [
            CHECK_VARIANCE.verdict(figure_z, detail=detail),
            CHECK_NORMALITY.verdict(worst(ks) if ks else float("nan")),
            CHECK_SLOPE.verdict(abs(slope - LINEAR_DECAY_SLOPE), detail=f"ŝ = {slope:.3f}"),
        ]
        figures = [
            (
                "Variance of the last iterate per eigen-direction against its curvature λ, per schedule: measured "
                "(points, ±2 s.e.) and the Gaussian limit (lines); dashed: the constant-step η₀σ²/2 and the "
                "linear-decay closed form",
                self._variance_figure(measured, options, folder),
            ),
            (
                "Normal Q–Q plot of the standardized projection (θ_T − θ*)·θ* for each schedule",
                self._qq_figure(projections, folder),
            ),
        ]
        return Analysis(verdicts, figures, table)

    @staticmethod
    def _variance_figure(measured: dict, options: StudyOptions, folder: Path) -> str:
        size = options.pick(SIZES)
        sigma2 = float(PROBLEM["noise"]) ** 2
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(6.4, 4.4))
            for k, (name, (lam, var_hat, var, se, _)) in enumerate(measured.items()):
                color = f"C{k}"
                ax.plot(lam, var, "-", color=color, label=f"{name}: limit")
                ax.errorbar(lam, var_hat, yerr=2 * se, fmt="o", color=color, ms=4, capsize=2, label=f"{name}: measured")
            if measured:
                lam = next(iter(measured.values()))[0]
                grid = np.geomspace(lam.min(), lam.max(), 50)
                ax.plot(grid, constant_step_covariance(grid, sigma2 * grid, size["learning_rate"]), "k:", lw=1)
                ax.plot(
                    grid,
                    linear_decay_covariance(grid, sigma2 * grid, size["learning_rate"], size["steps"]),
                    "k--",
                    lw=1,
                    label="closed forms",
                )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("curvature λ_i")
            ax.set_ylabel("Var (θ_T − θ*)_i")
            ax.set_title(f"Last-iterate variance by schedule (T = {size['steps']}, η₀ = {size['learning_rate']:g})")
            ax.legend(fontsize=7, ncol=2)
        return F.save(fig, folder, "variance_vs_curvature")["png"]

    @staticmethod
    def _qq_figure(projections: dict[str, np.ndarray], folder: Path) -> str:
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(5.2, 4.2))
            for k, (name, values) in enumerate(projections.items()):
                values = np.sort(values[np.isfinite(values)])
                if values.size == 0:
                    continue
                quantiles = stats.norm.ppf((np.arange(values.size) + 0.5) / values.size)
                ax.plot(quantiles, values, ".", ms=2, color=f"C{k}", label=name)
            ax.plot([-4, 4], [-4, 4], "k-", lw=1, label="N(0, 1)")
            ax.set_xlabel("normal quantile")
            ax.set_ylabel("standardized projection")
            ax.set_title("Last iterate against its predicted normal")
            ax.legend(fontsize=8)
        return F.save(fig, folder, "normal_qq")["png"]
