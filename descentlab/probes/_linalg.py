r"""Shared linear algebra for the curvature probes: flat parameters, Hessian-vector products, Lanczos.

* :func:`flat_loss` turns ``problem.loss(params, batch)`` into a function of one flat vector.
* :func:`hvp_operator` linearizes :math:`\nabla f` once at θ (forward-over-reverse,
  ``jax.linearize(jax.grad(f))``) so that each product :math:`v\mapsto Hv` reuses the primal pass.
* :func:`lanczos` runs ``m`` Lanczos steps with *full* reorthogonalization (classical Gram–Schmidt,
  two passes per step: one before the breakdown test, one after; three when 2m > n) and returns the tridiagonal matrix
  :math:`T_m`. Its eigenvalues (Ritz values) approximate the extreme eigenvalues of a symmetric operator,
  and the squared first components of its eigenvectors are the Gauss quadrature weights used by
  stochastic Lanczos quadrature.

On breakdown (:math:`\beta_j\approx0`: the Krylov space is invariant) the next Lanczos vector is a
fresh vector (a cyclic shift of one random vector) orthogonalized against the basis and
:math:`\beta_j` is set to 0, so :math:`T_m` stays block diagonal and its eigenvalues stay exact
eigenvalues of the operator.

Why not ``matfree`` (``matfree.decomp.tridiag_sym(m, reortho="full")``, 0.6.3; compared for issue 22):
its full reorthogonalization is Arnoldi with two Gram–Schmidt passes and *no breakdown test*, so

* accuracy: on an exhausted Krylov space it divides by a zero or rounding-noise residual — NaN Ritz values
  for H = 5·I (n = 20) and H = 0, and top Ritz values off by up to 97× (relative) for H = diag(5, 2, 1,
  0, …, 0) (n = 20, m = 10 and 20, worst of 50 start vectors, float32); ours: ≤ 4e-7 on all of these
  (tests/probes/test_sharpness.py). Swapped in for ours, it passes the 13 known-answer tests of
  tests/probes/test_sharpness.py and test_hessian_density.py, and on 5 outliers + a bulk (n = 120,
  m = 20 and 40, 50 start vectors) both are within 6e-7 of the top eigenvalue;
* cost (benchmarks/probes.py's ``digits_mlp``, 9 985 parameters, jitted, one BLAS thread, on a 2-core
  machine shared with other jobs): ``sharpness`` with 20 steps 1.05–1.13× ours in the benchmark's
  alternating median (min of 60 repeats: 24.2–25.0 ms ours, 27.5–28.1 ms matfree); SLQ with 4 vmapped
  vectors × 30 steps, min of 30 repeats: 214–227 ms ours, 197–223 ms matfree.

So ours is kept: as fast (within 8 %), and exact after a breakdown (a Hessian with fewer than m distinct
eigenvalues, e.g. low rank). ``matfree``'s stochastic trace / SLQ helpers return :math:`v^\top f(H)v` for
one scalar f per call; the histogram of :mod:`~descentlab.probes.hessian_density` needs the Ritz nodes and
weights, which come from the same decomposition. It has no warm-started block power iteration
(:func:`~descentlab.probes.sharpness.block_power`).

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
    matvec: Matvec, v0: jax.Array, steps: int, key: jax.Array, unroll: bool | None = None, passes: int | None = None
) -> tuple[jax.Array, jax.Array]:
    r"""``steps`` Lanczos iterations with full reorthogonalization.

    Each step projects :math:`w = Hv_j` off the basis once (classical Gram–Schmidt), tests for breakdown
    (:math:`\|w\|\le 10\,\epsilon\max_i\|Hv_i\|`: the Krylov space is invariant and w is rounding
    noise), replaces w by a restart vector if so, and then orthogonalizes again ``passes`` times. Branch-free
    (a ``where``, not a ``cond``): under ``vmap`` a ``cond`` runs both branches anyway.

    Args:
      matvec: a symmetric linear operator on vectors of length n.
      v0: the start vector (normalized here; must be nonzero).
      steps: number of iterations m (static; clipped to n).
      key: PRNG key for restart vectors after breakdown.
      unroll: unroll the m steps in the program (default False: a ``fori_loop``). Unrolled is ~20 %
        faster on CPU for m ≈ 20 but multiplies compile time inside the engine's vmapped scan.
      passes: Gram–Schmidt passes after the breakdown test; default 1 (two per step in all, "twice is
        enough") when 2m ≤ n, else 2 (a restart vector late in a nearly complete basis needs two of its own:
        with one, H = 5·I at m = n = 20 gave Ritz values off by 8×). Two passes on w are needed: with the
        second only when a ``cond`` saw a breakdown (the former code), the normalized rounding noise of a
        (nearly) exhausted Krylov space kept components along the basis and spurious Ritz values appeared —
        on rank-3 Hessians of size 20 in float32, m = 10 and 20, over 50 start vectors: top Ritz value off
        by up to 24× (relative) then, ≤ 4e-7 now. Cost, vmapped over 4 vectors (n = 10⁴, m = 30,
        diagonal H, so that only the orthogonalization counts; min of 40, 3 runs): 29–39 ms before,
        21–29 ms now, matfree 22–29 ms.

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
    passes = (1 if 2 * m <= n else 2) if passes is None else passes
    # restart vectors: cyclic shifts of one random vector (generically independent; no PRNG draw per step)
    restart = jax.random.normal(key, (n,), dtype)

    def step(j, v, basis, scale):
        """One Lanczos step from v = basis row j: (alpha_j, beta_j, next vector, scale)."""
        w = matvec(v)
        a = jnp.vdot(v, w)
        scale = jnp.maximum(scale, jnp.linalg.norm(w))
        w = _orthogonalize(w, basis, 1)
        broke = jnp.linalg.norm(w) <= tiny * jnp.maximum(scale, 1e-30)
        w = _orthogonalize(jnp.where(broke, jnp.roll(restart, j + 1), w), basis, passes)
        b = jnp.linalg.norm(w)
        return a, jnp.where(broke, 0.0, b), w / jnp.where(b > 0, b, 1.0), scale

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
