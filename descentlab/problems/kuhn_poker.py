r"""Kuhn poker in sequence form: :math:`\min_{x\in\mathcal X}\max_{y\in\mathcal Y} x^\top A y` over two treeplexes.

The game (Kuhn 1950): a deck of three cards J < Q < K, each player antes 1 and is dealt one card (chance: each of
the 6 ordered deals with probability 1/6). Player 1 checks or bets 1; after a check player 2 checks (showdown for
the pot of 2) or bets 1, and player 1 then folds or calls; after a bet player 2 folds or calls. Showdowns pay the
higher card 1 (check–check) or 2 (a called bet); a fold loses the ante.

**Sequence form** (Koller, Megiddo, von Stengel 1996; von Stengel 1996). A player's *sequences* are the empty
sequence ∅ and every (infoset, action) pair; a *realization plan* x gives each sequence the product of the player's
own action probabilities along it. Player 1 has 6 infosets (card × {first move, facing a bet after checking}),
player 2 has 6 (card × {facing a bet, facing a check}); 13 sequences each counting ∅. The treeplexes

.. math:: \mathcal X = \{x\ge 0: Ex = e\},\qquad \mathcal Y = \{y \ge 0: Fy = f\}

have one row for ∅ (:math:`x_\emptyset = 1`) and one per infoset I (the actions' sequences sum to the parent
sequence: :math:`\sum_{a} x_{(I,a)} = x_{p(I)}`), e = f = (1, 0, …, 0). The payoff matrix, built here from the game
tree, is :math:`A_{\sigma_1\sigma_2} = \sum_{\text{deals}} \tfrac16\,u_2(z)` over the leaves z whose last sequences
are :math:`(\sigma_1,\sigma_2)`, with :math:`u_2` the payoff to player 2 = what player 1 pays: x (player 1) is the
minimizer, y (player 2) the maximizer, and :math:`x^\top A y` is player 2's expected gain. The game value is
:math:`\min_x\max_y x^\top Ay = 1/18` (player 1's value is −1/18; Kuhn 1950). Player 1's equilibria form the
family α ∈ [0, 1/3]: bet J with probability α, never bet Q and call a bet with Q w.p. α + 1/3, bet K w.p. 3α, fold J
and call K when facing a bet; player 2's unique equilibrium: call a bet with K, with Q w.p. 1/3, fold J; after a
check bet K, check Q, bet J w.p. 1/3 (:func:`equilibrium`).

**Parametrizations** (the policies of Kalogiannis & Farina, *Policy Gradient Methods Converge Globally in
Imperfect-Information Extensive-Form Games*, NeurIPS 2025, OpenReview VYY5sG4EMm): parameters have shape (6, 2), one
row per infoset in the order of :data:`INFOSETS`. ``"softmax"``: logits, behavioural strategy
:math:`b_I = \mathrm{softmax}(\theta_I)` per infoset; ``"direct"``: the behavioural strategies themselves, kept in
the product of per-infoset simplices by a projecting optimizer (``alternating_gda`` / ``simultaneous_gda`` with
``geometry = "simplex"``, which projects each row). The realization plan is :math:`x_{(I,a)} = x_{p(I)} b_I(a)`,
computed top-down, so :math:`f(b^1, b^2) = x(b^1)^\top A\,y(b^2)` is multilinear in the behavioural strategies
(nonconvex–nonconcave) while linear in each realization plan (the paper's hidden convexity). ``exploration`` ζ
plays :math:`b = (1-2\zeta)\pi + \zeta` instead of the policy π itself, so every infoset a player can reach is
reached with probability ≥ ζ per own move (the paper's sufficient-exploration assumption); ζ = 0 (the default)
plays π.

**Regularization** (``regularizer`` ≠ ``"none"``, strength τ = ``tau``): the dilated regularizer
:math:`R(x) = \sum_I x_{p(I)}\,\varphi(b_I)` with :math:`\varphi(b) = \sum_a b_a\log b_a` (``"entropy"``: the dilated
entropy) or :math:`\varphi(b)=\tfrac12\lVert b\rVert^2` (``"l2"``: dilated ℓ2), both convex in x (perspectives), and
:math:`f_\tau = x^\top A y + \tau R(x) - \tau R(y)`. Its equilibrium has exploitability at most
:math:`\tau(\Delta R_{\mathcal X} + \Delta R_{\mathcal Y})` (:func:`regularizer_range`: 3 log 3 + 6 log 2 for the
dilated entropy, 123/64 + 3/2 for dilated ℓ2). τ = 0 (the default) is the plain game.

**Metrics** (every best response by backward induction over the infosets, deepest first, vectorized per depth):
``duality_gap`` — the exploitability :math:`\max_{y'} x^\top A y' - \min_{x'} x'^\top A y \ge 0`, zero exactly at
Nash equilibria; ``value`` — :math:`f_\tau` at the iterate; ``regularized_gap`` (with a regularizer) —
:math:`\max_{y'} f_\tau(x, y') - \min_{x'} f_\tau(x', y)` whose per-infoset maximizations have the closed forms
:math:`\tau\,\mathrm{LSE}(c/\tau)` (entropy) and the simplex projection of c/τ (ℓ2), c the action values plus
their subtrees' values (with ζ > 0 maximized over the behavioural strategies ≥ ζ: the clipped one-dimensional
maximizer, every infoset having two actions); zero exactly at the regularized equilibrium of the game played (the
duality gap at τ = 0).

References: Kuhn, *A simplified two-person poker* (1950); Koller, Megiddo, von Stengel, *Efficient computation of
equilibria for extensive two-person games* (1996); Hoda, Gilpin, Peña, Sandholm, *Smoothing techniques for computing
Nash equilibria of sequential games* (2010) for the dilated regularizers; Kalogiannis, Farina (NeurIPS 2025).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.optim._common import simplex_projection
from descentlab.problems._game import Game
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem

CARDS = ("J", "Q", "K")
# public history -> the acting player's actions ("c" check/call, "b" bet, "f" fold)
MOVES = {"": ("c", "b"), "c": ("c", "b"), "b": ("f", "c"), "cb": ("f", "c")}
GAME_VALUE = 1.0 / 18.0  # min_x max_y xᵀAy: what player 1 loses per hand at equilibrium


def _player1_payoff(history: str, card1: int, card2: int) -> float:
    """Player 1's payoff at a terminal history (antes of 1, one bet of 1)."""
    win = 1.0 if card1 > card2 else -1.0
    return {"cc": win, "cbf": -1.0, "cbc": 2.0 * win, "bf": 1.0, "bc": 2.0 * win}[history]


