"""siren: the picture (grey, crop, block average), the grid, init bounds, PSNR, and SIREN vs ReLU fitting."""

from __future__ import annotations

import jax
import numpy as np
import optax

from descentlab.problems.siren import Siren, grayscale_picture, pixel_grid


def test_picture_is_the_block_average_of_the_grey_crop():
    from sklearn.datasets import load_sample_image

    rgb = load_sample_image("china.jpg").astype(np.float64)
    grey = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) / 255.0
    picture = grayscale_picture(4)
    side = 4 * (427 // 4)
    top, left = (427 - side) // 2, (640 - side) // 2
    block = side // 4
    for i in range(4):
        for j in range(4):
            patch = grey[top + i * block : top + (i + 1) * block, left + j * block : left + (j + 1) * block]
            np.testing.assert_allclose(picture[i, j], patch.mean(), rtol=1e-12)
    full = grayscale_picture(32)
    assert full.shape == (32, 32) and 0.0 <= full.min() < full.max() <= 1.0


def test_grid_and_dataset():
    grid = pixel_grid(4)
    np.testing.assert_allclose(grid[0], [-0.75, -0.75])
    np.testing.assert_allclose(grid[1], [-0.75, -0.25])
    np.testing.assert_allclose(grid[-1], [0.75, 0.75])
    data = Siren(resolution=4).dataset()
    np.testing.assert_allclose(np.asarray(data["y"]).reshape(4, 4), grayscale_picture(4), rtol=1e-6)


def test_init_bounds_and_psnr():
    problem = Siren(resolution=8, width=50, depth=2, hidden_omega=30.0)
    params = problem.init(jax.random.key(0))
    assert np.abs(np.asarray(params["w1"])).max() <= 0.5
    assert np.abs(np.asarray(params["w2"])).max() <= np.sqrt(6 / 50) / 30
    assert np.abs(np.asarray(params["w2"])).max() > 0.9 * np.sqrt(6 / 50) / 30  # uniform fills the interval
    data = problem.dataset()
    mse = np.mean((np.asarray(problem.predict(params, data["x"]), np.float64) - np.asarray(data["y"])) ** 2)
    metrics = problem.metrics(params)
    np.testing.assert_allclose(float(metrics["mse"]), mse, rtol=1e-5)
    np.testing.assert_allclose(float(metrics["psnr"]), -10 * np.log10(mse), rtol=1e-5)


def _fit(problem: Siren, steps: int) -> float:
    params = problem.init(jax.random.key(0))
    data = problem.dataset()
    opt = optax.adam(1e-3)

    def step(carry, _):
        params, state = carry
        updates, state = opt.update(jax.grad(problem.loss)(params, data), state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((params, opt.init(params)))
    return float(problem.metrics(params)["psnr"])


def test_siren_fits_the_picture_far_better_than_a_relu_network():
    siren = _fit(Siren(resolution=16, width=32, depth=2), 400)
    relu = _fit(Siren(resolution=16, width=32, depth=2, activation="relu"), 400)
    assert siren > 40.0 and relu < 30.0, (siren, relu)
