r"""neural-shattering — flat (stable) minima of two-layer ReLU networks generalize at rates that worsen with d.

Claim (Liang, Qiao, Wang, Parhi 2025, arXiv 2506.20779): gradient descent with step η can only settle in
minima whose sharpness is at most 2/η; for two-layer ReLU networks with multivariate inputs such *flat*
solutions do generalize, but their rates of convergence in the sample size n deteriorate with the input
dimension d, while low-norm (weight-decay) solutions do not suffer this curse of dimensionality. The flat
solutions that generalize badly *shatter*: neurons that activate on a small part of the input domain (near the
boundary of the ball) carry large weights, fitting individual noisy labels at little cost in curvature, since
a neuron active on a fraction p of the data adds only about p times its weight to the Hessian.

Set-up (:mod:`descentlab.problems.relu_ball`): inputs uniform in the unit ball of :math:`\mathbb R^d`, labels
:math:`y=\sin(2u\cdot x)+\sigma\xi` (σ = 0.5), a two-layer ReLU network with biases of width m, full-batch GD
with step η = 0.2. One spec per d is one compiled program over (arm × sample size n × dataset): n is a log grid of
nested datasets (``problem.n_used`` masks the training set), the dataset ``problem.data_draw`` (inputs, teacher u,
noise and initialization) is drawn inside the program, and the two arms are the two values of
``problem.weight_decay``:

* **flat**: λ = 0 — GD's stable minima (``sharpness`` probe, Lanczos, at the end);
* **weight decay**: the L2 penalty λ/2‖θ‖², λ = 3·10⁻³ — the low-norm solutions.

For each (arm, d) the excess risk :math:`\mathbb E(f_\theta-f^\star)^2` at the end of training, averaged over
datasets, is fitted as :math:`C n^{p}` (:func:`descentlab.theory.fitting.fit_power_law`); the *separation* at d is
:math:`p_{\rm flat}(d) - p_{\rm wd}(d)` (positive: the flat arm learns more slowly).

Verdicts (declared in :data:`CHECKS`, headline first):

1. ``separation-grows`` (headline): :math:`\Delta = \mathrm{sep}(d_{\max}) - \mathrm{sep}(d_{\min})` must be at
   least 2 bootstrap standard errors (datasets resampled with replacement in every (arm, d) cell, 400 draws) and
   at least the floor 0.35 = 3 s.d. of Δ under the dimension-one control (8 independent pairs of d = 1 slots at
   --quick: mean −0.004, s.d. 0.116, largest 0.178);
2. ``flat-arm-stable``: the largest final :math:`S\eta/2` over every flat run ≤ 1.1 (the minima GD reached are
   stable up to the edge-of-stability overshoot);
3. ``shattering``: the magnitude-weighted activation coverage :math:`\sum_j s_jp_j/\sum_j s_j`
   (:math:`s_j=|a_j|\lVert(w_j,b_j)\rVert`, :math:`p_j` neuron j's activation rate on test inputs) of the
   weight-decay arm over the flat arm's at :math:`d_{\max}` must be ≥ 1.1: the flat solution's large weights sit
   on less often active neurons.

Measured at --quick (d ∈ {1, 8}, width 64, n ∈ {16, …, 256}, 6 datasets, 3000 steps; 2 programs of 60 runs;
about 14–16 s CPU end to end on the shared 2-core machine, warm cache): exponents d = 1: flat −1.22, weight decay
−0.86 (separation −0.36); d = 8: flat −0.41, weight decay −0.84 (separation +0.43); Δ = 0.784 against a tolerance of
0.356 (2 bootstrap s.e.; floor 0.35); largest S·η/2 of the flat arm 1.011 (median 0.98); coverage ratio 1.134 at
d = 8. The coverage ratio is larger at d = 1 (1.34) than at d = 8, and the share of weight on neurons active on < 2 %
of inputs (``rare_weight_share``) is about 0.01 for the flat arm at both d (0.001 for weight decay): the shattering
check compares the arms at d_max, not the growth of shattering with d.

Measured at default (d ∈ {1, 4, 8}, n ∈ {16, …, 512}, 5 datasets, 5000 steps; 110 s CPU,
165 s wall on the shared machine): separations −0.56, +0.36, +0.53 (flat −1.29, −0.67, −0.20; weight decay −0.73,
−1.03, −0.73); Δ = 1.096 against 0.35 (2 bootstrap s.e. = 0.323, below the floor); largest S·η/2 1.019 (median
0.99); coverage ratio 1.175 at d = 8 (1.625 at d = 1).

Controls (each fails the headline at --quick): ``dimension-one`` (``problem.dim=1`` for every spec: the two
dimension slots become two d = 1 slots with different datasets; Δ = 0.077 against 0.35) and
``weight-decay-both-arms`` (mechanism: both arms carry the weight decay, λ and 1.01 λ — no unregularized arm is
left whose stable minima could shatter; Δ = 0.008, and the coverage ratio 1.001 fails too). With λ and 2λ instead
the headline passed (Δ = 0.40): less regularization alone already degrades with d at this size, so this control
is not a test of the stability mechanism against weaker weight decay.

Figures: excess risk against n per d with both arms and their fitted power laws (the paper's MSE-vs-n figure);
the fitted exponents against d with bootstrap intervals; the weighted coverage against n and the final
:math:`S\eta/2` of every flat run. PNG only (SVG and PDF would add several seconds to every CI run).

Scaled down from the paper: widths 64 (quick, default) to 256 (paper), n ≤ 256 (quick) to 1024, d ≤ 8,
3000–20 000 GD steps. Runs per program are ≤ 64 at quick and default (one vmap block per program on a CPU).
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
from descentlab.report import figures as F
from descentlab.store.schema import OK, column, final_column
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory import Verdict
from descentlab.theory.fitting import fit_power_law

ARMS = ("flat", "weight decay")
RISK, SHARPNESS, RARE, COVERAGE = "excess_risk", "sharpness", "rare_weight_share", "weighted_coverage"
STEP = 0.2
WEIGHT_DECAY = 3e-3
NOISE = 0.5
RARE_FRACTION = 0.02
BOOTSTRAP = 400
FORMATS = ("png",)
"""Figures are saved as PNG only (SVG and PDF cost about as much again as the whole quick run's compute)."""
DATA_FLOOR = 0.35
"""Least Δ the headline accepts whatever the bootstrap says: 3 standard deviations of Δ under the ``dimension-one``
control (both slots d = 1), measured over 8 independent pairs of slots at --quick (6 datasets per slot, dataset draws
0–95): Δ mean −0.004, s.d. 0.116, largest 0.178."""

SIZES = {
    "quick": {"dims": [1, 8], "width": 64, "n": [16, 32, 64, 128, 256], "draws": 6, "steps": 3000},
    "default": {"dims": [1, 4, 8], "width": 64, "n": [16, 32, 64, 128, 256, 512], "draws": 5, "steps": 5000},
    "paper": {
        "dims": [1, 2, 5, 8],
        "width": 256,
        "n": [32, 64, 128, 256, 512, 1024],
        "draws": 16,
        "steps": 20000,
    },
}

CHECK_SEPARATION = Check(
    "separation-grows",
    "Δ = [p_flat − p_wd](d_max) − [p_flat − p_wd](d_min): growth with d of the gap between the flat arm's and the "
    "weight-decay arm's fitted excess-risk exponents in n",
    "the curse of dimensionality of stable minima (Liang et al. 2025): Δ > 0, by at least the tolerance",
    2.0,
    "Spread-set: the tolerance is 2 bootstrap standard errors of Δ (datasets, each with its own initialization, "
    f"resampled in every (arm, d) cell, 400 draws; 0.178 at --quick), and at least {DATA_FLOOR}: 3 s.d. of Δ under "
    "the dimension-one control over 8 independent pairs of d = 1 slots at --quick (mean −0.004, s.d. 0.116, largest "
    "0.178; with one dataset per slot and 3 seeds, as in the first draft, the s.d. was 0.462 over 8 pairs).",
)
CHECK_STABLE = Check(
    "flat-arm-stable",
    "largest final sharpness × η/2 over every run of the flat arm",
    "GD settles only in stable minima: S ≤ 2/η, up to the edge-of-stability overshoot",
    1.1,
    "Measured at --quick (60 flat runs, 6 datasets): largest S·η/2 1.011, median 0.98 (largest 1.001 in the "
    "dimension-one control); at η = 0.5 d = 1 runs did not settle (S·η/2 up to 8.3), hence η = 0.2.",
)
CHECK_SHATTERING = Check(
    "shattering",
    "weighted activation coverage Σ s_j p_j / Σ s_j of the weight-decay arm over the flat arm's, at d_max (dataset "
    "and n means; s_j = |a_j|·‖(w_j, b_j)‖, p_j neuron j's activation rate)",
    "neural shattering: the flat solution's large weights sit on less often active neurons than weight decay's",
    1.1,
    "Measured at --quick: 1.134 at d = 8 (1.344 at d = 1); 1.001 when both arms have the same weight decay (the "
    "mechanism control); the tolerance sits between.",
)
CHECKS = (CHECK_SEPARATION, CHECK_STABLE, CHECK_SHATTERING)


def labelled_runs(results: list[Result]) -> pd.DataFrame:
    """Every run of the study with its ``arm`` (the smaller weight decay of its spec: ``flat``, the larger:
    ``weight decay``) and dimension ``slot`` (the spec's position)."""
    frames = []
    for slot, result in enumerate(results):
        runs = result.runs.copy()
        decay = runs[column("problem.weight_decay")]
        runs["arm"] = np.where(decay > decay.min(), ARMS[1], ARMS[0])
        runs["slot"] = slot
        frames.append(runs)
    return pd.concat(frames, ignore_index=True)


def risk_table(runs: pd.DataFrame, metric: str = RISK) -> pd.DataFrame:
    """One row per (slot, dim, arm, n, replicate) with the final value of ``metric`` (ok runs only); the replicate
    (column ``seed``) is the dataset ``problem.data_draw``, which also seeds the initialization."""
    ok = runs[runs["status"] == OK]
    keys = ["slot", column("problem.dim"), "arm", column("problem.n_used"), column("problem.data_draw")]
    table = ok[[*keys, final_column(metric)]]
    return table.set_axis(["slot", "dim", "arm", "n", "seed", "value"], axis=1)


def exponent(table: pd.DataFrame) -> float:
    """Fitted exponent p of the seed-mean value ≈ C n^p over the n grid of one (slot, arm) cell."""
    means = table.groupby("n")["value"].mean()
    return fit_power_law(means.index.to_numpy(float), means.to_numpy(float)).value


def _bootstrap_exponents(cell: pd.DataFrame, boot: int, rng: np.random.Generator) -> np.ndarray:
    """``boot`` exponents of the cell refitted with its seeds drawn with replacement (each drawn seed brings its
    whole curve over n): least squares of log(seed-mean value) on log n, vectorized over the draws."""
    grid = cell.pivot_table(index="seed", columns="n", values="value", aggfunc="mean").dropna()
    values, log_n = grid.to_numpy(float), np.log(grid.columns.to_numpy(float))
    drawn = rng.integers(0, values.shape[0], size=(boot, values.shape[0]))
    log_mean = np.log(values[drawn].mean(axis=1))
    centred = log_n - log_n.mean()
    return (log_mean - log_mean.mean(axis=1, keepdims=True)) @ centred / np.sum(centred**2)


def separations(table: pd.DataFrame, boot: int = BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """Per slot: dim, both exponents, the separation p_flat − p_wd and its bootstrap draws (column ``draws``)."""
    rng = np.random.default_rng(seed)
    rows = []
    for slot, sub in table.groupby("slot"):
        cells = {arm: sub[sub["arm"] == arm] for arm in ARMS}
        p = {arm: exponent(cells[arm]) for arm in ARMS}
        draws = _bootstrap_exponents(cells[ARMS[0]], boot, rng) - _bootstrap_exponents(cells[ARMS[1]], boot, rng)
        rows.append(
            {
                "slot": int(slot),
                "dim": int(sub["dim"].iloc[0]),
                "p_flat": p[ARMS[0]],
                "p_wd": p[ARMS[1]],
                "separation": p[ARMS[0]] - p[ARMS[1]],
                "draws": draws,
            }
        )
    return pd.DataFrame(rows).sort_values("slot", ignore_index=True)


def separation_verdict(seps: pd.DataFrame) -> Verdict:
    """Headline: Δ = sep(last slot) − sep(first slot) ≥ tolerance × its bootstrap standard error."""
    first, last = seps.iloc[0], seps.iloc[-1]
    delta = float(last["separation"] - first["separation"])
    spread = float(np.std(last["draws"] - first["draws"], ddof=1))
    tolerance = max(CHECK_SEPARATION.tolerance * spread, DATA_FLOOR)
    return CHECK_SEPARATION.verdict(
        delta,
        passed=bool(np.isfinite(delta) and delta >= tolerance and delta > 0),
        tolerance=tolerance,
        detail=f"d = {int(first['dim'])} → {int(last['dim'])}: separation {first['separation']:.3f} → "
        f"{last['separation']:.3f}; bootstrap s.e. of Δ {spread:.3f}; needs Δ ≥ {CHECK_SEPARATION.tolerance:g} s.e. "
        f"and ≥ {DATA_FLOOR}",
    )


def stability_verdict(runs: pd.DataFrame) -> Verdict:
    """The largest final S·η/2 over the flat arm's runs (NaN, hence a failure, when none finished)."""
    flat = runs[(runs["arm"] == ARMS[0]) & (runs["status"] == OK)]
    ratio = flat[final_column(SHARPNESS)] * flat[column("optimizer.learning_rate")] / 2.0
    worst = float(ratio.max()) if len(ratio) else float("nan")
    return CHECK_STABLE.verdict(worst, detail=f"{len(ratio)} runs; median {float(ratio.median()):.3f}")


def shattering_verdict(coverage: pd.DataFrame) -> Verdict:
    """Weight-decay arm's magnitude-weighted activation coverage over the flat arm's, at d_max (seed and n means);
    the same ratio at d_min is reported alongside."""
    first, last = coverage["slot"].min(), coverage["slot"].max()
    mean = coverage.groupby(["slot", "arm"])["value"].mean()
    ratio = float(mean[(last, ARMS[1])]) / float(mean[(last, ARMS[0])])
    at_first = float(mean[(first, ARMS[1])]) / float(mean[(first, ARMS[0])])
    return CHECK_SHATTERING.verdict(
        ratio,
        passed=bool(ratio >= CHECK_SHATTERING.tolerance),
        detail=f"coverage at d_max: flat {float(mean[(last, ARMS[0])]):.3f}, weight decay "
        f"{float(mean[(last, ARMS[1])]):.3f}; the same ratio at d_min {at_first:.3f}",
    )


def _risk_figure(table: pd.DataFrame, seps: pd.DataFrame):
    slots = sorted(table["slot"].unique())
    with plt.rc_context(F.STYLE):
        fig, axes = plt.subplots(1, len(slots), figsize=(4.2 * len(slots), 3.6), squeeze=False)
        for ax, slot in zip(axes[0], slots, strict=True):
            sub = table[table["slot"] == slot]
            row = seps[seps["slot"] == slot].iloc[0]
            for arm, color in zip(ARMS, ("tab:red", "tab:blue"), strict=True):
                cell = sub[sub["arm"] == arm].groupby("n")["value"]
                n, mean = cell.mean().index.to_numpy(float), cell.mean().to_numpy()
                err = (cell.std(ddof=1) / np.sqrt(cell.count())).to_numpy()
                p = row["p_flat"] if arm == ARMS[0] else row["p_wd"]
                ax.errorbar(n, mean, yerr=err, marker="o", color=color, label=f"{arm}: p = {p:.2f}")
                fit = fit_power_law(n, mean)
                ax.plot(n, np.exp(fit.intercept) * n**fit.slope, "--", color=color, linewidth=1)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("sample size n")
            ax.set_ylabel("excess risk E(f − f*)²")
            ax.set_title(f"d = {int(row['dim'])}: separation {row['separation']:.2f}")
            ax.legend()
        fig.tight_layout()
    return fig


def _exponent_figure(seps: pd.DataFrame):
    with plt.rc_context(F.STYLE):
        fig, ax = plt.subplots(figsize=(5.0, 3.6))
        x = np.arange(len(seps))
        lo = [np.quantile(d, 0.1) for d in seps["draws"]]
        hi = [np.quantile(d, 0.9) for d in seps["draws"]]
        sep = seps["separation"].to_numpy()
        ax.errorbar(x, sep, yerr=[sep - np.array(lo), np.array(hi) - sep], marker="o", color="black", capsize=3)
        ax.plot(x, seps["p_flat"], "s--", color="tab:red", label="p flat")
        ax.plot(x, seps["p_wd"], "^--", color="tab:blue", label="p weight decay")
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.set_xticks(x, [f"d = {d}" for d in seps["dim"]])
        ax.set_ylabel("exponent / separation (10–90 % bootstrap)")
        ax.legend()
        fig.tight_layout()
    return fig


def _shattering_figure(coverage: pd.DataFrame, runs: pd.DataFrame):
    """Left: the magnitude-weighted activation coverage against n, per arm and d; right: the final S·η/2 of every
    flat-arm run against n."""
    flat = runs[(runs["arm"] == ARMS[0]) & (runs["status"] == OK)]
    with plt.rc_context(F.STYLE):
        fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.6))
        for (_slot, arm), cell in coverage.groupby(["slot", "arm"]):
            mean = cell.groupby("n")["value"].mean()
            style = "-" if arm == ARMS[0] else ":"
            left.plot(mean.index, mean.to_numpy(), style, marker="o", label=f"{arm}, d = {int(cell['dim'].iloc[0])}")
        left.set_xscale("log")
        left.set_xlabel("sample size n")
        left.set_ylabel("weighted activation coverage")
        left.legend()
        for _slot, cell in flat.groupby("slot"):
            ratio = cell[final_column(SHARPNESS)] * cell[column("optimizer.learning_rate")] / 2.0
            right.plot(
                cell[column("problem.n_used")],
                ratio,
                "o",
                alpha=0.6,
                label=f"d = {cell[column('problem.dim')].iloc[0]}",
            )
        right.axhline(1.0, color="black", linestyle="--", label="2/η")
        right.axhline(CHECK_STABLE.tolerance, color="grey", linestyle=":", label="tolerance")
        right.set_xscale("log")
        right.set_xlabel("sample size n")
        right.set_ylabel("final sharpness × η/2 (flat arm)")
        right.legend()
        fig.tight_layout()
    return fig