@dataclasses.dataclass(frozen=True)
class Treeplex:
    """One player's sequence-form polytope. Infosets are in top-down order; ``parent[i]`` is the sequence leading to
    infoset i, ``children[i]`` its two action sequences, ``levels`` the infosets of each depth."""

    infosets: tuple[str, ...]
    sequences: tuple[str, ...]
    parent: np.ndarray
    children: np.ndarray
    levels: tuple[np.ndarray, ...]

    def _one_hot(self, index: np.ndarray) -> np.ndarray:
        out = np.zeros((len(index), len(self.sequences)))
        out[np.arange(len(index)), index] = 1.0
        return out

    @functools.cached_property
    def level_matrices(self) -> tuple[tuple[slice, np.ndarray, np.ndarray, np.ndarray], ...]:
        """Per depth: (the infosets' slice, one-hot rows picking their parent sequences, their first and their
        second action sequences) — gathers and scatters as small dense products (cheap to trace and compile)."""
        out = []
        for level in self.levels:
            assert np.array_equal(level, np.arange(level[0], level[-1] + 1)), "infosets must be sorted by depth"
            rows = (self._one_hot(self.parent[level]), *(self._one_hot(self.children[level, a]) for a in (0, 1)))
            out.append((slice(int(level[0]), int(level[-1]) + 1), *rows))
        return tuple(out)

    @functools.cached_property
    def parent_matrix(self) -> np.ndarray:
        """One-hot rows picking each infoset's parent sequence: x_p(I) = (P x)_I."""
        return self._one_hot(self.parent)

    @property
    def constraints(self) -> tuple[np.ndarray, np.ndarray]:
        """(E, e): x_∅ = 1 and, per infoset, Σ_a x_(I,a) − x_p(I) = 0."""
        e_matrix = np.zeros((1 + len(self.infosets), len(self.sequences)))
        e_matrix[0, 0] = 1.0
        for i, (p, kids) in enumerate(zip(self.parent, self.children, strict=True)):
            e_matrix[1 + i, p] -= 1.0
            e_matrix[1 + i, kids] += 1.0
        rhs = np.zeros(1 + len(self.infosets))
        rhs[0] = 1.0
        return e_matrix, rhs


