r"""fractal-trainability — the boundary between trainable and untrainable step sizes is fractal.

Claim (Sohl-Dickstein, *The boundary of neural network trainability is fractal*, 2024): for a
one-hidden-layer network (width 16, tanh, mean-field parameterization, as many data points as
parameters) trained by full-batch GD with separate learning rates for the two layers, the set of
(η_hidden, η_output) for which training fails has a boundary with fractal structure over every
scale one zooms into, with box-counting dimensions reported between about 1.2 and 2.

The study sweeps both rates on a log-spaced grid of M = 2^k + 1 points a side (both are vmapped axes:
one compiled program for the whole map; float64) over the paper's overview window, 10^-3 … 10^6 for both
rates, for 500 steps (default size; 100 at --quick), and classes a run with the paper's test (its code,
``convergence_measure``): the loss is divided by its initial value, non-finite values are replaced by 10⁶ and
larger ratios clipped there, and the run trained when the mean ratio over the last 20 steps is below 1. The
engine freezes a run only past 10¹⁰⁰ × its initial loss, so a run that spikes and recovers is judged by that
test, not counted as divergent. Then it zooms: each zoom is a new sweep over a window ten times narrower (in
log scale) centred on the boundary block nearest the current window's centre — an adaptive study
(:meth:`Study.followup`).

Dimension by resolution scaling: every 2^j-th point of an M-point logspace is the same sweep at resolution
N = (M − 1)/2^j + 1, so each map yields nested maps at N = 9, 17, …, M. A boundary of dimension D meets
∝ N^D of the (N − 1)² blocks of 2×2 pixels (a block is boundary when it holds both classes, as in the
paper's code), so its share f(N) ∝ N^(D−2); D is fitted from f against N − 1. Coin flips give f constant,
D = 2, at every resolution; a smooth curve gives D = 1. The box-counting dimension is reported too, fitted
only over the unsaturated box sizes (those below the first where boundary fills half the boxes).

Verdict: over the zooms (1, 2, 3 decades; the overview is reported, not judged), the boundary is present at
every zoom, the zooms span ≥ 3 decades and the mean dimension D̄ lies in (1.2, 1.85); the figure is the
margin min(D̄ − 1.2, 1.85 − D̄), pass above 0. Measured at --quick (M = 33, 100 steps): D per zoom 1.10,
1.71, 2.11, D̄ = 1.64 (margin 0.21); the coin-flips control 1.96, 2.02, 1.91 (D̄ 1.96, fails by 0.11); the
frozen-hidden control 1.00 at every zoom (fails by 0.2). Default (M = 65, 500 steps, ≈ 230 s on 2 shared
cores): D per zoom 1.32, 1.90, 1.93, D̄ = 1.72 (margin 0.13; 67 % of blocks are boundary at the third zoom).
The per-zoom D is not stable — the boundary is
smooth at the first zoom and noise-like at the third at this resolution — so the verdict judges the mean;
the band is set from these single measurements, not from a seed spread (not measured: no time).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from descentlab.engine.load import spec_from_dict
from descentlab.engine.spec import Spec
from descentlab.experiment import Result
from descentlab.params import Param, SpecError
from descentlab.report import figures as F
from descentlab.studies.base import Analysis, Control, Study, StudyOptions, register_study
from descentlab.theory import Verdict, fit_power_law

MIN_DIMENSION = 1.2  # the mean D over the zooms must exceed this: a smooth (rectifiable) boundary has D = 1
MAX_DIMENSION = 1.85  # … and stay below this: a map of coin flips has D = 2 at every resolution
ZOOM_FACTOR = 10.0
TAIL = 20  # the paper's test averages the loss over the last 20 steps
CLIP = 1e6  # the paper's test clips the loss ratio (and replaces a non-finite loss) at 10⁶
DIVERGENCE_FACTOR = 1e100  # the engine freezes a run only past 10¹⁰⁰ × its initial loss (or non-finite)
FULL_WINDOW = ((-3.0, 6.0), (-3.0, 6.0))  # log10 ranges of (η_hidden, η_output): the paper's overview
MIN_RESOLUTION = 9  # the coarsest nested sub-grid used in the resolution scaling

SIZES = {
    "quick": {"resolution": 33, "steps": 100, "zooms": 3},
    "default": {"resolution": 65, "steps": 500, "zooms": 3},
    "paper": {"resolution": 257, "steps": 1000, "zooms": 4},
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
        # Frozen only far past the clip: a loss that grows and comes back is judged by the test below.
        "run": {"steps": size["steps"], "seeds": 1, "dtype": "float64", "divergence_factor": DIVERGENCE_FACTOR,
                "checkpoints": list(range(size["steps"] - TAIL + 1, size["steps"] + 1))},
        "probes": ["metrics"],
    })


def untrainable(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.Series:
    """Per run: True unless the mean clipped loss ratio over the last steps is below 1 (the paper's test).

    As in the paper's code, the loss is divided by its initial value, a non-finite value is replaced by
    ``CLIP`` = 10⁶ and larger ratios are clipped there; the run trained when the mean of the last ``TAIL``
    ratios is below 1. (The engine records NaN after a non-finite loss: it counts as ``CLIP``.)
    """
    loss = curves[curves.metric == "train_loss"]
    initial = loss[loss.step == 0].set_index("run")["value"]
    late = loss[loss.step > 0]
    ratio = late["value"].to_numpy() / initial.reindex(late.run).to_numpy()
    ratio = np.where(np.isfinite(ratio), np.minimum(ratio, CLIP), CLIP)
    mean = pd.Series(ratio, index=late.run.to_numpy()).groupby(level=0).mean().reindex(runs.run)
    return pd.Series((mean.isna() | (mean >= 1.0)).to_numpy(), index=runs.run.to_numpy())


def diverged_map(runs: pd.DataFrame, curves: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(map[i_output, j_hidden] True where untrainable, log10 η_hidden axis, log10 η_output axis)."""
    runs = runs.assign(untrainable=untrainable(runs, curves).to_numpy())
    table = runs.pivot(index="optimizer_eta_output", columns="optimizer_eta_hidden", values="untrainable")
    return (table.to_numpy(bool), np.log10(table.columns.to_numpy(float)), np.log10(table.index.to_numpy(float)))


def boundary(image: np.ndarray) -> np.ndarray:
    """The 2×2 blocks of pixels that hold both classes (one pixel thick: a straight edge has D = 1)."""
    blocks = np.stack([image[1:, 1:], image[:-1, 1:], image[1:, :-1], image[:-1, :-1]], axis=-1)
    return blocks.any(axis=-1) & ~blocks.all(axis=-1)


def coin_flips(image: np.ndarray, seed: int) -> np.ndarray:
    """The control's map: independent coin flips with the map's own diverged fraction (no mechanism)."""
    return np.random.default_rng(seed).random(image.shape) < image.mean()


def resolution_scaling(image: np.ndarray) -> tuple[list[int], list[float]]:
    r"""(resolutions N, boundary fractions f(N)) of the nested sub-grids of a map of M = 2^k + 1 pixels a side.

    Every 2^j-th grid point of an M-point logspace is the logspace of (M − 1)/2^j + 1 points over the same
    window, so the sub-grids are the same sweep at resolutions M, (M + 1)/2, … ≥ ``MIN_RESOLUTION``. A
    boundary of dimension D meets ∝ N^D of the (N − 1)² blocks, so :math:`f(N) \propto N^{D-2}`.
    """
    side = image.shape[0]
    resolutions, fractions = [], []
    stride = 1
    while (side - 1) % stride == 0 and (side - 1) // stride + 1 >= MIN_RESOLUTION:
        sub = image[::stride, ::stride]
        resolutions.append(sub.shape[0])
        fractions.append(float(boundary(sub).mean()))
        stride *= 2
    return resolutions[::-1], fractions[::-1]


def scaling_dimension(resolutions: list[int], fractions: list[float]) -> tuple[float, float]:
    """(D fitted from f(N) ∝ (N − 1)^(D − 2) over all resolutions, drift: |local D at the finest doubling −
    local D at the one before|); NaN when a sub-grid has no boundary or fewer than three resolutions."""
    n = np.asarray(resolutions, float) - 1.0
    f = np.asarray(fractions, float)
    if len(f) < 3 or (f <= 0).any():
        return float("nan"), float("nan")
    local = 2.0 + np.diff(np.log(f)) / np.diff(np.log(n))
    fit = fit_power_law(n, f)
    return 2.0 + fit.value, float(abs(local[-1] - local[-2]))


def box_counting_dimension(edge: np.ndarray) -> tuple[float, list[int], list[int]]:
    """(D, box sizes, boxes containing boundary) fitted over the unsaturated box sizes 1, 2, 4, … ≤ side/4.

    A box size is saturated when boundary fills at least half of its boxes: the count then measures the
    area, not the boundary, and bends towards slope 2 (noise saturates from the smallest box). Only the
    box sizes below the first saturated one enter the fit (NaN when fewer than three remain).
    """
    side = edge.shape[0]
    sizes = [2**k for k in range(int(math.log2(side)) - 1)]
    counts, boxes = [], []
    for s in sizes:
        n = -(-side // s)  # pad (never crop) to whole boxes, so no boundary pixel is lost
        padded = np.zeros((n * s, n * s), dtype=bool)
        padded[: edge.shape[0], : edge.shape[1]] = edge
        counts.append(int(padded.reshape(n, s, n, s).any(axis=(1, 3)).sum()))
        boxes.append(n * n)
    unsaturated = next((i for i, (c, b) in enumerate(zip(counts, boxes, strict=True)) if c >= b / 2), len(sizes))
    if unsaturated < 3 or min(counts[:unsaturated]) == 0:
        return float("nan"), sizes, counts
    fit = fit_power_law(np.asarray(sizes[:unsaturated], float), np.asarray(counts[:unsaturated], float))
    return -fit.value, sizes[:unsaturated], counts[:unsaturated]


def next_window(result: Result, window) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """A window ZOOM_FACTOR× narrower, centred on the boundary block nearest the current window's centre."""
    image, hidden, output = diverged_map(result.runs, result.curves)
    edge = boundary(image)
    if not edge.any():
        return None
    (h0, h1), (o0, o1) = window
    rows, cols = np.nonzero(edge)
    centre = np.array([(h0 + h1) / 2, (o0 + o1) / 2])
    points = np.stack([(hidden[cols] + hidden[cols + 1]) / 2, (output[rows] + output[rows + 1]) / 2], axis=1)
    h, o = points[np.argmin(np.sum((points - centre) ** 2, axis=1))]
    half_h, half_o = (h1 - h0) / (2 * ZOOM_FACTOR), (o1 - o0) / (2 * ZOOM_FACTOR)
    return (h - half_h, h + half_h), (o - half_o, o + half_o)


@register_study("fractal-trainability")
class FractalTrainability(Study):
    claim = ("The boundary between step sizes that train and those that diverge is fractal at every zoom: "
             "its share of pixels falls with resolution N as N^(D-2) with 1 < D < 2")
    reference = "Sohl-Dickstein. The boundary of neural network trainability is fractal (2402.06184)"
    declared_options: ClassVar[dict[str, Param]] = {
        "resolution": Param("int", None, "pixels per side of each map, 2^k + 1 (default: the scale's)",
                            low=17, high=4097),
        "coin_flips": Param("bool", False, "analyse each map replaced by coin flips with its diverged fraction"),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control("coin-flips", "Each measured map is replaced at analysis time by independent coin flips with the "
                "same diverged fraction: noise without any mechanism, whose boundary fills a fixed share of "
                "pixels at every resolution (D = 2), so it is no fractal curve.", mechanism=False,
                options=(("coin_flips", True),)),
        Control("frozen-hidden", "Only the output layer is trained (the hidden layer keeps its initialisation): "
                "GD on a convex quadratic diverges exactly when eta_output exceeds 2/lambda_max, so the "
                "boundary is a straight line (D = 1) at every zoom and nothing is fractal.", mechanism=True,
                overrides=("problem.train_hidden=false",)),
    )

    def specs(self, options: StudyOptions) -> list[Spec]:
        resolution = _size(options)["resolution"]
        if resolution < 17 or (resolution - 1) & (resolution - 2):
            raise SpecError("--option.resolution", resolution, "2^k + 1 pixels a side (17, 33, 65, 129, …)")
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

    def analyze(self, results: list[Result], folder: Path, options: StudyOptions) -> Analysis:
        return self.analyze_maps([diverged_map(result.runs, result.curves) for result in results], folder, options)

    def analyze_maps(self, maps: list[tuple[np.ndarray, np.ndarray, np.ndarray]], folder: Path,
                     options: StudyOptions) -> Analysis:
        """The verdict and figures of diverged maps, one (image, log10 η_hidden axis, log10 η_output axis) per zoom,
        overview first (what :meth:`analyze` reads from the store; tests give it maps of known dimension)."""
        rows, images = [], []
        for level, (image, hidden, output) in enumerate(maps):
            if options.get("coin_flips", False):
                image = coin_flips(image, seed=level)
            resolutions, fractions = resolution_scaling(image)
            dimension, drift = scaling_dimension(resolutions, fractions)
            box_dimension, sizes, _ = box_counting_dimension(boundary(image))
            rows.append({"zoom": level, "decades of zoom": level * math.log10(ZOOM_FACTOR),
                         "window log10 η_hidden": f"[{hidden[0]:.6f}, {hidden[-1]:.6f}]",
                         "window log10 η_output": f"[{output[0]:.6f}, {output[-1]:.6f}]",
                         "diverged fraction": float(image.mean()),
                         "boundary pixels": int(boundary(image).sum()),
                         "resolutions": " ".join(str(n) for n in resolutions),
                         "boundary fractions": " ".join(f"{f:.4f}" for f in fractions),
                         "dimension": dimension, "drift": drift,
                         "box-counting dimension": box_dimension, "unsaturated box sizes": len(sizes)})
            images.append((image, hidden, output, dimension))
        table = pd.DataFrame(rows)
        verdict = self._verdict(table)
        return Analysis([verdict], [self._maps_figure(images, folder), self._scaling_figure(table, folder)], table)

    @staticmethod
    def _verdict(table: pd.DataFrame) -> Verdict:
        """Over the magnified views (zoom ≥ 1; zoom 0 is the overview they start from): the boundary is
        present at every zoom, the zooms span ≥ 3 decades, and the mean resolution-scaling dimension D̄
        over the zooms lies strictly inside (MIN_DIMENSION, MAX_DIMENSION): neither a smooth curve (D = 1)
        nor noise (D = 2). The figure is the margin min(D̄ − MIN, MAX − D̄); pass above 0."""
        zooms = table[table.zoom > 0]
        decades = float(zooms["decades of zoom"].max()) if len(zooms) else 0.0
        mean = float(zooms["dimension"].mean()) if len(zooms) and zooms["dimension"].notna().all() else float("nan")
        margin = min(mean - MIN_DIMENSION, MAX_DIMENSION - mean)
        present = bool(len(zooms)) and bool((zooms["boundary pixels"] > 0).all())
        passed = present and decades >= 3.0 and margin > 0.0
        return Verdict(bool(passed), margin,
                       f"margin of the mean resolution-scaling dimension D̄ = {mean:.3f} over {len(zooms)} zooms "
                       f"spanning {decades:g} decades (D per zoom: "
                       f"{', '.join(f'{d:.2f}' for d in zooms['dimension'])}) inside ({MIN_DIMENSION}, "
                       f"{MAX_DIMENSION}): min(D̄ − {MIN_DIMENSION}, {MAX_DIMENSION} − D̄), pass above the tolerance",
                       0.0)

    @staticmethod
    def _scaling_figure(table: pd.DataFrame, folder: Path) -> tuple[str, str]:
        with plt.rc_context(F.STYLE):
            fig, ax = plt.subplots(figsize=(5.6, 4.2))
            for i, row in table.iterrows():
                n = np.array([float(v) for v in row["resolutions"].split()])
                f = np.array([float(v) for v in row["boundary fractions"].split()])
                ax.plot(n, f, marker="o", color=f"C{i}", label=f"zoom {row['zoom']}: D = {row['dimension']:.2f}")
            n = np.array([float(v) for v in table["resolutions"].iloc[0].split()])
            for d, style in ((1.0, ":"), (2.0, "--")):
                ax.plot(n, 0.5 * (n / n[0]) ** (d - 2), color="grey", linestyle=style, label=f"D = {d:g}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("resolution N (pixels a side, nested sub-grids)")
            ax.set_ylabel("share of boundary blocks f(N)")
            ax.legend(loc="best")
            fig.tight_layout()
        return ("Share of boundary blocks against resolution at each zoom: f(N) ∝ N^(D−2)",
                F.save(fig, folder, "resolution_scaling")["png"])

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
