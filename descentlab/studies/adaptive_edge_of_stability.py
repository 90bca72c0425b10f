r"""adaptive-edge-of-stability — full-batch Adam's preconditioned sharpness rises to 38/η and hovers there.

Claim (Cohen, Ghorbani, Krishnan, Agarwal, Medapati, Badura, Suo, Cardoze, Nado, Dahl, Gilmer 2022,
arXiv 2207.14484): during full-batch training with Adam (step η, EMA momentum β₁, second moment β₂), the
*preconditioned sharpness* :math:`\tilde S_t=\lambda_{\max}(P_t^{-1}H_t)`, with :math:`H_t` the Hessian
of the training loss and :math:`P_t=\mathrm{diag}(\sqrt{\hat\nu_t}+\epsilon)` Adam's preconditioner,
rises until it reaches the stability threshold of EMA-momentum gradient descent with a *frozen*
preconditioner,

.. math:: \tilde S = \frac{2+2\beta_1}{(1-\beta_1)\,\eta}\qquad(38/\eta\ \text{for}\ \beta_1=0.9),

(:func:`descentlab.theory.stability.preconditioned_sharpness_threshold`, registered as the
``adaptive_edge_of_stability`` prediction) and then *equilibrates* there — the Adaptive Edge of Stability —
while the loss keeps decreasing, non-monotonically. (With P frozen, the update
:math:`m'=\beta_1m+(1-\beta_1)g`, :math:`x'=x-\eta P^{-1}m'` is stable on a quadratic mode of
:math:`P^{-1}H` with eigenvalue λ iff :math:`\eta\lambda<(2+2\beta_1)/(1-\beta_1)`.)

The study trains a tanh MLP with squared loss on one-hot labels (``digits_mlp``, the network of the
edge-of-stability study) by full-batch Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) at several step sizes and
two seeds (one vmapped program), with the ``preconditioned_sharpness`` probe (Lanczos on
:math:`P^{-1/2}HP^{-1/2}`, P read from Adam's state) at evenly spaced checkpoints. With
:math:`r_t=\tilde S_t\,(1-\beta_1)\eta/(2+2\beta_1)`, the *edge phase* of a run is the part from the
first upward crossing of :math:`r=1` on (:func:`descentlab.studies.edge_of_stability.edge_phase`). Split
into halves (by checkpoint), the edge phase of **every** run must

* **last**: span at least a third of the run and at least ``MIN_CHECKPOINTS`` checkpoints;
* **hover**: the drift :math:`|\mathrm{med}(r_{\text{2nd half}})-\mathrm{med}(r_{\text{1st half}})|`
  is at most ``MAX_DRIFT`` (:data:`CHECK_HOVERS`);
* **sit at the edge**: the median of :math:`r` over the phase lies in ``BAND`` = [0.90, 1.05];
* **be non-monotone with a net fall**: the training loss rises between at least one pair of consecutive
  checkpoints in the phase, and its median over the second half is below that over the first half.

Headline: all of these for every run; its figure is the median :math:`r` of the worst run (the one
failing most criteria, then farthest outside the band; a run that never reaches the line has the largest
:math:`r` it reached instead). One verdict per criterion follows it.

Tolerances from the measured spread (2 seeds × the step sizes below, this 2-core CPU, shared): the phase
medians of r were 0.955–0.991 at ``--quick`` (0.988–0.996 at default), the drifts at most 0.039
(0.009), the phases 78–91 % (87–97 %) of the run with ≥ 7 (≥ 15) loss rises and a net fall of ≥ 66 %
(≥ 48 %). Adam's preconditioned sharpness moves in a sawtooth whose peaks touch the line (1.02–1.09)
and whose troughs fall to 0.73–0.95 in between, so it sits *at or just below* 38/η (the
top Lanczos Ritz value never exceeds :math:`\lambda_{\max}`, and the probe's P omits the factor
:math:`1-\beta_1^t\to1`): the band [0.90, 1.05] leaves 0.055 (1.5 times the 0.036 range of the quick
medians) below the lowest median and 0.05 above the line. ``MAX_DRIFT`` = 0.08 is about twice the
largest drift seen (a seed whose first overshoot is followed by a deep trough, at ``--quick``).

Controls (their headline figures at ``--quick``): ``small-batch`` (mechanism) runs Adam on minibatches
of 8 (random reshuffling): gradient noise keeps ν̂ large, and the full-batch preconditioned sharpness
stays far below 38/η (0.03–0.17 of it along a seed-0 run; as the paper finds for small batches; fails,
0.063);
``truncated-run`` (mechanism) ends every run at 100 steps, while the preconditioned sharpness is still
rising towards 38/η (fails, 0.66); ``steps-below-edge`` uses step sizes 0.001 and 0.002, whose line
38/η is not reached in the run (fails, 0.089); ``gd-line`` compares with the line of plain GD, 2/η
(an analysis-time substitution, the wrong prediction for Adam; fails, r = 20.6).

Figures: the preconditioned sharpness vs step per step size with the 38/η lines dashed (the paper's
headline figure: Adam equilibrates at its own threshold), and the training loss vs step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from descentlab.engine.load import spec_from_dict
from descentlab.engine.spec import Spec
from descentlab.experiment import Result
from descentlab.params import Param
from descentlab.studies import edge_of_stability as edge
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.studies.edge_of_stability import EdgeRule, edge_line
from descentlab.theory import PREDICTIONS, Verdict

BAND = (0.90, 1.05)  # at or just below the line: measured phase medians 0.955–0.996, room on both sides
MIN_CHECKPOINTS = 10
METRIC = "preconditioned_sharpness"
RATIO = "median r"  # r = preconditioned sharpness / line
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
LINES = ("adam", "gd")

_SPREAD = (
    "Measured over 2 seeds × the step sizes: phase medians of r = S̃(1−β₁)η/(2+2β₁) 0.955–0.991 at --quick "
    "(0.988–0.996 at default), drifts ≤ 0.039 (0.009), phases 78–91 % (87–97 %) of the run with ≥ 7 (≥ 15) loss "
    "rises and a net fall ≥ 66 % (≥ 48 %)."
)
CHECK_LASTS = Check(
    "phase-lasts",
    f"shortest edge phase as a fraction of the run (≥ 1/3 and ≥ {MIN_CHECKPOINTS} checkpoints)",
    "a lasting edge phase: the preconditioned sharpness stays at 38/η for the rest of training",
    1.0 / 3.0,
    "The shortest phase measured is 78 % of the run at --quick and 87 % at default.",
)
CHECK_HOVERS = Check(
    "hovers",
    "largest drift |median r 2nd half − 1st half| of the edge phase",
    "no drift: the preconditioned sharpness equilibrates at 38/η",
    0.08,
    "About 2 × the largest drift measured (0.039 at --quick, 0.009 at default).",
)
MIN_FRACTION = CHECK_LASTS.tolerance
MAX_DRIFT = CHECK_HOVERS.tolerance
CHECK_EDGE = Check(
    "adaptive-edge-phase",
    f"median r = λ_max(P⁻¹H)·(1−β₁)η/(2+2β₁) over the edge phase (from the first upward crossing of the line), "
    f"worst run; pass: every run's phase lasts ≥ 1/3 of the run and ≥ {MIN_CHECKPOINTS} checkpoints, drifts "
    f"≤ {MAX_DRIFT:g}, has its median in [{BAND[0]}, {BAND[1]}], a loss rise and a net loss fall",
    "the adaptive edge of stability (2+2β₁)/((1−β₁)η) = 38/η (adaptive_edge_of_stability prediction): the "
    "preconditioned sharpness rises to it and equilibrates there",
    BAND[1] - 1.0,
    "The band [0.90, 1.05] (at or just below the line) leaves 0.055, 1.5 times the range of the quick medians, "
    "below the lowest median and 0.05 above the line. " + _SPREAD,
)
CHECK_AT_EDGE = Check(
    "at-edge",
    f"median r over the edge phase farthest from [{BAND[0]}, {BAND[1]}]",
    "at or just below 38/η",
    BAND[1] - 1.0,
    "The band [0.90, 1.05]: at or just below the line, with room on both sides. " + _SPREAD,
)
CHECK_LOSS_RISES = Check(
    "loss-rises",
    "fewest training-loss rises between checkpoints in the edge phase (≥ 1)",
    "a non-monotone loss at the edge",
    1.0,
    "At least one rise; measured ≥ 7 per run at --quick and ≥ 15 at default.",
)
CHECK_NET_FALL = Check(
    "net-fall",
    "smallest relative fall of the median loss from the 1st to the 2nd half of the edge phase (> 0)",
    "the loss keeps decreasing at the adaptive edge",
    0.0,
    "A positive fall; measured ≥ 66 % at --quick and ≥ 48 % at default.",
)

SIZES = {
    "quick": {
        "width": 16,
        "n_train": 128,
        "steps": 900,
        "checkpoints": 45,
        "iterations": 10,
        "learning_rate": [0.02, 0.03, 0.05],
    },
    "default": {
        "width": 32,
        "n_train": 256,
        "steps": 1500,
        "checkpoints": 60,
        "iterations": 12,
        "learning_rate": [0.01, 0.02, 0.03, 0.05],
    },
    "paper": {
        "width": 200,
        "n_train": 1000,
        "steps": 6000,
        "checkpoints": 120,
        "iterations": 20,
        "learning_rate": [0.005, 0.01, 0.02, 0.03],
    },
}
SEEDS = 2

Threshold = Callable[[float, float], float]


def adam_line(learning_rate: float, beta1: float) -> float:
    """(2+2β₁)/((1−β₁)η), from the registered ``adaptive_edge_of_stability`` prediction."""
    steps = np.zeros(1, dtype=int)
    line = PREDICTIONS.get("adaptive_edge_of_stability").predict(steps, learning_rate=learning_rate, beta1=beta1)
    return float(line[METRIC][0])


def gd_line(learning_rate: float, beta1: float) -> float:
    """2/η, plain GD's line (the wrong prediction for Adam: the ``gd-line`` control)."""
    return edge_line(learning_rate)


