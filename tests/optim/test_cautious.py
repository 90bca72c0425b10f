"""Cautious AdamW / Lion and the generic wrapper against NumPy (Liang et al. 2024, Algorithms 1–2)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optim_quadratic as q

from descentlab.optim import OPTIMIZERS
from descentlab.optim.cautious import cautious, scale_by_cautious

SIZES = (4, 2)  # leaves x and y: the mask's rescaling is per leaf


def _mask(u: np.ndarray, g: np.ndarray) -> np.ndarray:
    out, start = np.zeros_like(u), 0
    for size in SIZES:
        sl = slice(start, start + size)
        keep = (u[sl] * g[sl] > 0).astype(float)
        out[sl] = u[sl] * keep * size / (keep.sum() + 1.0)
        start += size
    return out


def reference_adamw(eta, b1, b2, eps, wd, steps):
    x, m, v, out = q.np_init(), np.zeros(6), np.zeros(6), []
    for t in range(1, steps + 1):
        g = q.np_grad(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        u = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        x = x - eta * (_mask(u, g) + wd * x)
        out.append(x.copy())
    return np.array(out)


def reference_lion(eta, b1, b2, wd, steps):
    x, m, out = q.np_init(), np.zeros(6), []
    for _ in range(steps):
        g = q.np_grad(x)
        u = np.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
        x = x - eta * (_mask(u, g) + wd * x)
        out.append(x.copy())
    return np.array(out)


def test_cautious_adamw_matches_numpy():
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("cautious_adamw").build(0.05, weight_decay=0.1), (), 30)
    np.testing.assert_allclose(got, reference_adamw(0.05, 0.9, 0.999, 1e-8, 0.1, 30), rtol=1e-6, atol=1e-12)


def test_cautious_lion_matches_numpy():
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("cautious_lion").build(0.01, weight_decay=0.1), (), 30)
    np.testing.assert_allclose(got, reference_lion(0.01, 0.9, 0.99, 0.1, 30), rtol=1e-6, atol=1e-12)


def test_mask_is_active_on_this_problem():
    """Momentum overshoots, so some coordinates get masked: C-AdamW differs from AdamW here."""
    with jax.enable_x64(True):
        c = q.trajectory(OPTIMIZERS.get("cautious_adamw").build(0.05, weight_decay=0.0), (), 30)
        a = q.trajectory(optax.adamw(0.05, weight_decay=0.0), (), 30)
    assert np.abs(c - a).max() > 1e-3


def test_wrapper_on_a_full_optimizer():
    """cautious(sgd with momentum): the descent step is kept where it opposes the gradient."""
    eta, beta = 0.3, 0.9
    x, m, ref = q.np_init(), np.zeros(6), []
    for _ in range(20):
        g = q.np_grad(x)
        m = beta * m + g
        step = -eta * m
        x = x + _mask(-step, g) * -1.0
        ref.append(x.copy())
    with jax.enable_x64(True):
        got = q.trajectory(cautious(optax.sgd(eta, momentum=beta)), (), 20)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-6, atol=1e-12)


def test_update_is_zero_where_all_signs_disagree():
    opt = cautious(optax.sgd(1.0))
    g = {"w": jnp.array([1.0, -2.0])}
    # sgd's step is −g: opposes g everywhere → kept and rescaled by 2/(2+1)
    u, _ = opt.update(g, opt.init(g), g)
    np.testing.assert_allclose(u["w"], -np.array([1.0, -2.0]) * 2 / 3)
    opt = cautious(optax.sgd(-1.0))  # a step along +g increases the loss everywhere
    u, _ = opt.update(g, opt.init(g), g)
    np.testing.assert_allclose(u["w"], [0.0, 0.0])


def test_inverted_mask_keeps_the_disagreeing_coordinates():
    """mask="disagree" (a control's broken mechanism) keeps exactly the coordinates the paper's mask drops; the
    default is the paper's mask, unchanged."""
    u = jnp.array([1.0, -2.0, 3.0, -4.0])
    g = jnp.array([1.0, 1.0, -1.0, -1.0])
    param = OPTIMIZERS.get("cautious_adamw").params["mask"]
    assert param.default == "agree" and param.choices == ("agree", "disagree")
    direction = optax.GradientTransformation(
        lambda params: optax.EmptyState(), lambda updates, state, params=None: (u, state)
    )
    for mask, expected in (("agree", [1.0, 0.0, 0.0, -4.0]), ("disagree", [0.0, -2.0, 3.0, 0.0])):
        out, _ = scale_by_cautious(direction, mask).update(g, optax.EmptyState())
        np.testing.assert_allclose(out, np.array(expected) * 4 / 3)  # two kept of four: rescaled by d / (2 + 1)


def test_inverted_mask_cautious_optimizers_end_higher_than_the_paper_mask():
    for name, lr in (("cautious_adamw", 0.05), ("cautious_lion", 0.01)):
        with jax.enable_x64(True):
            good = q.trajectory(OPTIMIZERS.get(name).build(lr, weight_decay=0.0), (), 30)
            bad = q.trajectory(OPTIMIZERS.get(name).build(lr, weight_decay=0.0, mask="disagree"), (), 30)
        assert q.np_value(bad[-1]) > q.np_value(good[-1]) + 1e-3, name
