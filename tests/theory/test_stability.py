"""Stability thresholds against simulated runs on quadratics, just below and just above the line."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from descentlab.problems.quadratic import Quadratic
from descentlab.theory import PREDICTIONS, verdict
from descentlab.theory.stability import preconditioned_sharpness_threshold

STEPS = np.arange(0, 301, 20)


def _run_momentum_gd(hessian, x0, eta, beta, n):
    """Loss curves of momentum GD from each row of x0: shape (n + 1, rows)."""
    x, m, out = x0.copy(), np.zeros_like(x0), [0.5 * np.sum((x0 @ hessian) * x0, axis=1)]
    for _ in range(n):
        m = x @ hessian + beta * m
        x = x - eta * m
        out.append(0.5 * np.sum((x @ hessian) * x, axis=1))
    return np.array(out)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_gd_quadratic_exact_loss_and_threshold(momentum):
    fields = dict(dim=20, condition_number=10.0, rotation_seed=3, init_scale=1.0)
    entry = PREDICTIONS.get("gd_quadratic")
    threshold = entry.predict(np.array([0]), **fields, momentum=momentum)["threshold"][0]
    assert threshold == pytest.approx(2 * (1 + momentum))  # L = 1
    with jax.enable_x64(True):
        problem = Quadratic(**fields)
        hessian = np.asarray(problem.hessian(), dtype=np.float64)
        x0s = np.asarray(jax.vmap(problem.init)(jax.random.split(jax.random.key(0), 400)), dtype=np.float64)
    for factor, stable in [(0.98, True), (1.02, False)]:
        eta = factor * threshold
        pred = entry.predict(STEPS, **fields, learning_rate=eta, momentum=momentum)["loss"]
        sims = _run_momentum_gd(hessian, x0s, eta, momentum, int(STEPS.max()))[STEPS].T
        mean, se = sims.mean(0), sims.std(0, ddof=1) / np.sqrt(len(x0s))
        v = verdict(mean, pred, kind="standard_error", stderr=se, tolerance=3.0)
        assert v.passed, v.line()
        assert bool(mean[-1] < mean[0]) is stable


def test_edge_of_stability_line_separates_growth_from_decay():
    """GD on ½λx²: |x| shrinks iff λ < 2/η — the sharpness line."""
    eta = 0.1
    line = PREDICTIONS.get("edge_of_stability").predict(np.array([0, 10]), learning_rate=eta)["sharpness"][0]
    for lam, grows in [(0.95 * line, False), (1.05 * line, True)]:
        x = 1.0
        for _ in range(200):
            x -= eta * lam * x
        assert bool(abs(x) > 1.0) is grows


@pytest.mark.parametrize("beta1", [0.0, 0.9])
def test_preconditioned_threshold_with_a_frozen_preconditioner(beta1):
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    hessian = q @ np.diag(np.linspace(0.1, 3.0, 6)) @ q.T
    precond = np.diag(rng.uniform(0.5, 2.0, 6))
    sharp = np.max(np.real(np.linalg.eigvals(np.linalg.solve(precond, hessian))))
    eta_crit = preconditioned_sharpness_threshold(1.0, beta1) / sharp
    for factor, stable in [(0.97, True), (1.03, False)]:
        eta = factor * eta_crit
        x, m = np.ones(6), np.zeros(6)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(3000):
                m = beta1 * m + (1 - beta1) * hessian @ x
                x = x - eta * np.linalg.solve(precond, m)
        assert bool(np.linalg.norm(x) < 1.0) is stable
    line = PREDICTIONS.get("adaptive_edge_of_stability").predict(np.array([0]), learning_rate=0.01, beta1=0.9)
    assert line["preconditioned_sharpness"][0] == pytest.approx(3800.0)


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9])
def test_nesterov_threshold_is_where_the_iteration_leaves_the_unit_disc(beta):
    """Nesterov on a mode of curvature λ: spectral radius of the 2×2 iteration crosses 1 at the threshold."""
    from descentlab.theory.stability import nesterov_sharpness_threshold

    eta = 0.1
    edge = nesterov_sharpness_threshold(eta, beta)

    def radius(lam: float) -> float:
        a = 1 - eta * lam
        step = np.array([[(1 + beta) * a, -beta * a], [1.0, 0.0]])  # (y_{t+1}, y_t) from (y_t, y_{t-1})
        return float(np.max(np.abs(np.linalg.eigvals(step))))

    assert radius(edge * 0.999) < 1 < radius(edge * 1.001)
