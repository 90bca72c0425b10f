"""The architecture's "never" arrows hold at run time, not only in the source.

Leaves (optimizers, problems, probes, theory) load no engine, store, analysis, report or study module; the
engine loads no analysis, report or study module; the store's schema loads neither the store nor DuckDB.
Each check runs in a fresh interpreter, so what another test imported does not count.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

UPPER = (
    "descentlab.engine",
    "descentlab.store",
    "descentlab.analysis",
    "descentlab.report",
    "descentlab.studies",
    "descentlab.cli",
    "descentlab.experiment",
)
ABOVE_ENGINE = ("descentlab.analysis", "descentlab.report", "descentlab.studies", "descentlab.cli")


def loaded_after(statement: str) -> set[str]:
    script = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def _under(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


@pytest.mark.parametrize("leaf", ["descentlab.optim", "descentlab.problems", "descentlab.probes", "descentlab.theory"])
def test_a_leaf_and_everything_it_registers_loads_nothing_above_it(leaf):
    registry = {
        "descentlab.optim": "OPTIMIZERS",
        "descentlab.problems": "PROBLEMS",
        "descentlab.probes": "PROBES",
        "descentlab.theory": "PREDICTIONS",
    }[leaf]
    modules = loaded_after(f"import {leaf} as m\nfor name in m.{registry}.names(): m.{registry}.get(name)")
    assert not _under(modules, UPPER), _under(modules, UPPER)
    assert "pyarrow" not in modules and "duckdb" not in modules and "pydantic" not in modules


def test_the_engine_loads_no_analysis_report_or_study():
    modules = loaded_after("import descentlab.engine, descentlab.engine.ray_executor, descentlab.engine.repair")
    assert not _under(modules, ABOVE_ENGINE), _under(modules, ABOVE_ENGINE)


def test_the_schema_loads_neither_the_store_nor_duckdb():
    modules = loaded_after("import descentlab.store.schema")
    assert "duckdb" not in modules and not _under(modules, ("descentlab.store.store", "descentlab.store.catalog"))


def test_the_package_names_are_there_when_asked_for():
    import descentlab

    assert {"Experiment", "Spec", "SpecError", "Store", "spec_from_dict"} <= set(dir(descentlab))
    assert descentlab.Experiment.__module__ == "descentlab.experiment"
    with pytest.raises(AttributeError):
        descentlab.no_such_name  # noqa: B018
