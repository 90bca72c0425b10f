"""DP-SGD deterministic equivalent: no-clipping limit, and a simulation with aggressive clipping."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.least_squares import LeastSquares
from descentlab.theory import PREDICTIONS, verdict

DP = PREDICTIONS.get("dpsgd_least_squares")
STEPS = np.array([0, 100, 300, 1000, 2000, 3000])


def test_no_clipping_no_noise_is_the_exact_sgd_recursion():
    p = dict(dim=200, spectrum="power_law", noise=0.3, batch_size=3, learning_rate=0.8, schedule="cosine")
    dp = DP.predict(STEPS, **p, l2_norm_clip=1e8)
    sgd = PREDICTIONS.get("sgd_least_squares").predict(STEPS, **p)
    np.testing.assert_allclose(dp["risk"], sgd["risk"], rtol=1e-12)
    np.testing.assert_allclose(dp["clipping_factor"], 1.0)
    np.testing.assert_allclose(dp["noise_factor"], 2.0)


def simulate_dpsgd(problem, eta, clip, noise_multiplier, n_steps, seeds, batch_size=1, seed=0):
    with jax.enable_x64(True):

        def one(key):
            def step(theta, k):
                k_b, k_n = jax.random.split(k)
                batch = problem.sample(k_b, batch_size)
                g = batch["x"] * (batch["x"] @ theta - batch["y"])[:, None]  # per-example gradients
                norms = jnp.linalg.norm(g, axis=1, keepdims=True)
                clipped = g * jnp.minimum(1.0, clip / norms)
                noisy = (clipped.sum(0) + noise_multiplier * clip * jax.random.normal(k_n, theta.shape)) / batch_size
                theta = theta - eta * noisy
                return theta, problem.population_risk(theta)

            risks = jax.lax.scan(step, problem.init(key), jax.random.split(key, n_steps))[1]
            return jnp.concatenate([problem.population_risk(problem.init(key))[None], risks])

        return np.asarray(jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(seed), seeds)))


@pytest.mark.parametrize(
    "spectrum,clip,noise_multiplier", [("isotropic", 0.3, 0.0), ("power_law", 0.3, 0.03), ("isotropic", 0.1, 0.05)]
)
def test_aggressive_clipping_matches_simulation(spectrum, clip, noise_multiplier):
    """d = 1000 (power law α = 0.5), typical per-example gradient norm ≈ 1, so C = 0.1–0.3 clips most steps."""
    fields = dict(dim=1000, spectrum=spectrum, alpha=0.5, noise=0.2)
    risks = simulate_dpsgd(LeastSquares(**fields), 0.5, clip, noise_multiplier, int(STEPS.max()), seeds=4)
    pred = DP.predict(STEPS, **fields, learning_rate=0.5, l2_norm_clip=clip, noise_multiplier=noise_multiplier)
    assert pred["clipping_factor"][0] < 0.3  # clipping is aggressive
    v = verdict(risks.mean(0)[STEPS], pred["risk"], kind="curve", tolerance=0.03)
    assert v.passed, v.line()
    # clipping without accounting for it (plain SGD) is visibly wrong
    sgd = PREDICTIONS.get("sgd_least_squares").predict(STEPS, **fields, learning_rate=0.5)
    assert not verdict(risks.mean(0)[STEPS], sgd["risk"], kind="curve", tolerance=0.03).passed


def test_papers_isotropic_ode_is_the_large_d_limit_of_the_recursion():
    """Batch 1, one pass over n = 4d, step η = η̃ d/n, noise multiplier 2/√n: the paper's ODE in t = step/n depends
    on d only through γ = d/n, and the per-step recursion approaches it as d grows (O(1/d) corrections)."""
    from descentlab.theory.dpsgd_least_squares import isotropic_ode_risk

    clips = np.array([0.1, 0.46, 2.15])
    gaps = []
    for dim in (100, 400):
        n = 4 * dim
        sigma_p = 2.0 / np.sqrt(n)
        ode = isotropic_ode_risk(
            np.array([0.5, 1.0]),
            dim=dim,
            n_samples=n,
            learning_rate=0.5,
            noise=0.5,
            clip=clips,
            noise_multiplier=sigma_p,
            q0=1.0,
        )
        recursion = np.array(
            [
                DP.predict(
                    np.array([n // 2, n]),
                    dim=dim,
                    spectrum="isotropic",
                    noise=0.5,
                    learning_rate=0.5,
                    l2_norm_clip=c,
                    noise_multiplier=sigma_p,
                )["risk"]
                for c in clips
            ]
        )
        gaps.append(np.max(np.abs(ode - recursion) / recursion))
        if dim == 100:
            first = ode
    np.testing.assert_allclose(ode, first, rtol=1e-12)  # same γ, η̃, σ̃: the same ODE whatever d
    assert gaps[1] < gaps[0] < 0.02 and gaps[1] < 0.6 * gaps[0]
