r"""grokking — generalization long after memorization on modular addition, driven by weight decay.

Claim (Power, Burda, Edwards, Babuschkin, Misra, *Grokking: Generalization Beyond Overfitting on Small
Algorithmic Datasets*, 2201.02177; the feature-learning view of Rubin, Seroussi, Ringel, *Grokking as a first-order
phase transition in two-layer networks*, 2310.03789): trained full batch on a fraction of the table of
:math:`(a+b)\bmod p`, a network first fits the training pairs and only much later — "well past the point of
overfitting" — jumps from chance to perfect test accuracy; weight decay sets how much later, and too small a
training fraction never generalizes. The jump is a change of representation: the embedding of the residues
concentrates on a few Fourier frequencies (the order parameter).

Set-up (:mod:`descentlab.problems.modular_addition`): p = 23, 60 % of the 529 pairs for training, the embedding
MLP (d = 16, 64 hidden units) with the quadratic activation of Gromov's solvable model and of Rubin et al.'s
two-layer network, cross-entropy, init scale 1; full-batch AdamW (η = 0.02, β = (0.9, 0.999)) with weight decay
λ swept as a vmapped grid × seeds in one spec: λ ∈ {0.3, 1, 3} × 3 seeds over 2 000 steps at --quick,
λ ∈ {0, 0.1, 0.3, 1, 3} × 8 seeds over 6 000 steps at default, 60 log-spaced checkpoints. The swept λ are
multiples of the option ``weight_decay`` (the headline λ, 1).

Per run, from the checkpoints (first checkpoint at which the level is reached; ∞ if never):
:math:`t_{\rm train}` and :math:`t_{\rm test}`, the steps to 99 % train and test accuracy; the **delay ratio**
:math:`t_{\rm test}/t_{\rm train}` (Power et al.'s "steps until validation accuracy > 99 %" against the steps to
fit); :math:`t_{\rm jump}` and :math:`t_{\rm order}`, the steps at which the test accuracy and the order
parameter first pass the midpoint between their first and last values. The order parameter is the problem's
``fourier_concentration``: with :math:`P_k` the power of frequency k of the residues' embeddings
(:math:`\hat E_k=\sum_a e^{-2\pi i ka/p}E_a`, k and p − k together), the share of :math:`\sum_{k\ge1}P_k` in the
3 strongest frequencies — 3/11 for equal power, 0.32–0.38 measured at initialization, 0.92–0.99 once grokked.

Verdicts:

1. headline ``delay-ratio``: the seed median of the delay ratio at the headline λ = 1 is finite and ≥ 5 (a seed
   that never reaches 99 % test accuracy has an infinite delay). Measured per seed 7.0–15 at --quick (3 seeds,
   median 13) and 7.8–25 at default (8 seeds, median 13); at λ = 3, where fitting and generalizing nearly coincide,
   the seed medians are 2.5 (--quick) and 3.0 (default), so 5 separates a delayed jump from a simultaneous one.
2. ``order-parameter-jump``: over every run that reaches 99 % test accuracy at a grokking λ (a positive λ whose
   seed-median delay ratio passes the headline bound), the largest :math:`|\log_{10}t_{\rm order}-\log_{10}
   t_{\rm jump}|` ≤ 0.25 decades (a factor 1.8). Measured 0.11 at --quick (6 runs, λ ∈ {0.3, 1}) and 0.13 at
   default (21 runs, λ ∈ {0.1, 0.3, 1}): one or two checkpoints (0.055 and 0.063 decades apart), while the jump
   comes 0.79–2.1 decades after the fit in those runs. At λ = 3 (no delay) the concentration rises with the fit
   and leads the jump by 0.13–0.34 decades; it is not judged there.
3. ``fourier-concentration``: the median final order parameter of those runs is ≥ 0.8. Measured 0.95 (--quick)
   and 0.96 (default); 0.32–0.38 at initialization and 0.36–0.41 after 6 000 steps at λ = 0 (default).
4. ``delay-vs-weight-decay``: the seed-median delay ratio decreases strictly with λ over the positive swept λ
   (weight decay sets the delay); the figure counts adjacent pairs out of order (none allowed). Measured medians
   62 / 13 / 2.5 (λ = 0.3 / 1 / 3) at --quick and 1.9e2 / 62 / 13 / 3.0 (λ = 0.1 / 0.3 / 1 / 3) at default:
   adjacent medians ≥ 3.0× apart.

Measured at --quick (9 runs × 2 000 steps): 25 s wall, 14 s CPU on a machine shared with other jobs (load ≈ 10
on 2 cores); default (40 runs × 6 000 steps): 473 s wall, 105 s CPU under load ≈ 14. One of 8 seeds at λ = 0.3
and two at λ = 0.1 end at 94–97 % test accuracy at default (counted as never generalized); at λ = 3 three seeds
fall back to 92 % after reaching 99 %.

Controls (each fails the headline at --quick): ``no-weight-decay`` (mechanism: λ = 0 for every run — the
network fits the training set in 22 steps and its test accuracy ends at ≤ 1.4 %: no seed generalizes, delay
∞) and ``train-fraction-0-3`` (30 % of the pairs for training, below the threshold of this model and budget:
the test accuracy ends at ≤ 4.1 % at λ ≤ 1 and 31–68 % at λ = 3, delay ∞).

Figures: train and test accuracy and the order parameter against the step (log axis) at the headline λ, per seed
and seed mean (Power et al.'s figure 1); the test accuracy and the order parameter for every λ; the steps to 99 %
train and test accuracy and the delay ratio against λ.

Scaled down from the paper: Power et al. train a 2-layer transformer (width 128) on p = 97 with 50 % of the
table, minibatches of 512, η = 1e-3 over 10⁵ steps, and see delays of 10²–10³; here a quadratic MLP on p = 23,
full batch, a larger η and a few thousand steps, delays ~10. The ``paper`` size (not run in tests) uses
p = 97, d = 128, 512 hidden units, 50 % of the table, η = 1e-3 and 10⁵ steps; its λ grid and bounds are
untested.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from descentlab.engine.load import spec_from_dict
from descentlab.engine.spec import Spec
from descentlab.experiment import Result
from descentlab.params import Param
from descentlab.report import figures as F
from descentlab.store.schema import column, ok_runs, run_key
from descentlab.studies.base import Analysis, Check, Control, Study, StudyOptions, register_study

WD = column("optimizer.weight_decay")
FIT_LEVEL = 0.99
"""Accuracy that counts as fitted (train) and generalized (test): Power et al.'s 99 %."""
METRICS = ("train_accuracy", "test_accuracy", "fourier_concentration")

