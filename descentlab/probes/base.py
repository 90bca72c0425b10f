"""The Probe contract: a measurement taken at checkpoint steps, inside the compiled program.

A probe is registered with :func:`register_probe` as a factory ``(**options) -> Probe``, whose
options are declared in its signature with ``Annotated[..., Arg(...)]`` (all static: they shape the program).
A :class:`Probe` has

* ``init(ctx) -> state``: an optional carried state (a warm-start vector, K₀ for NTK change);
* ``measure(ctx, state) -> (dict[str, scalar], state)``: pure JAX, called at every checkpoint.

Metric names must not depend on traced values. The engine vmaps probes across the runs of a
sweep and writes every returned scalar into the ``curves`` table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

import jax

from descentlab.params import Arg, Param
from descentlab.problems.base import Batch, Params, Problem
from descentlab.registry import Registry


class ProbeContext(NamedTuple):
    """What a probe may look at.

    Attributes:
      params: current parameters θ_t.
      params0: initial parameters θ₀.
      problem: the (possibly traced) problem instance.
      eval_batch: a fixed batch drawn once per run — the whole dataset for finite problems,
        ``problem.eval_size`` fresh draws for streams.
      key: a PRNG key for this checkpoint (Hutchinson / Lanczos start vectors).
      step: the checkpoint step (a traced integer).
      opt_state: the optimizer state (preconditioners for adaptive-sharpness probes).
      learning_rate: the scheduled learning rate at this step.
      last_update: θ_t − θ_{t−1}, the last applied update.
    """

    params: Params
    params0: Params
    problem: Problem
    eval_batch: Batch
    key: jax.Array
    step: jax.Array
    opt_state: Any
    learning_rate: jax.Array
    last_update: Params


class Probe:
    """Base class: stateless by default.

    Class attributes tell the engine what to prepare: ``uses_eval_batch`` (draw the fixed
    evaluation batch; a stream draws ``problem.eval_size`` examples once per run) and
    ``uses_last_update`` (carry θ_t − θ_{t−1}, which costs a parameter-sized buffer).
    """

    uses_eval_batch: bool = True
    uses_last_update: bool = False

    def init(self, ctx: ProbeContext) -> Any:
        return ()

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class ProbeEntry:
    name: str
    factory: Callable[..., Probe]
    params: dict[str, Param]
    summary: str
    reference: str = ""
    needs: tuple[type, ...] = ()
    """Capabilities (runtime-checkable Protocols of :mod:`descentlab.problems.base`, e.g. ``Predicts``) every
    problem the probe measures must have; a spec pairing it with a problem that lacks one is refused at
    planning, with one line naming both."""

    def unmet(self, problem: Any) -> list[type]:
        """The capabilities in :attr:`needs` that ``problem`` lacks."""
        return [need for need in self.needs if not isinstance(problem, need)]


PROBES: Registry[ProbeEntry] = Registry("probe", ProbeEntry)

register_probe = PROBES.register
"""``@register_probe(name, summary=..., reference=...)`` on a factory ``(**options) -> Probe`` whose options carry
``Arg`` metadata."""

EvalBatchSize = Annotated[int, Arg("0: the whole evaluation batch; else its first batch_size examples", low=0)]
"""The ``batch_size`` option of the probes that may look at only the first examples of the evaluation batch."""


class FunctionProbe(Probe):
    """A stateless probe from a function ``ctx -> dict``."""

    def __init__(self, fn: Callable[[ProbeContext], dict[str, jax.Array]], uses_eval_batch: bool = True):
        self.fn = fn
        self.uses_eval_batch = uses_eval_batch

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        return self.fn(ctx), state
