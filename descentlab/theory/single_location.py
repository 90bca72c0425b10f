r"""Single-location regression with a softmax attention layer: the risk as a function of the overlaps, the
mean-field ODE of the overlaps under streaming SGD, and the best linear model's risk.

Setting (:mod:`descentlab.problems.single_location`): tokens :math:`x_\ell=\xi_\ell+\gamma\,\mathbb 1[\ell=J]\,k^\star`,
:math:`\xi_\ell\sim\mathcal N(0,I_d)`, :math:`J` uniform on :math:`\{1..L\}`, target
:math:`y=\langle x_J,v^\star\rangle+\sigma\varepsilon` with :math:`k^\star\perp v^\star` unit vectors, and the model
:math:`f(X)=\sum_\ell p_\ell\,\langle x_\ell,v\rangle`, :math:`p=\operatorname{softmax}(\beta\langle x_\ell,k\rangle)`
(:math:`\beta=1` in the problem; ``temperature`` :math:`=1/\beta` is a knob of the prediction only).

**The risk is a function of the overlaps.** Only the projections of the tokens on
:math:`\mathrm{span}(k^\star,v^\star,k,v)` enter :math:`f` and :math:`y`, and these projections are a standard
Gaussian in four dimensions whatever d is. So :math:`\mathcal R(k,v)=\tfrac12E(f-y)^2` depends on :math:`(k,v)` only
through the Gram matrix of :math:`(k^\star,v^\star,k,v)`, i.e. the seven overlaps

.. math:: Q=\big(\|k\|^2,\ \langle k,v\rangle,\ \|v\|^2,\ \langle k,k^\star\rangle,\ \langle k,v^\star\rangle,\
          \langle v,k^\star\rangle,\ \langle v,v^\star\rangle\big),

and :math:`\mathcal R(Q)` is computed in :math:`\mathbb R^4`: the Cholesky factor of that Gram matrix gives
representatives :math:`\tilde k,\tilde v\in\mathbb R^4` (:math:`k^\star=e_1`, :math:`v^\star=e_2`), and by
exchangeability the signal sits at token 1. The remaining expectation, over the :math:`L` four-dimensional Gaussian
tokens, is an :math:`4L`-dimensional integral with no closed form at finite :math:`L` (the NeurIPS 2025 paper
*Understanding Softmax Attention Layers: Exact Mean-Field Analysis on a Toy Problem* evaluates it in closed form in the
random-energy-model limit :math:`\log L=\Theta(d)`, which the problem's :math:`L` is not in); it is computed here by
quasi-Monte Carlo in float64 over a fixed set of ``mc_samples`` scrambled-Sobol draws (the same draws at every Q:
:math:`\mathcal R(Q)` and everything below are smooth deterministic functions of Q; accuracy below). The same
integral gives the variance of
the one-example loss :math:`\ell=\tfrac12(f-y)^2`, hence the standard error of an :math:`n`-sample Monte-Carlo risk:
:math:`\operatorname{Var}\ell=\tfrac14E(f-y)^4-\mathcal R^2`.

**Mean-field dynamics of the overlaps.** Streaming SGD with step η and batch b:
:math:`k\leftarrow k-\eta\,\hat g_k`, :math:`v\leftarrow v-\eta\,\hat g_v`, with
:math:`g_k=(f-y)\,\beta\sum_\ell p_\ell(\langle x_\ell,v\rangle-f)\,x_\ell` and
:math:`g_v=(f-y)\sum_\ell p_\ell x_\ell`.
The population gradient :math:`G=E\,g=\nabla\mathcal R` lies in :math:`\mathrm{span}(k^\star,v^\star,k,v)` (the
orthogonal parts of the tokens are independent of everything else and centred), and the expected one-step change of
the overlaps is, exactly,

.. math::
   E\,\Delta\langle k,k^\star\rangle&=-\eta\,\langle G_k,k^\star\rangle\quad(\text{and alike for }
   \langle k,v^\star\rangle,\langle v,k^\star\rangle,\langle v,v^\star\rangle),\\
   E\,\Delta\|k\|^2&=-2\eta\,\langle k,G_k\rangle+\eta^2\Big(\|G_k\|^2+\tfrac1b\big(E\|g_k\|^2-\|G_k\|^2\big)\Big),\\
   E\,\Delta\langle k,v\rangle&=-\eta\big(\langle G_k,v\rangle+\langle k,G_v\rangle\big)
      +\eta^2\Big(\langle G_k,G_v\rangle+\tfrac1b\big(E\langle g_k,g_v\rangle-\langle G_k,G_v\rangle\big)\Big),

and :math:`\|v\|^2` like :math:`\|k\|^2`. The second moments split into the in-span part and the
:math:`d-4` orthogonal directions: with :math:`g=(f-y)\sum_\ell c_\ell x_\ell`,
:math:`E\|g\|^2=E\big[(f-y)^2\big(\|\sum_\ell c_\ell\tilde x_\ell\|^2+(d-4)\sum_\ell c_\ell^2\big)\big]`
(:math:`\tilde x_\ell` the four in-span coordinates; label noise adds :math:`\sigma^2` to :math:`(f-y)^2`).
**Scaling:** the gradient-noise term is :math:`O(\eta d/b)` per unit of :math:`\tau=\eta t`; as
:math:`d\to\infty` with :math:`\bar\eta=\eta d/b` fixed, the overlaps concentrate (their fluctuations are
:math:`O(\sqrt{\bar\eta\tau/d})`) on the solution of the ODE :math:`dQ/d\tau=F(Q)`,
:math:`F=E\,\Delta Q/\eta` above — gradient flow on :math:`\mathcal R(Q)` plus the Itô term of the SGD noise.
It is computed as the Euler scheme of that ODE with the SGD's own step (:func:`overlap_ode`): the expected-overlap
map iterated once per SGD step, in float64 (``lax.scan``), the η² terms kept — the Gram matrix of
:math:`(\tilde k-\eta G_k,\tilde v-\eta G_v)` plus :math:`\eta^2/b` times the gradient covariance, which keeps the
Gram matrix positive semi-definite where an explicit scheme on the overlaps themselves leaves it near
:math:`k\approx0`. The start is the mean initial overlaps of :math:`k_0,v_0\sim\mathcal N(0,s^2I_d/d)`:
:math:`\|k_0\|^2=\|v_0\|^2=s^2`, all others 0 (their spread is :math:`s/\sqrt d`). Every expectation is a
quasi-Monte Carlo mean over the same :math:`2^{14}` scrambled-Sobol draws; measured accuracy (L = 4, γ = 3): the
risk within 0.4 standard errors of a 4096-sequence Monte-Carlo mean of the :math:`2^{18}`-draw value (1–2.5 %
relative), the overlaps after 400 steps (d = 100, η = 0.1, b = 16) within 1 % (‖k‖², the most sensitive) across
scrambles — i.i.d. draws needed :math:`2^{17}` for that. The map reproduces the mean of one SGD step from fixed
(k, v) at d = 20 within 1.4 standard errors of 20 000 draws (tests/theory/test_single_location.py uses 10 000).

**The oracle attractor.** On the oracle line :math:`k=\lambda k^\star`, :math:`v=v^\star`,
:math:`\mathcal R=\tfrac12E\big[(1-p_J)^2+\sum_{\ell\ne J}p_\ell^2\big]`, smallest at a finite λ (L = 4,
γ = 3: 0.061, 0.034, 0.039 at λ = 1, 3, 10 — hard attention is not optimal when the signal token is sometimes not
the arg-max); SGD drives :math:`\langle v,v^\star\rangle\to1` and k along :math:`k^\star` (Marion et al.
2410.01537; the NeurIPS 2025 paper proves that its gradient dynamics of the overlaps converge to the unique oracle
attractor).

**The linear floor.** Any linear predictor :math:`f(X)=\sum_\ell\langle x_\ell,w_\ell\rangle` has
:math:`E[x_\ell y]=v^\star/L` and
:math:`E[x_\ell x_m^\top]=\delta_{\ell m}(I+\tfrac{\gamma^2}{L}k^\star k^{\star\top})`,
so the best one is :math:`w_\ell=v^\star/L` with risk :math:`\tfrac12(1-1/L)+\tfrac12\sigma^2`
(:func:`linear_floor`), independent of γ: the location is invisible to a linear model (Marion et al., 2410.01537).

References: *Understanding Softmax Attention Layers: Exact Mean-Field Analysis on a Toy Problem* (NeurIPS 2025);
Marion, Berthier, Biau, Boyer, *Attention layers provably solve single-location regression* (2410.01537).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import norm, qmc

from descentlab.params import Param
from descentlab.theory.registry import register_prediction

OVERLAPS = ("kk", "kv", "vv", "k_signal", "k_value", "v_signal", "v_value")
"""The seven overlaps, in this order: ‖k‖², ⟨k,v⟩, ‖v‖², ⟨k,k*⟩, ⟨k,v*⟩, ⟨v,k*⟩, ⟨v,v*⟩."""
MC_SAMPLES = 2**14
JITTER = 1e-12


@functools.lru_cache(maxsize=8)
def _tokens(samples: int, seq_len: int, seed: int) -> np.ndarray:
    """(samples, L, 4) standard normals in float64, the in-span coordinates of the tokens' noise (signal at token 0):
    a scrambled Sobol sequence in 4L dimensions mapped through the normal quantile (quasi-Monte Carlo)."""
    u = qmc.Sobol(d=4 * seq_len, scramble=True, seed=seed).random(samples)
    return norm.ppf(u).reshape(samples, seq_len, 4)


def representatives(q: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(k̃, ṽ) in R⁴ with the Gram matrix of (e₁ = k*, e₂ = v*, k̃, ṽ) equal to the overlaps ``q``
    (:data:`OVERLAPS` order), from the Cholesky factor (a 1e-12 jitter keeps it defined on the boundary)."""
    kk, kv, vv, ks, kval, vs, vval = (q[i] for i in range(7))
    gram = jnp.array(
        [
            [1.0, 0.0, ks, vs],
            [0.0, 1.0, kval, vval],
            [ks, kval, kk, kv],
            [vs, vval, kv, vv],
        ]
    )
    chol = jnp.linalg.cholesky(gram + JITTER * jnp.eye(4))
    return chol[2], chol[3]


