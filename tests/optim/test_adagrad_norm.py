"""AdaGrad-Norm against a NumPy implementation of Ward, Wu, Bottou (2019), eq. (AdaGrad-Norm)."""

import jax
import numpy as np
import optim_quadratic as q

from descentlab.optim import OPTIMIZERS


def reference(eta: float, b0: float, steps: int) -> np.ndarray:
    x, b2, out = q.np_init(), b0**2, []
    for _ in range(steps):
        g = q.np_grad(x)
        b2 += np.sum(g * g)
        x = x - eta / np.sqrt(b2) * g
        out.append(x.copy())
    return np.array(out)


def test_matches_numpy():
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("adagrad_norm").build(0.7, b0=0.05), (), 25)
    np.testing.assert_allclose(got, reference(0.7, 0.05, 25), rtol=1e-6, atol=1e-12)


def test_step_size_is_robust_to_a_huge_learning_rate():
    """With η = 100·(2/L) plain GD diverges; AdaGrad-Norm's b_t grows until the steps are stable."""
    x = reference(100.0, 0.01, 300)
    assert np.isfinite(x).all() and q.np_value(x[-1]) < q.np_value(q.np_init())
