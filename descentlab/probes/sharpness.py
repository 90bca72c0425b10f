r"""Sharpness: the top Hessian eigenvalues of the full-batch loss, and the preconditioned sharpness of Adam.

``sharpness`` — the top-k eigenvalues :math:`\lambda_1\ge\dots\ge\lambda_k` of
:math:`H = \nabla^2 f(\theta_t)`, f the loss on the evaluation batch (or its first ``batch_size``
examples: a fixed large batch). Hessian-vector products are forward-over-reverse
(``jax.linearize(jax.grad(f))``, one primal pass per checkpoint). Two methods:

* ``lanczos`` (default): ``iterations`` Lanczos steps with full reorthogonalization from a random
  start; the top Ritz values converge to the largest *algebraic* eigenvalues
  (Ghorbani, Krishnan, Xiao 2019, 1901.10159; Yao et al., PyHessian, 1912.07145);
* ``power``: block power (orthogonal) iteration on k vectors, *warm-started* from the previous
  checkpoint's eigenvectors (carried in the probe state), followed by a Rayleigh–Ritz step. Cheap
  for tracking sharpness along training (Cohen et al., *Gradient Descent on Neural Networks Typically
  Occurs at the Edge of Stability*, 2103.00065); it converges to the eigenvalues of largest
  *magnitude*.

Metrics: ``sharpness`` (= λ₁) and ``sharpness_1`` … ``sharpness_k``.

``preconditioned_sharpness`` — for Adam-like optimizers, the top eigenvalues of :math:`P H` with
:math:`P = \mathrm{diag}\big(1/(\sqrt{\hat\nu_t}+\epsilon)\big)`, :math:`\hat\nu_t = \nu_t/(1-\beta_2^t)`,
the quantity whose crossing of :math:`(2+2\beta_1)/((1-\beta_1)\eta)` (38/η for β₁ = 0.9) marks the
*adaptive edge of stability* (Cohen et al., *Adaptive Gradient Methods at the Edge of Stability*,
2207.14484; that paper's P also carries the factor :math:`1-\beta_1^t`, which tends to 1).
:math:`\nu_t` and t are read from the first ``optax.ScaleByAdamState`` found in the optimizer state
(any optax chain containing ``scale_by_adam``: adam, adamw, nadam, …). β₂ and ε are read from an
``inject_hyperparams`` state when it holds ``b2``/``eps``, else taken from the probe options. Since
:math:`PH` is similar to :math:`P^{1/2}HP^{1/2}`, Lanczos runs on the latter (symmetric). Before
the first update (t = 0) P is undefined and the metric is NaN.
"""

from __future__ import annotations

from typing import Annotated, Any

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from descentlab.params import Arg
from descentlab.probes._linalg import flat_loss, hvp_operator, lanczos, ritz, take_batch, top_k
from descentlab.probes.base import EvalBatchSize, Probe, ProbeContext, register_probe

METHODS = ("lanczos", "power")

TopK = Annotated[int, Arg("number of top eigenvalues reported", low=1, high=100)]
Iterations = Annotated[int, Arg("Lanczos steps (lanczos) or power iterations per checkpoint (power)", low=1)]


def _top_eigs_lanczos(matvec, n: int, dtype, key: jax.Array, iterations: int) -> jax.Array:
    k_start, k_restart = jax.random.split(key)
    v0 = jax.random.normal(k_start, (n,), dtype)
    alpha, beta = lanczos(matvec, v0, iterations, k_restart)
    return ritz(alpha, beta)[0]


def block_power(matvec, basis: jax.Array, iterations: int) -> tuple[jax.Array, jax.Array]:
    """Orthogonal iteration on the columns of ``basis`` (n, k), then Rayleigh–Ritz.

    Returns (Ritz values ascending, Ritz vectors (n, k) in the same order).
    """
    apply = jax.vmap(matvec, in_axes=1, out_axes=1)
    q, _ = jnp.linalg.qr(basis)

    def step(_, q):
        return jnp.linalg.qr(apply(q))[0]

    q = jax.lax.fori_loop(0, iterations, step, q)
    small = q.T @ apply(q)
    values, vectors = jnp.linalg.eigh(0.5 * (small + small.T))
    return values, q @ vectors


class Sharpness(Probe):
    """Top-k Hessian eigenvalues by Lanczos or warm-started block power iteration."""

    def __init__(self, k: int = 1, iterations: int = 20, method: str = "lanczos", batch_size: int = 0):
        if method not in METHODS:
            raise ValueError(f"sharpness.method: got {method!r}; allowed: {', '.join(METHODS)}")
        self.k, self.iterations, self.method, self.batch_size = k, iterations, method, batch_size

    def init(self, ctx: ProbeContext) -> Any:
        if self.method != "power":
            return ()
        flat, _ = ravel_pytree(ctx.params)
        return jax.random.normal(jax.random.fold_in(ctx.key, 17), (flat.shape[0], self.k), flat.dtype)

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        fun, flat = flat_loss(ctx.problem, ctx.params, take_batch(ctx.eval_batch, self.batch_size))
        matvec = hvp_operator(fun, flat)
        if self.method == "lanczos":
            values = _top_eigs_lanczos(matvec, flat.shape[0], flat.dtype, ctx.key, self.iterations)
            return top_k(values, self.k, "sharpness"), state
        values, vectors = block_power(matvec, state, self.iterations)
        return top_k(values, self.k, "sharpness"), vectors


