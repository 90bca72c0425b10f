"""Samplers: the visit order of each finite-data sampler, run inside a compiled, vmapped scan."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.samplers import Sampler


def visits(sampler: Sampler, keys: jax.Array, steps: int) -> np.ndarray:
    """Batch indices for ``steps`` steps, shape (runs, steps, batch) — one jit(vmap(scan)) program."""

    def one(key):
        def step(order, t):
            idx, order = sampler.indices(key, order, t)
            return order, idx

        _, idx = jax.lax.scan(step, sampler.init(key), jnp.arange(steps))
        return idx

    return np.asarray(jax.jit(jax.vmap(one))(keys))


KEYS = jax.random.split(jax.random.key(0), 3)


def epochs(idx: np.ndarray, sampler: Sampler) -> np.ndarray:
    """(runs, epochs, visited-per-epoch) view of the batches."""
    runs, steps, b = idx.shape
    spe = sampler.steps_per_epoch
    return idx[:, : steps - steps % spe].reshape(runs, -1, spe * b)


def test_random_reshuffling_is_a_fresh_permutation_each_epoch():
    s = Sampler("random_reshuffling", n=12, batch_size=3)
    e = epochs(visits(s, KEYS, 4 * 5), s)  # 5 epochs of 4 steps
    for run in e:
        for perm in run:
            assert sorted(perm.tolist()) == list(range(12))
        assert len({tuple(p) for p in run}) == len(run), "an epoch repeated the previous permutation"
    assert not np.array_equal(e[0], e[1]), "different keys must shuffle differently"


def test_random_reshuffling_drops_the_last_incomplete_batch():
    s = Sampler("random_reshuffling", n=10, batch_size=3)  # 3 steps per epoch, 9 of 10 visited
    e = epochs(visits(s, KEYS[:1], 3 * 4), s)
    for perm in e[0]:
        assert len(set(perm.tolist())) == 9 and set(perm.tolist()) <= set(range(10))


def test_single_shuffle_repeats_one_permutation():
    s = Sampler("single_shuffle", n=12, batch_size=4)
    e = epochs(visits(s, KEYS, 3 * 4), s)
    for run in e:
        assert sorted(run[0].tolist()) == list(range(12))
        assert not np.array_equal(run[0], np.arange(12)), "single shuffle should not be the identity order"
        for perm in run[1:]:
            np.testing.assert_array_equal(perm, run[0])
    assert not np.array_equal(e[0][0], e[1][0])


def test_incremental_is_the_fixed_order():
    s = Sampler("incremental", n=9, batch_size=3)
    e = epochs(visits(s, KEYS, 3 * 3), s)
    for run in e:
        for perm in run:
            np.testing.assert_array_equal(perm, np.arange(9))


def test_full_batch_visits_everything_every_step():
    s = Sampler("full_batch", n=7, batch_size=100)
    idx = visits(s, KEYS[:1], 3)
    assert s.effective_batch_size == 7 and s.steps_per_epoch == 1
    for batch in idx[0]:
        np.testing.assert_array_equal(batch, np.arange(7))


def test_with_replacement_is_uniform_and_independent():
    s = Sampler("with_replacement", n=5, batch_size=4)
    idx = visits(s, KEYS[:1], 2000)[0]
    assert idx.min() >= 0 and idx.max() < 5
    counts = np.bincount(idx.ravel(), minlength=5)
    expected = idx.size / 5
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 20.0, counts  # 4 degrees of freedom: P(χ² > 20) ≈ 5e-4
    # repeats inside a batch happen (sampling with replacement): P(no repeat in a batch) = 5·4·3·2/5⁴ ≈ 0.19
    repeats = np.mean([len(set(b.tolist())) < 4 for b in idx])
    assert 0.7 < repeats < 0.9


def test_vmapped_runs_equal_single_runs():
    s = Sampler("random_reshuffling", n=8, batch_size=2)
    batched = visits(s, KEYS, 12)
    np.testing.assert_array_equal(batched[1], visits(s, KEYS[1:2], 12)[0])


@pytest.mark.parametrize("kind", ["stream", "nonsense"])
def test_rejects_non_finite_kinds(kind):
    with pytest.raises(ValueError):
        Sampler(kind, n=4, batch_size=2)


def test_rejects_batches_larger_than_the_dataset():
    with pytest.raises(ValueError):
        Sampler("random_reshuffling", n=4, batch_size=5)
