r"""large-step-sizes — what a large step does that a small one cannot: leave a sharp local minimum for a wide
global one, and, at the edge of stability, monotonically decrease the sharpness of the gradient-flow solution.

Claim 1 (Mohtashami, Jaggi, Stich, 2205.15142): on a function with a sharp local minimum and a wide
global one, GD with a large step reaches the global basin where small steps stop at the local one. Problem
``two_basins``: :math:`f(x)=\tfrac a2x^2-h\,e^{-(x-c)^2/2s^2}` (a = 1, c = 3, s = 0.3, h = 2), local minimum
x ≈ 2.856 with curvature :math:`\lambda_{\rm loc}\approx16.2`, global minimum at 0 with curvature ≈ 1; inits
uniform in c ± 0.3 (inside the local basin). A minimum with curvature λ is linearly unstable for GD when
η > 2/λ, so the prediction is: fraction of runs ending in the global basin 0 for η < 2/λ_loc ≈ 0.123 and
1 for 2/λ_loc < η < 2/a. One spec: seeds × a log grid of 10 steps 0.02 … 1.6.

Claim 2 (Kreisler, Nacson, Soudry, Carmon, 2305.13064): on scalar networks
:math:`\mathcal L(w)=\tfrac12(\prod_iw_i-y)^2`, GD with a step above the edge of stability
(:math:`\phi(w_0)>2/\eta`, φ the GFS sharpness: the sharpness of the point gradient flow from w converges to)
decreases φ monotonically, until it is ≤ 2/η and GD converges. Problem ``scalar_network`` (D = 2, y = 1,
:math:`w_0=e^{\rho u+\epsilon\xi}`, u = (−1, 1), ρ = 1, ε = 0.02, so φ(w₀) ≈ e²+e⁻² ≈ 7.52;
measured 7.11–7.86);
the steps are :math:`\eta=2k/\phi(\bar w_0)` for k = 1.1, 1.2, 1.3 (:math:`\bar w_0` the unjittered start,
φ in closed form), all inside the paper's range 2/η < φ(w₀) < 2√2/η up to the jitter. φ is measured by the
``gfs_sharpness`` probe (a diffrax gradient-flow solve, then the Hessian's top eigenvalue), float64, every
2 steps.

Verdicts (declared in ``checks``, headline first):

1. ``gfs-decreases`` (headline): fraction of the EoS runs that do NOT (start with φ > 2/η, never increase φ by
   more than 1e-6·φ between checkpoints, and end with φ ≤ 2/η·(1 + 1e-6)); tolerance 0.05. Measured: 1/48 =
   0.021 at --quick (one k = 1.3 run had not reached φ ≤ 2/η after 300 steps: φ_end·η/2 = 1.29); default not
   measured yet.
2. ``monotone-increments``: fraction of all φ increments between checkpoints larger than 1e-6·φ; tolerance
   0.01. Measured 0 increments above 1e-6·φ, largest relative increment 1.2e-9 (the diffrax solve's
   tolerance) at --quick; gradient-noise control: 0.51.
3. ``global-basin-separation``: 1 − (min over steps η ≥ 1.5·2/λ_loc (and < 2/a) of the fraction in the global
   basin − max over steps η ≤ 2/λ_loc/1.5 of that fraction); tolerance 0.1. Measured 0 (fractions exactly 0
   and 1) at --quick; the steps within a factor 1.5 of the threshold are not judged (measured 0.42 at
   η = 0.14: the escape there depends on the init).

Controls: ``small-steps`` (η multiplied by 0.3 everywhere: φ(w₀) < 2/η, GD tracks gradient flow, φ stays
constant and never crosses 2/η — the headline fails; the two-basin steps shrink too, so every step stops at
the local minimum); ``gradient-noise`` (mechanism: the small steps of ``small-steps`` with Gaussian gradient
noise σ = 0.5 added instead of a large step: φ random-walks along the solution manifold, increasing at about
half of the checkpoints).

Figures: φ against steps per η with the 2/η lines (the paper's Figure 1 analogue), and the fraction of
runs in the global basin against η.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from descentlab.engine.load import spec_from_dict
from descentlab.engine.spec import Spec
from descentlab.experiment import Result
from descentlab.params import Param
from descentlab.problems.scalar_network import ScalarNetwork, gfs_sharpness
from descentlab.report import figures as F
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study

RELATIVE_INCREASE = 1e-6  # a φ increment larger than this fraction of φ counts as an increase
END_SLACK = 1e-6  # φ_end ≤ 2/η·(1 + END_SLACK)
K_GRID = [1.1, 1.2, 1.3]  # η·φ(w̄₀)/2
IMBALANCE = 1.0
JITTER = 0.02
LOCAL_CURVATURE_MARGIN = 1.5  # steps within this factor of 2/λ_loc are not judged

CHECK_DECREASES = Check(
    "gfs-decreases",
    "fraction of EoS runs not decreasing the GFS sharpness φ monotonically from above 2/η to ≤ 2/η",
    "GD above the edge of stability decreases φ monotonically until φ ≤ 2/η (Kreisler et al. 2023, Thm.)",
    0.05,
    "One run in 20 allowed; measured 1 of 48 runs failing at --quick (a k = 1.3 run still above 2/η at step 300).",
)
CHECK_INCREMENTS = Check(
    "monotone-increments",
    f"fraction of φ increments between checkpoints larger than {RELATIVE_INCREASE:g}·φ, all EoS runs",
    "no increase of φ along GD (monotone decrease)",
    0.01,
    "Measured 0 at --quick, largest relative increment 1.2e-9 (the diffrax solve runs at rtol 1e-9); the "
    "gradient-noise control measures 0.51.",
)
CHECK_SEPARATION = Check(
    "global-basin-separation",
    "1 − (min global-basin fraction over large steps − max over small steps), two-basin function",
    "large steps (η > 2/λ_loc) leave the sharp local minimum for the wide global one, small steps stay",
    0.1,
    "Measured fractions exactly 0 (small) and 1 (large) at --quick (64 seeds): figure 0.",
)

SIZES = {
    "quick": {"seeds": 16, "steps": 300, "checkpoints": 150, "basin_seeds": 64, "basin_steps": 500},
    "default": {"seeds": 32, "steps": 600, "checkpoints": 300, "basin_seeds": 256, "basin_steps": 2000},
    "paper": {"seeds": 128, "steps": 2000, "checkpoints": 1000, "basin_seeds": 1024, "basin_steps": 5000},
}
BASIN_STEPS = [float(v) for v in np.round(np.geomspace(0.02, 1.6, 10), 4)]
LOCAL_CURVATURE = 16.21  # the two_basins default's local-minimum curvature (measured by finite differences)
WIDE_CURVATURE = 1.0


def eos_steps(factor: float) -> list[float]:
    """η = 2k/φ(w̄₀) for k in K_GRID, times ``factor``."""
    base = ScalarNetwork(depth=2, imbalance=IMBALANCE).base_point()
    phi = gfs_sharpness(base)
    return [float(factor * 2.0 * k / phi) for k in K_GRID]


def run_verdict_table(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Per run: η, φ at start and end, largest relative increment, the number of increments > RELATIVE_INCREASE·φ."""
    data = curves[curves["metric"] == "gfs_sharpness"].sort_values(["run", "step"])
    rows = []
    for run, group in data.groupby("run"):
        phi = group["value"].to_numpy()
        eta = float(runs.loc[runs["run"] == run, "optimizer_learning_rate"].iloc[0])
        rows.append(run_row(int(run), eta, phi))
    return pd.DataFrame(rows)


