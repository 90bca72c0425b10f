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


def test_chain_of_thought_examples_are_running_parity_steps():
    from descentlab.problems.regular_language import cot_examples

    strings = jnp.asarray(all_strings(5))
    problem = RegularLanguage(seq_len=5, dim=4, task="parity_cot")
    data = problem.population()
    assert data["x"].shape == (32 * 5, 2) and problem.init(jax.random.key(0))["pos"].shape == (2, 4)
    running = np.cumsum(np.asarray(strings), axis=1) % 2
    for k in range(1, 6):
        batch = cot_examples(strings, jnp.full((32,), k))
        previous = running[:, k - 2] if k > 1 else np.zeros(32, int)
        np.testing.assert_array_equal(np.asarray(batch["x"]), np.stack([previous, np.asarray(strings)[:, k - 1]], 1))
        np.testing.assert_array_equal(np.asarray(batch["y"]), 1 - 2 * running[:, k - 1])
    final = cot_examples(strings, jnp.full((32,), 5))["y"]
    np.testing.assert_array_equal(np.asarray(final), np.asarray(labels("parity", strings)))


def test_generated_chain_uses_the_models_own_steps():
    problem = RegularLanguage(seq_len=4, dim=4, task="parity_cot")
    strings = jnp.asarray(all_strings(4))

    def xnor(params, x):  # an exact step: +1 when the two tokens are equal
        return jnp.where(x[..., 0] == x[..., 1], 1.0, -1.0)

    object.__setattr__(problem, "predict", xnor)
    out = problem.generate(None, strings)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(labels("parity", strings)))


def test_frozen_parameters_get_no_gradient_and_defaults_are_unchanged():
    base = RegularLanguage(seq_len=5, dim=4)
    assert base.frozen == "" and not base.full_population
    params = base.init(jax.random.key(0))
    batch = base.sample(jax.random.key(1), 16)
    frozen = RegularLanguage(seq_len=5, dim=4, frozen="wq,wk")
    grads = jax.grad(frozen.loss)(params, batch)
    assert float(jnp.abs(grads["wq"]).max()) == 0 and float(jnp.abs(grads["wk"]).max()) == 0
    assert float(jnp.abs(grads["head"]).max()) > 0
    np.testing.assert_allclose(frozen.loss(params, batch), base.loss(params, batch))
    with pytest.raises(ValueError):
        RegularLanguage(frozen="wq,nope")


def test_full_population_batches_and_norm_metrics():
    problem = RegularLanguage(seq_len=4, dim=4, full_population=True)
    batch = problem.sample(jax.random.key(0), 3)
    assert batch["x"].shape == (16, 4)
    params = problem.init(jax.random.key(0))
    metrics = problem.metrics(params)
    np.testing.assert_allclose(metrics["head_norm"], np.linalg.norm(params["head"]), rtol=1e-6)
    expected = np.linalg.norm(np.asarray(params["wq"]) @ np.asarray(params["wk"]).T) / 2.0
    np.testing.assert_allclose(metrics["attention_norm"], expected, rtol=1e-5)


def test_paper_architecture_forward_with_variable_lengths_matches_numpy():
    problem = RegularLanguage(seq_len=5, dim=10, architecture="paper", variable_length=True, init_scale=3.0)
    params = problem.init(jax.random.key(0))
    w, u = np.asarray(params["wq"], np.float64), np.asarray(params["head"], np.float64)
    s, n = np.array([1, 0, 1, 0, 0]), 3  # real string 101, padded
    h = np.eye(10)[2 * np.arange(n) + s[:n]]
    scores = h @ w @ h[-1]
    a = np.exp(scores - scores.max())
    a /= a.sum()
    np.testing.assert_allclose(float(problem.predict(params, jnp.asarray(s), jnp.asarray(n))), a @ h @ u, rtol=1e-5)
    with pytest.raises(ValueError):
        RegularLanguage(seq_len=6, dim=11, architecture="paper")  # one-hot needs dim >= 2L


def test_variable_length_population_is_the_stream_distribution():
    with jax.enable_x64(True):
        problem = RegularLanguage(seq_len=4, dim=8, architecture="paper", variable_length=True, init_scale=2.0)
        data = problem.population()
        assert data["x"].shape == (2 + 4 + 8 + 16, 4) and float(jnp.sum(data["weight"])) == pytest.approx(1.0)
        first = np.asarray(data["x"])[:, 0]
        last = np.asarray(data["x"])[np.arange(30), np.asarray(data["length"]) - 1]
        np.testing.assert_array_equal(np.asarray(data["y"]), np.where(first == last, 1, -1))
        params = problem.init(jax.random.key(1))
        n = 100_000
        losses = jax.vmap(problem.example_loss, in_axes=(None, 0))(params, problem.sample(jax.random.key(2), n))
        se = float(jnp.std(losses)) / np.sqrt(n)
        assert abs(float(jnp.mean(losses)) - float(problem.metrics(params)["population_loss"])) < 4 * se


def test_paper_model_learns_even_pairs_by_gd_and_solves_parity_by_cot():
    problem = RegularLanguage(
        seq_len=4, dim=8, architecture="paper", variable_length=True, init_scale=0.1, full_population=True
    )
    params = problem.init(jax.random.key(0))
    batch = problem.sample(jax.random.key(1), 1)

    def step(params, _):
        return jax.tree.map(lambda p, g: p - 30.0 * g, params, jax.grad(problem.loss)(params, batch)), None

    params, _ = jax.jit(lambda p: jax.lax.scan(step, p, None, length=300))(params)
    metrics = problem.metrics(params)
    assert float(metrics["population_accuracy"]) > 1 - 1e-6 and float(metrics["population_loss"]) < 1e-2
    assert float(metrics["cot_parity_accuracy"]) == 1.0
