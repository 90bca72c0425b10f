"""One table of checks that every registered problem must pass.

Each problem class carries ``tiny: ClassVar[dict]``, a small configuration used here. Checks, for
every name in ``PROBLEMS.names()``:

1. declarations: summary, references, valid ``tiny`` and defaults (:func:`test_declarations`);
2. jit + vmap over a float hyperparameter equal to the unbatched result (:func:`test_jit_vmap_over_hyperparameter`);
3. jit + vmap over keys equal to the unbatched result, with the loss and every metric finite at
   initialisation and the ``monitor`` among the metrics (:func:`test_jit_vmap_over_keys_and_finite_metrics`).

Checks 4–6 run in float64, at random parameters (θ₀ moved by 0.1·N(0, 1) per entry) and a batch of 5,
as one compiled program per problem:

4. gradients of ``loss`` against central finite differences (:func:`test_gradient_matches_finite_differences`);
5. example losses averaging to the batch loss (:func:`test_example_losses_average_to_the_batch_loss`);
6. ``grad`` consistent with ``loss`` — its value equal to the loss and its field to ``jax.grad`` of the loss
   ((∇ₓf, −∇ᵧf) for min–max games) — and every other hand-written derivative (``hessian``, ``field_matrix``,
   ``ntk``, ``example_gradient_moments``) equal to its autodiff reference, rtol 1e-8
   (:func:`test_hand_written_derivatives_match_autodiff`; their other static branches — activations,
   parameterizations — in :func:`test_hand_written_derivatives_on_other_branches`). A problem defining a
   derivative-like method the table does not check fails :func:`test_every_derivative_method_is_checked`,
   and :func:`test_derivative_check_rejects_a_wrong_derivative` shows that a derivative 1 % off, or with
   one sign flipped, fails the check.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from descentlab.params import SpecError
from descentlab.problems import PROBLEMS, Problem
from descentlab.problems._game import Game
from descentlab.problems._oracle import OracleProblem

NAMES = PROBLEMS.names()
BATCH = 5
RTOL = 1e-8  # hand-written derivative vs autodiff, float64 (rounding is ~1e-14 here)
ATOL = 1e-10  # … times the largest entry of the reference, for entries that cancel to ~0


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
    assert found is not None, f"{name} declares no vmapped (hyper) parameter with two valid values to sweep"
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
def test_jit_vmap_over_keys_and_finite_metrics(name):
    cls = PROBLEMS.get(name)
    problem = cls(**_tiny(cls))
    keys = jax.random.split(jax.random.key(1), 3)
    batched = jax.jit(jax.vmap(lambda k: _outputs(problem, k)))(keys)
    single_run = jax.jit(lambda k: _outputs(problem, k))
    for i in range(3):
        single = single_run(keys[i])
        _close(jax.tree_util.tree_map(lambda a, i=i: a[i], batched), single)
        _assert_finite_at_initialisation(cls, *single)


def _assert_finite_at_initialisation(cls: type[Problem], loss: jax.Array, metrics: dict[str, jax.Array]) -> None:
    """The loss and every metric are finite scalars at θ₀; the ``monitor`` (what scales the divergence test) is
    one of the metrics."""
    assert np.shape(loss) == () and np.isfinite(loss), f"loss at initialisation: {loss}"
    for metric, value in metrics.items():
        assert np.shape(value) == () and np.all(np.isfinite(value)), f"metric {metric!r} at initialisation: {value}"
    if cls.monitor is not None:
        assert cls.monitor in metrics, f"monitor {cls.monitor!r} is not among the metrics {sorted(metrics)}"


# ---- float64: example losses and hand-written derivatives against autodiff at random parameters ------------

EXAMPLE_LOSSES = "mean of example_loss vs loss"
ORDER_FREE = {"example_gradient_moments"}  # flat vectors in the layers' order, not ravel_pytree's
CHECKED_DERIVATIVES = ("grad", "hessian", "field_matrix", "ntk", "example_gradient_moments")
DERIVATIVE_LIKE = re.compile(r"grad|hess|jacob|jvp|vjp|hvp|ntk|field|deriv|tangent")


def random_params(problem: Problem, key: jax.Array):
    """θ₀ at one key moved by 0.1·N(0, 1) per entry: a random point, off the initial one (and off kinks at 0)."""
    k_init, k_move = jax.random.split(key)
    leaves, treedef = jax.tree_util.tree_flatten(problem.init(k_init))
    moves = jax.random.split(k_move, len(leaves))
    return treedef.unflatten(
        [p + 0.1 * jax.random.normal(k, p.shape, p.dtype) for p, k in zip(leaves, moves, strict=True)]
    )


def reference_field(problem: Problem, params, batch):
    """What ``grad`` must return (the Problem contract): (loss, ∇loss); for a min–max game (:class:`Game`) the
    descent–ascent field (∇ₓf, −∇ᵧf); for a general-sum game (a ``costs`` method) the pseudo-gradient
    (∇ₓf₁, ∇ᵧf₂) plus the gradient of the loss's noise term."""
    value, grads = jax.value_and_grad(problem.loss)(params, batch)
    if callable(getattr(problem, "costs", None)):  # a general-sum game: each player's gradient of its own cost
        noise = jax.grad(lambda p: problem.loss(p, batch) - problem.value(p))(params)
        own = [jax.grad(lambda p, i=i: problem.costs(p)[i])(params) for i in (0, 1)]
        return value, {"x": own[0]["x"] + noise["x"], "y": own[1]["y"] + noise["y"]}
    if isinstance(problem, Game):
        grads = {**grads, "y": -grads["y"]}
    return value, grads


