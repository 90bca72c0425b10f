"""AdaGrad-Norm's ``accumulator`` choice: "sum" is unchanged, "max" follows b² ← max(b², ‖g‖²) (NumPy by hand)."""

import jax
import numpy as np
import optim_quadratic as q
import pytest

from descentlab.optim import OPTIMIZERS


def reference(eta: float, b0: float, steps: int, accumulator: str) -> np.ndarray:
    x, b2, out = q.np_init(), b0**2, []
    for _ in range(steps):
        g = q.np_grad(x)
        b2 = b2 + np.sum(g * g) if accumulator == "sum" else max(b2, np.sum(g * g))
        x = x - eta / np.sqrt(b2) * g
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize("accumulator", ["sum", "max"])
def test_matches_numpy(accumulator):
    with jax.enable_x64(True):
        got = q.trajectory(OPTIMIZERS.get("adagrad_norm").build(0.7, b0=0.05, accumulator=accumulator), (), 25)
    np.testing.assert_allclose(got, reference(0.7, 0.05, 25, accumulator), rtol=1e-6, atol=1e-12)


def test_default_is_the_sum():
    with jax.enable_x64(True):
        default = q.trajectory(OPTIMIZERS.get("adagrad_norm").build(0.7, b0=0.05), (), 25)
    np.testing.assert_allclose(default, reference(0.7, 0.05, 25, "sum"), rtol=1e-6, atol=1e-12)


def test_max_takes_longer_steps_than_the_sum():
    """The running maximum never exceeds the running sum, so each step is at least as long (and here longer)."""
    lengths = {acc: np.linalg.norm(np.diff(reference(0.7, 0.05, 25, acc), axis=0), axis=1) for acc in ("sum", "max")}
    assert (lengths["max"][1:6] > 1.2 * lengths["sum"][1:6]).all()


def test_unknown_accumulator_is_refused():
    with pytest.raises(ValueError, match="accumulator"):
        OPTIMIZERS.get("adagrad_norm").build(0.7, accumulator="mean")
