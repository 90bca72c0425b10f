r"""edge-of-stability — full-batch GD on a tanh MLP sharpens until λ_max ≈ 2/η, then hovers there.

Claim (Cohen, Kaur, Li, Kolter, Talwalkar 2021, arXiv 2103.00065): for full-batch gradient descent with
step η on a neural network, the sharpness :math:`S_t=\lambda_{\max}(\nabla^2 L(\theta_t))` first rises
(*progressive sharpening*) until it reaches the stability limit of GD on a quadratic, :math:`2/\eta`
(:func:`descentlab.theory.stability.sharpness_threshold`), and then hovers *at, or just above*,
:math:`2/\eta` for the rest of training, while the loss keeps decreasing over long times,
non-monotonically.

The study trains a tanh MLP with squared loss on one-hot labels (``digits_mlp``, as in the paper's
MSE experiments) by full-batch GD at several step sizes and two seeds (one vmapped program), with the
``sharpness`` probe (Lanczos on Hessian-vector products of the full training loss) at evenly spaced
checkpoints. With :math:`r_t = S_t\,\eta/2`, the *edge phase* of a run is the part from the first upward
crossing of :math:`r=1` on (the first checkpoint with :math:`r\ge 1` that follows one with
:math:`r<1`; an initial sharpness above :math:`2/\eta` that GD immediately knocks down does not count).
Split into halves (by checkpoint), the edge phase of **every** run must

* **last**: span at least a third of the run and at least ``MIN_CHECKPOINTS`` checkpoints;
* **hover**: the drift :math:`|\mathrm{med}(r_{\text{2nd half}})-\mathrm{med}(r_{\text{1st half}})|`
  is at most ``MAX_DRIFT`` (:data:`CHECK_HOVERS`);
* **sit at the edge**: the median of :math:`r` over the phase lies in ``BAND`` = [0.97, 1.06];
* **be non-monotone with a net fall**: the training loss rises between at least one pair of consecutive
  checkpoints in the phase, and its median over the second half is below that over the first half.

Headline: all of these for every run; its figure is the median :math:`S\eta/2` of the worst run (the one
failing most criteria, then farthest outside the band; a run that never reaches 2/η has the largest
:math:`S\eta/2` it reached instead). One verdict per criterion follows it.

Tolerances from the measured spread (2 seeds × the step sizes below, this CPU): the phase medians of
:math:`r` were 1.004–1.027 at default size (1.002–1.019 at ``--quick``), the drifts at most 0.021
(0.018), the phases 50–90 % (58–84 %) of the run with ≥ 6 (≥ 4) loss rises and a net fall of ≥ 30 %.
The band [0.97, 1.06] leaves about one spread on either side and matches "at or just above"; a line 5 %
low (``line_factor`` 0.95) puts most runs above it (worst 1.072 at ``--quick``), and a run that ends
while the sharpness is still climbing through :math:`2/\eta` drifts by 0.05–0.08. ``MAX_DRIFT`` = 0.05
is about 2.5 times the largest drift seen.

Controls: ``truncated-run`` ends every run at 200 steps, while the sharpness is still rising through (or
towards) 2/η; ``steps-below-edge`` uses step sizes so small that 2/η is never reached in the run;
``line-five-percent-low`` compares with a line 5 % below 2/η (an analysis-time substitution).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from descentlab.engine.load import spec_from_dict
from descentlab.engine.spec import Spec
from descentlab.experiment import Result
from descentlab.params import Param
from descentlab.report import figures as F
from descentlab.store.schema import column
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study
from descentlab.theory import PREDICTIONS, Verdict

BAND = (0.97, 1.06)  # "at or just above" 2/η: about one measured spread of the phase medians on either side
MIN_CHECKPOINTS = 10
METRIC = "sharpness"

_SPREAD = (
    "Measured over 2 seeds × the step sizes: phase medians of S·η/2 1.002–1.019 at --quick (1.004–1.027 at "
    "default), drifts ≤ 0.018 (0.021), phases 58–84 % (50–90 %) of the run with ≥ 4 (≥ 6) loss rises and a net "
    "fall ≥ 30 %."
)
CHECK_LASTS = Check(
    "phase-lasts",
    f"shortest edge phase as a fraction of the run (≥ 1/3 and ≥ {MIN_CHECKPOINTS} checkpoints)",
    "a lasting edge phase: the sharpness stays at 2/η for the rest of training",
    1.0 / 3.0,
    "The shortest phase measured is 58 % of the run at --quick and 50 % at default.",
)
CHECK_HOVERS = Check(
    "hovers",
    "largest drift |median S·η/2 2nd half − 1st half| of the edge phase",
    "no drift: the sharpness hovers at 2/η",
    0.05,
    "About 2.5 × the largest drift measured (0.018 at --quick, 0.021 at default); a run still climbing through "
    "2/η drifts by 0.05–0.08.",
)
MIN_FRACTION = CHECK_LASTS.tolerance
MAX_DRIFT = CHECK_HOVERS.tolerance
CHECK_EDGE = Check(
    "edge-phase",
    f"median S·η/2 over the edge phase (from the first upward crossing of 2/η), worst run; pass: every run's phase "
    f"lasts ≥ 1/3 of the run and ≥ {MIN_CHECKPOINTS} checkpoints, drifts ≤ {MAX_DRIFT:g}, has its median in "
    f"[{BAND[0]}, {BAND[1]}], a loss rise and a net loss fall",
    "the edge of stability 2/η (edge_of_stability prediction): sharpness rises to it and hovers at or just above",
    BAND[1] - 1.0,
    "The band [0.97, 1.06] leaves about one spread of the phase medians on either side. " + _SPREAD,
)
CHECK_AT_EDGE = Check(
    "at-edge",
    f"median S·η/2 over the edge phase farthest from [{BAND[0]}, {BAND[1]}]",
    "at or just above 2/η",
    BAND[1] - 1.0,
    "The band [0.97, 1.06]: about one spread on either side. " + _SPREAD,
)
CHECK_LOSS_RISES = Check(
    "loss-rises",
    "fewest training-loss rises between checkpoints in the edge phase (≥ 1)",
    "a non-monotone loss at the edge",
    1.0,
    "At least one rise; measured ≥ 4 per run at --quick and ≥ 6 at default.",
)
CHECK_NET_FALL = Check(
    "net-fall",
    "smallest relative fall of the median loss from the 1st to the 2nd half of the edge phase (> 0)",
    "the loss keeps decreasing over long times",
    0.0,
    "A positive fall; measured ≥ 30 % at both sizes.",
)

SIZES = {
    "quick": {
        "width": 16,
        "n_train": 128,
        "steps": 900,
        "checkpoints": 45,
        "iterations": 10,
        "learning_rate": [0.3, 0.35, 0.4],
    },
    "default": {
        "width": 32,
        "n_train": 256,
        "steps": 1500,
        "checkpoints": 60,
        "iterations": 12,
        "learning_rate": [0.25, 0.3, 0.35, 0.4],
    },
    "paper": {
        "width": 200,
        "n_train": 1000,
        "steps": 6000,
        "checkpoints": 120,
        "iterations": 20,
        "learning_rate": [0.05, 0.1, 0.15, 0.2],
    },
}
SEEDS = 2

Threshold = Callable[..., float]  # the line, from a run's hyperparameters (``EdgeRule.axes``)


@dataclass(frozen=True)
class EdgeRule:
    """What an edge phase must satisfy and how its table is labelled (shared with adaptive-edge-of-stability).

    ``checks`` are the six verdicts in order (headline, phase lasts, hovers, at edge, loss rises, net fall); the
    phase-lasts and hovers tolerances are the shortest phase fraction and the largest drift. ``axes`` are the run
    columns the threshold reads, as (label in the table, dotted spec key), passed to it in order.
    """

    metric: str
    band: tuple[float, float]
    ratio: str  # label of the phase median of sharpness / line
    line: str  # label of the line's column
    checks: tuple[Check, Check, Check, Check, Check, Check]
    axes: tuple[tuple[str, str], ...] = (("lr", "optimizer.learning_rate"),)
    min_checkpoints: int = MIN_CHECKPOINTS

    @property
    def min_fraction(self) -> float:
        return self.checks[1].tolerance

    @property
    def max_drift(self) -> float:
        return self.checks[2].tolerance


RATIO = "median S·η/2"
RULE = EdgeRule(
    METRIC, BAND, RATIO, "2/η", (CHECK_EDGE, CHECK_LASTS, CHECK_HOVERS, CHECK_AT_EDGE, CHECK_LOSS_RISES, CHECK_NET_FALL)
)


def edge_line(learning_rate: float) -> float:
    """2/η, from the registered ``edge_of_stability`` prediction (plain GD, β = 0)."""
    steps = np.zeros(1, dtype=int)
    return float(
        PREDICTIONS.get("edge_of_stability").predict(steps, learning_rate=learning_rate, momentum=0.0)["sharpness"][0]
    )


def _size(options: StudyOptions) -> dict:
    return options.pick(SIZES)


def edge_phase(steps: np.ndarray, sharpness: np.ndarray, line: float) -> np.ndarray:
    """Mask of the checkpoints from the first upward crossing of ``line`` on (all False if none)."""
    above = np.isfinite(sharpness) & (sharpness >= line)
    below_seen = np.cumsum(~above & np.isfinite(sharpness)) > 0
    crossing = np.nonzero(above & np.concatenate([[False], below_seen[:-1]]))[0]
    mask = np.zeros(steps.shape, dtype=bool)
    if crossing.size:
        mask[crossing[0] :] = True
    return mask


def band_distance(ratio: float, band: tuple[float, float] = BAND) -> float:
    """> 0 outside the band, in units of the band's half-widths below/above 1 (≤ 0 inside)."""
    if not np.isfinite(ratio):
        return np.inf
    return max((band[0] - ratio) / (1.0 - band[0]), (ratio - band[1]) / (band[1] - 1.0))