@register_probe(
    "sharpness",
    summary="top-k Hessian eigenvalues of the full-batch loss (Lanczos on HVPs, or warm power iteration)",
    reference="Ghorbani, Krishnan, Xiao 2019 (1901.10159); Cohen et al. 2021 (2103.00065)",
)
def sharpness_probe(
    k: TopK = 1,
    iterations: Iterations = 20,
    batch_size: EvalBatchSize = 0,
    method: Annotated[str, Arg("lanczos | power (warm-started)", choices=METHODS)] = "lanczos",
) -> Probe:
    return Sharpness(k, iterations, method, batch_size)


# ---- preconditioned sharpness ------------------------------------------------------------------


def _is_adam_state(node: Any) -> bool:
    return isinstance(node, optax.ScaleByAdamState)


def find_adam_state(opt_state: Any) -> optax.ScaleByAdamState:
    """The first ``optax.ScaleByAdamState`` inside an optimizer state, or a clear error."""
    for node in jax.tree_util.tree_leaves(opt_state, is_leaf=_is_adam_state):
        if _is_adam_state(node):
            return node
    raise ValueError(
        "preconditioned_sharpness: the optimizer state holds no optax ScaleByAdamState (second moment nu); "
        "use it with adam-like optimizers (adam, adamw, nadam, ...) or use the 'sharpness' probe"
    )


def _injected(opt_state: Any, name: str) -> jax.Array | None:
    """A hyperparameter from an ``inject_hyperparams`` state, when present."""
    is_inject = lambda node: hasattr(node, "hyperparams") and isinstance(node.hyperparams, dict)  # noqa: E731
    for node in jax.tree_util.tree_leaves(opt_state, is_leaf=is_inject):
        if is_inject(node) and name in node.hyperparams:
            return node.hyperparams[name]
    return None


def adam_preconditioner(opt_state: Any, b2: float, eps: float) -> tuple[jax.Array, jax.Array]:
    """(diag of P = 1/(√ν̂+ε) as a flat vector, the step count t)."""
    adam = find_adam_state(opt_state)
    b2_value = _injected(opt_state, "b2")
    eps_value = _injected(opt_state, "eps")
    b2_value = jnp.asarray(b2 if b2_value is None else b2_value)
    eps_value = jnp.asarray(eps if eps_value is None else eps_value)
    nu, _ = ravel_pytree(adam.nu)
    count = adam.count
    correction = 1.0 - b2_value ** jnp.maximum(count, 1).astype(nu.dtype)
    nu_hat = nu / correction
    return 1.0 / (jnp.sqrt(nu_hat) + eps_value), count


class PreconditionedSharpness(Probe):
    """Top-k eigenvalues of P^{1/2} H P^{1/2} (= those of P H), P from Adam's second moment."""

    def __init__(self, k: int = 1, iterations: int = 20, batch_size: int = 0, b2: float = 0.999, eps: float = 1e-8):
        self.k, self.iterations, self.batch_size, self.b2, self.eps = k, iterations, batch_size, b2, eps

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        precond, count = adam_preconditioner(ctx.opt_state, self.b2, self.eps)
        fun, flat = flat_loss(ctx.problem, ctx.params, take_batch(ctx.eval_batch, self.batch_size))
        hvp = hvp_operator(fun, flat)
        root = jnp.sqrt(precond).astype(flat.dtype)
        values = _top_eigs_lanczos(lambda v: root * hvp(root * v), flat.shape[0], flat.dtype, ctx.key, self.iterations)
        values = jnp.where(count > 0, values, jnp.nan)
        return top_k(values, self.k, "preconditioned_sharpness"), state


@register_probe(
    "preconditioned_sharpness",
    summary="top eigenvalues of P·H, P = diag(1/(√ν̂+ε)) from Adam's state (adaptive edge of stability)",
    reference="Cohen et al., Adaptive Gradient Methods at the Edge of Stability (2207.14484)",
)
def preconditioned_sharpness_probe(
    k: TopK = 1,
    iterations: Iterations = 20,
    batch_size: EvalBatchSize = 0,
    b2: Annotated[
        float, Arg("Adam's β₂ (unless the optimizer state injects b2)", low=0.0, high=1.0, high_open=True, static=True)
    ] = 0.999,
    eps: Annotated[float, Arg("Adam's ε (unless the optimizer state injects eps)", low=0.0, static=True)] = 1e-8,
) -> Probe:
    return PreconditionedSharpness(k, iterations, batch_size, b2, eps)
