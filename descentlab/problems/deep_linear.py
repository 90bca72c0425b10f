r"""Deep linear regression: a product of matrices fitting a linear teacher on Gaussian inputs.

Data (a stream): :math:`x\sim\mathcal N(0, I_{d})`, :math:`y = P^{\star\top} x + \sigma\varepsilon\in\mathbb R^{m}`,
:math:`\varepsilon\sim\mathcal N(0, I_m)`. Model with ``depth`` = L weight matrices (hidden size ``width``)

.. math:: f(x) = (W_1W_2\cdots W_L)^\top x = P^\top x,\qquad W_1\in\mathbb R^{d\times h},\ \dots,
          W_L\in\mathbb R^{h\times m},

loss :math:`\tfrac12\|f(x)-y\|^2`. Because :math:`\mathbb E[xx^\top] = I`, the population risk is exact:

.. math:: \mathcal R = \tfrac12\|P - P^\star\|_F^2 + \tfrac{m\sigma^2}{2}.

Teacher :math:`P^\star = U\,\mathrm{diag}(s)\,V^\top` with orthonormal :math:`U\in\mathbb R^{d\times r}`,
:math:`V\in\mathbb R^{m\times r}` drawn once from ``teacher_seed`` and singular values
:math:`s_i = i^{-\alpha}` (``alpha`` sweepable), :math:`r` = ``target_rank``. The infimum of the risk
over products of rank at most :math:`k=\min(h, d, m)` (:math:`\min(d, m)` when L = 1) is, by Eckart–Young,
:math:`f^\star = \tfrac{m\sigma^2}{2} + \tfrac12\sum_{i>k} s_i^2`.
Metrics also report the mode strengths :math:`u_i^\top P v_i` of the first three teacher modes, whose
sigmoidal, sequential learning from small initialization is the classic deep-linear phenomenon.
Weights start at :math:`\mathcal N(0, s_0^2/\text{fan-in})`, :math:`s_0` = ``init_scale``.
Parameters ``{"w1", …, "wL"}`` are 2-D (Muon applies). ``predict(params, x)`` gives :math:`P^\top x` for
batch key ``"x"``.

References: Saxe, McClelland, Ganguli, *Exact solutions to the nonlinear dynamics of learning in deep
linear neural networks* (1312.6120); Arora, Cohen, Hazan, *On the Optimization of Deep Networks:
Implicit Acceleration by Overparameterization* (1802.06509).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import SpecError
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

N_MODES = 3


@functools.lru_cache(maxsize=16)
def orthonormal_frames(d: int, m: int, r: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """U (d, r) and V (m, r) with orthonormal columns, from ``seed``."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((d, r)))
    v, _ = np.linalg.qr(rng.standard_normal((m, r)))
    return u, v


