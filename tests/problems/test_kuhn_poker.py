"""Kuhn poker in sequence form: the treeplexes, the payoff matrix against a hand enumeration of the 6 deals, the game
value by linear programming, the known equilibria, exploitability against brute force over pure strategies, the
regularized best responses against grids, gradients against hand-written sequence-form formulas, and the row-wise
simplex geometry of the GDA optimizers."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.optim import OPTIMIZERS
from descentlab.problems.kuhn_poker import (
    GAME_VALUE,
    PAYOFF,
    PLAYER1,
    PLAYER2,
    KuhnPoker,
    best_response_value,
    equilibrium,
    realization,
    regularizer_range,
)

CARD = {"J": 0, "Q": 1, "K": 2}


def random_behaviours(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    b1, b2 = rng.uniform(size=(6, 1)), rng.uniform(size=(6, 1))
    return np.hstack([1 - b1, b1]), np.hstack([1 - b2, b2])


def hand_payoff_to_player2(b1: np.ndarray, b2: np.ndarray) -> float:
    """Player 2's expected payoff, enumerating the 6 deals and the 5 terminal histories by hand. Columns: action 0 is
    check (first moves) or fold (facing a bet), action 1 is bet or call."""
    p1 = {name: row for name, row in zip(PLAYER1.infosets, b1, strict=True)}
    p2 = {name: row for name, row in zip(PLAYER2.infosets, b2, strict=True)}
    total = 0.0
    for c1, c2 in itertools.permutations("JQK", 2):
        win = 1.0 if CARD[c1] > CARD[c2] else -1.0  # for player 1
        check, bet = p1[f"{c1}:"]
        check2, bet2 = p2[f"{c2}:c"]
        fold2, call2 = p2[f"{c2}:b"]
        fold1, call1 = p1[f"{c1}:cb"]
        player1 = (
            check * check2 * win  # check, check: showdown for 1
            + check * bet2 * fold1 * (-1.0)  # check, bet, fold
            + check * bet2 * call1 * 2 * win  # check, bet, call: showdown for 2
            + bet * fold2 * 1.0  # bet, fold
            + bet * call2 * 2 * win  # bet, call
        )
        total += -player1 / 6
    return total


def plans(b1: np.ndarray, b2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with jax.enable_x64(True):
        return np.asarray(realization(PLAYER1, jnp.asarray(b1))), np.asarray(realization(PLAYER2, jnp.asarray(b2)))


def test_sizes_and_treeplex_constraints():
    assert len(PLAYER1.infosets) == len(PLAYER2.infosets) == 6
    assert len(PLAYER1.sequences) == len(PLAYER2.sequences) == 13
    assert PAYOFF.shape == (13, 13)
    for seed in range(5):
        x, y = plans(*random_behaviours(seed))
        for plex, plan in ((PLAYER1, x), (PLAYER2, y)):
            e_matrix, rhs = plex.constraints
            assert e_matrix.shape == (7, 13)
            np.testing.assert_allclose(e_matrix @ plan, rhs, atol=1e-14)
            assert np.all(plan >= 0)
    # player 1's second decision hangs below "check"; player 2's infosets all below ∅
    assert [PLAYER1.sequences[p] for p in PLAYER1.parent] == ["∅"] * 3 + ["J:c", "Q:c", "K:c"]
    assert set(PLAYER2.parent) == {0}


def test_payoff_matrix_against_hand_enumeration():
    for seed in range(8):
        b1, b2 = random_behaviours(seed)
        x, y = plans(b1, b2)
        assert x @ PAYOFF @ y == pytest.approx(hand_payoff_to_player2(b1, b2), abs=1e-14)
    s1, s2 = {n: i for i, n in enumerate(PLAYER1.sequences)}, {n: i for i, n in enumerate(PLAYER2.sequences)}
    assert PAYOFF[s1["K:b"], s2["J:bc"]] == pytest.approx(-2 / 6)  # K bets, J calls: player 2 pays 2
    assert PAYOFF[s1["J:cbf"], s2["Q:cb"]] == pytest.approx(1 / 6)  # J checks, Q bets, J folds
    assert PAYOFF[s1["Q:c"], s2["K:cc"]] == pytest.approx(1 / 6)  # Q checks, K checks: showdown for 1
    assert PAYOFF[s1["Q:c"], s2["Q:cc"]] == 0  # impossible deal
    assert np.count_nonzero(PAYOFF) == 6 * 5  # one entry per deal and terminal history


def test_game_value_by_linear_programming():
    """min_x max_y xᵀAy = min_{x, v} fᵀv s.t. Fᵀv ≥ Aᵀx, Ex = e, x ≥ 0 (LP duality on the inner maximum)."""
    from scipy.optimize import linprog

    e_matrix, e = PLAYER1.constraints
    f_matrix, f = PLAYER2.constraints
    n, m = e_matrix.shape[1], f_matrix.shape[0]
    cost = np.concatenate([np.zeros(n), f])
    a_ub = np.hstack([PAYOFF.T, -f_matrix.T])
    a_eq = np.hstack([e_matrix, np.zeros((e_matrix.shape[0], m))])
    bounds = [(0, None)] * n + [(None, None)] * m
    result = linprog(cost, A_ub=a_ub, b_ub=np.zeros(a_ub.shape[0]), A_eq=a_eq, b_eq=e, bounds=bounds, method="highs")
    assert result.success
    assert result.fun == pytest.approx(GAME_VALUE, abs=1e-9)
    assert GAME_VALUE == pytest.approx(1 / 18)


@pytest.mark.parametrize("alpha", [0.0, 1 / 6, 1 / 3])
def test_known_equilibria_have_zero_exploitability(alpha):
    with jax.enable_x64(True):
        game = KuhnPoker(parametrization="direct")
        b1, b2 = equilibrium(alpha)
        params = {"x": jnp.asarray(b1), "y": jnp.asarray(b2)}
        metrics = game.metrics(params)
        assert float(metrics["value"]) == pytest.approx(1 / 18, abs=1e-12)  # player 1's value −1/18
        assert abs(float(metrics["duality_gap"])) < 1e-9
        assert hand_payoff_to_player2(b1, b2) == pytest.approx(1 / 18, abs=1e-12)
        # a deviation from the equilibrium is exploitable: player 2 never bluffing with J
        b2[PLAYER2.infosets.index("J:c")] = [1.0, 0.0]
        assert float(game.duality_gap({"x": params["x"], "y": jnp.asarray(b2)})) > 1e-3


def pure_behaviours() -> list[np.ndarray]:
    return [np.array([[1 - a, a] for a in bits], float) for bits in itertools.product((0, 1), repeat=6)]


def test_exploitability_of_uniform_play_against_brute_force():
    """The duality gap of uniform play: the best pure responses of each player, enumerated (2⁶ each)."""
    uniform = np.full((6, 2), 0.5)
    best2 = max(hand_payoff_to_player2(uniform, b2) for b2 in pure_behaviours())
    best1 = min(hand_payoff_to_player2(b1, uniform) for b1 in pure_behaviours())
    with jax.enable_x64(True):
        game = KuhnPoker(parametrization="direct")
        gap = float(game.duality_gap({"x": jnp.asarray(uniform), "y": jnp.asarray(uniform)}))
    assert gap == pytest.approx(best2 - best1, abs=1e-12)
    assert gap == pytest.approx(11 / 12, abs=1e-12)  # the value it takes


def phi(b: np.ndarray, kind: str) -> np.ndarray:
    if kind == "l2":
        return 0.5 * (b**2 + (1 - b) ** 2)
    return sum(np.where(u > 0, u * np.log(np.where(u > 0, u, 1)), 0) for u in (b, 1 - b))


@pytest.mark.parametrize(("kind", "zeta"), [("entropy", 0.0), ("l2", 0.0), ("entropy", 0.05), ("l2", 0.05)])
def test_regularized_best_responses_against_grids(kind, zeta):
    """max_y ⟨g, y⟩ − τR(y) by backward induction against a grid over the behavioural strategies ≥ ζ (player 2's
    infosets are independent; player 1's separate by card into a root and a follow-up decision)."""
    edge = np.geomspace(1e-15, 1e-2, 3000)  # the entropy's maximizers may sit within 1e-10 of a face
    grid = np.concatenate([np.linspace(zeta, 1 - zeta, 20001), zeta + edge, 1 - zeta - edge])  # P(action 1)
    tau = 0.3
    rng = np.random.default_rng(4)
    with jax.enable_x64(True):
        for plex in (PLAYER1, PLAYER2):
            gain = rng.standard_normal(13)
            got = float(best_response_value(plex, jnp.asarray(gain), tau, kind, zeta))
            total = gain[0]
            sub = {}
            for i in reversed(range(6)):  # deepest infosets last in the order, so first here
                first, second = plex.children[i]
                c1, c2 = gain[first] + sub.get(first, 0.0), gain[second] + sub.get(second, 0.0)
                best = np.max((1 - grid) * c1 + grid * c2 - tau * phi(grid, kind))
                if plex.parent[i] == 0:
                    total += best
                else:
                    sub[plex.parent[i]] = sub.get(plex.parent[i], 0.0) + best
            assert got >= total - 1e-12
            assert got == pytest.approx(total, abs=1e-7)


def test_regularizer_ranges():
    assert regularizer_range(PLAYER1, "entropy") == pytest.approx(3 * math.log(3), abs=1e-8)
    assert regularizer_range(PLAYER2, "entropy") == pytest.approx(6 * math.log(2), abs=1e-8)
    assert regularizer_range(PLAYER1, "l2") == pytest.approx(123 / 64, abs=1e-8)
    assert regularizer_range(PLAYER2, "l2") == pytest.approx(3 / 2, abs=1e-8)


def counterfactual_gradient(plex, behaviour: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """∂⟨gain, x(b)⟩/∂b_I(a) = x_p(I) · (gain of (I, a) + the expected values of the infosets below it)."""
    x = np.asarray(realization(plex, jnp.asarray(behaviour)))
    below = gain.copy()
    for i in reversed(range(len(plex.infosets))):
        below[plex.parent[i]] += behaviour[i] @ below[plex.children[i]]
    return x[plex.parent][:, None] * below[plex.children]


@pytest.mark.parametrize("parametrization", ["direct", "softmax"])
def test_field_against_sequence_form_gradients(parametrization):
    """The descent–ascent field (autodiff) against ∇_x f = A y pushed through the realization map by hand: direct —
    the counterfactual gradient; softmax — p ⊙ (g − ⟨p, g⟩) per infoset."""
    with jax.enable_x64(True):
        game = KuhnPoker(parametrization=parametrization)
        params = game.init(jax.random.key(2))
        bx, by = (np.asarray(b) for b in game.behaviours(params))
        x, y = plans(bx, by)
        gx = counterfactual_gradient(PLAYER1, bx, PAYOFF @ y)
        gy = counterfactual_gradient(PLAYER2, by, PAYOFF.T @ x)
        if parametrization == "softmax":
            gx = bx * (gx - np.sum(bx * gx, -1, keepdims=True))
            gy = by * (gy - np.sum(by * gy, -1, keepdims=True))
        _, field = game.grad(params, {"xi": jnp.zeros((1, 24))})
        np.testing.assert_allclose(field["x"], gx, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(field["y"], -gy, rtol=1e-12, atol=1e-14)


def test_exploration_floor_and_regularized_gap_at_its_equilibrium():
    """With ζ the played strategies stay ≥ ζ; regularized NPG drives the regularized gap (over them) to 0."""
    with jax.enable_x64(True):
        game = KuhnPoker(regularizer="entropy", tau=0.05, exploration=0.02, init_scale=0.5)
        params = game.init(jax.random.key(0))
        opt = OPTIMIZERS.get("alternating_gda").build(1.0, geometry="softmax_natural")
        state = opt.init(params)

        def field(z):
            return game.grad(z, {"xi": jnp.zeros((1, 24))})[1]

        @jax.jit
        def run(params, state):
            def body(carry, _):
                p, s = carry
                up, s = opt.update(field(p), s, p, grad_fn=field)
                return (jax.tree.map(jnp.add, p, up), s), None

            return jax.lax.scan(body, (params, state), None, length=1500)[0]

        start = float(game.regularized_gap(params))
        params, _ = run(params, state)
        bx, by = game.behaviours(params)
        assert float(jnp.min(bx)) >= 0.02 - 1e-12 and float(jnp.min(by)) >= 0.02 - 1e-12
        assert start > 0.1
        assert 0 <= float(game.regularized_gap(params)) < 1e-8
        assert float(game.duality_gap(params)) < 0.2


def test_simplex_geometry_projects_each_infoset():
    with jax.enable_x64(True):
        game = KuhnPoker(parametrization="direct", regularizer="l2", tau=0.1)
        params = game.init(jax.random.key(1))
        opt = OPTIMIZERS.get("alternating_gda").build(5.0, geometry="simplex")
        state = opt.init(params)

        def field(z):
            return game.grad(z, {"xi": jnp.zeros((1, 24))})[1]

        for _ in range(3):
            updates, state = opt.update(field(params), state, params, grad_fn=field)
            params = jax.tree.map(jnp.add, params, updates)
        for b in params.values():
            np.testing.assert_allclose(jnp.sum(b, axis=-1), 1.0, atol=1e-12)
            assert float(jnp.min(b)) >= 0
            assert b.shape == (6, 2)