def threshold_of(line: str) -> Threshold:
    """The line the study compares with: ``adam`` (the claim) or ``gd`` (the control)."""
    return {"adam": adam_line, "gd": gd_line}[line]


RULE = EdgeRule(
    METRIC,
    BAND,
    RATIO,
    "line",
    (CHECK_EDGE, CHECK_LASTS, CHECK_HOVERS, CHECK_AT_EDGE, CHECK_LOSS_RISES, CHECK_NET_FALL),
    axes=(("lr", "optimizer.learning_rate"), ("beta1", "optimizer.b1")),
    min_checkpoints=MIN_CHECKPOINTS,
)


def band_distance(ratio: float) -> float:
    """> 0 outside ``BAND``, in units of the band's half-widths below/above 1 (≤ 0 inside)."""
    return edge.band_distance(ratio, BAND)


def phase_figures(steps: np.ndarray, ratio: np.ndarray, loss: np.ndarray, run_steps: int) -> dict:
    """Duration, drift, median and loss behaviour of the edge phase (``ratio`` = r on the phase)."""
    return edge.phase_figures(steps, ratio, loss, run_steps, RATIO)


def criteria(row: pd.Series) -> dict[str, bool]:
    """The edge-phase criteria of one run (all must hold)."""
    return edge.criteria(row, RULE)


