r"""SGD as free-energy minimization: the temperature of a family of stationary states, and its SGD value.

Sadrtdinov, Klimov, Lobacheva, Vetrov, *SGD as Free Energy Minimization: A Thermodynamic View on Neural
Network Training* (2505.23489). At a fixed learning rate η SGD settles into a stationary distribution
:math:`p_\eta` with energy :math:`U(\eta)=\mathbb E_{p_\eta}f` (the training loss) and entropy
:math:`S(\eta)` (of the weights). The claim is that :math:`p_\eta` minimizes the free energy
:math:`F_T = U - T\,S` over the family :math:`\{p_{\eta'}\}` at a temperature T = T(η). Stationarity of
:math:`F_T(\eta')` at :math:`\eta'=\eta` gives

.. math:: T(\eta) = \frac{\mathrm dU/\mathrm d\eta}{\mathrm dS/\mathrm d\eta} = \frac{\partial U}{\partial S},

the slope of the (S, U) curve traced by the learning rates (:func:`thermodynamic_temperature`, finite
differences between neighbouring learning rates), and it is a minimum when U is convex in S, i.e. when T
rises with S (:func:`free_energy_argmin`: the learning rate whose state minimizes :math:`F_{T(\eta)}`
over the measured family). Under-parameterized models follow it with T increasing with η;
over-parameterized ones interpolate, their gradient noise vanishes at the optimum, U → min f and T → 0.

**The SGD temperature** (:func:`sgd_temperature`). For SGD with batch b on a quadratic f (Hessian H,
minimum f*) whose minibatch-gradient noise at the optimum has covariance :math:`C_b`, the stationary
covariance Σ solves the discrete Lyapunov equation :math:`H\Sigma+\Sigma H-\eta H\Sigma H=\eta C_b`; taking
the trace against H gives

.. math:: U-f^\star=\tfrac12\operatorname{tr}(H\Sigma)=\tfrac\eta4\operatorname{tr}C_b + O(\eta^2)

(:func:`sgd_excess_loss` solves it exactly for noise of fixed covariance; for least squares the noise
also grows with :math:`\theta-\theta^\star`, a relative correction :math:`O(\eta\,\mathbb E\|x\|^2)`).
The paper's entropy estimator is a nearest-neighbour entropy of consecutive iterates, whose distances
are steps :math:`\eta\,\|g\|`: it moves as :math:`d\log\eta` (d parameters), so
:math:`T=(\mathrm dU/\mathrm d\log\eta)/(\mathrm dS/\mathrm d\log\eta)` is, to first order,

.. math:: T(\eta)=\frac{\eta\,\operatorname{tr}C_b}{4d},

linear in η (the Langevin picture of SGD, Mandt, Hoffman, Blei 1704.04289: temperature ∝ η/b). An entropy of
decorrelated samples of :math:`p_\eta` moves as :math:`\tfrac d2\log\eta` instead and gives twice this, the
equipartition value :math:`2(U-f^\star)/d`. For sampling with replacement from n examples with
per-example gradients :math:`g_i` at the optimum, :math:`C_b=\tfrac1{b\,n}\sum_i(g_i-\bar g)(g_i-\bar g)^\top`.
"""

from __future__ import annotations

import numpy as np


def thermodynamic_temperature(
    learning_rates: np.ndarray, energy: np.ndarray, entropy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """T = ΔU/ΔS between neighbouring learning rates (sorted), at their geometric means.

    Returns (η_mid, T_mid), each of length len(learning_rates) − 1 (NaN where ΔS = 0).
    """
    order = np.argsort(learning_rates)
    eta = np.asarray(learning_rates, dtype=np.float64)[order]
    u = np.asarray(energy, dtype=np.float64)[order]
    s = np.asarray(entropy, dtype=np.float64)[order]
    du, ds = np.diff(u), np.diff(s)
    with np.errstate(divide="ignore", invalid="ignore"):
        temperature = np.where(ds != 0, du / np.where(ds != 0, ds, 1.0), np.nan)
    return np.sqrt(eta[1:] * eta[:-1]), temperature


def free_energy_argmin(energy: np.ndarray, entropy: np.ndarray) -> np.ndarray:
    """For each interior state i (states sorted by learning rate), the index j minimizing
    F_j = U_j − T_i S_j over all states, with T_i = (U_{i+1} − U_{i−1})/(S_{i+1} − S_{i−1}) the local
    temperature at i. Free-energy minimization holds where the answer is i itself. Returns an array of
    length len(energy) − 2 (−1 where T_i is not finite)."""
    u = np.asarray(energy, dtype=np.float64)
    s = np.asarray(entropy, dtype=np.float64)
    out = np.full(len(u) - 2, -1, dtype=np.int64)
    for i in range(1, len(u) - 1):
        ds = s[i + 1] - s[i - 1]
        if ds == 0 or not np.isfinite(ds):
            continue
        t = (u[i + 1] - u[i - 1]) / ds
        if np.isfinite(t):
            out[i - 1] = int(np.argmin(u - t * s))
    return out


def noise_trace(gradient_variance: float, n_samples: int, batch_size: int) -> float:
    """tr C_b of a with-replacement minibatch of b from n examples, from the unbiased per-example variance
    tr Σ̂ = Σ_i ‖g_i − ḡ‖²/(n − 1) (the ``noise_scale`` probe's ``gradient_variance``)."""
    return float(gradient_variance) * (n_samples - 1) / n_samples / batch_size


def sgd_temperature(learning_rate: np.ndarray, trace_noise: float, dim: int) -> np.ndarray:
    """The first-order SGD temperature seen by the consecutive-iterate entropy: η tr C_b / (4d)."""
    return np.asarray(learning_rate, dtype=np.float64) * trace_noise / (4.0 * dim)


def sgd_excess_loss(hessian: np.ndarray, noise_covariance: np.ndarray, learning_rate: float) -> float:
    """Stationary U − f* = ½ tr(HΣ) of SGD on a quadratic with additive noise of covariance C: Σ solves
    HΣ + ΣH − ηHΣH = ηC (in H's eigenbasis, Σ̃_ij = η C̃_ij / (h_i + h_j − η h_i h_j)); NaN when a mode is
    unstable."""
    h, q = np.linalg.eigh(np.asarray(hessian, dtype=np.float64))
    c = q.T @ np.asarray(noise_covariance, dtype=np.float64) @ q
    denom = h[:, None] + h[None, :] - learning_rate * h[:, None] * h[None, :]
    if np.any(denom <= 0):
        return float("nan")
    sigma = learning_rate * c / denom
    return float(0.5 * np.sum(h * np.diag(sigma)))
