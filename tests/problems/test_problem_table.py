"""One table of checks that every registered problem must pass.

Each problem class carries ``tiny: ClassVar[dict]``, a small configuration used here. Checks:
declarations (summary, references, valid ``tiny``), jit + vmap over a float hyperparameter and
over keys (equal to the unbatched result), gradients against central finite differences in
float64, example losses averaging to the batch loss, ``grad`` consistent with ``loss``, and
finite metrics (including the ``monitor``) at initialisation.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.params import SpecError
from descentlab.problems import PROBLEMS, Problem

NAMES = PROBLEMS.names()
BATCH = 5


def _tiny(cls: type[Problem]) -> dict:
    return dict(getattr(cls, "tiny", {}))


def _batch(problem: Problem, key: jax.Array, b: int = BATCH):
    if problem.is_stream:
        return problem.sample(key, b)
    return jax.tree_util.tree_map(lambda a: a[:b], problem.dataset())


def _first_hyper(cls: type[Problem]) -> tuple[str, list[float]] | None:
    """A vmapped hyperparameter and two valid values of it."""
    tiny = _tiny(cls)
    for name, param in cls.declared_params().items():
        if not param.vmapped:
            continue
        value = float(tiny.get(name, param.default))
        for other in (value * 0.9, value * 1.1, value + 0.1, value - 0.1):
            try:
                param.coerce(name, other)
            except SpecError:
                continue
            if other != value:
                return name, [value, other]
    return None


def _outputs(problem: Problem, key: jax.Array):
    params = problem.init(key)
    batch = _batch(problem, key)
    return problem.loss(params, batch), problem.metrics(params)


def _close(a, b, rtol=2e-4, atol=1e-5):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", NAMES)
def test_declarations(name):
    cls = PROBLEMS.get(name)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    assert cls.summary and "\n" not in cls.summary and len(cls.summary) <= 120, cls.summary
    assert cls.references, "every problem cites the papers that study it"
    declared = cls.declared_params()
    for key, value in _tiny(cls).items():
        assert key in declared, f"tiny has undeclared parameter {key!r}"
        declared[key].coerce(key, value)
    for key, param in declared.items():
        if not param.required:
            param.coerce(key, param.default)


@pytest.mark.parametrize("name", NAMES)
def test_jit_vmap_over_hyperparameter(name):
    cls = PROBLEMS.get(name)
    found = _first_hyper(cls)
    if found is None:
        pytest.skip(f"{name} has no vmapped hyperparameter")
    hname, values = found
    key = jax.random.key(0)

    def run(h, key):
        return _outputs(cls(**{**_tiny(cls), hname: h}), key)

    batched = jax.jit(jax.vmap(run, in_axes=(0, None)))(jnp.asarray(values), key)
    single_run = jax.jit(run)
    for i, value in enumerate(values):
        single = single_run(value, key)
        _close(jax.tree_util.tree_map(lambda a, i=i: a[i], batched), single)


@pytest.mark.parametrize("name", NAMES)
def test_jit_vmap_over_keys(name):
    cls = PROBLEMS.get(name)
    problem = cls(**_tiny(cls))
    keys = jax.random.split(jax.random.key(1), 3)
    batched = jax.jit(jax.vmap(lambda k: _outputs(problem, k)))(keys)
    single_run = jax.jit(lambda k: _outputs(problem, k))
    for i in range(3):
        _close(jax.tree_util.tree_map(lambda a, i=i: a[i], batched), single_run(keys[i]))


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    cls = PROBLEMS.get(name)
    with jax.enable_x64(True):
        problem = cls(**_tiny(cls))
        key = jax.random.key(2)
        params = problem.init(key)
        leaves, treedef = jax.tree_util.tree_flatten(params)
        assert all(leaf.dtype == jnp.float64 for leaf in leaves), "params must follow the default float dtype"
        # move off the initial point (which can sit on a kink, e.g. 0 for an ℓ1 term)
        noise_keys = jax.random.split(jax.random.key(3), 2 * len(leaves))
        params = treedef.unflatten(
            [p + 0.05 * jax.random.normal(k, p.shape, p.dtype) for p, k in zip(leaves, noise_keys, strict=False)]
        )
        direction = treedef.unflatten(
            [jax.random.normal(k, p.shape, p.dtype) for p, k in zip(leaves, noise_keys[len(leaves) :], strict=True)]
        )
        batch = _batch(problem, jax.random.key(4))
        eps = 1e-6

        @jax.jit
        def check(params, direction, batch):
            grads = jax.grad(problem.loss)(params, batch)
            analytic = sum(
                jnp.vdot(g, v) for g, v in zip(jax.tree.leaves(grads), jax.tree.leaves(direction), strict=True)
            )

            def shifted(s):
                return problem.loss(jax.tree_util.tree_map(lambda p, v: p + s * v, params, direction), batch)

            numeric = (shifted(eps) - shifted(-eps)) / (2 * eps)
            return analytic, numeric, jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads)))

        analytic, numeric, scale = (float(v) for v in check(params, direction, batch))
        assert abs(analytic - numeric) <= 1e-6 * (1.0 + scale) + 1e-5 * abs(analytic), (analytic, numeric)
