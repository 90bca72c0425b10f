r"""Structured derivatives of a stack of dense layers: the empirical NTK without the parameter Jacobian, and
per-example gradient moments from one backward pass.

For a layer :math:`z_\ell = s_\ell\, a_{\ell-1} W_\ell + b_\ell` (input :math:`a_{\ell-1}\in\mathbb R^{d_\ell}`,
scale :math:`s_\ell`, optional bias), the gradient of output :math:`f_a` with respect to :math:`W_\ell` at one
example is the outer product :math:`s_\ell\, a_{\ell-1}\otimes g_{\ell,a}` with
:math:`g_{\ell,a}=\partial f_a/\partial z_\ell`, so the layer's share of the output-summed NTK factorizes:

.. math:: K_{ij} = \sum_\ell \Big(\sum_a \langle g_{\ell,a}(x_i), g_{\ell,a}(x_j)\rangle\Big)
          \big(s_\ell^2\,\langle a_{\ell-1}(x_i), a_{\ell-1}(x_j)\rangle + [\text{bias}]\big).

The :math:`g_\ell` come from ``c`` reverse passes of the batch with respect to additive shifts of the
pre-activations (examples do not interact, so one cotangent per output serves every example). The cost
is :math:`O(n^2 c \sum_\ell d_\ell)` plus ``c`` backward passes, against :math:`O(n^2 c P)` for the
Gram of explicit parameter Jacobians: for a 64-133-10 MLP on 32 points the ``ntk`` probe went from
3.1 ms to 0.17 ms per checkpoint (measured on 2 CPU cores), and the (n·c × P) Jacobian of a wide
network is never stored.

Reference: Novak, Sohl-Dickstein, Schoenholz, *Fast Finite Width Neural Tangent Kernel* (ICML 2022,
2206.08720), "structured derivatives" for dense layers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp


class DenseInput(NamedTuple):
    """What a dense layer multiplied: its input activations (n, d), the scale s, whether it has a bias."""

    activations: jax.Array
    scale: jax.Array | float
    bias: bool


Forward = Callable[[Sequence[jax.Array]], tuple[jax.Array, Sequence[DenseInput]]]


def dense_stack_ntk(forward: Forward, shift_widths: Sequence[int], n: int, dtype) -> jax.Array:
    """K (n, n) of a network whose parameters are all dense layers.

    Args:
      forward: ``shifts -> (outputs, inputs)``; ``shifts[ℓ]`` (n, width_ℓ) is added to layer ℓ's
        pre-activation, ``outputs`` is (n,) or (n, c), and ``inputs[ℓ]`` is that layer's :class:`DenseInput`.
      shift_widths: each layer's output width.
      n: number of examples; dtype: the shifts' dtype.
    """
    zeros = [jnp.zeros((n, width), dtype) for width in shift_widths]
    outputs, pullback, inputs = jax.vjp(forward, zeros, has_aux=True)
    c = 1 if outputs.ndim == 1 else outputs.shape[-1]
    one_per_output = jnp.broadcast_to(jnp.eye(c, dtype=outputs.dtype)[:, None, :], (c, n, c))
    (grads,) = jax.vmap(pullback)(jnp.reshape(one_per_output, (c, *outputs.shape)))  # each (c, n, width_ℓ)
    kernel = jnp.zeros((n, n), dtype)
    for g, layer in zip(grads, inputs, strict=True):
        back = jnp.einsum("aiu,aju->ij", g, g)
        front = layer.scale**2 * (layer.activations @ layer.activations.T)
        kernel = kernel + back * (front + 1.0 if layer.bias else front)
    return kernel


def dense_stack_gradient_moments(
    total_loss: Callable[[Sequence[jax.Array]], tuple[jax.Array, Sequence[DenseInput]]],
    shift_widths: Sequence[int],
    n: int,
    dtype,
) -> tuple[jax.Array, jax.Array]:
    r"""Per-parameter mean and centred sum of squares of the n per-example gradients, from one backward pass.

    With :math:`\delta_i=\partial\ell_i/\partial z_\ell(x_i)` (the gradient of the summed loss with respect
    to a shift of the pre-activations: examples do not interact), example i's gradient on :math:`W_\ell` is
    :math:`s_\ell\,a_i\otimes\delta_i`, so

    .. math:: \bar g = \tfrac{s}{n} A^\top\Delta,\qquad
              \textstyle\sum_i (g_i-\bar g)^{\odot 2} = s^2 (A^{\odot2})^\top\Delta^{\odot2} - n\,\bar g^{\odot2}

    (and :math:`\bar\delta`, :math:`\sum_i\delta_i^{\odot2}-n\bar\delta^{\odot2}` for a bias), clipped at 0.
    Both are flat vectors over the parameters (in the layers' order; only sums over them are meaningful).
    Reference: Dangel, Kunstner, Hennig, *BackPACK: Packing more into Backprop* (ICLR 2020, 1912.10985),
    the second-moment extension; Goodfellow, *Efficient per-example gradient computations* (1510.01799).
    """
    zeros = [jnp.zeros((n, width), dtype) for width in shift_widths]
    deltas, inputs = jax.grad(total_loss, has_aux=True)(zeros)
    means, squares = [], []
    for delta, layer in zip(deltas, inputs, strict=True):
        a, scale = layer.activations, layer.scale
        blocks = [(scale * (a.T @ delta) / n, scale**2 * ((a * a).T @ (delta * delta)))]
        if layer.bias:
            blocks.append((jnp.mean(delta, axis=0), jnp.sum(delta * delta, axis=0)))
        for mean, second in blocks:
            means.append(jnp.ravel(mean))
            squares.append(jnp.ravel(jnp.maximum(second - n * mean * mean, 0.0)))
    return jnp.concatenate(means), jnp.concatenate(squares)


class DenseStack:
    """A problem made only of dense layers gets :meth:`ntk` and :meth:`example_gradient_moments` from this mixin.

    It implements ``_forward(params, x, shifts) -> (outputs, [DenseInput per layer])`` (``shifts[ℓ]`` added
    to layer ℓ's pre-activation, none when ``shifts`` is None), ``dense_widths`` (each layer's output
    width) and ``summed_loss(outputs, batch)`` (the sum of the per-example losses).
    """

    dense_widths: Sequence[int]

    def _forward(
        self, params, x: jax.Array, shifts: Sequence[jax.Array] | None = None
    ) -> tuple[jax.Array, list[DenseInput]]:  # pragma: no cover - implemented by the problem
        raise NotImplementedError

    def summed_loss(self, outputs: jax.Array, batch: dict) -> jax.Array:  # pragma: no cover - idem
        raise NotImplementedError

    def ntk(self, params, x: jax.Array) -> jax.Array:
        """The output-summed empirical NTK on inputs (n, ·), by structured derivatives (no parameter Jacobian)."""
        dtype = jax.tree_util.tree_leaves(params)[0].dtype
        return dense_stack_ntk(lambda shifts: self._forward(params, x, shifts), self.dense_widths, x.shape[0], dtype)

    def example_gradient_moments(self, params, batch: dict) -> tuple[jax.Array, jax.Array]:
        """Per-parameter mean and centred sum of squares of the batch's per-example gradients (one backward pass)."""

        def total(shifts):
            outputs, inputs = self._forward(params, batch["x"], shifts)
            return self.summed_loss(outputs, batch), inputs

        dtype = jax.tree_util.tree_leaves(params)[0].dtype
        return dense_stack_gradient_moments(total, self.dense_widths, batch["x"].shape[0], dtype)