@functools.lru_cache(maxsize=1)
def sequence_form() -> tuple[Treeplex, Treeplex, np.ndarray]:
    """(player 1's treeplex, player 2's treeplex, A) built by walking the game tree of every deal.

    Infoset names are ``"<card>:<public history>"`` (e.g. ``"Q:cb"``: player 1 holding Q facing a bet after checking),
    sequence names ``"<card>:<history><action>"`` (``"Q:cbc"``: … and calling); ``"∅"`` is the empty sequence."""
    infosets: list[dict[str, int]] = [{}, {}]
    sequences: list[dict[str, int]] = [{"∅": 0}, {"∅": 0}]
    parents: list[list[int]] = [[], []]
    depth: list[list[int]] = [[], []]
    seq_depth: list[dict[int, int]] = [{0: 0}, {0: 0}]
    leaves: list[tuple[int, int, float]] = []

    def walk(history: str, cards: tuple[int, int], last: list[int]) -> None:
        if history in ("cc", "cbf", "cbc", "bf", "bc"):
            leaves.append((last[0], last[1], -_player1_payoff(history, *cards) / 6.0))
            return
        player = len(history) % 2
        name = f"{CARDS[cards[player]]}:{history}"
        if name not in infosets[player]:
            infosets[player][name] = len(infosets[player])
            parents[player].append(last[player])
            depth[player].append(seq_depth[player][last[player]])
            for action in MOVES[history]:
                index = len(sequences[player])
                sequences[player][name + action] = index
                seq_depth[player][index] = depth[player][-1] + 1
        for action in MOVES[history]:
            following = list(last)
            following[player] = sequences[player][name + action]
            walk(history + action, cards, following)

    for card1 in range(len(CARDS)):
        for card2 in range(len(CARDS)):
            if card1 != card2:
                walk("", (card1, card2), [0, 0])
    payoff = np.zeros((len(sequences[0]), len(sequences[1])))
    for s1, s2, value in leaves:
        payoff[s1, s2] += value
    plexes = []
    for player in range(2):
        order = np.argsort(depth[player], kind="stable")  # infosets by depth, then in the order met
        names = [list(infosets[player])[i] for i in order]
        children = np.array([[sequences[player][n + a] for a in MOVES[n.split(":")[1]]] for n in names])
        depths = np.array(depth[player])[order]
        levels = tuple(np.flatnonzero(depths == d) for d in range(int(depths.max()) + 1))
        parent = np.array(parents[player])[order]
        plexes.append(Treeplex(tuple(names), tuple(sequences[player]), parent, children, levels))
    return plexes[0], plexes[1], payoff


PLAYER1, PLAYER2, PAYOFF = sequence_form()
INFOSETS = (PLAYER1.infosets, PLAYER2.infosets)


def realization(plex: Treeplex, behaviour: jax.Array) -> jax.Array:
    """The realization plan of a behavioural strategy (one row per infoset), top-down: x_(I,a) = x_p(I) b_I(a)."""
    x = jnp.zeros(len(plex.sequences), behaviour.dtype).at[0].set(1.0)
    for rows, parent, first, second in plex.level_matrices:
        reach = jnp.asarray(parent, x.dtype) @ x
        b = behaviour[rows]
        x = x + (reach * b[:, 0]) @ jnp.asarray(first, x.dtype) + (reach * b[:, 1]) @ jnp.asarray(second, x.dtype)
    return x


