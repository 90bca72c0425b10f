r"""Weight entropy: the k-nearest-neighbour entropy of the weights visited over a window of checkpoints.

``weight_entropy`` — the estimator of Sadrtdinov, Klimov, Lobacheva, Vetrov, *SGD as Free Energy
Minimization: A Thermodynamic View on Neural Network Training* (2505.23489; their ``EntropyLogger``). The
probe keeps the flattened parameters :math:`w_1,\dots,w_N` of the last N = ``window`` checkpoints (state)
and, with :math:`\varepsilon_{i,(j)}` the distance from :math:`w_i` to its j-th nearest neighbour in the
window (j = 0 is :math:`w_i` itself), reports

.. math:: \hat S = d\,\log\Big(\sum_{i=1}^{N}\sum_{j=0}^{k}\varepsilon_{i,(j)}\Big) - (d-1)\log N ,

with d the number of parameters (the paper's γ = 1; it uses d = P − 1 on its sphere of scale-invariant
weights, here the weights live in :math:`\mathbb R^P`). Up to an additive constant in (k, N, d) this is a
Kozachenko–Leonenko estimate :math:`d\log\bar\varepsilon_k` with the mean of the distances inside the log
instead of outside; the constant drops out of every difference at fixed (k, N, d), which is all the free
energy analysis uses (the temperature is the slope :math:`T=\partial U/\partial S` across learning rates).
It is equivariant under scaling: :math:`\hat S(aw)=\hat S(w)+d\log a`, so a Gaussian window of covariance
:math:`c\,\Sigma_0` has :math:`\hat S = \tfrac d2\log c+\mathrm{const}` exactly.

It also reports ``window_loss``, the mean full-batch training loss over the same window (the paper's
energy U). Both are NaN until the window is full. The distance of each new point to the window is
computed from differences (not from Gram matrices, whose cancellation would swamp the tiny distances
of a converged run) and kept in an N×N matrix, so a checkpoint costs O(N·P + N² log N). The paper uses
consecutive iterates; a window of checkpoints spaced beyond the relaxation time samples the stationary
distribution itself.
"""

from __future__ import annotations

from typing import Annotated, Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from descentlab.params import Arg
from descentlab.probes.base import Probe, ProbeContext, register_probe


def knn_entropy(distances: jax.Array, k: int, dim: int) -> jax.Array:
    """The paper's k-NN entropy from an (N, N) distance matrix (zero diagonal) of N points in ``dim``
    dimensions: d·log(Σ_i Σ_{j≤k} ε_(j)(i)) − (d−1)·log N (the self-distance j = 0 included)."""
    n = distances.shape[0]
    nearest = -jax.lax.top_k(-distances, k + 1)[0]  # (N, k+1) smallest distances of each row, self first
    total = jnp.maximum(jnp.sum(nearest), jnp.finfo(distances.dtype).tiny)
    return dim * jnp.log(total) - (dim - 1) * jnp.log(float(n))


class WeightEntropy(Probe):
    def __init__(self, window: int = 100, k: int = 5):
        if k >= window:
            raise ValueError(f"weight_entropy: k = {k} needs a window of more than k points (window = {window})")
        self.window = window
        self.k = k

    def init(self, ctx: ProbeContext) -> Any:
        flat, _ = ravel_pytree(ctx.params)
        loss = ctx.problem.loss(ctx.params, ctx.eval_batch)
        return (
            jnp.zeros((self.window, flat.shape[0]), flat.dtype),
            jnp.zeros((self.window, self.window), flat.dtype),
            jnp.zeros((self.window,), loss.dtype),
            jnp.zeros((), jnp.int32),
        )

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        points, distances, losses, count = state
        flat, _ = ravel_pytree(ctx.params)
        slot = count % self.window
        points = points.at[slot].set(flat)
        new = jnp.sqrt(jnp.sum((points - flat) ** 2, axis=1))  # distance to every stored point (0 to itself)
        distances = distances.at[slot, :].set(new).at[:, slot].set(new)
        losses = losses.at[slot].set(ctx.problem.loss(ctx.params, ctx.eval_batch))
        count = count + 1
        full = count >= self.window
        entropy = knn_entropy(distances, self.k, flat.shape[0])
        out = {
            "weight_entropy": jnp.where(full, entropy, jnp.nan),
            "window_loss": jnp.where(full, jnp.mean(losses), jnp.nan),
        }
        return out, (points, distances, losses, count)


@register_probe(
    "weight_entropy",
    summary="k-NN entropy of the weights over the last checkpoints and their mean training loss (U, S)",
    reference="Sadrtdinov, Klimov, Lobacheva, Vetrov 2025 (2505.23489)",
)
def weight_entropy_probe(
    window: Annotated[int, Arg("number of most recent checkpoints whose weights form the sample", low=2)] = 100,
    k: Annotated[int, Arg("nearest neighbours summed per point (fewer than window)", low=1)] = 5,
) -> Probe:
    return WeightEntropy(window, k)
