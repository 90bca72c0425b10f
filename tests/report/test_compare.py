"""compare_figure: both experiments' seed means in one figure, told apart by line style."""

from __future__ import annotations

import pytest

from descentlab.params import SpecError
from descentlab.report.compare import compare_figure, write_compare
from tests.report.conftest import build_experiment


@pytest.fixture
def two(synthetic_store):
    build_experiment(
        synthetic_store,
        experiment="bbbb000000000000",
        name="other",
        lrs=[0.1, 0.4],
        momenta=[0.0],
        probes=False,
        theory=False,
        scale=2.0,
    )
    return synthetic_store


def test_compare_draws_both_experiments(two):
    fig = compare_figure(two, "synthetic-sweep", "bbbb")
    ax = fig.axes[0]
    drawn = [ln for ln in ax.get_lines() if len(ln.get_xdata())]
    solid = [ln for ln in drawn if ln.get_linestyle() == "-"]
    dashdot = [ln for ln in drawn if ln.get_linestyle() == "-."]
    runs = two.read("abc123def4560000", "runs")
    groups_a = runs[runs.status == "ok"].groupby(["optimizer_learning_rate", "optimizer_momentum"]).ngroups
    assert len(solid) == groups_a and len(dashdot) == 2
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0].startswith("synthetic-sweep (abc123de)") and "diverged" in texts[0]
    assert texts[1] == "other (bbbb0000)"
    assert len(texts) <= 10
    assert ax.get_ylabel() == "loss" and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    # shared settings share a colour: lr=0.1, momentum=0 in both
    a = next(ln for ln in solid if ln.get_gid().endswith("η=0.1, momentum=0"))
    b = next(ln for ln in dashdot if ln.get_gid().endswith("η=0.1, momentum=0"))
    assert a.get_color() == b.get_color()
    assert b.get_ydata()[-1] == pytest.approx(2 * a.get_ydata()[-1], rel=0.2)


def test_compare_errors_and_write(two, tmp_path):
    with pytest.raises(SpecError, match="sharpness"):
        compare_figure(two, "abc1", "bbbb", metric="sharpness")  # only A has it
    with pytest.raises(KeyError):
        compare_figure(two, "abc1", "nope")
    paths = write_compare(two, "abc1", "bbbb", out=tmp_path / "cmp.svg")
    assert list(paths) == ["svg"] and (tmp_path / "cmp.svg").stat().st_size > 1000
    paths = write_compare(two, "abc1", "bbbb")
    assert sorted(paths) == ["pdf", "png", "svg"]
