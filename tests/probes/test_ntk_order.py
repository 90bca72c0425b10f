"""ntk_order against a NumPy computation of the same order parameters on a small SIREN."""

from __future__ import annotations

import jax
import numpy as np

from descentlab.probes import PROBES
from descentlab.probes.ntk import empirical_ntk
from descentlab.problems.siren import Siren
from tests.probes.probes_testkit import measure


def test_ntk_order_matches_numpy_on_a_small_siren():
    problem = Siren(resolution=6, width=8, depth=2)
    params = problem.init(jax.random.PRNGKey(0))
    data = problem.dataset()
    out, _ = measure(PROBES.get("ntk_order").factory(bins=10, far_bins=3), problem, params, data)
    x, y = np.asarray(data["x"], float), np.asarray(data["y"], float)
    kernel = np.asarray(empirical_ntk(problem, params, data["x"]), float)
    r = y - np.asarray(problem.predict(params, data["x"]), float)
    n = len(y)
    h = np.eye(n) - 1.0 / n
    task = np.exp(-50.0 * (y[:, None] - y[None]) ** 2)
    kc, tc = h @ kernel @ h, h @ task @ h
    assert np.isclose(out["ntk_task_cka"], np.sum(kc * tc) / np.linalg.norm(kc) / np.linalg.norm(tc), rtol=1e-4)
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    cosine = kernel / np.sqrt(np.outer(np.diag(kernel), np.diag(kernel)))
    far = np.minimum(np.floor(d / d.max() * 10), 9) >= 7
    assert np.isclose(out["cos_ntk_inf"], cosine[far].mean(), rtol=1e-4)
    assert np.isclose(out["cos_ntk_min"], cosine.min(), rtol=1e-4, atol=1e-6)
    assert np.isclose(out["ntk_background"], r.mean() * kernel[far].mean(), rtol=1e-4)
    velocity = kernel @ r / n
    assert np.isclose(out["drift_share"], abs(r.mean() * kernel[far].mean()) / np.sqrt(np.mean(velocity**2)), rtol=1e-4)
    grid = (r - r.mean()).reshape(6, 6)
    lag1 = (np.sum(grid[1:] * grid[:-1]) + np.sum(grid[:, 1:] * grid[:, :-1])) / (2 * 6 * 5) / np.mean(grid**2)
    assert np.isclose(out["residual_neighbour_corr"], lag1, rtol=1e-4)
    assert 0 < out["correlation_length"] < d.max()