def run_row(run: int, eta: float, phi: np.ndarray) -> dict:
    """One run's figures from its φ curve (NaN or too short curves count as not confirming)."""
    relative = np.diff(phi) / phi[:-1] if phi.size > 1 else np.array([np.nan])
    increases = int(np.sum(~(relative <= RELATIVE_INCREASE)))
    confirms = bool(
        np.all(np.isfinite(phi)) and phi[0] > 2.0 / eta and increases == 0 and phi[-1] <= 2.0 / eta * (1 + END_SLACK)
    )
    return {
        "run": run,
        "learning_rate": eta,
        "phi_start": float(phi[0]),
        "phi_end": float(phi[-1]),
        "two_over_eta": 2.0 / eta,
        "max_relative_increment": float(np.nanmax(relative)) if np.any(np.isfinite(relative)) else np.nan,
        "increases": increases,
        "increments": int(relative.size),
        "confirms": confirms,
    }


def basin_separation(fractions: pd.Series, local_curvature: float, wide_curvature: float) -> float:
    """1 − (min fraction over η ≥ margin·2/λ_loc, η < 2/a) + (max fraction over η ≤ 2/λ_loc/margin); index η."""
    edge = 2.0 / local_curvature
    eta = fractions.index.to_numpy(dtype=float)
    large = fractions[(eta >= LOCAL_CURVATURE_MARGIN * edge) & (eta < 2.0 / wide_curvature)]
    small = fractions[eta <= edge / LOCAL_CURVATURE_MARGIN]
    if large.empty or small.empty:
        return float("nan")
    return float(1.0 - (large.min() - small.max()))


