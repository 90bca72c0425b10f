r"""nondifferentiable-gd — three ways non-differentiability changes what gradient descent does.

Claim (Kumar, *GD doesn't make the cut: three ways that non-differentiability affects neural network
training*, 2401.08426): gradient methods on non-differentiable objectives ("NGDMs") behave unlike the L-smooth
theory. Reproduced small, on convex problems where the answer is known exactly:

1. **The L1 paradox** (headline). On the Lasso :math:`\frac1{2n}\lVert Xw-y\rVert^2+\lambda\lVert w\rVert_1`
   (``lasso``: n = d = 200, a 5-sparse teacher, σ = 0.5, full batch), GD on the whole objective — the
   autodiff (sub)gradient :math:`\nabla g+\lambda\operatorname{sign}(w)`, as a deep-learning solver computes it —
   with a constant step η = 40 (< 2/L = 102 of the smooth part) ends at a point whose ℓ1 norm *grows* with λ,
   while the proximal method (ISTA, ``proximal_l1``) ends at the Lasso solution whose ℓ1 norm shrinks with λ.
   The mechanism: every coordinate the Lasso sets to zero zig-zags across 0 with an amplitude ≈ ηλ, so the
   ~195 null coordinates add ≈ (d − s)·ηλ/2 to the norm, more than the support loses. Figure: the log–log
   slopes over λ ∈ {0.0025, 0.005, 0.01, 0.02} (the largest ≈ λ_max/2) of the late-time ℓ1 norm (mean over the
   last 8 steps and the seeds), :math:`s_{sub}` and :math:`s_{prox}`; the verdict is
   :math:`\min(s_{sub}, -s_{prox})\ge 0.2`. Measured: :math:`s_{sub}=0.366` (--quick, 1 500 steps, 4 seeds)
   and 0.363 (default, 6 000 steps, 8 seeds), :math:`s_{prox}=-0.555` at both, equal to the exact Lasso path's
   (coordinate descent); the seeds (random w₀) only shift the phase of the zig-zag. 0.2 is about half the
   smaller of the two; the controls give −0.555 (proximal) and −0.538 (decaying step).
2. **Non-smooth convergence**. GD with a constant step on the piecewise-linear :math:`\lVert x\rVert_1`
   (``pseudo_huber`` with ε = 0, d = 50, :math:`x_0\sim\mathcal N(0,I)`) never converges: every coordinate
   ends in a 2-cycle and :math:`f(x_t)` stalls at a plateau with two-step mean dη/2
   (:func:`descentlab.theory.nonsmooth_gd.l1_gd`), ∝ η, where the L-smooth rate
   :math:`\lVert x_0\rVert^2/(2\eta t)` would be far below it (the detail reports the factor). Figure: the
   largest relative gap between the late mean of f (last 8 steps, all seeds) and dη/2, η ∈ {0.05, 0.1, 0.2, 0.4}.
   Once every coordinate cycles, two consecutive values of each run sum to exactly dη (r + (η − r) per
   coordinate), so the 8-step mean is dη/2 up to float32 rounding: measured 6.6e-8 (--quick) and 7.5e-8
   (default). Tolerance 0.05 allows for coordinates still on their way down (a run too short for
   max|x₀ᵢ|/η steps); a single late value instead of the mean would scatter by 1/√(3d) ≈ 8 %. The late f is
   7× to 480× (default; 1× to 96× at --quick) the L-smooth rate at the last step.
3. **Edge of stability fails for a Lipschitz convex differentiable function**. On the pseudo-Huber function
   :math:`\sum_i\sqrt{x_i^2+\varepsilon^2}-\varepsilon` (ε = 0.02, sharpness 1/ε = 50 at the minimizer), GD with
   η ∈ {0.05, 0.1, 0.2, 0.4} > 2ε does not diverge and does not hover at 2/η: it settles on a 2-cycle whose
   sharpness is :math:`8\varepsilon^2/\eta^3=(2/\eta)(2\varepsilon/\eta)^2` (``pseudo_huber_gd``), 0.64 to 0.01 of
   2/η. Figure: :math:`\max_\eta|\log_{10}(S_T/S_{pred})|`, S_T the ``sharpness`` probe's seed mean at the last
   step (block power iteration: on the cycle the Hessian is a multiple of the identity, where Lanczos breaks
   down). Tolerance 0.05 (12 %): the cycle is reached to float32 precision within the run; measured 6.1e-6
   (--quick) and 5.2e-6 (default); hovering at 2/η would be off by ≥ log₁₀(1/0.64) = 0.19.
   Every run must also stay finite (counted in the detail; a diverged run fails the check).

Controls: ``proximal`` (mechanism) runs the Lasso experiments with ISTA in place of the subgradient step —
the prox sets the null coordinates exactly to zero, the classical shrinking path returns and the headline
fails (:math:`s_{sub}` < 0); ``decaying-step`` (mechanism) runs the subgradient method with
η_t = η/(1+t/10): the zig-zag amplitude ηλ dies out, GD approaches the Lasso solution and its ℓ1 norm again
decreases in λ.

Figures: the ℓ1 norm reached vs λ (subgradient, proximal, the exact Lasso path; the paper's L1-paradox plot);
f(x_t) on ‖x‖₁ with the exact expectation and the plateau dη/2; the final sharpness vs η on the pseudo-Huber
function against 2/η (edge of stability) and 8ε²/η³.

Scaled down from the paper: the paper trains linear models and ReLU networks with deep-learning optimizers
(SGD, Adam) in PyTorch; here the same effects are shown on full-batch GD and the smallest objectives that have
them, with exact references.
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
from descentlab.problems.lasso import Lasso
from descentlab.report import figures as F
from descentlab.store.schema import DIVERGED, column, seed_mean
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory import PREDICTIONS, fit_power_law
from descentlab.theory.nonsmooth_gd import l1_plateau, pseudo_huber_cycle, smooth_bound

LAMBDAS = [0.0025, 0.005, 0.01, 0.02]
LASSO = {"dim": 200, "n_samples": 200, "sparsity": 5, "noise": 0.5, "init_scale": 1.0}
LASSO_LR = 40.0
ETAS = [0.05, 0.1, 0.2, 0.4]
EPSILON = 0.02
LATE = 8  # the last LATE steps are all checkpoints: the late value is their mean (it averages the 2-cycles)

SIZES = {
    "quick": {"lasso_steps": 1500, "lasso_seeds": 4, "dim": 50, "steps": 600, "seeds": 8},
    "default": {"lasso_steps": 6000, "lasso_seeds": 8, "dim": 50, "steps": 3000, "seeds": 16},
    "paper": {"lasso_steps": 20000, "lasso_seeds": 16, "dim": 200, "steps": 10000, "seeds": 32},
}

CHECK_PARADOX = Check(
    "l1-paradox",
    "min(s_sub, −s_prox): log–log slopes of the late ℓ1 norm vs λ, subgradient GD and proximal GD (ISTA)",
    "the L1 paradox: the subgradient solution's ℓ1 norm grows with λ (s_sub > 0), the proximal one's shrinks",
    0.2,
    "Measured s_sub = 0.366 / 0.363 and s_prox = −0.555 / −0.555 at --quick (4 seeds) / default (8 seeds); "
    "the controls give s_sub = −0.555 and −0.538; 0.2 is about half the smaller of 0.363 and 0.555.",
)
CHECK_PLATEAU = Check(
    "l1-plateau",
    "max over η of |late mean f(x_t) / (dη/2) − 1| for GD on ‖x‖₁ (d = 50, last 8 steps, all seeds)",
    "GD with a constant step on a piecewise-linear objective stalls at a plateau of two-step mean dη/2 "
    "(l1_gd), ∝ η, instead of converging at the L-smooth rate ‖x₀‖²/(2ηt)",
    0.05,
    "An even number of consecutive late values averages to exactly dη/2 once every coordinate cycles: measured "
    "6.6e-8 (--quick, 8 seeds) and 7.5e-8 (default, 16 seeds); 0.05 allows coordinates still descending.",
)
CHECK_EOS = Check(
    "lipschitz-no-edge",
    "max over η of |log10(final sharpness / 8ε²/η³)| on the pseudo-Huber function (ε = 0.02), runs all finite",
    "GD with η > 2ε neither diverges nor hovers at 2/η: it ends on a 2-cycle of sharpness 8ε²/η³ = "
    "(2/η)(2ε/η)² (pseudo_huber_gd); the edge of stability would be off by ≥ 0.19",
    0.05,
    "Exact limit, reached to float32 precision: measured 6.1e-6 (--quick) and 5.2e-6 (default); the edge of "
    "stability 2/η would give ≥ 0.19.",
)


def late_checkpoints(steps: int, early: int = 25) -> list[int]:
    """Log-spaced checkpoints, then every one of the last LATE steps."""
    grid = np.unique(np.round(np.geomspace(1, steps - LATE, early)).astype(int))
    return sorted({0, *grid.tolist(), *range(steps - LATE + 1, steps + 1)})


def late_mean(means: pd.DataFrame, by: str, total: int) -> pd.Series:
    """Per value of ``by``: the seed mean averaged over the last LATE steps."""
    late = means[means["step"] > total - LATE]
    return late.groupby(by)["mean"].mean()


def loglog_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y vs log x (NaN unless every y is finite and positive)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or not np.all(np.isfinite(y) & (y > 0)):
        return float("nan")
    return float(fit_power_law(x, y).value)


def paradox_figure(s_sub: float, s_prox: float) -> float:
    """min(s_sub, −s_prox): positive only if the subgradient norm grows and the proximal one shrinks (NaN → −inf)."""
    value = min(s_sub, -s_prox)
    return value if np.isfinite(value) else float("-inf")


def plateau_error(late: np.ndarray, etas: np.ndarray, dim: int) -> float:
    """max over η of |late / (dη/2) − 1| (inf when a late value is not finite)."""
    ratio = np.asarray(late, float) / np.asarray([l1_plateau(eta, dim) for eta in etas])
    return float(np.max(np.abs(ratio - 1.0))) if np.all(np.isfinite(ratio)) else float("inf")


def sharpness_error(final: np.ndarray, etas: np.ndarray, smoothing: float) -> float:
    """max over η of |log10(final / (8ε²/η³))| (inf when a value is not finite and positive)."""
    final = np.asarray(final, float)
    predicted = np.asarray([pseudo_huber_cycle(eta, smoothing)["sharpness"] for eta in etas])
    if not np.all(np.isfinite(final) & (final > 0)):
        return float("inf")
    return float(np.max(np.abs(np.log10(final / predicted))))


@register_study("nondifferentiable-gd")
class NondifferentiableGD(Study):
    claim = (
        "Gradient descent on non-differentiable objectives defies the L-smooth theory: with an L1 penalty the "
        "ℓ1 norm of its solution grows with λ (the proximal solution's shrinks), on a piecewise-linear objective "
        "it stalls at a plateau ∝ η, and on a Lipschitz convex function it neither diverges nor sits at 2/η"
    )
    reference = (
        "Kumar. GD doesn't make the cut: three ways that non-differentiability affects neural network training "
        "(arXiv 2401.08426)"
    )
    checks: ClassVar[tuple[Check, ...]] = (CHECK_PARADOX, CHECK_PLATEAU, CHECK_EOS)
    declared_options: ClassVar[dict[str, Param]] = {
        "l1_method": Param(
            "str",
            "subgradient",
            "how the Lasso's 'subgradient' experiment handles λ‖w‖₁: its (sub)gradient, or the prox (ISTA)",
            choices=("subgradient", "proximal"),
        ),
        "step_decay": Param(
            "float", 0.0, "the Lasso experiments' step η/(1+t/10)^p: this power p (0 = constant)", low=0.0, high=2.0
        ),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "proximal",
            "ISTA replaces the subgradient step: the prox sets the null coordinates exactly to zero, so the "
            "iterate reaches the Lasso solution, whose ℓ1 norm shrinks as λ grows.",
            mechanism=True,
            options=(("l1_method", "proximal"),),
        ),
        Control(
            "decaying-step",
            "The subgradient step decays as η/(1+t/10): the zig-zag of amplitude η_tλ across 0 dies out, GD "
            "approaches the Lasso solution and its ℓ1 norm decreases in λ.",
            mechanism=True,
            options=(("step_decay", 1.0),),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        tag = "-quick" if options.quick else ""
        decay = float(options["step_decay"])
        schedule = {"name": "polynomial", "power": decay, "t0": 10.0} if decay > 0 else {"name": "constant"}
        run = {
            "steps": size["lasso_steps"],
            "seeds": size["lasso_seeds"],
            "batch_size": LASSO["n_samples"],
            "checkpoints": late_checkpoints(size["lasso_steps"]),
        }
        subgradient = options["l1_method"] == "subgradient"
        lasso_sub = {
            "name": f"ndgd-lasso-{options['l1_method']}{tag}",
            "description": "The L1 paradox: GD on the Lasso objective, λ swept",
            "problem": {"name": "lasso", **LASSO, "regularization": {"grid": LAMBDAS}, "l1_in_loss": subgradient},
            "optimizer": {"name": "sgd", "learning_rate": LASSO_LR}
            if subgradient
            else {"name": "proximal_l1", "learning_rate": LASSO_LR, "l1": {"grid": LAMBDAS}},
            "sampler": {"name": "full_batch"},
            "schedule": schedule,
            "run": run,
            "probes": ["metrics"],
        }
        # the reference: ISTA with l1 = λ swept (vmapped); the problem's own λ is fixed at the first value, so
        # only the l1_norm metric is read from this experiment
        lasso_prox = {
            "name": f"ndgd-lasso-proximal-reference{tag}",
            "description": "The L1 paradox: proximal gradient (ISTA) reference, λ swept",
            "problem": {"name": "lasso", **LASSO, "regularization": LAMBDAS[0], "l1_in_loss": False},
            "optimizer": {"name": "proximal_l1", "learning_rate": LASSO_LR, "l1": {"grid": LAMBDAS}},
            "sampler": {"name": "full_batch"},
            "schedule": schedule,
            "run": run,
            "probes": ["metrics"],
        }
        functions = {
            "name": f"ndgd-pseudo-huber{tag}",
            "description": "GD on ‖x‖₁ (ε = 0) and on the pseudo-Huber function (ε > 0), η swept",
            "problem": {
                "name": "pseudo_huber",
                "dim": size["dim"],
                "smoothing": {"grid": [0.0, EPSILON]},
                "init_scale": 1.0,
            },
            "optimizer": {"name": "sgd", "learning_rate": {"grid": ETAS}},
            "run": {
                "steps": size["steps"],
                "seeds": size["seeds"],
                "batch_size": 1,
                "checkpoints": late_checkpoints(size["steps"]),
            },
            "probes": ["metrics", {"name": "sharpness", "method": "power", "iterations": 20}],
        }
        return [spec_from_dict(s) for s in (lasso_sub, lasso_prox, functions)]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        size = options.pick(SIZES)
        lasso_sub, lasso_prox, functions = results
        lam, l1 = column("problem.regularization"), column("optimizer.l1")
        lr, eps = column("optimizer.learning_rate"), column("problem.smoothing")

        # 1. the L1 paradox
        sub_axis = lam if options["l1_method"] == "subgradient" else l1
        sub_runs = lasso_sub.runs
        if sub_axis == l1:  # ISTA in place of the subgradient step: keep the runs whose prox λ is the problem's
            sub_runs = sub_runs[np.isclose(sub_runs[l1], sub_runs[lam])]
        sub_means = seed_mean(sub_runs, lasso_sub.curves, "l1_norm", by=[sub_axis])
        sub_late = late_mean(sub_means, sub_axis, size["lasso_steps"]).reindex(LAMBDAS)
        prox_means = seed_mean(lasso_prox.runs, lasso_prox.curves, "l1_norm", by=[l1])
        prox_late = late_mean(prox_means, l1, size["lasso_steps"]).reindex(LAMBDAS)
        exact = np.asarray([float(np.abs(np.asarray(self._lasso(lam_).optimum())).sum()) for lam_ in LAMBDAS])
        s_sub = loglog_slope(np.asarray(LAMBDAS), sub_late.to_numpy())
        s_prox = loglog_slope(np.asarray(LAMBDAS), prox_late.to_numpy())
        s_exact = loglog_slope(np.asarray(LAMBDAS), exact)
        headline = CHECK_PARADOX.verdict(
            paradox_figure(s_sub, s_prox),
            paradox_figure(s_sub, s_prox) >= CHECK_PARADOX.tolerance,
            detail=f"s_sub = {s_sub:.3f}, s_prox = {s_prox:.3f}, exact Lasso path {s_exact:.3f}; pass if ≥ tolerance",
        )
        table = pd.DataFrame(
            {
                "part": "L1 paradox",
                "lambda": LAMBDAS,
                "l1 norm (subgradient)": sub_late.to_numpy(),
                "l1 norm (proximal)": prox_late.to_numpy(),
                "l1 norm (exact Lasso)": exact,
            }
        )

        # 2. and 3. ‖x‖₁ and the pseudo-Huber function
        runs, curves = functions.runs, functions.curves
        dim, total = size["dim"], size["steps"]
        loss = seed_mean(runs, curves, "suboptimality", by=[eps, lr])
        sharp = seed_mean(runs, curves, "sharpness", by=[eps, lr])
        l1_loss = loss[loss[eps] == 0]
        plateau = late_mean(l1_loss, lr, total).reindex(ETAS).to_numpy()
        bound = np.asarray([smooth_bound(eta, dim * 1.0, np.asarray([total]))[0] for eta in ETAS])
        plateau_verdict = CHECK_PLATEAU.verdict(
            plateau_error(plateau, np.asarray(ETAS), dim),
            detail="late f / L-smooth rate ‖x₀‖²/(2ηT): "
            + ", ".join(f"{p / b:.0f}×" for p, b in zip(plateau, bound, strict=True)),
        )
        smooth = runs[runs[eps] == EPSILON]
        diverged = int((smooth["status"] == DIVERGED).sum())
        final = sharp[(sharp[eps] == EPSILON) & (sharp["step"] == total)].set_index(lr)["mean"].reindex(ETAS)
        error = sharpness_error(final.to_numpy(), np.asarray(ETAS), EPSILON) if diverged == 0 else float("inf")
        ratios = final.to_numpy() * np.asarray(ETAS) / 2
        eos_verdict = CHECK_EOS.verdict(
            error,
            detail=f"{diverged} of {len(smooth)} runs diverged; final sharpness / (2/η) = "
            + ", ".join(f"{r:.3g}" for r in ratios),
        )
        table = pd.concat(
            [
                table,
                pd.DataFrame(
                    {
                        "part": "pseudo-Huber",
                        "eta": ETAS,
                        "l1 plateau": plateau,
                        "l1 plateau predicted": [l1_plateau(eta, dim) for eta in ETAS],
                        "final sharpness": final.to_numpy(),
                        "predicted sharpness": [pseudo_huber_cycle(eta, EPSILON)["sharpness"] for eta in ETAS],
                        "2/eta": [2 / eta for eta in ETAS],
                    }
                ),
            ],
            ignore_index=True,
        )
        figures = [
            self._paradox_figure(sub_late.to_numpy(), prox_late.to_numpy(), exact, options, folder),
            self._plateau_figure(l1_loss, lr, dim, folder),
            self._sharpness_figure(final.to_numpy(), folder),
        ]
        return Analysis([headline, plateau_verdict, eos_verdict], figures, table)

    @staticmethod
    def _lasso(regularization: float) -> Lasso:
        return Lasso(
            dim=LASSO["dim"],
            n_samples=LASSO["n_samples"],
            sparsity=LASSO["sparsity"],
            noise=LASSO["noise"],
            regularization=regularization,
        )

    @staticmethod
    def _paradox_figure(sub, prox, exact, options: StudyOptions, folder: Path) -> tuple[str, str]:
        fig, ax = plt.subplots(figsize=(5.6, 4.2))
        label = "GD on the full objective" if options["l1_method"] == "subgradient" else "ISTA (control)"
        if options["step_decay"] > 0:
            label += f", step decay power {options['step_decay']:g}"
        ax.plot(LAMBDAS, sub, "o-", label=label)
        ax.plot(LAMBDAS, prox, "s-", label="proximal GD (ISTA)")
        ax.plot(LAMBDAS, exact, "k--", label="exact Lasso solution")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("L1 penalty λ")
        ax.set_ylabel("ℓ1 norm of the point reached")
        ax.set_title(f"The L1 paradox (Lasso, n = d = 200, η = {LASSO_LR:g})")
        ax.legend(fontsize=8)
        return (
            "ℓ1 norm reached vs λ: GD on the nonsmooth objective vs ISTA and the exact path",
            F.save(fig, folder, "l1_paradox")["png"],
        )

    @staticmethod
    def _plateau_figure(l1_loss: pd.DataFrame, lr: str, dim: int, folder: Path) -> tuple[str, str]:
        fig, ax = plt.subplots(figsize=(5.6, 4.2))
        for eta, group in l1_loss.groupby(lr):
            steps = group["step"].to_numpy()
            (line,) = ax.plot(np.maximum(steps, 1), group["mean"], "o", ms=3, label=f"η = {eta:g}")
            exact = PREDICTIONS.get("l1_gd").predict(steps, learning_rate=float(eta), dim=dim, init_scale=1.0)
            ax.plot(np.maximum(steps, 1), exact["suboptimality"], "-", color=line.get_color(), lw=0.8)
            ax.axhline(l1_plateau(float(eta), dim), color=line.get_color(), ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step t")
        ax.set_ylabel("f(x_t) = ‖x_t‖₁")
        ax.set_title(f"GD on the ℓ1 norm (d = {dim}): seed mean, exact E f, plateau dη/2")
        ax.legend(fontsize=8)
        return (
            "f(x_t) for GD on ‖x‖₁: seed means (dots), exact expectation (lines), dη/2 (dotted)",
            F.save(fig, folder, "l1_plateau")["png"],
        )

    @staticmethod
    def _sharpness_figure(final: np.ndarray, folder: Path) -> tuple[str, str]:
        fig, ax = plt.subplots(figsize=(5.6, 4.2))
        etas = np.asarray(ETAS)
        fine = np.geomspace(etas.min(), etas.max(), 100)
        ax.plot(etas, final, "o", label="final sharpness (seed mean)")
        ax.plot(fine, 2 / fine, "k--", label="edge of stability 2/η")
        ax.plot(fine, 8 * EPSILON**2 / fine**3, "-", label="2-cycle 8ε²/η³")
        ax.axhline(1 / EPSILON, color="gray", ls=":", label="sharpness at the minimizer 1/ε")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step size η")
        ax.set_ylabel("sharpness")
        ax.set_title(f"GD on the pseudo-Huber function, ε = {EPSILON:g}")
        ax.legend(fontsize=8)
        return (
            "Final sharpness vs η on a Lipschitz convex differentiable function",
            F.save(fig, folder, "sharpness")["png"],
        )
