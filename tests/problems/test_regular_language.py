"""regular_language: labels, exact population metrics, forward pass, even pairs learnable and parity not."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from descentlab.problems.regular_language import RegularLanguage, all_strings, labels


def test_labels_and_enumeration():
    strings = all_strings(6)
    assert strings.shape == (64, 6) and len({tuple(s) for s in strings.tolist()}) == 64
    even_pairs = np.asarray(labels("even_pairs", jnp.asarray(strings)))
    np.testing.assert_array_equal(even_pairs, np.where(strings[:, 0] == strings[:, -1], 1, -1))
    parity = np.asarray(labels("parity", jnp.asarray(strings)))
    np.testing.assert_array_equal(parity, np.where(strings.sum(1) % 2 == 0, 1, -1))


def test_predict_matches_numpy():
    problem = RegularLanguage(seq_len=5, dim=4)
    params = problem.init(jax.random.key(0))
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    s = np.array([1, 0, 0, 1, 1])
    h = p["embed"][s] + p["pos"]
    scores = (h[-1] @ p["wq"]) @ (h @ p["wk"]).T / 2.0
    a = np.exp(scores - scores.max())
    a /= a.sum()
    expected = (h[-1] + a @ (h @ p["wv"])) @ p["head"]
    np.testing.assert_allclose(float(problem.predict(params, s)), expected, rtol=1e-5)


def test_population_metrics_are_the_mean_over_the_stream():
    with jax.enable_x64(True):
        problem = RegularLanguage(seq_len=5, dim=4, task="parity")
        params = problem.init(jax.random.key(1))
        n = 100_000
        losses = jax.vmap(problem.example_loss, in_axes=(None, 0))(params, problem.sample(jax.random.key(2), n))
        se = float(jnp.std(losses)) / np.sqrt(n)
        exact = float(problem.metrics(params)["population_loss"])
        assert abs(float(jnp.mean(losses)) - exact) < 4 * se
        assert bool(jnp.all(problem.sample(jax.random.key(3), 50)["y"] ** 2 == 1))


@pytest.mark.parametrize("task,learnable", [("even_pairs", True), ("parity", False)])
def test_even_pairs_is_learned_and_parity_is_not(task, learnable):
    problem = RegularLanguage(seq_len=6, dim=8, task=task)
    params = problem.init(jax.random.key(0))
    opt = optax.adam(0.01)

    def step(carry, t):
        params, state = carry
        batch = problem.sample(jax.random.fold_in(jax.random.key(1), t), 64)
        updates, state = opt.update(jax.grad(problem.loss)(params, batch), state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, jnp.arange(500)))((params, opt.init(params)))
    accuracy = float(problem.metrics(params)["population_accuracy"])
    assert (accuracy == 1.0) if learnable else (accuracy < 0.7), accuracy