CHECK_DELAY = Check(
    "delay-ratio",
    "seed median of t_test / t_train (steps to 99 % test over steps to 99 % train accuracy) at the headline weight "
    "decay; a seed that never reaches 99 % test accuracy counts as ∞",
    "grokking: test accuracy jumps long after the training set is fitted (finite, ≥ the bound)",
    5.0,
    "Per-seed ratios at λ = 1: 7.0–15 at --quick (3 seeds, median 13) and 7.8–25 at default (8 seeds, median 13); "
    "at λ = 3, where fitting and generalizing nearly coincide, seed medians 2.5 (--quick) and 3.0 (default).",
)
CHECK_ORDER = Check(
    "order-parameter-jump",
    "max over grokked runs at grokking weight decays of |log10 t_order − log10 t_jump| (decades between the "
    "midpoint crossings of the Fourier concentration and of the test accuracy)",
    "the embedding's Fourier concentration jumps together with the test accuracy",
    0.25,
    "Measured 0.11 at --quick (6 runs) and 0.13 at default (21 runs), one or two checkpoints (0.055–0.063 decades "
    "apart); the jump comes 0.79–2.1 decades after the fit in those runs.",
)
CHECK_CONCENTRATION = Check(
    "fourier-concentration",
    "median final Fourier concentration (top-3 share of the embedding's power) of the grokked runs at grokking "
    "weight decays",
    "a generalizing embedding holds its power in a few frequencies (≥ the bound; 3/11 for equal power)",
    0.8,
    "0.32–0.38 at initialization and 0.36–0.41 after 6 000 steps without weight decay (default, 8 seeds); "
    "measured 0.95 (--quick) and 0.96 (default) in grokked runs, each run 0.92–0.99.",
)
CHECK_WD = Check(
    "delay-vs-weight-decay",
    "adjacent pairs of positive swept weight decays whose seed-median delay ratios do not decrease",
    "more weight decay, shorter delay (strictly decreasing)",
    0.0,
    "None allowed: medians 62 / 13 / 2.5 at --quick (λ = 0.3 / 1 / 3, 3 seeds) and 1.9e2 / 62 / 13 / 3.0 at default "
    "(λ = 0.1 / 0.3 / 1 / 3, 8 seeds), adjacent medians ≥ 3.0× apart.",
)

