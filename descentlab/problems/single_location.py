r"""Single-location regression with a softmax attention layer: one token of the sequence carries the signal.

Data (a stream): a sequence :math:`X = (x_1,\dots,x_L)`, :math:`x_\ell\in\mathbb R^d`, with
:math:`x_\ell = \xi_\ell + \gamma\,\mathbb 1[\ell = J]\,k^\star`, :math:`\xi_\ell\sim\mathcal N(0, I_d)` i.i.d.,
the signal position :math:`J` uniform on :math:`\{1..L\}` and unobserved; the target reads that token,
:math:`y = \langle x_J, v^\star\rangle + \sigma\varepsilon`. The location is retrievable by a linear
projection (:math:`\langle x_J, k^\star\rangle` is shifted by :math:`\gamma`), the value is a linear read-out;
:math:`k^\star\perp v^\star` are unit vectors drawn once from ``teacher_seed``.
Model: one softmax attention layer with a single query direction,

.. math:: f(X) = \sum_{\ell=1}^L \operatorname{softmax}_\ell\big(\langle x_\ell, k\rangle\big)
          \,\langle x_\ell, v\rangle,
          \qquad \ell(X, y) = \tfrac12\,(f(X) - y)^2,

with parameters ``{"k": (d,), "v": (d,)}``; the oracle direction is :math:`k\propto k^\star`, :math:`v = v^\star`.
Metrics, exact functions of the parameters: the overlaps :math:`\langle k, k^\star\rangle`,
:math:`\langle k,k^\star\rangle/\|k\|`, :math:`\langle v, v^\star\rangle`, :math:`\|v\|`, and on a fixed
Monte-Carlo set of ``mc_size`` sequences (common random numbers, the same for every run; default 1024) the risk
``risk_mc`` and the mean attention weight on the signal token ``attention_on_signal``; with ``k_norm``
:math:`\|k\|`, ``k_dot_v`` :math:`\langle k,v\rangle`, ``k_value`` :math:`\langle k,v^\star\rangle` and
``v_signal`` :math:`\langle v,k^\star\rangle` the metrics hold the whole Gram matrix of :math:`(k,v,k^\star,v^\star)`,
on which the population risk depends (:mod:`descentlab.theory.single_location`).
``model = "linear"`` swaps the attention layer for the linear predictor :math:`f(X)=\sum_\ell\langle x_\ell,v\rangle`
(k unused; the best linear predictor, :math:`v=v^\star/L`, has risk :math:`\tfrac12(1-1/L)+\tfrac12\sigma^2`).
Batches ``{"x": (b, L, d), "y": (b,), "position": (b,)}``; ``predict(params, x)`` gives f(X).

References: Marion, Berthier, Biau, Boyer, *Attention layers provably solve single-location regression*
(2410.01537); *Understanding Softmax Attention Layers: Exact Mean-Field Analysis on a Toy Problem*
(NeurIPS 2025); *Statistical Advantage of Softmax Attention: Insights from Single-Location Regression*
(2509.21936).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

MODELS = ("softmax", "linear")


@functools.lru_cache(maxsize=16)
def _teacher(d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal k*, v* in R^d (d ≥ 2)."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, 2)))
    return q[:, 0], q[:, 1]


@register_problem("single_location")
@dataclasses.dataclass(frozen=True)
class SingleLocation(Problem):
    """Softmax attention on single-location regression; overlaps with the oracle, attention on the signal."""

    summary = "Single-location regression with a softmax attention layer; overlaps with k*, v*, attention on signal."
    references = (
        "Marion, Berthier, Biau, Boyer. Attention layers provably solve single-location regression (2410.01537)",
        "Understanding Softmax Attention Layers: Exact Mean-Field Analysis on a Toy Problem (NeurIPS 2025)",
        "Statistical Advantage of Softmax Attention: Insights from Single-Location Regression (2509.21936)",
    )
    is_stream = True
    monitor = "risk_mc"
    eval_size = 1024
    tiny: ClassVar[dict] = {"dim": 4, "seq_len": 3}
    example: ClassVar[tuple] = ("seq_len", "dim")

    dim: int = static(32, "d: token dimension (≥ 2)", low=2, high=100_000)
    seq_len: int = static(16, "L: tokens per sequence", low=1, high=100_000)
    teacher_seed: int = static(0, "seed of k*, v*", low=0)
    signal: float = hyper(3.0, "γ: shift of the signal token along k*", low=0.0)
    noise: float = hyper(0.0, "label noise σ", low=0.0)
    init_scale: float = hyper(0.1, "k0, v0 ~ N(0, s²/d)", low=0.0)
    model: str = static(
        "softmax",
        "softmax: the attention layer; linear: f(X) = Σ_ℓ ⟨x_ℓ, v⟩ (k unused), the class of the best linear predictor",
        choices=MODELS,
    )
    mc_size: int = static(1024, "sequences in the fixed Monte-Carlo set of risk_mc and attention_on_signal", low=1)

    @property
    def teacher(self) -> tuple[jax.Array, jax.Array]:
        k, v = _teacher(self.dim, self.teacher_seed)
        dtype = jnp.result_type(float)
        return jnp.asarray(k, dtype), jnp.asarray(v, dtype)

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        k_k, k_v = jax.random.split(key)
        std = self.init_scale / jnp.sqrt(self.dim)
        return {
            "k": std * jax.random.normal(k_k, (self.dim,), dtype),
            "v": std * jax.random.normal(k_v, (self.dim,), dtype),
        }

    def attention(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """softmax over the L tokens of ⟨x_ℓ, k⟩, shape (…, L)."""
        return jax.nn.softmax(x @ params["k"], axis=-1)

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """f(X) for sequences ``x`` of shape (…, L, d) (batch key ``"x"``)."""
        if self.model == "linear":
            return jnp.sum(x @ params["v"], axis=-1)
        return jnp.sum(self.attention(params, x) * (x @ params["v"]), axis=-1)

    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return 0.5 * (self.predict(params, example["x"]) - example["y"]) ** 2

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        return 0.5 * jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        k_x, k_j, k_e = jax.random.split(key, 3)
        dtype = jnp.result_type(float)
        k_star, v_star = self.teacher
        position = jax.random.randint(k_j, (batch_size,), 0, self.seq_len)
        onehot = jax.nn.one_hot(position, self.seq_len, dtype=dtype)
        x = jax.random.normal(k_x, (batch_size, self.seq_len, self.dim), dtype)
        x = x + self.signal * onehot[:, :, None] * k_star
        signal_token = jnp.einsum("bl,bld->bd", onehot, x)
        y = signal_token @ v_star + self.noise * jax.random.normal(k_e, (batch_size,), dtype)
        return {"x": x, "y": y, "position": position}

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        k_star, v_star = self.teacher
        k, v = params["k"], params["v"]
        data = self.sample(jax.random.key(12345), self.mc_size)  # fixed draws: common random numbers
        weights = self.attention(params, data["x"])
        on_signal = jnp.take_along_axis(weights, data["position"][:, None], axis=-1)[:, 0]
        return {
            "risk_mc": self.loss(params, data),
            "attention_on_signal": jnp.mean(on_signal),
            "k_signal": k @ k_star,
            "k_cosine": k @ k_star / jnp.maximum(jnp.linalg.norm(k), 1e-30),
            "v_overlap": v @ v_star,
            "v_norm": jnp.linalg.norm(v),
            "k_norm": jnp.linalg.norm(k),
            "k_dot_v": k @ v,
            "k_value": k @ v_star,
            "v_signal": v @ k_star,
        }
