r"""Teacher–student two-layer networks (soft committee machines), the classic model of online SGD.

Data (a stream): :math:`x\sim\mathcal N(0, I_N)`; teacher
:math:`y = \sum_{m=1}^{M} v^\star_m\, g(w^{\star\top}_m x/\sqrt N) + \sigma\varepsilon` with
:math:`v^\star_m = 1` and teacher weights of orthogonal rows, :math:`T = W^\star W^{\star\top}/N = I_M`
(seed ``teacher_seed``); student :math:`\hat y = \sum_{k=1}^{K} v_k\, g(w_k^\top x/\sqrt N)` with
``student_width`` K, second layer fixed at 1 (``train_second_layer = false``, a committee machine)
or trained. Loss :math:`\tfrac12(\hat y - y)^2`. Activations: ``erf`` :math:`g(z)=\mathrm{erf}(z/\sqrt2)`
(Saad & Solla's choice), ``relu``, ``tanh``, ``linear``.

Order parameters: :math:`Q = WW^\top/N` (K×K), :math:`M = WW^{\star\top}/N` (K×M; called R by Saad &
Solla and Goldt et al.), :math:`T` (fixed). The generalization error depends on them only,

.. math:: \epsilon_g = \tfrac12\Big[\sum_{kl} v_kv_l\,I(Q_{kk},Q_{ll},Q_{kl})
          - 2\sum_{km} v_kv^\star_m\,I(Q_{kk},T_{mm},M_{km})
          + \sum_{mn}v^\star_mv^\star_n\,I(T_{mm},T_{nn},T_{mn})\Big],

with :math:`I(a,b,c) = \mathbb E[g(u)g(v)]` for :math:`(u,v)` centred Gaussian with variances a, b and
covariance c: :math:`\tfrac2\pi\arcsin\frac{c}{\sqrt{(1+a)(1+b)}}` for erf,
:math:`\tfrac{\sqrt{ab}}{2\pi}(\sin\phi+(\pi-\phi)\cos\phi)`, :math:`\cos\phi=c/\sqrt{ab}` for relu (the
arc-cosine kernel), c for linear, and 2-d Gauss–Hermite quadrature (48² nodes) for tanh. The
population risk is :math:`\epsilon_g + \sigma^2/2`, minimized (:math:`f^\star=\sigma^2/2`) by the teacher
when K ≥ M.

Student init: :math:`w_k\sim\mathcal N(0, s^2 I_N)` (``init_scale`` s, so :math:`Q\approx s^2I`), :math:`v_k=1`.
Online SGD needs step sizes :math:`\eta/N`.

References: Saad, Solla, *On-line learning in soft committee machines* (Phys. Rev. E 1995); Biehl,
Schwarze, *Learning by on-line gradient descent* (1995); Goldt, Advani, Saxe, Krzakala, Zdeborová,
*Dynamics of stochastic gradient descent for two-layer neural networks in the teacher-student setup*
(1906.08632).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import SpecError
from descentlab.problems._index import gaussian_expectation
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

ACTIVATIONS = {
    "erf": lambda z: jax.scipy.special.erf(z / jnp.sqrt(2.0)),
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "linear": lambda z: z,
}


@functools.lru_cache(maxsize=8)
def orthogonal_teacher(width: int, dim: int, seed: int) -> np.ndarray:
    """(width, dim) rows orthogonal with squared norm dim, so W*W*ᵀ/dim = I."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, width)))
    return np.sqrt(dim) * (q * np.sign(np.diag(r))).T


def pair_correlation(activation: str, a: jax.Array, b: jax.Array, c: jax.Array) -> jax.Array:
    """E[g(u) g(v)] for (u, v) centred Gaussian, Var u = a, Var v = b, Cov = c (broadcasting)."""
    if activation == "erf":
        return 2.0 / jnp.pi * jnp.arcsin(c / jnp.sqrt((1.0 + a) * (1.0 + b)))
    if activation == "linear":
        return c
    if activation == "relu":
        norm = jnp.sqrt(a * b)
        cos = jnp.clip(c / jnp.where(norm > 0, norm, 1.0), -1.0, 1.0)
        phi = jnp.arccos(cos)
        return norm / (2.0 * jnp.pi) * (jnp.sqrt(1.0 - cos**2) + (jnp.pi - phi) * cos)
    g = ACTIVATIONS[activation]

    def one(a, b, c):
        cov = jnp.stack([jnp.stack([a, c]), jnp.stack([c, b])])
        return gaussian_expectation(lambda z: g(z[..., 0]) * g(z[..., 1]), cov, 48)

    a, b, c = jnp.broadcast_arrays(a, b, c)
    return jax.vmap(one)(a.ravel(), b.ravel(), c.ravel()).reshape(a.shape)


