"""Two-timescale GDA and extragradient (x steps η/τ, y steps η) against a hand NumPy implementation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from descentlab.optim import OPTIMIZERS

A = np.array([[1.0, 0.5], [-0.3, 0.8]])
CURV = 0.4  # f(x, y) = −½a|x|² + xᵀAy − ¼Σyᵢ⁴: nonlinear, so the extrapolation point matters


def np_field(x, y):
    return -CURV * x + A @ y, -(A.T @ x - y**3)


def jax_field(z):
    x, y = z["x"], z["y"]
    return {"x": -CURV * x + jnp.asarray(A) @ y, "y": -(jnp.asarray(A).T @ x - y**3)}


def run(name, eta, ratio, steps):
    entry = OPTIMIZERS.get(name)

    def step(carry, _):
        z, s = carry
        extra = {"grad_fn": jax_field} if "grad_fn" in entry.extra_args else {}
        u, s = opt.update(jax_field(z), s, z, **extra)
        z = optax.apply_updates(z, u)
        return (z, s), jnp.concatenate([z["x"], z["y"]])

    with jax.enable_x64(True):
        opt = entry.build(learning_rate=eta, ratio=ratio)
        z0 = {"x": jnp.array([0.3, -0.2], jnp.float64), "y": jnp.array([0.1, 0.25], jnp.float64)}
        _, path = jax.lax.scan(step, (z0, opt.init(z0)), None, length=steps)
        return np.asarray(path)


@pytest.mark.parametrize("ratio", [1.0, 3.0])
def test_two_timescale_extragradient_matches_numpy(ratio):
    eta, x, y, ref = 0.3, np.array([0.3, -0.2]), np.array([0.1, 0.25]), []
    for _ in range(8):
        fx, fy = np_field(x, y)
        hx, hy = x - eta / ratio * fx, y - eta * fy
        gx, gy = np_field(hx, hy)
        x, y = x - eta / ratio * gx, y - eta * gy
        ref.append(np.concatenate([x, y]))
    np.testing.assert_allclose(run("two_timescale_extragradient", eta, ratio, 8), np.array(ref), rtol=1e-12)


@pytest.mark.parametrize("ratio", [1.0, 3.0])
def test_two_timescale_gda_matches_numpy(ratio):
    eta, x, y, ref = 0.3, np.array([0.3, -0.2]), np.array([0.1, 0.25]), []
    for _ in range(8):
        fx, fy = np_field(x, y)
        x, y = x - eta / ratio * fx, y - eta * fy
        ref.append(np.concatenate([x, y]))
    np.testing.assert_allclose(run("two_timescale_gda", eta, ratio, 8), np.array(ref), rtol=1e-12)


def test_ratio_one_is_extragradient():
    entry = OPTIMIZERS.get("extragradient")
    opt = entry.build(0.3)
    z = {"x": jnp.array([0.3, -0.2]), "y": jnp.array([0.1, 0.25])}
    s = opt.init(z)
    u, _ = opt.update(jax_field(z), s, z, grad_fn=jax_field)
    two = OPTIMIZERS.get("two_timescale_extragradient").build(learning_rate=0.3, ratio=1.0)
    v, _ = two.update(jax_field(z), two.init(z), z, grad_fn=jax_field)
    for k in ("x", "y"):
        np.testing.assert_allclose(np.asarray(u[k]), np.asarray(v[k]), rtol=1e-6)