def halves(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and second half of a phase (the middle checkpoint of an odd count goes to neither)."""
    half = values.size // 2
    return values[:half], values[values.size - half :]


def phase_figures(steps: np.ndarray, ratio: np.ndarray, loss: np.ndarray, run_steps: int, label: str = RATIO) -> dict:
    """Duration, drift, median (column ``label``) and loss behaviour of the edge phase (``ratio`` = S/line on it)."""
    if ratio.size < 2:
        return {
            "crossing step": float(steps[0]) if steps.size else np.nan,
            "edge checkpoints": int(ratio.size),
            "edge fraction": 0.0,
            label: float(np.median(ratio)) if ratio.size else np.nan,
            "drift": np.inf,
            "loss rises": 0,
            "loss fall": -np.inf,
        }
    (r1, r2), (l1, l2) = halves(ratio), halves(loss)
    first = float(np.median(l1))
    return {
        "crossing step": float(steps[0]),
        "edge checkpoints": int(ratio.size),
        "edge fraction": float(steps[-1] - steps[0]) / run_steps,
        label: float(np.median(ratio)),
        "drift": abs(float(np.median(r2) - np.median(r1))),
        "loss rises": int(np.sum(np.diff(loss) > 0)),
        "loss fall": (first - float(np.median(l2))) / first,
    }


def criteria(row: pd.Series, rule: EdgeRule = RULE) -> dict[str, bool]:
    """The edge-phase criteria of one run (all must hold)."""
    return {
        "lasts": bool(row["edge fraction"] >= rule.min_fraction and row["edge checkpoints"] >= rule.min_checkpoints),
        "hovers": bool(row["drift"] <= rule.max_drift),
        "at edge": bool(band_distance(row[rule.ratio], rule.band) <= 0),
        "loss rises": bool(row["loss rises"] >= 1),
        "net fall": bool(row["loss fall"] > 0),
    }


def _curve(sub: pd.DataFrame, metric: str, steps: np.ndarray) -> np.ndarray:
    series = sub[sub.metric == metric].set_index("step").value
    return series.reindex(steps).to_numpy(float)


def per_run(
    runs: pd.DataFrame, curves: pd.DataFrame, threshold: Threshold = edge_line, rule: EdgeRule = RULE
) -> pd.DataFrame:
    """One row per run: its edge-phase figures and which criteria hold."""
    rows = []
    metric, name = rule.metric, rule.metric.replace("_", " ")
    data = curves[curves.metric.isin([metric, "train_loss"])]
    run_steps = int(curves.step.max())
    for run in runs.itertuples():
        values = {label: float(getattr(run, column(key))) for label, key in rule.axes}
        line = threshold(*values.values())
        sub = data[data.run == run.run]
        steps = np.sort(sub[sub.metric == metric].step.unique())
        sharp, loss = _curve(sub, metric, steps), _curve(sub, "train_loss", steps)
        mask = edge_phase(steps, sharp, line)
        row = {
            **values,
            "seed": int(run.seed),
            rule.line: line,
            "status": run.status,
            f"initial {name}": sharp[0] if sharp.size else np.nan,
            f"max {name}": float(np.nanmax(sharp)) if np.isfinite(sharp).any() else np.nan,
            **phase_figures(steps[mask], sharp[mask] / line, loss[mask], run_steps, rule.ratio),
            "initial loss": loss[0] if loss.size else np.nan,
            "final loss": loss[-1] if loss.size else np.nan,
        }
        if not np.isfinite(row[rule.ratio]) and np.isfinite(row[f"max {name}"]):
            row[rule.ratio] = row[f"max {name}"] / line  # never at the edge: how close it came
        ok = criteria(pd.Series(row), rule)
        rows.append({**row, **{f"ok: {k}": v for k, v in ok.items()}, "failed": sum(not v for v in ok.values())})
    return pd.DataFrame(rows)


def _worst(table: pd.DataFrame, name: str, largest: bool) -> float:
    values = table[name].to_numpy(float)
    values = np.where(np.isnan(values), np.inf if largest else -np.inf, values)
    return float(values.max() if largest else values.min())


def verdicts_from(table: pd.DataFrame, rule: EdgeRule = RULE) -> list[Verdict]:
    """Headline (every criterion for every run) and one verdict per criterion."""
    edge, lasts, hovers, at_edge, loss_rises, net_fall = rule.checks
    distances = np.array([band_distance(r, rule.band) for r in table[rule.ratio]])
    worst = int(np.lexsort((-distances, -table.failed.to_numpy()))[0])
    passed = bool((table.failed == 0).all())
    detail = f"worst of {len(table)} runs: η = {table.lr.iloc[worst]:g}, seed {table.seed.iloc[worst]}"
    out = [edge.verdict(float(table[rule.ratio].iloc[worst]), passed, detail=detail)]
    out.append(lasts.verdict(_worst(table, "edge fraction", False), bool(table["ok: lasts"].all())))
    out.append(hovers.verdict(_worst(table, "drift", True), bool(table["ok: hovers"].all())))
    band = float(table[rule.ratio].iloc[int(np.argmax(distances))])
    out.append(at_edge.verdict(band, bool(table["ok: at edge"].all())))
    out.append(loss_rises.verdict(_worst(table, "loss rises", False), bool(table["ok: loss rises"].all())))
    out.append(net_fall.verdict(_worst(table, "loss fall", False), bool(table["ok: net fall"].all())))
    return out


def edge_figures(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    threshold: Threshold,
    folder: Path,
    rule: EdgeRule,
    *,
    theory_label: str,
    title: str,
    captions: tuple[str, str],
) -> list[tuple[str, str]]:
    """The sharpness vs step per step size with the threshold lines dashed, and the training loss vs step."""
    steps = np.sort(curves.step.unique())
    keys = [column(key) for _, key in rule.axes]
    theory = pd.concat(
        [
            pd.DataFrame({keys[0]: values[0], "step": steps, "value": threshold(*values)})
            for values in runs[keys].drop_duplicates().itertuples(index=False)
        ],
        ignore_index=True,
    )
    fig = F.learning_curves(
        runs, curves, rule.metric, theory=theory, theory_label=theory_label, title=title, logx=False, logy=False
    )
    figures = [(captions[0], F.save(fig, folder, rule.metric)["png"])]
    fig = F.learning_curves(runs, curves, "train_loss", title="training loss (full batch)", logx=False)
    figures.append((captions[1], F.save(fig, folder, "train_loss")["png"]))
    return figures


@register_study("edge-of-stability")
class EdgeOfStability(Study):
    claim = (
        "Full-batch GD on a tanh MLP (MSE, digits): sharpness rises to 2/η and hovers there while the loss "
        "keeps falling non-monotonically"
    )
    reference = (
        "Cohen, Kaur, Li, Kolter, Talwalkar. Gradient Descent on Neural Networks Typically Occurs at the "
        "Edge of Stability (2103.00065)"
    )
    checks: ClassVar[tuple[Check, ...]] = RULE.checks
    declared_options: ClassVar[dict[str, Param]] = {
        "line_factor": Param(
            "float", 1.0, "multiply the predicted 2/η line by this factor (analysis-time)", low=0.0, low_open=True
        )
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "truncated-run",
            "Every run ends after 200 steps, while its sharpness is still climbing through or towards 2/η, so "
            "the dynamics never reach a lasting, flat edge phase.",
            mechanism=True,
            overrides=("run.steps=200",),
        ),
        Control(
            "steps-below-edge",
            "Step sizes 0.03 and 0.05 put 2/η at 67 and 40, far above where the sharpness saturates in the "
            "run, so there is no edge to hover at.",
            mechanism=False,
            overrides=("optimizer.learning_rate.grid=[0.03, 0.05]",),
        ),
        Control(
            "line-five-percent-low",
            "The predicted line is moved 5 % below 2/η, so the measured sharpness hovers above it, outside the "
            "'at or just above' band.",
            mechanism=False,
            options=(("line_factor", 0.95),),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = _size(options)
        return [
            spec_from_dict(
                {
                    "name": "edge-of-stability" + ("-quick" if options.quick else ""),
                    "description": self.claim,
                    "problem": {
                        "name": "digits_mlp",
                        "width": size["width"],
                        "depth": 2,
                        "activation": "tanh",
                        "loss_type": "mse",
                        "n_train": size["n_train"],
                    },
                    "optimizer": {"name": "sgd", "learning_rate": {"grid": size["learning_rate"]}},
                    "sampler": {"name": "full_batch"},
                    "run": {
                        "steps": size["steps"],
                        "batch_size": size["n_train"],
                        "seeds": SEEDS,
                        "checkpoints": size["checkpoints"],
                        "spacing": "linear",
                    },
                    "probes": ["metrics", {"name": "sharpness", "iterations": size["iterations"]}],
                }
            )
        ]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        factor = float(options["line_factor"])

        def threshold(lr: float) -> float:
            return factor * edge_line(lr)

        runs, curves = results[0].runs, results[0].curves
        table = per_run(runs, curves, threshold)
        figures = edge_figures(
            runs,
            curves,
            threshold,
            folder,
            RULE,
            theory_label="2/η (edge of stability)",
            title="sharpness λ_max of the training loss, full-batch GD",
            captions=(
                "Sharpness vs step per step size, with the 2/η lines dashed (progressive sharpening, then the "
                "edge of stability)",
                "Training loss vs step per step size: it keeps falling, non-monotonically, at the edge",
            ),
        )
        return Analysis(verdicts_from(table), figures, table)