def expected_loss(problem: Problem):
    """The objective a hand-written ``hessian`` is the Hessian of: the expected loss, ``population_risk`` where the
    problem has it, else an oracle problem's deterministic ``value`` (its loss minus a noise term linear in θ)."""
    if callable(getattr(problem, "population_risk", None)):
        return problem.population_risk
    if isinstance(problem, OracleProblem):
        return problem.value
    raise AssertionError(f"{problem.name} has a hand-written hessian but no expected loss to compare it with")


def comparisons(problem: Problem, params, batch) -> dict[str, tuple]:
    """(hand-written, autodiff reference) pairs, traceable: example losses against the batch loss, ``grad``'s value
    and field, and each other derivative method the problem defines."""
    from descentlab.probes.noise import example_gradients
    from descentlab.probes.ntk import output_jacobians

    examples = jax.vmap(problem.example_loss, in_axes=(None, 0))(params, batch)
    out = {EXAMPLE_LOSSES: (jnp.mean(examples), problem.loss(params, batch))}
    value, field = problem.grad(params, batch)
    ref_value, ref_field = reference_field(problem, params, batch)
    out["grad value vs loss"] = (value, ref_value)
    out["grad field vs jax.grad(loss)"] = (field, ref_field)
    flat, unravel = ravel_pytree(params)
    if hasattr(problem, "hessian"):
        hessian = problem.hessian() if callable(problem.hessian) else problem.hessian
        objective = expected_loss(problem)
        out["hessian vs jax.hessian(expected loss)"] = (hessian, jax.hessian(lambda t: objective(unravel(t)))(flat))
    if hasattr(problem, "field_matrix"):
        assert isinstance(problem, OracleProblem), "field_matrix is the Jacobian of an oracle's noise-free field"
        exact = jax.tree_util.tree_map(jnp.zeros_like, batch)  # ξ = 0: no oracle noise

        def noise_free_field(theta):
            return ravel_pytree(problem.grad(unravel(theta), exact)[1])[0]

        out["field_matrix vs jax.jacfwd(field)"] = (problem.field_matrix(), jax.jacfwd(noise_free_field)(flat))
    if callable(getattr(problem, "ntk", None)):
        jac = output_jacobians(problem, params, batch["x"])
        out["ntk vs Jacobian Gram"] = (problem.ntk(params, batch["x"]), jnp.einsum("iap,jap->ij", jac, jac))
    if callable(getattr(problem, "example_gradient_moments", None)):
        grads = example_gradients(problem, params, batch)
        mean = jnp.mean(grads, axis=0)
        out["example_gradient_moments"] = (
            problem.example_gradient_moments(params, batch),
            (mean, jnp.sum((grads - mean) ** 2, axis=0)),
        )
    return out


def finite_difference_check(problem: Problem, params, direction, batch, eps: float = 1e-6) -> tuple:
    """(⟨jax.grad(loss), v⟩, central difference (f(θ + εv) − f(θ − εv))/2ε, ‖jax.grad(loss)‖)."""
    grads = jax.grad(problem.loss)(params, batch)
    analytic = sum(jnp.vdot(g, v) for g, v in zip(jax.tree.leaves(grads), jax.tree.leaves(direction), strict=True))

    def shifted(s):
        return problem.loss(jax.tree_util.tree_map(lambda p, v: p + s * v, params, direction), batch)

    numeric = (shifted(eps) - shifted(-eps)) / (2 * eps)
    return analytic, numeric, jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads)))


