"""game_spectra: the linear maps against closed forms, against the registered optimizers run on the games
(exact for the bilinear and quadratic games, the linearization near the local-minimax game's equilibrium),
and the two thresholds (GDA step η*, two-timescale EG ratio τ*)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from descentlab.optim import OPTIMIZERS
from descentlab.problems.bilinear_game import BilinearGame
from descentlab.problems.local_minimax_game import LocalMinimaxGame
from descentlab.problems.quadratic_game import QuadraticGame
from descentlab.theory import PREDICTIONS
from descentlab.theory.game_spectra import (
    eg_ratio_threshold,
    field_jacobian,
    gda_step_threshold,
    initial_state,
    iteration_matrix,
    rms_distance,
    spectral_radius,
)

KAPPA = 2.0
SINGULAR = KAPPA ** -(np.arange(4) / 3)  # dim 4: s_i = κ^{-(i-1)/(d-1)}


def test_bilinear_closed_forms():
    jac = field_jacobian("bilinear_game", dim=4, condition_number=KAPPA)
    for eta in (0.1, 0.5):
        assert spectral_radius("simultaneous_gda", jac, eta) == pytest.approx(np.sqrt(1 + eta**2), rel=1e-12)
        eg = np.sqrt(np.max(1 - eta**2 * SINGULAR**2 + eta**4 * SINGULAR**4))
        assert spectral_radius("extragradient", jac, eta) == pytest.approx(eg, rel=1e-12)
        assert spectral_radius("alternating_gda", jac, eta) == pytest.approx(1.0, abs=1e-9)
        # OGD: roots of μ² − (1 − 2ηλ)μ − ηλ, λ = ±i s
        roots = [np.roots([1, -(1 - 2 * eta * 1j * s), -eta * 1j * s]) for s in SINGULAR]
        assert spectral_radius("optimistic_gradient_descent", jac, eta) == pytest.approx(
            np.max(np.abs(roots)), rel=1e-10
        )


def test_gda_step_threshold_closed_form():
    mu = 0.1
    jac = field_jacobian("quadratic_game", dim=4, condition_number=1.5, mu_x=mu, mu_y=mu)
    assert gda_step_threshold(jac) == pytest.approx(2 * mu / (mu**2 + 1.0), rel=1e-8)


def _simulate(problem, name, eta, ratio, steps, z0):
    entry = OPTIMIZERS.get(name)
    kwargs = {"ratio": ratio} if name.startswith("two_timescale") else {}
    opt = entry.build(learning_rate=eta, **kwargs)

    def field(z):
        g = jax.grad(problem.value)(z)
        return {"x": g["x"], "y": -g["y"]}

    def step(carry, _):
        z, s = carry
        extra = {"grad_fn": field} if "grad_fn" in entry.extra_args else {}
        u, s = opt.update(field(z), s, z, **extra)
        z = optax.apply_updates(z, u)
        return (z, s), jnp.concatenate([z["x"], z["y"]])

    _, path = jax.lax.scan(step, (z0, opt.init(z0)), None, length=steps)
    return np.asarray(path)


@pytest.mark.parametrize(
    ("game", "name", "ratio"),
    [
        ("bilinear_game", "simultaneous_gda", 1.0),
        ("bilinear_game", "alternating_gda", 1.0),
        ("bilinear_game", "extragradient", 1.0),
        ("bilinear_game", "optimistic_gradient_descent", 1.0),
        ("quadratic_game", "alternating_gda", 1.0),
        ("quadratic_game", "optimistic_gradient_descent", 1.0),
        ("quadratic_game", "two_timescale_extragradient", 3.0),
        ("quadratic_game", "two_timescale_gda", 3.0),
    ],
)
def test_iteration_matrix_is_the_optimizer_on_linear_games(game, name, ratio):
    """M^t z₀ equals the registered optimizer's iterates (float64) on the bilinear and quadratic games."""
    params = {"dim": 3, "condition_number": 2.0}
    if game == "quadratic_game":
        params |= {"mu_x": 0.2, "mu_y": 0.1}
    eta, steps = 0.3, 12
    with jax.enable_x64(True):
        problem = (BilinearGame if game == "bilinear_game" else QuadraticGame)(**params)
        z0 = {"x": jnp.array([0.5, -0.2, 0.3]), "y": jnp.array([0.1, 0.4, -0.6])}
        path = _simulate(problem, name, eta, ratio, steps, z0)
    m = iteration_matrix(name, field_jacobian(game, **params), eta, ratio)
    jac = field_jacobian(game, **params)
    state = initial_state(name, jac, np.concatenate([z0["x"], z0["y"]]))
    expected = []
    for _ in range(steps):
        state = m @ state
        expected.append(state[:6])
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-10, atol=1e-13)


