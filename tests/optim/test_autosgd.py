"""AutoSGD-style episodes against NumPy, and its step-size adaptation from a bad initial γ."""

import jax
import numpy as np
import optim_quadratic as q
import pytest

from descentlab.optim import OPTIMIZERS


def reference(gamma, tau, c, steps):
    mid = q.np_init()
    low, high = mid.copy(), mid.copy()
    acc, k, out, gammas = np.zeros(3), 0, [], []
    for _ in range(steps):
        low = low - gamma / c * q.np_grad(low)
        mid = mid - gamma * q.np_grad(mid)
        high = high - gamma * c * q.np_grad(high)
        acc += [q.np_value(low), q.np_value(mid), q.np_value(high)]
        k += 1
        if k == tau:
            best = int(np.argmin(acc))
            gamma *= (1 / c, 1.0, c)[best]
            mid = (low, mid, high)[best].copy()
            low, high = mid.copy(), mid.copy()
            acc, k = np.zeros(3), 0
        out.append(mid.copy())
        gammas.append(gamma)
    return np.array(out), gammas


@pytest.mark.parametrize(("gamma", "tau"), [(0.01, 3), (5.0, 2)])
def test_matches_numpy(gamma, tau):
    entry = OPTIMIZERS.get("autosgd")
    with jax.enable_x64(True):
        got = q.trajectory(entry.build(gamma, episode_length=tau), entry.extra_args, 24)
    ref, _ = reference(gamma, tau, 2.0, 24)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-12)


def test_learning_rate_moves_towards_the_stable_range():
    """From γ₀ far too small (0.001) or too large (5 > 2/L = 1), γ enters [1/8, 2] (1/L = 0.5) within
    30 steps and the iterate converges; once converged, ties go to the smallest step (the paper's AutoGD
    also decreases γ upon convergence)."""
    for gamma0 in (1e-3, 5.0):
        path, gammas = reference(gamma0, 3, 2.0, 90)
        assert any(0.125 <= g <= 2.0 for g in gammas[:30]), (gamma0, gammas[:30])
        assert q.np_value(path[-1]) - q.f_star() < 1e-8 * (q.np_value(q.np_init()) - q.f_star()) + 1e-12