@register_study("neural-shattering")
class NeuralShattering(Study):
    claim = (
        "Stable minima of two-layer ReLU networks (large-step GD, sharpness ≤ 2/η) learn at rates in n that "
        "deteriorate with the input dimension, unlike weight decay's low-norm solutions, and shatter: rarely active "
        "neurons carry large weights"
    )
    reference = (
        "Liang, Qiao, Wang, Parhi. Stable Minima of ReLU Neural Networks Suffer from the Curse of Dimensionality: "
        "The Neural Shattering Phenomenon (2506.20779)"
    )
    checks: ClassVar[tuple[Check, ...]] = CHECKS
    declared_options: ClassVar[dict[str, Param]] = {
        "bootstrap": Param("int", BOOTSTRAP, "bootstrap draws for the headline's spread", low=20),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "dimension-one",
            "Every spec runs at d = 1 (two independent datasets in place of d_min and d_max): the dimension does not "
            "grow, so neither does the separation between the arms.",
            mechanism=False,
            overrides=("problem.dim=1",),
        ),
        Control(
            "weight-decay-both-arms",
            "The large-step arm gets the same weight decay λ as the other arm: both find low-norm solutions, the "
            "large step no longer leaves room for shattered, rarely active neurons.",
            mechanism=True,
            overrides=(f"problem.weight_decay={{grid = [{WEIGHT_DECAY}, {WEIGHT_DECAY * 1.01:g}]}}",),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        return [
            spec_from_dict(
                {
                    "name": f"neural-shattering-d{dim}" + ("-quick" if options.quick else ""),
                    "description": self.claim,
                    "problem": {
                        "name": "relu_ball",
                        "dim": dim,
                        "width": size["width"],
                        "n_train": max(size["n"]),
                        "data_seed": slot,
                        "noise": NOISE,
                        "weight_decay": {"grid": [0.0, WEIGHT_DECAY]},
                        "n_used": {"grid": size["n"]},
                        "rare_fraction": RARE_FRACTION,
                        "data_draw": {"grid": list(range(size["draws"]))},
                    },
                    "optimizer": {"name": "sgd", "learning_rate": STEP},
                    "sampler": {"name": "full_batch"},
                    "run": {
                        "steps": size["steps"],
                        "seeds": 1,
                        "checkpoints": 2,
                    },
                    "probes": ["metrics", {"name": "sharpness", "iterations": 20}],
                }
            )
            for slot, dim in enumerate(size["dims"])
        ]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        runs = labelled_runs(results)
        table = risk_table(runs)
        rare = risk_table(runs, RARE)
        seps = separations(table, boot=int(options["bootstrap"]))
        coverage = risk_table(runs, COVERAGE)
        verdicts = [separation_verdict(seps), stability_verdict(runs), shattering_verdict(coverage)]
        figures = [
            (
                "Excess risk against n per dimension: seed mean ± s.e. of both arms with fitted power laws (dashed)",
                F.save(_risk_figure(table, seps), folder, "risk_vs_n", formats=FORMATS)["png"],
            ),
            (
                "Fitted exponents and their separation against d (10–90 % bootstrap over seeds)",
                F.save(_exponent_figure(seps), folder, "exponents", formats=FORMATS)["png"],
            ),
            (
                "Magnitude-weighted activation coverage against n (both arms, every d); final sharpness × η/2 of "
                "every flat-arm run",
                F.save(_shattering_figure(coverage, runs), folder, "shattering", formats=FORMATS)["png"],
            ),
        ]
        mean_rare = rare.groupby(["slot", "arm"])["value"].mean().rename("rare share").reset_index()
        mean_cov = coverage.groupby(["slot", "arm"])["value"].mean().rename("coverage").reset_index()
        summary = (
            seps.drop(columns="draws")
            .merge(
                mean_rare.pivot(index="slot", columns="arm", values="rare share").add_prefix("rare share "), on="slot"
            )
            .merge(mean_cov.pivot(index="slot", columns="arm", values="coverage").add_prefix("coverage "), on="slot")
        )
        return Analysis(verdicts, figures, summary)