def test_local_game_linearization_rate_and_thresholds():
    """Near (0, 0) two-timescale EG contracts at ρ(τ) above τ*, and not below; two-timescale GDA never."""
    params = {"dim": 2, "condition_number": 1.0, "curvature": 0.4}
    jac = field_jacobian("local_minimax_game", **params)
    eta = 0.8
    tau_star = eg_ratio_threshold(jac, eta)
    assert spectral_radius("two_timescale_extragradient", jac, eta, 1.01 * tau_star) < 1.0
    assert spectral_radius("two_timescale_extragradient", jac, eta, 0.99 * tau_star) > 1.0
    for tau in (0.5, 1.0, 2.0, 10.0, 100.0):
        assert spectral_radius("two_timescale_gda", jac, eta, tau * tau_star) > 1.0
    with jax.enable_x64(True):
        problem = LocalMinimaxGame(**params)
        z0 = {"x": jnp.array([1e-8, -2e-8]), "y": jnp.array([1.5e-8, 0.5e-8])}
        # late windows while the distance stays ≤ 1e-3 (linear regime): growth 1.13^t below τ*
        for multiple, converges, (start, stop) in ((2.0, True, (200, 400)), (0.5, False, (20, 80))):
            tau = multiple * tau_star
            path = _simulate(problem, "two_timescale_extragradient", eta, tau, stop, z0)
            distance = np.linalg.norm(path, axis=1)[start - 1 : stop - 1]
            fitted = np.exp(np.polyfit(np.arange(start, stop), np.log(distance), 1)[0])
            rho = spectral_radius("two_timescale_extragradient", jac, eta, tau)
            assert (fitted < 1.0) == converges
            assert abs(np.log(fitted) - np.log(rho)) / abs(np.log(rho)) < 0.02, (multiple, fitted, rho)


def test_registered_prediction_rms_distance():
    """sqrt(E‖z_t‖²) from z₀ ~ s·N(0, I/d): 2s² at t = 0; the late ratio of the curve is ρ; Monte Carlo agrees."""
    entry = PREDICTIONS.get("bilinear_game_spectra")
    steps = np.arange(0, 301)
    out = entry.predict(steps, dim=4, condition_number=KAPPA, method="extragradient", learning_rate=0.5)
    assert out["distance"][0] == pytest.approx(np.sqrt(2.0), rel=1e-12)
    rho = out["spectral_radius"][0]
    assert out["distance"][-1] / out["distance"][-2] == pytest.approx(rho, rel=1e-3)
    jac = field_jacobian("bilinear_game", dim=4, condition_number=KAPPA)
    m = iteration_matrix("extragradient", jac, 0.5)
    z0 = np.random.default_rng(0).standard_normal((8, 20_000)) / 2.0  # s = 1, d = 4
    mc = np.sqrt(np.mean(np.sum((np.linalg.matrix_power(m, 50) @ z0) ** 2, axis=0)))
    assert mc == pytest.approx(rms_distance("extragradient", jac, 0.5, 1.0, np.array([50]), 1.0)[0], rel=0.02)
