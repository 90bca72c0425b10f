"""Extragradient and alternating GDA against NumPy on a bilinear-plus-quadratic game, and the
classical behaviour on the bilinear game min_x max_y x·y (GDA spirals out, extragradient converges)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from descentlab.optim import OPTIMIZERS

A = np.array([[1.0, 0.5], [-0.3, 0.8]])
MU = 0.1  # f(x, y) = ½μ|x|² + xᵀAy − ½μ|y|²


def field(z):
    """Descent–ascent field (∇ₓf, −∇ᵧf)."""
    x, y = z["x"], z["y"]
    return {"x": MU * x + A @ y, "y": -(A.T @ x - MU * y)}


def np_field(x, y):
    return MU * x + A @ y, -(A.T @ x - MU * y)


def run(name, eta, steps, mu=MU):
    entry = OPTIMIZERS.get(name)
    opt = entry.build(eta)

    def fld(z):
        x, y = z["x"], z["y"]
        return {"x": mu * x + jnp.asarray(A) @ y, "y": -(jnp.asarray(A).T @ x - mu * y)}

    def step(carry, _):
        z, s = carry
        extra = {"grad_fn": fld} if "grad_fn" in entry.extra_args else {}
        u, s = opt.update(fld(z), s, z, **extra)
        z = optax.apply_updates(z, u)
        return (z, s), jnp.concatenate([z["x"], z["y"]])

    z0 = {"x": jnp.array([1.0, -0.5]), "y": jnp.array([0.5, 1.0])}
    _, path = jax.lax.scan(step, (z0, opt.init(z0)), None, length=steps)
    return np.asarray(path)


def test_extragradient_matches_numpy():
    eta, x, y, ref = 0.2, np.array([1.0, -0.5]), np.array([0.5, 1.0]), []
    for _ in range(20):
        fx, fy = np_field(x, y)
        xh, yh = x - eta * fx, y - eta * fy
        fx, fy = np_field(xh, yh)
        x, y = x - eta * fx, y - eta * fy
        ref.append(np.concatenate([x, y]))
    with jax.enable_x64(True):
        got = run("extragradient", eta, 20)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)


def test_alternating_gda_matches_numpy():
    eta, x, y, ref = 0.2, np.array([1.0, -0.5]), np.array([0.5, 1.0]), []
    for _ in range(20):
        fx, _ = np_field(x, y)
        x = x - eta * fx
        _, fy = np_field(x, y)  # the y-field at the new x
        y = y - eta * fy
        ref.append(np.concatenate([x, y]))
    with jax.enable_x64(True):
        got = run("alternating_gda", eta, 20)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)


def test_bilinear_game_classics():
    """min_x max_y xᵀAy: simultaneous GDA diverges, extragradient and alternating GDA do not."""
    with jax.enable_x64(True):
        sim = run("simultaneous_gda", 0.1, 300, mu=0.0)
        eg = run("extragradient", 0.1, 300, mu=0.0)
        alt = run("alternating_gda", 0.1, 300, mu=0.0)
        ogd = run("optimistic_gradient_descent", 0.1, 300, mu=0.0)
    r0 = np.linalg.norm([1.0, -0.5, 0.5, 1.0])
    assert np.linalg.norm(sim[-1]) > 1.3 * r0
    assert np.linalg.norm(eg[-1]) < 0.5 * r0
    assert np.linalg.norm(ogd[-1]) < 0.8 * r0
    assert np.linalg.norm(alt[-1]) < 1.5 * r0  # alternating GDA stays bounded (it cycles)
