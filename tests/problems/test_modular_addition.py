"""modular_addition: split, MLP forward against NumPy, transformer causality, and that training fits."""

from __future__ import annotations

import jax
import numpy as np
import optax
import pytest

from descentlab.problems.modular_addition import ModularAddition, fourier_concentration, modular_split


def test_split_covers_all_pairs_once_with_correct_labels():
    x_tr, y_tr, x_te, y_te = modular_split(11, 0.3, 4)
    assert len(x_tr) == round(0.3 * 121) and len(x_tr) + len(x_te) == 121
    pairs = {tuple(p) for p in np.concatenate([x_tr, x_te]).tolist()}
    assert len(pairs) == 121
    np.testing.assert_array_equal(y_tr, (x_tr[:, 0] + x_tr[:, 1]) % 11)
    np.testing.assert_array_equal(y_te, (x_te[:, 0] + x_te[:, 1]) % 11)


def test_mlp_forward_matches_numpy():
    problem = ModularAddition(modulus=7, embed_dim=3, width=5, activation="quadratic")
    params = problem.init(jax.random.key(0))
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    x = np.array([[1, 2], [6, 6], [0, 3]])
    h = np.concatenate([p["embed"][x[:, 0]], p["embed"][x[:, 1]]], axis=1) @ p["w1"] + p["b1"]
    np.testing.assert_allclose(problem.predict(params, x), (h**2) @ p["w2"], rtol=1e-4, atol=1e-6)


def test_transformer_reads_both_operands():
    problem = ModularAddition(modulus=7, model="transformer", embed_dim=8, heads=2, width=8)
    params = problem.init(jax.random.key(1))
    base = problem.predict(params, np.array([2, 3]))
    assert base.shape == (7,)
    assert np.abs(problem.predict(params, np.array([4, 3])) - base).max() > 1e-4
    assert np.abs(problem.predict(params, np.array([2, 5])) - base).max() > 1e-4
    batched = problem.predict(params, np.array([[2, 3], [4, 3]]))
    np.testing.assert_allclose(batched[0], base, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model", ["mlp", "transformer"])
def test_training_fits_the_training_set(model):
    problem = ModularAddition(modulus=7, model=model, embed_dim=16, heads=2, width=32, train_fraction=0.8)
    params = problem.init(jax.random.key(2))
    data = problem.dataset()
    opt = optax.adam(0.01)

    def step(carry, _):
        params, state = carry
        updates, state = opt.update(jax.grad(problem.loss)(params, data), state, params)
        return (optax.apply_updates(params, updates), state), None

    before = problem.metrics(params)
    (params, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, None, length=300))((params, opt.init(params)))
    after = problem.metrics(params)
    assert float(after["train_accuracy"]) == 1.0, after
    assert float(after["train_loss"]) < 0.1 * float(before["train_loss"])
    assert {"test_loss", "test_accuracy", "param_norm"} <= set(after)


def _fourier_power_numpy(embed: np.ndarray) -> np.ndarray:
    """‖Ê_k‖² + ‖Ê_{p−k}‖² for k = 1..⌊p/2⌋ (k = p/2 once), by the DFT's definition."""
    p = embed.shape[0]
    a = np.arange(p)
    power = []
    for k in range(1, p // 2 + 1):
        pair = {k, p - k}
        power.append(sum(np.sum(np.abs(np.exp(-2j * np.pi * q * a / p) @ embed) ** 2) for q in pair))
    return np.array(power)


@pytest.mark.parametrize(("p", "top_k"), [(23, 3), (24, 2), (7, 5)])
def test_fourier_concentration_matches_the_dft_definition(p, top_k):
    embed = np.random.default_rng(p).normal(size=(p, 6))
    power = _fourier_power_numpy(embed)
    expected = np.sort(power)[::-1][:top_k].sum() / power.sum()
    assert float(fourier_concentration(embed, top_k)) == pytest.approx(expected, rel=1e-5)
    # Parseval: the frequencies k ≥ 1 hold p·‖E − mean‖², every one of them counted once
    np.testing.assert_allclose(power.sum(), p * np.sum((embed - embed.mean(0)) ** 2), rtol=1e-9)


def test_fourier_concentration_of_fourier_embeddings_and_its_invariances():
    p, a = 23, np.arange(23)
    wave = lambda k: np.stack([np.cos(2 * np.pi * k * a / p), np.sin(2 * np.pi * k * a / p)], axis=1)  # noqa: E731
    assert float(fourier_concentration(wave(4), 1)) == pytest.approx(1.0, abs=1e-5)
    two = np.concatenate([wave(2), wave(9)], axis=1)
    assert float(fourier_concentration(two, 1)) == pytest.approx(0.5, abs=1e-5)
    assert float(fourier_concentration(two, 2)) == pytest.approx(1.0, abs=1e-5)
    embed = np.random.default_rng(0).normal(size=(p, 8))
    rotation = np.linalg.qr(np.random.default_rng(1).normal(size=(8, 8)))[0]
    base = float(fourier_concentration(embed, 3))
    assert float(fourier_concentration(embed @ rotation + 5.0, 3)) == pytest.approx(base, rel=1e-4)
    assert 3 / 11 < base < 0.6  # a random embedding spreads its power over the 11 frequencies


def test_metrics_report_the_fourier_concentration_of_the_residue_embeddings():
    for model in ("mlp", "transformer"):
        problem = ModularAddition(modulus=11, model=model, embed_dim=8, heads=2, width=8, fourier_top_k=2)
        params = problem.init(jax.random.key(3))
        value = float(problem.metrics(params)["fourier_concentration"])
        assert value == pytest.approx(float(fourier_concentration(params["embed"][:11], 2)))
        assert 0.0 < value <= 1.0
