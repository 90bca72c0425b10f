r"""The empirical neural tangent kernel on a fixed probe set: spectrum, target alignment, drift.

With outputs :math:`f(\theta;x)\in\mathbb R^c` (``problem.predict(params, inputs)``), the empirical
NTK on the probe inputs :math:`x_1..x_n` (the first ``n_probe`` examples of the evaluation batch,
``batch["x"]``) is the Gram matrix of per-example output Jacobians, summed over outputs:

.. math:: K_{ij} = \sum_{a=1}^{c}\big\langle \nabla_\theta f_a(\theta;x_i),\,\nabla_\theta f_a(\theta;x_j)\big\rangle .

Metrics: ``ntk_eig_1`` … ``ntk_eig_k`` (top eigenvalues of K), ``ntk_trace``; the kernel–target
alignment :math:`A(K,Y)=\langle K, YY^\top\rangle_F/(\|K\|_F\|YY^\top\|_F)` with Y the targets
``batch["y"]`` (integer labels become one-hot rows of length c; real targets are reshaped to (n, ·));
with ``center = true`` both matrices are centred first, :math:`K\mapsto CKC`, :math:`C=I-\frac1n\mathbf 1\mathbf 1^\top`
(centred alignment); and the relative drift from initialization
:math:`\|K_t-K_0\|_F/\|K_0\|_F` (K₀ at θ₀ is kept in the probe state).

For a linear model :math:`f(x)=x^\top w`, K is the data Gram matrix :math:`XX^\top`. A problem made only of
dense layers may provide ``ntk(params, inputs)``, computed by structured derivatives without forming
the (n·c × P) Jacobian (Novak et al. 2022); the generic path is the Jacobian Gram.

Needs ``problem.predict(params, inputs) -> outputs`` (network problems) and ``batch["x"]``,
``batch["y"]``; a problem without ``predict`` is an error at trace time.

References: Jacot, Gabriel, Hongler, *Neural Tangent Kernel* (1806.07572); Cristianini et al., *On
kernel-target alignment* (NIPS 2001); Cortes, Mohri, Rostamizadeh, *Algorithms for learning kernels
based on centered alignment* (JMLR 2012); Fort et al., *Deep learning versus kernel learning*
(2010.15110); Baratin et al., *Implicit regularization via neural feature alignment* (2008.00938).
"""

from __future__ import annotations

from typing import Annotated, Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from descentlab.params import Arg
from descentlab.probes._linalg import take_batch
from descentlab.probes.base import Probe, ProbeContext, register_probe
from descentlab.problems.base import Params, Predicts, Problem


def require_predict(problem: Problem, probe: str) -> None:
    if not callable(getattr(problem, "predict", None)):
        raise ValueError(
            f"probe {probe!r} needs problem.predict(params, inputs) -> outputs; "
            f"problem {type(problem).__name__} ({problem.name!r}) has none — use a network problem"
        )


def output_jacobians(problem: Problem, params: Params, inputs: jax.Array) -> jax.Array:
    """Per-example output Jacobians, shape (n, c, P) (c = 1 for scalar outputs)."""
    flat, unravel = ravel_pytree(params)

    def outputs_of(theta: jax.Array, x: jax.Array) -> jax.Array:
        return jnp.reshape(problem.predict(unravel(theta), x[None]), (-1,))

    return jax.vmap(jax.jacrev(outputs_of), in_axes=(None, 0))(flat, inputs)


def empirical_ntk(problem: Problem, params: Params, inputs: jax.Array) -> jax.Array:
    """K_ij = Σ_a ⟨∇f_a(x_i), ∇f_a(x_j)⟩, shape (n, n): the problem's own ``ntk(params, inputs)`` where it has
    one (dense networks compute it by structured derivatives, :mod:`descentlab.problems._dense_layers`), else the
    Gram of explicit per-example Jacobians."""
    if callable(getattr(problem, "ntk", None)):
        return problem.ntk(params, inputs)
    jac = output_jacobians(problem, params, inputs)
    return jnp.einsum("iap,jap->ij", jac, jac)


def target_matrix(targets: jax.Array, n_outputs: int, dtype) -> jax.Array:
    """Rows of Y: one-hot for integer labels, the targets themselves otherwise."""
    if jnp.issubdtype(targets.dtype, jnp.integer):
        return jax.nn.one_hot(targets, n_outputs, dtype=dtype)
    return jnp.reshape(targets, (targets.shape[0], -1)).astype(dtype)


def _center(matrix: jax.Array) -> jax.Array:
    matrix = matrix - jnp.mean(matrix, axis=0, keepdims=True)
    return matrix - jnp.mean(matrix, axis=1, keepdims=True)


def alignment(kernel: jax.Array, target: jax.Array, center: bool = False) -> jax.Array:
    """⟨K, YYᵀ⟩ / (‖K‖ ‖YYᵀ‖) (Frobenius), optionally after centring both."""
    gram = target @ target.T
    if center:
        kernel, gram = _center(kernel), _center(gram)
    return jnp.sum(kernel * gram) / (jnp.linalg.norm(kernel) * jnp.linalg.norm(gram))


class NTK(Probe):
    def __init__(self, n_probe: int = 64, k: int = 5, center: bool = False):
        self.n_probe, self.k, self.center = n_probe, k, center

    def _kernel(self, ctx: ProbeContext, params: Params) -> tuple[jax.Array, dict]:
        require_predict(ctx.problem, "ntk")
        batch = take_batch(ctx.eval_batch, self.n_probe)
        if not isinstance(batch, dict) or "x" not in batch:
            raise ValueError("probe 'ntk' needs the evaluation batch to be a dict with inputs under 'x'")
        return empirical_ntk(ctx.problem, params, batch["x"]), batch

    def init(self, ctx: ProbeContext) -> Any:
        return self._kernel(ctx, ctx.params0)[0]

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        kernel, batch = self._kernel(ctx, ctx.params)
        eigs = jnp.linalg.eigvalsh(kernel)[::-1]
        out = {f"ntk_eig_{i + 1}": eigs[i] for i in range(min(self.k, eigs.shape[0]))}
        out["ntk_trace"] = jnp.trace(kernel)
        if "y" in batch:
            n_outputs = jnp.reshape(ctx.problem.predict(ctx.params, batch["x"][:1]), (-1,)).shape[0]
            out["ntk_alignment"] = alignment(kernel, target_matrix(batch["y"], n_outputs, kernel.dtype), self.center)
        out["ntk_change"] = jnp.linalg.norm(kernel - state) / jnp.linalg.norm(state)
        return out, state


@register_probe(
    "ntk",
    needs=(Predicts,),
    summary="empirical NTK on a fixed probe set: top eigenvalues, kernel-target alignment, change from init",
    reference="Jacot et al. 2018 (1806.07572); Cristianini et al. 2001; Fort et al. 2020 (2010.15110)",
)
def ntk_probe(
    n_probe: Annotated[int, Arg("probe set: the first n_probe examples of the evaluation batch", low=1)] = 64,
    k: Annotated[int, Arg("number of top NTK eigenvalues reported", low=1)] = 5,
    center: Annotated[bool, Arg("centred kernel-target alignment")] = False,
) -> Probe:
    return NTK(n_probe, k, center)
