r"""Order parameters of the empirical NTK and of the residual field over input space (image regression).

On the evaluation batch (inputs :math:`x_1..x_n` under ``batch["x"]``, real targets under ``batch["y"]``; for an
image, the pixel grid) with the empirical NTK :math:`K_{ij}=\langle\nabla_\theta f(x_i),\nabla_\theta f(x_j)\rangle`
(:func:`descentlab.probes.ntk.empirical_ntk`), the cosine NTK :math:`C_{ij}=K_{ij}/\sqrt{K_{ii}K_{jj}}` and the
residual :math:`r_i = y_i - f(x_i)`, the probe reports (Castiglione, Buckley, Simpson, *A Closer Look at NTK
Alignment: Linking Phase Transitions in Deep Image Regression*, NeurIPS 2025, §3 and App. B.2):

* ``ntk_task_cka`` — centred kernel alignment of K with the task kernel
  :math:`K^Y_{ij}=\exp(-\gamma (y_i-y_j)^2)` (γ = ``gamma``, 50 in the paper):
  :math:`\langle K_c, K^Y_c\rangle_F/(\|K_c\|_F\|K^Y_c\|_F)`, :math:`K_c = HKH`,
  :math:`H=I-\tfrac1n\mathbf 1\mathbf 1^\top`
  (the NTK-alignment order parameter);
* the correlation function of C over distance: pairs are grouped into ``bins`` equal bins of
  :math:`\|x_i-x_j\|` on :math:`[0, \max\|x_i-x_j\|]` and C averaged in each, :math:`c(\epsilon)`;
  ``cos_ntk_inf`` :math:`c_\infty` = the mean of C over the pairs of the last ``far_bins`` bins;
  ``correlation_length`` :math:`\xi = \epsilon_{1/2}/\sqrt{2\ln 2}` with :math:`\epsilon_{1/2}` where
  :math:`(c(\epsilon)-c_\infty)/(1-c_\infty)` first falls to 1/2 (linear interpolation between bin centres; the
  first bin centre when the first bin is already below 1/2) — the width of the Gaussian
  :math:`c(\epsilon)\approx c_\infty+(1-c_\infty)e^{-\epsilon^2/2\xi^2}` (the paper's Prop. 3.1);
* ``cos_ntk_min`` — the smallest entry of C (gradient confusion, the loss-rate-collapse order parameter);
* ``ntk_background`` :math:`\mu_r K_\infty` with :math:`\mu_r` the mean residual and :math:`K_\infty` the mean of K
  over the far pairs, and ``drift_share`` :math:`|\mu_r K_\infty| / \mathrm{rms}_i\big(\tfrac1n\sum_j K_{ij}r_j\big)`:
  the part of the residual velocity :math:`\dot r_i = -\tfrac{\eta}{n}\sum_j K_{ij} r_j` carried by the uniform
  long-range background (≈ 1 in the drift phase, → 0 once the residuals evolve by local, diffusion-like
  interactions: the paper's Thm. 3.1);
* ``residual_mean`` :math:`\mu_r`, ``residual_rms`` :math:`\sqrt{\overline{r^2}}`, and
  ``residual_neighbour_corr``: the correlation of the centred residual over nearest-neighbour pairs
  :math:`\sum_{i\sim j}\tilde r_i\tilde r_j / (N_{\sim}\,\overline{\tilde r^2})`, :math:`i\sim j` when
  :math:`\|x_i-x_j\|\le 1.01\,\min_{k\ne l}\|x_k-x_l\|` (on a pixel grid: the lag-one spatial autocorrelation).
  Smooth residuals have it near 1; the wave-crest residuals of the diffusion phase, concentrated on edges and
  changing sign from pixel to pixel, bring it down.

Cost: one n × P Jacobian and O(n²) work per checkpoint (n = ``n_probe``, the first n examples of the evaluation
batch; 0: all of it). Needs ``problem.predict`` and real targets.
"""

from __future__ import annotations

from typing import Annotated, Any

import jax
import jax.numpy as jnp

from descentlab.params import Arg
from descentlab.probes._linalg import take_batch
from descentlab.probes.base import Probe, ProbeContext, register_probe
from descentlab.probes.ntk import empirical_ntk, require_predict
from descentlab.problems.base import Predicts


def _centred(matrix: jax.Array) -> jax.Array:
    matrix = matrix - jnp.mean(matrix, axis=0, keepdims=True)
    return matrix - jnp.mean(matrix, axis=1, keepdims=True)


def centred_alignment(kernel: jax.Array, other: jax.Array) -> jax.Array:
    """⟨HKH, HLH⟩_F / (‖HKH‖_F ‖HLH‖_F)."""
    a, b = _centred(kernel), _centred(other)
    return jnp.sum(a * b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b))


