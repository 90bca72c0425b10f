r"""fractal-trainability — the boundary between trainable and untrainable step sizes is fractal.

Claim (Sohl-Dickstein, *The boundary of neural network trainability is fractal*, 2024): for a
one-hidden-layer network (width 16, tanh, mean-field parameterization, as many data points as
parameters) trained by full-batch GD with separate learning rates for the two layers, the set of
(η_hidden, η_output) for which training fails has a boundary with fractal structure over every
scale one zooms into, with box-counting dimensions reported between about 1.2 and 2.

The study sweeps both rates on a log-spaced grid (both are vmapped axes: one compiled program for
the whole map; float64) and classes a run as trainable, as the paper does, when its mean loss over
the last 20 steps is below its initial loss (a run the engine freezes as diverged is not). Then it
zooms: each zoom is a new sweep over a window ten times narrower (in log scale) centred where the
boundary is busiest (the most boundary pixels within the next window's span) — an adaptive study
(:meth:`Study.followup`). At each zoom it counts boundary pixels (2×2 blocks of the map holding both
classes, as in the paper's code) in boxes of 1, 2, 4, 8 … pixels and fits the box-counting
dimension :math:`D=-d\log N(s)/d\log s` over at least four box sizes.

Verdict: over the zooms (the magnified views at 1, 2, 3 … decades; the starting overview, where a
coarse grid sees a nearly smooth curve, is shown and reported but not judged), the boundary is
present at every zoom, the zooms span at least three decades, and the box-counting dimension
exceeds 1.1 at every zoom; the headline figure is the smallest dimension.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import ndimage

from descentlab.engine.spec import Spec, spec_from_dict
from descentlab.experiment import Result
from descentlab.params import Param
from descentlab.report import figures as F
from descentlab.studies.base import Analysis, Study, StudyOptions, register_study
from descentlab.theory import Verdict, fit_power_law

MIN_DIMENSION = 1.1
ZOOM_FACTOR = 10.0
TAIL = 20  # the paper's test averages the loss over the last 20 steps
FULL_WINDOW = ((-2.0, 3.0), (-2.0, 3.0))  # log10 ranges of (η_hidden, η_output)

SIZES = {
    "quick": {"resolution": 48, "steps": 150, "zooms": 3},
    "default": {"resolution": 128, "steps": 150, "zooms": 3},
    "paper": {"resolution": 1024, "steps": 1000, "zooms": 4},
}


def _size(options: StudyOptions) -> dict:
    size = dict(options.pick(SIZES))
    if options.get("resolution") is not None:
        size["resolution"] = int(options.get("resolution"))
    return size


def window_spec(window: tuple[tuple[float, float], tuple[float, float]], level: int, options: StudyOptions) -> Spec:
    size = _size(options)
    (h0, h1), (o0, o1) = window
    r = size["resolution"]
    return spec_from_dict({
        "name": f"fractal-trainability-zoom{level}" + ("-quick" if options.quick else ""),
        "description": FractalTrainability.claim,
        "problem": {"name": "fractal_net", "width": 16, "input_dim": 16, "activation": "tanh"},
        "optimizer": {"name": "layerwise_gd", "learning_rate": 1.0,
                      "eta_hidden": {"logspace": [10.0**h0, 10.0**h1, r]},
                      "eta_output": {"logspace": [10.0**o0, 10.0**o1, r]}},
        "sampler": {"name": "full_batch"},
        "run": {"steps": size["steps"], "seeds": 1, "dtype": "float64",
                "checkpoints": list(range(size["steps"] - TAIL + 1, size["steps"] + 1))},
        "probes": ["metrics"],
    })


def untrainable(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.Series:
    """Per run: True unless the mean loss over the last steps is below the initial loss (the paper's test).

    A run the engine froze as diverged (non-finite, or above ``divergence_factor`` × its initial
    loss) is untrainable too.
    """
    loss = curves[curves.metric == "train_loss"]
    initial = loss[loss.step == 0].set_index("run")["value"]
    late = loss[loss.step > 0].groupby("run")["value"].mean()
    ratio = (late / initial).reindex(runs.run)
    return pd.Series((ratio.isna() | (ratio >= 1.0)).to_numpy() | (runs.status == "diverged").to_numpy(),
                     index=runs.run.to_numpy())


def diverged_map(runs: pd.DataFrame, curves: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(map[i_output, j_hidden] True where untrainable, log10 η_hidden axis, log10 η_output axis)."""
    runs = runs.assign(untrainable=untrainable(runs, curves).to_numpy())
    table = runs.pivot(index="optimizer_eta_output", columns="optimizer_eta_hidden", values="untrainable")
    return (table.to_numpy(bool), np.log10(table.columns.to_numpy(float)), np.log10(table.index.to_numpy(float)))


def boundary(image: np.ndarray) -> np.ndarray:
    """The 2×2 blocks of pixels that hold both classes (one pixel thick: a straight edge has D = 1)."""
    blocks = np.stack([image[1:, 1:], image[:-1, 1:], image[1:, :-1], image[:-1, :-1]], axis=-1)
    return blocks.any(axis=-1) & ~blocks.all(axis=-1)


def box_counting_dimension(edge: np.ndarray) -> tuple[float, list[int], list[int]]:
    """(D, box sizes, boxes containing boundary) over box sizes 1, 2, 4, … ≤ side/4."""
    side = edge.shape[0]
    sizes = [2**k for k in range(int(math.log2(side)) - 1)]
    counts = []
    for s in sizes:
        n = -(-side // s)  # pad (never crop) to whole boxes, so no boundary pixel is lost
        padded = np.zeros((n * s, n * s), dtype=bool)
        padded[: edge.shape[0], : edge.shape[1]] = edge
        counts.append(int(padded.reshape(n, s, n, s).any(axis=(1, 3)).sum()))
    if min(counts) == 0:
        return float("nan"), sizes, counts
    fit = fit_power_law(np.asarray(sizes, float), np.asarray(counts, float))
    return -fit.value, sizes, counts


def next_window(result: Result, window) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """A window ZOOM_FACTOR× narrower, centred where the boundary is busiest (nearest the centre on ties)."""
    image, hidden, output = diverged_map(result.runs, result.curves)
    edge = boundary(image)
    if not edge.any():
        return None
    (h0, h1), (o0, o1) = window
    # Zoom where the boundary is busiest: the most boundary pixels within the next window's span.
    span = max(2, round(edge.shape[0] / ZOOM_FACTOR))
    density = ndimage.uniform_filter(edge.astype(float), size=span, mode="constant")
    rows, cols = np.nonzero(edge)
    best = np.flatnonzero(density[rows, cols] >= density[rows, cols].max() - 1e-12)
    centre = np.array([(h0 + h1) / 2, (o0 + o1) / 2])
    points = np.stack([(hidden[cols] + hidden[cols + 1]) / 2, (output[rows] + output[rows + 1]) / 2], axis=1)[best]
    h, o = points[np.argmin(np.sum((points - centre) ** 2, axis=1))]
    half_h, half_o = (h1 - h0) / (2 * ZOOM_FACTOR), (o1 - o0) / (2 * ZOOM_FACTOR)
    return (h - half_h, h + half_h), (o - half_o, o + half_o)


@register_study("fractal-trainability")
class FractalTrainability(Study):
    claim = ("The boundary between step sizes that train and those that diverge is fractal at every zoom "
             "(box-counting dimension above 1)")
    reference = "Sohl-Dickstein. The boundary of neural network trainability is fractal (2402.06184)"
    declared_options: ClassVar[dict[str, Param]] = {
        "resolution": Param("int", None, "pixels per side of each map (default: the scale's)", low=4, high=2048)}

    def specs(self, options: StudyOptions) -> list[Spec]:
        return [window_spec(FULL_WINDOW, 0, options)]

    def followup(self, results: list[Result], options: StudyOptions) -> list[Spec]:
        if len(results) > _size(options)["zooms"]:
            return []
        window = self._window_of(results[-1])
        nxt = next_window(results[-1], window)
        return [] if nxt is None else [window_spec(nxt, len(results), options)]

    @staticmethod
    def _window_of(result: Result) -> tuple[tuple[float, float], tuple[float, float]]:
        runs = result.runs
        h = np.log10(runs.optimizer_eta_hidden.to_numpy(float))
        o = np.log10(runs.optimizer_eta_output.to_numpy(float))
        return (float(h.min()), float(h.max())), (float(o.min()), float(o.max()))

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions,
                maps: list[np.ndarray] | None = None) -> Analysis:
        rows, images = [], []
        for level, result in enumerate(results):
            image, hidden, output = diverged_map(result.runs, result.curves)
            if maps is not None:  # analysis of given maps (tests of the verdict)
                image = maps[level]
            edge = boundary(image)
            dimension, sizes, _ = box_counting_dimension(edge)
            rows.append({"zoom": level, "decades of zoom": level * math.log10(ZOOM_FACTOR),
                         "window log10 η_hidden": f"[{hidden[0]:.6f}, {hidden[-1]:.6f}]",
                         "window log10 η_output": f"[{output[0]:.6f}, {output[-1]:.6f}]",
                         "diverged fraction": float(image.mean()), "boundary pixels": int(edge.sum()),
                         "box sizes": len(sizes), "dimension": dimension})
            images.append((image, hidden, output, dimension))
        table = pd.DataFrame(rows)
        zooms = table[table.zoom > 0]  # the magnified views; zoom 0 is the overview they start from
        present = bool(len(zooms)) and bool((zooms["boundary pixels"] > 0).all())
        decades = float(zooms["decades of zoom"].max()) if len(zooms) else 0.0
        smallest = float(zooms["dimension"].min()) if len(zooms) and zooms["dimension"].notna().all() \
            else float("nan")
        passed = present and decades >= 3.0 and (zooms["box sizes"] >= 4).all() and smallest > MIN_DIMENSION
        verdict = Verdict(bool(passed), smallest,
                          f"smallest box-counting dimension over {len(zooms)} zooms spanning {decades:g} decades "
                          "(boundary at every zoom; pass above the tolerance)", MIN_DIMENSION)
        return Analysis([verdict], [self._maps_figure(images, folder)], table)

    @staticmethod
    def _maps_figure(images, folder: Path) -> tuple[str, str]:
        with plt.rc_context(F.STYLE):
            n = len(images)
            fig, axs = plt.subplots(1, n, figsize=(3.6 * n, 3.7), squeeze=False)
            for level, (ax, (image, hidden, output, dimension)) in enumerate(zip(axs[0], images, strict=True)):
                ax.imshow(image, origin="lower", cmap="RdBu_r", interpolation="nearest",
                          extent=(hidden[0], hidden[-1], output[0], output[-1]), aspect="auto", vmin=0, vmax=1)
                ax.set_title(f"zoom {level}: D = {dimension:.2f}", fontsize=10)
                ax.set_xlabel("log10 η hidden")
                ax.grid(False)
                if level == 0:
                    ax.set_ylabel("log10 η output")
            fig.suptitle("trainable (blue) / diverged (red)")
            fig.tight_layout()
        return ("Converged (blue) and diverged (red) step-size pairs at each zoom, with box-counting dimensions",
                F.save(fig, folder, "trainability_maps")["png"])
