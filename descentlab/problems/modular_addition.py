r"""Modular addition :math:`(a + b) \bmod p` — the grokking problem.

All :math:`p^2` pairs :math:`(a, b)` are split once (``split_seed``) into a training set holding a fraction
``train_fraction`` of them and a test set with the rest. Two models, both with cross-entropy (or MSE on the
one-hot label, see :mod:`descentlab.problems._digits`) over the :math:`p` residues:

* ``mlp`` — a shared embedding :math:`E\in\mathbb R^{p\times d}`, the concatenation
  :math:`[E_a, E_b]\in\mathbb R^{2d}`, one hidden layer of ``width`` units with activation
  :math:`\phi` (ReLU, tanh or quadratic :math:`z^2` as in Gromov's solvable model) and a linear read-out
  :math:`W_2\in\mathbb R^{\text{width}\times p}`;
* ``transformer`` — tokens ``[a, b, =]`` (vocabulary p + 1) with learned token and position embeddings,
  one multi-head softmax attention layer and one ReLU MLP block, both residual, no layer norm, the
  logits read from the last position through :math:`W_U\in\mathbb R^{d\times p}` (the one-layer
  transformer of Nanda et al.).

Initialization: embeddings :math:`\mathcal N(0, s^2)`, weight matrices :math:`\mathcal N(0, s^2/\text{fan-in})`,
biases 0, :math:`s` = ``init_scale`` (a larger scale delays generalization, Liu et al. "Omnigrok").
Weight decay, which drives grokking, belongs to the optimizer (``adamw``). Metrics: train and test loss
and accuracy, the parameter norm, and the embedding's Fourier concentration, a feature-learning order
parameter (the generalizing solution represents each residue by a few Fourier modes, Nanda et al.): with
:math:`\hat E_k=\sum_{a<p}e^{-2\pi i ka/p}E_a` the discrete Fourier transform of the residues' embeddings and
:math:`P_k=\lVert\hat E_k\rVert^2+\lVert\hat E_{p-k}\rVert^2` the power of frequency
:math:`1\le k\le\lfloor p/2\rfloor` (counted once for k = p/2), ``fourier_concentration`` is the share of the
non-constant power :math:`\sum_kP_k` held by the ``fourier_top_k`` largest :math:`P_k` — near
``fourier_top_k``/⌊p/2⌋ for a random embedding, near 1 once a few frequencies carry the representation.
Batches ``{"x": (b, 2) integer pairs, "y": (b,)}``;
``predict(params, x)`` gives the p logits.

References: Power, Burda, Edwards, Babuschkin, Misra, *Grokking: Generalization Beyond Overfitting on Small
Algorithmic Datasets* (2201.02177); Nanda, Chan, Lieberum, Smith, Steinhardt, *Progress measures for grokking
via mechanistic interpretability* (2301.05217); Gromov, *Grokking modular arithmetic* (2301.02679);
Liu, Michaud, Tegmark, *Omnigrok: Grokking Beyond Algorithmic Data* (2210.01117).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import SpecError
from descentlab.problems._digits import LOSSES, accuracy, classification_loss
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

MODELS = ("mlp", "transformer")
ACTIVATIONS = ("relu", "tanh", "quadratic")


@functools.lru_cache(maxsize=16)
def modular_split(p: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train (n, 2), y_train, x_test, y_test) over all p² pairs, y = (a + b) mod p."""
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.int32)
    labels = ((pairs[:, 0] + pairs[:, 1]) % p).astype(np.int32)
    order = np.random.default_rng(seed).permutation(p * p)
    n_train = min(max(1, round(fraction * p * p)), p * p)
    train, test = order[:n_train], order[n_train:]
    return pairs[train], labels[train], pairs[test], labels[test]


def fourier_concentration(embed: jax.Array, top_k: int) -> jax.Array:
    """Share of the non-constant power of ``embed`` (p, d) over the residue axis held by its ``top_k`` strongest
    frequencies; frequency k and p − k count as one (power ‖Ê_k‖² + ‖Ê_{p−k}‖²), the constant k = 0 is left out."""
    p = embed.shape[0]
    power = jnp.sum(jnp.abs(jnp.fft.rfft(embed, axis=0)) ** 2, axis=1)[1:]
    power = power * jnp.where(2 * jnp.arange(1, power.shape[0] + 1) == p, 1.0, 2.0)  # both of k, p − k
    top = jax.lax.top_k(power, min(top_k, power.shape[0]))[0]
    return jnp.sum(top) / jnp.sum(power)


def _activation(name: str):
    return {"relu": jax.nn.relu, "tanh": jnp.tanh, "quadratic": jnp.square}[name]


