r"""Weights: per-layer norms, stable and effective rank of weight matrices, update-to-weight ratios.

For every leaf ("layer") W of the parameter pytree, named by its path (``w``, ``layers.0.kernel``;
a bare array is ``params``):

* ``weight_norm.<name>`` :math:`\|W\|_F`, and ``weight_norm`` the global norm;
* ``update_ratio.<name>`` :math:`\|\Delta W\|_F/\|W\|_F` with :math:`\Delta W` the last applied
  update :math:`\theta_t-\theta_{t-1}` (the ratio watched in large-scale training; a healthy value
  is ~1e-3 per step), and ``update_ratio`` the global ratio;
* for leaves with two or more axes (reshaped to (first axes, last axis)), singular values
  :math:`\sigma_1\ge\sigma_2\ge\dots`: ``stable_rank.<name>`` :math:`\|W\|_F^2/\sigma_1^2`
  (Rudelson & Vershynin, 2007) and ``effective_rank.<name>`` :math:`\exp H(p)`,
  :math:`p_i=\sigma_i/\sum_j\sigma_j` (Roy & Vetterli, *The effective rank*, EUSIPCO 2007).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from descentlab.probes.base import FunctionProbe, ProbeContext, register_probe


def _key_name(entry) -> str:
    for attr in ("key", "idx", "name"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def leaf_names(params) -> list[str]:
    paths = [path for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    return [".".join(_key_name(e) for e in path) or "params" for path in paths]


def rank_measures(matrix: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(stable rank, effective rank) of a matrix."""
    s = jnp.linalg.svd(jnp.reshape(matrix, (-1, matrix.shape[-1])), compute_uv=False)
    stable = jnp.sum(s**2) / s[0] ** 2
    p = s / jnp.sum(s)
    entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0))
    return stable, jnp.exp(entropy)


def weight_statistics(ctx: ProbeContext) -> dict[str, jax.Array]:
    leaves = jax.tree_util.tree_leaves(ctx.params)
    if ctx.last_update is None:
        raise ValueError("probe 'weights' needs ctx.last_update (the engine carries it when uses_last_update)")
    updates = jax.tree_util.tree_leaves(ctx.last_update)
    out = {"weight_norm": optax.tree.norm(ctx.params)}
    out["update_ratio"] = optax.tree.norm(ctx.last_update) / out["weight_norm"]
    for name, leaf, update in zip(leaf_names(ctx.params), leaves, updates, strict=True):
        norm = jnp.linalg.norm(leaf.ravel())
        out[f"weight_norm.{name}"] = norm
        out[f"update_ratio.{name}"] = jnp.linalg.norm(update.ravel()) / norm
        if leaf.ndim >= 2:
            out[f"stable_rank.{name}"], out[f"effective_rank.{name}"] = rank_measures(leaf)
    return out


@register_probe(
    "weights",
    summary="per-layer weight norms, stable and effective rank of matrices, update-to-weight ratios",
    reference="Roy & Vetterli 2007 (effective rank); Rudelson & Vershynin 2007 (stable rank)",
)
def weights_probe():
    probe = FunctionProbe(weight_statistics, uses_eval_batch=False)
    probe.uses_last_update = True  # asks the engine to carry θ_t − θ_{t−1}
    return probe
