"""Weight statistics on matrices with known singular values."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes import PROBES
from descentlab.probes.weights import rank_measures
from tests.probes.probes_testkit import measure, quadratic


def test_stable_and_effective_rank_of_known_singular_values():
    u = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 6)))[0]
    v = np.linalg.qr(np.random.default_rng(1).standard_normal((4, 4)))[0]
    s = np.array([4.0, 2.0, 1.0, 1.0])
    matrix = u[:, :4] * s @ v.T
    stable, effective = rank_measures(jnp.asarray(matrix, jnp.float32))
    assert float(stable) == pytest.approx(np.sum(s**2) / 16.0, rel=1e-5)
    p = s / s.sum()
    assert float(effective) == pytest.approx(np.exp(-np.sum(p * np.log(p))), rel=1e-5)


def test_weights_probe_names_layers_and_ratios():
    params = {"w": jnp.diag(jnp.array([3.0, 4.0])), "b": jnp.array([0.0, 2.0])}
    update = {"w": jnp.full((2, 2), 0.5), "b": jnp.array([0.2, 0.0])}
    probe = PROBES.get("weights").factory()
    assert probe.uses_last_update and not probe.uses_eval_batch
    out, _ = measure(probe, quadratic([1.0]), params, last_update=update)
    assert float(out["weight_norm.w"]) == pytest.approx(5.0)
    assert float(out["weight_norm.b"]) == pytest.approx(2.0)
    assert float(out["weight_norm"]) == pytest.approx(np.sqrt(29.0), rel=1e-6)
    assert float(out["update_ratio.w"]) == pytest.approx(1.0 / 5.0)
    assert float(out["update_ratio.b"]) == pytest.approx(0.1)
    assert float(out["stable_rank.w"]) == pytest.approx(25.0 / 16.0)
    assert "stable_rank.b" not in out
    out2, _ = measure(probe, quadratic([1.0]), jnp.array([3.0, 4.0]), last_update=jnp.array([0.0, 0.5]))
    assert float(out2["weight_norm.params"]) == pytest.approx(5.0)
    assert float(out2["update_ratio"]) == pytest.approx(0.1)