def behaviour_of(plex: Treeplex, x: np.ndarray) -> np.ndarray:
    """A behavioural strategy of a realization plan (uniform at unreachable infosets)."""
    reach = x[plex.parent][:, None]
    return np.where(reach > 0, x[plex.children] / np.where(reach > 0, reach, 1.0), 0.5)


def _phi(behaviour: jax.Array, logits: jax.Array | None, regularizer: str) -> jax.Array:
    """φ(b_I) per infoset: Σ b log b (with log b = log_softmax of the logits when given) or ½‖b‖²."""
    if regularizer == "l2":
        return 0.5 * jnp.sum(behaviour**2, axis=-1)
    if logits is not None:
        return jnp.sum(behaviour * jax.nn.log_softmax(logits, axis=-1), axis=-1)
    return jnp.sum(jax.scipy.special.xlogy(behaviour, behaviour), axis=-1)


def dilated(plex: Treeplex, x: jax.Array, phi: jax.Array) -> jax.Array:
    """R(x) = Σ_I x_p(I) φ(b_I)."""
    return jnp.sum((jnp.asarray(plex.parent_matrix, x.dtype) @ x) * phi)


def _local_max(values: jax.Array, tau: jax.Array, regularizer: str, zeta: float = 0.0) -> jax.Array:
    """Per infoset (rows): max of ⟨c, u⟩ − τ φ(u) over the simplex (τ = 0: the plain max), or over the truncated
    simplex {u ≥ ζ} when ζ > 0 (two actions: the objective is concave in u₁, so clipping its unconstrained
    maximizer to [ζ, 1 − ζ] is exact)."""
    if zeta > 0:
        c1, c2 = values[..., 0], values[..., 1]
        if regularizer == "none":
            u = jnp.where(c1 >= c2, 1.0, 0.0)
        elif regularizer == "entropy":
            u = jax.nn.sigmoid((c1 - c2) / tau)
        else:
            u = jnp.clip(0.5 + (c1 - c2) / (2 * tau), 0.0, 1.0)
        u = jnp.clip(u, zeta, 1 - zeta)
        pair = jnp.stack([u, 1 - u], axis=-1)
        out = u * c1 + (1 - u) * c2
        return out if regularizer == "none" else out - tau * _phi(pair, None, regularizer)
    if regularizer == "none":
        return jnp.max(values, axis=-1)
    if regularizer == "entropy":
        return tau * jax.nn.logsumexp(values / tau, axis=-1)
    u = jax.vmap(simplex_projection)(values / tau)
    return jnp.sum(values * u, axis=-1) - 0.5 * tau * jnp.sum(u**2, axis=-1)


def best_response_value(
    plex: Treeplex, gain: jax.Array, tau: jax.Array | float = 0.0, regularizer: str = "none", zeta: float = 0.0
) -> jax.Array:
    """max of ⟨gain, x⟩ − τ R(x) over the treeplex (ζ > 0: over the plans of behavioural strategies ≥ ζ), by
    backward induction over the infosets (deepest level first): each infoset's value is the local maximum over its
    actions of (gain + the values below each action), added to its parent sequence."""
    tau = jnp.asarray(tau, gain.dtype)
    below = gain
    for _, parent, first, second in reversed(plex.level_matrices):
        values = jnp.stack([jnp.asarray(first, gain.dtype) @ below, jnp.asarray(second, gain.dtype) @ below], -1)
        below = below + _local_max(values, tau, regularizer, zeta) @ jnp.asarray(parent, gain.dtype)
    return below[0]


def regularizer_range(plex: Treeplex, regularizer: str, grid: int = 100_001) -> float:
    """max − min of the dilated regularizer over the treeplex (2 actions per infoset), by backward induction on a
    grid of b ∈ [0, 1] (exact to ~1e-9 for these smooth one-dimensional problems)."""
    if regularizer == "none":
        return 0.0
    b = np.linspace(0.0, 1.0, grid)
    phi = 0.5 * (b**2 + (1 - b) ** 2) if regularizer == "l2" else np.where(b > 0, b * np.log(np.maximum(b, 1e-300)), 0)
    if regularizer == "entropy":
        phi = phi + np.where(b < 1, (1 - b) * np.log(np.maximum(1 - b, 1e-300)), 0)
    out = []
    for pick in (np.max, np.min):
        below = np.zeros(len(plex.sequences))
        for level in reversed(plex.levels):
            for i in level:
                first, second = plex.children[i]
                below[plex.parent[i]] += pick(phi + b * below[first] + (1 - b) * below[second])
        out.append(below[0])
    return float(out[0] - out[1])