def float64_program(cls: type[Problem], options: dict, seed: int = 5) -> tuple[dict[str, tuple], tuple, list]:
    """In float64 (enabled for this call only), at random parameters and a batch of BATCH, one compiled program:
    (:func:`comparisons`, :func:`finite_difference_check` along a random direction, the parameters' dtypes)."""
    with jax.enable_x64(True):
        problem = cls(**options)

        @jax.jit
        def run(key):  # one program: setting up eagerly costs as much as compiling it
            k_params, k_direction, k_batch = jax.random.split(key, 3)
            params = random_params(problem, k_params)
            leaves, treedef = jax.tree_util.tree_flatten(params)
            direction = treedef.unflatten(
                [
                    jax.random.normal(k, p.shape, p.dtype)
                    for p, k in zip(leaves, jax.random.split(k_direction, len(leaves)), strict=True)
                ]
            )
            batch = _batch(problem, k_batch)
            return comparisons(problem, params, batch), finite_difference_check(problem, params, direction, batch)

        dtypes = [leaf.dtype for leaf in jax.tree_util.tree_leaves(jax.eval_shape(problem.init, jax.random.key(0)))]
        pairs, differences = jax.tree_util.tree_map(np.asarray, run(jax.random.key(seed)))
        return pairs, tuple(float(v) for v in differences), dtypes


def _as_multiset(moments: tuple) -> tuple:
    """(mean, squares) per parameter, sorted by mean then squares: equal as multisets whatever the order."""
    mean, squares = moments
    assert mean.shape == squares.shape and mean.ndim == 1, (mean.shape, squares.shape)
    order = np.lexsort((squares, mean))
    return mean[order], squares[order]


def assert_consistent(pairs: dict[str, tuple], rtol: float = RTOL, atol: float = ATOL) -> None:
    """Each hand-written value within rtol of its reference, entrywise (plus atol × the reference's largest entry)."""
    failures = []
    for label, (actual, expected) in pairs.items():
        if label in ORDER_FREE:
            actual, expected = _as_multiset(actual), _as_multiset(expected)
        got, got_tree = jax.tree_util.tree_flatten_with_path(actual)
        want, want_tree = jax.tree_util.tree_flatten(expected)
        if got_tree != want_tree:
            failures.append(f"{label}: structure {got_tree} != {want_tree}")
            continue
        scale = max((float(np.max(np.abs(w))) for w in want if w.size), default=0.0)
        for (path, a), w in zip(got, want, strict=True):
            where = f"{label}{jax.tree_util.keystr(path)}"
            if a.shape != w.shape:
                failures.append(f"{where}: shape {a.shape} != {w.shape}")
                continue
            error = np.abs(a - w)
            if not np.all(error <= rtol * np.abs(w) + atol * scale):
                relative = float(np.max(error / (np.abs(w) + atol * scale + np.finfo(float).tiny)))
                failures.append(f"{where}: max |Δ| = {float(np.max(error)):.3g}, max relative {relative:.3g}")
    assert not failures, "\n".join(failures)


@functools.cache
def _table_program(name: str) -> tuple[dict[str, tuple], tuple, list]:
    """One float64 program per problem serves the three tests below."""
    cls = PROBLEMS.get(name)
    return float64_program(cls, _tiny(cls))


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    _, (analytic, numeric, scale), dtypes = _table_program(name)
    assert all(dtype == jnp.float64 for dtype in dtypes), f"params must follow the default float dtype: {dtypes}"
    assert abs(analytic - numeric) <= 1e-6 * (1.0 + scale) + 1e-5 * abs(analytic), (analytic, numeric)


@pytest.mark.parametrize("name", NAMES)
def test_example_losses_average_to_the_batch_loss(name):
    assert_consistent({EXAMPLE_LOSSES: _table_program(name)[0][EXAMPLE_LOSSES]})


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_derivatives_match_autodiff(name):
    pairs = _table_program(name)[0]
    assert_consistent({label: pair for label, pair in pairs.items() if label != EXAMPLE_LOSSES})


BRANCHES = {  # static options that switch code paths inside hand-written derivatives, beyond ``tiny`` (digits_mlp's
    # relu / cross-entropy / ntk branches: DENSE_NETWORKS in tests/probes, test_ntk.py and test_noise.py)
    "fractal_net": ({"activation": "relu"}, {"activation": "identity"}, {"train_hidden": False}),
    "ntk_mlp": ({"activation": "relu", "parameterization": "mean_field"},),
    "quadratic": ({"rotation_seed": -1},),
}


