"""AdaHessian against NumPy. On the diagonal quadratic z ⊙ Hz = h ⊙ z² = h for Rademacher z, so the
Hutchinson estimate is exact and the trajectory deterministic; spatial averaging on a 4-D kernel."""

import jax
import jax.numpy as jnp
import numpy as np
import optim_quadratic as q
import pytest

from descentlab.optim import OPTIMIZERS
from descentlab.optim.adahessian import spatial_average


@pytest.mark.parametrize(("k", "wd"), [(1.0, 0.0), (0.5, 0.05)])
def test_matches_numpy(k, wd):
    eta, b1, b2, eps = 0.05, 0.9, 0.999, 1e-4
    x, m, v, ref = q.np_init(), np.zeros(6), np.zeros(6), []
    for t in range(1, 26):
        g, d = q.np_grad(x), q.H_FLAT
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * d * d
        denom = (np.sqrt(v) / np.sqrt(1 - b2**t)) ** k + eps
        x = x - eta * (m / (1 - b1**t) / denom + wd * x)
        ref.append(x.copy())
    entry = OPTIMIZERS.get("adahessian")
    with jax.enable_x64(True):
        got = q.trajectory(entry.build(eta, hessian_power=k, weight_decay=wd), entry.extra_args, 25)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)


def test_hutchinson_is_unbiased_on_a_non_diagonal_hessian():
    """E[z ⊙ Hz] = diag(H): averaged over keys the estimate approaches the diagonal."""
    from descentlab.optim.optax_contrib import keyed_hutchinson

    a = jax.random.normal(jax.random.key(1), (5, 5))
    hess = a @ a.T

    def f(p):
        return 0.5 * p["w"] @ hess @ p["w"]

    est = keyed_hutchinson()
    params = {"w": jnp.zeros(5)}
    state = est.init(params)
    draws = jax.vmap(lambda key: est.update(params, state, params, obj_fn=f, key=key)[0]["w"])(
        jax.random.split(jax.random.key(0), 4000)
    )
    np.testing.assert_allclose(np.asarray(draws.mean(0)), np.diag(np.asarray(hess)), atol=0.25)
    assert np.asarray(draws.std(0)).max() > 0.1  # it is an estimate, not the exact diagonal


def test_spatial_average_of_conv_kernels():
    d = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2) - 10
    got = np.asarray(spatial_average(jnp.asarray(d)))
    want = np.broadcast_to(np.abs(d).mean(axis=(0, 1), keepdims=True), d.shape)
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(np.asarray(spatial_average(jnp.asarray([-1.0, 2.0]))), [1.0, 2.0])
