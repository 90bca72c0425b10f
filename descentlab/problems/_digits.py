r"""scikit-learn's bundled ``digits`` (8×8 grey images, 10 classes, 1 797 examples), split and shared losses.

The images ship inside scikit-learn (``sklearn.datasets.load_digits``): nothing is downloaded.
Pixels (0…16) are divided by 16 and centred with the *training* mean of each pixel. The split is a
seeded permutation: the first ``n_train`` examples train, the remaining ``1797 − n_train`` test.

Classification losses on the outputs :math:`f(x)\in\mathbb R^{10}` with label :math:`y`:

* ``mse`` (as in Cohen et al., *Gradient Descent on Neural Networks Typically Occurs at the Edge of
  Stability*, 2103.00065): :math:`\tfrac12\|f(x) - e_y\|^2`, :math:`e_y` the one-hot label;
* ``cross_entropy``: :math:`\log\sum_k e^{f_k(x)} - f_y(x)`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

N_DIGITS = 1797
N_CLASSES = 10
LOSSES = ("mse", "cross_entropy")
ACTIVATIONS = ("tanh", "relu")


@functools.lru_cache(maxsize=8)
def digits_split(n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test); x of shape (n, 64) in float64, y integer labels."""
    from sklearn.datasets import load_digits

    if not 1 <= n_train < N_DIGITS:
        raise ValueError(f"n_train must be in [1, {N_DIGITS - 1}], got {n_train}")
    data = load_digits()
    x = np.asarray(data.data, dtype=np.float64) / 16.0
    y = np.asarray(data.target, dtype=np.int32)
    order = np.random.default_rng(seed).permutation(N_DIGITS)
    train, test = order[:n_train], order[n_train:]
    mean = x[train].mean(axis=0)
    return x[train] - mean, y[train], x[test] - mean, y[test]


def activation(name: str):
    if name == "tanh":
        return jnp.tanh
    if name == "relu":
        return jax.nn.relu
    raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}")


def classification_loss(kind: str, outputs: jax.Array, label: jax.Array) -> jax.Array:
    """Loss of one example (outputs of shape (classes,)) or of each row of a batch (…, classes)."""
    n_classes = outputs.shape[-1]
    if kind == "mse":
        target = jax.nn.one_hot(label, n_classes, dtype=outputs.dtype)
        return 0.5 * jnp.sum((outputs - target) ** 2, axis=-1)
    if kind == "cross_entropy":
        picked = jnp.take_along_axis(outputs, jnp.expand_dims(label, -1), axis=-1)[..., 0]
        return jax.nn.logsumexp(outputs, axis=-1) - picked
    raise ValueError(f"unknown loss {kind!r}; allowed: {', '.join(LOSSES)}")


def accuracy(outputs: jax.Array, labels: jax.Array) -> jax.Array:
    return jnp.mean((jnp.argmax(outputs, axis=-1) == labels).astype(outputs.dtype))


class DigitsClassification:
    """Data, losses and metrics shared by the digits networks (a mixin for a Problem dataclass).

    The concrete class declares ``n_train``, ``data_seed``, ``loss_type`` and implements
    ``predict(params, x) -> outputs`` for inputs ``x`` of shape ``(..., 64)``.
    Batches are ``{"x": (b, 64) pixels, "y": (b,) integer labels}``.
    """

    n_train: int
    data_seed: int
    loss_type: str

    def predict(self, params, x: jax.Array) -> jax.Array:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def _arrays(self, part: str) -> dict[str, jax.Array]:
        x_tr, y_tr, x_te, y_te = digits_split(self.n_train, self.data_seed)
        x, y = (x_tr, y_tr) if part == "train" else (x_te, y_te)
        return {"x": jnp.asarray(x, dtype=jnp.result_type(float)), "y": jnp.asarray(y)}

    def dataset(self) -> dict[str, jax.Array]:
        return self._arrays("train")

    def test_set(self) -> dict[str, jax.Array]:
        return self._arrays("test")

    def example_loss(self, params, example: dict) -> jax.Array:
        return classification_loss(self.loss_type, self.predict(params, example["x"]), example["y"])

    def loss(self, params, batch: dict) -> jax.Array:
        return jnp.mean(classification_loss(self.loss_type, self.predict(params, batch["x"]), batch["y"]))

    def metrics(self, params) -> dict[str, jax.Array]:
        out = {}
        for part, data in (("train", self.dataset()), ("test", self.test_set())):
            outputs = self.predict(params, data["x"])
            out[f"{part}_loss"] = jnp.mean(classification_loss(self.loss_type, outputs, data["y"]))
            out[f"{part}_accuracy"] = accuracy(outputs, data["y"])
        return out
