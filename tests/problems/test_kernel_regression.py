"""kernel_regression: kernel form of the model, exact risk against Monte Carlo, f*, L and μ against NumPy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.kernel_regression import KernelRegression


def _kernel(x: np.ndarray, z: np.ndarray, n_modes: int, b: float) -> np.ndarray:
    k = np.arange(1, n_modes + 1)
    diff = x[:, None, None] - z[None, :, None]
    return 1.0 + np.sum(2.0 * (1.0 + k) ** (-b) * np.cos(k * diff), axis=-1)


def test_representer_form_matches_the_closed_form_kernel():
    """θ = Φᵀa gives f_θ(x) = Σ_i a_i K(x, x_i) with K(x, x') = Σ_k λ_k c_k cos k(x − x')."""
    with jax.enable_x64(True):
        problem = KernelRegression(n_train=7, n_modes=6, kernel_decay=1.5)
        x_train = np.asarray(problem.dataset()["x"])
        a = np.random.default_rng(0).standard_normal(7)
        k = np.arange(1, 7)
        waves = np.stack([np.cos(x_train[:, None] * k), np.sin(x_train[:, None] * k)], -1).reshape(7, 12)
        features = np.concatenate([np.ones((7, 1)), np.sqrt(2) * waves], 1) * np.sqrt(np.asarray(problem.eigenvalues))
        theta = features.T @ a
        x = np.linspace(0.0, 6.0, 5)
        np.testing.assert_allclose(
            problem.predict(jnp.asarray(theta), jnp.asarray(x)), _kernel(x, x_train, 6, 1.5) @ a, rtol=1e-10
        )


def test_population_risk_matches_monte_carlo():
    with jax.enable_x64(True):
        problem = KernelRegression(n_train=5, n_modes=5, kernel_decay=1.0, target_decay=1.0, noise=0.3, init_scale=3.0)
        params = problem.init(jax.random.key(0))
        n = 200_000
        k_x, k_e = jax.random.split(jax.random.key(1))
        x = jax.random.uniform(k_x, (n,), jnp.float64, 0.0, 2 * np.pi)
        target = problem.predict(problem.target_coefficients / jnp.sqrt(problem.eigenvalues), x)
        y = target + 0.3 * jax.random.normal(k_e, (n,), jnp.float64)
        losses = jax.vmap(problem.example_loss, in_axes=(None, 0))(params, {"x": x, "y": y})
        mc, se = float(jnp.mean(losses)), float(jnp.std(losses)) / np.sqrt(n)
        exact = float(problem.metrics(params)["population_risk"])
        assert abs(mc - exact) < 4 * se, (mc, exact, se)
        np.testing.assert_allclose(float(jnp.mean(target**2)), 1.0, rtol=0.02)  # E f*² = 1


@pytest.mark.parametrize("n_train", [5, 40])
def test_training_constants_match_numpy(n_train):
    with jax.enable_x64(True):
        problem = KernelRegression(n_train=n_train, n_modes=4, kernel_decay=2.0, target_decay=1.0, noise=0.5)
        data = problem.dataset()
        x, y = np.asarray(data["x"]), np.asarray(data["y"])
        k = np.arange(1, 5)
        waves = np.stack([np.cos(x[:, None] * k), np.sin(x[:, None] * k)], -1).reshape(n_train, 8)
        phi = np.concatenate([np.ones((n_train, 1)), np.sqrt(2) * waves], 1)
        phi = phi * (1.0 + np.concatenate([[0], np.repeat(k, 2)])) ** -1.0  # sqrt(λ_k) with b = 2
        theta = np.linalg.lstsq(phi, y, rcond=None)[0]
        f_star = 0.5 * np.mean((phi @ theta - y) ** 2)
        np.testing.assert_allclose(float(problem.f_star), f_star, rtol=1e-8, atol=1e-14)
        eig = np.linalg.eigvalsh(phi.T @ phi / n_train)
        np.testing.assert_allclose(float(problem.smoothness), eig[-1], rtol=1e-10)
        if n_train >= 9:
            assert f_star > 0.01
            np.testing.assert_allclose(float(problem.strong_convexity), eig[0], rtol=1e-6)
            np.testing.assert_allclose(float(problem.loss(jnp.asarray(theta), data)), f_star, rtol=1e-10)
        else:
            assert f_star < 1e-20 and float(problem.strong_convexity) == 0.0
