r"""minimax-dynamics — GDA, alternating GDA, extragradient, optimistic GD and two-timescale extragradient on
games, judged by the spectral radii of their linear iteration maps.

Claim. Near an equilibrium, every first-order game method is a linear iteration :math:`s_{t+1}=Ms_t` built
from the Jacobian J of the descent–ascent field F = (∇ₓf, −∇ᵧf), and the distance to the equilibrium
moves like :math:`\rho(M)^t` (:mod:`descentlab.theory.game_spectra` has the maps and the formulas):

* on the bilinear game :math:`x^\top Ay` simultaneous GDA spirals out, :math:`\rho=\sqrt{1+\eta^2s_{\max}^2}>1`,
  while extragradient (:math:`\rho^2=\max_i 1-\eta^2s_i^2+\eta^4s_i^4`) and optimistic GD converge linearly
  (Gidel et al. 1802.10551; Mokhtari et al. 1901.08511; Daskalakis et al. 1711.00141);
* on a strongly-monotone quadratic game simultaneous GDA is stable only for η < η* = 2μ/(μ²+s²_max), while
  alternating GDA converges at a step where simultaneous GDA diverges (Zhang et al. 2102.09468);
* at a local minimax point whose max-player Hessian is degenerate (``local_minimax_game``:
  :math:`\nabla^2_{xx}f=-aI`, :math:`\nabla^2_{yy}f=0`), two-timescale GDA (x steps η/τ, y steps η) is
  unstable for every τ, and two-timescale extragradient converges for every ratio τ above a finite threshold
  τ* and fails below it (Chae, Kim, Kim, *Two-timescale Extragradient for Finding Local Minimax Points*,
  ICLR 2024, 2305.16242 — the paper's convention: y steps η, x steps η/τ). Here τ* is computed exactly, as the
  largest τ with ρ(M_τ) = 1 (bisection on the linearization's spectral radius).

Runs (full-batch, 4 seeds at --quick, 8 at default, distance to the equilibrium at 60 linearly spaced
checkpoints): bilinear game d = 4, κ = 1.5 with simultaneous GDA (η = 0.2), EG and OGD (η = 0.5); quadratic
game μₓ = μᵧ = 0.1 with alternating GDA at η = 0.3 (simultaneous GDA diverges there: ρ = 1.015) and simultaneous
GDA on a step grid η*·(0.5, 0.8, 1.25, 2); local-minimax game (a = 0.4, A orthogonal, init 0.1·N(0, I/d))
with two-timescale EG and two-timescale GDA at η = 0.8 on the ratio grid τ*·(0.5, 0.8, 1.25, 2, 4).

Verdicts:

1. ``spectral-rates`` (headline): for each claimed-convergent or claimed-divergent cell (bilinear GDA, EG,
   OGD; quadratic alternating GDA; two-timescale EG at τ = 2τ* and 4τ*), the late-time linear rate ρ̂ fitted to
   the seed-mean distance over the second half of the run, against ρ of the claimed method and ratio; figure
   :math:`\max|\log\hat\rho-\log\rho|/|\log\rho|`, tolerance 0.05. Measured (float64 runs): ≤ 3e-9 on the
   bilinear cells, 5e-5 on alternating GDA and on 2τ*; the worst cell is two-timescale EG at 4τ*, 0.020 at
   --quick (300 steps) and 0.010 at default (1 000 steps) — the sub-dominant mode of the non-normal map, whose
   bias shrinks with the run length. A wrong map moves it by ≥ 1 (controls: 1.49 and ∞).
2. ``gda-step-threshold``: quadratic-game simultaneous GDA cells whose outcome (final seed-mean distance below
   the initial one, 1.41) differs from ρ(η) < 1: 0 allowed. Measured final distances of the closest cells,
   0.8η* and 1.25η*: 0.30 and 4.3 at --quick, 0.024 and 268 at default.
3. ``ratio-threshold``: two-timescale cells whose outcome differs from the prediction (EG: ρ(τ) < 1, i.e.
   τ > τ*; GDA: never): 0 allowed. The closest EG cells, 0.8τ* and 1.25τ* (ρ = 1.022 and 0.9885), end at 0.32
   (a nonlinear cycle: the quartic terms stop the growth) and 0.0037 at --quick from 0.14; two-timescale GDA
   blows up (τ ≤ 0.8τ*) or cycles at distance 0.5–1.4.

Controls: ``simultaneous-updates`` (mechanism) runs simultaneous GDA where the claim has alternating GDA
(ρ = 1.015 instead of 0.97: the quadratic-game cell diverges); ``ratio-below-threshold`` (mechanism) runs
both two-timescale methods at 0.2× the ratios (the largest is 0.8τ*: every cell fails to converge, against
the claimed convergence at 2τ* and 4τ*).

Figures: the distance curves of the headline cells with the spectral envelopes ρ^t (the papers' "GDA spirals
out, EG converges" plot), ρ̂ and ρ against τ for the two-timescale methods (τ* marked), and the final distance
of simultaneous GDA against η across η*.
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
from descentlab.store.schema import seed_mean
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory import PREDICTIONS, fit_linear_rate
from descentlab.theory.game_spectra import eg_ratio_threshold, field_jacobian, gda_step_threshold, spectral_radius

METRIC = "distance_to_equilibrium"
BILINEAR = {"name": "bilinear_game", "dim": 4, "condition_number": 2.0}
QUADRATIC = {"name": "quadratic_game", "dim": 4, "condition_number": 1.5, "mu_x": 0.1, "mu_y": 0.1}
LOCAL = {"name": "local_minimax_game", "dim": 4, "condition_number": 1.0, "curvature": 0.4, "init_scale": 0.1}
ROLES = {  # role: (problem, claimed method, η)
    "bilinear-gda": (BILINEAR, "simultaneous_gda", 0.3),
    "bilinear-eg": (BILINEAR, "extragradient", 0.5),
    "bilinear-ogd": (BILINEAR, "optimistic_gradient_descent", 0.5),
    "quadratic-alternating": (QUADRATIC, "alternating_gda", 0.3),
}
TWO_TIMESCALE_ETA = 0.8
TAU_MULTIPLES = (0.5, 0.8, 1.25, 2.0, 4.0)
HEADLINE_TAU_MULTIPLES = (2.0, 4.0)
ETA_MULTIPLES = (0.5, 0.8, 1.25, 2.0)
FORMATS = ("png",)  # the report shows the png; svg/pdf would double the --quick time

CHECK_RATES = Check(
    "spectral-rates",
    "max relative error |log ρ̂ − log ρ| / |log ρ| of the late-time rate of the seed-mean distance, over the "
    "bilinear GDA/EG/OGD, quadratic alternating-GDA and two-timescale-EG (τ = 2τ*, 4τ*) cells",
    "the spectral radius ρ of the claimed method's linear iteration map (game_spectra)",
    0.05,
    "Measured (float64) ≤ 3e-9 on the bilinear cells, 5e-5 on alternating GDA and 2τ*; worst two-timescale EG at "
    "4τ*: 0.020 at --quick (4 seeds, 300 steps), 0.010 at default (8 seeds, 1 000 steps), the sub-dominant mode "
    "of the non-normal map. A wrong method or a ratio below τ* moves it by ≥ 1.",
)
CHECK_STEP = Check(
    "gda-step-threshold",
    "quadratic-game simultaneous-GDA cells (η = η*·0.5, 0.8, 1.25, 2) whose outcome (final distance < initial) "
    "differs from the prediction ρ(η) < 1",
    "the GDA step threshold η* = 2μ/(μ² + s²_max) where ρ crosses 1",
    0.0,
    "None allowed: the cells closest to η* (0.8η*, 1.25η*) end at 0.30 and 4.3 from 1.41 at --quick (0.024 and "
    "268 at default), far from the outcome boundary.",
)
CHECK_RATIO = Check(
    "ratio-threshold",
    "two-timescale cells on the local-minimax game whose outcome (final distance < initial) differs from the "
    "prediction (EG: ρ(τ) < 1, i.e. τ > τ*; GDA: never)",
    "the two-timescale EG ratio threshold τ* (largest τ with ρ = 1) and the instability of two-timescale GDA",
    0.0,
    "None allowed: the closest EG cells (0.8τ*, 1.25τ*; ρ = 1.022, 0.9885) end at 0.32 and 0.0037 from 0.14 at "
    "--quick; two-timescale GDA blows up or cycles at 0.5–1.4.",
)

SIZES = {
    "quick": {"steps": 300, "seeds": 4},
    "default": {"steps": 1000, "seeds": 8},
    "paper": {"steps": 3000, "seeds": 16},
}


def _gda_threshold() -> float:
    return gda_step_threshold(field_jacobian("quadratic_game", **_fields(QUADRATIC)))


def _tau_star() -> float:
    return eg_ratio_threshold(field_jacobian("local_minimax_game", **_fields(LOCAL)), TWO_TIMESCALE_ETA)


def _fields(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k != "name"}


def claimed_radius(problem: dict, method: str, eta: float, ratio: float = 1.0) -> float:
    """ρ of the claimed method's linear map on ``problem`` (the registered ``<game>_spectra`` prediction)."""
    entry = PREDICTIONS.get(f"{problem['name']}_spectra")
    out = entry.predict(np.array([0]), **_fields(problem), method=method, learning_rate=eta, ratio=ratio)
    return float(out["spectral_radius"][0])


