"""single_location: the data model, the attention forward pass, the oracle, and that SGD finds the oracle."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from descentlab.problems.single_location import SingleLocation


def test_data_model():
    with jax.enable_x64(True):
        problem = SingleLocation(dim=6, seq_len=5, signal=2.5, noise=0.0)
        k_star, v_star = (np.asarray(a) for a in problem.teacher)
        assert abs(k_star @ v_star) < 1e-12 and abs(np.linalg.norm(k_star) - 1) < 1e-12
        batch = problem.sample(jax.random.key(0), 40_000)
        x, y, j = (np.asarray(batch[k]) for k in ("x", "y", "position"))
        rows = np.arange(len(j))
        np.testing.assert_allclose(y, x[rows, j] @ v_star, rtol=1e-10, atol=1e-12)  # the signal token carries the label
        proj = x @ k_star
        np.testing.assert_allclose(proj[rows, j].mean(), 2.5, atol=0.03)  # shifted by γ along k*
        others = np.ones_like(proj, dtype=bool)
        others[rows, j] = False
        np.testing.assert_allclose(proj[others].mean(), 0.0, atol=0.02)
        np.testing.assert_allclose(np.bincount(j, minlength=5) / len(j), 0.2, atol=0.01)


def test_predict_matches_numpy_softmax():
    problem = SingleLocation(dim=4, seq_len=3)
    params = problem.init(jax.random.key(1))
    params = {"k": params["k"] * 20, "v": params["v"] * 5}
    x = np.asarray(problem.sample(jax.random.key(2), 6)["x"], np.float64)
    scores = x @ np.asarray(params["k"])
    weights = np.exp(scores - scores.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    np.testing.assert_allclose(
        problem.predict(params, x), np.sum(weights * (x @ np.asarray(params["v"])), 1), rtol=1e-5, atol=1e-6
    )


def test_oracle_attends_to_the_signal_and_risk_mc_is_an_unbiased_estimate():
    with jax.enable_x64(True):
        problem = SingleLocation(dim=8, seq_len=4, signal=4.0, noise=0.1)
        k_star, v_star = problem.teacher
        oracle = {"k": 6.0 * k_star, "v": v_star}
        metrics = problem.metrics(oracle)
        assert float(metrics["attention_on_signal"]) > 0.95
        np.testing.assert_allclose(float(metrics["k_cosine"]), 1.0, rtol=1e-12)
        np.testing.assert_allclose(float(metrics["v_overlap"]), 1.0, rtol=1e-12)
        n = 20_000
        losses = jax.vmap(problem.example_loss, in_axes=(None, 0))(oracle, problem.sample(jax.random.key(3), n))
        fresh, se = float(jnp.mean(losses)), float(jnp.std(losses)) / np.sqrt(n)
        # the fixed evaluation set has eval_size draws: its standard error dominates
        assert abs(float(metrics["risk_mc"]) - fresh) < 4 * se * np.sqrt(n / problem.eval_size)
        assert fresh < 0.1 * float(problem.metrics(problem.init(jax.random.key(4)))["risk_mc"])


def test_sgd_learns_the_oracle_directions():
    problem = SingleLocation(dim=8, seq_len=4, signal=3.0)
    params = problem.init(jax.random.key(0))
    opt = optax.sgd(0.2)

    def step(carry, t):
        params, state = carry
        batch = problem.sample(jax.random.fold_in(jax.random.key(1), t), 32)
        updates, state = opt.update(jax.grad(problem.loss)(params, batch), state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, jnp.arange(2000)))((params, opt.init(params)))
    metrics = problem.metrics(params)
    assert float(metrics["k_cosine"]) > 0.95 and float(metrics["v_overlap"]) > 0.9, metrics
    assert float(metrics["attention_on_signal"]) > 0.8, metrics
