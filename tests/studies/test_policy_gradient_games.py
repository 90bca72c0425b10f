"""policy-gradient-games: the quick study passes (biased RPS and Kuhn poker arms), its verdict logic rejects wrong
inputs, and the matrix game's regularization / parametrization options and the GDA geometries behave as documented
(Kuhn poker's own tests: tests/problems/test_kuhn_poker.py). The must-fail controls run in test_controls."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from descentlab.optim import OPTIMIZERS
from descentlab.optim._common import simplex_projection
from descentlab.problems.matrix_game import MatrixGame
from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.policy_gradient_games import (
    CHECK_EPSILON,
    CHECK_EXPONENT,
    CHECK_LINEAR,
    GAMES,
    PARAMETRIZATIONS,
    epsilon_verdict,
    exponent_verdict,
    fitted_exponent,
    half_slope_ratio,
    hit_step,
    linear_verdict,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("policy-gradient-games", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    summary = outcome.analysis.summary
    arms = set(zip(summary.game, summary.parametrization, strict=True))
    assert arms == {(g, p) for g in GAMES for p in GAMES[g]}
    assert "kuhn" in outcome.analysis.verdicts[0].what  # the headline reports the Kuhn arm too


# ---- verdict logic on synthetic numbers -------------------------------------------------------------------------


def summary(final: float = 0.4, exponent: float = 1.3) -> pd.DataFrame:
    eps = np.array([0.2, 0.1, 0.05])
    rows = [
        {
            "game": game,
            "parametrization": name,
            "epsilon": e,
            "worst_final_over_eps": final,
            "T": 20.0 * (0.2 / e) ** exponent,
        }
        for game in GAMES
        for name in PARAMETRIZATIONS
        for e in eps
    ]
    return pd.DataFrame(rows)


def test_headline_rejects_an_unreached_epsilon():
    assert epsilon_verdict(summary(0.4)).passed
    assert not epsilon_verdict(summary(1.2)).passed
    assert not epsilon_verdict(summary(np.nan)).passed
    assert epsilon_verdict(summary(0.4)).tolerance == CHECK_EPSILON.tolerance
    kuhn_only = summary(0.4)
    kuhn_only.loc[(kuhn_only.game == "kuhn") & (kuhn_only.epsilon == 0.05), "worst_final_over_eps"] = 1.5
    verdict = epsilon_verdict(kuhn_only)
    assert not verdict.passed and verdict.figure == pytest.approx(1.5) and "kuhn" in verdict.what


def test_exponent_rejects_steep_or_infinite_iteration_counts():
    assert exponent_verdict(summary(exponent=1.3)).passed
    assert exponent_verdict(summary(exponent=1.3)).figure == pytest.approx(1.3)
    assert not exponent_verdict(summary(exponent=CHECK_EXPONENT.tolerance + 0.5)).passed
    never = summary()
    never.loc[never.index[-1], "T"] = np.inf
    assert not exponent_verdict(never).passed
    steep = summary()  # one Kuhn arm alone too steep
    arm = (steep.game == "kuhn") & (steep.parametrization == "natural")
    steep.loc[arm, "T"] = 20.0 * (0.2 / steep.loc[arm, "epsilon"]) ** 3.0
    assert not exponent_verdict(steep).passed
    assert exponent_verdict(steep).figure == pytest.approx(3.0)


def test_hit_step_and_fit():
    steps = np.arange(10)
    assert hit_step(steps, np.array([1, 0.5, 0.2, 0.3, 0.05, 0.04, 0.03, 0.02, 0.01, 0.01]), 0.1) == 4
    assert hit_step(steps, np.full(10, 0.5), 0.1) == np.inf
    assert hit_step(steps, np.full(10, np.nan), 0.1) == np.inf
    eps = np.array([0.2, 0.1, 0.05])
    assert fitted_exponent(eps, 3 / eps**1.5) == pytest.approx(1.5)
    assert np.isnan(fitted_exponent(eps, np.array([1.0, 2.0, np.inf])))


def test_linear_check_separates_linear_from_sublinear_decay():
    steps = np.arange(0, 4000, 10.0)
    linear = np.exp(-0.02 * steps) * (1 + 0.1 * np.cos(0.3 * steps))
    assert half_slope_ratio(steps, linear) < CHECK_LINEAR.tolerance
    slow = 1.0 / (1 + steps) ** 3  # polynomial decay spanning the window
    steps_slow = np.geomspace(1, 1e5, 400)
    assert half_slope_ratio(steps_slow, 1.0 / (1 + steps_slow) ** 3) > CHECK_LINEAR.tolerance
    assert np.isnan(half_slope_ratio(steps, slow[:5].repeat(80)))  # never reaches the floor
    table = pd.DataFrame({"parametrization": ["direct", "softmax", "natural"], "rate ratio": [0.1, 0.1, 0.1]})
    assert linear_verdict(table).passed
    assert not linear_verdict(table.assign(**{"rate ratio": [0.1, 0.1, np.nan]})).passed
    assert not linear_verdict(table.assign(**{"rate ratio": [0.1, 0.1, 2.0]})).passed
    both = pd.concat([table.assign(game="rps"), table.assign(game="kuhn", **{"rate ratio": [0.1, np.nan, 0.1]})])
    assert linear_verdict(both).passed  # Kuhn softmax spans no window: covered by the matrix game's runs
    assert not linear_verdict(both.assign(**{"rate ratio": [0.1, 0.1, 0.1, 0.1, np.nan, 2.0]})).passed


# ---- the problem and optimizer options ----------------------------------------------------------------------------


def simplex_grid(n: int = 60) -> np.ndarray:
    return np.array(
        [(i / n, j / n, 1 - (i + j) / n) for i, j in itertools.product(range(n + 1), repeat=2) if i + j <= n]
    )


@pytest.mark.parametrize(("parametrization", "regularizer"), [("softmax", "entropy"), ("direct", "l2")])
def test_regularized_gap_matches_brute_force(parametrization, regularizer):
    with jax.enable_x64(True):
        game = MatrixGame(matrix="biased_rps", parametrization=parametrization, regularizer=regularizer, tau=0.3)
        params = game.init(jax.random.key(3))
        p, q = (np.asarray(s) for s in game.strategies(params))
        a = np.asarray(game.payoff)
        grid = simplex_grid()

        def reg(s):
            return (
                np.sum(np.where(s > 0, s * np.log(np.where(s > 0, s, 1)), 0), -1)
                if regularizer == "entropy"
                else (0.5 * np.sum(s**2, -1))
            )

        upper = np.max(grid @ (a.T @ p) + 0.3 * reg(p) - 0.3 * reg(grid))
        lower = np.min(grid @ (a @ q) + 0.3 * reg(grid) - 0.3 * reg(q))
        got = float(game.regularized_gap(params))
        assert got >= upper - lower - 1e-12  # the closed form maximizes over the whole simplex
        assert got == pytest.approx(upper - lower, abs=2e-3)
        # at τ = 0 it is the duality gap
        zero = MatrixGame(matrix="biased_rps", parametrization=parametrization, regularizer=regularizer, tau=0.0)
        assert float(zero.regularized_gap(params)) == pytest.approx(float(zero.duality_gap(params)))


def test_default_matrix_game_is_unchanged():
    game = MatrixGame()
    params = game.init(jax.random.key(0))
    p, q = jax.nn.softmax(params["x"]), jax.nn.softmax(params["y"])
    assert game.value(params) == p @ game.payoff @ q
    assert "regularized_gap" not in game.metrics(params)


def run_gda(name: str, geometry: str, game: MatrixGame, eta: float, steps: int) -> dict:
    opt = OPTIMIZERS.get(name).build(eta, geometry=geometry)
    params = game.init(jax.random.key(1))
    state = opt.init(params)

    def field(z):
        return game.grad(z, {"xi": jnp.zeros((1, 6))})[1]

    for _ in range(steps):
        updates, state = opt.update(field(params), state, params, grad_fn=field)
        params = jax.tree.map(jnp.add, params, updates)
    return params


def test_simplex_geometry_is_projected_alternating_gda():
    with jax.enable_x64(True):
        game = MatrixGame(matrix="biased_rps", parametrization="direct", regularizer="l2", tau=0.2)
        a = np.asarray(game.payoff)
        x, y = (np.asarray(v) for v in game.init(jax.random.key(1)).values())
        for _ in range(5):
            x = np.asarray(simplex_projection(jnp.asarray(x - 0.3 * (a @ y + 0.2 * x))))
            y = np.asarray(simplex_projection(jnp.asarray(y + 0.3 * (a.T @ x - 0.2 * y))))
        got = run_gda("alternating_gda", "simplex", game, 0.3, 5)
        np.testing.assert_allclose(got["x"], x, atol=1e-12)
        np.testing.assert_allclose(got["y"], y, atol=1e-12)
        assert float(jnp.sum(got["x"])) == pytest.approx(1.0)


def test_natural_geometry_is_regularized_npg():
    """NPG on softmax logits with entropy: θ ← θ − η (Aq + τ log p) up to a shift by a constant."""
    with jax.enable_x64(True):
        game = MatrixGame(matrix="biased_rps", regularizer="entropy", tau=0.1)
        a = np.asarray(game.payoff)
        x, y = (np.asarray(v) for v in game.init(jax.random.key(1)).values())
        for _ in range(5):
            x = x - 0.7 * (a @ jax.nn.softmax(y) + 0.1 * jax.nn.log_softmax(x))
            y = y - 0.7 * (-(a.T @ jax.nn.softmax(x)) + 0.1 * jax.nn.log_softmax(y))
        got = run_gda("alternating_gda", "softmax_natural", game, 0.7, 5)
        np.testing.assert_allclose(jax.nn.softmax(got["x"]), jax.nn.softmax(x), atol=1e-10)
        np.testing.assert_allclose(jax.nn.softmax(got["y"]), jax.nn.softmax(y), atol=1e-10)


def test_simplex_projection():
    v = jnp.array([0.5, 2.0, -1.0, 0.3])
    out = simplex_projection(v)
    assert float(jnp.sum(out)) == pytest.approx(1.0)
    assert float(jnp.min(out)) >= 0
    grid_point = jnp.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(simplex_projection(grid_point), grid_point, atol=1e-7)