@register_problem("committee")
@dataclasses.dataclass(frozen=True)
class Committee(Problem):
    """Teacher–student soft committee machine; overlaps Q, M, T and the exact generalization error."""

    summary = "Teacher–student two-layer network (soft committee), erf/relu/tanh; overlaps Q, M, T; exact ε_g."
    references = (
        "Saad, Solla. On-line learning in soft committee machines (1995)",
        "Biehl, Schwarze. Learning by on-line gradient descent (1995)",
        "Goldt, Advani, Saxe, Krzakala, Zdeborová. Dynamics of SGD for two-layer networks (1906.08632)",
    )
    is_stream = True
    monitor = "generalization_error"
    tiny: ClassVar[dict] = {
        "dim": 6,
        "student_width": 3,
        "teacher_width": 2,
        "activation": "erf",
        "train_second_layer": True,
        "noise": 0.1,
    }

    dim: int = static(500, "input dimension N", low=1, high=1_000_000)
    student_width: int = static(2, "student hidden units K", low=1, high=10_000)
    teacher_width: int = static(2, "teacher hidden units M", low=1, high=10_000)
    activation: str = static("erf", "activation g", choices=tuple(ACTIVATIONS))
    train_second_layer: bool = static(False, "train v (false: committee machine, v = 1)")
    teacher_seed: int = static(0, "seed of the teacher weights", low=0)
    noise: float = hyper(0.0, "label noise σ", low=0.0)
    init_scale: float = hyper(1.0, "student w_k ~ N(0, s² I)", low=0.0)

    arrays: ClassVar[tuple] = (("dim", "teacher_width"), ("dim", "student_width"))
    example: ClassVar[tuple] = ("dim",)

    @classmethod
    def check(cls, values) -> None:
        if values["teacher_width"] > values["dim"]:
            raise SpecError("problem.teacher_width", values["teacher_width"], f"at most dim = {values['dim']}")

    @property
    def teacher_weights(self) -> jax.Array:
        return jnp.asarray(orthogonal_teacher(self.teacher_width, self.dim, self.teacher_seed), jnp.result_type(float))

    def _g(self, z: jax.Array) -> jax.Array:
        return ACTIVATIONS[self.activation](z)

    def _second_layer(self, params: dict) -> jax.Array:
        return params["v"] if self.train_second_layer else jnp.ones((self.student_width,), params["w"].dtype)

    def init(self, key: jax.Array) -> dict:
        dtype = jnp.result_type(float)
        w = self.init_scale * jax.random.normal(key, (self.student_width, self.dim), dtype)
        params = {"w": w}
        if self.train_second_layer:
            params["v"] = jnp.ones((self.student_width,), dtype)
        return params

    def predict(self, params: dict, x: jax.Array) -> jax.Array:
        return self._g(x @ params["w"].T / jnp.sqrt(self.dim)) @ self._second_layer(params)

    def example_loss(self, params: dict, example: dict) -> jax.Array:
        return 0.5 * (self.predict(params, example["x"]) - example["y"]) ** 2

    def loss(self, params: dict, batch: dict) -> jax.Array:
        return 0.5 * jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        k_x, k_e = jax.random.split(key)
        dtype = jnp.result_type(float)
        x = jax.random.normal(k_x, (batch_size, self.dim), dtype)
        teacher = jnp.sum(self._g(x @ self.teacher_weights.T / jnp.sqrt(self.dim)), axis=-1)
        return {"x": x, "y": teacher + self.noise * jax.random.normal(k_e, (batch_size,), dtype)}

    def order_parameters(self, params: dict) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(Q, M, T) = (WWᵀ/N, WW*ᵀ/N, W*W*ᵀ/N)."""
        w, ws = params["w"], self.teacher_weights
        return w @ w.T / self.dim, w @ ws.T / self.dim, ws @ ws.T / self.dim

    def generalization_error(self, params: dict) -> jax.Array:
        q, m, t = self.order_parameters(params)
        v = self._second_layer(params)
        vs = jnp.ones((self.teacher_width,), q.dtype)
        dq, dt = jnp.diag(q), jnp.diag(t)
        i = functools.partial(pair_correlation, self.activation)
        student = v @ i(dq[:, None], dq[None, :], q) @ v
        cross = v @ i(dq[:, None], dt[None, :], m) @ vs
        teacher = vs @ i(dt[:, None], dt[None, :], t) @ vs
        return 0.5 * (student - 2.0 * cross + teacher)

    def metrics(self, params: dict) -> dict[str, jax.Array]:
        eg = self.generalization_error(params)
        out = {"generalization_error": eg, "population_risk": eg + 0.5 * self.noise**2}
        q, m, _ = self.order_parameters(params)
        for k in range(self.student_width):
            for l in range(k, self.student_width):
                out[f"Q_{k}{l}"] = q[k, l]
            for n in range(self.teacher_width):
                out[f"M_{k}{n}"] = m[k, n]
        if self.train_second_layer:
            for k in range(self.student_width):
                out[f"v_{k}"] = params["v"][k]
        return out

    @property
    def f_star(self) -> jax.Array:
        return 0.5 * jnp.asarray(self.noise, jnp.result_type(float)) ** 2
