"""Shared fixtures: small specs that compile and run in a second or two."""

from __future__ import annotations

import copy

import pytest


def small_spec_dict(**changes) -> dict:
    base = {
        "name": "small",
        "problem": {"name": "least_squares", "dim": 16, "spectrum": "power_law", "noise": 0.1},
        "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.2, 0.5]}},
        "run": {"steps": 60, "seeds": 3, "checkpoints": 10},
    }
    out = copy.deepcopy(base)
    for section, values in changes.items():
        if isinstance(values, dict) and isinstance(out.get(section), dict):
            out[section].update(values)
        else:
            out[section] = values
    return out


@pytest.fixture
def small_spec():
    return small_spec_dict
