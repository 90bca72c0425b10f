"""fractal-trainability: box counting and resolution scaling on known shapes; the quick verdict passes;
smooth maps fail it (the coin-flip and frozen-hidden controls run in test_controls)."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, check_options, run_study
from descentlab.studies.fractal_trainability import (
    boundary,
    box_counting_dimension,
    diverged_map,
    resolution_scaling,
    scaling_dimension,
)

QUICK = StudyOptions(quick=True)
CHECKED = check_options("fractal-trainability", QUICK)  # every declared option filled in, for analyze


def test_box_counting_on_known_shapes():
    line = np.zeros((64, 64), bool)
    line[20:, :] = True
    assert abs(box_counting_dimension(boundary(line))[0] - 1.0) < 0.05
    diagonal = np.fromfunction(lambda i, j: i > j, (64, 64))
    assert abs(box_counting_dimension(boundary(diagonal))[0] - 1.0) < 0.1
    noise = np.random.default_rng(0).random((65, 65)) < 0.5
    assert np.isnan(box_counting_dimension(boundary(noise))[0])  # saturated from the smallest box: no fit
    # a boundary near the image's edge is not lost to cropping
    near_edge = np.zeros((47, 47), bool)
    near_edge[44:, :] = True
    assert box_counting_dimension(boundary(near_edge))[0] > 0.9


def weierstrass_map(side: int, hurst: float, seed: int = 0) -> np.ndarray:
    """Pixels below the graph of a Weierstrass function of Hölder exponent H (a graph of dimension 2 − H)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, side)
    w = sum(
        2.0 ** (-k * hurst) * np.cos(2 * np.pi * 2.0**k * x + rng.uniform(0, 2 * np.pi))
        for k in range(int(np.log2(side)) + 6)
    )
    w = 0.15 + 0.7 * (w - w.min()) / (w.max() - w.min())
    return np.linspace(0.0, 1.0, side)[:, None] < w[None, :]


def test_resolution_scaling_separates_a_line_from_noise():
    line = np.fromfunction(lambda i, j: i > 0.3 * j + 20, (65, 65))
    resolutions, fractions = resolution_scaling(line)
    assert resolutions[0] == 9 and resolutions[-1] == 65 and len(resolutions) == 8  # strides 8, 7, …, 1
    assert abs(scaling_dimension(resolutions, fractions) - 1.0) < 0.1
    noise = np.random.default_rng(0).random((65, 65)) < 0.3
    assert abs(scaling_dimension(*resolution_scaling(noise)) - 2.0) < 0.03


def test_resolution_scaling_orders_graphs_of_known_dimension():
    """Weierstrass graphs of dimension 1.25, 1.5, 1.75: measured in that order, strictly between a line and
    noise (finite resolution biases each low: 1.15–1.2, 1.3–1.35, 1.45–1.55 at 33–65 pixels)."""
    for side in (33, 65):
        measured = [scaling_dimension(*resolution_scaling(weierstrass_map(side, h))) for h in (0.75, 0.5, 0.25)]
        assert 1.05 < measured[0] < measured[1] < measured[2] < 1.9, measured


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("fractal-trainability", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_quick_verdict_passes(outcome):
    headline, self_similar, below_two = outcome.analysis.verdicts
    assert headline.passed, headline.line()
    assert self_similar.passed and below_two.passed, (self_similar.line(), below_two.line())
    table = outcome.analysis.summary
    assert len(table) == 6 and table["decades of zoom"].max() == 5.0
    assert ((table["diverged fraction"] > 0) & (table["diverged fraction"] < 1)).all()
    judged = table[table["decades of zoom"] >= 2]
    assert ((judged["dimension"] > 1.5) & (judged["dimension"] < 2.0)).all(), judged["dimension"]


def maps_of(outcome, images):
    """The outcome's zoom windows with other images in them."""
    windows = [diverged_map(r.runs, r.curves)[1:] for r in outcome.results]
    return [(image, *window) for image, window in zip(images, windows, strict=True)]


def test_smooth_boundaries_fail(outcome, tmp_path):
    side = int(np.sqrt(len(outcome.results[0].runs)))
    smooth = [np.fromfunction(lambda i, j, k=k: i > j + k, (side, side)) for k in range(len(outcome.results))]
    analysis = STUDIES.get("fractal-trainability")().analyze_maps(maps_of(outcome, smooth), tmp_path, CHECKED)
    assert not analysis.verdicts[0].passed and analysis.verdicts[0].figure < 0


def test_a_boundary_smooth_at_one_zoom_and_rough_at_the_others_is_not_self_similar(outcome, tmp_path):
    """One judged zoom replaced by a straight edge: not self-similar, so the headline fails with it."""
    images = [diverged_map(r.runs, r.curves)[0] for r in outcome.results]
    side = images[0].shape[0]
    images[3] = np.fromfunction(lambda i, j: i > 0.3 * j + 10, (side, side))
    headline, self_similar, _ = (
        STUDIES.get("fractal-trainability")().analyze_maps(maps_of(outcome, images), tmp_path, CHECKED).verdicts
    )
    assert not self_similar.passed and self_similar.figure > 0.4
    assert not headline.passed
