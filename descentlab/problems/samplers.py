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
* ``stream``: no finite data; the problem draws a fresh batch (``Problem.sample``);
* ``prioritized``: b indices drawn independently at every step with probabilities
  :math:`p_i\propto (i+1)^{-\alpha}`, α = ``PRIORITY_EXPONENT`` (rank-based prioritized replay, Schaul et al.
  2016, with the data index as the rank; no importance weights, so SGD descends :math:`\sum_ip_if_i`);
* ``prioritized_reshuffling``: the same priorities, sampled by masking (RR-M, Fujita 2025, *Experience Replay
  with Random Reshuffling*, 2503.02269): the state is each index's count of draws so far; before step t an
  index drawn more often than its expected count :math:`t\,b\,p_i` has its priority multiplied by 1e-8, and
  the batch is drawn *without* replacement from the masked priorities, then the counts are incremented. Every
  index's count stays within O(1) of :math:`t\,b\,p_i`, the prioritized analogue of one pass per epoch.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from descentlab.registry import Registry

SAMPLERS: Registry[str] = Registry("sampler")
for _name in (
    "stream",
    "with_replacement",
    "random_reshuffling",
    "single_shuffle",
    "incremental",
    "full_batch",
    "prioritized",
    "prioritized_reshuffling",
):
    SAMPLERS.add(_name, _name)

PRIORITY_EXPONENT = 0.7  # α of rank-based prioritization (Schaul et al. 2016's value for the rank-based variant)
MASK_FACTOR = 1e-8  # RR-M's factor on an over-sampled index's priority (Fujita 2025, reference code)


def priorities(n: int, exponent: float = PRIORITY_EXPONENT) -> jax.Array:
    """The sampling probabilities p_i ∝ (i + 1)^-exponent, i = 0…n−1, summing to 1."""
    weights = jnp.arange(1, n + 1, dtype=jnp.result_type(float)) ** -exponent
    return weights / jnp.sum(weights)


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
        if self.kind == "prioritized_reshuffling":  # the state: each index's count of draws so far
            return jnp.zeros(self.n, jnp.int32)
        return jnp.arange(self.n)

    def indices(self, key: jax.Array, order: jax.Array, step: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(indices of the batch at ``step``, the order to carry on)."""
        if self.kind == "full_batch":
            return order, order
        if self.kind == "with_replacement":
            return jax.random.randint(jax.random.fold_in(key, step), (self.batch_size,), 0, self.n), order
        if self.kind == "prioritized":
            logits = jnp.log(priorities(self.n))
            return jax.random.categorical(jax.random.fold_in(key, step), logits, shape=(self.batch_size,)), order
        if self.kind == "prioritized_reshuffling":
            return self._masked(key, order, step)
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

    def _masked(self, key: jax.Array, counts: jax.Array, step: jax.Array) -> tuple[jax.Array, jax.Array]:
        """RR-M: mask the over-sampled indices (count > t b p_i), draw b distinct indices ∝ the masked
        priorities (Gumbel top-b), count them."""
        p = priorities(self.n)
        expected = step * self.batch_size * p
        weights = p * jnp.where(counts > expected, MASK_FACTOR, 1.0)
        gumbel = jax.random.gumbel(jax.random.fold_in(key, step), (self.n,), p.dtype)
        _, batch = jax.lax.top_k(jnp.log(weights) + gumbel, self.batch_size)
        return batch, counts.at[batch].add(1)
