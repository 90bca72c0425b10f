r"""DP-SGD: per-example clipping and Gaussian noise, and the privacy it spends.

.. math::
    \bar g_t = \frac{1}{B}\Big(\sum_{i\in\mathcal B_t} g_i \min\!\big(1, \tfrac{C}{\|g_i\|}\big)
                + \sigma C\, \xi_t\Big), \quad \xi_t \sim \mathcal N(0, I), \qquad
    x_{t+1} = x_t - \eta\, \bar g_t

(optionally with momentum on :math:`\bar g_t`). The aggregation is optax's
``optax.contrib.differentially_private_aggregate`` (which expects per-example gradients as its
input); here it receives them through the ``example_grads`` extra argument, and its noise key is
the engine's fresh per-step ``key`` (so that every run of a vmapped sweep draws its own noise)
instead of a key derived from a fixed seed.

Privacy: for T steps with sampling probability q = B/n and noise multiplier σ, the ε at a given δ
is computed on the host by Google's ``dp-accounting`` (RDP or PLD accountant) for the composition
of T Poisson-subsampled Gaussian mechanisms — the standard DP-SGD analysis. The samplers used in
the engine (shuffling, with replacement) are not Poisson sampling; ε is the usual accounting
approximation, as in most DP-SGD papers.

References: Abadi et al. *Deep Learning with Differential Privacy* (CCS 2016, arXiv 1607.00133);
Mironov. *Rényi Differential Privacy* (2017); Google ``dp-accounting`` (github.com/google/differential-privacy).
"""

from __future__ import annotations

import functools
import math
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import optax
import optax.contrib

from descentlab.optim._common import require
from descentlab.optim.registry import register_optimizer
from descentlab.params import Arg

ACCOUNTANTS = ("rdp", "pld")


@functools.lru_cache(maxsize=4096)
def dp_epsilon(
    noise_multiplier: float, sampling_probability: float, steps: int, delta: float, accountant: str = "rdp"
) -> float:
    """ε at ``delta`` of ``steps`` compositions of the Poisson-subsampled Gaussian mechanism.

    Cached: the runs of a sweep that share (σ, q, T, δ) are accounted once.

    Args:
      noise_multiplier: σ (noise std / clipping norm).
      sampling_probability: q = batch size / dataset size, in (0, 1].
      steps: number of noisy steps T.
      delta: target δ.
      accountant: ``"rdp"`` (Rényi DP, Mironov 2017) or ``"pld"`` (privacy loss distributions).
    """
    import dp_accounting
    from dp_accounting import pld, rdp

    if accountant not in ACCOUNTANTS:
        raise ValueError(f"accountant: got {accountant!r}; allowed: {', '.join(ACCOUNTANTS)}")
    if noise_multiplier <= 0:
        return math.inf
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(
            min(float(sampling_probability), 1.0), dp_accounting.GaussianDpEvent(float(noise_multiplier))
        ),
        int(steps),
    )
    acc = rdp.RdpAccountant() if accountant == "rdp" else pld.PLDAccountant()
    acc.compose(event)
    return float(acc.get_epsilon(float(delta)))


def dpsgd_privacy(params: dict[str, Any], *, steps: int, batch_size: int, n_examples: int | None) -> dict[str, float]:
    """Host metric of a DP-SGD run: ``{"epsilon": ε, "delta": δ}`` (ε = NaN on a data stream)."""
    delta = float(params.get("delta", 1e-5))
    if n_examples is None:
        return {"epsilon": math.nan, "delta": delta}
    q = min(batch_size / n_examples, 1.0)
    eps = dp_epsilon(float(params["noise_multiplier"]), q, int(steps), delta, str(params.get("accountant", "rdp")))
    return {"epsilon": eps, "delta": delta}


def unclipped_noisy_aggregate(l2_norm_clip: float, noise_multiplier: float) -> optax.GradientTransformation:
    """The DP aggregate without the per-example clipping (a control, not private): ``(Σ_j g_j + σC ξ) / b``."""
    inner = optax.contrib.differentially_private_aggregate(l2_norm_clip, noise_multiplier, key=0)

    def update_fn(updates, state, params=None):
        del params
        leaves, treedef = jax.tree.flatten(updates)
        keys = jax.random.split(state.rng_key, len(leaves))
        noised = [
            (jnp.sum(g, axis=0) + l2_norm_clip * noise_multiplier * jax.random.normal(k, g.shape[1:], g.dtype))
            / g.shape[0]
            for g, k in zip(leaves, keys, strict=True)
        ]
        return jax.tree.unflatten(treedef, noised), state

    return optax.GradientTransformation(inner.init, update_fn)


def keyed_private_aggregate(
    l2_norm_clip: float, noise_multiplier: float, clipping: bool = True
) -> optax.GradientTransformationExtraArgs:
    """optax's DP aggregate fed with ``example_grads`` and noised with the step's ``key`` (``clipping=False``: the
    per-example clipping is switched off, the noise σ·C kept — no longer private; for controls)."""
    inner = (
        optax.contrib.differentially_private_aggregate(l2_norm_clip, noise_multiplier, key=0)
        if clipping
        else unclipped_noisy_aggregate(l2_norm_clip, noise_multiplier)
    )

    def update_fn(updates, state, params=None, *, example_grads=None, key=None, **extra):
        del updates, extra
        example_grads = require(example_grads, "example_grads", "dpsgd")
        key = require(key, "key", "dpsgd")
        # The state's own key is never advanced: the noise comes from the engine's per-step key
        # (typed or raw), and the carried state keeps the dtype it was initialised with.
        private, _ = inner.update(example_grads, state._replace(rng_key=key), params)
        return private, state

    return optax.GradientTransformationExtraArgs(inner.init, update_fn)


@register_optimizer(
    "dpsgd",
    summary="DP-SGD: per-example clipping + Gaussian noise (optax.contrib aggregate); ε via dp-accounting",
    reference="Abadi et al. Deep Learning with Differential Privacy (1607.00133); Mironov, Rényi DP (1702.07476)",
    extra_args=("example_grads", "key"),
    host_metrics=dpsgd_privacy,
    source="optax.contrib",
)
def dpsgd(
    learning_rate: optax.ScalarOrSchedule,
    l2_norm_clip: Annotated[float, Arg("per-example clipping norm C", low=0.0, low_open=True)] = 1.0,
    noise_multiplier: Annotated[float, Arg("σ: noise std = σ·C", low=0.0)] = 1.0,
    momentum: Annotated[
        float, Arg("momentum on the privatized gradient (0 = none)", low=0.0, high=1.0, high_open=True)
    ] = 0.0,
    nesterov: Annotated[bool, Arg("Nesterov momentum")] = False,
    delta: Annotated[
        float, Arg("δ of the reported (ε, δ) privacy", low=0.0, low_open=True, high=1.0, static=True)
    ] = 1e-5,
    accountant: Annotated[str, Arg("privacy accountant", choices=ACCOUNTANTS)] = "rdp",
    clipping: Annotated[bool, Arg("per-example clipping (false: noise σ·C without clipping — not private)")] = True,
) -> optax.GradientTransformationExtraArgs:
    """optax.contrib.dpsgd's chain, with the aggregate fed by the engine's per-example gradients and key."""
    del delta, accountant  # host-side only (privacy accounting after the run)
    return optax.chain(
        keyed_private_aggregate(l2_norm_clip, noise_multiplier, clipping),
        optax.trace(decay=momentum, nesterov=nesterov),
        optax.scale_by_learning_rate(learning_rate),
    )