def late_rate(steps: np.ndarray, distance: np.ndarray, total: int) -> float:
    """ρ̂ of distance ≈ C ρ̂^t over the second half of the run (finite positive values; NaN with fewer than 3)."""
    keep = (steps >= total / 2) & np.isfinite(distance) & (distance > 0)
    return fit_linear_rate(steps[keep], distance[keep]).value if keep.sum() >= 3 else float("nan")


def rate_error(measured: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """|log ρ̂ − log ρ| / |log ρ| (inf where ρ̂ is NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(np.log(measured) - np.log(predicted)) / np.abs(np.log(predicted))
    return np.where(np.isfinite(err), err, np.inf)


def outcome_mismatches(initial: np.ndarray, final: np.ndarray, predicted_converges: np.ndarray) -> int:
    """Cells whose outcome (final < initial, a NaN final counts as not converged) differs from the prediction."""
    converged = np.where(np.isfinite(final), final < initial, False)
    return int(np.sum(converged != np.asarray(predicted_converges, bool)))


def _curve(result: Result, by: list[str]) -> pd.DataFrame:
    return seed_mean(result.runs, result.curves, METRIC, by=by)


@register_study("minimax-dynamics")
class MinimaxDynamics(Study):
    claim = (
        "Game methods move the distance to equilibrium like ρ(M)^t, ρ the spectral radius of their linear map on "
        "the field's Jacobian: GDA spirals out on bilinear games where EG/OGD converge, alternating GDA converges "
        "where simultaneous GDA diverges, and two-timescale EG reaches a local minimax point with a degenerate "
        "max-player Hessian for every ratio above a finite τ* (two-timescale GDA never)"
    )
    reference = (
        "Chae, Kim, Kim. Two-timescale Extragradient for Finding Local Minimax Points (ICLR 2024, 2305.16242); "
        "Gidel et al. A variational inequality perspective on GANs (1802.10551); Mokhtari, Ozdaglar, Pattathil "
        "(1901.08511); Zhang, Wang, Lessard, Grosse (2102.09468)"
    )
    checks: ClassVar[tuple[Check, ...]] = (CHECK_RATES, CHECK_STEP, CHECK_RATIO)
    declared_options: ClassVar[dict[str, Param]] = {
        "gda_updates": Param(
            "str",
            "alternating",
            "the GDA run in the quadratic-game alternating cell",
            choices=("alternating", "simultaneous"),
        ),
        "ratio_scale": Param(
            "float", 1.0, "multiplies every ratio τ of the two-timescale runs", low=0.0, low_open=True
        ),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "simultaneous-updates",
            "Simultaneous GDA runs where the claim has alternating GDA: at η = 0.3 on the quadratic game its "
            "spectral radius is 1.015 instead of 0.97, so the distance grows where the claim has it shrink.",
            mechanism=True,
            options=(("gda_updates", "simultaneous"),),
        ),
        Control(
            "ratio-below-threshold",
            "The two-timescale runs use 0.2× the ratios, all below τ* (the largest is 0.8τ*): two-timescale EG no "
            "longer converges at the local minimax point, against the claimed rates at 2τ* and 4τ*.",
            mechanism=True,
            options=(("ratio_scale", 0.2),),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        suffix = "-quick" if options.quick else ""
        run = {
            "steps": size["steps"],
            "seeds": size["seeds"],
            "checkpoints": 60,
            "spacing": "linear",
            "divergence_factor": 1e60,  # the divergence test is on f, which grows like the distance squared
            "dtype": "float64",  # simultaneous GDA on the bilinear game grows ×1e18 at default size
        }

        def spec(role: str, problem: dict, optimizer: dict) -> Spec:
            return spec_from_dict(
                {
                    "name": f"minimax-dynamics-{role}{suffix}",
                    "description": self.claim,
                    "problem": problem,
                    "optimizer": optimizer,
                    "run": run,
                    "probes": ["metrics"],
                }
            )

        out = []
        for role, (problem, method, eta) in ROLES.items():
            if method == "alternating_gda" and options["gda_updates"] == "simultaneous":
                method = "simultaneous_gda"
            out.append(spec(role, problem, {"name": method, "learning_rate": eta}))
        eta_star = _gda_threshold()
        steps = [float(np.float32(m * eta_star)) for m in ETA_MULTIPLES]
        out.append(
            spec("quadratic-gda-steps", QUADRATIC, {"name": "simultaneous_gda", "learning_rate": {"grid": steps}})
        )
        taus = [float(np.float32(m * _tau_star() * options["ratio_scale"])) for m in TAU_MULTIPLES]
        for method in ("two_timescale_extragradient", "two_timescale_gda"):
            optimizer = {"name": method, "learning_rate": TWO_TIMESCALE_ETA, "ratio": {"grid": taus}}
            out.append(spec(f"local-{method.replace('_', '-')}", LOCAL, optimizer))
        return out

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        total = options.pick(SIZES)["steps"]
        by_role = {r.info["name"].removeprefix("minimax-dynamics-").removesuffix("-quick"): r for r in results}
        rows = []
        curves = {}
        for role, (problem, method, eta) in ROLES.items():
            mean = _curve(by_role[role], [])
            curves[role] = mean
            rho = claimed_radius(problem, method, eta)
            measured = late_rate(mean["step"].to_numpy(), mean["mean"].to_numpy(), total)
            rows.append({"cell": role, "method": method, "η": eta, "τ": np.nan, "ρ": rho, "ρ̂": measured})
        tau_star = _tau_star()
        ratio_rows = self._ratio_cells(by_role, total, tau_star, options)
        for cell in ratio_rows:
            if cell["method"] == "two_timescale_extragradient" and cell["multiple"] in HEADLINE_TAU_MULTIPLES:
                rows.append(
                    {
                        "cell": f"local-2t-eg τ={cell['multiple']:g}τ*",
                        "method": cell["method"],
                        "η": TWO_TIMESCALE_ETA,
                        "τ": cell["multiple"] * tau_star,
                        "ρ": cell["claimed ρ"],
                        "ρ̂": cell["ρ̂"],
                    }
                )
        table = pd.DataFrame(rows)
        table["relative log-rate error"] = rate_error(table["ρ̂"].to_numpy(), table["ρ"].to_numpy())
        worst = int(np.argmax(table["relative log-rate error"].to_numpy()))
        headline = CHECK_RATES.verdict(
            float(table["relative log-rate error"].max()),
            detail=f"worst {table['cell'][worst]}: ρ̂ = {table['ρ̂'][worst]:.5g} vs ρ = {table['ρ'][worst]:.5g}",
        )

        step_table = self._step_cells(by_role["quadratic-gda-steps"])
        step_miss = outcome_mismatches(
            step_table["initial"].to_numpy(), step_table["final"].to_numpy(), step_table["ρ"].to_numpy() < 1
        )
        step_verdict = CHECK_STEP.verdict(
            float(step_miss), step_miss == 0, detail=f"η* = {_gda_threshold():.4g}, {len(step_table)} cells"
        )
        ratio_table = pd.DataFrame(ratio_rows)
        ratio_miss = outcome_mismatches(
            ratio_table["initial"].to_numpy(), ratio_table["final"].to_numpy(), ratio_table["ρ"].to_numpy() < 1
        )
        ratio_verdict = CHECK_RATIO.verdict(
            float(ratio_miss), ratio_miss == 0, detail=f"τ* = {tau_star:.4g}, {len(ratio_table)} cells"
        )
        figures = [
            self._rates_figure(curves, table, folder),
            self._ratio_figure(ratio_table, tau_star, folder),
            self._step_figure(step_table, folder),
        ]
        summary = pd.concat(
            [
                table,
                step_table.assign(cell="quadratic-gda η sweep", method="simultaneous_gda").drop(
                    columns=["initial"], errors="ignore"
                ),
                ratio_table.assign(cell="local two-timescale τ sweep").drop(columns=["initial"], errors="ignore"),
            ],
            ignore_index=True,
        )
        return Analysis([headline, step_verdict, ratio_verdict], figures, summary)

    @staticmethod
    def _step_cells(result: Result) -> pd.DataFrame:
        column = "optimizer_learning_rate"
        mean = _curve(result, [column])
        jac = field_jacobian("quadratic_game", **_fields(QUADRATIC))
        rows = []
        for eta, group in mean.groupby(column):
            group = group.sort_values("step")
            rows.append(
                {
                    "η": float(eta),
                    "ρ": spectral_radius("simultaneous_gda", jac, float(eta)),
                    "initial": float(group["mean"].iloc[0]),
                    "final": float(group["mean"].iloc[-1]),
                }
            )
        return pd.DataFrame(rows)

    @staticmethod
    def _ratio_cells(by_role: dict, total: int, tau_star: float, options: StudyOptions) -> list[dict]:
        column = "optimizer_ratio"
        jac = field_jacobian("local_minimax_game", **_fields(LOCAL))
        rows = []
        for method in ("two_timescale_extragradient", "two_timescale_gda"):
            result = by_role[f"local-{method.replace('_', '-')}"]
            mean = _curve(result, [column])
            taus = sorted(result.runs[column].unique())
            for multiple, tau in zip(TAU_MULTIPLES, taus, strict=True):
                group = mean[mean[column] == tau].sort_values("step")  # empty when every seed diverged
                steps, values = group["step"].to_numpy(), group["mean"].to_numpy()
                if values.size == 0:
                    steps, values = np.array([0, total]), np.array([np.nan, np.nan])
                rows.append(
                    {
                        "method": method,
                        "multiple": multiple,
                        "τ": float(tau),
                        "ρ": spectral_radius(method, jac, TWO_TIMESCALE_ETA, float(tau)),
                        "claimed ρ": claimed_radius(LOCAL, method, TWO_TIMESCALE_ETA, multiple * tau_star),
                        "ρ̂": late_rate(steps, values, total),
                        "initial": float(values[0]),
                        "final": float(values[-1]),
                    }
                )
        return rows

    @staticmethod
    def _rates_figure(curves: dict, table: pd.DataFrame, folder: Path) -> tuple[str, str]:
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        for i, (role, mean) in enumerate(curves.items()):
            color = f"C{i}"
            steps, values = mean["step"].to_numpy(), mean["mean"].to_numpy()
            rho = float(table.loc[table.cell == role, "ρ"].iloc[0])
            ax.plot(steps, values, color=color, label=f"{role} (ρ = {rho:.4f})")
            ax.plot(steps, values[0] * rho ** steps.astype(float), color=color, ls="--", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("distance to equilibrium (seed mean)")
        ax.set_title("Distance to equilibrium; dashed: spectral envelope ρ^t of each method's linear map")
        ax.legend(fontsize=8)
        return (
            "Distance to equilibrium of simultaneous GDA, EG, OGD (bilinear game) and alternating GDA "
            "(quadratic game), with the spectral envelopes ρ^t (dashed)",
            F.save(fig, folder, "spectral_rates", FORMATS)["png"],
        )

    @staticmethod
    def _ratio_figure(ratio_table: pd.DataFrame, tau_star: float, folder: Path) -> tuple[str, str]:
        jac = field_jacobian("local_minimax_game", **_fields(LOCAL))
        grid = np.geomspace(0.2 * tau_star, 8 * tau_star, 200)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, (method, label) in enumerate(
            [("two_timescale_extragradient", "two-timescale EG"), ("two_timescale_gda", "two-timescale GDA")]
        ):
            rho = [spectral_radius(method, jac, TWO_TIMESCALE_ETA, t) for t in grid]
            ax.plot(grid, rho, color=f"C{i}", label=f"{label}: ρ of the linear map")
            cells = ratio_table[ratio_table.method == method]
            ax.plot(cells["τ"], cells["ρ̂"], "o", color=f"C{i}", label=f"{label}: fitted ρ̂")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.axvline(tau_star, color="grey", ls=":", label=f"τ* = {tau_star:.3g}")
        ax.set_xscale("log")
        ax.set_xlabel("time-scale ratio τ (x steps η/τ, y steps η)")
        ax.set_ylabel("per-step factor")
        ax.set_title("Local minimax point with degenerate max-player Hessian")
        ax.legend(fontsize=8)
        return (
            "Spectral radius and fitted rate against the time-scale ratio τ: two-timescale EG converges above τ*, "
            "two-timescale GDA never",
            F.save(fig, folder, "ratio_threshold", FORMATS)["png"],
        )

    @staticmethod
    def _step_figure(step_table: pd.DataFrame, folder: Path) -> tuple[str, str]:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(step_table["η"], step_table["final"] / step_table["initial"], "o-", label="final / initial distance")
        ax.axvline(_gda_threshold(), color="grey", ls=":", label="η* (ρ = 1)")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step η")
        ax.set_ylabel("final / initial distance")
        ax.set_title("Simultaneous GDA on the quadratic game across its step threshold")
        ax.legend(fontsize=8)
        return (
            "Simultaneous GDA on the quadratic game: final/initial distance against η across η*",
            F.save(fig, folder, "gda_step_threshold", FORMATS)["png"],
        )
