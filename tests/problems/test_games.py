"""Min–max games: the descent–ascent field, equilibria, duality gaps, L and μ of the field."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linprog

from descentlab.problems.bilinear_game import BilinearGame
from descentlab.problems.matrix_game import MatrixGame, game_value, payoff_matrix
from descentlab.problems.quadratic_game import QuadraticGame


@pytest.mark.parametrize("problem", [BilinearGame(dim=3), QuadraticGame(dim=3), MatrixGame(matrix="rps")])
def test_grad_is_the_descent_ascent_field(problem):
    params = problem.init(jax.random.key(0))
    batch = problem.sample(jax.random.key(1), 4)
    value, field = problem.grad(params, batch)
    gx = jax.grad(lambda x: problem.loss({"x": x, "y": params["y"]}, batch))(params["x"])
    gy = jax.grad(lambda y: problem.loss({"x": params["x"], "y": y}, batch))(params["y"])
    np.testing.assert_allclose(np.asarray(field["x"]), np.asarray(gx), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(field["y"]), -np.asarray(gy), rtol=1e-5, atol=1e-6)
    assert float(value) == pytest.approx(float(problem.loss(params, batch)))
    # at the equilibrium the exact field vanishes
    optimum = problem.optimum()
    zero_noise = {"xi": jnp.zeros_like(batch["xi"])}
    _, field_star = problem.grad(optimum, zero_noise)
    assert max(float(jnp.max(jnp.abs(v))) for v in field_star.values()) < 1e-6


def test_bilinear_constants_and_dynamics():
    problem = BilinearGame(dim=4, condition_number=3.0)
    s = np.linalg.svd(np.asarray(problem.matrix), compute_uv=False)
    np.testing.assert_allclose(s, 3.0 ** -(np.arange(4) / 3), rtol=1e-5)
    assert float(problem.smoothness) == pytest.approx(1.0, rel=1e-5) and float(problem.strong_convexity) == 0.0
    # simultaneous GDA spirals out, extragradient converges (Gidel et al. 2019)
    zero = {"xi": jnp.zeros((1, 8))}
    field = jax.jit(lambda p: problem.grad(p, zero)[1])
    step = jax.jit(lambda p, f, eta: jax.tree.map(lambda a, b: a - eta * b, p, f))
    gda = eg = problem.init(jax.random.key(0))
    d0 = float(problem.metrics(gda)["distance_to_equilibrium"])
    for _ in range(300):
        gda = step(gda, field(gda), 0.1)
        eg = step(eg, field(step(eg, field(eg), 0.3)), 0.3)
    assert float(problem.metrics(gda)["distance_to_equilibrium"]) > 1.05 * d0
    assert float(problem.metrics(eg)["distance_to_equilibrium"]) < 0.5 * d0


def test_quadratic_game_gap_and_constants():
    with jax.enable_x64(True):
        problem = QuadraticGame(dim=3, mu_x=0.3, mu_y=0.2, condition_number=2.0)
        a = np.asarray(problem.matrix)
        params = problem.init(jax.random.key(0))
        x, y = np.asarray(params["x"]), np.asarray(params["y"])
        # best responses by linear solves: ∂f/∂y = Aᵀx − μ_y y = 0, ∂f/∂x = μ_x x + Ay = 0
        y_best = np.linalg.solve(0.2 * np.eye(3), a.T @ x)
        x_best = np.linalg.solve(0.3 * np.eye(3), -a @ y)
        f = problem.value
        gap = float(f({"x": jnp.asarray(x), "y": jnp.asarray(y_best)})) - float(
            f({"x": jnp.asarray(x_best), "y": jnp.asarray(y)})
        )
        assert float(problem.duality_gap(params)) == pytest.approx(gap, rel=1e-10)
        assert float(problem.duality_gap(problem.optimum())) == 0.0
        j = np.asarray(problem.field_matrix())
        assert float(problem.smoothness) == pytest.approx(np.linalg.svd(j, compute_uv=False)[0], rel=1e-10)
        assert float(problem.strong_convexity) == pytest.approx(np.linalg.eigvalsh((j + j.T) / 2)[0], rel=1e-10)


def test_matrix_game_value_gap_and_equilibrium():
    rps = MatrixGame(matrix="rps")
    assert rps.f_star == pytest.approx(0.0, abs=1e-12)
    uniform = rps.optimum()
    assert float(rps.duality_gap(uniform)) == pytest.approx(0.0, abs=1e-7)
    assert float(rps.metrics(uniform)["distance_to_equilibrium"]) == pytest.approx(0.0, abs=1e-7)
    params = rps.init(jax.random.key(0))
    assert float(rps.duality_gap(params)) > 0.01
    game = MatrixGame(matrix="random", rows=4, cols=5, matrix_seed=2)
    a = payoff_matrix("random", 4, 5, 2)
    # the column player's LP: max v s.t. A q ≥ v·1, q ∈ Δ (equal to the row player's by the minimax theorem)
    c = np.zeros(6)
    c[-1] = -1.0
    result = linprog(
        c,
        A_ub=np.hstack([-a, np.ones((4, 1))]),
        b_ub=np.zeros(4),
        A_eq=np.hstack([np.ones((1, 5)), np.zeros((1, 1))]),
        b_eq=[1.0],
        bounds=[(0, None)] * 5 + [(None, None)],
        method="highs",
    )
    assert game.f_star == pytest.approx(-result.fun, abs=1e-9) == pytest.approx(game_value("random", 4, 5, 2))
    for seed in range(5):  # the gap is never negative and brackets the value
        p = game.init(jax.random.key(seed))
        pr, qr = game.strategies(p)
        assert float(jnp.max(game.payoff.T @ pr)) >= game.f_star - 1e-6 >= float(jnp.min(game.payoff @ qr)) - 2e-6