def per_run(runs: pd.DataFrame, curves: pd.DataFrame, threshold: Threshold = adam_line) -> pd.DataFrame:
    """One row per run: its edge-phase figures and which criteria hold."""
    return edge.per_run(runs, curves, threshold, RULE)


def verdicts_from(table: pd.DataFrame) -> list[Verdict]:
    """Headline (every criterion for every run) and one verdict per criterion."""
    return edge.verdicts_from(table, RULE)


@register_study("adaptive-edge-of-stability")
class AdaptiveEdgeOfStability(Study):
    claim = (
        "Full-batch Adam on a tanh MLP (MSE, digits): the preconditioned sharpness λ_max(P⁻¹H) rises to "
        "(2+2β₁)/((1−β₁)η) = 38/η and equilibrates there while the loss keeps falling non-monotonically"
    )
    reference = (
        "Cohen, Ghorbani, Krishnan, Agarwal, Medapati, Badura, Suo, Cardoze, Nado, Dahl, Gilmer. Adaptive "
        "Gradient Methods at the Edge of Stability (2207.14484)"
    )
    checks: ClassVar[tuple[Check, ...]] = RULE.checks
    declared_options: ClassVar[dict[str, Param]] = {
        "line": Param(
            "str",
            "adam",
            "the predicted line: adam = (2+2β₁)/((1−β₁)η), gd = plain GD's 2/η (analysis-time)",
            choices=LINES,
        )
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "small-batch",
            "Adam on minibatches of 8 (random reshuffling) instead of the full batch: gradient noise keeps the "
            "second moment large, so the full-batch preconditioned sharpness stays far below 38/η.",
            mechanism=True,
            overrides=("sampler.name=random_reshuffling", "run.batch_size=8"),
        ),
        Control(
            "truncated-run",
            "Every run ends after 100 steps, while the preconditioned sharpness is still rising towards 38/η, "
            "so there is no lasting edge phase.",
            mechanism=True,
            overrides=("run.steps=100",),
        ),
        Control(
            "steps-below-edge",
            "Step sizes 0.001 and 0.002 put 38/η at 38000 and 19000, far above where the preconditioned "
            "sharpness gets within the run, so there is no edge to hover at.",
            mechanism=False,
            overrides=("optimizer.learning_rate.grid=[0.001, 0.002]",),
        ),
        Control(
            "gd-line",
            "The prediction is plain GD's line 2/η instead of Adam's 38/η, about 19 times lower, so the "
            "measured preconditioned sharpness is nowhere near it.",
            mechanism=False,
            options=(("line", "gd"),),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        return [
            spec_from_dict(
                {
                    "name": "adaptive-edge-of-stability" + ("-quick" if options.quick else ""),
                    "description": self.claim,
                    "problem": {
                        "name": "digits_mlp",
                        "width": size["width"],
                        "depth": 2,
                        "activation": "tanh",
                        "loss_type": "mse",
                        "n_train": size["n_train"],
                    },
                    "optimizer": {
                        "name": "adam",
                        "learning_rate": {"grid": size["learning_rate"]},
                        "b1": BETA1,
                        "b2": BETA2,
                        "eps": EPS,
                    },
                    "sampler": {"name": "full_batch"},
                    "run": {
                        "steps": size["steps"],
                        "batch_size": size["n_train"],
                        "seeds": SEEDS,
                        "checkpoints": size["checkpoints"],
                        "spacing": "linear",
                    },
                    "probes": [
                        "metrics",
                        {"name": METRIC, "iterations": size["iterations"], "b2": BETA2, "eps": EPS},
                    ],
                }
            )
        ]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        threshold = threshold_of(options["line"])
        runs, curves = results[0].runs, results[0].curves
        table = per_run(runs, curves, threshold)
        figures = edge.edge_figures(
            runs,
            curves,
            threshold,
            folder,
            RULE,
            theory_label="38/η (adaptive edge of stability)" if options["line"] == "adam" else "2/η (plain GD's line)",
            title="preconditioned sharpness λ_max(P⁻¹H), full-batch Adam",
            captions=(
                "Preconditioned sharpness vs step per step size, with the (2+2β₁)/((1−β₁)η) lines dashed: it "
                "rises to its line and equilibrates there (the adaptive edge of stability)",
                "Training loss vs step per step size: it keeps falling, non-monotonically, at the adaptive edge",
            ),
        )
        return Analysis(verdicts_from(table), figures, table)