@register_problem("modular_addition")
@dataclasses.dataclass(frozen=True)
class ModularAddition(Problem):
    """(a + b) mod p with an embedding MLP or a one-layer transformer; train/test accuracy (grokking)."""

    summary = "(a + b) mod p with an embedding MLP or one-layer transformer; train/test accuracy (grokking)."
    references = (
        "Power, Burda, Edwards, Babuschkin, Misra. Grokking: Generalization Beyond Overfitting on Small Algorithmic "
        "Datasets (2201.02177)",
        "Nanda, Chan, Lieberum, Smith, Steinhardt. Progress measures for grokking via mechanistic interpretability "
        "(2301.05217)",
        "Gromov. Grokking modular arithmetic (2301.02679)",
        "Liu, Michaud, Tegmark. Omnigrok: Grokking Beyond Algorithmic Data (2210.01117)",
    )
    is_stream = False
    monitor = "train_loss"
    tiny: ClassVar[dict] = {"modulus": 7, "embed_dim": 4, "width": 8, "train_fraction": 0.5}

    modulus: int = static(97, "p: the modulus", low=2, high=2_000)
    model: str = static("mlp", "embedding MLP or one-layer transformer", choices=MODELS)
    embed_dim: int = static(32, "d: embedding (and residual) dimension", low=1, high=100_000)
    width: int = static(128, "hidden units of the MLP (block)", low=1, high=100_000)
    heads: int = static(4, "transformer: attention heads (must divide embed_dim)", low=1)
    activation: str = static("relu", "MLP activation", choices=ACTIVATIONS)
    loss_type: str = static("cross_entropy", "cross_entropy or mse on one-hot labels", choices=LOSSES)
    train_fraction: float = static(
        0.3, "fraction of the p² pairs in the training set", low=0.0, high=1.0, low_open=True
    )
    split_seed: int = static(0, "seed of the train/test split", low=0)
    fourier_top_k: int = static(
        3, "frequencies counted by the fourier_concentration metric (top-k power share)", low=1, high=100_000
    )
    init_scale: float = hyper(1.0, "embeddings ~ N(0, s²), weights ~ N(0, s²/fan_in)", low=0.0)

    arrays: ClassVar[tuple] = (
        ("modulus", "modulus", 3),
        ("modulus", "embed_dim"),
        ("embed_dim", "width", 2),
        ("width", "modulus"),
        ("embed_dim", "embed_dim", 4),
    )

    @classmethod
    def check(cls, values) -> None:
        if values["model"] == "transformer" and values["embed_dim"] % values["heads"]:
            raise SpecError(
                "problem.heads", values["heads"], f"a divisor of embed_dim = {values['embed_dim']} (transformer)"
            )

    # ---- data ----------------------------------------------------------------------------------
    def _arrays(self, part: str) -> dict[str, jax.Array]:
        x_tr, y_tr, x_te, y_te = modular_split(self.modulus, self.train_fraction, self.split_seed)
        x, y = (x_tr, y_tr) if part == "train" else (x_te, y_te)
        return {"x": jnp.asarray(x), "y": jnp.asarray(y)}

    def dataset(self) -> dict[str, jax.Array]:
        return self._arrays("train")

    def test_set(self) -> dict[str, jax.Array]:
        return self._arrays("test")

    # ---- models --------------------------------------------------------------------------------
    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        p, d, w, s = self.modulus, self.embed_dim, self.width, self.init_scale
        if self.model == "mlp":
            shapes = {"embed": (p, d), "w1": (2 * d, w), "w2": (w, p)}
        else:
            shapes = {
                "embed": (p + 1, d),
                "pos": (3, d),
                "wq": (d, d),
                "wk": (d, d),
                "wv": (d, d),
                "wo": (d, d),
                "w_in": (d, w),
                "w_out": (w, d),
                "unembed": (d, p),
            }
        keys = jax.random.split(key, len(shapes))
        params = {}
        for k, (name, shape) in zip(keys, shapes.items(), strict=True):
            std = s if name in ("embed", "pos") else s / jnp.sqrt(shape[0])
            params[name] = std * jax.random.normal(k, shape, dtype)
        if self.model == "mlp":
            params["b1"] = jnp.zeros((w,), dtype)
        else:
            params["b_in"] = jnp.zeros((w,), dtype)
        return params

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Logits (…, p) for integer pairs ``x`` of shape (…, 2) (batch key ``"x"``)."""
        if self.model == "mlp":
            return self._mlp(params, x)
        return self._transformer(params, x)

    def _mlp(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        e = params["embed"][x]  # (..., 2, d)
        h = e.reshape((*x.shape[:-1], 2 * self.embed_dim)) @ params["w1"] + params["b1"]
        return _activation(self.activation)(h) @ params["w2"]

    def _transformer(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        lead = x.shape[:-1]
        equals = jnp.full((*lead, 1), self.modulus, dtype=x.dtype)
        tokens = jnp.concatenate([x, equals], axis=-1)  # (..., 3)
        h = params["embed"][tokens] + params["pos"]  # (..., 3, d)
        n_heads, d_head = self.heads, self.embed_dim // self.heads

        def split(z):
            return z.reshape((*z.shape[:-1], n_heads, d_head))

        q, k, v = split(h @ params["wq"]), split(h @ params["wk"]), split(h @ params["wv"])
        scores = jnp.einsum("...qhc,...khc->...hqk", q, k) / jnp.sqrt(d_head)
        causal = jnp.tril(jnp.ones((3, 3), dtype=bool))
        scores = jnp.where(causal, scores, -jnp.inf)
        attention = jax.nn.softmax(scores, axis=-1)
        mixed = jnp.einsum("...hqk,...khc->...qhc", attention, v).reshape(h.shape)
        h = h + mixed @ params["wo"]
        h = h + _activation(self.activation)(h @ params["w_in"] + params["b_in"]) @ params["w_out"]
        return h[..., -1, :] @ params["unembed"]

    # ---- objective and metrics -------------------------------------------------------------------
    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return classification_loss(self.loss_type, self.predict(params, example["x"]), example["y"])

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        return jnp.mean(classification_loss(self.loss_type, self.predict(params, batch["x"]), batch["y"]))

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        out = {}
        for part, data in (("train", self.dataset()), ("test", self.test_set())):
            if data["y"].shape[0] == 0:
                continue
            logits = self.predict(params, data["x"])
            out[f"{part}_loss"] = jnp.mean(classification_loss(self.loss_type, logits, data["y"]))
            out[f"{part}_accuracy"] = accuracy(logits, data["y"])
        out["param_norm"] = jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(params)))
        out["fourier_concentration"] = fourier_concentration(params["embed"][: self.modulus], self.fourier_top_k)
        return out
