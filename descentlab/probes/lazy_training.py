r"""The lazy-training probe: how far a network has moved from θ₀ and from its linearization.

With θ₀ the initial parameters, ``weight_change.<leaf>`` :math:`=\|W_t-W_0\|_F/\|W_0\|_F` for every
parameter leaf and ``weight_change`` for the whole vector; and, on the evaluation batch (the whole
training set for a finite problem trained by full-batch GD at a constant step η on ½·mean squared
error), ``linearization_gap`` :math:`=\|f_t(X)-f^{\rm lin}_t(X)\|/\|f_0(X)-Y\|`, where the linearized
residual is :math:`r^{\rm lin}_t = V\,\mathrm{diag}\big((1-\eta\omega_k/n)^t\big)V^\top r_0` with
:math:`\Theta_0 = V\mathrm{diag}(\omega)V^\top` (:mod:`descentlab.theory.ntk_linearized`). Needs the
problem's ``predict``.

References: Lee et al. *Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient
Descent* (1902.06720); Dyer & Gur-Ari, *Asymptotics of Wide Networks from Feynman Diagrams* (1909.11304).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from descentlab.probes.base import Probe, ProbeContext, register_probe
from descentlab.probes.ntk import empirical_ntk, require_predict
from descentlab.probes.weights import leaf_names
from descentlab.problems.base import Predicts


class LazyTraining(Probe):
    """Per-leaf relative distance from θ₀ and the relative distance to the linearized GD trajectory."""

    def init(self, ctx: ProbeContext) -> Any:
        require_predict(ctx.problem, "lazy_training")
        x, y = ctx.eval_batch["x"], ctx.eval_batch["y"]
        kernel = empirical_ntk(ctx.problem, ctx.params0, x)
        omega, basis = jnp.linalg.eigh(0.5 * (kernel + kernel.T))
        residual0 = jnp.reshape(ctx.problem.predict(ctx.params0, x), y.shape) - y
        return jnp.clip(omega, 0.0, None), basis, residual0

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        omega, basis, residual0 = state
        out = {}
        for name, now, start in zip(
            leaf_names(ctx.params),
            jax.tree_util.tree_leaves(ctx.params),
            jax.tree_util.tree_leaves(ctx.params0),
            strict=True,
        ):
            out[f"weight_change.{name}"] = jnp.linalg.norm((now - start).ravel()) / jnp.linalg.norm(start.ravel())
        diff = jax.tree_util.tree_map(jnp.subtract, ctx.params, ctx.params0)
        out["weight_change"] = optax.tree.norm(diff) / optax.tree.norm(ctx.params0)
        x, y = ctx.eval_batch["x"], ctx.eval_batch["y"]
        n = y.shape[0]
        decay = jnp.power(1.0 - ctx.learning_rate * omega / n, ctx.step.astype(omega.dtype))
        residual_lin = basis @ (decay * (basis.T @ residual0))
        residual = jnp.reshape(ctx.problem.predict(ctx.params, x), y.shape) - y
        out["linearization_gap"] = jnp.linalg.norm(residual - residual_lin) / jnp.linalg.norm(residual0)
        return out, state


@register_probe(
    "lazy_training",
    needs=(Predicts,),
    summary="per-layer ‖W_t − W₀‖/‖W₀‖ and the relative distance of the network to its linearized GD trajectory",
    reference="Lee et al. 2019 (1902.06720); Dyer & Gur-Ari 2020 (1909.11304)",
)
def lazy_training_probe() -> Probe:
    return LazyTraining()
