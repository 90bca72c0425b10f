"""digits_cnn: forward pass against an explicit NumPy convolution, shapes, and that training learns."""

from __future__ import annotations

import jax
import numpy as np
import optax

from descentlab.problems.digits_cnn import DigitsCNN


def _conv_same(image: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """3×3 'same' cross-correlation, image (H, W, Cin), kernel (3, 3, Cin, Cout)."""
    h, w, _ = image.shape
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((h, w, kernel.shape[-1]))
    for i in range(h):
        for j in range(w):
            out[i, j] = np.einsum("abc,abcd->d", padded[i : i + 3, j : j + 3], kernel)
    return out + bias


def _pool(z: np.ndarray) -> np.ndarray:
    h, w, c = z.shape
    return z.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3))


def _numpy_predict(params: dict, x: np.ndarray) -> np.ndarray:
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    h = _pool(np.maximum(_conv_same(x.reshape(8, 8, 1), p["conv1"], p["b1"]), 0.0))
    h = _pool(np.maximum(_conv_same(h, p["conv2"], p["b2"]), 0.0))
    return h.reshape(-1) @ p["w3"] + p["b3"]


def test_predict_matches_numpy_convolution():
    problem = DigitsCNN(channels=3, n_train=20, activation="relu")
    params = problem.init(jax.random.key(0))
    params = {k: v + 0.1 * np.arange(v.size).reshape(v.shape) / v.size for k, v in params.items()}  # nonzero biases
    x = np.asarray(problem.dataset()["x"][:4])
    out = np.asarray(problem.predict(params, x))
    assert out.shape == (4, 10)
    for i in range(4):
        np.testing.assert_allclose(out[i], _numpy_predict(params, x[i]), rtol=1e-4, atol=1e-5)
    # a single example (no batch axis) gives the same outputs
    np.testing.assert_allclose(problem.predict(params, x[0]), out[0], rtol=1e-6)


def test_training_learns_digits():
    problem = DigitsCNN(channels=8, n_train=200)
    params = problem.init(jax.random.key(1))
    data = problem.dataset()
    opt = optax.adam(0.02)

    def step(carry, _):
        params, state = carry
        updates, state = opt.update(jax.grad(problem.loss)(params, data), state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, None, length=200))((params, opt.init(params)))
    metrics = problem.metrics(params)
    assert float(metrics["train_accuracy"]) > 0.95, metrics
    assert float(metrics["test_accuracy"]) > 0.8, metrics
