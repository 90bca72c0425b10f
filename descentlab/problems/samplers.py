r"""Samplers: which examples of a finite dataset form the batch at step t, inside the program.

Every sampler is a pure function of the run's sampler key and the global step ``t`` (an
*unbatched* integer, the same for every run of a sweep), so that under ``vmap`` the epoch test
``t mod steps_per_epoch == 0`` stays a real branch (``lax.cond``) and a permutation is drawn once
per epoch, not once per step. With ``steps_per_epoch = ⌊n / b⌋``, the ``n mod b`` examples left
at the end of an epoch's permutation are not visited in that epoch (drop-last).

* ``with_replacement``: b indices drawn uniformly, independently at every step;
* ``random_reshuffling``: a fresh permutation each epoch (Mishchenko, Khaled, Richtárik 2020);
* ``single_shuffle``: one permutation, reused every epoch (Safran & Shamir 2020);
* ``incremental``: the fixed order 0, 1, …, n−1 every epoch;
* ``full_batch``: every example at every step (b is ignored);
* ``stream``: no finite data; the problem draws a fresh batch (``Problem.sample``).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from descentlab.registry import Registry

SAMPLERS: Registry[str] = Registry("sampler")
for _name in ("stream", "with_replacement", "random_reshuffling", "single_shuffle", "incremental", "full_batch"):
    SAMPLERS.add(_name, _name)


@dataclasses.dataclass(frozen=True)
class Sampler:
    """Index selection for a dataset of ``n`` examples with batches of ``batch_size``."""

    kind: str
    n: int
    batch_size: int

    def __post_init__(self):
        if self.kind not in SAMPLERS or self.kind == "stream":
            raise ValueError(f"sampler {self.kind!r} is not a finite-data sampler")
        if self.kind != "full_batch" and self.batch_size > self.n:
            raise ValueError(f"batch_size {self.batch_size} exceeds the dataset size {self.n}")

    @property
    def effective_batch_size(self) -> int:
        return self.n if self.kind == "full_batch" else self.batch_size

    @property
    def steps_per_epoch(self) -> int:
        return 1 if self.kind == "full_batch" else self.n // self.batch_size

    def init(self, key: jax.Array) -> jax.Array:
        """Sampler state: the current epoch's order (a permutation of 0..n-1)."""
        if self.kind in ("random_reshuffling", "single_shuffle"):
            return jax.random.permutation(jax.random.fold_in(key, 0), self.n)
        return jnp.arange(self.n)

    def indices(self, key: jax.Array, order: jax.Array, step: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(indices of the batch at ``step``, the order to carry on)."""
        if self.kind == "full_batch":
            return order, order
        if self.kind == "with_replacement":
            return jax.random.randint(jax.random.fold_in(key, step), (self.batch_size,), 0, self.n), order
        position = step % self.steps_per_epoch
        if self.kind == "random_reshuffling":
            epoch = step // self.steps_per_epoch
            order = jax.lax.cond(
                (position == 0) & (epoch > 0),
                lambda: jax.random.permutation(jax.random.fold_in(key, epoch), self.n),
                lambda: order,
            )
        batch = jax.lax.dynamic_slice_in_dim(order, position * self.batch_size, self.batch_size)
        return batch, order