@pytest.mark.parametrize(
    ("name", "options"),
    [(name, options) for name, variants in BRANCHES.items() for options in variants],
    ids=lambda value: value if isinstance(value, str) else ",".join(f"{k}={v}" for k, v in value.items()),
)
def test_hand_written_derivatives_on_other_branches(name, options):
    cls = PROBLEMS.get(name)
    assert derivative_like_members(cls), f"{name} has no hand-written derivative: drop it from BRANCHES"
    assert_consistent(float64_program(cls, {**_tiny(cls), **options})[0])


def derivative_like_members(cls: type[Problem]) -> set[str]:
    """Public methods and properties named like a derivative, defined by the problem or its bases (not
    :class:`Problem` itself, whose ``grad`` is autodiff; dataclass fields such as ``grad_noise`` are not methods)."""
    fields = {f.name for f in dataclasses.fields(cls)}
    found = set()
    for klass in cls.__mro__:
        if klass in (Problem, object):
            continue
        for member, value in vars(klass).items():
            if member.startswith("_") or member in fields or not (callable(value) or isinstance(value, property)):
                continue
            if DERIVATIVE_LIKE.search(member):
                found.add(member)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_every_derivative_method_is_checked(name):
    unchecked = derivative_like_members(PROBLEMS.get(name)) - set(CHECKED_DERIVATIVES)
    assert not unchecked, (
        f"{name} defines {sorted(unchecked)}, named like hand-written derivatives that this table does not check "
        f"against autodiff: add each to `comparisons` and CHECKED_DERIVATIVES (or rename it if it is no derivative)"
    )


def _scale_field(grad, factor):
    def wrong(self, params, batch):
        value, field = grad(self, params, batch)
        return value, jax.tree_util.tree_map(lambda g: factor * g, field)

    return wrong


def _flip_one_sign(grad):
    def wrong(self, params, batch):
        value, field = grad(self, params, batch)
        leaves, treedef = jax.tree_util.tree_flatten(field)
        first = leaves[0].ravel()
        leaves[0] = first.at[0].set(-first[0]).reshape(leaves[0].shape)
        return value, treedef.unflatten(leaves)

    return wrong


def _plain_gradient(grad):
    return Problem.grad  # a game's field without the −∇ᵧf


def _scale_output(method, factor=1.01):
    @functools.wraps(method)
    def wrong(self, *args):
        return jax.tree_util.tree_map(lambda a: factor * a, method(self, *args))

    return wrong


def _transpose(method):
    return lambda self: method(self).T  # [[μx, A], [−Aᵀ, μy]] → [[μx, −A], [Aᵀ, μy]]


def _scale_field_and_value(grad):
    def wrong(self, params, batch):
        value, field = grad(self, params, batch)
        return value * (1 + 1e-6), jax.tree_util.tree_map(lambda g: 1.01 * g, field)

    return wrong


BREAKAGES = {  # id: (problem, {method: how it is broken}, what the failure must name); one program each
    "fractal_net grad: field ×1.01, value ×(1+1e-6)": (
        "fractal_net",
        {"grad": _scale_field_and_value},
        ("grad field", "grad value"),
    ),
    "fractal_net grad: one sign flipped": ("fractal_net", {"grad": _flip_one_sign}, ("grad field",)),
    "bilinear_game grad = ∇f (no ascent on y)": ("bilinear_game", {"grad": _plain_gradient}, ("grad field",)),
    "quadratic hessian ×1.01": ("quadratic", {"hessian": _scale_output}, ("hessian",)),
    "quadratic_game field_matrix transposed": ("quadratic_game", {"field_matrix": _transpose}, ("field_matrix",)),
    "ntk_mlp ntk and example_gradient_moments ×1.01": (
        "ntk_mlp",
        {"ntk": _scale_output, "example_gradient_moments": _scale_output},
        ("ntk", "example_gradient_moments"),
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_derivative_check_rejects_a_wrong_derivative(breakage, monkeypatch):
    """The check has teeth: a hand-written derivative 1 % off (a value 1e-6 off), or with one sign flipped, fails
    it, and the failure names what is wrong."""
    name, wrongs, named = BREAKAGES[breakage]
    cls = PROBLEMS.get(name)
    for method, wrong in wrongs.items():
        original = inspect.getattr_static(cls, method)
        assert method in CHECKED_DERIVATIVES and callable(original)
        monkeypatch.setattr(cls, method, wrong(original))
    pairs = float64_program(cls, _tiny(cls))[0]
    with pytest.raises(AssertionError) as failure:
        assert_consistent({label: pair for label, pair in pairs.items() if label != EXAMPLE_LOSSES})
    for label in named:
        assert label in str(failure.value), (label, str(failure.value))
