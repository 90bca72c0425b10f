"""Shared fixtures: small specs that compile and run in a second or two."""

from __future__ import annotations

import copy

import pytest

SPREAD_PER_TEST = ("tests/studies/test_controls.py",)  # independent heavy tests without shared fixtures


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup`` (pyproject's addopts) keep each test module on one worker, so module-scoped
    fixtures — a study's quick run — are computed once; the controls' module is spread test by test."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None and not item.nodeid.startswith(SPREAD_PER_TEST):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


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
