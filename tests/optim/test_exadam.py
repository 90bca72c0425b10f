"""EXAdam against a NumPy implementation of Adly (2024), Algorithm 1 (plus decoupled weight decay)."""

import jax
import numpy as np
import optim_quadratic as q
import pytest

from descentlab.optim import OPTIMIZERS


def reference(eta, b1, b2, eps, wd, steps):
    x, m, v, out = q.np_init(), np.zeros(6), np.zeros(6), []
    for t in range(1, steps + 1):
        g = q.np_grad(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        d1 = 1 + v / (v + eps) * b2**t
        d2 = 1 + m * m / (m * m + eps) * b1**t
        m_t = m / (1 - b1**t) * d1
        v_t = v / (1 - b2**t) * d2
        g_t = g / (1 - b1**t) * d1
        x = x - eta * ((m_t + g_t) / (np.sqrt(v_t) + eps) + wd * x)
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize(("eps", "wd"), [(1e-8, 0.0), (1e-3, 0.1)])
def test_matches_numpy(eps, wd):
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("exadam").build(0.01, eps=eps, weight_decay=wd), (), 25)
    np.testing.assert_allclose(got, reference(0.01, 0.9, 0.999, eps, wd, 25), rtol=1e-6, atol=1e-12)


def test_differs_from_adam():
    import optax

    with jax.enable_x64(True):
        ex = q.trajectory(OPTIMIZERS.get("exadam").build(0.01), (), 10)
        ad = q.trajectory(optax.adam(0.01), (), 10)
    assert np.abs(ex - ad).max() > 1e-3
