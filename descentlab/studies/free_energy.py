r"""free-energy — SGD at a fixed learning rate settles where the free energy F = U − T·S is minimal.

Claim (Sadrtdinov, Klimov, Lobacheva, Vetrov 2025, 2505.23489): the stationary state of SGD at learning
rate η minimizes :math:`F=U-T\,S` over the states reached at other learning rates, U the training loss,
S the entropy of the weight distribution and T = T(η) a temperature set by the learning rate;
under-parameterized (UP) models follow it with T rising monotonically with η, over-parameterized (OP) ones
have T → 0 at small η (the gradient noise vanishes at an interpolating optimum and SGD minimizes the loss).

Setting (scaled down from the paper's ConvNets/ResNets on CIFAR): least squares on a fixed training set of
n = 64 Gaussian points with label noise σ = 1, SGD with batch 4 sampled with replacement, a grid of learning
rates × seeds. UP: d = 8 parameters (n > d, cannot interpolate: f* ≈ 0.38); OP: d = 512 (n < d, interpolates:
f* = 0). U is the training loss averaged over the second half of the run (checkpoints spaced beyond the
relaxation time), S the paper's k-NN entropy of the last ``window`` consecutive iterates (the
``weight_entropy`` probe, :mod:`descentlab.probes.entropy`), and the temperature the slope
:math:`T=\Delta U/\Delta S` between neighbouring learning rates (:mod:`descentlab.theory.free_energy`).

Verdicts (tolerances and the spreads they come from):

1. (headline) ``up-temperature-rises``: Spearman ρ between η and T(η) for the UP model, ≥ 0.9 (one swap of
   neighbours among the 5 (quick) or 8 (default) midpoints would still pass, two would not); passed only if
   every T is positive and resolved — both states' excess loss U − f* above 1e-5 × the initial loss (float32
   rounding is ~1e-7; measured: UP excess ≥ 1e-3 × the initial loss, OP and full-batch ≤ 2e-8). Measured ρ = 1
   at --quick (T from 4.3e-4 to 5.1e-3) and at default (T from 2.5e-4 to 7.4e-3).
2. ``op-temperature-vanishes``: max over the lower half of the midpoints of |T_OP|/T_UP ≤ 0.01; measured 3.8e-6
   (quick) and 7.8e-8 (default): the OP model interpolates and its excess loss is rounding.
3. ``free-energy-minimum``: number of interior UP learning rates whose own state does not minimize
   :math:`F_{T(\eta)}` over all the measured states (T the central secant slope), must be 0; measured 0 of 4
   (quick) and 0 of 7 (default).
4. ``sgd-temperature``: max relative error of T_UP over the lower half of the midpoints against the first-order
   SGD temperature :math:`\eta\operatorname{tr}C_b/(4d)` (:func:`~descentlab.theory.free_energy.sgd_temperature`),
   ≤ 0.25; measured 0.081 (quick, 8 seeds) and 0.114 (default, 16 seeds). The formula drops O(η) terms: at the
   largest midpoint the measured T is 37 % (quick, η = 0.61) and 59 % (default, η = 0.77) above it, so only
   the lower half is judged.

Runtime (a 2-core machine shared with other jobs, load ≈ 12): --quick 38 s wall / 13.5 s CPU with a warm
cache; default 510 s wall / 94 s CPU.

Controls: ``full-batch-gd`` (mechanism: gradient descent, no noise: the iterates converge, U = f*, no
temperature; headline ρ = NaN, 0/5 temperatures resolved) and ``noiseless-labels`` (σ = 0: the UP model
interpolates too, its gradient noise vanishes at the optimum like the OP model's, and its temperature
collapses; headline ρ = 0.4 on rounding-level T of ±4e-16, 0/5 resolved).

Figures: T(η) for both models with the SGD temperature (the paper's temperature-vs-LR figure); the UP model's
(S, U) curve with the tangent of slope T at each state, U − f* against η for both models, and the free energy
:math:`F_{T(\eta_i)}` of every measured state for a few temperatures, each minimal at its own learning rate.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from descentlab.engine.load import spec_from_dict
from descentlab.engine.spec import Spec
from descentlab.experiment import Result
from descentlab.report import figures as F
from descentlab.store.schema import ok_runs
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory.free_energy import (
    free_energy_argmin,
    noise_trace,
    sgd_temperature,
    thermodynamic_temperature,
)
from descentlab.theory.verdict import Verdict

RESOLUTION = 1e-5  # an excess loss below this fraction of the initial loss is float32 rounding, not a temperature

CHECK_MONOTONE = Check(
    "up-temperature-rises",
    "Spearman ρ between η and the UP temperature T = ΔU/ΔS (every T positive and resolved)",
    "T rises monotonically with the learning rate for an under-parameterized model",
    0.9,
    "One swap of neighbours among the midpoints still passes, two do not; T is resolved when both states' excess "
    "loss exceeds 1e-5 × the initial loss (float32 rounding ~1e-7; measured UP excess ≥ 1e-3, OP ≤ 2e-8 of it).",
)
CHECK_OP_ZERO = Check(
    "op-temperature-vanishes",
    "max over the lower half of the learning rates of |T_OP| / T_UP",
    "T → 0 at small η for an over-parameterized (interpolating) model",
    0.01,
    "The OP model converges to an interpolant: its excess loss is float32 rounding and |T_OP|/T_UP is 3.8e-6 "
    "(quick) and 7.8e-8 (default); a still-converging OP model (d = 256, n = 128) gave T_OP > T_UP.",
)
CHECK_MINIMUM = Check(
    "free-energy-minimum",
    "interior UP learning rates whose own state does not minimize F = U − T(η)·S over all the measured states",
    "SGD at η settles at the minimum of the free energy at its temperature T(η)",
    0.0,
    "None allowed: a count (4 interior states at --quick, 7 at default, 8 seeds each at --quick and 16 at default).",
)
CHECK_SGD = Check(
    "sgd-temperature",
    "max relative error of T_UP over the lower half of the midpoints against η tr C_b / (4d)",
    "the first-order SGD temperature of the consecutive-iterate entropy (sgd_temperature)",
    0.25,
    "Measured 0.081 at --quick (8 seeds) and 0.114 at default (16 seeds); the first-order formula drops O(η) "
    "terms (37–59 % at the largest η), so only the lower half of the grid is judged.",
)

SIZES = {
    "quick": {
        "learning_rates": [0.05, 0.087, 0.15, 0.26, 0.46, 0.8],
        "seeds": 8,
        "steps": 20_000,
        "window": 100,
        "k": 5,
        "averaged": 100,
        "n": 64,
        "up_dim": 8,
        "op_dim": 512,
    },
    "default": {
        "learning_rates": [0.03, 0.046, 0.071, 0.11, 0.17, 0.26, 0.4, 0.62, 0.95],
        "seeds": 16,
        "steps": 60_000,
        "window": 200,
        "k": 10,
        "averaged": 300,
        "n": 64,
        "up_dim": 8,
        "op_dim": 512,
    },
    "paper": {
        "learning_rates": [float(v) for v in np.round(np.geomspace(0.02, 1.0, 16), 4)],
        "seeds": 32,
        "steps": 400_000,
        "window": 1000,
        "k": 50,
        "averaged": 1000,
        "n": 256,
        "up_dim": 32,
        "op_dim": 2048,
    },
}
NOISE = 1.0
BATCH = 4


def checkpoints(steps: int, window: int, averaged: int) -> list[int]:
    """Step 0, ``averaged`` steps evenly over the second half (U is averaged over them), the last ``window`` steps
    (the entropy window of consecutive iterates)."""
    start = steps - window + 1
    spread = np.linspace(steps // 2, start - 1, averaged).round().astype(int)
    return sorted({0, *spread.tolist(), *range(start, steps + 1)})


def states(result: Result, steps: int) -> pd.DataFrame:
    """Per learning rate: seed means of U (training loss over the second half), S (window entropy), f*, the
    initial loss and the per-example gradient variance at the end, and the model's sizes."""
    runs = ok_runs(result.runs)
    curves = result.curves
    loss = curves[(curves.metric == "loss") & curves.run.isin(runs.run)]
    energy = loss[loss.step >= steps // 2].groupby("run")["value"].mean().rename("U")
    initial = loss[loss.step == 0].set_index("run")["value"].rename("initial_loss")
    per_run = runs.set_index("run").join(energy).join(initial)
    per_run["f_star"] = per_run["final_loss"] - per_run["final_suboptimality"]
    per_run["S"] = per_run["final_weight_entropy"]
    per_run["gradient_variance"] = per_run["final_gradient_variance"]
    grouped = per_run.groupby("optimizer_learning_rate")
    table = grouped[["U", "S", "f_star", "initial_loss", "gradient_variance"]].mean()
    table["U_stderr"] = grouped["U"].std() / np.sqrt(grouped["U"].count())
    table["seeds"] = grouped["U"].count()
    table["dim"] = int(runs["problem_dim"].iloc[0])
    table["n"] = int(runs["problem_n_samples"].iloc[0])
    table["batch"] = int(runs["run_batch_size"].iloc[0])
    table["excess"] = table["U"] - table["f_star"]
    return table.reset_index().rename(columns={"optimizer_learning_rate": "lr"}).sort_values("lr")


def temperatures(table: pd.DataFrame) -> pd.DataFrame:
    """T = ΔU/ΔS at the midpoints of neighbouring learning rates; resolved where both excess losses exceed
    ``RESOLUTION`` × the initial loss; with the first-order SGD temperature at the smallest η's noise."""
    eta, temp = thermodynamic_temperature(table.lr.to_numpy(), table.U.to_numpy(), table.S.to_numpy())
    above = (table.excess > RESOLUTION * table.initial_loss).to_numpy()
    first = table.iloc[0]
    trace = noise_trace(first.gradient_variance, int(first.n), int(first.batch))
    return pd.DataFrame(
        {
            "eta_mid": eta,
            "T": temp,
            "resolved": above[1:] & above[:-1],
            "T_sgd": sgd_temperature(eta, trace, int(first.dim)),
        }
    )


def monotone_verdict(up: pd.DataFrame) -> Verdict:
    """Headline: Spearman ρ(η, T_UP); passes only with every T finite, positive and resolved and ρ ≥ tolerance."""
    usable = np.isfinite(up["T"]).to_numpy()
    rho = float(spearmanr(up.eta_mid[usable], up["T"][usable]).statistic) if usable.sum() >= 3 else float("nan")
    good = bool(usable.all() and (up["T"] > 0).all() and up.resolved.all())
    passed = good and bool(rho >= CHECK_MONOTONE.tolerance)
    detail = f"{int(up.resolved.sum())}/{len(up)} temperatures resolved, {int((up['T'] > 0).sum())} positive"
    if usable.any():
        detail += f", T from {np.min(up['T'][usable]):.3g} to {np.max(up['T'][usable]):.3g}"
    return CHECK_MONOTONE.verdict(rho, passed, detail=detail)


def lower_half(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[: max(len(frame) // 2, 1)]


def op_zero_verdict(up: pd.DataFrame, op: pd.DataFrame) -> Verdict:
    """max |T_OP|/T_UP over the lower half of the midpoints (the same learning rates in both models)."""
    ratio = np.abs(op["T"].to_numpy()) / up["T"].to_numpy()
    low = lower_half(pd.DataFrame({"ratio": ratio}))["ratio"].to_numpy()
    figure = float(np.max(np.where(np.isfinite(low), low, np.inf))) if len(low) else float("nan")
    return CHECK_OP_ZERO.verdict(
        figure,
        bool(figure <= CHECK_OP_ZERO.tolerance),
        detail=f"|T_OP| at most {np.nanmax(np.abs(op['T'])):.3g}",
    )


def minimum_verdict(table: pd.DataFrame) -> tuple[Verdict, np.ndarray]:
    argmin = free_energy_argmin(table.U.to_numpy(), table.S.to_numpy())
    misses = int(np.sum(argmin != np.arange(1, len(table) - 1)))
    return CHECK_MINIMUM.verdict(float(misses), misses == 0, detail=f"{len(argmin)} interior states"), argmin


def sgd_verdict(up: pd.DataFrame) -> Verdict:
    low = lower_half(up)
    error = np.abs(low["T"] / low.T_sgd - 1.0).to_numpy()
    figure = float(np.max(np.where(np.isfinite(error), error, np.inf)))
    return CHECK_SGD.verdict(figure, detail=f"over η ≤ {low.eta_mid.max():.3g}")


@register_study("free-energy")
class FreeEnergy(Study):
    claim = (
        "SGD at a fixed learning rate stabilizes where F = U − T·S is minimal: the temperature rises monotonically "
        "with the learning rate for an under-parameterized model and drops to zero at small rates for an "
        "over-parameterized one"
    )
    reference = (
        "Sadrtdinov, Klimov, Lobacheva, Vetrov. SGD as Free Energy Minimization: A Thermodynamic View on Neural "
        "Network Training (2505.23489)"
    )
    checks: ClassVar[tuple[Check, ...]] = (CHECK_MONOTONE, CHECK_OP_ZERO, CHECK_MINIMUM, CHECK_SGD)
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "full-batch-gd",
            "Full-batch gradient descent has no gradient noise: the iterates converge to the minimizer at every "
            "learning rate, the excess loss is rounding and there is no temperature to rise.",
            mechanism=True,
            overrides=("sampler.name=full_batch",),
        ),
        Control(
            "noiseless-labels",
            "Without label noise the UP model interpolates too: its gradient noise vanishes at the optimum, SGD "
            "converges and the temperature collapses to zero, as for the OP model.",
            mechanism=False,
            overrides=("problem.noise=0.0",),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        suffix = "-quick" if options.quick else ""
        out = []
        for label, dim in (("up", size["up_dim"]), ("op", size["op_dim"])):
            out.append(
                spec_from_dict(
                    {
                        "name": f"free-energy-{label}{suffix}",
                        "description": self.claim,
                        "problem": {
                            "name": "least_squares",
                            "dim": dim,
                            "n_samples": size["n"],
                            "noise": NOISE,
                            "init_scale": 1.0,
                        },
                        "optimizer": {"name": "sgd", "learning_rate": {"grid": size["learning_rates"]}},
                        "sampler": {"name": "with_replacement"},
                        "run": {
                            "steps": size["steps"],
                            "batch_size": BATCH,
                            "seeds": size["seeds"],
                            "checkpoints": checkpoints(size["steps"], size["window"], size["averaged"]),
                        },
                        "probes": [
                            "loss",
                            {"name": "weight_entropy", "window": size["window"], "k": size["k"]},
                            {"name": "noise_scale", "every": 1_000_000},
                        ],
                    }
                )
            )
        return out

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        steps = options.pick(SIZES)["steps"]
        up_states, op_states = (states(r, steps) for r in results[:2])
        up, op = temperatures(up_states), temperatures(op_states)
        minimum, argmin = minimum_verdict(up_states)
        verdicts = [monotone_verdict(up), op_zero_verdict(up, op), minimum, sgd_verdict(up)]
        figures = [
            (
                "Temperature T = ΔU/ΔS against the learning rate: UP (rising) and OP (|T|, vanishing; hollow where the "
                "excess loss is below float32 resolution), with the first-order SGD temperature η tr C_b/(4d)",
                F.save(temperature_figure(up, op), folder, "temperature")["png"],
            ),
            (
                "Left: the UP model's states in the (S, U) plane with the tangent of slope T(η) at each; middle: "
                "excess training loss U − f* against η for both models; right: free energy F = U − T(η_i)·S of every "
                "state for a few temperatures, each minimal at its own learning rate (filled marker)",
                F.save(free_energy_figure(up_states, op_states, argmin), folder, "free_energy")["png"],
            ),
        ]
        summary = pd.concat(
            [
                up.assign(model="UP", dim=int(up_states.dim.iloc[0])),
                op.assign(model="OP", dim=int(op_states.dim.iloc[0])),
            ],
            ignore_index=True,
        )
        return Analysis(verdicts, figures, summary)


def temperature_figure(up: pd.DataFrame, op: pd.DataFrame):
    fig, ax = F.plt.subplots(figsize=(6.2, 4.4))
    tiny = np.finfo(np.float64).tiny
    for frame, name, color in ((up, "UP", "tab:blue"), (op, "OP", "tab:red")):
        value = np.maximum(np.abs(frame["T"].to_numpy()), tiny)
        resolved = frame.resolved.to_numpy()
        ax.plot(frame.eta_mid, value, "-", color=color, alpha=0.6)
        ax.plot(frame.eta_mid[resolved], value[resolved], "o", color=color, label=f"{name}: T = ΔU/ΔS")
        ax.plot(frame.eta_mid[~resolved], value[~resolved], "o", mfc="none", color=color, label=f"{name}: unresolved")
    ax.plot(up.eta_mid, up.T_sgd, "--", color="black", label="UP: η tr C_b / (4d)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("temperature |T|")
    ax.set_title("SGD temperature against the learning rate")
    ax.legend(fontsize=8)
    return fig


def free_energy_figure(up_states: pd.DataFrame, op_states: pd.DataFrame, argmin: np.ndarray):
    fig, axes = F.plt.subplots(1, 3, figsize=(15.0, 4.3))
    u, s, lr = up_states.U.to_numpy(), up_states.S.to_numpy(), up_states.lr.to_numpy()
    ax = axes[0]
    ax.plot(s, u, "o-", color="tab:blue")
    span = 0.25 * (s.max() - s.min()) / max(len(s) - 1, 1)
    for i in range(1, len(s) - 1):
        slope = (u[i + 1] - u[i - 1]) / (s[i + 1] - s[i - 1])
        ax.plot([s[i] - span, s[i] + span], [u[i] - slope * span, u[i] + slope * span], color="black", lw=1)
    for x, y, eta in zip(s, u, lr, strict=True):
        ax.annotate(f"{eta:g}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("entropy S (k-NN, window of iterates)")
    ax.set_ylabel("training loss U")
    ax.set_title("UP states, tangents of slope T")
    ax = axes[1]
    tiny = np.finfo(np.float64).tiny
    for frame, name, color in ((up_states, "UP", "tab:blue"), (op_states, "OP", "tab:red")):
        ax.plot(frame.lr, np.maximum(frame.excess.abs(), tiny), "o-", color=color, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("|U − f*|")
    ax.set_title("stationary excess training loss")
    ax.legend(fontsize=8)
    ax = axes[2]
    shown = np.unique(np.linspace(1, len(s) - 2, min(4, len(s) - 2)).round().astype(int)) if len(s) > 2 else []
    colors = F.plt.cm.viridis(np.linspace(0, 0.9, max(len(shown), 1)))
    for color, i in zip(colors, shown, strict=False):
        slope = (u[i + 1] - u[i - 1]) / (s[i + 1] - s[i - 1])
        free = u - slope * s
        free = free - free.min()
        ax.plot(lr, free, "o-", color=color, mfc="none", label=f"T(η = {lr[i]:g}) = {slope:.2g}")
        ax.plot(lr[argmin[i - 1]], free[argmin[i - 1]], "o", color=color)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate η' of the state")
    ax.set_ylabel("F − min F")
    ax.set_title("free energy at fixed T (UP)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
