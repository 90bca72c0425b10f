"""Small-Gain Nash certificate: closed forms (decoupled game, two-player band and balanced margin), the lower-bound
property α_* ≤ α_true, and the certified Euler factor against the exact linear iteration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from descentlab.theory import PREDICTIONS
from descentlab.theory.small_gain import (
    balanced_margin,
    best_ratio,
    block_bounds,
    certified_step_bound,
    certify,
    euclidean_margin,
    euler_factor,
    game_jacobian,
    metric_lipschitz,
    metric_margin,
    sgn_margin,
    timescale_band,
)

NON_MONOTONE = {"dim": 4, "mu_x": 1.0, "mu_y": 0.5, "coupling_x": 1.7, "coupling_y": 0.25, "condition_number": 2.0}


def test_decoupled_game_margin_is_the_smallest_curvature():
    mu, lip = np.array([0.7, 0.3, 1.2]), np.zeros((3, 3))
    for w in (np.ones(3), np.array([1.0, 10.0, 0.1])):
        assert sgn_margin(mu, lip, w) == pytest.approx(0.3, rel=1e-12)
    jac = game_jacobian(dim=3, mu_x=0.7, mu_y=0.3, coupling_x=0.0, coupling_y=0.0)
    cert = certify(jac, (3, 3), 0.5)
    assert cert.margin == pytest.approx(0.3, rel=1e-12) and cert.true_margin == pytest.approx(0.3, rel=1e-12)
    # diagonal J: β = max μ, ρ² = max over blocks of (1 − ημ)²  bounded by 1 − 2ηα + η²β²
    assert cert.factor == pytest.approx(math.sqrt(1 - 2 * 0.5 * 0.3 + 0.25 * 0.7**2), rel=1e-12)


def test_block_bounds_of_the_quadratic_game():
    jac = game_jacobian(**NON_MONOTONE)
    mu, lip = block_bounds(jac, (4, 4))
    np.testing.assert_allclose(mu, [1.0, 0.5], rtol=1e-12)
    np.testing.assert_allclose(lip, [[0.0, 1.7], [0.25, 0.0]], rtol=1e-10)


def test_sgn_certifies_where_euclidean_monotonicity_fails():
    jac = game_jacobian(**NON_MONOTONE)
    assert euclidean_margin(jac) == pytest.approx(0.75 - math.sqrt(0.25**2 + ((1.7 + 0.25) / 2) ** 2), rel=1e-10)
    assert euclidean_margin(jac) < 0
    mu, lip = block_bounds(jac, (4, 4))
    balanced = np.array([1.0, 1.7 / 0.25])
    expected = balanced_margin(1.0, 0.5, 1.7, 0.25)
    assert expected > 0
    assert sgn_margin(mu, lip, balanced) == pytest.approx(expected, rel=1e-10)
    # the balanced ratio maximizes the flow margin
    for r in np.geomspace(0.5, 50, 41):
        assert sgn_margin(mu, lip, np.array([1.0, r])) <= expected + 1e-12
    # Euclidean weights do not certify it: the small-gain matrix at w = (1, 1) is indefinite
    assert sgn_margin(mu, lip, np.ones(2)) < 0
    cert = certify(jac, (4, 4), 0.02)
    assert cert.certified and cert.rate > 0


def test_timescale_band_edges_are_zero_margin():
    mu1, mu2, l12, l21 = 1.0, 0.5, 1.7, 0.25
    lo, hi = timescale_band(mu1, mu2, l12, l21)
    mu, lip = np.array([mu1, mu2]), np.array([[0.0, l12], [l21, 0.0]])
    assert sgn_margin(mu, lip, np.array([1.0, lo])) == pytest.approx(0.0, abs=1e-10)
    assert sgn_margin(mu, lip, np.array([1.0, hi])) == pytest.approx(0.0, abs=1e-10)
    assert sgn_margin(mu, lip, np.array([1.0, math.sqrt(lo * hi)])) > 0
    assert sgn_margin(mu, lip, np.array([1.0, 0.9 * lo])) < 0 < sgn_margin(mu, lip, np.array([1.0, 1.1 * lo]))
    # a target margin narrows the band; beyond the small-gain limit it is empty
    inner = timescale_band(mu1, mu2, l12, l21, margin=0.03)
    assert lo < inner[0] < inner[1] < hi
    assert all(math.isnan(v) for v in timescale_band(mu1, mu2, 2.4, 0.25))


def test_sgn_margin_is_a_lower_bound_on_the_true_metric_margin():
    rng = np.random.default_rng(0)
    for _ in range(30):
        d1, d2 = rng.integers(1, 5, size=2)
        jac = rng.normal(size=(d1 + d2, d1 + d2))
        jac[:d1, :d1] += 3 * np.eye(d1)
        jac[d1:, d1:] += 3 * np.eye(d2)
        mu, lip = block_bounds(jac, (d1, d2))
        w = np.array([1.0, float(np.exp(rng.normal()))])
        assert sgn_margin(mu, lip, w) <= metric_margin(jac, (d1, d2), w) + 1e-10


def test_euler_factor_bounds_the_exact_linear_iteration():
    jac = game_jacobian(**NON_MONOTONE)
    bound = certified_step_bound(jac, (4, 4))
    assert 0 < bound < 0.06
    rng = np.random.default_rng(1)
    for fraction in (0.1, 0.3, 0.6, 0.9, 0.99):
        eta = fraction * bound
        cert = certify(jac, (4, 4), eta)
        assert cert.certified
        root = np.sqrt(np.repeat([1.0, cert.ratio], 4))
        step = np.eye(8) - eta * jac
        # the operator norm of one step in ‖·‖_W is at most the certified factor …
        assert np.linalg.norm(root[:, None] * step / root[None, :], 2) <= cert.factor + 1e-12
        # … so every step of every trajectory contracts ‖z‖_W by at least ρ(η)
        z = rng.normal(size=(8, 16))
        for _ in range(200):
            new = step @ z
            ratio = np.linalg.norm(root[:, None] * new, axis=0) / np.linalg.norm(root[:, None] * z, axis=0)
            assert np.all(ratio <= cert.factor * (1 + 1e-12))
            z = new
    # above the certified bound the certificate says nothing
    assert not certify(jac, (4, 4), 1.5 * bound).certified


def test_best_ratio_minimizes_the_certified_factor():
    jac = game_jacobian(**{**NON_MONOTONE, "coupling_x": 1.4})
    for eta in (0.01, 0.05):
        best = certify(jac, (4, 4), eta)
        lo, hi = best.band
        assert lo <= best.ratio <= hi
        for r in np.geomspace(lo * 1.001, hi * 0.999, 60):
            w = np.array([1.0, r])
            mu, lip = block_bounds(jac, (4, 4))
            other = euler_factor(sgn_margin(mu, lip, w), metric_lipschitz(jac, (4, 4), w), eta)
            assert best.factor <= other + 1e-9
    assert best_ratio(jac, (4, 4), 0.0) == pytest.approx(1.4 / 0.25)


def test_beyond_the_small_gain_limit_nothing_is_certified_and_play_diverges():
    jac = game_jacobian(**{**NON_MONOTONE, "coupling_x": 2.4})  # L12 L21 = 0.6 > μ1 μ2 = 0.5
    assert certified_step_bound(jac, (4, 4)) == 0.0
    assert not certify(jac, (4, 4), 0.01).certified
    assert np.min(np.linalg.eigvals(jac).real) < 0  # the flow, and every Euler step size, diverge


def test_prediction_bounds_simulated_gradient_play():
    import jax
    import jax.numpy as jnp

    from descentlab.problems.general_sum_game import GeneralSumQuadraticGame

    eta = 0.02
    jac = game_jacobian(**NON_MONOTONE)
    ratio = certify(jac, (4, 4), eta).ratio
    steps = np.arange(0, 401, 50)
    out = PREDICTIONS.get("small_gain_nash").predict(steps, **NON_MONOTONE, metric_ratio=ratio, learning_rate=eta)
    factor = float(out["factor"][0])
    assert factor < 1 and out["weighted_distance"][-1] < out["weighted_distance"][0]
    with jax.enable_x64(True):
        game = GeneralSumQuadraticGame(**NON_MONOTONE, metric_ratio=ratio)
        zero = {"xi": jnp.zeros((1, 8))}

        def play(key):
            def step(params, _):
                new = jax.tree.map(lambda p, g: p - eta * g, params, game.grad(params, zero)[1])
                return new, game.metrics(new)["weighted_distance"]

            start = game.init(key)
            return game.metrics(start)["weighted_distance"], jax.lax.scan(step, start, None, length=int(steps[-1]))[1]

        d0, path = jax.jit(jax.vmap(play))(jax.random.split(jax.random.key(0), 8))
    d0, path = np.asarray(d0), np.asarray(path)
    t = np.arange(1, path.shape[1] + 1)
    assert np.all(path <= d0[:, None] * factor ** t[None, :] * (1 + 1e-10))
    # the predicted curve starts above the seed mean (E‖z₀‖_W ≤ init_scale·√(1 + r)) and bounds it at every step
    mean = np.concatenate([[d0.mean()], path.mean(axis=0)])[steps]
    assert np.all(mean <= out["weighted_distance"])
