"""Frank–Wolfe with the simplex, ℓ1 and ℓ2 oracles against NumPy."""

import jax
import numpy as np
import optim_quadratic as q
import pytest

from descentlab.optim import OPTIMIZERS


def lmo(g, constraint, r):
    s = np.zeros_like(g)
    if constraint == "simplex":
        s[np.argmin(g)] = r
    elif constraint == "l1":
        i = np.argmax(np.abs(g))
        s[i] = -r * np.sign(g[i])
    else:
        s = -r * g / np.linalg.norm(g)
    return s


@pytest.mark.parametrize(("constraint", "radius"), [("simplex", 1.0), ("l1", 0.5), ("l2", 0.3)])
def test_matches_numpy_and_stays_feasible(constraint, radius):
    x, ref = q.np_init(), []
    if constraint != "simplex":
        x = x * radius / (np.abs(x).sum() if constraint == "l1" else np.linalg.norm(x)) * 0.5
    x0 = x.copy()
    for t in range(30):
        s = lmo(q.np_grad(x), constraint, radius)
        x = x + 2.0 / (t + 2.0) * (s - x)
        ref.append(x.copy())
    with jax.enable_x64(True):
        import jax.numpy as jnp

        p0 = {k: jnp.asarray(v) for k, v in q.split(x0).items()}
        got = q.trajectory(OPTIMIZERS.get("frank_wolfe").build(constraint=constraint, radius=radius), (), 30, p0)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)
    if constraint == "simplex":
        assert (got >= -1e-12).all() and np.allclose(got.sum(1), radius)
    elif constraint == "l1":
        assert (np.abs(got).sum(1) <= radius + 1e-12).all()
    else:
        assert (np.linalg.norm(got, axis=1) <= radius + 1e-12).all()


def test_constrained_optimum_on_the_l1_ball():
    """With a small ℓ1 ball the minimiser lies on its boundary: FW's iterates reach ‖x‖₁ ≈ r."""
    import jax.numpy as jnp

    with jax.enable_x64(True):
        p0 = {"x": jnp.zeros(4), "y": jnp.zeros(2)}
        got = q.trajectory(OPTIMIZERS.get("frank_wolfe").build(constraint="l1", radius=0.2), (), 400, p0)
    assert np.abs(got[-1]).sum() == pytest.approx(0.2, abs=5e-3)
