"""Linearized dynamics: exact for a linear-in-parameters model, close for a wide network."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.theory import verdict
from descentlab.theory.ntk_linearized import linearized_gd

STEPS = np.array([0, 1, 5, 20, 50, 100, 150])


def test_linear_model_is_exact_train_and_test():
    rng = np.random.default_rng(0)
    n, m, p = 12, 7, 30
    phi, phi_t = rng.standard_normal((n, p)), rng.standard_normal((m, p))
    y, y_t = rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
    theta = 0.3 * rng.standard_normal((p, 2))
    eta = 0.5 * n / np.linalg.eigvalsh(phi @ phi.T).max()
    train, test = [], []
    for _ in range(int(STEPS.max()) + 1):
        train.append(phi @ theta)
        test.append(phi_t @ theta)
        theta = theta - eta * phi.T @ (phi @ theta - y) / n
    out = linearized_gd(phi @ phi.T, train[0], y, STEPS, eta, phi_t @ phi.T, test[0], y_t)
    np.testing.assert_allclose(out.train_predictions, np.array(train)[STEPS], atol=1e-10)
    np.testing.assert_allclose(out.test_predictions, np.array(test)[STEPS], atol=1e-10)
    losses = 0.5 * np.mean(np.sum((np.array(test)[STEPS] - y_t) ** 2, axis=2), axis=1)
    np.testing.assert_allclose(out.test_loss, losses, rtol=1e-10)


def test_wide_network_follows_the_linearized_curve():
    """Two-layer tanh network, NTK parameterisation, width 2048: train loss within 5 %."""
    width, d, n, m = 2048, 4, 16, 8
    key = jax.random.key(0)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    with jax.enable_x64(True):
        x = jax.random.normal(k1, (n, d))
        x_test = jax.random.normal(k2, (m, d))
        y = jnp.sin(x.sum(1))
        params = {"w": jax.random.normal(k3, (d, width)), "a": jax.random.normal(k4, (width,))}

        def f(p, inputs):
            return jnp.tanh(inputs @ p["w"] / jnp.sqrt(d)) @ p["a"] / jnp.sqrt(width)

        def ntk(a_inputs, b_inputs):
            ja = jax.jacobian(f)(params, a_inputs)
            jb = jax.jacobian(f)(params, b_inputs)
            flat = lambda j: jnp.concatenate([v.reshape(v.shape[0], -1) for v in jax.tree.leaves(j)], 1)  # noqa: E731
            return flat(ja) @ flat(jb).T

        theta, cross = np.asarray(ntk(x, x)), np.asarray(ntk(x_test, x))
        eta = 0.5 * n / np.linalg.eigvalsh(theta).max()
        loss = jax.jit(lambda p: 0.5 * jnp.mean((f(p, x) - y) ** 2))
        grad = jax.jit(jax.grad(lambda p: 0.5 * jnp.mean((f(p, x) - y) ** 2)))
        p, train, test = params, [], []
        for _ in range(int(STEPS.max()) + 1):
            train.append(float(loss(p)))
            test.append(np.asarray(f(p, x_test)))
            p = jax.tree.map(lambda a, g: a - eta * g, p, grad(p))
        out = linearized_gd(
            theta, np.asarray(f(params, x)), np.asarray(y), STEPS, eta, cross, np.asarray(f(params, x_test))
        )
    v = verdict(np.array(train)[STEPS], out.train_loss, kind="curve", tolerance=0.05)
    assert v.passed, v.line()
    assert out.train_loss[-1] < 0.5 * out.train_loss[0]
    drift = np.max(np.abs(np.array(test)[STEPS] - out.test_predictions))
    assert drift < 0.05 * np.max(np.abs(np.array(test)[STEPS]))
