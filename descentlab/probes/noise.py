r"""Gradient noise: the noise scale, the gradient signal-to-noise ratio, and an effective temperature.

``noise_scale`` — from per-example gradients :math:`g_i=\nabla\ell(\theta;z_i)` on the evaluation batch
(or its first ``batch_size`` examples), :math:`\bar g=\frac1n\sum_i g_i`,
:math:`\operatorname{tr}\hat\Sigma=\frac1{n-1}\sum_i\|g_i-\bar g\|^2`:

* ``noise_scale`` :math:`B_{\rm simple}=\operatorname{tr}\hat\Sigma/\|\bar g\|^2` (McCandlish, Kaplan,
  Amodei, *An Empirical Model of Large-Batch Training*, 1812.06162): the batch size at which the
  noise of a minibatch gradient equals its signal; a minibatch of size b has SNR :math:`b/B_{\rm simple}`;
* ``gradient_variance`` :math:`\operatorname{tr}\hat\Sigma`;
* ``gsnr`` the mean over parameters j of :math:`\bar g_j^2/\hat\sigma_j^2` (Liu et al., *Understanding
  Why Neural Networks Generalize Well Through GSNR of Parameters*, ICLR 2020, 2001.07384).

Dense networks compute :math:`\bar g` and :math:`\sum_i(g_i-\bar g)^2` from one backward pass
(``problem.example_gradient_moments``, BackPACK's second-moment trick, Dangel et al. 2020); others
from the matrix of per-example gradients.

For a finite dataset the evaluation batch is the whole training set, so :math:`\bar g` is the exact
full gradient. For linear regression :math:`\ell=\frac12(x^\top\theta-y)^2`, :math:`x\sim\mathcal N(0,K)`,
:math:`y=x^\top\theta^\star+\sigma\varepsilon`, :math:`e=\theta-\theta^\star`, the population values are
:math:`\mathbb E g=Ke` and :math:`\operatorname{tr}\Sigma=(e^\top Ke+\sigma^2)\operatorname{tr}K+e^\top K^2e`.

``temperature`` — loss fluctuations at stationarity. The probe keeps the full-batch loss of the last
``window`` checkpoints (state) and reports their mean and (unbiased) variance. If the iterates were
Gibbs-distributed, :math:`p(\theta)\propto e^{-f(\theta)/T}`, around a quadratic minimum then
:math:`f-f^\star\sim T\,\mathrm{Gamma}(d/2)`, so :math:`\mathbb E[f-f^\star]=dT/2` and
:math:`\mathrm{Var}f=dT^2/2`, whence ``temperature`` :math:`\hat T=\mathrm{Var}f/(\overline f-f^\star)` and
``effective_dimension`` :math:`2(\overline f-f^\star)^2/\mathrm{Var}f` (needs ``problem.f_star``; NaN
until two checkpoints are in the window). The estimate is meaningful only once the run is stationary:
use a window that starts after the transient. For SGD the theory predicts :math:`T\approx\eta/(2b)`
times the noise level (Mandt, Hoffman, Blei, *SGD as Approximate Bayesian Inference*, 1704.04289;
Jastrzębski et al., *Three Factors Influencing Minima in SGD*, 1711.04623).
"""

from __future__ import annotations

from typing import Annotated, Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from descentlab.params import Arg
from descentlab.probes._linalg import take_batch
from descentlab.probes.base import EvalBatchSize, Probe, ProbeContext, register_probe
from descentlab.problems.base import Batch, Params, Problem


def example_gradients(problem: Problem, params: Params, batch: Batch) -> jax.Array:
    """Per-example gradients as a matrix (n, P)."""
    flat, unravel = ravel_pytree(params)
    grad = jax.grad(lambda theta, example: problem.example_loss(unravel(theta), example))
    return jax.vmap(grad, in_axes=(None, 0))(flat, batch)


def gradient_moments(problem: Problem, params: Params, batch: Batch) -> tuple[jax.Array, jax.Array, int]:
    """(ḡ, Σ_i (g_i − ḡ)², n) per parameter: the problem's own ``example_gradient_moments`` where it has one
    (dense networks: one backward pass, :mod:`descentlab.problems._dense_layers`), else from the (n, P)
    matrix of per-example gradients."""
    n = jax.tree_util.tree_leaves(batch)[0].shape[0]
    if callable(getattr(problem, "example_gradient_moments", None)):
        return (*problem.example_gradient_moments(params, batch), n)
    grads = example_gradients(problem, params, batch)
    mean = jnp.mean(grads, axis=0)
    return mean, jnp.sum((grads - mean) ** 2, axis=0), n


def noise_statistics(mean: jax.Array, centred_squares: jax.Array, n: int) -> dict[str, jax.Array]:
    variance = centred_squares / (n - 1)  # per parameter
    trace = jnp.sum(variance)
    signal = jnp.sum(mean**2)
    tiny = jnp.finfo(mean.dtype).tiny
    gsnr = jnp.where(variance > tiny, mean**2 / jnp.maximum(variance, tiny), 0.0)
    counted = jnp.maximum(jnp.sum(variance > tiny), 1)
    return {"noise_scale": trace / signal, "gradient_variance": trace, "gsnr": jnp.sum(gsnr) / counted}


class NoiseScale(Probe):
    def __init__(self, batch_size: int = 0):
        self.batch_size = batch_size

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        batch = take_batch(ctx.eval_batch, self.batch_size)
        return noise_statistics(*gradient_moments(ctx.problem, ctx.params, batch)), state


@register_probe(
    "noise_scale",
    summary="gradient noise scale tr Σ/‖g‖², gradient variance, GSNR from per-example gradients",
    reference="McCandlish et al. 2018 (1812.06162); Liu et al. 2020 (2001.07384)",
)
def noise_scale_probe(batch_size: EvalBatchSize = 0) -> Probe:
    return NoiseScale(batch_size)


class Temperature(Probe):
    def __init__(self, window: int = 20):
        self.window = window

    def init(self, ctx: ProbeContext) -> Any:
        value = ctx.problem.loss(ctx.params, ctx.eval_batch)
        return jnp.zeros((self.window,), value.dtype), jnp.zeros((), jnp.int32)

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        buffer, count = state
        value = ctx.problem.loss(ctx.params, ctx.eval_batch)
        buffer = buffer.at[count % self.window].set(value)
        count = count + 1
        filled = jnp.minimum(count, self.window)
        mask = jnp.arange(self.window) < filled
        mean = jnp.sum(jnp.where(mask, buffer, 0.0)) / filled
        var = jnp.sum(jnp.where(mask, (buffer - mean) ** 2, 0.0)) / (filled - 1)
        var = jnp.where(filled > 1, var, jnp.nan)
        out = {"loss_window_mean": mean, "loss_window_var": var}
        if ctx.problem.f_star is not None:
            excess = mean - ctx.problem.f_star
            out["temperature"] = var / excess
            out["effective_dimension"] = 2.0 * excess**2 / var
        return out, (buffer, count)


@register_probe(
    "temperature",
    summary="effective temperature Var f/(f̄ − f*) from full-batch loss fluctuations over recent checkpoints",
    reference="Mandt, Hoffman, Blei 2017 (1704.04289)",
)
def temperature_probe(window: Annotated[int, Arg("number of most recent checkpoints used", low=2)] = 20) -> Probe:
    return Temperature(window)