PROBLEM = {
    "name": "modular_addition",
    "model": "mlp",
    "activation": "quadratic",
    "loss_type": "cross_entropy",
    "init_scale": 1.0,
    "fourier_top_k": 3,
}
SIZES = {
    "quick": {
        "problem": {"modulus": 23, "embed_dim": 16, "width": 64, "train_fraction": 0.6},
        "learning_rate": 0.02,
        "steps": 2000,
        "seeds": 3,
        "factors": (0.3, 1.0, 3.0),
    },
    "default": {
        "problem": {"modulus": 23, "embed_dim": 16, "width": 64, "train_fraction": 0.6},
        "learning_rate": 0.02,
        "steps": 6000,
        "seeds": 8,
        "factors": (0.0, 0.1, 0.3, 1.0, 3.0),
    },
    "paper": {
        "problem": {"modulus": 97, "embed_dim": 128, "width": 512, "train_fraction": 0.5},
        "learning_rate": 0.001,
        "steps": 100_000,
        "seeds": 8,
        "factors": (0.0, 0.1, 0.3, 1.0, 3.0),
    },
}
CHECKPOINTS = 60


def weight_decays(headline: float, factors: tuple[float, ...]) -> list[float]:
    """The swept weight decays: ``factors`` × the headline one (a single 0 when the headline is 0)."""
    return sorted({float(f * headline) for f in factors})


def first_step(steps: np.ndarray, values: np.ndarray, level: float) -> float:
    """The first checkpoint at which ``values`` ≥ ``level`` (∞ if never)."""
    reached = np.flatnonzero(values >= level)
    return float(steps[reached[0]]) if len(reached) else np.inf


def midpoint_step(steps: np.ndarray, values: np.ndarray) -> float:
    """The first checkpoint after the start at which ``values`` passes halfway from its first to its last value
    (∞ if it does not rise)."""
    if not values[-1] > values[0]:
        return np.inf
    return first_step(steps[1:], values[1:], 0.5 * (values[0] + values[-1]))


