r"""Even pairs and parity of binary strings with a one-layer transformer (attention + linear head).

Data (a stream): strings :math:`s\in\{0,1\}^L` uniform; label :math:`y\in\{\pm1\}`:

* ``even_pairs``: +1 when the number of adjacent unequal pairs (``ab`` and ``ba`` substrings) is even,
  which holds exactly when :math:`s_1 = s_L`;
* ``parity``: +1 when the number of ones is even.

Model: token and position embeddings :math:`h_\ell = E_{s_\ell} + P_\ell\in\mathbb R^d`, one softmax
attention head queried from the last position, a residual connection and a linear head,

.. math:: a = \operatorname{softmax}_\ell\Big(\tfrac{(h_L W_Q)(h_\ell W_K)^\top}{\sqrt d}\Big),\quad
          z = h_L + \sum_\ell a_\ell\, h_\ell W_V,\quad f(s) = \langle w, z\rangle,

logistic loss :math:`\log(1 + e^{-y f(s)})`. Even pairs is learnable by this model (the score couples
:math:`s_L` with :math:`s_1`); parity is not expected to be without chain-of-thought (the paper's contrast).
With ``seq_len`` ≤ 16 every metric is exact: loss and accuracy averaged over all :math:`2^L` strings
(the population). Initialization: embeddings :math:`\mathcal N(0, s^2)`, matrices and head
:math:`\mathcal N(0, s^2/d)`. Parameters ``{"embed", "pos", "wq", "wk", "wv", "head"}``. Batches
``{"x": (b, L) integer tokens, "y": (b,) ±1}``; ``predict(params, x)`` gives f(s).

References: *How Transformers Learn Regular Language Recognition: A Theoretical Study on Training Dynamics
and Implicit Bias* (2505.00926); Hahn, *Theoretical Limitations of Self-Attention in Neural Sequence Models*
(1906.06755); Bhattamishra, Ahuja, Goyal, *On the Ability and Limitations of Transformers to Recognize
Formal Languages* (2009.11264).
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

TASKS = ("even_pairs", "parity")


def labels(task: str, strings: jax.Array) -> jax.Array:
    """±1 labels of integer strings (…, L) with entries in {0, 1}."""
    if task == "even_pairs":
        count = jnp.sum(strings[..., 1:] != strings[..., :-1], axis=-1)
    elif task == "parity":
        count = jnp.sum(strings, axis=-1)
    else:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(TASKS)}")
    return jnp.where(count % 2 == 0, 1, -1)


@functools.lru_cache(maxsize=8)
def all_strings(length: int) -> np.ndarray:
    """Every binary string of the given length, shape (2^L, L)."""
    codes = np.arange(2**length)[:, None]
    return ((codes >> np.arange(length)[::-1]) & 1).astype(np.int32)


@register_problem("regular_language")
@dataclasses.dataclass(frozen=True)
class RegularLanguage(Problem):
    """Even pairs / parity with a one-layer transformer; exact population loss and accuracy."""

    summary = "Even pairs or parity of binary strings with a one-layer transformer; exact population accuracy."
    references = (
        "How Transformers Learn Regular Language Recognition: A Theoretical Study on Training Dynamics and Implicit "
        "Bias (2505.00926)",
        "Hahn. Theoretical Limitations of Self-Attention in Neural Sequence Models (1906.06755)",
        "Bhattamishra, Ahuja, Goyal. On the Ability and Limitations of Transformers to Recognize Formal Languages "
        "(2009.11264)",
    )
    is_stream = True
    monitor = "population_loss"
    tiny: ClassVar[dict] = {"seq_len": 4, "dim": 4}
    arrays: ClassVar[tuple] = (("dim", "dim", 3),)

    task: str = static("even_pairs", "even_pairs (s_1 = s_L) or parity", choices=TASKS)
    seq_len: int = static(8, "L: string length (exact metrics over all 2^L strings)", low=2, high=16)
    dim: int = static(16, "d: embedding dimension", low=1, high=100_000)
    init_scale: float = hyper(1.0, "embeddings ~ N(0, s²), matrices ~ N(0, s²/d)", low=0.0)

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        d, s = self.dim, self.init_scale
        shapes = {"embed": (2, d), "pos": (self.seq_len, d), "wq": (d, d), "wk": (d, d), "wv": (d, d), "head": (d,)}
        keys = jax.random.split(key, len(shapes))
        return {
            name: (s if name in ("embed", "pos") else s / jnp.sqrt(d)) * jax.random.normal(k, shape, dtype)
            for k, (name, shape) in zip(keys, shapes.items(), strict=True)
        }

    def attention(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Weights (…, L) of the last position's query over all positions."""
        h = params["embed"][x] + params["pos"]
        query = h[..., -1, :] @ params["wq"]
        scores = jnp.einsum("...d,...ld->...l", query, h @ params["wk"]) / jnp.sqrt(self.dim)
        return jax.nn.softmax(scores, axis=-1)

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """f(s) for integer strings ``x`` of shape (…, L) (batch key ``"x"``)."""
        x = jnp.asarray(x)
        h = params["embed"][x] + params["pos"]
        mixed = jnp.einsum("...l,...ld->...d", self.attention(params, x), h @ params["wv"])
        return (h[..., -1, :] + mixed) @ params["head"]

    def _losses(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        margin = batch["y"] * self.predict(params, batch["x"])
        return jax.nn.softplus(-margin)

    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return self._losses(params, example)

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        return jnp.mean(self._losses(params, batch))

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        x = jax.random.bernoulli(key, 0.5, (batch_size, self.seq_len)).astype(jnp.int32)
        return {"x": x, "y": labels(self.task, x).astype(jnp.result_type(float))}

    def population(self) -> dict[str, jax.Array]:
        """All 2^L strings with their labels (each has probability 2^-L)."""
        x = jnp.asarray(all_strings(self.seq_len))
        return {"x": x, "y": labels(self.task, x).astype(jnp.result_type(float))}

    def eval_batch(self, key: jax.Array) -> dict:
        return self.population()

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        data = self.population()
        outputs = self.predict(params, data["x"])
        return {
            "population_loss": jnp.mean(jax.nn.softplus(-data["y"] * outputs)),
            "population_accuracy": jnp.mean((jnp.sign(outputs) == data["y"]).astype(outputs.dtype)),
        }
