"""neural-shattering: the study passes at --quick; its verdicts reject wrong synthetic inputs; the relu_ball problem
masks the sample size, penalizes the weights and draws its inputs uniformly in the ball. The must-fail controls run
in test_controls."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from descentlab.problems.relu_ball import ReluBall, ball_data
from descentlab.store import Store
from descentlab.store.schema import OK, column, final_column
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.neural_shattering import (
    ARMS,
    CHECK_SEPARATION,
    CHECK_SHATTERING,
    CHECK_STABLE,
    DATA_FLOOR,
    exponent,
    separation_verdict,
    separations,
    shattering_verdict,
    stability_verdict,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("neural-shattering", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    assert table["separation"].iloc[-1] > table["separation"].iloc[0]


def _table(p_flat: dict[int, float], p_wd: dict[int, float], jitter: float = 0.02, seeds: int = 4) -> pd.DataFrame:
    """Synthetic final risks C n^p × seed noise for slots 0 (d = 1) and 1 (d = 5)."""
    rng = np.random.default_rng(1)
    rows = []
    for slot, dim in ((0, 1), (1, 5)):
        for arm, p in ((ARMS[0], p_flat[slot]), (ARMS[1], p_wd[slot])):
            for n in (16, 32, 64, 128, 256):
                for seed in range(seeds):
                    value = float(n**p * np.exp(jitter * rng.standard_normal()))
                    rows.append({"slot": slot, "dim": dim, "arm": arm, "n": n, "seed": seed, "value": value})
    return pd.DataFrame(rows)


def test_exponent_recovers_a_power_law():
    table = _table({0: -0.7, 1: -0.7}, {0: -0.7, 1: -0.7}, jitter=0.0)
    assert exponent(table[(table.slot == 0) & (table.arm == ARMS[0])]) == pytest.approx(-0.7, abs=1e-9)


def test_separation_verdict_passes_a_growing_gap_and_rejects_none_or_a_shrinking_one():
    assert separation_verdict(separations(_table({0: -0.8, 1: -0.3}, {0: -0.8, 1: -0.8}), boot=60)).passed
    for flat in ({0: -0.8, 1: -0.8}, {0: -0.3, 1: -0.8}):
        verdict = separation_verdict(separations(_table(flat, {0: -0.8, 1: -0.8}), boot=60))
        assert not verdict.passed, verdict.line()
        assert verdict.check == CHECK_SEPARATION.name


def _seps(delta: float, spread: float) -> pd.DataFrame:
    """Two slots whose separations differ by ``delta``, with bootstrap draws of Δ spread by ``spread``."""
    draws = np.random.default_rng(0).standard_normal(400)
    draws = spread * (draws - draws.mean()) / draws.std(ddof=1)
    return pd.DataFrame(
        [
            {"slot": 0, "dim": 1, "p_flat": -0.8, "p_wd": -0.8, "separation": 0.0, "draws": np.zeros(400)},
            {"slot": 1, "dim": 5, "p_flat": -0.8 + delta, "p_wd": -0.8, "separation": delta, "draws": delta + draws},
        ]
    )


def test_separation_tolerance_is_two_bootstrap_errors_with_a_floor():
    """A gap of 0.6 passes with tight draws and fails when they scatter; a gap below the floor fails."""
    assert separation_verdict(_seps(0.6, 0.05)).passed
    wide = separation_verdict(_seps(0.6, 0.5))
    assert not wide.passed and wide.tolerance == pytest.approx(CHECK_SEPARATION.tolerance * 0.5)
    below = separation_verdict(_seps(DATA_FLOOR / 2, 0.01))
    assert not below.passed and below.tolerance == DATA_FLOOR


def _runs(ratios: list[float], lr: float = 0.2) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": ARMS[0],
            "status": OK,
            "slot": 0,
            column("optimizer.learning_rate"): lr,
            final_column("sharpness"): [2.0 * r / lr for r in ratios],
        }
    )


def test_stability_verdict_rejects_a_run_above_the_edge():
    assert stability_verdict(_runs([0.8, 1.0, 1.05])).passed
    verdict = stability_verdict(_runs([0.8, 1.0, CHECK_STABLE.tolerance + 0.1]))
    assert not verdict.passed and verdict.figure == pytest.approx(CHECK_STABLE.tolerance + 0.1)


def _coverage(flat: float, wd: float) -> pd.DataFrame:
    rows = [
        {"slot": slot, "dim": dim, "arm": arm, "n": 16, "seed": 0, "value": value}
        for slot, dim in ((0, 1), (1, 5))
        for arm, value in ((ARMS[0], flat), (ARMS[1], wd))
    ]
    return pd.DataFrame(rows)


def test_shattering_verdict_needs_the_flat_arm_less_covered_than_weight_decay():
    assert shattering_verdict(_coverage(0.4, 0.6)).passed
    assert not shattering_verdict(_coverage(0.6, 0.6)).passed
    assert not shattering_verdict(_coverage(0.6, 0.4)).passed
    assert shattering_verdict(_coverage(0.5, 0.5 * CHECK_SHATTERING.tolerance * 1.01)).passed


# ---- the relu_ball problem ------------------------------------------------------------------------------------


def test_inputs_are_uniform_in_the_ball():
    x = ball_data(3, 20_000, 10, 0)[0]
    radius = np.linalg.norm(x, axis=1)
    assert radius.max() <= 1.0
    # uniform in the ball: r^d is uniform on [0, 1] (mean 1/2, variance 1/12)
    assert np.mean(radius**3) == pytest.approx(0.5, abs=0.01)
    assert np.var(radius**3) == pytest.approx(1.0 / 12.0, abs=0.005)


def test_data_draw_picks_an_independent_dataset_and_vmaps():
    first, again, other = (ball_data(2, 50, 10, 0, draw) for draw in (0, 0, 1))
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.allclose(first[0], other[0]) and not np.allclose(first[5], other[5])
    batched = jax.vmap(lambda d: ReluBall(dim=2, width=4, n_train=50, n_test=10, data_draw=d).dataset()["x"])(
        jnp.arange(2.0)
    )
    np.testing.assert_allclose(batched[1], other[0], rtol=1e-6)


def test_n_used_masks_the_training_set_and_weight_decay_adds_the_penalty():
    with jax.enable_x64(True):
        full = ReluBall(dim=2, width=5, n_train=10, n_test=8)
        params = full.init(jax.random.key(0))
        data = full.dataset()
        first = jax.tree_util.tree_map(lambda a: a[:4], data)
        errors = jax.vmap(full.example_loss, in_axes=(None, 0))(params, first)
        masked = ReluBall(dim=2, width=5, n_train=10, n_test=8, n_used=4.0)
        np.testing.assert_allclose(masked.loss(params, data), jnp.mean(errors), rtol=1e-12)
        np.testing.assert_allclose(masked.metrics(params)["train_loss"], jnp.mean(errors), rtol=1e-12)
        decayed = ReluBall(dim=2, width=5, n_train=10, n_test=8, n_used=4.0, weight_decay=0.3)
        norms = sum(float(jnp.sum(params[k] ** 2)) for k in ("w", "b", "a"))
        np.testing.assert_allclose(decayed.loss(params, data) - masked.loss(params, data), 0.15 * norms, rtol=1e-12)


def test_shattering_metrics_on_a_hand_built_network():
    """Two live neurons: one always active (p = 1, magnitude 1), one active on a thin cap (p < 2 %, magnitude 3);
    one dead neuron that must not count."""
    with jax.enable_x64(True):
        problem = ReluBall(dim=2, width=3, n_train=4, n_test=20_000, rare_fraction=0.02)
        x_test = jnp.asarray(ball_data(2, 4, 20_000, 0)[3])
        w = jnp.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
        params = {
            "w": w,
            "b": jnp.array([1.0, -0.97, -1.0]),
            "a": jnp.array([1.0, 3.0 / float(np.hypot(1, 0.97)), 5.0]),
            "c": jnp.zeros(()),
        }
        p_cap = float(jnp.mean(x_test[:, 0] > 0.97))
        assert 0 < p_cap < 0.02
        metrics = problem.metrics(params)
        np.testing.assert_allclose(metrics["rare_weight_share"], 3.0 / 4.0, rtol=1e-9)
        np.testing.assert_allclose(metrics["weighted_coverage"], (1.0 + 3.0 * p_cap) / 4.0, rtol=1e-9)
