r"""shuffling — how the order of the examples sets SGD's error floor.

Claim (Mishchenko, Khaled, Richtárik 2020; Safran & Shamir 2020): on a finite sum of n strongly
convex quadratics with a shared Hessian, SGD with a constant step γ reaches a stationary error
:math:`E[F(x_{kn})-F^\star]` at epoch ends that scales as

* :math:`\gamma^1` when examples are sampled with replacement (the noise of each step survives),
* :math:`\gamma^2` with one fixed order (single shuffle, or incremental), whose first-order epoch
  drift cancels but whose second-order drift does not,
* :math:`\gamma^3` with random reshuffling, whose second-order drift cancels in mean too;

and, at a fixed γ, as :math:`n^0`, :math:`n^1` and :math:`n^2` (third part below): RR's advantage falls as
:math:`n^{-2}` over with-replacement sampling and as :math:`n^{-1}` over a single shuffle.

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
seeds (random x₀, random permutations) and its exponent in K fitted on log–log axes. Verdict (two-sided):
every shuffling scheme's (RR, SS, IG) fitted exponent is within 0.15 of −1/2. Measured: --quick (16 seeds)
worst |error| 0.102 (RR); default (64 seeds) 0.059 (RR). The last iterate of with-replacement sampling at the
largest K (2.3–2.6 × RR's here) is reported, not judged: the theorems are upper bounds and order the schemes
the other way (with replacement Õ(1/√(nK)), RR Õ(1/(n^{1/4}√K))), so a ratio on one sharp instance is no
prediction; RR's advantage is judged in the third part instead. The tolerance is tighter than an
:math:`\tilde O` bound needs in general (a log K factor alone adds ≈ 1/ln K ≈ 0.2 to an exponent fitted
over this range of K); it suits this problem, which is sharp (F − F* ≥ α‖x − x*‖ with a unique minimizer
at a kink): with a step η the iterates keep moving by O(η) around x* and F − F* is of order η, so
:math:`\eta_K\propto K^{-1/2}` gives the pure power K^{-1/2} once the initial distance is used up. The
same runs read with a step that is *not* scaled with the horizon (the K = 8 step at every K) show
the O(η) floor of a constant step, exponent ≈ 0 — the control, reported in the summary and the figure.

Third part: how RR's advantage depends on n. On the shared-Hessian quadratic the epoch map is exactly solvable
(:func:`epoch_map_floors`): with :math:`e=x-x^\star`, one epoch in the order σ is
:math:`e\leftarrow\rho^n e+\sum_i c_i\varepsilon_{\sigma(i)}`, :math:`\rho=1-\gamma a`,
:math:`c_i=\gamma a\rho^{n-i}`, :math:`\varepsilon_i=b_i-\bar b`. The kick has mean 0 over a uniform σ (the
first-order drift cancels) and variance :math:`\sum_i(c_i-\bar c)^2 S\,n/(n-1)\approx\gamma^4a^4n^2(n+1)S/12`;
fresh kicks every epoch (RR) give the stationary floor :math:`\gamma^3a^4n(n+1)S/48`, one kick repeated
(single shuffle: the fixed point of one epoch map) :math:`\gamma^2a^3(n+1)S/24`, with replacement
:math:`\gamma a^2S/4`. So RR's advantage is a function of the epoch step γn alone,

.. math:: \frac{F_{\rm WR}}{F_{\rm RR}}\approx\frac{12}{(\gamma a n)^2},\qquad
          \frac{F_{\rm SS}}{F_{\rm RR}}\approx\frac{2}{\gamma a n}.

At the theory's step for a horizon of K epochs, :math:`\gamma\asymp\log(nK)/(\mu nK)` (Mishchenko et al. 2020,
Theorem 1 and its corollary; Safran & Shamir 2020), these floors are the rates :math:`1/(nK)`,
:math:`1/(nK^2)`, :math:`1/(nK^3)` of with-replacement SGD, a single shuffle (Safran & Shamir's
:math:`\Omega(1/(nK^2))`) and RR (the :math:`1/(nK^3)` term of their :math:`\Omega(1/(nK)^2+1/(nK^3))`, attained
by univariate quadratics): the advantage grows as K² and K and is *free of n*, so at that step an n-sweep cannot
tell RR from with-replacement sampling (both exponents 0). At a *fixed* step γ — Mishchenko et al.'s Theorem 1
regime, whose RR neighbourhood :math:`O(\gamma^2 n\sigma_*^2)` against SGD's :math:`O(\gamma\sigma_*^2)` already
says that the advantage shrinks with n — the prediction is a clear power of n: the advantage over
with-replacement sampling falls as :math:`n^{-2}`, over a single shuffle as :math:`n^{-1}` (the upper bound
alone would say :math:`n^{-1}` and :math:`n^{0}`; those exponents are refused, see the tests). The first part
tests the floors' exponents in γ; this part tests their exponents in n, two-sided.

The experiment: ``finite_sum_quadratic`` with A = I in d = 32 (so the data's variance S cancels exactly from
every ratio), x₀ = x*, one step γ = 0.008, n ∈ {8, 16, 32, 64} a static axis (one compiled program per n and
sampler, seeds vmapped), samplers with replacement, single shuffle and RR; F − F* averaged over the epoch ends
after a burn-in of 1024 steps (≥ 8/γ: the single shuffle's transient is gone) and over seeds. The log–log
slopes in n of floor(WR)/floor(RR) and floor(SS)/floor(RR) are compared with the exact epoch map's slopes on
the same grid, −1.940 and −0.990 (the leading-order −2 and −1 moved by the n/(n − 1) of sampling without
replacement and the O(γn) terms). Verdict: the largest |fitted − predicted| in units of its tolerance, 0.08
(WR/RR) and 0.16 (SS/RR), pass at ≤ 1. Tolerances from the seed spread: 8 independent replicates of the
--quick sweep (16 seeds each, ``run.seed`` 1000…1007) gave WR/RR exponents −1.934 ± 0.017 (mean ± SD; largest
|fitted − predicted| 0.033) and SS/RR −1.011 ± 0.034 (largest 0.080); the bootstrap spread over seeds the
analysis reports agrees (0.014–0.021 and 0.031–0.051). The tolerances are ≈ 4.7 SD. With RR swapped for
with-replacement sampling the WR/RR exponent is 0 and the SS/RR one ≈ +0.9 (figure ≈ 24): that control fails
here because RR's γ³ floor (whose n² factor makes the advantage fall) is gone, the right reason.

The headline verdict combines the three parts: the number of failed claims (tolerance 0).

Controls: ``rr-with-replacement`` (mechanism: the RR slot is filled by with-replacement runs, option
``rr_sampler``) fails the floor part (|error| 1.96) and the n part (figure ≈ 24); ``rr-floor-exponent-shifted``
(RR's predicted floor exponent 3 → 2, option ``rr_floor_shift = −1``) fails the floor part with |error| ≈ 1.04.

Not done: the regime where RR's advantage *grows* with n at the tuned step — the :math:`1/(nK)^2` term of the
RR rate for quadratics (Safran & Shamir 2020; Rajput et al. 2020), which makes with-replacement / RR ≈ nK for
K ≫ n — needs components with different Hessians (its source is the epoch's mean drift
:math:`-\tfrac{\gamma^2}{2}\sum_i A_i\nabla f_i(x^\star)`, zero when the Hessians are shared), which
``finite_sum_quadratic`` does not have. The last-iterate part's n-dependence (RR's :math:`n^{-1/4}`) is an
upper bound and is not tested.

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
from matplotlib.ticker import LogFormatter, NullLocator

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
SHUFFLING_SCHEMES = ("random_reshuffling", "single_shuffle", "incremental")  # what the theorems cover
L1_PROBLEM = {"name": "l1_regression", "n_samples": 32, "dim": 8, "noise": 0.5, "data_seed": 0, "init_scale": 1.0}
# Third part: RR's advantage against n at one constant step γ, on an isotropic shared-Hessian quadratic started at x*.
ADVANTAGE_COMPARATORS = ("with_replacement", "single_shuffle")  # floor(comparator) / floor(RR) against n
ADVANTAGE_EXPONENT = {"with_replacement": -2.0, "single_shuffle": -1.0}  # leading order: 12/(γn)², 2/(γn)
ADVANTAGE_TOLERANCE = {"with_replacement": 0.08, "single_shuffle": 0.16}  # ≈ 4.7 × the replicate spread at --quick
N_SWEEP_PROBLEM = {"name": "finite_sum_quadratic", "dim": 32, "mu": 1.0, "init_distance": 0.0, "data_seed": 0}
N_SWEEP_SIZES = {
    "quick": {"n": [8, 16, 32, 64], "lr": 0.008, "burn_in": 1024, "tail": 4096, "seeds": 16},
    "default": {"n": [8, 16, 32, 64], "lr": 0.008, "burn_in": 1024, "tail": 16384, "seeds": 48},
    "paper": {"n": [8, 16, 32, 64, 128], "lr": 0.004, "burn_in": 2048, "tail": 65536, "seeds": 64},
}
LAST_ITERATE_SIZES = {
    "quick": {"horizons": [8, 16, 32, 64, 128, 256, 512], "seeds": 16},
    "default": {"horizons": [8, 16, 32, 64, 128, 256, 512, 1024, 2048], "seeds": 64},
    "paper": {"horizons": [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192], "seeds": 128},
}


def floors(runs: pd.DataFrame, curves: pd.DataFrame, first_step: int) -> pd.DataFrame:
    """Mean of F − F* over the recorded epoch ends from ``first_step`` on and over seeds."""
    data = curves[(curves.metric == METRIC) & (curves.step >= first_step)].merge(
        runs[["run", "sampler_name", "optimizer_learning_rate", "status"]], on="run"
    )
    data = data[data.status == "ok"]
    return (
        data.groupby(["sampler_name", "optimizer_learning_rate"])["value"]
        .agg(floor="mean", sem=lambda v: v.std() / np.sqrt(len(v)))
        .reset_index()
    )


def slope_table(table: pd.DataFrame, predicted: dict[str, float] = PREDICTED_SLOPE) -> pd.DataFrame:
    rows = []
    for sampler, group in table.groupby("sampler_name"):
        fit = fit_power_law(group.optimizer_learning_rate.to_numpy(), group["floor"].to_numpy())
        rows.append(
            {
                "sampler": sampler,
                "fitted slope": fit.value,
                "95% CI": f"[{fit.low:.3f}, {fit.high:.3f}]",
                "predicted slope": predicted[sampler],
                "|error|": abs(fit.value - predicted[sampler]),
            }
        )
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


def last_iterates(
    runs: pd.DataFrame, curves: pd.DataFrame, n: int, horizons: list[int], horizon_scaled: bool = True
) -> pd.DataFrame:
    """Seed mean and standard error of F(x_K) − F* per sampler and horizon K.

    ``horizon_scaled``: each run's last iterate is read at its own horizon (the i-th largest step η
    belongs to the i-th smallest K). Otherwise (the control) the runs of the largest step, the one
    tuned for the smallest K, are read at every horizon: a constant step not scaled with K.
    """
    data = curves[curves.metric == METRIC].merge(
        runs[["run", "sampler_name", "optimizer_learning_rate", "status"]], on="run"
    )
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
            rows.append(
                {
                    "sampler_name": sampler,
                    "epochs": k,
                    "learning_rate": step,
                    "mean": v.mean(),
                    "sem": v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0,
                    "seeds": v.size,
                }
            )
    return pd.DataFrame(rows)


def exponent_table(table: pd.DataFrame, predicted: float = LAST_ITERATE_EXPONENT) -> pd.DataFrame:
    """Fitted exponent of F(x_K) − F* in K per sampler, against the predicted one."""
    rows = []
    for sampler, group in table.groupby("sampler_name"):
        fit = fit_power_law(group["epochs"].to_numpy(), group["mean"].to_numpy())
        rows.append(
            {
                "sampler": sampler,
                "fitted exponent": fit.value,
                "95% CI": f"[{fit.low:.3f}, {fit.high:.3f}]",
                "predicted exponent": predicted,
                "fitted − predicted": fit.value - predicted,
                "|error|": abs(fit.value - predicted),
                "covered": sampler in SHUFFLING_SCHEMES,
                "final F − F*": group.sort_values("epochs")["mean"].iloc[-1],
            }
        )
    return pd.DataFrame(rows)


def epoch_map_floors(step: float, n: int, curvature: float = 1.0) -> dict[str, float]:
    r"""Exact stationary :math:`E[F-F^\star]` at epoch ends, per unit variance S of the centres, for components
    :math:`f_i(x)=\frac a2(x-b_i)^2` (one coordinate of curvature a) and the constant step γ.

    With :math:`e=x-x^\star`, :math:`\varepsilon_i=b_i-\bar b`, :math:`\rho=1-\gamma a`, an epoch in the order σ
    is :math:`e\leftarrow\rho^n e+\sum_i c_i\varepsilon_{\sigma(i)}` with :math:`c_i=\gamma a\rho^{n-i}`; over a
    uniform σ its kick has mean 0 and variance :math:`V=\sum_i(c_i-\bar c)^2\,S\,n/(n-1)`. Hence
    :math:`E e^2 = V/(1-\rho^{2n})` for random reshuffling (independent kicks), :math:`V/(1-\rho^n)^2` for a
    single shuffle (the fixed point of one epoch map, averaged over σ), :math:`\gamma^2a^2S/(1-\rho^2)` with
    replacement; :math:`F-F^\star=\frac a2 e^2`. To leading order in γa and γan: :math:`\gamma a^2S/4`,
    :math:`\gamma^2a^3(n+1)S/24`, :math:`\gamma^3a^4n(n+1)S/48`.
    """
    rho = 1.0 - step * curvature
    kicks = step * curvature * rho ** (n - np.arange(1, n + 1, dtype=np.float64))
    variance = float(np.sum((kicks - kicks.mean()) ** 2)) * n / (n - 1)
    second_moment = {
        "with_replacement": (step * curvature) ** 2 / (1.0 - rho**2),
        "single_shuffle": variance / (1.0 - rho**n) ** 2,
        "random_reshuffling": variance / (1.0 - rho ** (2 * n)),
    }
    return {sampler: 0.5 * curvature * value for sampler, value in second_moment.items()}


def advantage_exponent(step: float, ns: np.ndarray, comparator: str) -> float:
    """Log–log slope in n of floor(comparator) / floor(RR) from :func:`epoch_map_floors` over the grid ``ns``
    (−2 and −1 to leading order; the n/(n − 1) of sampling without replacement and O(γn) terms move it)."""
    ratios = [(f := epoch_map_floors(step, int(n)))[comparator] / f["random_reshuffling"] for n in ns]
    return float(np.polyfit(np.log(np.asarray(ns, np.float64)), np.log(ratios), 1)[0])


def n_sweep_samplers(options: StudyOptions) -> list[str]:
    """The comparators and RR — or, in a control, the sampler that runs in RR's place."""
    swap = options.get("rr_sampler", "random_reshuffling")
    return [*ADVANTAGE_COMPARATORS, *([swap] if swap not in ADVANTAGE_COMPARATORS else [])]


