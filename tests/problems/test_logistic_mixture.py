"""Logistic mixture: population loss and accuracy against Monte Carlo, L against the MC Hessian."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.logistic_mixture import LogisticMixture

N_MC = 100_000


def _mc(problem, params, key=1):
    batch = problem.sample(jax.random.key(key), N_MC)
    losses = np.asarray(jax.vmap(problem.example_loss, in_axes=(None, 0))(params, batch), np.float64)
    if problem.binary:
        correct = np.asarray(batch["y"] * (batch["x"] @ params) > 0, np.float64)
    else:
        correct = np.asarray(jnp.argmax(batch["x"] @ params.T, axis=1) == batch["y"], np.float64)
    return losses, correct, batch


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_classes": 2, "covariance": "power_law", "alpha": 1.0, "mean_norm": 1.5, "noise": 0.7},
        {"n_classes": 2, "covariance": "zero_one", "distinct_covariances": True, "mean_norm": 0.5},
        {"n_classes": 3, "covariance": "power_law", "distinct_covariances": True, "mean_norm": 1.2, "noise": 0.8},
        {"n_classes": 4, "covariance": "isotropic"},
    ],
)
def test_population_loss_and_accuracy_match_monte_carlo(kwargs):
    problem = LogisticMixture(dim=12, init_scale=3.0, **kwargs)
    params = problem.init(jax.random.key(0))
    losses, correct, _ = _mc(problem, params)
    metrics = problem.metrics(params)
    # binary: quadrature (error << MC); k > 2: a held-out set of 2^14 per class, independent of the MC draws
    slack = 0.0 if problem.binary else 0.02
    se_loss = losses.std() / np.sqrt(N_MC)
    assert abs(losses.mean() - float(metrics["population_loss"])) < 4 * se_loss + slack * losses.mean()
    se_acc = correct.std() / np.sqrt(N_MC)
    assert abs(correct.mean() - float(metrics["population_accuracy"])) < 4 * se_acc + slack


def test_classes_means_and_overlaps():
    problem = LogisticMixture(dim=10, n_classes=3, mean_norm=2.0, init_scale=1.0)
    means = np.asarray(problem.means)
    np.testing.assert_allclose(means @ means.T, 4.0 * np.eye(3), atol=1e-5)
    params = problem.init(jax.random.key(0))
    metrics = problem.metrics(params)
    overlaps = np.asarray(params) @ means.T
    for j in range(3):
        for c in range(3):
            assert float(metrics[f"overlap_{j}_{c}"]) == pytest.approx(overlaps[j, c], rel=1e-5, abs=1e-6)
    labels = np.asarray(problem.sample(jax.random.key(1), 30_000)["y"])
    np.testing.assert_allclose(np.bincount(labels) / labels.size, [1 / 3] * 3, atol=0.015)
    binary = LogisticMixture(dim=10, mean_norm=2.0, init_scale=1.0)
    theta = binary.init(jax.random.key(0))
    assert float(binary.metrics(theta)["overlap_mean"]) == pytest.approx(float(theta @ binary.means[0]), rel=1e-5)
    np.testing.assert_allclose(np.asarray(binary.means[1]), -np.asarray(binary.means[0]))


def test_binary_smoothness_is_the_hessian_at_zero():
    """At θ = 0 the population Hessian is ¼E[xxᵀ]: its top eigenvalue is exactly L."""
    problem = LogisticMixture(dim=8, covariance="power_law", mean_norm=1.5, noise=0.6)
    batch = problem.sample(jax.random.key(3), N_MC)
    hessian = jax.hessian(problem.loss)(jnp.zeros(8), batch)
    top = np.linalg.eigvalsh(np.asarray(hessian, np.float64))[-1]
    assert top == pytest.approx(float(problem.smoothness), rel=0.02)
    isotropic = LogisticMixture(dim=8, mean_norm=1.5, noise=0.6)  # E xxᵀ = μμᵀ + σ²I/d
    assert float(isotropic.smoothness) == pytest.approx(0.25 * (1.5**2 + 0.36 / 8), rel=1e-5)


def test_multiclass_smoothness_bounds_the_hessian():
    problem = LogisticMixture(dim=6, n_classes=3, covariance="zero_one", mean_norm=1.5, init_scale=2.0)
    batch = problem.sample(jax.random.key(4), 5_000)
    hessian_at = jax.jit(jax.hessian(problem.loss))
    for seed in range(2):
        w = problem.init(jax.random.key(seed))
        hessian = hessian_at(w, batch).reshape(18, 18)
        assert np.linalg.eigvalsh(np.asarray(hessian, np.float64))[-1] <= float(problem.smoothness) * 1.01


def test_too_many_classes_is_a_spec_error():
    from descentlab.params import SpecError

    with pytest.raises(SpecError, match="n_classes"):
        LogisticMixture(dim=3, n_classes=4)
