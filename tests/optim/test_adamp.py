"""AdamP against a NumPy transcription of Heo et al. (2021), Algorithm 1 / the authors' update,
on a scale-invariant weight matrix (projection active) and a bias vector (never projected)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from descentlab.optim import OPTIMIZERS

T_TARGET = np.array([[0.3, -0.2, 0.5, 0.1], [0.0, 0.4, -0.6, 0.2], [0.2, 0.2, 0.1, -0.3]])


def loss(p):
    w = p["w"] / jnp.linalg.norm(p["w"])  # layer-wise scale invariant
    return 0.5 * jnp.sum((w - T_TARGET) ** 2) + 0.5 * jnp.sum((p["b"] - 1.0) ** 2) + jnp.sum(w[:, 0] * p["b"])


def _project(w, g, p, delta, eps):
    """Returns (p, wd_ratio_applies) following the channel-then-layer tests."""
    for rows in (w.shape[0], 1):
        wv, gv = w.reshape(rows, -1), g.reshape(rows, -1)
        cos = np.abs((wv * gv).sum(1)) / np.maximum(np.linalg.norm(wv, axis=1) * np.linalg.norm(gv, axis=1), eps)
        if cos.max() < delta / np.sqrt(wv.shape[1]):
            wn = wv / (np.linalg.norm(wv, axis=1, keepdims=True) + eps)
            pv = p.reshape(rows, -1)
            return (pv - wn * (wn * pv).sum(1, keepdims=True)).reshape(p.shape), True
    return p, False


def reference(p0, eta, b1, b2, eps, wd, delta, ratio, nesterov, steps):
    grad = jax.grad(loss)
    p = {k: np.array(v) for k, v in p0.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    out, projected = [], []
    for t in range(1, steps + 1):
        g = {k: np.asarray(a) for k, a in grad({k: jnp.asarray(a) for k, a in p.items()}).items()}
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            denom = np.sqrt(v[k]) / np.sqrt(1 - b2**t) + eps
            perturb = ((b1 * m[k] + (1 - b1) * g[k]) if nesterov else m[k]) / denom
            r = 1.0
            if p[k].ndim > 1:
                perturb, hit = _project(p[k], g[k], perturb, delta, eps)
                projected.append(hit)
                r = ratio if hit else 1.0
            p[k] = p[k] * (1 - eta * wd * r) - eta / (1 - b1**t) * perturb
        out.append({k: a.copy() for k, a in p.items()})
    return out, projected


@pytest.mark.parametrize(("wd", "nesterov"), [(0.0, False), (0.1, True)])
def test_matches_numpy(wd, nesterov):
    p0 = {"w": jax.random.normal(jax.random.key(0), (3, 4)), "b": jnp.array([0.5, -0.5, 0.2])}
    with jax.enable_x64(True):
        p0 = {k: jnp.asarray(np.asarray(a), jnp.float64) for k, a in p0.items()}
        opt = OPTIMIZERS.get("adamp").build(0.05, weight_decay=wd, nesterov=nesterov)

        def step(carry, _):
            p, s = carry
            u, s = opt.update(jax.grad(loss)(p), s, p)
            p = optax.apply_updates(p, u)
            return (p, s), p

        _, path = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), None, length=15))(p0)
        ref, projected = reference(p0, 0.05, 0.9, 0.999, 1e-8, wd, 0.1, 0.1, nesterov, 15)
    assert any(projected), "the scale-invariant matrix must trigger the projection"
    for t in range(15):
        for k in p0:
            np.testing.assert_allclose(np.asarray(path[k][t]), ref[t][k], rtol=1e-6, atol=1e-10)


def test_projection_keeps_the_norm_of_scale_invariant_weights_nearly_constant():
    """Without projection Adam inflates ‖w‖ of a scale-invariant weight; AdamP removes the radial part."""
    p0 = {"w": jnp.asarray(np.asarray(jax.random.normal(jax.random.key(0), (3, 4)))), "b": jnp.zeros(3)}

    def final_norm(opt):
        def step(carry, _):
            p, s = carry
            u, s = opt.update(jax.grad(loss)(p), s, p)
            return (optax.apply_updates(p, u), s), None

        (p, _), _ = jax.lax.scan(step, (p0, opt.init(p0)), None, length=100)
        return float(jnp.linalg.norm(p["w"]))

    n0 = float(jnp.linalg.norm(p0["w"]))
    growth_adamp = final_norm(OPTIMIZERS.get("adamp").build(0.05)) / n0 - 1
    growth_adam = final_norm(optax.adam(0.05)) / n0 - 1
    assert growth_adamp < 0.5 * growth_adam
