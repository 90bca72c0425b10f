r"""Even pairs and parity of binary strings with a one-layer transformer (attention + linear head).

Data (a stream): strings :math:`s\in\{0,1\}^L` uniform; label :math:`y\in\{\pm1\}`:

* ``even_pairs``: +1 when the number of adjacent unequal pairs (``ab`` and ``ba`` substrings) is even,
  which holds exactly when :math:`s_1 = s_L`;
* ``parity``: +1 when the number of ones is even;
* ``parity_cot``: parity with (truncated) chain-of-thought. The chain is the running parity
  :math:`c_k = c_{k-1}\oplus s_k` (:math:`c_0 = 0`, :math:`c_L` the parity label), and each step is one
  even-pairs decision on the two tokens :math:`(c_{k-1}, s_k)`: the model reads that 2-token sequence
  and predicts :math:`+1` when :math:`c_k = 0` (the two tokens are equal). One example is a string and a
  step :math:`k\in\{1,\dots,L\}` with the true previous state (teacher forcing).

Model: token and position embeddings :math:`h_\ell = E_{s_\ell} + P_\ell\in\mathbb R^d`, one softmax
attention head queried from the last position, a residual connection and a linear head,

.. math:: a = \operatorname{softmax}_\ell\Big(\tfrac{(h_L W_Q)(h_\ell W_K)^\top}{\sqrt d}\Big),\quad
          z = h_L + \sum_\ell a_\ell\, h_\ell W_V,\quad f(s) = \langle w, z\rangle,

logistic loss :math:`\log(1 + e^{-y f(s)})`. Even pairs is learnable by this model (the score couples
:math:`s_L` with :math:`s_1`); parity is not expected to be without chain-of-thought (the paper's contrast).
With ``seq_len`` ≤ 16 every metric is exact: loss and accuracy averaged over all :math:`2^L` strings
(the population; for ``parity_cot`` every string at every step, and ``population_accuracy`` is the
share of strings whose *generated* chain — each step's sign fed back as the next state — ends at the
right parity, ``step_accuracy`` the teacher-forced share of correct steps). Also recorded: the norms of the
linear head :math:`\|w\|` (``head_norm``) and of the attention's score matrix
:math:`\|W_QW_K^\top\|_F/\sqrt d` (``attention_norm``). ``frozen`` names parameters held at their
initial values (their gradients stopped: e.g. ``"embed,pos,wv"`` trains attention and head only, as in
the paper's model; adding ``wq,wk`` freezes the attention scores). ``full_population``: every batch is
the whole population (``sample`` ignores the batch size), so a stream run is full-batch GD on the exact
population loss, the paper's setting. ``architecture="paper"``: the paper's model — fixed one-hot
(token, position) embeddings :math:`h_\ell = e_{2\ell + s_\ell}` (``dim`` ≥ 2L), scores
:math:`h_\ell^\top W h_n` with W in ``wq``, :math:`f = \sum_\ell a_\ell \langle u, h_\ell\rangle` (no value
matrix, no residual; ``embed``, ``pos``, ``wk``, ``wv`` unused); ``attention_norm`` is then :math:`\|W\|_F`.
``variable_length``: strings of every length n = 1 … L, each length equally likely, zero-padded (batch key
``"length"``; the query is the last real token; the population carries each string's probability in
``"weight"``); with ``even_pairs`` it adds ``cot_parity_accuracy``: the share of length-L strings whose parity the
model gets by chain-of-thought inference (``generate``).
Initialization: embeddings :math:`\mathcal N(0, s^2)`, matrices and head
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

from descentlab.params import SpecError
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

TASKS = ("even_pairs", "parity", "parity_cot")
ARCHITECTURES = ("qkv", "paper")
PARAMETERS = ("embed", "pos", "wq", "wk", "wv", "head")


def labels(task: str, strings: jax.Array) -> jax.Array:
    """±1 labels of integer strings (…, L) with entries in {0, 1} (``parity_cot``: the final parity)."""
    if task == "even_pairs":
        count = jnp.sum(strings[..., 1:] != strings[..., :-1], axis=-1)
    elif task in ("parity", "parity_cot"):
        count = jnp.sum(strings, axis=-1)
    else:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(TASKS)}")
    return jnp.where(count % 2 == 0, 1, -1)


def cot_examples(strings: jax.Array, steps: jax.Array) -> dict[str, jax.Array]:
    """Teacher-forced CoT examples for steps ``k`` in 1 … L: the 2-token inputs (c_{k−1}, s_k) (…, 2) and the ±1
    labels (+1 when the running parity c_k of the first k bits is even)."""
    running = jnp.cumsum(strings, axis=-1) % 2
    previous = jnp.concatenate([jnp.zeros_like(running[..., :1]), running[..., :-1]], axis=-1)
    pick = (steps - 1)[..., None]
    state = jnp.take_along_axis(previous, pick, axis=-1)
    token = jnp.take_along_axis(strings, pick, axis=-1)
    bit = jnp.take_along_axis(running, pick, axis=-1)[..., 0]
    return {"x": jnp.concatenate([state, token], axis=-1), "y": 1 - 2 * bit}


def frozen_names(frozen: str) -> tuple[str, ...]:
    """The parameter names in a comma-separated ``frozen`` option (empty string: none)."""
    return tuple(name.strip() for name in frozen.split(",") if name.strip())


def padded_labels(task: str, x: jax.Array, length: jax.Array) -> jax.Array:
    """Float ±1 labels of strings (…, L) padded beyond their real lengths (…,) (``even_pairs``: s_1 = s_n;
    ``parity``: an even number of ones among the real tokens, the padding being 0)."""
    if task == "even_pairs":
        last = jnp.take_along_axis(x, jnp.asarray(length)[..., None] - 1, axis=-1)[..., 0]
        count = (x[..., 0] != last).astype(jnp.int32)
    elif task == "parity":
        count = jnp.sum(x, axis=-1)
    else:
        raise ValueError(f"variable lengths support even_pairs and parity, not {task!r}")
    return jnp.where(count % 2 == 0, 1.0, -1.0).astype(jnp.result_type(float))


@functools.lru_cache(maxsize=8)
def variable_strings(length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every binary string of every length n = 1 … L, zero-padded to L: (strings (N, L), lengths (N,), probabilities
    (N,) = 1/(L·2^n), each length equally likely)."""
    blocks = [np.pad(all_strings(n), ((0, 0), (0, length - n))) for n in range(1, length + 1)]
    lengths = np.concatenate([np.full(2**n, n) for n in range(1, length + 1)]).astype(np.int32)
    return np.concatenate(blocks).astype(np.int32), lengths, 1.0 / (length * 2.0**lengths)


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

    task: str = static(
        "even_pairs", "even_pairs (s_1 = s_L), parity, or parity_cot (parity with chain-of-thought)", choices=TASKS
    )
    seq_len: int = static(8, "L: string length (exact metrics over all 2^L strings)", low=2, high=16)
    dim: int = static(16, "d: embedding dimension", low=1, high=100_000)
    init_scale: float = hyper(1.0, "embeddings ~ N(0, s²), matrices ~ N(0, s²/d)", low=0.0)
    frozen: str = static("", "parameters held at init, comma-separated (of embed, pos, wq, wk, wv, head)")
    full_population: bool = static(False, "every batch is the whole population (full-batch GD)")
    architecture: str = static(
        "qkv",
        "qkv (learned embeddings, W_Q, W_K, W_V, residual) or paper (fixed one-hot (token, position) embeddings, "
        "one attention matrix W in wq, f = sum_l a_l <u, h_l>; needs dim >= 2L)",
        choices=ARCHITECTURES,
    )
    variable_length: bool = static(False, "strings of every length 1..L, each length equally likely (padded)")

    @classmethod
    def check(cls, values) -> None:
        unknown = [name for name in frozen_names(values.get("frozen", "")) if name not in PARAMETERS]
        if unknown:
            raise SpecError("problem.frozen", values["frozen"], "comma-separated names of " + ", ".join(PARAMETERS))
        if values.get("variable_length", False) and values.get("task", "even_pairs") == "parity_cot":
            raise SpecError("problem.variable_length", True, "False with task parity_cot (its steps have 2 tokens)")
        if values.get("architecture", "qkv") == "paper":
            positions = 2 if values.get("task", "even_pairs") == "parity_cot" else values.get("seq_len", 8)
            if values.get("dim", 16) < 2 * positions:
                raise SpecError("problem.dim", values.get("dim", 16), f">= {2 * positions} (one-hot token x position)")

    @property
    def positions(self) -> int:
        """Sequence length the model reads: L, or 2 with chain-of-thought (previous state, next bit)."""
        return 2 if self.task == "parity_cot" else self.seq_len

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        d, s = self.dim, self.init_scale
        shapes = {"embed": (2, d), "pos": (self.positions, d), "wq": (d, d), "wk": (d, d), "wv": (d, d), "head": (d,)}
        keys = jax.random.split(key, len(shapes))
        return {
            name: (s if name in ("embed", "pos") else s / jnp.sqrt(d)) * jax.random.normal(k, shape, dtype)
            for k, (name, shape) in zip(keys, shapes.items(), strict=True)
        }

    def embed(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Token + position vectors h_l (…, n, d) of integer sequences (…, n); ``paper``: the one-hot vector of
        (token, position), index 2l + s_l."""
        n = x.shape[-1]
        if self.architecture == "paper":
            return jax.nn.one_hot(2 * jnp.arange(n) + x, self.dim, dtype=jnp.result_type(float))
        return params["embed"][x] + params["pos"][:n]

    def attention(self, params: dict[str, jax.Array], x: jax.Array, length: jax.Array | None = None) -> jax.Array:
        """Weights (…, n) of the last (real) position's query over the (real) positions."""
        h = self.embed(params, x)
        last = self._last(h, length)
        if self.architecture == "paper":
            scores = jnp.einsum("...ld,de,...e->...l", h, params["wq"], last)
        else:
            scores = jnp.einsum("...d,...ld->...l", last @ params["wq"], h @ params["wk"]) / jnp.sqrt(self.dim)
        if length is not None:
            scores = jnp.where(jnp.arange(x.shape[-1]) < jnp.asarray(length)[..., None], scores, -jnp.inf)
        return jax.nn.softmax(scores, axis=-1)

    @staticmethod
    def _last(h: jax.Array, length: jax.Array | None) -> jax.Array:
        if length is None:
            return h[..., -1, :]
        pick = jnp.asarray(length)[..., None, None] - 1
        return jnp.take_along_axis(h, pick, axis=-2)[..., 0, :]

    def predict(self, params: dict[str, jax.Array], x: jax.Array, length: jax.Array | None = None) -> jax.Array:
        """f(s) for integer sequences ``x`` of shape (…, n) (batch key ``"x"``; n = L, or 2 with chain-of-thought),
        of real lengths ``length`` (…,) when given (batch key ``"length"``, with ``variable_length``)."""
        x = jnp.asarray(x)
        h = self.embed(params, x)
        weights = self.attention(params, x, length)
        if self.architecture == "paper":
            return jnp.einsum("...l,...ld,d->...", weights, h, params["head"])
        mixed = jnp.einsum("...l,...ld->...d", weights, h @ params["wv"])
        return (self._last(h, length) + mixed) @ params["head"]

    def _losses(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        frozen = frozen_names(self.frozen)
        if frozen:
            params = {k: jax.lax.stop_gradient(v) if k in frozen else v for k, v in params.items()}
        margin = batch["y"] * self.predict(params, batch["x"], batch.get("length"))
        return jax.nn.softplus(-margin)

    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return self._losses(params, example)

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        losses = self._losses(params, batch)
        if "weight" in batch:  # the population with variable lengths: each example's probability
            return jnp.sum(batch["weight"] * losses)
        return jnp.mean(losses)

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        if self.full_population:
            return self.population()
        if self.task == "parity_cot":
            key_x, key_k = jax.random.split(key)
            x = jax.random.bernoulli(key_x, 0.5, (batch_size, self.seq_len)).astype(jnp.int32)
            steps = jax.random.randint(key_k, (batch_size,), 1, self.seq_len + 1)
            batch = cot_examples(x, steps)
            return {**batch, "y": batch["y"].astype(jnp.result_type(float))}
        if self.variable_length:
            key, key_n = jax.random.split(key)
            length = jax.random.randint(key_n, (batch_size,), 1, self.seq_len + 1)
            x = jax.random.bernoulli(key, 0.5, (batch_size, self.seq_len)).astype(jnp.int32)
            x = jnp.where(jnp.arange(self.seq_len) < length[:, None], x, 0)
            return {"x": x, "length": length, "y": padded_labels(self.task, x, length)}
        x = jax.random.bernoulli(key, 0.5, (batch_size, self.seq_len)).astype(jnp.int32)
        return {"x": x, "y": labels(self.task, x).astype(jnp.result_type(float))}

    def population(self) -> dict[str, jax.Array]:
        """All 2^L strings with their labels (each has probability 2^-L); with chain-of-thought every string at
        every step (2^L·L examples, equally weighted)."""
        x = jnp.asarray(all_strings(self.seq_len))
        if self.task == "parity_cot":
            n, length = x.shape
            strings = jnp.repeat(x, length, axis=0)
            steps = jnp.tile(jnp.arange(1, length + 1), n)
            batch = cot_examples(strings, steps)
            return {**batch, "y": batch["y"].astype(jnp.result_type(float))}
        if self.variable_length:
            x, length, weight = variable_strings(self.seq_len)
            x, length = jnp.asarray(x), jnp.asarray(length)
            return {"x": x, "length": length, "y": padded_labels(self.task, x, length), "weight": jnp.asarray(weight)}
        return {"x": x, "y": labels(self.task, x).astype(jnp.result_type(float))}

    def eval_batch(self, key: jax.Array) -> dict:
        return self.population()

    def generate(self, params: dict[str, jax.Array], strings: jax.Array) -> jax.Array:
        """Chain-of-thought inference on strings (…, L): the model's output at the last step, each step's sign
        fed back as the next state (+ → 0, − → 1), starting from c_0 = 0."""
        state = jnp.zeros(strings.shape[:-1], strings.dtype)
        out = jnp.zeros(strings.shape[:-1])
        for k in range(self.seq_len):
            out = self.predict(params, jnp.stack([state, strings[..., k]], axis=-1))
            state = (out < 0).astype(strings.dtype)
        return out

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        data = self.population()
        outputs = self.predict(params, data["x"], data.get("length"))
        correct = (jnp.sign(outputs) == data["y"]).astype(outputs.dtype)
        losses = jax.nn.softplus(-data["y"] * outputs)
        if "weight" in data:  # variable lengths: each example weighted by its probability
            out = {"population_loss": jnp.sum(data["weight"] * losses)}
            out["population_accuracy"] = jnp.sum(data["weight"] * correct)
        else:
            out = {"population_loss": jnp.mean(losses)}
        if self.task == "parity_cot":
            strings = jnp.asarray(all_strings(self.seq_len))
            final = self.generate(params, strings)
            target = labels(self.task, strings)
            out["population_accuracy"] = jnp.mean((jnp.sign(final) == target).astype(final.dtype))
            out["step_accuracy"] = jnp.mean(correct)
        elif "weight" not in data:
            out["population_accuracy"] = jnp.mean(correct)
        if self.task == "even_pairs" and self.variable_length:  # parity by CoT inference with this model
            strings = jnp.asarray(all_strings(self.seq_len))
            final = self.generate(params, strings)
            out["cot_parity_accuracy"] = jnp.mean((jnp.sign(final) == labels("parity", strings)).astype(final.dtype))
        out["head_norm"] = jnp.linalg.norm(params["head"])
        if self.architecture == "paper":
            out["attention_norm"] = jnp.linalg.norm(params["wq"])
        else:
            out["attention_norm"] = jnp.linalg.norm(params["wq"] @ params["wk"].T) / jnp.sqrt(self.dim)
        return out
