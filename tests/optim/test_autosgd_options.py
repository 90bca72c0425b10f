"""AutoSGD's additive options: ``adapt=False`` is constant-step SGD at γ₀; ``loss_at="before"`` scores each
stream by the loss of its iterate before the step; the ``effective_lr`` probe reads AutoSGD's γ."""

import jax
import jax.numpy as jnp
import numpy as np
import optim_quadratic as q
import pytest

from descentlab.optim import OPTIMIZERS
from descentlab.probes.effective_lr import _effective_lr


def reference(gamma, tau, c, steps, before):
    mid = q.np_init()
    low, high = mid.copy(), mid.copy()
    acc, k, out = np.zeros(3), 0, []
    for _ in range(steps):
        if before:
            acc += [q.np_value(low), q.np_value(mid), q.np_value(high)]
        low = low - gamma / c * q.np_grad(low)
        mid = mid - gamma * q.np_grad(mid)
        high = high - gamma * c * q.np_grad(high)
        if not before:
            acc += [q.np_value(low), q.np_value(mid), q.np_value(high)]
        k += 1
        if k == tau:
            best = int(np.argmin(acc))
            gamma *= (1 / c, 1.0, c)[best]
            mid = (low, mid, high)[best].copy()
            low, high = mid.copy(), mid.copy()
            acc, k = np.zeros(3), 0
        out.append(mid.copy())
    return np.array(out)


@pytest.mark.parametrize("gamma", [0.01, 5.0])
def test_loss_before_the_step_matches_numpy(gamma):
    entry = OPTIMIZERS.get("autosgd")
    with jax.enable_x64(True):
        got = q.trajectory(entry.build(gamma, episode_length=3, loss_at="before"), entry.extra_args, 24)
    np.testing.assert_allclose(got, reference(gamma, 3, 2.0, 24, before=True), rtol=1e-6, atol=1e-12)


def test_without_adaptation_it_is_constant_step_sgd():
    entry = OPTIMIZERS.get("autosgd")
    with jax.enable_x64(True):
        got = q.trajectory(entry.build(0.01, episode_length=3, adapt=False), entry.extra_args, 24)
    x, ref = q.np_init(), []
    for _ in range(24):
        x = x - 0.01 * q.np_grad(x)
        ref.append(x.copy())
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)


def test_effective_lr_reads_autosgd_gamma():
    entry = OPTIMIZERS.get("autosgd")
    opt = entry.build(0.1, episode_length=1)
    params = jnp.ones(3)
    state = opt.init(params)
    grad_fn, value_fn = (lambda p: 2 * p), (lambda p: jnp.sum(p**2))
    _, state = opt.update(grad_fn(params), state, params, grad_fn=grad_fn, value_fn=value_fn)

    class Ctx:
        learning_rate = 0.1
        opt_state = (state,)

    assert float(_effective_lr(Ctx())["effective_lr"]) == pytest.approx(float(state.gamma))
    assert float(state.gamma) == pytest.approx(0.2)  # γ doubled was taken: the probe reads γ, not the schedule
