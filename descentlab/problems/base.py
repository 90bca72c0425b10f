"""The Problem contract: an objective, its data, and what is known about it.

A problem is a frozen dataclass whose fields are its hyperparameters, each declared with
:func:`hyper` (a vmappable scalar: noise level, spectrum exponent, margin …) or :func:`static`
(changes shapes, code or host-side precomputation: dimension, width, spectrum kind, data seed).
The engine builds the problem *inside* the vmapped program as ``cls(**static, **traced)``, so

* methods must be pure JAX functions of the fields (no Python branching on ``hyper`` fields);
* anything expensive that depends only on static fields (a dataset, f* from a long solve)
  is computed on the host by a cached helper (``functools.lru_cache``) and enters the program
  as a constant.

Data comes in one of two forms:

* a **stream** (``is_stream = True``): ``sample(key, batch_size)`` draws a fresh batch
  (online SGD on a population, as in the high-dimensional SGD literature);
* a **finite dataset**: ``dataset()`` returns a pytree of arrays with a leading axis of length
  ``n_examples``, and a sampler (with replacement, reshuffling, …) picks the indices.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import jax
import jax.numpy as jnp

from descentlab.params import Param

Params = Any
Batch = Any


def hyper(default: float, help: str = "", **bounds: Any) -> Any:
    """A vmappable float hyperparameter of a problem (may be a traced scalar)."""
    return dataclasses.field(default=default, metadata={"param": Param("float", default, help, **bounds)})


def static(default: Any, help: str = "", kind: str | None = None, **extra: Any) -> Any:
    """A static hyperparameter: one compiled program per value."""
    if kind is None:
        kind = {bool: "bool", int: "int", float: "float", str: "str"}[type(default)]
    param = Param(kind, default, help, static=True, **extra)
    return dataclasses.field(default=default, metadata={"param": param})


@runtime_checkable
class Predicts(Protocol):
    """a network's outputs, predict(params, inputs) -> outputs"""

    def predict(self, params: Any, inputs: Any) -> Any: ...


class Problem:
    """Base class of every problem (subclasses are ``@dataclass(frozen=True)``).

    Class attributes to set: ``name`` (registry key), ``summary`` (one line),
    ``references`` (papers), ``is_stream``, ``monitor`` (the metric whose initial value scales
    the divergence test; ``None`` = the loss on the evaluation batch).

    What a spec may ask for is checked from its values alone, before anything is built:
    :meth:`check` holds the rules between fields, and ``arrays`` / ``example`` declare the shapes of
    the big arrays (dataset, teacher and weight matrices) and of one example, as field names and
    constants, from which :meth:`data_elements` and :meth:`example_elements` estimate memory.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    references: ClassVar[tuple[str, ...]] = ()
    is_stream: ClassVar[bool] = False
    monitor: ClassVar[str | None] = None
    eval_size: ClassVar[int] = 1024
    arrays: ClassVar[tuple[tuple[str | int, ...], ...]] = ()
    example: ClassVar[tuple[str | int, ...]] = ()

    # ---- declared parameters -------------------------------------------------------------
    @classmethod
    def declared_params(cls) -> dict[str, Param]:
        return {f.name: f.metadata["param"] for f in dataclasses.fields(cls) if "param" in f.metadata}

    @classmethod
    def check(cls, values: Mapping[str, Any]) -> None:
        """Rules between fields, on every field's value: raise :class:`~descentlab.params.SpecError` naming
        the field. None by default. Only static fields may be looked at (the others may be traced)."""

    @classmethod
    def data_elements(cls, values: Mapping[str, Any]) -> dict[tuple[str, ...], int]:
        """Numbers held by each big array the problem builds, keyed by the fields that size it (from ``arrays``)."""
        return {tuple(d for d in shape if isinstance(d, str)): shape_size(shape, values) for shape in cls.arrays}

    @classmethod
    def example_elements(cls, values: Mapping[str, Any]) -> int:
        """Numbers in one example of a batch (from ``example``)."""
        return shape_size(cls.example, values)

    def __post_init__(self):
        self.check(vars(self))

    # ---- to implement ----------------------------------------------------------------------
    def init(self, key: jax.Array) -> Params:
        """Initial parameters (a pytree)."""
        raise NotImplementedError

    def example_loss(self, params: Params, example: Batch) -> jax.Array:
        """Loss on one example (a batch pytree without its leading axis)."""
        raise NotImplementedError

    def loss(self, params: Params, batch: Batch) -> jax.Array:
        """Mean loss over a batch (leading axis). Default: mean of ``example_loss``."""
        return jnp.mean(jax.vmap(self.example_loss, in_axes=(None, 0))(params, batch))

    def sample(self, key: jax.Array, batch_size: int) -> Batch:
        """A fresh batch from the population (stream problems only)."""
        raise NotImplementedError(f"problem {self.name!r} has no stream; use a finite-data sampler")

    def dataset(self) -> Batch:
        """The finite training set, leading axis ``n_examples`` (finite problems only)."""
        raise NotImplementedError(f"problem {self.name!r} is a stream; it has no finite dataset")

    @property
    def n_examples(self) -> int:
        return int(jax.tree_util.tree_leaves(self.dataset())[0].shape[0])

    def metrics(self, params: Params) -> dict[str, jax.Array]:
        """Problem-specific scalars recorded at checkpoints (population risk, accuracy, …)."""
        return {}

    def grad(self, params: Params, batch: Batch) -> tuple[jax.Array, Params]:
        """(loss, descent direction field). Min-max games override it with (∇ₓf, −∇ᵧf)."""
        return jax.value_and_grad(self.loss)(params, batch)

    def eval_batch(self, key: jax.Array) -> Batch:
        """A fixed batch for full-batch quantities: the dataset, or ``eval_size`` stream draws."""
        if self.is_stream:
            return self.sample(key, self.eval_size)
        return self.dataset()

    # ---- what is known (None when unknown) ---------------------------------------------------
    @property
    def f_star(self) -> jax.Array | float | None:
        """Minimum of the training objective, when known."""
        return None

    @property
    def smoothness(self) -> jax.Array | float | None:
        """L: a bound on the Hessian's top eigenvalue of the objective, when known."""
        return None

    @property
    def strong_convexity(self) -> jax.Array | float | None:
        """μ: the smallest Hessian eigenvalue when the objective is strongly convex."""
        return None

    def optimum(self) -> Params | None:
        """A minimizer, when known."""
        return None


def shape_size(shape: tuple[str | int, ...], values: Mapping[str, Any]) -> int:
    """Elements of an array whose shape is given as field names (looked up in ``values``) and constants."""
    return math.prod(int(values[d]) if isinstance(d, str) else d for d in shape)