def _residual(k: jax.Array, v: jax.Array, z: jax.Array, signal: float, beta: float) -> tuple[jax.Array, ...]:
    """Per sample: f − y, the attention p (n, L), the values (n, L), the tokens (n, L, 4)."""
    x = z.at[:, 0, 0].add(signal)
    p = jax.nn.softmax(beta * (x @ k), axis=-1)
    values = x @ v
    f = jnp.sum(p * values, axis=-1)
    return f - x[:, 0, 1], p, values, x


@jax.jit
def _risk_stats(q, z, signal, noise, beta):
    """(risk, variance of the one-example loss, mean attention on the signal token) at overlaps ``q``."""
    k, v = representatives(q)
    r, p, _, _ = _residual(k, v, z, signal, beta)
    r2 = jnp.mean(r**2)
    r4 = jnp.mean(r**4)
    risk = 0.5 * (r2 + noise**2)
    second = 0.25 * (r4 + 6.0 * noise**2 * r2 + 3.0 * noise**4)
    return risk, second - risk**2, jnp.mean(p[:, 0])


@jax.jit
def _risk_rows(q, z, signal, noise, beta):
    """:func:`_risk_stats` for every row of ``q`` (one row at a time: the draws are the big array)."""
    return jax.lax.map(lambda row: _risk_stats(row, z, signal, noise, beta), q)