def run_times(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """One row per run that did not diverge: its weight decay and seed, the steps to 99 % train and test accuracy,
    the delay ratio, the midpoint steps of the test accuracy and of the order parameter, and the order parameter's
    first and last values."""
    ids = run_key(runs, curves)
    data = curves[curves["metric"].isin(METRICS)]
    wide = data.pivot_table(index=[*ids, "step"], columns="metric", values="value").reset_index()
    rows = []
    for _, run in ok_runs(runs).iterrows():
        mask = np.logical_and.reduce([wide[k] == run[k] for k in ids])
        curve = wide[mask].sort_values("step")
        steps = curve["step"].to_numpy(float)
        train, test = curve["train_accuracy"].to_numpy(), curve["test_accuracy"].to_numpy()
        order = curve["fourier_concentration"].to_numpy()
        t_train, t_test = first_step(steps, train, FIT_LEVEL), first_step(steps, test, FIT_LEVEL)
        rows.append(
            {
                "weight decay": float(run[WD]),
                "seed": int(run["seed"]),
                "t_train": t_train,
                "t_test": t_test,
                "delay ratio": t_test / t_train,
                "t_jump": midpoint_step(steps, test),
                "t_order": midpoint_step(steps, order),
                "order first": float(order[0]),
                "order final": float(order[-1]),
                "test final": float(test[-1]),
            }
        )
    return pd.DataFrame(rows)


def per_weight_decay(times: pd.DataFrame) -> pd.DataFrame:
    """Seed medians per weight decay (∞ kept: a median of mostly-∞ delays is ∞) and how many seeds grokked."""
    grouped = times.groupby("weight decay")
    return pd.DataFrame(
        {
            "seeds": grouped.size(),
            "grokked": grouped["t_test"].apply(lambda t: int(np.isfinite(t).sum())),
            "median t_train": grouped["t_train"].median(),
            "median t_test": grouped["t_test"].median(),
            "median delay ratio": grouped["delay ratio"].median(),
            "median final order": grouped["order final"].median(),
        }
    ).reset_index()


def headline_ratio(table: pd.DataFrame, weight_decay: float) -> float:
    """The seed-median delay ratio at ``weight_decay`` (NaN when that weight decay did not run)."""
    row = table[np.isclose(table["weight decay"], weight_decay)]
    return float(row["median delay ratio"].iloc[0]) if len(row) else np.nan


def grokking_decays(table: pd.DataFrame, bound: float) -> list[float]:
    """Positive weight decays whose seed-median delay ratio is finite and ≥ ``bound``."""
    ratio = table["median delay ratio"]
    keep = (table["weight decay"] > 0) & np.isfinite(ratio) & (ratio >= bound)
    return table.loc[keep, "weight decay"].tolist()


def judged_runs(times: pd.DataFrame, decays: list[float]) -> pd.DataFrame:
    """The runs that reached 99 % test accuracy at the weight decays ``decays``."""
    return times[times["weight decay"].isin(decays) & np.isfinite(times["t_test"])]


def order_gap(runs: pd.DataFrame) -> float:
    """Largest |log10 t_order − log10 t_jump| over ``runs`` (NaN without runs; ∞ if one never crosses)."""
    if runs.empty:
        return np.nan
    return float(np.max(np.abs(np.log10(runs["t_order"].to_numpy()) - np.log10(runs["t_jump"].to_numpy()))))


def ordering_violations(table: pd.DataFrame) -> int:
    """Adjacent positive weight decays (increasing) whose seed-median delay ratio does not strictly decrease
    (∞ against ∞ counts: neither generalized)."""
    ratios = table[table["weight decay"] > 0].sort_values("weight decay")["median delay ratio"].to_numpy()
    return int(sum(not ratios[i + 1] < ratios[i] for i in range(len(ratios) - 1)))


@register_study("grokking")
class Grokking(Study):
    claim = (
        "Trained full batch with weight decay on part of the modular-addition table, a network fits the training "
        "set long before its test accuracy jumps to 100 %; the embedding's Fourier concentration jumps with it, "
        "and weight decay sets the delay"
    )
    reference = (
        "Power, Burda, Edwards, Babuschkin, Misra. Grokking: Generalization Beyond Overfitting on Small Algorithmic "
        "Datasets (2201.02177); Rubin, Seroussi, Ringel. Grokking as a first-order phase transition in two-layer "
        "networks (2310.03789)"
    )
    checks: ClassVar[tuple[Check, ...]] = (CHECK_DELAY, CHECK_ORDER, CHECK_CONCENTRATION, CHECK_WD)
    declared_options: ClassVar[dict[str, Param]] = {
        "weight_decay": Param(
            "float", 1.0, "the headline AdamW weight decay λ; the swept λ are multiples of it", low=0.0, high=100.0
        ),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control(
            "no-weight-decay",
            "Every run trains without weight decay: nothing pulls the network from the memorizing solution it "
            "finds first, so the test accuracy stays at chance through the budget and no delay is finite.",
            mechanism=True,
            options=(("weight_decay", 0.0),),
        ),
        Control(
            "train-fraction-0-3",
            "Only 30 % of the table is for training, below the fraction at which this model generalizes within the "
            "budget: it memorizes and the test accuracy never reaches 99 %.",
            mechanism=False,
            overrides=("problem.train_fraction=0.3",),
        ),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        size = options.pick(SIZES)
        decays = weight_decays(options["weight_decay"], size["factors"])
        return [
            spec_from_dict(
                {
                    "name": "grokking" + ("-quick" if options.quick else ""),
                    "description": self.claim,
                    "problem": {**PROBLEM, **size["problem"]},
                    "optimizer": {
                        "name": "adamw",
                        "learning_rate": size["learning_rate"],
                        "weight_decay": {"grid": decays} if len(decays) > 1 else decays[0],
                    },
                    "sampler": {"name": "full_batch"},
                    "run": {"steps": size["steps"], "seeds": size["seeds"], "checkpoints": CHECKPOINTS},
                    "probes": ["metrics"],
                }
            )
        ]

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        result = results[0]
        runs, curves = result.runs, result.curves
        times = run_times(runs, curves)
        table = per_weight_decay(times)
        headline_wd = float(options["weight_decay"])
        bound = CHECK_DELAY.tolerance
        ratio = headline_ratio(table, headline_wd)
        at_headline = table[np.isclose(table["weight decay"], headline_wd)]
        grokked = f"{int(at_headline['grokked'].sum())} of {int(at_headline['seeds'].sum())} seeds reached 99 % test"
        headline = CHECK_DELAY.verdict(
            ratio, bool(np.isfinite(ratio) and ratio >= bound), detail=f"λ = {headline_wd:g}; {grokked}"
        )
        decays = grokking_decays(table, bound)
        judged = judged_runs(times, decays)
        where = f"{len(judged)} runs at λ ∈ {{{', '.join(f'{d:g}' for d in decays)}}}"
        gap = order_gap(judged)
        order = CHECK_ORDER.verdict(gap, bool(np.isfinite(gap) and gap <= CHECK_ORDER.tolerance), detail=where)
        final = float(judged["order final"].median()) if len(judged) else np.nan
        concentration = CHECK_CONCENTRATION.verdict(
            final, bool(np.isfinite(final) and final >= CHECK_CONCENTRATION.tolerance), detail=where
        )
        n_positive = int((table["weight decay"] > 0).sum())
        violations = float(ordering_violations(table)) if n_positive >= 2 else np.nan  # nothing to order: fails
        ordering = CHECK_WD.verdict(violations, violations == 0, detail=f"{n_positive} positive λ")
        figures = self._figures(runs, curves, times, table, headline_wd, folder)
        return Analysis([headline, order, concentration, ordering], figures, table)

    @staticmethod
    def _figures(
        runs: pd.DataFrame,
        curves: pd.DataFrame,
        times: pd.DataFrame,
        table: pd.DataFrame,
        headline_wd: float,
        folder: Path,
    ) -> list[tuple[str, str]]:
        out = []
        ids = run_key(runs, curves)
        data = curves[curves["metric"].isin(METRICS)].merge(ok_runs(runs)[[*ids, WD]], on=ids)
        data = data[data["step"] > 0]
        styles = {
            "train_accuracy": ("C3", "-", "train accuracy"),
            "test_accuracy": ("C2", "-", "test accuracy"),
            "fourier_concentration": ("C0", "--", "Fourier concentration (top-3 share)"),
        }
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(6.4, 4.2))
            here = data[np.isclose(data[WD], headline_wd)]
            for metric, (color, style, label) in styles.items():
                part = here[here["metric"] == metric]
                for _, run in part.groupby(ids):
                    ax.plot(run["step"], run["value"], color=color, ls=style, lw=0.6, alpha=0.35)
                mean = part.groupby("step")["value"].mean()
                ax.plot(mean.index, mean.to_numpy(), color=color, ls=style, lw=2.0, label=label)
            row = table[np.isclose(table["weight decay"], headline_wd)]
            if len(row):
                for key, name in (("median t_train", "99 % train"), ("median t_test", "99 % test")):
                    if np.isfinite(row[key].iloc[0]):
                        ax.axvline(row[key].iloc[0], color="gray", lw=0.8, ls=":")
                        ax.annotate(name, (row[key].iloc[0], 0.03), fontsize=8, rotation=90, color="gray")
            ax.set_xscale("log")
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("optimization step")
            ax.set_ylabel("accuracy / concentration")
            ax.set_title(f"AdamW λ = {headline_wd:g}: seeds (thin) and seed mean (thick)", fontsize=10)
            ax.legend(loc="center left")
            F.plain_log_ticks(fig)  # plain tick labels before the layout measures them
            fig.tight_layout()
            out.append(
                (
                    "Grokking at the headline weight decay: train and test accuracy and the embedding's Fourier "
                    "concentration against the step (log axis); dotted lines at the seed-median steps to 99 %",
                    F.save(fig, folder, "grokking")["png"],
                )
            )
            plt.close(fig)

            fig, axes = plt.subplots(1, 2, figsize=(10.4, 3.9), sharey=True)
            decays = sorted(data[WD].unique())
            colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(len(decays), 1)))
            for ax, metric in zip(axes, ("test_accuracy", "fourier_concentration"), strict=True):
                part = data[data["metric"] == metric]
                for color, wd in zip(colors, decays, strict=True):
                    mean = part[part[WD] == wd].groupby("step")["value"].mean()
                    ax.plot(mean.index, mean.to_numpy(), color=color, label=f"λ = {wd:g}")
                ax.set_xscale("log")
                ax.set_xlabel("optimization step")
                ax.set_title(styles[metric][2] + " (seed mean)", fontsize=10)
            axes[0].set_ylabel("value")
            axes[0].legend()
            F.plain_log_ticks(fig)  # plain tick labels before the layout measures them
            fig.tight_layout()
            out.append(
                (
                    "Test accuracy and Fourier concentration against the step for every weight decay (seed means)",
                    F.save(fig, folder, "by_weight_decay")["png"],
                )
            )
            plt.close(fig)

            fig, axes = plt.subplots(1, 2, figsize=(10.4, 3.9))
            positive = times[times["weight decay"] > 0]
            for key, color, name in (("t_train", "C3", "99 % train"), ("t_test", "C2", "99 % test")):
                finite = positive[np.isfinite(positive[key])]
                axes[0].scatter(finite["weight decay"], finite[key], color=color, s=12, alpha=0.5)
                line = table[(table["weight decay"] > 0) & np.isfinite(table[f"median {key}"])]
                axes[0].plot(line["weight decay"], line[f"median {key}"], color=color, marker="o", label=name)
            finite = positive[np.isfinite(positive["delay ratio"])]
            axes[1].scatter(finite["weight decay"], finite["delay ratio"], color="C0", s=12, alpha=0.5)
            line = table[(table["weight decay"] > 0) & np.isfinite(table["median delay ratio"])]
            axes[1].plot(line["weight decay"], line["median delay ratio"], color="C0", marker="o", label="seed median")
            axes[1].axhline(CHECK_DELAY.tolerance, color="gray", ls="--", lw=0.8, label="headline bound")
            drawn = (np.isfinite(positive["t_train"]).any(), np.isfinite(positive["delay ratio"]).any())
            for ax, has_data in zip(axes, drawn, strict=True):
                ax.set_xlabel("weight decay λ")
                if not has_data:
                    ax.text(0.5, 0.5, "no positive λ generalized", ha="center", va="center", transform=ax.transAxes)
                    continue
                ax.set_xscale("log")
                ax.set_yscale("log")
                ticks = sorted(positive["weight decay"].unique())
                ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
                ax.legend()
            never = table[table["grokked"] < table["seeds"]]
            note = ", ".join(
                f"λ = {wd:g}: {n}/{m}"
                for wd, n, m in zip(never["weight decay"], never["grokked"], never["seeds"], strict=True)
            )
            axes[0].set_ylabel("steps")
            axes[0].set_title("steps to 99 % accuracy", fontsize=10)
            if note:
                axes[0].text(0.02, 0.02, f"seeds reaching 99 % test: {note}", transform=axes[0].transAxes, fontsize=8)
            axes[1].set_ylabel("t_test / t_train")
            axes[1].set_title("delay ratio", fontsize=10)
            F.plain_log_ticks(fig)  # plain tick labels before the layout measures them
            fig.tight_layout()
            out.append(
                (
                    "Steps to 99 % train and test accuracy and the delay ratio against the weight decay (seeds and "
                    "seed medians; seeds that never reach 99 % test are counted in the title)",
                    F.save(fig, folder, "delay_vs_weight_decay")["png"],
                )
            )
            plt.close(fig)
        return out
