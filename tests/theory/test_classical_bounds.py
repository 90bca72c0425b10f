"""Every classical bound holds on runs that meet its assumptions and fails where one is broken."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.theory import PREDICTIONS, verdict
from descentlab.theory._least_squares import learning_rates

RNG = np.random.default_rng(0)
N, D = 60, 8
A = RNG.standard_normal((N, D)) * np.linspace(1.0, 0.3, D)
X_TRUE = RNG.standard_normal(D)
Y = A @ X_TRUE + 0.5 * RNG.standard_normal(N)
H = A.T @ A / N
L_FULL = float(np.linalg.eigvalsh(H).max())
MU_FULL = float(np.linalg.eigvalsh(H).min())
L_MAX = float(np.max(np.sum(A**2, axis=1)))
X_STAR = np.linalg.solve(H, A.T @ Y / N)
SIGMA_STAR_SQ = float(np.mean(np.sum((A * (A @ X_STAR - Y)[:, None]) ** 2, axis=1)))
X0 = np.zeros(D)
D2 = float(np.sum((X0 - X_STAR) ** 2))
STEPS = np.arange(0, 401, 10)


def bound(name, curve, **p):
    return PREDICTIONS.get(name).predict(STEPS, **p)[curve]


def f_ls(x):
    return 0.5 * np.mean((A @ x - Y) ** 2, axis=-1) if x.ndim == 1 else 0.5 * np.mean((x @ A.T - Y) ** 2, axis=-1)


def run_gd(step, grad, x0, steps=STEPS):
    xs, x = [x0], x0
    for _ in range(int(steps.max())):
        x = x - step * grad(x)
        xs.append(x)
    return np.array(xs)[steps]


@pytest.mark.parametrize("factor,holds", [(1.0, True), (0.5, True), (2.2, False)])
def test_gd_convex_least_squares(factor, holds):
    f_star = f_ls(X_STAR)
    with np.errstate(over="ignore", invalid="ignore"):
        xs = run_gd(factor / L_FULL, lambda x: A.T @ (A @ x - Y) / N, X0)
        sub = f_ls(xs) - f_star
    b = bound("gd_convex", "suboptimality", smoothness=L_FULL, dist0_sq=D2, learning_rate=factor / L_FULL)
    assert verdict(sub, b, kind="bound").passed is holds


def _logistic_ridge(mu):
    labels = np.sign(A @ X_TRUE + 0.3 * RNG.standard_normal(N))

    def grad(x):
        margin = labels * (A @ x)
        return -(A * (labels / (1 + np.exp(margin)))[:, None]).mean(0) + mu * x

    def loss(x):
        return np.mean(np.logaddexp(0.0, -labels * (x @ A.T).T).T, axis=-1) + 0.5 * mu * np.sum(x**2, axis=-1)

    smooth = L_FULL / 4 + mu
    x = np.zeros(D)
    for _ in range(20000):
        x = x - grad(x) / smooth
    return grad, loss, smooth, x


@pytest.mark.parametrize("factor,holds", [(1.0, True), (2.5, False)])
def test_gd_strongly_convex_logistic_ridge(factor, holds):
    mu = 0.05
    grad, _, smooth, x_star = _logistic_ridge(mu)
    with np.errstate(over="ignore", invalid="ignore"):
        xs = run_gd(factor / smooth, grad, X0)
    dist = np.sum((xs - x_star) ** 2, axis=1)
    b = bound(
        "gd_strongly_convex",
        "distance_sq",
        smoothness=smooth,
        strong_convexity=mu,
        dist0_sq=float(np.sum(x_star**2)),
        learning_rate=factor / smooth,
    )
    assert verdict(dist, b, kind="bound").passed is holds


def run_sgd(etas, seeds=400, order="with_replacement", ridge=0.0, seed=1):
    """SGD on f = (1/n) Σ ½(a_iᵀx − y_i)² + ridge/2 ‖x‖², vectorised over seeds; returns all iterates."""
    rng = np.random.default_rng(seed)
    x = np.tile(X0, (seeds, 1))
    xs = [x]
    fixed = rng.permuted(np.tile(np.arange(N), (seeds, 1)), axis=1)
    perm = fixed
    for t, eta in enumerate(etas):
        if order == "with_replacement":
            i = rng.integers(0, N, seeds)
        else:
            if order == "random_reshuffling" and t % N == 0:
                perm = rng.permuted(np.tile(np.arange(N), (seeds, 1)), axis=1)
            i = perm[:, t % N]
        a = A[i]
        x = x - eta * (a * (np.sum(a * x, axis=1) - Y[i])[:, None] + ridge * x)
        xs.append(x)
    return np.array(xs)  # (T+1, seeds, D)


@pytest.mark.parametrize(
    "schedule,factor,holds", [("constant", 0.5, True), ("polynomial", 0.5, True), ("constant", 8.0, False)]
)
def test_sgd_strongly_convex(schedule, factor, holds):
    gamma = factor / L_MAX
    p = dict(
        smoothness=L_MAX,
        strong_convexity=MU_FULL,
        dist0_sq=D2,
        sigma_star_sq=SIGMA_STAR_SQ,
        learning_rate=gamma,
        schedule=schedule,
        t0=50.0,
    )

    with np.errstate(over="ignore", invalid="ignore"):
        xs = run_sgd(learning_rates(int(STEPS.max()), p))
        dist = np.mean(np.sum((xs - X_STAR) ** 2, axis=2), axis=1)[STEPS]
    b = bound("sgd_strongly_convex", "distance_sq", **p)
    assert verdict(dist, b, kind="bound").passed is holds
    if holds:  # the bound is not vacuous: within two orders of magnitude at the end
        assert b[-1] < 100 * dist[-1]


@pytest.mark.parametrize("factor,holds", [(0.25, True), (8.0, False)])
def test_sgd_convex_average_iterate(factor, holds):
    gamma = factor / L_MAX
    with np.errstate(over="ignore", invalid="ignore"):
        xs = run_sgd(np.full(int(STEPS.max()), gamma))
        avg = np.cumsum(xs[:-1], axis=0) / np.arange(1, xs.shape[0])[:, None, None]
        avg = np.concatenate([xs[:1], avg])  # x̄_t over s < t (x̄_0 := x_0)
        sub = np.mean(f_ls(avg.reshape(-1, D)).reshape(avg.shape[:2]), axis=1)[STEPS] - f_ls(X_STAR)
    b = bound(
        "sgd_convex", "suboptimality", smoothness=L_MAX, dist0_sq=D2, sigma_star_sq=SIGMA_STAR_SQ, learning_rate=gamma
    )
    assert verdict(sub, b, kind="bound").passed is holds


@pytest.mark.parametrize("order", ["random_reshuffling", "single_shuffle"])
@pytest.mark.parametrize("factor,holds", [(1.0, True), (8.0, False)])
def test_shuffling_strongly_convex(order, factor, holds):
    ridge = 0.2  # every f_i = ½(a_iᵀx − y_i)² + ridge/2‖x‖² is ridge-strongly convex
    smooth = L_MAX + ridge
    x_star = np.linalg.solve(H + ridge * np.eye(D), A.T @ Y / N)
    sigma = float(np.mean(np.sum((A * (A @ x_star - Y)[:, None] + ridge * x_star) ** 2, axis=1)))
    gamma = factor / smooth
    steps = np.arange(0, 10 * N + 1, N)
    with np.errstate(over="ignore", invalid="ignore"):
        xs = run_sgd(np.full(int(steps.max()), gamma), seeds=200, order=order, ridge=ridge)
        dist = np.mean(np.sum((xs - x_star) ** 2, axis=2), axis=1)[steps]
    b = PREDICTIONS.get("shuffling_strongly_convex").predict(
        steps,
        smoothness=smooth,
        strong_convexity=ridge,
        dist0_sq=float(np.sum(x_star**2)),
        sigma_star_sq=sigma,
        learning_rate=gamma,
        n_examples=N,
    )["distance_sq"]
    assert verdict(dist, b, kind="bound").passed is holds


def _lasso(step, reg, steps):
    x, xs = X0.copy(), [X0.copy()]
    for _ in range(int(steps.max())):
        z = x - step * (A.T @ (A @ x - Y) / N)
        x = np.sign(z) * np.maximum(np.abs(z) - step * reg, 0.0)
        xs.append(x)
    return np.array(xs)


@pytest.mark.parametrize("factor,holds", [(1.0, True), (2.5, False)])
def test_proximal_gd_lasso(factor, holds):
    reg = 0.1
    x_star = _lasso(1.0 / L_FULL, reg, np.array([20000]))[-1]

    def F(x):
        return f_ls(x) + reg * np.sum(np.abs(x), axis=-1)

    with np.errstate(over="ignore", invalid="ignore"):
        xs = _lasso(factor / L_FULL, reg, STEPS)[STEPS]
        sub = F(xs) - F(x_star)
        dist = np.sum((xs - x_star) ** 2, axis=1)
    d2 = float(np.sum(x_star**2))
    b1 = bound("proximal_gd_convex", "suboptimality", smoothness=L_FULL, dist0_sq=d2, learning_rate=factor / L_FULL)
    b2 = bound(
        "proximal_gd_strongly_convex",
        "distance_sq",
        smoothness=L_FULL,
        strong_convexity=MU_FULL,
        dist0_sq=d2,
        learning_rate=factor / L_FULL,
    )
    assert verdict(sub, b1, kind="bound").passed is holds
    assert verdict(dist, b2, kind="bound").passed is holds


def test_subgradient_l1_regression_and_a_nonconvex_counterexample():
    y = A @ X_TRUE  # f(x) = (1/n)‖Ax − y‖₁, f* = 0 at X_TRUE, G = mean ‖a_i‖
    lipschitz = float(np.mean(np.linalg.norm(A, axis=1)))
    p = dict(
        lipschitz=lipschitz, dist0_sq=float(np.sum(X_TRUE**2)), learning_rate=0.5, schedule="polynomial", power=0.5
    )
    etas = learning_rates(int(STEPS.max()), p)
    x, best, vals = X0.copy(), np.inf, []
    for t in range(int(STEPS.max()) + 1):
        vals.append(best)  # min over s < t
        best = min(best, float(np.mean(np.abs(A @ x - y))))
        if t < etas.size:
            x = x - etas[t] * (A.T @ np.sign(A @ x - y)) / N
    measured = np.array(vals)[STEPS]
    b = bound("subgradient", "best_suboptimality", **p)
    assert verdict(measured, b, kind="bound").passed
    # nonconvex, 1-Lipschitz: f(x) = min(|x − 2| + ½, |x + 2|) traps the method at the local minimum x = 2
    p2 = dict(lipschitz=1.0, dist0_sq=4.5**2, learning_rate=0.1)
    x, best, vals = 2.5, np.inf, []
    for _ in range(int(STEPS.max()) + 1):
        vals.append(best)
        best = min(best, min(abs(x - 2) + 0.5, abs(x + 2)))
        x = x - 0.1 * (np.sign(x - 2) if abs(x - 2) + 0.5 < abs(x + 2) else np.sign(x + 2))
    assert not verdict(np.array(vals)[STEPS], bound("subgradient", "best_suboptimality", **p2), kind="bound").passed