def _step(q, z, signal, noise, beta, eta, inv_b, dim):
    """One step of the expected-overlap map: the overlaps of (k̃ − ηG_k, ṽ − ηG_v) plus η²/b times the covariance
    of the one-example gradients (in-span part and the d − 4 orthogonal directions); see the module docstring."""
    k, v = representatives(q)
    r, p, values, x = _residual(k, v, z, signal, beta)
    f = jnp.sum(p * values, axis=-1)
    c_k = beta * p * (values - f[:, None])  # ∂f/∂k = Σ_ℓ c_k,ℓ x_ℓ
    c_v = p  # ∂f/∂v = Σ_ℓ p_ℓ x_ℓ
    span_k = jnp.einsum("nl,nlj->nj", c_k, x)
    span_v = jnp.einsum("nl,nlj->nj", c_v, x)
    g_k = jnp.mean(r[:, None] * span_k, axis=0)  # ∇_k R (in-span; the orthogonal part has mean 0)
    g_v = jnp.mean(r[:, None] * span_v, axis=0)
    w = r**2 + noise**2
    rest = dim - 4.0
    m_kk = jnp.mean(w * (jnp.sum(span_k**2, -1) + rest * jnp.sum(c_k**2, -1)))
    m_vv = jnp.mean(w * (jnp.sum(span_v**2, -1) + rest * jnp.sum(c_v**2, -1)))
    m_kv = jnp.mean(w * (jnp.sum(span_k * span_v, -1) + rest * jnp.sum(c_k * c_v, -1)))
    k_new, v_new = k - eta * g_k, v - eta * g_v
    noise_scale = eta**2 * inv_b
    return jnp.stack(
        [
            k_new @ k_new + noise_scale * (m_kk - g_k @ g_k),
            k_new @ v_new + noise_scale * (m_kv - g_k @ g_v),
            v_new @ v_new + noise_scale * (m_vv - g_v @ g_v),
            k_new[0],
            k_new[1],
            v_new[0],
            v_new[1],
        ]
    )


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _iterate(q0, z, signal, noise, beta, eta, inv_b, dim, n_steps):
    """The overlaps after 0, 1, …, n_steps steps of the expected-overlap map, shape (n_steps + 1, 7)."""

    def step(q, _):
        q = _step(q, z, signal, noise, beta, eta, inv_b, dim)
        return q, q

    _, path = jax.lax.scan(step, q0, None, length=n_steps)
    return jnp.concatenate([q0[None], path])


