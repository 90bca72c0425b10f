r"""Streaming SGD on a GLM with Gaussian data of general covariance: the deterministic-equivalent ODE.

Setting (the conventions of :mod:`descentlab.problems.glm`): :math:`x\sim\mathcal N(0,K)`,
:math:`K=\mathrm{diag}(\lambda)`, :math:`\operatorname{tr}K=1`, a teacher :math:`\theta^\star` with
:math:`\theta^{\star\top}K\theta^\star=1`, a per-example loss :math:`f(r, y)` of :math:`r=x^\top\theta`, and
:math:`g=\partial_rf`. Streaming SGD: :math:`\theta_{k+1}=\theta_k-\eta_k\,\frac1b\sum_j g_j x_j`.

Collins-Woodfin, Paquette, Paquette & Seroussi (2308.08977) show that the statistics of
:math:`W=[\theta\,|\,\theta^\star]` seen through the resolvent of K, :math:`S(t,z)=W^\top(K-z)^{-1}W`, concentrate
on the solution of an ODE. With K diagonal, :math:`S(t,z)=\sum_i V_i(t)/(\lambda_i-z)` with the per-direction
2×2 blocks :math:`V_i=(\theta_i,\theta^\star_i)^\top(\theta_i,\theta^\star_i)`, so the ODE is one for
:math:`v_i = V_i^{11}` (≈ :math:`\theta_i^2`) and :math:`c_i = V_i^{12}` (≈ :math:`\theta_i\theta^\star_i`), closed
through the overlap matrix :math:`B=\sum_i\lambda_iV_i=\begin{psmallmatrix}q&m\\m&1\end{psmallmatrix}`,
:math:`q=\theta^\top K\theta`, :math:`m=\theta^\top K\theta^\star`, the law of
:math:`(r,r^\star)\sim\mathcal N(0,B)`. Gaussian integration by parts (Stein) gives
:math:`E[g\,x_i]=\lambda_i(a\,\theta_i+b\,\theta^\star_i)` with :math:`a=E\,\partial_r\bar g`,
:math:`b=E\,\partial_{r^\star}\bar g` (:math:`\bar g = E[g\mid r,r^\star]`), and to leading order in
:math:`\lambda_{\max}` :math:`E[g^2x_i^2]=\lambda_i\,I(B)`, :math:`I(B)=E\,g^2`. Per step:

.. math::
   \dot v_i = -2\eta\lambda_i\,(a\,v_i + b\,c_i) + \frac{\eta^2}{b_{\rm batch}}\,\lambda_i\,I(B),\qquad
   \dot c_i = -\eta\lambda_i\,(a\,c_i + b\,\theta_i^{\star2}),\qquad
   q=\sum_i\lambda_iv_i,\ m=\sum_i\lambda_ic_i,

from :math:`v_i(0)=\rho^2\theta_i^{\star2}+s^2`, :math:`c_i(0)=\rho\,\theta_i^{\star2}` (the mean of
:math:`\theta_0=\rho\theta^\star+s\,z`). The risk is :math:`\mathcal R = h(B)`. The per-task expectations
(all over :math:`(r,r^\star)\sim\mathcal N(0,B)`, 32×32 tensor Gauss–Hermite, exact for the polynomial ones):

* logistic (:math:`f=\log(1+e^r)-yr`, :math:`P(y=1)=\sigma(r^\star)`): :math:`\bar g=\sigma(r)-\sigma(r^\star)`,
  :math:`a=E\sigma'(r)`, :math:`b=-E\sigma'(r^\star)`,
  :math:`I=E[\sigma(r)^2-2\sigma(r)\sigma(r^\star)+\sigma(r^\star)]`,
  :math:`h=E[\log(1+e^r)-\sigma(r^\star)r]`;
* phase retrieval (:math:`f=\tfrac12(r^2-y)^2`, :math:`y=r^{\star2}+\sigma_\varepsilon\varepsilon`):
  :math:`\bar g=2r(r^2-r^{\star2})`, :math:`a=E[6r^2-2r^{\star2}]=6q-2`, :math:`b=-4E[rr^\star]=-4m`,
  :math:`I=4E[r^2(r^2-r^{\star2})^2]+4\sigma_\varepsilon^2q`, :math:`h=\tfrac12(3q^2+3-2q-4m^2)+\sigma_\varepsilon^2/2`.

The ODE is integrated with one forward-Euler step per SGD step (``lax.scan``, float64); each step changes
:math:`v_i` by :math:`O(\eta\lambda_i)`, so the discretisation error is of the same :math:`O(\lambda_{\max})` order
the deterministic equivalent neglects.

**Learning-rate threshold** (:func:`ode_threshold`): the largest η for which the ODE's risk stays bounded — below
``factor`` × its initial value, finite — over a horizon, found by bisection on η (several η per round, vmapped).
For logistic regression :math:`|g|\le1` and the risk never blows up (no threshold). For phase retrieval there is no
closed form for general K; for isotropic K and :math:`m_0=0` the ODE reduces to
:math:`\dot q=\tfrac1d[-2\eta(6q-2)q+\eta^2I]` (m stays 0), which grows without bound from :math:`q_0` iff

.. math:: \eta > \eta_c(q_0) = \frac{6q_0-2}{2\,(15q_0^2-6q_0+3+\sigma_\varepsilon^2)}

when :math:`q_0 > 0.2 + 0.1/\eta_c` (so that :math:`\dot q` keeps growing with q once positive;
:func:`isotropic_phase_retrieval_threshold`, which checks the bisection). Near the optimum θ = θ* (noiseless) the
ODE linearizes to a least-squares-like kernel with curvature 4 and noise 48·D, a loop gain 6η tr K: the local
threshold :math:`1/(6\operatorname{tr}K)`.

Reference: Collins-Woodfin, Paquette, Paquette, Seroussi, *Hitting the High-Dimensional Notes: An ODE for SGD
Learning Dynamics on GLMs and Multi-Index Models* (2308.08977).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import Param
from descentlab.problems.glm import COVARIANCES, TASKS
from descentlab.problems.least_squares import covariance_spectrum, teacher_vector
from descentlab.theory._least_squares import OPTIMIZER_PARAMS, learning_rates
from descentlab.theory.registry import register_prediction

NODES = 32


@functools.lru_cache(maxsize=2)
def _tensor_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal Gauss–Hermite nodes (n², 2) and weights (n²,) for E f(g₁, g₂)."""
    t, w = np.polynomial.hermite.hermgauss(n)
    x, w = np.sqrt(2.0) * t, w / np.sqrt(np.pi)
    grid = np.stack(np.meshgrid(x, x, indexing="ij"), axis=-1).reshape(-1, 2)
    return grid, np.outer(w, w).reshape(-1)


