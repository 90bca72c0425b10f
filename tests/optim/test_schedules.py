"""Schedules: every registered schedule against its closed form, and traceable in the learning rate."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.optim import SCHEDULES

T = 100
TS = np.arange(T + 1)


def _expected(name: str, lr: float, t: np.ndarray, **p) -> np.ndarray:
    t = t.astype(float)
    if name == "constant":
        return np.full_like(t, lr)
    if name == "cosine":
        return lr * (p["final_fraction"] + (1 - p["final_fraction"]) * 0.5 * (1 + np.cos(np.pi * np.minimum(t, T) / T)))
    if name == "linear_decay":
        return lr * np.maximum(1 - t / T, 0)
    if name == "exponential":
        return lr * p["decay_rate"] ** (t / T)
    if name == "step":
        return lr * p["factor"] ** np.floor(t / p["every"])
    if name == "polynomial":
        return lr / (1 + t / p["t0"]) ** p["power"]
    if name == "inverse_sqrt":
        w = p["warmup_steps"]
        return lr * np.minimum((t + 1) / w, np.sqrt(w / (t + 1)))
    if name == "warmup_cosine":
        w, f = p["warmup_steps"], p["final_fraction"]
        decay = lr * (f + (1 - f) * 0.5 * (1 + np.cos(np.pi * np.clip(t - w, 0, T - w) / (T - w))))
        return np.where(t < w, lr * t / w, decay)
    if name == "triangular":
        s, m = p["half_cycle"], p["min_fraction"]
        out = []
        for ti in t:  # Smith (2017), eq. (1): cycle = floor(1 + t/2s), x = |t/s − 2 cycle + 1|
            cycle = math.floor(1 + ti / (2 * s))
            x = abs(ti / s - 2 * cycle + 1)
            out.append(lr * m + lr * (1 - m) * max(0.0, 1 - x))
        return np.array(out)
    if name == "wsd":
        w, f, r = p["warmup_steps"], p["decay_fraction"], p["final_fraction"]
        d = math.ceil(f * T)
        start = T - d
        out = []
        for ti in t:
            if ti < start:
                out.append(lr * (min(1.0, (ti + 1) / w) if w else 1.0))
            else:
                s = min((ti - start) / d, 1.0)
                c = {"linear": 1 - s, "cosine": 0.5 * (1 + math.cos(math.pi * s)), "sqrt": 1 - math.sqrt(s)}
                out.append(r * lr + (lr - r * lr) * c[p["cooldown"]])
        return np.array(out)
    if name == "one_cycle":
        pct, div, fdiv = p["pct_start"], p["div_factor"], p["final_div_factor"]
        up = int(pct * T)
        lo, hi, end = lr / div, lr, lr / div / fdiv
        out = []
        for ti in t:
            if ti <= up:
                s = ti / up
                out.append(hi + (lo - hi) * 0.5 * (1 + math.cos(math.pi * s)))
            else:
                s = min((ti - up) / (T - up), 1.0)
                out.append(end + (hi - end) * 0.5 * (1 + math.cos(math.pi * s)))
        return np.array(out)
    raise KeyError(name)


CASES = [
    ("constant", {}),
    ("cosine", {"final_fraction": 0.1}),
    ("linear_decay", {}),
    ("exponential", {"decay_rate": 0.05}),
    ("step", {"every": 30, "factor": 0.5}),
    ("polynomial", {"power": 0.5, "t0": 10.0}),
    ("polynomial", {"power": 1.0, "t0": 3.0}),
    ("inverse_sqrt", {"warmup_steps": 10}),
    ("warmup_cosine", {"warmup_steps": 10, "final_fraction": 0.0}),
    ("triangular", {"half_cycle": 7, "min_fraction": 0.2}),
    ("wsd", {"warmup_steps": 5, "decay_fraction": 0.3, "cooldown": "linear", "final_fraction": 0.0}),
    ("wsd", {"warmup_steps": 0, "decay_fraction": 0.2, "cooldown": "cosine", "final_fraction": 0.1}),
    ("wsd", {"warmup_steps": 0, "decay_fraction": 0.25, "cooldown": "sqrt", "final_fraction": 0.0}),
    ("one_cycle", {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4}),
]


def test_every_schedule_is_covered():
    assert {name for name, _ in CASES} == set(SCHEDULES.names())


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_schedule_matches_closed_form(name, params):
    lr = 0.3
    schedule = SCHEDULES.get(name).build(lr, T, **params)
    got = np.asarray(jax.vmap(schedule)(jnp.asarray(TS)))
    np.testing.assert_allclose(got, _expected(name, lr, TS, **params), rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_schedule_is_vmappable_in_the_learning_rate(name, params):
    """The base learning rate may be a traced scalar (a swept hyperparameter)."""
    lrs = jnp.asarray([0.1, 0.4])
    values = jax.jit(jax.vmap(lambda lr: SCHEDULES.get(name).build(lr, T, **params)(jnp.asarray(17))))(lrs)
    single = [float(SCHEDULES.get(name).build(float(lr), T, **params)(17)) for lr in lrs]
    np.testing.assert_allclose(np.asarray(values), single, rtol=1e-6)


def test_wsd_cooldowns_are_ordered():
    """Inside the cooldown the 1−√s shape is below linear, which is below cosine early on."""
    kw = {"warmup_steps": 0, "decay_fraction": 0.5, "final_fraction": 0.0}
    t = jnp.asarray(60)
    wsd = SCHEDULES.get("wsd")
    lin, cos, sq = (float(wsd.build(1.0, T, cooldown=c, **kw)(t)) for c in ("linear", "cosine", "sqrt"))
    assert sq < lin < cos


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_float_parameters_are_vmappable(name, params):
    """Every vmapped (non-static float) schedule parameter may be traced."""
    entry = SCHEDULES.get(name)
    for key, value in params.items():
        if not entry.params[key].vmapped:
            continue
        grid = jnp.asarray([value, value * 0.5])
        got = jax.vmap(lambda v, key=key: entry.build(0.3, T, **{**params, key: v})(jnp.asarray(60)))(grid)
        want = [float(entry.build(0.3, T, **{**params, key: float(v)})(60)) for v in grid]
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, err_msg=f"{name}.{key}")