@register_problem("deep_linear")
@dataclasses.dataclass(frozen=True)
class DeepLinear(Problem):
    """Deep linear network regression on Gaussian inputs; exact population risk."""

    summary = "Deep linear network P = W1…WL regressing a low-rank power-law teacher; exact risk, mode strengths."
    references = (
        "Saxe, McClelland, Ganguli. Exact solutions to the nonlinear dynamics of learning in deep linear neural "
        "networks (1312.6120)",
        "Arora, Cohen, Hazan. On the Optimization of Deep Networks: Implicit Acceleration by Overparameterization "
        "(1802.06509)",
    )
    is_stream = True
    monitor = "population_risk"
    tiny: ClassVar[dict] = {"dim": 4, "out_dim": 3, "width": 5, "depth": 3, "target_rank": 2}

    dim: int = static(20, "input dimension d", low=1, high=100_000)
    out_dim: int = static(20, "output dimension m", low=1, high=100_000)
    width: int = static(20, "hidden size h", low=1, high=100_000)
    depth: int = static(3, "number of weight matrices L", low=1, high=64)
    target_rank: int = static(5, "rank r of the teacher (≤ min(d, m))", low=1)
    teacher_seed: int = static(0, "seed of the teacher's singular vectors", low=0)
    alpha: float = hyper(1.0, "teacher singular values s_i = i^-α", low=0.0)
    noise: float = hyper(0.0, "label noise σ", low=0.0)
    init_scale: float = hyper(0.5, "W_ℓ ~ N(0, s0²/fan_in)", low=0.0)

    arrays: ClassVar[tuple] = (("dim", "out_dim"), ("dim", "width"), ("width", "width", "depth"), ("width", "out_dim"))
    example: ClassVar[tuple] = ("dim",)

    @classmethod
    def check(cls, values) -> None:
        limit = min(values["dim"], values["out_dim"])
        if values["target_rank"] > limit:
            raise SpecError("problem.target_rank", values["target_rank"], f"at most min(dim, out_dim) = {limit}")

    # ---- the teacher ---------------------------------------------------------------------------
    @property
    def singular_values(self) -> jax.Array:
        index = jnp.arange(1, self.target_rank + 1, dtype=jnp.result_type(float))
        return index ** (-jnp.asarray(self.alpha, index.dtype))

    @property
    def teacher_frames(self) -> tuple[jax.Array, jax.Array]:
        u, v = orthonormal_frames(self.dim, self.out_dim, self.target_rank, self.teacher_seed)
        dtype = jnp.result_type(float)
        return jnp.asarray(u, dtype), jnp.asarray(v, dtype)

    @property
    def teacher(self) -> jax.Array:
        u, v = self.teacher_frames
        return (u * self.singular_values) @ v.T

    # ---- the model -----------------------------------------------------------------------------
    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.dim,) + (self.width,) * (self.depth - 1) + (self.out_dim,)

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        sizes = self.layer_sizes
        keys = jax.random.split(key, self.depth)
        return {
            f"w{i}": self.init_scale / jnp.sqrt(a) * jax.random.normal(k, (a, b), dtype)
            for i, (k, a, b) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True), start=1)
        }

    def end_to_end(self, params: dict[str, jax.Array]) -> jax.Array:
        """P = W1 W2 ⋯ WL, shape (d, m)."""
        out = params["w1"]
        for i in range(2, self.depth + 1):
            out = out @ params[f"w{i}"]
        return out

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Pᵀx for inputs ``x`` of shape (…, d) (batch key ``"x"``)."""
        h = x
        for i in range(1, self.depth + 1):
            h = h @ params[f"w{i}"]
        return h

    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return 0.5 * jnp.sum((self.predict(params, example["x"]) - example["y"]) ** 2)

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        return 0.5 * jnp.mean(jnp.sum((self.predict(params, batch["x"]) - batch["y"]) ** 2, axis=-1))

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        k_x, k_e = jax.random.split(key)
        dtype = jnp.result_type(float)
        x = jax.random.normal(k_x, (batch_size, self.dim), dtype)
        y = x @ self.teacher + self.noise * jax.random.normal(k_e, (batch_size, self.out_dim), dtype)
        return {"x": x, "y": y}

    # ---- what is known -------------------------------------------------------------------------
    def population_risk(self, params: dict[str, jax.Array]) -> jax.Array:
        error = self.end_to_end(params) - self.teacher
        return 0.5 * jnp.sum(error**2) + 0.5 * self.out_dim * self.noise**2

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        risk = self.population_risk(params)
        out = {"population_risk": risk, "excess_risk": risk - 0.5 * self.out_dim * self.noise**2}
        u, v = self.teacher_frames
        product = self.end_to_end(params)
        for i in range(min(N_MODES, self.target_rank)):
            out[f"mode_{i + 1}"] = u[:, i] @ product @ v[:, i]
        return out

    @property
    def f_star(self) -> jax.Array:
        reachable = min(self.dim, self.out_dim) if self.depth == 1 else min(self.width, self.dim, self.out_dim)
        tail = jnp.sum(self.singular_values[reachable:] ** 2)
        return 0.5 * self.out_dim * jnp.asarray(self.noise) ** 2 + 0.5 * tail
