"""general_sum_quadratic_game: the pseudo-gradient, its zero-sum special case, and Euclidean non-monotonicity."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.general_sum_game import GeneralSumQuadraticGame
from descentlab.problems.quadratic_game import QuadraticGame


def test_grad_is_each_players_gradient_of_its_own_cost():
    game = GeneralSumQuadraticGame(dim=3, coupling_x=2.0, coupling_y=0.3, condition_number=2.0)
    params = game.init(jax.random.key(0))
    exact = {"xi": jnp.zeros((1, 6))}
    value, field = game.grad(params, exact)
    gx = jax.grad(lambda x: game.costs({"x": x, "y": params["y"]})[0])(params["x"])
    gy = jax.grad(lambda y: game.costs({"x": params["x"], "y": y})[1])(params["y"])
    np.testing.assert_allclose(field["x"], gx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(field["y"], gy, rtol=1e-5, atol=1e-6)
    z = jnp.concatenate([params["x"], params["y"]])
    np.testing.assert_allclose(jnp.concatenate([field["x"], field["y"]]), game.field_matrix() @ z, rtol=1e-5)
    assert float(value) == pytest.approx(float(sum(game.costs(params))))


def test_default_couplings_are_the_zero_sum_quadratic_game():
    game = GeneralSumQuadraticGame(dim=3, mu_x=0.3, mu_y=0.2, condition_number=2.0)
    zero_sum = QuadraticGame(dim=3, mu_x=0.3, mu_y=0.2, condition_number=2.0)
    np.testing.assert_allclose(game.field_matrix(), zero_sum.field_matrix(), rtol=1e-6)
    params = game.init(jax.random.key(1))
    exact = {"xi": jnp.zeros((1, 6))}
    mine, theirs = game.grad(params, exact)[1], zero_sum.grad(params, exact)[1]
    for k in ("x", "y"):
        np.testing.assert_allclose(mine[k], theirs[k], rtol=1e-5, atol=1e-7)


def test_same_sign_couplings_break_euclidean_monotonicity():
    monotone = GeneralSumQuadraticGame(dim=4, mu_x=1.0, mu_y=0.5, coupling_x=0.5, coupling_y=0.25)
    broken = GeneralSumQuadraticGame(dim=4, mu_x=1.0, mu_y=0.5, coupling_x=1.7, coupling_y=0.25)
    assert float(monotone.strong_convexity) > 0 > float(broken.strong_convexity)
    # …yet all eigenvalues of H have positive real part (ab < μₓμᵧ): simultaneous play converges for small steps
    assert np.min(np.linalg.eigvals(np.asarray(broken.field_matrix())).real) > 0


def test_metrics_split_the_distance_by_player():
    game = GeneralSumQuadraticGame(dim=3, metric_ratio=4.0)
    params = {"x": jnp.array([3.0, 0.0, 0.0]), "y": jnp.array([0.0, 4.0, 0.0])}
    m = game.metrics(params)
    assert float(m["distance_to_equilibrium"]) == pytest.approx(5.0)
    assert float(m["distance_x"]) == pytest.approx(3.0) and float(m["distance_y"]) == pytest.approx(4.0)
    assert float(m["weighted_distance"]) == pytest.approx(np.sqrt(9 + 4 * 16))
