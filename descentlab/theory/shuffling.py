r"""Exact expected error of constant-step SGD on a finite sum of quadratics with two curvature types.

Model (one coordinate; the components' Hessians are diagonal, so coordinates decouple): components
:math:`f_i(x)=\frac{a_i}2(x-b_i)^2`, :math:`i=1\ldots n`, each curvature :math:`a_i` one of two values
(the two *types*), :math:`F=\frac1n\sum_if_i`, :math:`x^\star=\sum_ia_ib_i/\sum_ia_i`, gradients at the optimum
:math:`g_i=a_i(x^\star-b_i)` (:math:`\sum_ig_i=0`). With :math:`e=x-x^\star` one step on component i is

.. math:: e \leftarrow q_i\,e-\gamma g_i,\qquad q_i = 1-\gamma a_i ,

so one epoch in the order σ is :math:`e\leftarrow Pe+k(\sigma)` with the order-free contraction
:math:`P=\prod_iq_i` and the kick :math:`k(\sigma)=-\gamma\sum_tg_{\sigma(t)}c_t`,
:math:`c_t=\prod_{u>t}q_{\sigma(u)}`. Over a uniform σ (:func:`kick_moments`, exact):

* conditioned on the sequence of types, the components of each type fill that type's positions in a
  uniform order, so :math:`E[k\mid\text{types}]=-\gamma\sum_t\bar g_{\tau_t}c_t` and the within-type
  variance is :math:`\gamma^2\sum_\tau\frac{V_\tau}{n_\tau-1}\sum_{t\in\tau}(c_t-\bar c_\tau)^2`,
  :math:`V_\tau=\sum_{i\in\tau}(g_i-\bar g_\tau)^2`;
* the type sequence is a uniform arrangement of :math:`n_+` and :math:`n_-` types, and
  :math:`c_t=q_+^{p}q_-^{m}` depends only on the counts (p, m) of each type after position t, so the
  moments over it follow from an O(n²) recursion over those counts, prepending one position at a time.

The mean kick is the epoch's drift: to second order in γ it is :math:`-\frac{\gamma^2}2\sum_ia_ig_i`
(Safran & Shamir 2020), zero when every :math:`a_i` is the same and of order :math:`\gamma^2n` when the
curvature correlates with :math:`g_i`; its variance is of order :math:`\gamma^4n^3`. Started at
:math:`e_0=0` (:func:`expected_errors`), the epoch-end second moments are, for random reshuffling (a fresh σ
each epoch), :math:`v_{j+1}=P^2v_j+2Pm_jE k+Ek^2`, :math:`m_j=Ek\,(1-P^j)/(1-P)`; for a single shuffle
(one σ) :math:`E e_j^2=Ek^2\,\big((1-P^j)/(1-P)\big)^2`; with replacement (independent steps, mean 0)
:math:`v_s=\gamma^2\overline{g^2}\,(1-\overline{q^2}^{\,s})/(1-\overline{q^2})` after s steps. The expected
:math:`F-F^\star=\frac12\sum_j\bar a_j E e_j^2` sums the coordinates (:math:`\bar a_j` the mean curvature).

Stationary floors to leading order (:math:`\bar a=1`, :math:`C=\frac1n\sum_ia_ig_i`,
:math:`S=\frac1n\sum_ig_i^2`): with replacement :math:`\gamma S/4`; random reshuffling
:math:`\gamma^2C^2/8+\gamma^3n^2S/48`. At the step :math:`\gamma=\log(nK)/(\mu nK)` that Safran & Shamir
(2020, 2021) and Mishchenko et al. (2020) use for a horizon of K epochs these are the rates
:math:`1/(nK)` and :math:`1/(nK)^2+1/(nK^3)` of the lower bounds (matching upper bounds for univariate
quadratics, Safran & Shamir 2020), so the advantage of random reshuffling grows as nK for K ≫ n when the
Hessians differ (C ≠ 0) and is free of n, about K², when they are shared (C = 0).

References: Safran & Shamir, How Good is SGD with Random Shuffling? (COLT 2020, 1908.00045); Safran & Shamir,
Random Shuffling Beats SGD Only After Many Epochs on Ill-Conditioned Problems (NeurIPS 2021, 2106.06880);
Mishchenko, Khaled, Richtárik, Random Reshuffling: Simple Analysis with Vast Improvements (2006.05988).
"""

from __future__ import annotations

import numpy as np

SCHEMES = ("with_replacement", "single_shuffle", "random_reshuffling")


