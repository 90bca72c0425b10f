"""Checks shared by the edge-of-stability and adaptive-edge-of-stability tests (their quick runs)."""

from __future__ import annotations

from descentlab.store import query
from descentlab.studies import STUDIES, StudyOptions


def assert_quick_passes_and_is_stored(outcome, band: tuple[float, float], loss_drop: float) -> None:
    """Every verdict passes, the headline lies in ``band``, every run ends below ``loss_drop`` × its initial loss,
    and the verdicts and report are stored."""
    store, result = outcome
    verdicts = result.analysis.verdicts
    headline = verdicts[0]
    assert headline.passed and all(v.passed for v in verdicts), [v.line() for v in verdicts]
    assert band[0] <= headline.figure <= band[1]
    table = result.analysis.summary
    assert len(table) == 6 and (table.status == "ok").all() and set(table.seed) == {0, 1}
    assert (table.failed == 0).all(), table
    assert (table["final loss"] < loss_drop * table["initial loss"]).all()
    stored = query(store.root, "select * from verdicts")
    assert len(stored) == len(verdicts) and bool(stored.passed.all()) and headline.line() in set(stored.line)
    assert result.report.exists() and "verdict: pass" in result.report.read_text()


def assert_fails_with_shuffled_step_sizes(name: str, outcome, options: StudyOptions, tmp_path) -> None:
    """The headline fails when the step-size labels of the quick runs are reversed."""
    _, result = outcome
    runs = result.results[0].runs.copy()
    lrs = sorted(runs.optimizer_learning_rate.unique())
    runs["optimizer_learning_rate"] = runs.optimizer_learning_rate.map(dict(zip(lrs, lrs[::-1], strict=True)))

    class Swapped:
        def __init__(self, inner):
            self.runs, self.curves = runs, inner.curves

    analysis = STUDIES.get(name)().analyze([Swapped(result.results[0])], tmp_path, options)
    assert not analysis.verdicts[0].passed
