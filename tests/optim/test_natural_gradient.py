"""Natural gradient with the damped empirical Fisher against NumPy."""

import jax
import numpy as np
import optim_quadratic as q

from descentlab.optim import OPTIMIZERS


def test_matches_numpy():
    eta, lam, x, ref = 0.01, 1e-2, q.np_init(), []
    for _ in range(15):
        G = q.np_example_grads(x)
        F = G.T @ G / G.shape[0] + lam * np.eye(6)
        x = x - eta * np.linalg.solve(F, G.mean(0))
        ref.append(x.copy())
    entry = OPTIMIZERS.get("natural_gradient")
    with jax.enable_x64(True):
        got = q.trajectory(entry.build(eta, damping=lam), entry.extra_args, 15)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)
