"""DP-SGD: per-example clipping against NumPy, the noise's scale, and ε against dp-accounting."""

import dp_accounting
import jax
import jax.numpy as jnp
import numpy as np
import optim_quadratic as q
import pytest
from dp_accounting import pld, rdp

from descentlab.optim import OPTIMIZERS
from descentlab.optim.dpsgd import dp_epsilon


def reference(eta: float, clip: float, beta: float, steps: int) -> np.ndarray:
    x, m, out = q.np_init(), np.zeros(6), []
    for _ in range(steps):
        per = q.np_example_grads(x)
        norms = np.linalg.norm(per, axis=1, keepdims=True)
        g = np.mean(per * np.minimum(1.0, clip / norms), axis=0)
        m = beta * m + g
        x = x - eta * m
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize(("clip", "beta"), [(0.1, 0.0), (0.05, 0.9)])
def test_noiseless_dpsgd_matches_numpy(clip, beta):
    entry = OPTIMIZERS.get("dpsgd")
    with jax.enable_x64(True):
        opt = entry.build(0.5, l2_norm_clip=clip, noise_multiplier=0.0, momentum=beta)
        got = q.trajectory(opt, entry.extra_args, 15)
    np.testing.assert_allclose(got, reference(0.5, clip, beta, 15), rtol=1e-6, atol=1e-12)


def test_per_example_clipping_differs_from_clipping_the_mean():
    """At clip 0.1 the per-example rule and "clip the mean gradient" differ, so the test above discriminates."""
    per = q.np_example_grads(q.np_init())
    per_example = np.mean(per * np.minimum(1.0, 0.1 / np.linalg.norm(per, axis=1, keepdims=True)), axis=0)
    mean = per.mean(0)
    clipped_mean = mean * min(1.0, 0.1 / np.linalg.norm(mean))
    assert np.linalg.norm(per_example - clipped_mean) > 1e-2


def test_noise_has_std_sigma_c_over_b():
    """With zero per-example gradients the privatized gradient is N(0, (σC/B)²) and differs per key."""
    sigma, clip, b = 1.3, 0.7, 8
    opt = OPTIMIZERS.get("dpsgd").build(1.0, l2_norm_clip=clip, noise_multiplier=sigma)
    params = {"w": jnp.zeros(50)}
    state = opt.init(params)
    zeros = {"w": jnp.zeros((b, 50))}

    def draw(key):
        u, _ = opt.update(params, state, params, example_grads=zeros, key=key)
        return -u["w"]

    samples = np.asarray(jax.vmap(draw)(jax.random.split(jax.random.key(3), 200)))
    assert abs(samples.std() / (sigma * clip / b) - 1) < 0.03  # 10 000 draws: s.e. of std ≈ 0.7 %
    assert abs(samples.mean()) < 4 * sigma * clip / b / 100
    assert not np.allclose(samples[0], samples[1])


def _direct(sigma, q_, steps, delta, accountant):
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q_, dp_accounting.GaussianDpEvent(sigma)), steps
    )
    acc = rdp.RdpAccountant() if accountant == "rdp" else pld.PLDAccountant()
    return acc.compose(event).get_epsilon(delta)


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
def test_epsilon_matches_dp_accounting(accountant):
    got = dp_epsilon(1.1, 256 / 60_000, 2_000, 1e-5, accountant)
    assert got == pytest.approx(_direct(1.1, 256 / 60_000, 2_000, 1e-5, accountant), rel=1e-9)


def test_epsilon_reference_value_and_monotonicity():
    """DESIGN.md's check: RDP gives ε ≈ 2.6 for q = 256/60 000, σ = 1.1, 14 100 steps, δ = 1e-5."""
    assert dp_epsilon(1.1, 256 / 60_000, 14_100, 1e-5) == pytest.approx(2.60, abs=0.01)
    assert dp_epsilon(1.1, 256 / 60_000, 1_000, 1e-5) < dp_epsilon(1.1, 256 / 60_000, 2_000, 1e-5)
    assert dp_epsilon(2.0, 256 / 60_000, 1_000, 1e-5) < dp_epsilon(1.1, 256 / 60_000, 1_000, 1e-5)


def test_host_metrics_of_the_registry_entry():
    entry = OPTIMIZERS.get("dpsgd")
    params = {"l2_norm_clip": 1.0, "noise_multiplier": 1.1, "delta": 1e-6, "accountant": "rdp"}
    out = entry.host_metrics(params, steps=500, batch_size=64, n_examples=1000)
    assert out["delta"] == 1e-6
    assert out["epsilon"] == pytest.approx(_direct(1.1, 64 / 1000, 500, 1e-6, "rdp"), rel=1e-9)
    assert np.isnan(entry.host_metrics(params, steps=500, batch_size=64, n_examples=None)["epsilon"])