def _types(curvature: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: the larger and smaller curvature and the mask of the components with the larger one."""
    high, low = curvature.max(axis=0), curvature.min(axis=0)
    plus = curvature == high
    other = ~plus & (curvature != low)
    if other.any():
        raise ValueError("kick_moments needs at most two curvature values per coordinate")
    return high, low, plus


def _type_moments(q: np.ndarray, counts: tuple[int, int], weights: np.ndarray, power: int = 1) -> tuple:
    r"""E and E² of :math:`\sum_tw_{\tau_t}c_t^{\rm power}` over uniform arrangements of the types.

    ``q``: (2, lanes) contraction per type (+, −); ``counts`` (n₊, n₋); ``weights``: (w, 2, lanes).
    Returns two (w, lanes) arrays.
    """
    n_plus, n_minus = counts
    lanes = q.shape[1]
    first = np.zeros((n_plus + 1, n_minus + 1, weights.shape[0], lanes))
    second = np.zeros_like(first)
    for p in range(n_plus + 1):
        for m in range(n_minus + 1):
            if p + m == 0:
                continue
            total = np.zeros(first.shape[2:])
            square = np.zeros(first.shape[2:])
            for kind, (rest_p, rest_m), share in ((0, (p - 1, m), p), (1, (p, m - 1), m)):
                if share == 0:
                    continue
                c = (q[0] ** rest_p * q[1] ** rest_m) ** power
                term = weights[:, kind] * c
                old1, old2 = first[rest_p, rest_m], second[rest_p, rest_m]
                total += share * (term + old1)
                square += share * (term**2 + 2 * term * old1 + old2)
            first[p, m] = total / (p + m)
            second[p, m] = square / (p + m)
    return first[n_plus, n_minus], second[n_plus, n_minus]


def kick_moments(step: float, curvature: np.ndarray, gradient: np.ndarray) -> dict[str, np.ndarray]:
    r"""Exact moments of one epoch over a uniform permutation, per coordinate.

    ``curvature`` and ``gradient`` are (n, lanes): :math:`a_i` and :math:`g_i=a_i(x^\star-b_i)` per component
    and coordinate, at most two curvature values per coordinate with the same count of each in every
    coordinate. Returns ``P`` (the contraction of one epoch), ``mean`` (E k) and ``second`` (E k²).
    """
    curvature = np.asarray(curvature, np.float64)
    gradient = np.asarray(gradient, np.float64)
    high, low, plus = _types(curvature)
    n_plus = plus.sum(axis=0)
    if len(set(n_plus.tolist())) != 1:
        raise ValueError("every coordinate needs the same number of components of each curvature")
    n = curvature.shape[0]
    counts = (int(n_plus[0]), n - int(n_plus[0]))
    q = 1.0 - step * np.stack([high, low])
    masks = np.stack([plus, ~plus])  # (2, n, lanes)
    sizes = np.asarray(counts, np.float64)[:, None]
    type_mean = np.where(sizes > 0, (masks * gradient).sum(axis=1) / np.maximum(sizes, 1), 0.0)
    within = (masks * (gradient - type_mean[:, None, :]) ** 2).sum(axis=1)  # V_τ, (2, lanes)
    ones = np.ones_like(q)
    indicator = np.stack([ones * np.array([[1.0], [0.0]]), ones * np.array([[0.0], [1.0]])])
    first, second = _type_moments(q, counts, np.concatenate([type_mean[None], indicator]))
    squares, _ = _type_moments(q, counts, indicator, power=2)  # E Σ_{t∈τ} c_t²
    spread = np.zeros_like(first[0])
    for kind, size in enumerate(counts):
        if size > 1:
            spread += within[kind] / (size - 1) * (squares[kind] - second[1 + kind] / size)
    return {
        "P": q[0] ** counts[0] * q[1] ** counts[1],
        "mean": -step * first[0],
        "second": step**2 * (second[0] + spread),
    }


def expected_errors(
    step: float, curvature: np.ndarray, gradient: np.ndarray, epochs: np.ndarray
) -> dict[str, np.ndarray]:
    r"""Exact :math:`E[F(x)-F^\star]` at the ends of ``epochs`` (counted from :math:`x_0=x^\star`) per scheme.

    ``curvature``, ``gradient``: (n, d) as in :func:`kick_moments`; F − F* is
    :math:`\frac12\sum_j\bar a_jE e_j^2` with :math:`\bar a_j` the mean curvature of coordinate j.
    """
    curvature = np.asarray(curvature, np.float64)
    gradient = np.asarray(gradient, np.float64)
    epochs = np.asarray(epochs, np.int64)
    n = curvature.shape[0]
    mean_curvature = curvature.mean(axis=0)
    kick = kick_moments(step, curvature, gradient)
    contraction, drift, second = kick["P"], kick["mean"], kick["second"]
    # random reshuffling, v_{j+1} = P² v_j + 2 P m_j E k + E k² from v_0 = 0, summed:
    # v_j = E k² A_j + 2 P (E k)² / (1 − P) · (A_j − P^{j−1} (1 − P^j) / (1 − P)),  A_j = (1 − P^{2j}) / (1 − P²)
    power = contraction[None, :] ** epochs[:, None]
    settled = (1.0 - power**2) / (1.0 - contraction**2)
    lag = np.where(epochs[:, None] > 0, power / contraction * (1.0 - power) / (1.0 - contraction), 0.0)
    rr = second * settled + 2 * contraction * drift**2 / (1.0 - contraction) * (settled - lag)
    growth = (1.0 - power) / (1.0 - contraction)
    q2 = np.mean((1.0 - step * curvature) ** 2, axis=0)
    g2 = np.mean(gradient**2, axis=0)
    steps = n * epochs[:, None]
    moments = {
        "with_replacement": step**2 * g2 * (1.0 - q2**steps) / (1.0 - q2),
        "single_shuffle": second * growth**2,
        "random_reshuffling": rr,
    }
    return {scheme: 0.5 * (moment * mean_curvature).sum(axis=1) for scheme, moment in moments.items()}
