"""Small helpers shared by our optimizers (not a registry module: no registrations here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from descentlab.params import Arg

ScalarOrSchedule = Any

# Hyperparameters that several of our optimizers declare alike (``Annotated`` types for their signatures).
UNIT = {"low": 0.0, "high": 1.0, "high_open": True}
"""An averaging or momentum coefficient: in [0, 1)."""
Beta1 = Annotated[float, Arg("β₁", **UNIT)]
Beta2 = Annotated[float, Arg("β₂", **UNIT)]
Eps = Annotated[float, Arg("ε", low=0.0)]
WeightDecay = Annotated[float, Arg("decoupled weight decay λ", low=0.0)]


def learning_rate_at(learning_rate: ScalarOrSchedule, count: jax.Array) -> jax.Array:
    """η at step ``count``: the value of a schedule, or the scalar itself."""
    return learning_rate(count) if callable(learning_rate) else jnp.asarray(learning_rate)


def require(value: Any, what: str, optimizer: str) -> Any:
    """Raise a clear trace-time error when the engine did not pass a needed extra argument."""
    if value is None:
        raise ValueError(
            f"optimizer {optimizer!r} needs the extra argument {what!r} in update(); "
            f"declare it in the registry entry's extra_args"
        )
    return value


def flat(tree: Any) -> tuple[jax.Array, Callable[[jax.Array], Any]]:
    """The pytree as one vector and the function back (``jax.flatten_util.ravel_pytree``)."""
    return ravel_pytree(tree)


def tree_difference(new: Any, old: Any) -> Any:
    """``new − old`` leaf by leaf: the optax update that moves ``old`` to ``new``."""
    return jax.tree.map(lambda a, b: (a - b).astype(b.dtype), new, old)


def count_increment(count: jax.Array) -> jax.Array:
    return optax.safe_int32_increment(count)


def simplex_projection(v: jax.Array) -> jax.Array:
    """Euclidean projection onto the probability simplex {x ≥ 0, Σ x = 1} (sort-based; Duchi et al. 2008)."""
    u = jnp.sort(v)[::-1]
    cumulative = jnp.cumsum(u) - 1
    k = jnp.arange(1, v.size + 1, dtype=v.dtype)
    rho = jnp.sum(u - cumulative / k > 0)
    theta = cumulative[rho - 1] / rho.astype(v.dtype)
    return jnp.maximum(v - theta, 0)
