r"""Shared linear algebra for the curvature probes: flat parameters, Hessian-vector products, Lanczos.

* :func:`flat_loss` turns ``problem.loss(params, batch)`` into a function of one flat vector.
* :func:`hvp_operator` linearizes :math:`\nabla f` once at θ (forward-over-reverse,
  ``jax.linearize(jax.grad(f))``) so that each product :math:`v\mapsto Hv` reuses the primal pass.
* :func:`lanczos` runs ``m`` Lanczos steps with *full* reorthogonalization (classical Gram–Schmidt,
  twice) and returns the tridiagonal matrix :math:`T_m`. Its eigenvalues (Ritz values) approximate the
  extreme eigenvalues of a symmetric operator, and the squared first components of its eigenvectors
  are the Gauss quadrature weights used by stochastic Lanczos quadrature.

On breakdown (:math:`\beta_j\approx0`: the Krylov space is invariant) the next Lanczos vector is a
fresh vector (a cyclic shift of one random vector) orthogonalized against the basis and
:math:`\beta_j` is set to 0, so :math:`T_m` stays block diagonal and its eigenvalues stay exact
eigenvalues of the operator.

References: Lanczos (1950); Golub & Van Loan, *Matrix Computations*, §10.1; Ghorbani, Krishnan, Xiao,
*An Investigation into Neural Net Optimization via Hessian Eigenvalue Density* (1901.10159).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from descentlab.problems.base import Batch, Params, Problem

Matvec = Callable[[jax.Array], jax.Array]


def flat_loss(problem: Problem, params: Params, batch: Batch) -> tuple[Callable[[jax.Array], jax.Array], jax.Array]:
    """(f, θ_flat) with f(θ_flat) = problem.loss(unravel(θ_flat), batch)."""
    flat, unravel = ravel_pytree(params)
    return (lambda x: problem.loss(unravel(x), batch)), flat


def hvp_operator(fun: Callable[[jax.Array], jax.Array], x: jax.Array) -> Matvec:
    """v ↦ ∇²f(x) v by forward-over-reverse differentiation, linearized once at x."""
    _, hvp = jax.linearize(jax.grad(fun), x)
    return hvp


def take_batch(batch: Batch, size: int) -> Batch:
    """The first ``size`` examples of a batch (``size = 0``: all of it)."""
    if size <= 0:
        return batch
    n = jax.tree_util.tree_leaves(batch)[0].shape[0]
    if size >= n:
        return batch
    return jax.tree_util.tree_map(lambda a: a[:size], batch)


def _orthogonalize(w: jax.Array, basis: jax.Array, passes: int = 2) -> jax.Array:
    """w minus its projection on the rows of ``basis`` (rows not yet filled are zero), ``passes`` times."""
    for _ in range(passes):
        w = w - (basis @ w) @ basis
    return w


def lanczos(
    matvec: Matvec, v0: jax.Array, steps: int, key: jax.Array, unroll: bool | None = None, passes: int = 1
) -> tuple[jax.Array, jax.Array]:
    """``steps`` Lanczos iterations with full reorthogonalization.

    Args:
      matvec: a symmetric linear operator on vectors of length n.
      v0: the start vector (normalized here; must be nonzero).
      steps: number of iterations m (static; clipped to n).
      key: PRNG key for restart vectors after breakdown.
      passes: Gram–Schmidt passes of the full reorthogonalization per step (1 keeps the basis
        orthogonal to ~1e-6 in float32 for the m ≤ 100 used here; 2 = "twice is enough").
      unroll: unroll the m steps in the program (default False: a ``fori_loop``). Unrolled is ~20 %
        faster on CPU for m ≈ 20 but multiplies compile time inside the engine's vmapped scan.

    Returns:
      (alpha, beta): the diagonal (length m) and off-diagonal (length m − 1) of :math:`T_m`.
    """
    n = v0.shape[0]
    m = min(int(steps), n)
    dtype = v0.dtype
    v = v0 / jnp.linalg.norm(v0)
    basis = jnp.zeros((m, n), dtype).at[0].set(v)
    alpha = jnp.zeros((m,), dtype)
    beta = jnp.zeros((max(m - 1, 0),), dtype)
    tiny = jnp.asarray(10.0 * jnp.finfo(dtype).eps, dtype)
    # restart vectors: cyclic shifts of one random vector (generically independent; no PRNG draw per step)
    restart = jax.random.normal(key, (n,), dtype)

    def step(j, v, basis, scale):
        """One Lanczos step from v = basis row j: (alpha_j, beta_j, next vector, scale)."""
        w = matvec(v)
        a = jnp.vdot(v, w)
        scale = jnp.maximum(scale, jnp.linalg.norm(w))
        w = _orthogonalize(w, basis, passes)
        b = jnp.linalg.norm(w)
        broke = b <= tiny * jnp.maximum(scale, 1e-30)

        def fresh(_):
            u = jnp.roll(restart, j + 1)
            u = _orthogonalize(u, basis)
            return u / jnp.linalg.norm(u)

        nxt = jax.lax.cond(broke, fresh, lambda _: w / jnp.where(broke, 1.0, b), None)
        return a, jnp.where(broke, 0.0, b), nxt, scale

    if unroll is None:
        unroll = False
    scale = jnp.zeros((), dtype)
    if unroll:
        rows, alphas, betas = [v], [], []
        for j in range(m - 1):
            a, b, v, scale = step(j, v, jnp.stack(rows), scale)
            rows.append(v)
            alphas.append(a)
            betas.append(b)
        basis = jnp.stack(rows)
        alpha = jnp.stack([*alphas, jnp.zeros((), dtype)])
        beta = jnp.stack(betas) if betas else beta
    elif m > 1:

        def body(j, carry):
            basis, alpha, beta, scale = carry
            a, b, nxt, scale = step(j, basis[j], basis, scale)  # rows past j are zero
            return basis.at[j + 1].set(nxt), alpha.at[j].set(a), beta.at[j].set(b), scale

        basis, alpha, beta, _ = jax.lax.fori_loop(0, m - 1, body, (basis, alpha, beta, scale))
    last = basis[m - 1]
    alpha = alpha.at[m - 1].set(jnp.vdot(last, matvec(last)))
    return alpha, beta


def tridiagonal(alpha: jax.Array, beta: jax.Array) -> jax.Array:
    """The symmetric tridiagonal matrix with diagonal ``alpha`` and off-diagonal ``beta``."""
    return jnp.diag(alpha) + jnp.diag(beta, 1) + jnp.diag(beta, -1)


def ritz(alpha: jax.Array, beta: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(Ritz values ascending, Gauss quadrature weights = squared first eigenvector components)."""
    values, vectors = jnp.linalg.eigh(tridiagonal(alpha, beta))
    return values, vectors[0] ** 2


def top_k(values: jax.Array, k: int, prefix: str) -> dict[str, jax.Array]:
    """``{prefix: λ₁, prefix_1: λ₁, …, prefix_k: λ_k}`` from ascending ``values`` (NaN past the end)."""
    ordered = values[::-1]
    out = {prefix: ordered[0]}
    for i in range(k):
        out[f"{prefix}_{i + 1}"] = ordered[i] if i < ordered.shape[0] else jnp.full((), jnp.nan, values.dtype)
    return out
