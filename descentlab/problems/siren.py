r"""Implicit neural representation: a SIREN fitting a grayscale picture, pixel coordinates → intensity.

The picture is scikit-learn's bundled ``china.jpg`` (``sklearn.datasets.load_sample_image``, nothing is
downloaded): converted to grey (ITU-R 601 luma, :math:`0.299R + 0.587G + 0.114B`, scaled to [0, 1]),
centre-cropped to the largest square whose side is a multiple of ``resolution``, and downsampled to
``resolution``² pixels by block averaging. Each pixel is one example
:math:`(x, y)` with :math:`x\in[-1, 1]^2` the pixel centre and :math:`y` its intensity.

Model (Sitzmann et al.): ``depth`` hidden layers of ``width`` units,

.. math:: h_1 = \sin\big(\omega_0 (x W_1 + b_1)\big),\quad h_\ell = \sin\big(\omega (h_{\ell-1} W_\ell + b_\ell)\big),
          \quad f(x) = h_L W_{L+1} + b_{L+1},

with :math:`W_1\sim\mathcal U(-1/2, 1/2)` (fan-in 2), hidden :math:`W_\ell\sim\mathcal U(\pm\sqrt{6/n}/\omega)`,
biases :math:`\mathcal U(\pm 1/\sqrt n)` (n the fan-in); :math:`\omega_0` = ``first_omega`` and
:math:`\omega` = ``hidden_omega`` are sweepable. ``activation = "relu"`` gives the ReLU MLP baseline of the
same shape (He initialization, no frequencies) whose spectral bias the SIREN avoids. Loss: the squared
error :math:`(f(x) - y)^2`, so the mean loss is the MSE and :math:`\mathrm{PSNR} = -10\log_{10}\mathrm{MSE}`
(intensities in [0, 1]); metrics ``mse`` and ``psnr`` over the whole picture. Parameters
``{"w1", "b1", …}`` (2-D weights). Batches ``{"x": (b, 2), "y": (b,)}``; ``predict(params, x)``.

References: Sitzmann, Martel, Bergman, Lindell, Wetzstein, *Implicit Neural Representations with Periodic
Activation Functions* (2006.09661); Tancik et al., *Fourier Features Let Networks Learn High Frequency
Functions in Low Dimensional Domains* (2006.10739); *A Closer Look at NTK Alignment: Linking Phase
Transitions in Deep Image Regression*.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem

ACTIVATIONS = ("sine", "relu")


@functools.lru_cache(maxsize=8)
def grayscale_picture(resolution: int) -> np.ndarray:
    """``china.jpg`` in grey, centre-cropped and block-averaged to (resolution, resolution), values in [0, 1]."""
    from sklearn.datasets import load_sample_image

    rgb = load_sample_image("china.jpg").astype(np.float64) / 255.0
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    height, width = grey.shape
    block = min(height, width) // resolution
    if block < 1:
        raise ValueError(f"resolution {resolution} exceeds the picture's {min(height, width)} pixels")
    side = block * resolution
    top, left = (height - side) // 2, (width - side) // 2
    crop = grey[top : top + side, left : left + side]
    return crop.reshape(resolution, block, resolution, block).mean(axis=(1, 3))


def pixel_grid(resolution: int) -> np.ndarray:
    """Pixel centres in [-1, 1]², shape (resolution², 2), row-major (row coordinate first)."""
    centres = (np.arange(resolution) + 0.5) / resolution * 2.0 - 1.0
    rows, cols = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], axis=1)


@register_problem("siren")
@dataclasses.dataclass(frozen=True)
class Siren(Problem):
    """SIREN (or ReLU MLP) regressing a downsampled grayscale picture; PSNR."""

    summary = "SIREN fitting a downsampled grayscale photo (sklearn china.jpg), coordinates → intensity; PSNR."
    references = (
        "Sitzmann, Martel, Bergman, Lindell, Wetzstein. Implicit Neural Representations with Periodic Activation "
        "Functions (2006.09661)",
        "Tancik et al. Fourier Features Let Networks Learn High Frequency Functions in Low Dimensional Domains "
        "(2006.10739)",
        "A Closer Look at NTK Alignment: Linking Phase Transitions in Deep Image Regression",
    )
    is_stream = False
    monitor = "mse"
    tiny: ClassVar[dict] = {"resolution": 4, "width": 6, "depth": 2}
    arrays: ClassVar[tuple] = (("resolution", "resolution", 3), ("width", "width", "depth"))

    resolution: int = static(32, "side of the downsampled picture in pixels", low=1, high=427)
    width: int = static(64, "hidden units per layer", low=1, high=100_000)
    depth: int = static(3, "hidden layers", low=1, high=64)
    activation: str = static("sine", "sine (SIREN) or relu (baseline)", choices=ACTIVATIONS)
    first_omega: float = hyper(30.0, "ω0: frequency of the first layer", low=0.0, low_open=True)
    hidden_omega: float = hyper(30.0, "ω: frequency of the hidden layers", low=0.0, low_open=True)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (2,) + (self.width,) * self.depth + (1,)

    def dataset(self) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        picture = grayscale_picture(self.resolution)
        return {"x": jnp.asarray(pixel_grid(self.resolution), dtype), "y": jnp.asarray(picture.ravel(), dtype)}

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        sizes = self.layer_sizes
        params = {}
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
            k_w, k_b = jax.random.split(jax.random.fold_in(key, i))
            if self.activation == "relu":
                weight = jnp.sqrt(2.0 / fan_in) * jax.random.normal(k_w, (fan_in, fan_out), dtype)
                bias = jnp.zeros((fan_out,), dtype)
            else:
                bound = 1.0 / fan_in if i == 1 else jnp.sqrt(6.0 / fan_in) / self.hidden_omega
                weight = bound * jax.random.uniform(k_w, (fan_in, fan_out), dtype, -1.0, 1.0)
                bias = jax.random.uniform(k_b, (fan_out,), dtype, -1.0, 1.0) / jnp.sqrt(fan_in)
            params[f"w{i}"], params[f"b{i}"] = weight, bias
        return params

    def predict(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Intensities (…) at coordinates ``x`` of shape (…, 2) (batch key ``"x"``)."""
        n_layers = len(self.layer_sizes) - 1
        h = x
        for i in range(1, n_layers):
            z = h @ params[f"w{i}"] + params[f"b{i}"]
            if self.activation == "relu":
                h = jax.nn.relu(z)
            else:
                h = jnp.sin((self.first_omega if i == 1 else self.hidden_omega) * z)
        return (h @ params[f"w{n_layers}"] + params[f"b{n_layers}"])[..., 0]

    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return (self.predict(params, example["x"]) - example["y"]) ** 2

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        return jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        mse = self.loss(params, self.dataset())
        return {"mse": mse, "psnr": -10.0 * jnp.log10(mse)}
