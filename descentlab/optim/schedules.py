r"""Learning-rate schedules, by name: optax's where it has them, ours where it does not.

A schedule is built from the optimizer's base learning rate :math:`\eta_0` (the peak value),
the run's total number of steps ``T`` and its own parameters, and returns an optax schedule
``t -> η_t``. Float parameters may be traced (swept with ``vmap``); integer ones are static.

Ours:

* ``polynomial``: :math:`\eta_t = \eta_0 / (1 + t/t_0)^{\alpha}` — the classical
  Robbins–Monro family (α = 1 gives 1/t, α = ½ gives 1/√t decay);
* ``inverse_sqrt``: :math:`\eta_t = \eta_0 \min(1, \sqrt{w / t})` after a linear warm-up of w steps;
* ``triangular``: Smith's triangular cyclical rate between :math:`m\eta_0` and :math:`\eta_0`
  with half-cycle s: :math:`\eta_t = m\eta_0 + (1-m)\eta_0 \max(0, 1 - |t/s - 2\lfloor 1 + t/(2s)\rfloor + 1|)`;
* ``wsd``: warmup–stable–decay: linear warm-up over w steps, constant :math:`\eta_0`, then over the
  last :math:`\lceil fT\rceil` steps a cooldown to :math:`\eta_{end} = r\eta_0` shaped
  :math:`\eta_{end} + (\eta_0-\eta_{end})\,c(s)` with :math:`s\in[0,1]` the cooldown progress and
  :math:`c(s) = 1-s` (linear), :math:`\tfrac12(1+\cos\pi s)` (cosine) or :math:`1-\sqrt s` (sqrt).

optax's: ``constant``, ``step``, ``exponential``, ``cosine``, ``warmup_cosine``, ``one_cycle``,
``linear_decay`` (to zero).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

import jax.numpy as jnp
import optax

from descentlab.params import Arg, Param
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


SCHEDULES: Registry[ScheduleEntry] = Registry("schedule", ScheduleEntry, context=("lr", "total_steps"))

register_schedule = SCHEDULES.register
"""``@register_schedule(name, summary=..., reference=...)`` on ``(lr, total_steps, **params) -> schedule`` whose
parameters carry ``Arg`` metadata."""

FinalFraction = Annotated[float, Arg("η_T / η₀", low=0.0, high=1.0)]


@register_schedule("constant", summary="η_t = η₀")
def constant(lr, total_steps):
    return optax.constant_schedule(lr)


@register_schedule(
    "cosine",
    summary="cosine decay from η₀ to final_fraction·η₀ over the run",
    reference="Loshchilov & Hutter. SGDR (1608.03983)",
)
def cosine(lr, total_steps, final_fraction: FinalFraction = 0.0):
    return optax.cosine_decay_schedule(lr, max(total_steps, 1), alpha=final_fraction)


@register_schedule(
    "warmup_cosine",
    summary="linear warm-up from 0 to η₀, then cosine decay",
    reference="Goyal et al. Accurate, Large Minibatch SGD (1706.02677)",
)
def warmup_cosine(
    lr,
    total_steps,
    warmup_steps: Annotated[int, Arg("linear warm-up length", low=0)] = 100,
    final_fraction: FinalFraction = 0.0,
):
    # optax branches on ``peak_value == 0`` in Python: build the unit-peak shape and scale it, so that
    # the learning rate may be a traced (swept) value.
    shape = optax.warmup_cosine_decay_schedule(
        0.0, 1.0, warmup_steps, max(total_steps, warmup_steps + 1), end_value=final_fraction
    )
    return lambda t: lr * shape(t)


@register_schedule(
    "linear_decay",
    summary="linear decay from η₀ to zero at the last step",
    reference="Defazio et al. When, Why and How Much? Adaptive Learning Rate Scheduling (2310.07831)",
)
def linear_decay(lr, total_steps):
    return optax.linear_schedule(lr, 0.0, max(total_steps, 1))


@register_schedule("exponential", summary="η_t = η₀ · decay_rate^(t/T)")
def exponential(lr, total_steps, decay_rate: Annotated[float, Arg("η_T / η₀", low=0.0, low_open=True, high=1.0)] = 0.1):
    return lambda t: lr * decay_rate ** (jnp.asarray(t, jnp.result_type(float)) / max(total_steps, 1))


@register_schedule("step", summary="η_t = η₀ · factor^⌊t/every⌋")
def step(
    lr,
    total_steps,
    every: Annotated[int, Arg("steps between drops", low=1)] = 1000,
    factor: Annotated[float, Arg("multiplier at each drop", low=0.0, high=1.0)] = 0.1,
):
    return lambda t: lr * factor ** jnp.floor(jnp.asarray(t, jnp.result_type(float)) / every)


@register_schedule(
    "polynomial",
    summary="η_t = η₀ / (1 + t/t₀)^α",
    reference="Robbins & Monro (1951); Moulines & Bach (NeurIPS 2011)",
)
def polynomial(
    lr,
    total_steps,
    power: Annotated[float, Arg("α in η₀/(1+t/t₀)^α", low=0.0)] = 1.0,
    t0: Annotated[float, Arg("t₀ in η₀/(1+t/t₀)^α", low=0.0, low_open=True)] = 1.0,
):
    return lambda t: lr / (1.0 + jnp.asarray(t, jnp.result_type(float)) / t0) ** power


@register_schedule(
    "inverse_sqrt",
    summary="linear warm-up, then η₀·√(w/t)",
    reference="Vaswani et al. Attention Is All You Need (1706.03762)",
)
def inverse_sqrt(lr, total_steps, warmup_steps: Annotated[int, Arg("linear warm-up length", low=1)] = 100):
    def schedule(t):
        t = jnp.asarray(t, jnp.result_type(float)) + 1.0
        return lr * jnp.minimum(t / warmup_steps, jnp.sqrt(warmup_steps / t))

    return schedule


@register_schedule(
    "one_cycle",
    summary="one-cycle: cosine rise from η₀/div_factor to η₀, then cosine fall to η₀/final_div_factor",
    reference="Smith & Topin. Super-Convergence (1708.07120)",
)
def one_cycle(
    lr,
    total_steps,
    pct_start: Annotated[
        float,
        Arg("fraction of the run spent increasing", low=0.0, high=1.0, low_open=True, high_open=True, static=True),
    ] = 0.3,
    div_factor: Annotated[float, Arg("η₀ / initial rate", low=1.0, static=True)] = 25.0,
    final_div_factor: Annotated[float, Arg("η₀ / final rate", low=1.0, static=True)] = 1e4,
):
    return optax.cosine_onecycle_schedule(
        max(total_steps, 2), lr, pct_start=pct_start, div_factor=div_factor, final_div_factor=final_div_factor
    )


@register_schedule(
    "triangular",
    summary="triangular cyclical rate between min_fraction·η₀ and η₀ (starts at the minimum)",
    reference="Smith. Cyclical Learning Rates for Training Neural Networks (1506.01186)",
)
def triangular(
    lr,
    total_steps,
    half_cycle: Annotated[int, Arg("s: steps from the lowest to the highest rate", low=1)] = 500,
    min_fraction: Annotated[float, Arg("lowest rate / η₀", low=0.0, high=1.0)] = 0.1,
):
    def schedule(t):
        t = jnp.asarray(t, jnp.result_type(float))
        cycle = jnp.floor(1.0 + t / (2.0 * half_cycle))
        x = jnp.abs(t / half_cycle - 2.0 * cycle + 1.0)
        return lr * (min_fraction + (1.0 - min_fraction) * jnp.maximum(0.0, 1.0 - x))

    return schedule


Cooldown = Literal["linear", "cosine", "sqrt"]
COOLDOWNS = typing.get_args(Cooldown)


@register_schedule(
    "wsd",
    summary="warmup–stable–decay: warm-up, constant η₀, then a linear, cosine or 1−√s cooldown",
    reference="Hu et al. MiniCPM (2404.06395); Hägele et al. Scaling Laws and Compute-Optimal Training Beyond Fixed "
    "Training Durations (2405.18392)",
)
def wsd(
    lr,
    total_steps,
    warmup_steps: Annotated[int, Arg("linear warm-up length", low=0)] = 0,
    decay_fraction: Annotated[
        float, Arg("f: fraction of the run spent cooling down", low=0.0, high=1.0, static=True)
    ] = 0.2,
    cooldown: Annotated[Cooldown, Arg("cooldown shape c(s)")] = "linear",
    final_fraction: FinalFraction = 0.0,
):
    if cooldown not in COOLDOWNS:
        raise ValueError(f"cooldown: got {cooldown!r}; allowed: {', '.join(COOLDOWNS)}")
    decay_steps = max(math.ceil(decay_fraction * total_steps), 1)
    decay_start = max(total_steps - decay_steps, warmup_steps)
    shape = {
        "linear": lambda s: 1.0 - s,
        "cosine": lambda s: 0.5 * (1.0 + jnp.cos(jnp.pi * s)),
        "sqrt": lambda s: 1.0 - jnp.sqrt(s),
    }[cooldown]

    def schedule(t):
        t = jnp.asarray(t, jnp.result_type(float))
        warm = jnp.minimum(1.0, (t + 1.0) / warmup_steps) if warmup_steps > 0 else 1.0
        s = jnp.clip((t - decay_start) / decay_steps, 0.0, 1.0)
        end = final_fraction * lr
        return jnp.where(t < decay_start, lr * warm, end + (lr - end) * shape(s))

    return schedule
