"""Exponentiated gradient, EG± and the u⊙u − v⊙v reparameterization against NumPy."""

import jax
import numpy as np
import optim_quadratic as q

from descentlab.optim import OPTIMIZERS


def test_exponentiated_gradient_matches_numpy():
    eta, x, ref = 0.8, q.np_init(), []
    for _ in range(25):
        w = x * np.exp(-eta * q.np_grad(x))
        x = w / w.sum()
        ref.append(x.copy())
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("exponentiated_gradient").build(eta), (), 25)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)
    assert (got > 0).all()


def test_eg_pm_matches_numpy():
    eta, alpha = 0.5, 0.03
    x0 = q.np_init()
    u, v, ref = np.maximum(x0, 0) + alpha, np.maximum(-x0, 0) + alpha, []
    for _ in range(25):
        g = q.np_grad(u - v)
        u, v = u * np.exp(-eta * g), v * np.exp(eta * g)
        ref.append(u - v)
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("eg_pm").build(eta, init_scale=alpha), (), 25)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)


def test_reparam_gd_matches_numpy():
    eta, alpha = 0.1, 0.02
    x0 = q.np_init()
    u, v, ref = np.sqrt(np.maximum(x0, 0) + alpha), np.sqrt(np.maximum(-x0, 0) + alpha), []
    for _ in range(25):
        g = q.np_grad(u * u - v * v)  # ∂/∂u f(u² − v²) = 2u g, ∂/∂v = −2v g
        u, v = u - eta * 2 * u * g, v + eta * 2 * v * g
        ref.append(u * u - v * v)
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("reparam_gd").build(eta, init_scale=alpha), (), 25)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)


def test_reparam_gd_approaches_eg_pm_at_small_steps():
    """Amid & Warmuth: GD on u² − v² with step η tracks EGU± with step 4η as η → 0 (same flow)."""
    steps, eta = 400, 0.002
    with jax.enable_x64(True):
        rep = q.trajectory(OPTIMIZERS.get("reparam_gd").build(eta, init_scale=0.05), (), steps)
        eg = q.trajectory(OPTIMIZERS.get("eg_pm").build(4 * eta, init_scale=0.05), (), steps)
        gd = q.trajectory(OPTIMIZERS.get("sgd").build(4 * eta), (), steps)
    gap = np.abs(rep - eg).max()
    assert gap < 0.1 * np.abs(rep - gd).max()