def equilibrium(alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Behavioural strategies (rows in the order of :data:`INFOSETS`, columns the actions of ``MOVES``) of the Nash
    equilibrium with player 1's bluffing parameter α ∈ [0, 1/3] (Kuhn 1950)."""
    bet = {"J": alpha, "Q": 0.0, "K": 3 * alpha}
    call1 = {"J": 0.0, "Q": alpha + 1 / 3, "K": 1.0}
    call2 = {"J": 0.0, "Q": 1 / 3, "K": 1.0}
    bet2 = {"J": 1 / 3, "Q": 0.0, "K": 1.0}
    rows1, rows2 = [], []
    for name in PLAYER1.infosets:
        card, history = name.split(":")
        p = bet[card] if history == "" else call1[card]  # actions (c, b) at the root, (f, c) facing a bet
        rows1.append([1 - p, p])
    for name in PLAYER2.infosets:
        card, history = name.split(":")
        p = bet2[card] if history == "c" else call2[card]  # (c, b) after a check, (f, c) facing a bet
        rows2.append([1 - p, p])
    return np.array(rows1), np.array(rows2)


@register_problem("kuhn_poker")
@dataclasses.dataclass(frozen=True)
class KuhnPoker(Game):
    """Kuhn poker in sequence form, behavioural policies (softmax or direct) per infoset; exploitability."""

    summary = "Kuhn poker in sequence form: softmax or direct behavioural policies per infoset; exploitability."
    references = (
        "Kuhn. A simplified two-person poker (1950)",
        "Koller, Megiddo, von Stengel. Efficient computation of equilibria for extensive two-person games (1996)",
        "Kalogiannis, Farina. Policy Gradient Methods Converge Globally in Imperfect-Information Extensive-Form "
        "Games (NeurIPS 2025, OpenReview VYY5sG4EMm)",
    )
    monitor = "duality_gap"
    tiny: ClassVar[dict] = {"regularizer": "entropy", "tau": 0.1, "grad_noise": 0.1}

    init_scale: float = hyper(1.0, "logits θ₀ ~ init_scale · N(0, I) per infoset (direct: b₀ = softmax(θ₀))", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive noise on the field", low=0.0)
    parametrization: str = static(
        "softmax",
        "softmax: logits per infoset; direct: the behavioural strategies (use a row-wise simplex-projecting optimizer)",
        choices=("softmax", "direct"),
    )
    regularizer: str = static(
        "none", "dilated R of the regularized game f + τR(x) − τR(y)", choices=("none", "entropy", "l2")
    )
    tau: float = hyper(0.0, "τ: strength of the regularizer (with regularizer ≠ none)", low=0.0)
    exploration: float = static(
        0.0, "ζ: every action is played w.p. ≥ ζ, b = (1 − 2ζ) π + ζ (sufficient exploration)", low=0.0, high=0.5
    )

    @property
    def payoff(self) -> jax.Array:
        return jnp.asarray(PAYOFF, jnp.result_type(float))

    def init(self, key: jax.Array) -> dict:
        dtype = jnp.result_type(float)
        kx, ky = jax.random.split(key)
        x = self.init_scale * jax.random.normal(kx, (len(PLAYER1.infosets), 2), dtype)
        y = self.init_scale * jax.random.normal(ky, (len(PLAYER2.infosets), 2), dtype)
        if self.parametrization == "direct":
            return {"x": jax.nn.softmax(x, axis=-1), "y": jax.nn.softmax(y, axis=-1)}
        return {"x": x, "y": y}

    def policies(self, params: dict) -> tuple[jax.Array, jax.Array]:
        """The parametrized policies π (one row per infoset): the parameters (direct) or their softmax."""
        if self.parametrization == "direct":
            return params["x"], params["y"]
        return jax.nn.softmax(params["x"], axis=-1), jax.nn.softmax(params["y"], axis=-1)

    def behaviours(self, params: dict) -> tuple[jax.Array, jax.Array]:
        """The played behavioural strategies b = (1 − 2ζ) π + ζ (b = π at ζ = 0)."""
        zeta = self.exploration
        return tuple((1 - 2 * zeta) * pi + zeta for pi in self.policies(params))

    def plans(self, params: dict) -> tuple[jax.Array, jax.Array]:
        """The realization plans (x, y) of the two players."""
        bx, by = self.behaviours(params)
        return realization(PLAYER1, bx), realization(PLAYER2, by)

    def _parts(self, params: dict) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
        """(x, y, R(x), R(y)) — the regularizers are 0 with ``regularizer = "none"``."""
        bx, by = self.behaviours(params)
        x, y = realization(PLAYER1, bx), realization(PLAYER2, by)
        if self.regularizer == "none":
            return x, y, jnp.zeros((), x.dtype), jnp.zeros((), x.dtype)
        softmax = self.parametrization == "softmax" and self.exploration == 0.0
        rx = dilated(PLAYER1, x, _phi(bx, params["x"] if softmax else None, self.regularizer))
        ry = dilated(PLAYER2, y, _phi(by, params["y"] if softmax else None, self.regularizer))
        return x, y, rx, ry

    def value(self, params: dict) -> jax.Array:
        x, y, rx, ry = self._parts(params)
        out = x @ self.payoff @ y
        if self.regularizer != "none":
            out = out + self.tau * (rx - ry)
        return out

    def duality_gap(self, params: dict) -> jax.Array:
        """Exploitability: max_y' xᵀAy' − min_x' x'ᵀAy."""
        x, y = self.plans(params)
        return best_response_value(PLAYER2, self.payoff.T @ x) + best_response_value(PLAYER1, -(self.payoff @ y))

    def regularized_gap(self, params: dict) -> jax.Array:
        """max_y' f_τ(x, y') − min_x' f_τ(x', y) ≥ 0 over the played strategy sets (behavioural strategies ≥ ζ),
        zero at the regularized equilibrium of that game (at τ = 0: the duality gap)."""
        return self._metrics(params)["regularized_gap"]

    def _metrics(self, params: dict) -> dict[str, jax.Array]:
        x, y, rx, ry = self._parts(params)
        toward_x, toward_y = self.payoff.T @ x, -(self.payoff @ y)  # the gains of y's and of x's deviations
        out = {
            "duality_gap": best_response_value(PLAYER2, toward_x) + best_response_value(PLAYER1, toward_y),
            "value": x @ self.payoff @ y + self.tau * (rx - ry),
        }
        if self.regularizer != "none":
            tau = jnp.asarray(self.tau, x.dtype)
            positive = tau > 0
            safe = jnp.where(positive, tau, 1.0)
            zeta, kind = self.exploration, self.regularizer
            regular = (  # [τR(x) + max_y' (xᵀAy' − τR(y'))] − [−τR(y) + min_x' (x'ᵀAy + τR(x'))]
                safe * (rx + ry)
                + best_response_value(PLAYER2, toward_x, safe, kind, zeta)
                + best_response_value(PLAYER1, toward_y, safe, kind, zeta)
            )
            out["regularized_gap"] = jnp.where(positive, regular, out["duality_gap"])
        return out

    def metrics(self, params: dict) -> dict[str, jax.Array]:
        return self._metrics(params)

    @property
    def f_star(self) -> float:
        """The value of the game, min_x max_y xᵀAy = 1/18."""
        return GAME_VALUE

    def optimum(self) -> dict | None:
        """The α = 0 equilibrium (direct parametrization; with softmax logits it is at infinity: None)."""
        if self.parametrization != "direct":
            return None
        bx, by = equilibrium(0.0)
        dtype = jnp.result_type(float)
        return {"x": jnp.asarray(bx, dtype), "y": jnp.asarray(by, dtype)}
