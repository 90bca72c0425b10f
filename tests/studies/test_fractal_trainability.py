"""fractal-trainability: box counting and resolution scaling on known shapes; the quick verdict passes;
smooth maps fail it (the coin-flip and frozen-hidden controls run in test_controls)."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study
from descentlab.studies.fractal_trainability import (
    boundary,
    box_counting_dimension,
    diverged_map,
    resolution_scaling,
    scaling_dimension,
)

QUICK = StudyOptions(quick=True)


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


def test_resolution_scaling_separates_a_line_from_noise():
    line = np.fromfunction(lambda i, j: i > 0.3 * j + 20, (65, 65))
    resolutions, fractions = resolution_scaling(line)
    assert resolutions == [9, 17, 33, 65]
    assert abs(scaling_dimension(resolutions, fractions)[0] - 1.0) < 0.1
    noise = np.random.default_rng(0).random((65, 65)) < 0.3
    assert abs(scaling_dimension(*resolution_scaling(noise))[0] - 2.0) < 0.15


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("fractal-trainability", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_quick_verdict_passes(outcome):
    verdict = outcome.analysis.verdicts[0]
    assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    assert len(table) == 4 and table["decades of zoom"].max() == 3.0
    assert ((table["diverged fraction"] > 0) & (table["diverged fraction"] < 1)).all()


def test_smooth_boundaries_fail(outcome, tmp_path):
    side = int(np.sqrt(len(outcome.results[0].runs)))
    windows = [diverged_map(r.runs, r.curves)[1:] for r in outcome.results]
    smooth = [(np.fromfunction(lambda i, j, k=k: i > j + k, (side, side)), *window) for k, window in enumerate(windows)]
    analysis = STUDIES.get("fractal-trainability")().analyze_maps(smooth, tmp_path, QUICK)
    assert not analysis.verdicts[0].passed and analysis.verdicts[0].figure < 0