def expectations(task: str, q: jax.Array, m: jax.Array, noise: jax.Array) -> tuple[jax.Array, ...]:
    """(risk h, a, b, I) at the overlap matrix B = [[q, m], [m, 1]] (see the module docstring)."""
    if task == "phase_retrieval":
        risk = 0.5 * (3.0 * q**2 + 3.0 - 2.0 * q - 4.0 * m**2) + 0.5 * noise**2
        # Isserlis: E r⁶ = 15q³, E r⁴r*² = 3q² + 12qm², E r²r*⁴ = 3q + 12m²
        fourth = 15.0 * q**3 - 2.0 * (3.0 * q**2 + 12.0 * q * m**2) + 3.0 * q + 12.0 * m**2
        return risk, 6.0 * q - 2.0, -4.0 * m, 4.0 * fourth + 4.0 * noise**2 * q
    nodes, weights = _tensor_nodes(NODES)
    z = jnp.asarray(nodes)
    w = jnp.asarray(weights)
    # (r, r*) = (√(q − m²)·z₁ + m·z₂, z₂): covariance [[q, m], [m, 1]]
    r = jnp.sqrt(jnp.maximum(q - m**2, 0.0)) * z[:, 0] + m * z[:, 1]
    rs = z[:, 1]
    sr, ss = jax.nn.sigmoid(r), jax.nn.sigmoid(rs)
    risk = w @ (jax.nn.softplus(r) - ss * r)
    a = w @ (sr * (1.0 - sr))
    b = -(w @ (ss * (1.0 - ss)))
    second = w @ (sr**2 - 2.0 * sr * ss + ss)
    return risk, a, b, second


