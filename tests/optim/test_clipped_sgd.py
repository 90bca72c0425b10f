"""Clipped SGD against NumPy: x ← x − η min(1, c/‖g‖) g, with optional momentum on the clipped gradient."""

import jax
import numpy as np
import optim_quadratic as q
import pytest

from descentlab.optim import OPTIMIZERS


def reference(eta: float, c: float, beta: float, steps: int) -> np.ndarray:
    x, m, out = q.np_init(), np.zeros(6), []
    for _ in range(steps):
        g = q.np_grad(x)
        g = g * min(1.0, c / np.linalg.norm(g))
        m = beta * m + g
        x = x - eta * m
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize(("c", "beta"), [(0.05, 0.0), (0.02, 0.5), (10.0, 0.0)])
def test_matches_numpy(c, beta):
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("clipped_sgd").build(0.3, max_norm=c, momentum=beta), (), 20)
    np.testing.assert_allclose(got, reference(0.3, c, beta, 20), rtol=1e-6, atol=1e-12)


def test_clipping_is_active_in_the_small_threshold_case():
    g0 = np.linalg.norm(q.np_grad(q.np_init()))
    assert g0 > 0.05  # so the first case above really clips
