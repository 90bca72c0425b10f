"""A study's own computation is stored as an experiment: its tables, its id, resume, force, verify and repair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from descentlab.engine.computation import Computation, Measurement, is_computation, run_computation, tables
from descentlab.engine.repair import verify
from descentlab.params import Param, SpecError
from descentlab.store import Store, query
from descentlab.store.schema import column, final_column
from descentlab.studies.base import (
    STUDIES,
    Analysis,
    Check,
    Control,
    Study,
    StudyOptions,
    computation_from_record,
    control_experiments,
    run_study,
)

CALLS: list[int] = []
CHECK = Check("sum-of-squares", "Σ_{k<n} k² of the largest n", "n(n−1)(2n−1)/6", 0.0, "exact integer arithmetic")


def squares(n: int, offset: int) -> list[Measurement]:
    """One measurement per m ≤ n: Σ_{k<m} (k + offset)², and the partial sums as a curve."""
    CALLS.append(n)
    out = []
    for m in range(1, n + 1):
        terms = (np.arange(m) + offset) ** 2
        out.append(
            Measurement(
                {"m": m, "label": f"m{m}"}, {"total": float(terms.sum())}, {"partial": (np.arange(m), np.cumsum(terms))}
            )
        )
    return out


class SumOfSquares(Study):
    claim = "Σ_{k<n} k² = n(n−1)(2n−1)/6"
    checks: ClassVar[tuple[Check, ...]] = (CHECK,)
    declared_options: ClassVar[dict[str, Param]] = {
        "n": Param("int", 4, "largest n", low=1),
        "offset": Param("int", 0, "a shift of k that breaks the formula", low=0),
    }
    controls: ClassVar[tuple[Control, ...]] = (
        Control("shifted", "k + 1 instead of k", mechanism=True, options=(("offset", 1),)),
        Control("shifted-twice", "k + 2 instead of k", mechanism=False, options=(("offset", 2),)),
    )

    def computations(self, options: StudyOptions) -> list[Computation]:
        n, offset = options["n"], options["offset"]
        return [
            Computation("squares", "partial sums of squares", {"n": n, "offset": offset}, lambda: squares(n, offset))
        ]

    def analyze(self, results, folder: Path, options: StudyOptions) -> Analysis:
        runs = results[0].runs
        m = runs[column("computation.m")].to_numpy()
        error = np.abs(runs[final_column("total")].to_numpy() - m * (m - 1) * (2 * m - 1) / 6).max()
        return Analysis([CHECK.verdict(error)], [], runs)


@pytest.fixture()
def study():
    STUDIES.add("test-sum-of-squares", SumOfSquares)
    SumOfSquares.name = "test-sum-of-squares"
    CALLS.clear()
    yield "test-sum-of-squares"
    del STUDIES._entries["test-sum-of-squares"]


def test_tables_hold_parameters_values_and_curves():
    computation = Computation("squares", "", {"n": 3}, lambda: [])
    runs, curves = tables("abc", computation, squares(3, 0))
    runs, curves = runs.to_pandas(), curves.to_pandas()
    assert runs["run"].tolist() == [0, 1, 2] and set(runs["status"]) == {"ok"}
    assert runs["computation_m"].tolist() == [1, 2, 3] and runs["computation_label"].tolist() == ["m1", "m2", "m3"]
    assert runs["final_total"].tolist() == [0.0, 1.0, 5.0]
    assert runs["name"].iloc[2] == "squares m=3 label=m3"
    assert curves.groupby("run")["value"].last().tolist() == [0.0, 1.0, 5.0]
    with pytest.raises(ValueError, match="status"):
        tables("abc", computation, [Measurement({}, status="broken")])
    with pytest.raises(ValueError, match="curve 'x'"):
        tables("abc", computation, [Measurement({}, curves={"x": ([0, 1], [1.0])})])


def test_the_id_covers_what_the_result_depends_on():
    base = Computation("squares", "words", {"n": 3}, lambda: [], study="s")
    assert base.hash == Computation("squares", "other words", {"n": 3}, print, study="s").hash
    assert base.hash != Computation("squares", "words", {"n": 4}, lambda: [], study="s").hash
    assert base.hash != Computation("squares", "words", {"n": 3}, lambda: [], study="s", version=2).hash
    assert base.hash != Computation("cubes", "words", {"n": 3}, lambda: [], study="s").hash


def test_stored_once_read_back_forced_again(study, tmp_path):
    store = Store(tmp_path)
    outcome = run_study(study, store, StudyOptions(), report=False)
    assert outcome.analysis.verdicts[0].passed and CALLS == [4]
    experiment = outcome.results[0].experiment
    record = json.loads((store.experiment_dir(experiment) / "spec.json").read_text())
    assert is_computation(record) and record["study"] == study and record["parameters"] == {"n": 4, "offset": 0}
    assert store.experiment_row(experiment)["status"] == "complete"
    assert int(query(tmp_path, "select count(*) as n from runs where computation_m >= 3")["n"].iloc[0]) == 2
    again = run_study(study, store, StudyOptions(), report=False)
    assert CALLS == [4] and again.results[0].summary.computed == 0
    run_study(study, store, StudyOptions(), report=False, force=True)
    assert CALLS == [4, 4]
    failed = run_study(study, store, StudyOptions(control="shifted"), report=False)
    assert not failed.analysis.verdicts[0].passed
    assert control_experiments(study, StudyOptions())["shifted"] == failed.results[0].experiment != experiment


def test_overrides_are_refused_before_anything_runs(study, tmp_path):
    with pytest.raises(SpecError, match="--set"):
        run_study(study, Store(tmp_path), StudyOptions(overrides=("run.steps=3",)), report=False)
    assert CALLS == [] and not any(tmp_path.iterdir())


def test_a_damaged_computation_is_repaired_from_its_record(study, tmp_path):
    store = Store(tmp_path)
    experiment = run_study(study, store, StudyOptions(extra=(("n", 3),)), report=False).results[0]
    chunk = next((store.chunks_dir(experiment.experiment)).iterdir())
    (chunk / "curves.parquet").write_bytes(b"not parquet")
    unrepaired = verify(store, experiment.experiment, fix=True)  # without a way to rebuild the computation
    assert unrepaired[0].problems and not unrepaired[0].repaired and "verify --repair" in unrepaired[0].unrepairable
    found = verify(store, experiment.experiment, fix=True, rebuild=computation_from_record)
    assert found[0].problems and found[0].repaired and found[0].recomputed == 3 and CALLS == [3, 3]
    assert len(experiment.runs) == 3 and not store.verify(experiment.experiment)


def test_a_record_whose_study_is_gone_is_not_repairable(study, tmp_path):
    record = Computation("squares", "", {"n": 3, "offset": 0}, lambda: [], study=study).record()
    assert (
        computation_from_record({**record, "options": {"extra": {"n": 3}}}).hash
        == Computation("squares", "", {"n": 3, "offset": 0}, list, study=study).hash
    )
    with pytest.raises(ValueError, match="not registered"):
        computation_from_record({**record, "study": "no-such-study"})
    with pytest.raises(ValueError, match="no longer makes"):
        computation_from_record({**record, "parameters": {"n": 5, "offset": 0}, "options": {"extra": {"n": 3}}})


def test_an_interrupted_computation_says_so_and_is_computed_again(tmp_path):
    def interrupted() -> list[Measurement]:
        raise KeyboardInterrupt

    computation = Computation("broken", "", {"n": 1}, interrupted, study="x")
    with pytest.raises(KeyboardInterrupt):
        run_computation(computation, Store(tmp_path))
    assert Store(tmp_path).experiment_row(computation.hash)["status"] == "interrupted"
    fixed = Computation("broken", "", {"n": 1}, lambda: squares(1, 0), study="x")
    assert run_computation(fixed, Store(tmp_path)).computed == 1
