"""The drift ratio of the local Gaussian NTK approximation against the exact split of K r on a grid, and the level
crossing used for every transition step (closed forms)."""

from __future__ import annotations

import numpy as np

from descentlab.theory.siren_ntk import drift_ratio, level_crossing, predicted_onset


def test_drift_ratio_matches_the_background_over_local_split_of_a_gaussian_kernel():
    # K(x, x') = (1 - c) exp(-|x - x'|^2 / 2 xi^2) + c on a fine grid of [-1, 1]^2 (a = 1); residual r = mu + s(x)
    side, xi, c, mu = 81, 0.05, 0.2, 0.03
    centres = (np.arange(side) + 0.5) / side * 2.0 - 1.0
    x = np.stack(np.meshgrid(centres, centres, indexing="ij"), -1).reshape(-1, 2)
    s = 0.3 * np.sin(2.0 * x[:, 0]) * np.cos(1.5 * x[:, 1])
    r = mu + s - np.mean(s)
    n = len(r)
    sq = np.sum((x[:, None] - x[None]) ** 2, -1)
    local = (1 - c) * np.exp(-sq / (2 * xi**2)) @ r / n  # (1/Vol) ∫ dx' → (1/n) Σ over the grid
    background = c * np.mean(r)
    interior = np.all(np.abs(x) < 1 - 5 * xi, axis=1)  # away from the border the Gaussian is whole
    exact = abs(background) / np.sqrt(np.mean(local[interior] ** 2))
    predicted = drift_ratio(c, xi, np.mean(r), np.sqrt(np.mean(r[interior] ** 2)), volume=4.0)
    assert abs(predicted / exact - 1) < 0.02


def test_level_crossing_interpolates_in_log_step():
    steps = np.array([0.0, 10.0, 100.0, 1000.0])
    assert np.isclose(level_crossing(steps, np.array([5.0, 4.0, 2.0, 0.0]), 3.0), np.sqrt(10 * 100))
    assert np.isclose(level_crossing(steps, np.array([0.0, 1.0, 3.0, 5.0]), 2.0, "up"), np.sqrt(10 * 100))
    assert np.isnan(level_crossing(steps, np.array([5.0, 4.0, 3.5, 3.1]), 3.0))  # never crosses
    assert np.isnan(level_crossing(steps, np.array([2.0, 4.0, 1.0, 0.0]), 3.0))  # starts below


def test_predicted_onset_when_the_mean_residual_decays():
    steps = np.geomspace(1, 1000, 50)
    mean = 0.5 * np.exp(-steps / 30.0)
    c_inf, xi, rms = 0.2, 0.07, 0.3
    local = (1 - c_inf) * 2 * np.pi * xi**2 / 4.0 * rms
    expected = -30.0 * np.log(local / (c_inf * 0.5))  # c∞ μ(t) = local term
    onset = predicted_onset(steps, np.full(50, c_inf), np.full(50, xi), mean, np.full(50, rms))
    assert abs(onset / expected - 1) < 0.05
