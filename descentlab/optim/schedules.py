r"""Learning-rate schedules, by name: optax's where it has them, ours where it does not.

A schedule is built from the optimizer's base learning rate :math:`\eta_0` (the peak value),
the run's total number of steps ``T`` and its own parameters, and returns an optax schedule
``t -> η_t``. Float parameters may be traced (swept with ``vmap``); integer ones are static.

Ours:

* ``polynomial``: :math:`\eta_t = \eta_0 / (1 + t/t_0)^{\alpha}` — the classical
  Robbins–Monro family (α = 1 gives 1/t, α = ½ gives 1/√t decay);
* ``inverse_sqrt``: :math:`\eta_t = \eta_0 \min(1, \sqrt{w / t})` after a linear warm-up of w steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import optax

from descentlab.params import Param
from descentlab.registry import Registry

Schedule = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class ScheduleEntry:
    name: str
    build_fn: Callable[..., Schedule]
    params: dict[str, Param]
    summary: str
    reference: str = ""

    def build(self, learning_rate: Any, total_steps: int, **params: Any) -> Schedule:
        return self.build_fn(learning_rate, total_steps, **params)


SCHEDULES: Registry[ScheduleEntry] = Registry("schedule")


def register_schedule(name: str, params: dict[str, Param], summary: str, reference: str = ""):
    def decorator(fn: Callable[..., Schedule]) -> Callable[..., Schedule]:
        SCHEDULES.add(name, ScheduleEntry(name, fn, params, summary, reference))
        return fn

    return decorator


_FRACTION = dict(low=0.0, high=1.0)


@register_schedule("constant", {}, "η_t = η₀")
def constant(lr, total_steps):
    return optax.constant_schedule(lr)


@register_schedule(
    "cosine",
    {"final_fraction": Param("float", 0.0, "η_T / η₀", **_FRACTION)},
    "cosine decay from η₀ to final_fraction·η₀ over the run",
    "Loshchilov & Hutter. SGDR (1608.03983)",
)
def cosine(lr, total_steps, final_fraction=0.0):
    return optax.cosine_decay_schedule(lr, max(total_steps, 1), alpha=final_fraction)


@register_schedule(
    "warmup_cosine",
    {
        "warmup_steps": Param("int", 100, "linear warm-up length", low=0),
        "final_fraction": Param("float", 0.0, "η_T / η₀", **_FRACTION),
    },
    "linear warm-up from 0 to η₀, then cosine decay",
    "Goyal et al. Accurate, Large Minibatch SGD (1706.02677)",
)
def warmup_cosine(lr, total_steps, warmup_steps=100, final_fraction=0.0):
    return optax.warmup_cosine_decay_schedule(0.0, lr, warmup_steps, max(total_steps, warmup_steps + 1),
                                              end_value=final_fraction * lr)


@register_schedule("linear_decay", {}, "linear decay from η₀ to zero at the last step",
                   "Defazio et al. When, Why and How Much? Adaptive Learning Rate Scheduling (2310.07831)")
def linear_decay(lr, total_steps):
    return optax.linear_schedule(lr, 0.0, max(total_steps, 1))


@register_schedule(
    "exponential",
    {"decay_rate": Param("float", 0.1, "η_T / η₀", low=0.0, low_open=True, high=1.0)},
    "η_t = η₀ · decay_rate^(t/T)",
)
def exponential(lr, total_steps, decay_rate=0.1):
    return lambda t: lr * decay_rate ** (jnp.asarray(t, jnp.result_type(float)) / max(total_steps, 1))


@register_schedule(
    "step",
    {
        "every": Param("int", 1000, "steps between drops", low=1),
        "factor": Param("float", 0.1, "multiplier at each drop", low=0.0, high=1.0),
    },
    "η_t = η₀ · factor^⌊t/every⌋",
)
def step(lr, total_steps, every=1000, factor=0.1):
    return lambda t: lr * factor ** jnp.floor(jnp.asarray(t, jnp.result_type(float)) / every)


@register_schedule(
    "polynomial",
    {
        "power": Param("float", 1.0, "α in η₀/(1+t/t₀)^α", low=0.0),
        "t0": Param("float", 1.0, "t₀ in η₀/(1+t/t₀)^α", low=0.0, low_open=True),
    },
    "η_t = η₀ / (1 + t/t₀)^α",
    "Robbins & Monro (1951); Moulines & Bach (NeurIPS 2011)",
)
def polynomial(lr, total_steps, power=1.0, t0=1.0):
    return lambda t: lr / (1.0 + jnp.asarray(t, jnp.result_type(float)) / t0) ** power


@register_schedule(
    "inverse_sqrt",
    {"warmup_steps": Param("int", 100, "linear warm-up length", low=1)},
    "linear warm-up, then η₀·√(w/t)",
    "Vaswani et al. Attention Is All You Need (1706.03762)",
)
def inverse_sqrt(lr, total_steps, warmup_steps=100):
    def schedule(t):
        t = jnp.asarray(t, jnp.result_type(float)) + 1.0
        return lr * jnp.minimum(t / warmup_steps, jnp.sqrt(warmup_steps / t))

    return schedule