def correlation_function(
    cosine: jax.Array, distances: jax.Array, bins: int, far_bins: int
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """(bin centres, bin means c(ε), pair counts, c∞, far-pair mask) of ``cosine`` grouped by ``distances``
    (``bins`` equal bins on [0, max distance])."""
    top = jnp.max(distances)
    index = jnp.clip(jnp.floor(distances / top * bins).astype(jnp.int32), 0, bins - 1).ravel()
    counts = jax.ops.segment_sum(jnp.ones_like(cosine.ravel()), index, bins)
    means = jax.ops.segment_sum(cosine.ravel(), index, bins) / jnp.maximum(counts, 1.0)
    far = (index >= bins - far_bins).reshape(cosine.shape)
    c_inf = jnp.sum(jnp.where(far, cosine, 0.0)) / jnp.maximum(jnp.sum(far), 1)
    centres = (jnp.arange(bins) + 0.5) * top / bins
    return centres, means, counts, c_inf, far


def half_width(centres: jax.Array, means: jax.Array, counts: jax.Array, c_inf: jax.Array) -> jax.Array:
    """ε where (c(ε) − c∞)/(1 − c∞) first falls to 1/2 (linear interpolation between the centres of the last
    occupied bin above 1/2 and the first one below; empty bins are skipped)."""
    occupied = counts > 0
    scaled = (means - c_inf) / (1.0 - c_inf)
    below = (scaled < 0.5) & occupied
    i = jnp.argmax(below)  # first occupied bin under 1/2 (0 if none: the first centre)
    above = occupied & (jnp.arange(means.shape[0]) < i)
    j = jnp.where(jnp.any(above), jnp.max(jnp.where(above, jnp.arange(means.shape[0]), 0)), 0)
    lo, hi = scaled[j], scaled[i]
    frac = jnp.where(hi != lo, (lo - 0.5) / (lo - hi), 0.0)
    return jnp.where(i > j, centres[j] + jnp.clip(frac, 0.0, 1.0) * (centres[i] - centres[j]), centres[0])


def neighbour_correlation(values: jax.Array, distances: jax.Array) -> jax.Array:
    """Correlation of centred ``values`` over nearest-neighbour pairs (distance ≤ 1.01 × the smallest one)."""
    n = distances.shape[0]
    off = distances + jnp.eye(n, dtype=distances.dtype) * jnp.max(distances) * 2.0
    pairs = off <= 1.01 * jnp.min(off)
    centred = values - jnp.mean(values)
    num = jnp.sum(jnp.where(pairs, centred[:, None] * centred[None, :], 0.0)) / jnp.maximum(jnp.sum(pairs), 1)
    return num / jnp.mean(centred**2)


class NTKOrder(Probe):
    def __init__(self, n_probe: int = 0, gamma: float = 50.0, bins: int = 50, far_bins: int = 10):
        if far_bins >= bins:
            raise ValueError(f"probe 'ntk_order': far_bins ({far_bins}) must be fewer than bins ({bins})")
        self.n_probe, self.gamma, self.bins, self.far_bins = n_probe, gamma, bins, far_bins

    def measure(self, ctx: ProbeContext, state: Any) -> tuple[dict[str, jax.Array], Any]:
        require_predict(ctx.problem, "ntk_order")
        batch = take_batch(ctx.eval_batch, self.n_probe) if self.n_probe else ctx.eval_batch
        if not isinstance(batch, dict) or "x" not in batch or "y" not in batch:
            raise ValueError("probe 'ntk_order' needs the evaluation batch to be a dict with inputs 'x', targets 'y'")
        x = jnp.reshape(batch["x"], (batch["x"].shape[0], -1))
        y = jnp.reshape(batch["y"], (-1,))
        kernel = empirical_ntk(ctx.problem, ctx.params, batch["x"])
        residual = y - jnp.reshape(ctx.problem.predict(ctx.params, batch["x"]), (-1,))
        n = y.shape[0]
        distances = jnp.sqrt(jnp.maximum(jnp.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1), 0.0))
        norms = jnp.sqrt(jnp.diag(kernel))
        cosine = kernel / (norms[:, None] * norms[None, :])
        centres, means, counts, c_inf, far = correlation_function(cosine, distances, self.bins, self.far_bins)
        k_inf = jnp.sum(jnp.where(far, kernel, 0.0)) / jnp.maximum(jnp.sum(far), 1)
        mean_r = jnp.mean(residual)
        velocity = kernel @ residual / n
        task = jnp.exp(-self.gamma * (y[:, None] - y[None, :]) ** 2)
        out = {
            "ntk_task_cka": centred_alignment(kernel, task),
            "cos_ntk_inf": c_inf,
            "correlation_length": half_width(centres, means, counts, c_inf) / jnp.sqrt(2.0 * jnp.log(2.0)),
            "cos_ntk_min": jnp.min(cosine),
            "ntk_background": mean_r * k_inf,
            "drift_share": jnp.abs(mean_r * k_inf) / jnp.sqrt(jnp.mean(velocity**2)),
            "residual_mean": mean_r,
            "residual_rms": jnp.sqrt(jnp.mean(residual**2)),
            "residual_neighbour_corr": neighbour_correlation(residual, distances),
        }
        return out, state


@register_probe(
    "ntk_order",
    needs=(Predicts,),
    summary="NTK order parameters over input space: task-kernel CKA, cosine-NTK correlation length and background, "
    "drift share of the residual velocity, residual neighbour correlation",
    reference="Castiglione, Buckley, Simpson. A Closer Look at NTK Alignment: Linking Phase Transitions in Deep Image "
    "Regression (NeurIPS 2025)",
)
def ntk_order_probe(
    n_probe: Annotated[int, Arg("probe set: the first n_probe examples of the evaluation batch (0: all)", low=0)] = 0,
    gamma: Annotated[float, Arg("task kernel exp(-gamma (y_i - y_j)^2)", low=0.0, low_open=True)] = 50.0,
    bins: Annotated[int, Arg("distance bins of the cosine-NTK correlation function", low=2)] = 50,
    far_bins: Annotated[int, Arg("last bins whose pairs define the asymptotic value c_inf", low=1)] = 10,
) -> Probe:
    return NTKOrder(n_probe, gamma, bins, far_bins)
