"""GFS-sharpness probe against the closed-form gradient-flow solution of scalar networks (conserved w_i² − w_j²)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes import PROBES
from descentlab.problems.scalar_network import ScalarNetwork, gfs_point, gfs_sharpness
from tests.probes.probes_testkit import context


def _measure(problem: ScalarNetwork, w: np.ndarray) -> dict:
    probe = PROBES.get("gfs_sharpness").factory()
    with jax.enable_x64(True):
        out, _ = probe.measure(context(problem, jnp.asarray(w, jnp.float64)), ())
        return {k: float(v) for k, v in out.items()}


def test_on_the_solution_manifold_gfs_sharpness_is_the_sharpness_there():
    w = np.array([0.5, 2.0])  # ∏w = 1 = y: already a GF solution; Hessian gg^T with g = (2, 0.5)
    out = _measure(ScalarNetwork(depth=2), w)
    assert out["gfs_sharpness"] == pytest.approx(4.25, rel=1e-8)
    assert out["gfs_loss"] < 1e-20


@pytest.mark.parametrize(
    ("w", "y"), [([0.3, 1.7], 1.0), ([0.4, 0.9, 1.6], 1.0), ([1.5, 2.0, 0.8], 1.0), ([0.6, -1.4], -1.0)]
)
def test_off_the_manifold_matches_the_conserved_balancedness_solution(w, y):
    w = np.asarray(w)
    problem = ScalarNetwork(depth=w.size, target=y)
    out = _measure(problem, w)
    end = gfs_point(w, y)
    np.testing.assert_allclose(np.prod(end), y, rtol=1e-12)
    np.testing.assert_allclose(np.diff(end**2), np.diff(w**2), atol=1e-12)  # balancedness conserved
    assert out["gfs_sharpness"] == pytest.approx(gfs_sharpness(w, y), rel=1e-6)
    # and it is not the sharpness of the current point
    assert abs(out["gfs_sharpness"] - float(np.linalg.eigvalsh(_hessian(w, y))[-1])) > 1e-3


def _hessian(w: np.ndarray, y: float) -> np.ndarray:
    p = np.prod(w)
    g = p / w
    h = np.outer(g, g) + (p - y) * (p / np.outer(w, w) - np.diag(p / w**2))
    return h