@functools.partial(jax.jit, static_argnames=("task",))
def _scan(task, lam, tsq, v0, c0, etas, inv_b, noise):
    """Risk, m, q after every step (index 0 = the start) of the Euler-integrated ODE."""

    def observe(v, c):
        q, m = lam @ v, lam @ c
        return q, m, expectations(task, q, m, noise)

    def step(carry, eta):
        v, c = carry
        _, _, (_, a, b, second) = observe(v, c)
        v = v - 2.0 * eta * lam * (a * v + b * c) + eta**2 * inv_b * lam * second
        c = c - eta * lam * (a * c + b * tsq)
        q, m, (risk, *_) = observe(v, c)
        return (v, c), (risk, m, q)

    q0, m0, (r0, *_) = observe(v0, c0)
    _, (risk, m, q) = jax.lax.scan(step, (v0, c0), etas)
    cat = lambda first, rest: jnp.concatenate([first[None], rest])  # noqa: E731
    return cat(r0, risk), cat(m0, m), cat(q0, q)


def glm_arrays(params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(λ, θ*²) in float64, exactly as :class:`descentlab.problems.glm.GLM` builds them (cached per setting)."""
    keys = ("dim", "covariance", "alpha", "zero_fraction", "teacher_seed")
    lam, tsq = _glm_arrays(*(params[k] for k in keys))
    return lam.copy(), tsq.copy()


@functools.lru_cache(maxsize=16)
def _glm_arrays(dim: int, covariance: str, alpha: float, zero_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    with jax.enable_x64(True):
        lam = covariance_spectrum(int(dim), covariance, float(alpha), float(zero_fraction))
        theta = teacher_vector(int(dim), "random", 0.0, int(seed), lam)
        return np.asarray(lam, np.float64), np.asarray(theta, np.float64) ** 2


def _initial(tsq: np.ndarray, init_scale: float, init_overlap: float) -> tuple[np.ndarray, np.ndarray]:
    return init_overlap**2 * tsq + init_scale**2, init_overlap * tsq


def glm_ode_curves(
    task: str,
    lam: np.ndarray,
    tsq: np.ndarray,
    etas: np.ndarray,
    steps: np.ndarray,
    *,
    batch_size: int = 1,
    noise: float = 0.0,
    init_scale: float = 0.0,
    init_overlap: float = 0.0,
) -> dict[str, np.ndarray]:
    """Risk, m = θᵀKθ* and q = θᵀKθ of the ODE on ``steps`` (``etas``: η_t for t = 0 … max(steps) − 1)."""
    v0, c0 = _initial(tsq, init_scale, init_overlap)
    with jax.enable_x64(True):
        risk, m, q = _scan(
            task,
            jnp.asarray(lam),
            jnp.asarray(tsq),
            jnp.asarray(v0),
            jnp.asarray(c0),
            jnp.asarray(etas[: int(np.max(steps))], jnp.float64),
            1.0 / batch_size,
            jnp.asarray(noise, jnp.float64),
        )
        steps = np.asarray(steps)
        return {k: np.asarray(x, np.float64)[steps] for k, x in (("risk", risk), ("m", m), ("q", q))}


@functools.partial(jax.jit, static_argnames=("task", "horizon"))
def _bounded(task, lam, tsq, v0, c0, etas, horizon, noise, factor):
    """For each η in ``etas``: does the ODE's risk stay finite and ≤ factor × its start over ``horizon`` steps?"""

    def one(eta):
        risk, _, _ = _scan(task, lam, tsq, v0, c0, jnp.full(horizon, eta), 1.0, noise)
        return jnp.all(jnp.isfinite(risk) & (risk <= factor * risk[0]))

    return jax.vmap(one)(etas)


def ode_threshold(
    task: str,
    lam: np.ndarray,
    tsq: np.ndarray,
    horizon: int,
    *,
    noise: float = 0.0,
    init_scale: float = 0.0,
    init_overlap: float = 0.0,
    factor: float = 1e6,
    low: float = 1e-4,
    high: float = 2.0,
    per_round: int = 16,
    rtol: float = 1e-4,
) -> float:
    """The largest η (batch size 1, constant step) whose ODE risk stays bounded over ``horizon`` steps.

    Bisection on [low, high] with ``per_round`` η's per round (vmapped), until the bracket is narrower than
    ``rtol`` × its lower end. Returns ``inf`` when ``high`` is still bounded (e.g. logistic regression), 0 when
    ``low`` already blows up."""
    v0, c0 = _initial(tsq, init_scale, init_overlap)
    with jax.enable_x64(True):
        args = (jnp.asarray(lam), jnp.asarray(tsq), jnp.asarray(v0), jnp.asarray(c0))

        def bounded(etas: np.ndarray) -> np.ndarray:
            out = _bounded(task, *args, jnp.asarray(etas, jnp.float64), int(horizon), noise, factor)
            return np.asarray(out)

        ends = bounded(np.array([low, high]))
        if ends[1]:
            return float("inf")
        if not ends[0]:
            return 0.0
        while high - low > rtol * low:
            grid = np.linspace(low, high, per_round + 2)[1:-1]
            fail = np.flatnonzero(~bounded(grid))
            first = int(fail[0]) if fail.size else per_round
            if first > 0:
                low = float(grid[first - 1])
            if fail.size:
                high = float(grid[first])
    return 0.5 * (low + high)


def isotropic_phase_retrieval_threshold(q0: float, noise: float = 0.0) -> float:
    """η_c(q₀) of the isotropic, m₀ = 0 phase-retrieval ODE (closed form; see the module docstring)."""
    return (6.0 * q0 - 2.0) / (2.0 * (15.0 * q0**2 - 6.0 * q0 + 3.0 + noise**2))


def _risk_pr(q: jax.Array, m: jax.Array) -> jax.Array:
    return 0.5 * (3.0 * q**2 + 3.0 - 2.0 * q - 4.0 * m**2)


@functools.partial(jax.jit, static_argnames=("dim",))
def _chain_diverged(etas, u, chi, dim, q0, m0, limit):
    """(len(etas), seeds) booleans: did the exact (m, q) chain leave ``risk ≤ limit`` (or a one-example loss
    above ``limit``) within ``u.shape[1]`` steps? ``u`` (seeds, steps, 2) standard normals, ``chi`` (seeds, steps)
    χ²_{d−2} draws, shared by every η (common random numbers, as the engine's runs)."""

    def one(eta, us, chis):
        def step(carry, z):
            m, q, alive = carry
            rs = z[0]
            r = m * rs + jnp.sqrt(jnp.maximum(q - m**2, 0.0)) * z[1]
            g = 2.0 * r * (r**2 - rs**2)
            risk = _risk_pr(q, m)
            ok = alive & jnp.isfinite(risk) & (risk <= limit) & (0.5 * (r**2 - rs**2) ** 2 <= limit)
            usq = z[0] ** 2 + z[1] ** 2 + z[2]
            m_new = m - eta * g * rs / dim
            q_new = q - 2.0 * eta * g * r / dim + eta**2 * g**2 * usq / dim**2
            return (jnp.where(ok, m_new, m), jnp.where(ok, q_new, q), ok), None

        zs = jnp.concatenate([us, chis[:, None]], axis=1)
        (m, q, alive), _ = jax.lax.scan(step, (m0, q0, jnp.asarray(True)), zs)
        risk = _risk_pr(q, m)
        return ~(alive & jnp.isfinite(risk) & (risk <= limit))

    return jax.vmap(lambda eta: jax.vmap(lambda a, b: one(eta, a, b))(u, chi))(etas)


def isotropic_phase_retrieval_divergence(
    dim: int,
    etas: np.ndarray,
    steps: int,
    seeds: int,
    *,
    init_overlap: float,
    factor: float,
    key: int = 0,
    chunk: int = 256,
) -> np.ndarray:
    r"""Which runs of SGD (batch 1, constant η) on noiseless phase retrieval with isotropic K diverge: a
    (len(etas), seeds) boolean array, from the exact two-dimensional Markov chain of (m, q).

    With :math:`K=I/d`, :math:`|\theta^\star|^2=d` and :math:`x=u/\sqrt d`, :math:`u\sim\mathcal N(0,I_d)`,
    rotation invariance around θ* makes (m, q) a Markov chain: with :math:`r^\star=u_1`,
    :math:`r=m\,u_1+\sqrt{q-m^2}\,u_2`, :math:`g=2r(r^2-r^{\star2})` and
    :math:`\|u\|^2=u_1^2+u_2^2+\chi^2_{d-2}`,

    .. math:: m' = m-\frac{\eta\,g\,u_1}{d},\qquad
              q' = q-\frac{2\eta\,g\,r}{d}+\frac{\eta^2g^2\|u\|^2}{d^2},

    exactly the law of the full d-dimensional SGD's (m, q) — three random numbers per step instead of d. The
    start is :math:`\theta_0=\rho\theta^\star` (q₀ = ρ², m₀ = ρ); a run diverges, as in the engine, when the
    population risk or a one-example loss exceeds ``factor`` × the initial risk (or is not finite) within
    ``steps`` steps. Float64, ``lax.scan``, vmapped over seeds and η; the seeds are drawn in chunks of ``chunk``.
    Unlike the ODE (the d → ∞ limit, which follows the *mean* of (m, q)), this is SGD at finite d: its
    divergence boundary carries the finite-d offset of the median run (see :mod:`descentlab.studies.glm_ode`)."""
    q0, m0 = init_overlap**2, init_overlap
    out = []
    with jax.enable_x64(True):
        limit = factor * _risk_pr(jnp.float64(q0), jnp.float64(m0))
        keys = jax.random.split(jax.random.PRNGKey(key), -(-seeds // chunk))
        for i, k in enumerate(keys):
            n = min(chunk, seeds - i * chunk)
            k_u, k_chi = jax.random.split(k)
            u = jax.random.normal(k_u, (n, steps, 2), jnp.float64)
            chi = 2.0 * jax.random.gamma(k_chi, (dim - 2) / 2.0, (n, steps), jnp.float64)
            etas64 = jnp.asarray(etas, jnp.float64)
            out.append(np.asarray(_chain_diverged(etas64, u, chi, int(dim), q0, m0, limit)))
    return np.concatenate(out, axis=1)


PARAMS: dict[str, Param] = {
    "dim": Param("int", 500, "dimension d", low=1, high=2_000_000),
    "task": Param("str", "logistic", "logistic or phase_retrieval", choices=TASKS),
    "covariance": Param("str", "isotropic", "spectrum of K (tr K = 1)", choices=COVARIANCES),
    "alpha": Param("float", 1.0, "power_law covariance: λ_i ∝ i^-α", low=0.0, high=10.0),
    "zero_fraction": Param("float", 0.5, "zero_one covariance: fraction of zero eigenvalues", low=0.0, high=0.99),
    "teacher_seed": Param("int", 0, "seed of the teacher direction", low=0),
    "noise": Param("float", 0.0, "phase retrieval: label noise σ_ε", low=0.0),
    "init_scale": Param("float", 0.0, "s: θ₀ = ρθ* + s·N(0, I_d)", low=0.0),
    "init_overlap": Param("float", 0.0, "ρ: θ₀ = ρθ* + s·N(0, I_d)"),
    **OPTIMIZER_PARAMS,
}


@register_prediction(
    "glm_ode",
    PARAMS,
    "Streaming SGD on a GLM, x ~ N(0, K) (logistic regression, phase retrieval): risk and overlaps θᵀKθ*, θᵀKθ",
    "Collins-Woodfin, Paquette, Paquette, Seroussi. Hitting the high-dimensional notes (2308.08977)",
    kind="limit",
    problem="glm",
    metrics={"risk": "population_risk", "m": "m", "q": "q"},
)
def predict_glm_ode(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    lam, tsq = glm_arrays(p)
    etas = learning_rates(max(int(steps.max()), 1), p)
    return glm_ode_curves(
        p["task"],
        lam,
        tsq,
        etas,
        steps,
        batch_size=p["batch_size"],
        noise=p["noise"],
        init_scale=p["init_scale"],
        init_overlap=p["init_overlap"],
    )