def initial_overlaps(init_scale: float) -> np.ndarray:
    """The mean overlaps of k₀, v₀ ~ N(0, s² I/d): ‖k₀‖² = ‖v₀‖² = s², the others 0."""
    return np.array([init_scale**2, 0.0, init_scale**2, 0.0, 0.0, 0.0, 0.0])


def risk(
    overlaps: np.ndarray,
    *,
    seq_len: int,
    signal: float,
    noise: float = 0.0,
    temperature: float = 1.0,
    mc_samples: int = MC_SAMPLES,
    mc_seed: int = 0,
) -> dict[str, np.ndarray]:
    """The population risk at each row of ``overlaps`` ((n, 7) or (7,), :data:`OVERLAPS` order).

    Returns ``{"risk", "loss_var" (variance of the one-example loss), "attention_on_signal"}``, each of shape
    (n,) (or scalar for one row); float64 Monte Carlo over ``mc_samples`` fixed draws."""
    q = np.atleast_2d(np.asarray(overlaps, np.float64))
    with jax.enable_x64(True):
        z = jnp.asarray(_tokens(int(mc_samples), int(seq_len), int(mc_seed)))
        rows = _risk_rows(jnp.asarray(q), z, float(signal), float(noise), 1.0 / float(temperature))
        out = [np.asarray(a, np.float64) for a in rows]
    names = ("risk", "loss_var", "attention_on_signal")
    result = {name: a.reshape(-1) for name, a in zip(names, out, strict=True)}
    return result if np.ndim(overlaps) == 2 else {k: a[0] for k, a in result.items()}


