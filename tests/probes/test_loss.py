"""The loss family on least squares (known f*, θ*) and accuracy on a labelled toy problem."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes import PROBES
from descentlab.problems.base import Problem
from descentlab.problems.least_squares import LeastSquares
from tests.probes.probes_testkit import measure


def test_loss_family_on_least_squares():
    problem = LeastSquares(dim=5, noise=0.1)
    batch = problem.sample(jax.random.PRNGKey(0), 64)
    theta = problem.theta_star + 0.5
    x, y = np.asarray(batch["x"], np.float64), np.asarray(batch["y"], np.float64)
    residual = x @ np.asarray(theta, np.float64) - y
    expected_loss = 0.5 * np.mean(residual**2)
    out = {}
    for name in ("metrics", "loss", "grad_norm", "distance"):
        values, _ = measure(PROBES.get(name).factory(), problem, theta, batch)
        out.update(values)
    assert float(out["loss"]) == pytest.approx(expected_loss, rel=1e-4)
    assert float(out["suboptimality"]) == pytest.approx(expected_loss - 0.005, rel=1e-4)
    assert float(out["grad_norm"]) == pytest.approx(np.linalg.norm(x.T @ residual / 64), rel=1e-4)
    assert float(out["distance_to_optimum"]) == pytest.approx(0.5 * np.sqrt(5), rel=1e-5)
    assert "population_risk" in out


@dataclasses.dataclass(frozen=True)
class Labelled(Problem):
    def predict(self, params, x):
        return x @ params

    def loss(self, params, batch):
        return jnp.mean((self.predict(params, batch["x"]) - jax.nn.one_hot(batch["y"], 2)) ** 2)

    def test_set(self):
        return {"x": jnp.array([[1.0, 0.0], [0.0, 1.0]]), "y": jnp.array([1, 1])}


def test_accuracy_with_integer_labels_and_test_set():
    params = jnp.eye(2)  # predicts class = argmax of x
    batch = {"x": jnp.array([[2.0, 1.0], [0.0, 1.0], [3.0, 0.0], [1.0, 2.0]]), "y": jnp.array([0, 1, 1, 1])}
    out, _ = measure(PROBES.get("accuracy").factory(), Labelled(), params, batch)
    assert float(out["accuracy"]) == pytest.approx(0.75)
    assert float(out["accuracy_test"]) == pytest.approx(0.5)
    assert "loss_test" in out


def test_accuracy_with_real_labels_uses_the_sign():
    @dataclasses.dataclass(frozen=True)
    class Signed(Problem):
        def predict(self, params, x):
            return x @ params

    batch = {"x": jnp.array([[1.0], [-2.0], [3.0]]), "y": jnp.array([1.0, 1.0, 1.0])}
    out, _ = measure(PROBES.get("accuracy").factory(), Signed(), jnp.array([1.0]), batch)
    assert float(out["accuracy"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="predict"):
        measure(PROBES.get("accuracy").factory(), LeastSquares(dim=2), jnp.zeros(2), {"x": jnp.ones((2, 2))})