def seed_floors(runs: pd.DataFrame, curves: pd.DataFrame, first_step: int) -> pd.DataFrame:
    """Mean of F − F* over the recorded epoch ends from ``first_step`` on, per sampler, n and seed."""
    data = curves[(curves.metric == METRIC) & (curves.step >= first_step)].merge(
        runs[["run", "sampler_name", "problem_n", "seed", "status"]], on="run"
    )
    data = data[data.status == "ok"]
    return data.groupby(["sampler_name", "problem_n", "seed"])["value"].mean().reset_index()


def advantage_table(per_seed: pd.DataFrame, step: float, shift: float = 0.0, resamples: int = 400) -> pd.DataFrame:
    """Fitted exponent in n of RR's floor advantage floor(comparator) / floor(RR) per comparator, its seed spread
    (standard deviation over bootstrap resamples of the seeds) and the predicted exponent (+ ``shift``)."""
    table = per_seed.pivot_table(index="seed", columns=["sampler_name", "problem_n"], values="value")
    ns = np.sort(per_seed.problem_n.unique()).astype(np.float64)
    draws = np.random.default_rng(0).integers(0, len(table), (resamples, len(table)))
    boot = pd.DataFrame(table.to_numpy()[draws].mean(axis=1), columns=table.columns)
    rows = []
    for comparator in ADVANTAGE_COMPARATORS:
        ratio = (table[comparator].mean() / table["random_reshuffling"].mean()).loc[ns].to_numpy()
        fit = fit_power_law(ns, ratio)
        boot_ratio = (boot[comparator] / boot["random_reshuffling"])[ns].to_numpy()
        spread = float(np.std(np.polyfit(np.log(ns), np.log(boot_ratio.T), 1)[0], ddof=1))
        predicted = advantage_exponent(step, ns, comparator) + shift
        rows.append(
            {
                "sampler": f"{comparator} / random_reshuffling",
                "comparator": comparator,
                "fitted": fit.value,
                "95% CI": f"[{fit.low:.3f}, {fit.high:.3f}]",
                "predicted": predicted,
                "leading order": ADVANTAGE_EXPONENT[comparator] + shift,
                "|error|": abs(fit.value - predicted),
                "seed spread": spread,
                "tolerance": ADVANTAGE_TOLERANCE[comparator],
                "ratio at smallest n": ratio[0],
                "ratio at largest n": ratio[-1],
            }
        )
    return pd.DataFrame(rows)