@register_study("large-step-sizes")
class LargeStepSizes(Study):
    claim = (
        "Large-step GD leaves a sharp local minimum for a wide global one where small steps stay; on scalar "
        "networks above the edge of stability GD decreases the gradient-flow-solution sharpness monotonically to ≤ 2/η"
    )
    reference = (
        "Mohtashami, Jaggi, Stich. Special Properties of Gradient Descent with Large Learning Rates (ICML 2023, "
        "2205.15142); Kreisler, Nacson, Soudry, Carmon. Gradient Descent Monotonically Decreases the Sharpness of "
        "Gradient Flow Solutions in Scalar Networks and Beyond (ICML 2023, 2305.13064)"
    )
    checks: ClassVar[tuple[Check, ...]] = (CHECK_DECREASES, CHECK_INCREMENTS, CHECK_SEPARATION)
    declared_options: ClassVar[dict[str, Param]] = {
        "step_factor": Param("float", 1.0, "multiplies every step size of both experiments", low=0.0),
        "gradient_noise": Param("float", 0.0, "σ of Gaussian gradient noise added to both problems", low=0.0),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "small-steps",
            "Every step × 0.3: φ(w₀) < 2/η, GD tracks gradient flow, φ stays constant and never crosses 2/η; "
            "all two-basin steps fall below 2/λ_loc and stop at the local minimum.",
            mechanism=False,
            options=(("step_factor", 0.3),),
        ),
        Control(
            "gradient-noise",
            "Small steps (× 0.3) with gradient noise σ = 0.5 instead of a large step: the noise moves the iterate "
            "along the solution manifold both ways, so φ is not monotone and stays above where a large step puts it.",
            mechanism=True,
            options=(("step_factor", 0.3), ("gradient_noise", 0.5)),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        factor, noise = float(options["step_factor"]), float(options["gradient_noise"])
        suffix = "-quick" if options.quick else ""
        scalar = spec_from_dict(
            {
                "name": "large-step-sizes-scalar" + suffix,
                "description": self.claim,
                "problem": {
                    "name": "scalar_network",
                    "depth": 2,
                    "imbalance": IMBALANCE,
                    "init_jitter": JITTER,
                    "grad_noise": noise,
                },
                "optimizer": {"name": "sgd", "learning_rate": {"grid": eos_steps(factor)}},
                "run": {
                    "steps": size["steps"],
                    "batch_size": 1,
                    "seeds": size["seeds"],
                    "checkpoints": size["checkpoints"],
                    "spacing": "linear",
                    "dtype": "float64",
                },
                "probes": ["metrics", "gfs_sharpness"],
            }
        )
        basins = spec_from_dict(
            {
                "name": "large-step-sizes-basins" + suffix,
                "description": self.claim,
                "problem": {"name": "two_basins", "grad_noise": noise},
                "optimizer": {"name": "sgd", "learning_rate": {"grid": [factor * eta for eta in BASIN_STEPS]}},
                "run": {
                    "steps": size["basin_steps"],
                    "batch_size": 1,
                    "seeds": size["basin_seeds"],
                    "checkpoints": 10,
                    "dtype": "float64",
                },
                "probes": ["metrics"],
            }
        )
        return [scalar, basins]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        scalar, basins = results
        table = run_verdict_table(scalar.runs, scalar.curves)
        failing = float(1.0 - table["confirms"].mean()) if len(table) else float("nan")
        increments = int(table["increments"].sum())
        increased = float(table["increases"].sum() / increments) if increments else float("nan")
        worst = float(table["max_relative_increment"].max())
        headline = CHECK_DECREASES.verdict(
            failing,
            detail=f"{int(table['confirms'].sum())}/{len(table)} runs confirm; φ₀ {table['phi_start'].min():.3f}–"
            f"{table['phi_start'].max():.3f}, φ_end·η/2 ≤ {(table['phi_end'] / table['two_over_eta']).max():.6f}",
        )
        monotone = CHECK_INCREMENTS.verdict(increased, detail=f"largest relative increment {worst:.2e}")
        runs = basins.runs
        fractions = runs.groupby("optimizer_learning_rate")["final_in_global_basin"].apply(
            lambda s: float(np.nanmean(np.where(np.isfinite(s), s, 0.0)))
        )
        separation = CHECK_SEPARATION.verdict(
            basin_separation(fractions, LOCAL_CURVATURE, WIDE_CURVATURE),
            detail="fractions " + ", ".join(f"η={eta:.3g}: {frac:.2f}" for eta, frac in fractions.items()),
        )
        figures = self._figures(scalar, basins, folder)
        summary = pd.concat(
            [
                table.groupby("learning_rate")
                .agg(
                    phi_start=("phi_start", "mean"),
                    phi_end=("phi_end", "mean"),
                    two_over_eta=("two_over_eta", "first"),
                    confirming=("confirms", "mean"),
                    max_relative_increment=("max_relative_increment", "max"),
                )
                .reset_index()
                .assign(experiment="scalar network"),
                fractions.rename("global_basin_fraction")
                .reset_index()
                .rename(columns={"optimizer_learning_rate": "learning_rate"})
                .assign(experiment="two basins"),
            ],
            ignore_index=True,
        )
        return Analysis([headline, monotone, separation], figures, summary)

    @staticmethod
    def _figures(scalar: Result, basins: Result, folder: Path) -> list[tuple[str, str]]:
        fig = F.learning_curves(
            scalar.runs,
            scalar.curves,
            "gfs_sharpness",
            title="Scalar network, GD above the edge of stability: GFS sharpness per step size",
            logy=False,
            logx=False,
        )
        first = F.save(fig, folder, "gfs_sharpness")["png"]
        fig = F.final_vs_axis(
            basins.runs, "in_global_basin", "optimizer_learning_rate", title="Two basins: fraction ending global"
        )
        second = F.save(fig, folder, "global_basin_fraction")["png"]
        return [
            ("GFS sharpness φ vs step for each η (seed mean and band; 2/η is the stability threshold)", first),
            ("Fraction of runs ending in the global basin vs the step size η (2/λ_loc ≈ 0.123)", second),
        ]
