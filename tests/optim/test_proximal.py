"""Proximal gradient (ISTA) against NumPy, and its limit: the separable lasso solution."""

import jax
import numpy as np
import optim_quadratic as q

from descentlab.optim import OPTIMIZERS


def soft(z, tau):
    return np.sign(z) * np.maximum(np.abs(z) - tau, 0)


def test_matches_numpy():
    eta, lam, x, ref = 0.4, 0.08, q.np_init(), []
    for _ in range(20):
        x = soft(x - eta * q.np_grad(x), eta * lam)
        ref.append(x.copy())
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("proximal_l1").build(eta, l1=lam), (), 20)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)
    assert (got[-1] == 0).any(), "λ = 0.08 must zero some coordinates"


def test_converges_to_the_lasso_solution():
    """f is separable: argmin ½ h (x − c)² + λ|x| = S_{λ/h}(c) coordinate-wise."""
    lam = 0.08
    c = q.TARGETS_FLAT.mean(axis=0)
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("proximal_l1").build(0.4, l1=lam), (), 200)[-1]
    np.testing.assert_allclose(got, soft(c, lam / q.H_FLAT), atol=1e-8)
