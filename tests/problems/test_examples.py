"""Every registered problem has a short example spec, examples/<problem>.toml, that the engine accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from descentlab.problems import PROBLEMS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", PROBLEMS.names())
def test_each_problem_has_a_valid_example(name):
    from descentlab.engine.load import load_spec

    path = EXAMPLES / f"{name}.toml"
    assert path.exists(), f"missing example spec {path}"
    spec = load_spec(path)
    assert spec.problem.name == name
