"""Idealized exact line search against a NumPy step-by-step reference, and its step as the expected-risk minimiser."""

import jax
import jax.numpy as jnp
import numpy as np
import optim_quadratic as q

from descentlab.optim import OPTIMIZERS
from descentlab.optim.line_search import line_search_step
from descentlab.problems.least_squares import LeastSquares

EXTRAS = OPTIMIZERS.get("line_search").extra_args


def reference(eta: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """γ = ‖∇f‖² / ((1 + 1/b) ∇fᵀH∇f + (1/b) tr(H²) 2f), x ← x − η γ ∇f, with b = N (full batch)."""
    x, path, gammas = q.np_init(), [], []
    b = q.N
    for _ in range(steps):
        g = q.np_grad(x)
        gamma = g @ g / ((1 + 1 / b) * g @ (q.H_FLAT * g) + np.sum(q.H_FLAT**2) * 2 * q.np_value(x) / b)
        x = x - eta * gamma * g
        path.append(x.copy())
        gammas.append(gamma)
    return np.array(path), np.array(gammas)


def test_matches_numpy():
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("line_search").build(0.8), EXTRAS, 40)
    want, gammas = reference(0.8, 40)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert np.all(gammas > 0) and np.ptp(gammas) > 0.1 * gammas.mean()  # the step adapts; not a constant


def test_state_holds_the_last_step():
    opt = OPTIMIZERS.get("line_search").build(1.0)
    with jax.enable_x64(True):
        params = q.init(jnp.float64)
        state = opt.init(params)
        _, state = opt.update(jax.grad(q.loss)(params), state, params, **q.extras(EXTRAS, params, jax.random.key(0)))
    _, gammas = reference(1.0, 1)
    np.testing.assert_allclose(float(state[0].step_size), gammas[0], rtol=1e-12)


def test_step_minimises_the_expected_risk_on_gaussian_least_squares():
    """On least squares E[R(θ − γ g)] is a parabola in γ; its Monte-Carlo vertex is the optimizer's γ."""
    with jax.enable_x64(True):
        problem = LeastSquares(dim=8, spectrum="power_law", alpha=1.0, noise=0.5)
        theta = 0.3 * jnp.arange(8.0) / 8.0
        batch = 2
        gamma = float(line_search_step(problem.population_risk, theta, batch, jax.random.key(1)))
        keys = jax.random.split(jax.random.key(2), 400_000)
        grads = jax.vmap(lambda k: jax.grad(problem.loss)(theta, problem.sample(k, batch)))(keys)
        trial = jnp.asarray([0.5, 1.0, 1.5]) * gamma
        risks = [float(jnp.mean(jax.vmap(lambda g, s=s: problem.population_risk(theta - s * g))(grads))) for s in trial]
    a, b, _ = np.polyfit(np.asarray(trial), risks, 2)
    assert abs(-b / (2 * a) / gamma - 1) < 0.02


def test_zero_step_at_the_optimum_of_a_noiseless_problem():
    with jax.enable_x64(True):
        problem = LeastSquares(dim=4, spectrum="isotropic")
        assert float(line_search_step(problem.population_risk, problem.theta_star, 1, jax.random.key(0))) == 0.0