def overlap_ode(
    steps: np.ndarray,
    *,
    dim: int,
    seq_len: int,
    signal: float,
    learning_rate: float,
    batch_size: int,
    noise: float = 0.0,
    init_scale: float = 0.1,
    temperature: float = 1.0,
    mc_samples: int = MC_SAMPLES,
    mc_seed: int = 1,
) -> np.ndarray:
    """The mean-field overlaps (len(steps), 7) at SGD steps ``steps``: the expected-overlap map iterated once per
    SGD step (the Euler scheme of the ODE in τ = η·step with the SGD's own step, η² terms kept)."""
    steps = np.asarray(steps, np.int64)
    with jax.enable_x64(True):
        z = jnp.asarray(_tokens(int(mc_samples), int(seq_len), int(mc_seed)))
        path = _iterate(
            jnp.asarray(initial_overlaps(init_scale)),
            z,
            float(signal),
            float(noise),
            1.0 / float(temperature),
            float(learning_rate),
            1.0 / float(batch_size),
            float(dim),
            int(steps.max()),
        )
        return np.asarray(path, np.float64)[steps]


def linear_floor(seq_len: int, noise: float = 0.0) -> float:
    """The risk of the best linear predictor f(X) = Σ_ℓ ⟨x_ℓ, w_ℓ⟩: ½(1 − 1/L) + ½σ² (see the module docstring)."""
    return 0.5 * (1.0 - 1.0 / seq_len) + 0.5 * noise**2


def curves_from_overlaps(q: np.ndarray) -> dict[str, np.ndarray]:
    """The problem's overlap metrics from the seven overlaps (rows of ``q``)."""
    q = np.atleast_2d(q)
    kk, vv = np.maximum(q[:, 0], 0.0), np.maximum(q[:, 2], 0.0)
    return {
        "k_signal": q[:, 3],
        "v_overlap": q[:, 6],
        "k_norm": np.sqrt(kk),
        "v_norm": np.sqrt(vv),
        "k_cosine": q[:, 3] / np.maximum(np.sqrt(kk), 1e-30),
    }


PARAMS: dict[str, Param] = {
    "dim": Param("int", 32, "d: token dimension", low=4, high=10_000_000),
    "seq_len": Param("int", 16, "L: tokens per sequence", low=1, high=100_000),
    "signal": Param("float", 3.0, "γ: shift of the signal token along k*", low=0.0),
    "noise": Param("float", 0.0, "label noise σ", low=0.0),
    "init_scale": Param("float", 0.1, "k0, v0 ~ N(0, s²/d)", low=0.0),
    "learning_rate": Param("float", 0.5, "constant SGD step η", low=0.0),
    "batch_size": Param("int", 1, "batch size b", low=1),
    "temperature": Param(
        "float", 1.0, "softmax temperature 1/β of the prediction (1: the problem's)", low=0.0, low_open=True
    ),
}


@register_prediction(
    "single_location_ode",
    PARAMS,
    "Softmax attention on single-location regression, streaming SGD: mean-field overlaps and the risk along them",
    "Understanding Softmax Attention Layers: Exact Mean-Field Analysis on a Toy Problem (NeurIPS 2025); Marion, "
    "Berthier, Biau, Boyer. Attention layers provably solve single-location regression (2410.01537)",
    kind="limit",
    problem="single_location",
    metrics={
        "risk": "risk_mc",
        "k_signal": "k_signal",
        "v_overlap": "v_overlap",
        "k_norm": "k_norm",
        "v_norm": "v_norm",
        "attention_on_signal": "attention_on_signal",
    },
)
def predict_single_location_ode(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    q = overlap_ode(
        steps,
        dim=p["dim"],
        seq_len=p["seq_len"],
        signal=p["signal"],
        learning_rate=p["learning_rate"],
        batch_size=p["batch_size"],
        noise=p["noise"],
        init_scale=p["init_scale"],
        temperature=p["temperature"],
    )
    stats = risk(q, seq_len=p["seq_len"], signal=p["signal"], noise=p["noise"], temperature=p["temperature"])
    curves = curves_from_overlaps(q)
    return {
        "risk": stats["risk"],
        "k_signal": curves["k_signal"],
        "v_overlap": curves["v_overlap"],
        "k_norm": curves["k_norm"],
        "v_norm": curves["v_norm"],
        "attention_on_signal": stats["attention_on_signal"],
    }
