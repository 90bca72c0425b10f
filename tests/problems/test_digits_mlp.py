"""digits_mlp: data split, forward pass against NumPy, parameterizations, losses, and that GD learns."""

from __future__ import annotations

import jax
import numpy as np
import optax
import pytest

from descentlab.problems._digits import N_DIGITS, digits_split
from descentlab.problems.digits_mlp import DigitsMLP


def _numpy_forward(params: dict, x: np.ndarray, depth: int, act) -> np.ndarray:
    h = x
    for i in range(1, depth + 2):
        h = h @ np.asarray(params[f"w{i}"]) + np.asarray(params[f"b{i}"])
        if i <= depth:
            h = act(h)
    return h


def test_split_is_disjoint_and_centred():
    x_tr, y_tr, x_te, _ = digits_split(300, 1)
    assert x_tr.shape == (300, 64) and x_te.shape == (N_DIGITS - 300, 64)
    np.testing.assert_allclose(x_tr.mean(axis=0), 0.0, atol=1e-12)
    assert set(np.unique(y_tr)) == set(range(10))
    # train and test together are the whole data set, each image once (undo the centring, sort the rows)
    from sklearn.datasets import load_digits

    raw = load_digits().data / 16.0
    mean = raw[np.sort(np.random.default_rng(1).permutation(N_DIGITS)[:300])].mean(axis=0)
    union = np.concatenate([x_tr, x_te]) + mean
    np.testing.assert_allclose(union[np.lexsort(union.T)], raw[np.lexsort(raw.T)], atol=1e-12)


@pytest.mark.parametrize("activation,np_act", [("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0.0))])
def test_predict_matches_numpy(activation, np_act):
    problem = DigitsMLP(width=7, depth=2, activation=activation, n_train=50)
    params = problem.init(jax.random.key(0))
    assert params["w1"].shape == (64, 7) and params["w3"].shape == (7, 10)
    x = np.asarray(problem.dataset()["x"][:9])
    np.testing.assert_allclose(problem.predict(params, x), _numpy_forward(params, x, 2, np_act), rtol=1e-5, atol=1e-5)


def test_ntk_parameterization_gives_the_same_initial_function():
    standard = DigitsMLP(width=16, depth=2, n_train=50, init_scale=1.3)
    ntk = DigitsMLP(width=16, depth=2, n_train=50, init_scale=1.3, parameterization="ntk")
    key = jax.random.key(3)
    x = standard.dataset()["x"]
    np.testing.assert_allclose(
        standard.predict(standard.init(key), x), ntk.predict(ntk.init(key), x), rtol=1e-4, atol=1e-5
    )
    # but the gradients differ in scale: ntk weights are ~sqrt(fan_in) larger and the gradient smaller
    g_std = jax.grad(standard.loss)(standard.init(key), standard.dataset())["w2"]
    g_ntk = jax.grad(ntk.loss)(ntk.init(key), ntk.dataset())["w2"]
    np.testing.assert_allclose(g_ntk, g_std / 4.0, rtol=1e-4, atol=1e-7)  # 1/sqrt(16)


@pytest.mark.parametrize("loss_type", ["mse", "cross_entropy"])
def test_losses_match_numpy(loss_type):
    problem = DigitsMLP(width=5, depth=1, n_train=30, loss_type=loss_type)
    params = problem.init(jax.random.key(1))
    data = problem.dataset()
    out = np.asarray(problem.predict(params, data["x"]), dtype=np.float64)
    y = np.asarray(data["y"])
    if loss_type == "mse":
        expected = 0.5 * np.mean(np.sum((out - np.eye(10)[y]) ** 2, axis=1))
    else:
        shifted = out - out.max(axis=1, keepdims=True)
        expected = np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(y)), y])
    np.testing.assert_allclose(float(problem.loss(params, data)), expected, rtol=1e-5)
    metrics = problem.metrics(params)
    np.testing.assert_allclose(float(metrics["train_loss"]), expected, rtol=1e-5)
    np.testing.assert_allclose(float(metrics["train_accuracy"]), np.mean(out.argmax(1) == y), atol=1e-6)


def test_full_batch_training_learns_digits():
    problem = DigitsMLP(width=32, depth=1, n_train=200, loss_type="cross_entropy")
    params = problem.init(jax.random.key(0))
    data = problem.dataset()
    opt = optax.adam(0.01)

    def step(carry, _):
        params, state = carry
        grads = jax.grad(problem.loss)(params, data)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, None, length=300))((params, opt.init(params)))
    metrics = problem.metrics(params)
    assert float(metrics["train_accuracy"]) == 1.0
    assert float(metrics["test_accuracy"]) > 0.85, metrics
