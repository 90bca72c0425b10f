"""A tiny strongly convex quadratic shared by the optimizer tests.

f(p) = (1/n) Σᵢ ½ Σ_leaves h ⊙ (p − cᵢ)²  with params {"x": (4,), "y": (2,)}, n = 8 examples whose
targets cᵢ average to p* (a point inside the probability simplex), so f is minimised at p* with
L = max h = 2 and μ = min h = 0.5. The initial point is the simplex centre (1/6 each).
It provides every extra argument the engine can pass (value, grad, value_fn, grad_fn,
example_grads, key, risk_fn — here the objective f itself) and a jit-able ``lax.scan`` driver.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

H = {"x": np.array([0.5, 1.0, 1.5, 2.0]), "y": np.array([0.75, 1.25])}
P_STAR = {"x": np.array([0.05, 0.3, 0.1, 0.25]), "y": np.array([0.2, 0.1])}
N = 8


def _targets() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for k, v in P_STAR.items():
        noise = rng.normal(scale=0.3, size=(N, v.size))
        out[k] = v + noise - noise.mean(axis=0)
    return out


TARGETS = _targets()


def init(dtype=jnp.float32) -> dict[str, jax.Array]:
    return {k: jnp.full(v.shape, 1.0 / 6.0, dtype) for k, v in P_STAR.items()}


def example_loss(params, target):
    return sum(0.5 * jnp.sum(jnp.asarray(H[k], params[k].dtype) * (params[k] - target[k]) ** 2) for k in params)


def loss(params):
    targets = {k: jnp.asarray(v, params[k].dtype) for k, v in TARGETS.items()}
    return jnp.mean(jax.vmap(example_loss, in_axes=(None, 0))(params, targets))


def example_grads(params):
    targets = {k: jnp.asarray(v, params[k].dtype) for k, v in TARGETS.items()}
    return jax.vmap(jax.grad(example_loss), in_axes=(None, 0))(params, targets)


def f_star() -> float:
    return float(
        np.mean([sum(0.5 * np.sum(H[k] * (P_STAR[k] - TARGETS[k][i]) ** 2) for k in P_STAR) for i in range(N)])
    )


def extras(names: tuple[str, ...], params: Any, key: jax.Array) -> dict[str, Any]:
    value, grad = jax.value_and_grad(loss)(params)
    available = {
        "value": lambda: value,
        "grad": lambda: grad,
        "value_fn": lambda: loss,
        "grad_fn": lambda: jax.grad(loss),
        "example_grads": lambda: example_grads(params),
        "key": lambda: key,
        "risk_fn": lambda: loss,
    }
    return {name: available[name]() for name in names}


def run(
    opt: optax.GradientTransformation, extra_args: tuple[str, ...], params0: Any, steps: int, seed: int = 0
) -> tuple[Any, jax.Array]:
    """``steps`` full-batch updates in one ``lax.scan``; returns (final params, loss per step)."""
    key0 = jax.random.key(seed)

    def step(carry, t):
        params, state = carry
        grads = jax.grad(loss)(params)
        updates, state = opt.update(grads, state, params, **extras(extra_args, params, jax.random.fold_in(key0, t)))
        params = optax.apply_updates(params, updates)
        return (params, state), loss(params)

    (params, _), losses = jax.lax.scan(step, (params0, opt.init(params0)), jnp.arange(steps))
    return params, losses


# ---- NumPy side of the same problem, on the flat vector (x then y) ------------------------------------------
H_FLAT = np.concatenate([H["x"], H["y"]])
TARGETS_FLAT = np.concatenate([TARGETS["x"], TARGETS["y"]], axis=1)  # (N, 6)


def np_grad(v: np.ndarray) -> np.ndarray:
    return H_FLAT * (v - TARGETS_FLAT.mean(axis=0))


def np_value(v: np.ndarray) -> float:
    return float(np.mean(0.5 * np.sum(H_FLAT * (v - TARGETS_FLAT) ** 2, axis=1)))


def np_example_grads(v: np.ndarray) -> np.ndarray:
    return H_FLAT * (v - TARGETS_FLAT)


def np_init() -> np.ndarray:
    return np.full(6, 1.0 / 6.0)


def split(v: np.ndarray) -> dict[str, np.ndarray]:
    return {"x": v[:4], "y": v[4:]}


def flatten(params: Any) -> np.ndarray:
    return np.concatenate([np.asarray(params["x"]), np.asarray(params["y"])], axis=-1)


def trajectory(
    opt: optax.GradientTransformation, extra_args: tuple[str, ...], steps: int, params0: Any = None, seed: int = 0
) -> np.ndarray:
    """Flat float64 iterates x_1 … x_steps (shape (steps, 6)); call inside ``jax.enable_x64()``."""
    params0 = init(jnp.float64) if params0 is None else params0
    key0 = jax.random.key(seed)

    def step(carry, t):
        params, state = carry
        grads = jax.grad(loss)(params)
        updates, state = opt.update(grads, state, params, **extras(extra_args, params, jax.random.fold_in(key0, t)))
        params = optax.apply_updates(params, updates)
        return (params, state), params

    _, path = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), jnp.arange(steps)))(params0)
    return flatten(path)