def is_n_sweep(runs: pd.DataFrame) -> bool:
    return bool((runs.problem_name == "finite_sum_quadratic").all() and runs.problem_n.nunique() > 1)


@register_study("shuffling")
class Shuffling(Study):
    claim = (
        "SGD's error floor at a constant step γ scales as γ with replacement, γ² with one fixed order, "
        "γ³ with random reshuffling, so at a fixed γ RR's advantage falls as n^-2 over with-replacement "
        "sampling and as n^-1 over a single shuffle; on a nonsmooth convex finite sum the last iterate of every "
        "shuffling scheme with a horizon-tuned step decays as K^-1/2 in the number of epochs K"
    )
    reference = (
        "Mishchenko, Khaled, Richtárik. Random Reshuffling: Simple Analysis with Vast Improvements "
        "(2006.05988); Safran & Shamir. How Good is SGD with Random Shuffling? (COLT 2020); "
        "Liu & Zhou. On the Last-Iterate Convergence of Shuffling Gradient Methods (ICML 2024, 2403.07723); "
        "Liu & Zhou. Improved Last-Iterate Convergence of Shuffling Gradient Methods for Nonsmooth Convex "
        "Optimization (ICML 2025, 2505.23056)"
    )

    declared_options: ClassVar[dict[str, Param]] = {
        "rr_sampler": Param(
            "str",
            "random_reshuffling",
            "the sampler that runs in random reshuffling's place",
            choices=("random_reshuffling", "with_replacement", "incremental"),
        ),
        "rr_floor_shift": Param("float", 0.0, "added to random reshuffling's predicted floor exponent (3)"),
        "last_exponent_shift": Param("float", 0.0, "added to the predicted last-iterate exponent (−1/2)"),
        "advantage_shift": Param("float", 0.0, "added to the predicted exponents in n of RR's floor advantage"),
        "horizon_scaled": Param(
            "bool",
            True,
            "read each run's last iterate at its own horizon (false: every run at "
            "the largest step's horizon, a step not scaled with the horizon)",
        ),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "rr-with-replacement",
            "Random reshuffling is swapped for sampling with replacement (its runs fill "
            "the RR slot): each step's noise survives, so the floor scales as gamma, not gamma^3, and the "
            "advantage over with-replacement sampling no longer falls as n^-2 (it is 1 at every n).",
            mechanism=True,
            options=(("rr_sampler", "with_replacement"),),
        ),
        Control(
            "rr-floor-exponent-shifted",
            "Random reshuffling's predicted floor exponent is shifted from 3 to 2 "
            "(the fixed-order prediction): the theory would then not separate RR from a single shuffle, and "
            "the measured gamma^3 must contradict it.",
            mechanism=False,
            options=(("rr_floor_shift", -1.0),),
        ),
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
        return pd.concat(
            [runs, runs[runs.sampler_name == swap].assign(sampler_name="random_reshuffling")], ignore_index=True
        )

    @staticmethod
    def size(options: StudyOptions) -> dict:
        return options.pick(SIZES)

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = self.size(options)
        n, epochs, tail = size["n"], size["epochs"], size["tail"]
        checkpoints = sorted({0, *(n * k for k in range(epochs - tail, epochs + 1, max(1, tail // 50)))})
        suffix = "-quick" if options.quick else ""
        floor = spec_from_dict(
            {
                "name": "shuffling" + suffix,
                "description": self.claim,
                "problem": {"name": "finite_sum_quadratic", "n": n, "dim": 5, "mu": 0.5},
                "optimizer": {"name": "sgd", "learning_rate": {"logspace": size["lr"]}},
                "sampler": {"name": {"grid": self.samplers(options)}},
                "run": {
                    "steps": n * epochs,
                    "batch_size": 1,
                    "seeds": size["seeds"],
                    "checkpoints": checkpoints,
                    "dtype": "float64",
                },
                "probes": ["metrics"],
            }
        )
        last = options.pick(LAST_ITERATE_SIZES)
        n1, horizons = L1_PROBLEM["n_samples"], last["horizons"]
        last_iterate = spec_from_dict(
            {
                "name": "shuffling-last-iterate" + suffix,
                "description": "last iterate of SGD on ℓ1 regression with η_K = (D/G)/√(nK), read at step nK",
                "problem": dict(L1_PROBLEM),
                "optimizer": {"name": "sgd", "learning_rate": {"grid": horizon_steps(horizons, n1, step_scale())}},
                "sampler": {"name": {"grid": self.samplers(options)}},
                "run": {
                    "steps": n1 * max(horizons),
                    "batch_size": 1,
                    "seeds": last["seeds"],
                    "checkpoints": sorted({0, *(n1 * k for k in horizons)}),
                },
                "probes": ["metrics"],
            }
        )
        sweep = options.pick(N_SWEEP_SIZES)
        largest = max(sweep["n"])  # every recorded step is an epoch end for every n (powers of 2)
        n_sweep = spec_from_dict(
            {
                "name": "shuffling-n-sweep" + suffix,
                "description": "RR's error-floor advantage over with-replacement and single-shuffle SGD against n at "
                "one step γ",
                "problem": {**N_SWEEP_PROBLEM, "n": {"grid": sweep["n"]}},
                "optimizer": {"name": "sgd", "learning_rate": sweep["lr"]},
                "sampler": {"name": {"grid": n_sweep_samplers(options)}},
                "run": {
                    "steps": sweep["burn_in"] + sweep["tail"],
                    "batch_size": 1,
                    "seeds": sweep["seeds"],
                    "checkpoints": list(range(sweep["burn_in"], sweep["burn_in"] + sweep["tail"] + 1, largest)),
                    "dtype": "float64",
                },
                "probes": ["metrics"],
            }
        )
        return [floor, last_iterate, n_sweep]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        """Three parts (floors vs γ, last iterate vs K, RR's advantage vs n); the options ``rr_floor_shift``,
        ``last_exponent_shift``, ``advantage_shift`` and ``horizon_scaled=false`` move the prediction or the
        reading, to check that the verdicts fail when the claim is broken."""
        floor_result = next(
            r for r in results if (r.runs.problem_name == "finite_sum_quadratic").all() and not is_n_sweep(r.runs)
        )
        last_results = [r for r in results if (r.runs.problem_name == "l1_regression").all()]
        sweep_results = [r for r in results if is_n_sweep(r.runs)]
        size = self.size(options)
        runs, curves = self.relabel(floor_result.runs, options), floor_result.curves
        table = floors(runs, curves, size["n"] * (size["epochs"] - size["tail"]))
        predicted = {
            **PREDICTED_SLOPE,
            "random_reshuffling": PREDICTED_SLOPE["random_reshuffling"] + float(options.get("rr_floor_shift", 0.0)),
        }
        last_exponent = LAST_ITERATE_EXPONENT + float(options.get("last_exponent_shift", 0.0))
        horizon_scaled = bool(options.get("horizon_scaled", True))
        slopes = slope_table(table, predicted)
        worst = slopes.loc[slopes["|error|"].idxmax()]
        floor_verdict = Verdict(
            bool(slopes["|error|"].max() <= TOLERANCE),
            float(slopes["|error|"].max()),
            f"largest |fitted − predicted| slope of the error floor vs γ, worst: {worst.sampler}",
            TOLERANCE,
        )
        figures = [self._floor_figure(table, slopes, folder)]
        fig = F.learning_curves(
            runs[runs.sampler_name == "random_reshuffling"],
            curves,
            METRIC,
            logx=False,
            title="random reshuffling: F − F* at epoch ends (last epochs)",
        )
        figures.append(("F − F* at the last epochs' ends, random reshuffling", F.save(fig, folder, "tail_rr")["png"]))
        summary = slopes.rename(columns={"fitted slope": "fitted", "predicted slope": "predicted"})
        summary.insert(0, "part", "floor vs γ")
        named = [("error-floor slopes", floor_verdict)]
        if last_results:
            last_verdict, exponents, figure = self._last_iterate(
                last_results[0], folder, options, last_exponent, horizon_scaled
            )
            named.append(("last-iterate exponent", last_verdict))
            figures.append(figure)
            exponents = exponents.rename(columns={"fitted exponent": "fitted", "predicted exponent": "predicted"})
            exponents.insert(0, "part", "last iterate vs K")
            summary = pd.concat([summary, exponents.drop(columns=["fitted − predicted", "covered"])], ignore_index=True)
        if sweep_results:
            advantage_verdict, advantages, figure = self._advantage(sweep_results[0], folder, options)
            named.append(("RR advantage vs n", advantage_verdict))
            figures.append(figure)
            advantages.insert(0, "part", "RR advantage vs n (fixed γ)")
            summary = pd.concat([summary, advantages.drop(columns=["comparator"])], ignore_index=True)
        verdicts = [v for _, v in named]
        failed = sum(not v.passed for v in verdicts)
        what = "claims failing of {}: {}".format(
            len(verdicts),
            "; ".join(
                f"{name} {'pass' if v.passed else 'fail'} {v.figure:.3g} (tolerance {v.tolerance:g})"
                for name, v in named
            ),
        )
        headline = Verdict(failed == 0, float(failed), what, 0.0)
        return Analysis([headline, *verdicts], figures, summary)

    @staticmethod
    def _advantage(
        result: Result, folder: Path, options: StudyOptions
    ) -> tuple[Verdict, pd.DataFrame, tuple[str, str]]:
        """RR's floor advantage against n: fitted exponents, verdict (two-sided, in units of each tolerance)."""
        sweep = options.pick(N_SWEEP_SIZES)
        runs = Shuffling.relabel(result.runs, options)
        per_seed = seed_floors(runs, result.curves, sweep["burn_in"])
        table = advantage_table(per_seed, sweep["lr"], float(options.get("advantage_shift", 0.0)))
        scaled = table["|error|"] / table["tolerance"]
        worst = table.loc[scaled.idxmax()]
        parts = "; ".join(
            f"{row.comparator}/RR fitted {row.fitted:.3f} vs {row.predicted:.3f} (leading order "
            f"{row['leading order']:g}) ± {row.tolerance:g}"
            for _, row in table.iterrows()
        )
        verdict = Verdict(
            bool(scaled.max() <= 1.0),
            float(scaled.max()),
            f"largest |fitted − predicted| exponent in n of RR's floor advantage at γ = {sweep['lr']:g}, "
            f"in units of its tolerance (two-sided; worst {worst.comparator}): {parts}",
            1.0,
        )
        return verdict, table, Shuffling._advantage_figure(per_seed, table, sweep["lr"], folder)

    @staticmethod
    def _advantage_figure(per_seed: pd.DataFrame, table: pd.DataFrame, step: float, folder: Path) -> tuple[str, str]:
        means = per_seed.groupby(["sampler_name", "problem_n"])["value"].mean()
        ns = np.sort(per_seed.problem_n.unique()).astype(np.float64)
        fine = np.unique(np.geomspace(ns[0], ns[-1], 40).round().astype(int))
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(5.6, 4.2))
            for i, (_, row) in enumerate(table.iterrows()):
                ratio = (means[row.comparator] / means["random_reshuffling"]).loc[ns].to_numpy()
                ax.plot(
                    ns,
                    ratio,
                    marker="o",
                    linestyle="none",
                    color=f"C{i}",
                    label=f"{row.comparator.replace('_', ' ')} / RR: exponent {row.fitted:.2f}",
                )
                exact = [(f := epoch_map_floors(step, int(n)))[row.comparator] / f["random_reshuffling"] for n in fine]
                ax.plot(
                    fine,
                    exact,
                    **{**F.THEORY_STYLE, "color": f"C{i}"},
                    label=f"epoch map (exponent {row.predicted:.2f}; leading order {row['leading order']:g})",
                )
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks(ns, [str(int(n)) for n in ns])  # plain labels (the report's style shows raw mathtext)
            ax.xaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_major_formatter(LogFormatter())
            ax.set_xlabel("number of components n")
            ax.set_ylabel("floor ratio  E[F − F*] other / RR")
            ax.set_title(f"RR's advantage at a fixed step γ = {step:g}", fontsize=10)
            ax.legend(loc="best")
            fig.tight_layout()
        return (
            "RR's error-floor advantage over with-replacement and single-shuffle SGD against n at a fixed step, "
            "with the exact epoch-map prediction (dashed)",
            F.save(fig, folder, "advantage_vs_n")["png"],
        )

    @staticmethod
    def _last_iterate(
        result: Result, folder: Path, options: StudyOptions, predicted: float, horizon_scaled: bool
    ) -> tuple[Verdict, pd.DataFrame, tuple[str, str]]:
        horizons = options.pick(LAST_ITERATE_SIZES)["horizons"]
        n = L1_PROBLEM["n_samples"]
        runs, curves = Shuffling.relabel(result.runs, options), result.curves
        table = last_iterates(runs, curves, n, horizons, horizon_scaled)
        exponents = exponent_table(table, predicted)
        covered = exponents[exponents.covered]
        worst = covered.loc[covered["|error|"].idxmax()]
        error = float(worst["|error|"])
        verdict = Verdict(
            error <= LAST_ITERATE_TOLERANCE,
            error,
            f"largest |fitted − predicted ({predicted:g})| exponent in K of the last iterate "
            f"F(x_K) − F* over RR, SS, IG (two-sided; worst {worst.sampler})",
            LAST_ITERATE_TOLERANCE,
        )
        control = last_iterates(runs, curves, n, horizons, horizon_scaled=False) if horizon_scaled else None
        figure_entry = Shuffling._last_iterate_figure(table, exponents, control, predicted, folder)
        if control is not None:  # the same runs with the smallest horizon's step at every K: no decay expected
            rows = exponent_table(control, predicted).assign(covered=False)
            rows["sampler"] = rows["sampler"] + " (step not scaled, control)"
            exponents = pd.concat([exponents, rows], ignore_index=True)
        return verdict, exponents, figure_entry

    @staticmethod
    def _last_iterate_figure(
        table: pd.DataFrame, exponents: pd.DataFrame, control: pd.DataFrame | None, predicted: float, folder: Path
    ) -> tuple[str, str]:
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(5.6, 4.2))
            for i, sampler in enumerate(SAMPLERS):
                group = table[table.sampler_name == sampler].sort_values("epochs")
                if group.empty:
                    continue
                row = exponents[exponents.sampler == sampler].iloc[0]
                color = f"C{i}"
                k, mean = group["epochs"].to_numpy(), group["mean"].to_numpy()
                ax.errorbar(
                    k,
                    mean,
                    yerr=2 * group["sem"],
                    marker="o",
                    color=color,
                    linestyle="none",
                    label=f"{sampler.replace('_', ' ')}: exponent {row['fitted exponent']:.2f}",
                )
                fit = fit_power_law(k, mean)
                ax.plot(k, np.exp(fit.intercept) * k**fit.slope, color=color, linewidth=1, alpha=0.7)
            k = np.sort(table["epochs"].unique()).astype(float)
            anchor = table[table.epochs == k[0]]["mean"].max()
            ax.plot(
                k,
                1.5 * anchor * (k / k[0]) ** predicted,
                **F.THEORY_STYLE,
                label=f"theory: K^{predicted:g} (upper bound, up to constants)",
            )
            if control is not None:
                rr = control[control.sampler_name == "random_reshuffling"].sort_values("epochs")
                ax.plot(
                    rr["epochs"],
                    rr["mean"],
                    color="grey",
                    marker="x",
                    linestyle=":",
                    label="RR, step not scaled with K (control)",
                )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("horizon K (epochs), step η_K = (D/G)/√(nK)")
            ax.set_ylabel("last iterate  E[F(x_K) − F*]")
            ax.set_title("ℓ1 regression (nonsmooth convex): last iterate vs K", fontsize=10)
            ax.legend(loc="best")
            fig.tight_layout()
        return (
            "Last-iterate suboptimality against the horizon K per sampler, fitted slopes (solid) and the "
            "predicted K^-1/2 (dashed)",
            F.save(fig, folder, "last_iterate")["png"],
        )

    @staticmethod
    def _floor_figure(table: pd.DataFrame, slopes: pd.DataFrame, folder: Path) -> tuple[str, str]:
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(5.6, 4.2))
            for i, (sampler, group) in enumerate(table.groupby("sampler_name")):
                row = slopes[slopes.sampler == sampler].iloc[0]
                color = f"C{i}"
                label = f"{sampler.replace('_', ' ')}: slope {row['fitted slope']:.2f}"
                ax.errorbar(
                    group.optimizer_learning_rate,
                    group["floor"],
                    yerr=2 * group["sem"],
                    marker="o",
                    color=color,
                    linestyle="none",
                    label=label,
                )
                gamma = group.optimizer_learning_rate.to_numpy()
                anchor = group["floor"].to_numpy()[-1]
                ax.plot(
                    gamma,
                    anchor * (gamma / gamma[-1]) ** row["predicted slope"],
                    linestyle="--",
                    color=color,
                    alpha=0.8,
                )
            ax.plot([], [], "k--", label="theory: γ, γ², γ³")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("step size γ")
            ax.set_ylabel("error floor  E[F − F*] at epoch ends")
            ax.legend(loc="best")
            fig.tight_layout()
        return (
            "Error floor against the step size per sampler, with the predicted slopes (dashed)",
            F.save(fig, folder, "floors")["png"],
        )
