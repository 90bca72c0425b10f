"""Interactive figures: the plotly dicts (bands as traces, hover names and hyperparameters, escaping, scale buttons),
their embedding in the page and the store's one copy of plotly.js."""

from __future__ import annotations

import functools
import json
import re

import numpy as np
import pandas as pd
import pytest

from descentlab.report import figures as F
from descentlab.report import interactive as I
from descentlab.report.reading import read_curves
from tests.report.conftest import LRS, MOMENTA, SEEDS, build_experiment

HOSTILE = "</script><img src=x onerror=alert(1)>&amp;%{x}"


@pytest.fixture
def data(synthetic_store):
    experiment = synthetic_store.experiments()[0]
    runs = synthetic_store.read(experiment, "runs")
    bands = F.seed_bands(runs, functools.partial(read_curves, synthetic_store, experiment))
    return runs, synthetic_store.read(experiment, "curves"), synthetic_store.theory(experiment), bands


def traces(spec: dict, **where) -> list[dict]:
    return [t for t in spec["data"] if all(t.get(k) == v for k, v in where.items())]


def menu_labels(spec: dict) -> list[str]:
    return [button["label"] for menu in spec["layout"]["updatemenus"] for button in menu["buttons"]]


def test_learning_curves_draw_one_mean_and_one_band_per_group_not_per_run(data):
    runs, curves, theory, bands = data
    spec = I.learning_curves(bands, "loss", theory=theory, theory_label="toy (pass 0.031)", title="sweep")
    alive = [(lr, beta) for lr in LRS for beta in MOMENTA if lr / (1 - beta) < 2.0]
    means = [t for t in spec["data"] if "hovertemplate" in t and t["hovertemplate"] == I.BAND_TEMPLATE]
    fills = [t for t in spec["data"] if t.get("fill") == "toself"]
    overlays = [t for t in spec["data"] if str(t.get("legendgroup", "")).startswith("theory")]
    assert len(means) == len(fills) == len(overlays) == len(alive) < len(runs)
    assert len(spec["data"]) == 3 * len(alive) + 2  # + the two all-diverged groups' dotted legend entries
    # panels: one per momentum, each mean on its panel's axes; one legend entry per group, toggling every panel
    assert {t["xaxis"] for t in means} == {"x", "x2", "x3"} and "xaxis3" in spec["layout"]
    assert sum(t["showlegend"] for t in spec["data"] if t.get("type") == "scatter") == len(LRS) + 1
    # the mean is the seed mean of the data, at every recorded step (step 0 included: it shows on a linear axis)
    first = next(t for t in means if t["xaxis"] == "x" and t["name"] == f"learning rate η={LRS[0]:.3g}")
    ok = runs[(runs.optimizer_learning_rate == LRS[0]) & (runs.optimizer_momentum == 0.0)]["run"]
    expected = curves[(curves.metric == "loss") & curves.run.isin(ok)].groupby("step")["value"].mean()
    assert first["x"] == expected.index.tolist()
    np.testing.assert_allclose(first["y"], expected.to_numpy(), rtol=1e-5)
    # the band polygon runs along the 90 % quantile and back along the 10 % one, steps > 0 on the log axis
    band = next(t for t in fills if t["legendgroup"] == first["legendgroup"] and t["xaxis"] == "x")
    positive = [s for s in first["x"] if s > 0]
    assert band["x"] == positive + positive[::-1]
    quantiles = curves[(curves.metric == "loss") & curves.run.isin(ok)].groupby("step")["value"].quantile
    np.testing.assert_allclose(band["y"][: len(positive)], quantiles(0.9).to_numpy()[1:], rtol=1e-5)
    # hover: the group's label, hyperparameters by their spec names, its first run's readable name, its seeds
    hover = first["hovertext"]
    assert f"<b>learning rate η={LRS[0]:.3g}</b>" in hover
    assert f"optimizer.learning_rate = {LRS[0]:g}" in hover and "optimizer.momentum = 0" in hover
    assert "optimizer.name = momentum" in hover and "problem.name = least_squares" in hover
    assert f"first run: momentum[lr={LRS[0]},m=0.0,seed=0]" in hover and f"{SEEDS} of {SEEDS} seeds" in hover
    # log/linear per axis, switching every panel's axis
    assert menu_labels(spec) == ["x: log", "x: linear", "y: log", "y: linear"]
    y_linear = spec["layout"]["updatemenus"][1]["buttons"][1]["args"][0]
    assert {k: v for k, v in y_linear.items() if k.endswith(".type")} == {
        f"yaxis{s}.type": "linear" for s in ("", "2", "3")
    }
    assert [spec["layout"][f"yaxis{s}"]["type"] for s in ("", "2", "3")] == ["log"] * 3
    assert spec["layout"]["updatemenus"][1]["active"] == 0
    json.dumps(spec, allow_nan=False)  # JSON-ready: NaN written as null


def test_probe_panels_carry_stability_lines_and_every_metric(data):
    _, _, _, bands = data
    spec = I.probe_panels(bands, ["sharpness", "ntk_alignment"])
    lines = [t for t in spec["data"] if str(t.get("legendgroup", "")).startswith("stability")]
    # one dashed line per learning rate and momentum panel with a non-diverged group: 2(1+β)/η (or 2/η for β=0)
    expected = {2 * (1 + beta) / lr for lr in LRS for beta in MOMENTA if lr / (1 - beta) < 2.0}
    assert {round(t["y"][0], 4) for t in lines} == {round(v, 4) for v in expected}
    assert {t["name"] for t in lines} == {"2/η", "2(1+β)/η"}
    titles = [a["text"] for a in spec["layout"]["annotations"]]
    assert titles[0] == "sharpness · momentum = 0" and titles[3].startswith("ntk alignment")
    assert len([k for k in spec["layout"] if k.startswith("yaxis")]) == 2 * len(MOMENTA)


def test_hostile_names_are_escaped_in_every_label_and_in_the_page(tmp_path):
    runs = pd.DataFrame(
        {
            "run": range(4),
            "name": [HOSTILE] * 4,
            "seed": [0, 1, 0, 1],
            "status": "ok",
            "optimizer_name": HOSTILE,
            "optimizer_learning_rate": [0.1, 0.1, 0.2, 0.2],
            "final_loss": [1.0, 2.0, 3.0, 4.0],
        }
    )
    curves = pd.DataFrame(
        [{"run": r, "step": s, "metric": "loss", "value": 1.0 / (1 + r + s)} for r in range(4) for s in range(5)]
    )
    spec = I.learning_curves(F.seed_bands(runs, curves), "loss", title=HOSTILE)
    final = I.final_vs_axis(F.final_lines(runs, "loss"), title=HOSTILE)
    profile = I.performance_profile(F.profile_data(pd.DataFrame({HOSTILE: [1.0, 2.0], "b": [1.5, 1.0]})))
    for figure in (spec, final, profile):
        raw = json.dumps(figure)
        assert "<img" not in raw and "</script" not in raw
        assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&amp;amp;%{x}" in raw
        # a name never reaches a hovertemplate (where %{…} is read)
        assert all(HOSTILE not in t.get("hovertemplate", "") for t in figure["data"])
        assert all("&lt;" not in t.get("hovertemplate", "") for t in figure["data"])
    # in the page: the JSON block cannot be closed by a string, and parses back to the same figure
    block = I.chart_block(spec, "chart-0")
    assert block.count("</script>") == 1 and block.endswith("</script>")
    body = re.search(r"<script type=\"application/json\"[^>]*>(.*)</script>", block, re.S).group(1)
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body) == spec


def test_final_vs_axis_hover_names_each_points_first_run(data):
    runs, _, _, _ = data
    lines = F.final_lines(runs, "loss", axis="optimizer_learning_rate")
    spec = I.final_vs_axis(lines)
    means = [t for t in spec["data"] if t.get("mode") == "lines+markers"]
    assert [t["name"] for t in means] == [f"momentum={m:.3g}" for m in MOMENTA]
    assert means[0]["x"] == LRS and len(means[0]["hovertext"]) == len(LRS)
    assert "first run: momentum[lr=0.05,m=0.0,seed=0]" in means[0]["hovertext"][0]
    assert "optimizer.learning_rate = 0.05" in means[0]["hovertext"][0]
    diverged = [t for t in spec["data"] if t.get("marker", {}).get("symbol") == "x"]
    assert [len(t["x"]) for t in diverged] == [2]  # momentum 0.9: lr 0.2 and 0.4 diverged on every seed
    assert spec["layout"]["xaxis"]["type"] == "log" and menu_labels(spec)[:2] == ["x: log", "x: linear"]


def test_heatmap_cells_marks_and_colour_scale_toggle(data):
    runs, _, _, _ = data
    grid = F.heatmap_grid(runs, "optimizer_learning_rate", "optimizer_momentum", "loss")
    spec = I.heatmap(grid, title="final loss")
    cells = spec["data"][0]
    assert cells["type"] == "heatmap" and len(cells["z"]) == len(MOMENTA) and len(cells["z"][0]) == len(LRS)
    assert grid.log_color  # values span more than a decade: starts on the log colour scale
    np.testing.assert_allclose(np.array(cells["z"], dtype=float), np.log10(grid.values), rtol=1e-5)
    assert cells["z"][2][3] is None and "every seed diverged" in cells["text"][2][3]
    assert "3/3 seeds diverged" in cells["text"][2][3] and "learning rate η 0.4" in cells["text"][2][3]
    assert spec["data"][1]["text"] == ["×", "×"]
    labels = menu_labels(spec)
    assert labels == ["colour: log", "colour: linear"]
    linear = spec["layout"]["updatemenus"][0]["buttons"][1]["args"][0]["z"][0]
    np.testing.assert_allclose(np.array(linear, dtype=float), grid.values, rtol=1e-5)
    trainability = I.heatmap(F.heatmap_grid(runs, "optimizer_learning_rate", "optimizer_momentum", "diverged"))
    assert trainability["layout"]["updatemenus"] == [] and trainability["data"][1]["text"] == ["3/3", "3/3"]


def test_performance_profile_one_step_curve_per_solver_best_first():
    ratios = pd.DataFrame({"slow": [3.0, 2.0, np.inf], "best": [1.0, 1.0, 1.5], "mid": [1.0, 2.0, 1.0]})
    spec = I.performance_profile(F.profile_data(ratios))
    assert [t["name"].split(" ")[0] for t in spec["data"]] == ["best", "mid", "slow"]
    slow = spec["data"][2]
    assert slow["line"]["shape"] == "hv" and dict(zip(slow["x"], slow["y"], strict=True))[6.0] == pytest.approx(2 / 3)
    assert spec["layout"]["xaxis"]["tickvals"] == [1.0, 2.0, 4.0] and "x: linear" in menu_labels(spec)


def test_thin_keeps_the_ends_and_at_most_max_points():
    assert I.thin(10).tolist() == list(range(10))
    picks = I.thin(100_000)
    assert len(picks) <= I.MAX_POINTS and picks[0] == 0 and picks[-1] == 99_999 and picks[1] == 1


def test_save_writes_the_interactive_version_and_drops_a_stale_one(tmp_path):
    import matplotlib.pyplot as plt

    F.save(F.performance_profile(pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]})), tmp_path, "p", ("png",))
    sidecar = tmp_path / "p.plotly.json"
    assert [t["name"] for t in json.loads(sidecar.read_text())["data"]] == ["a (solved 100%)", "b (solved 100%)"]
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    F.save(fig, tmp_path, "p", formats=("png",))  # the stem redrawn without an interactive version
    assert not sidecar.exists()


def test_plotly_js_is_copied_once_per_store_and_referenced_relatively(synthetic_store, tmp_path):
    root = synthetic_store.root
    experiment = synthetic_store.experiments()[0]
    report = synthetic_store.report_dir(experiment)
    assert I.asset_src(report, root) == "../../assets/plotly.min.js"
    # one copy per store, referenced relatively (a control's report is two levels deeper), never rewritten
    asset = root / "assets" / "plotly.min.js"
    assert asset.read_bytes() == I.plotly_js().read_bytes()
    first = asset.stat()
    control = synthetic_store.report_dir(experiment, "some-control")
    assert I.asset_src(control, root) == "../../../../assets/plotly.min.js"
    assert (asset.stat().st_ino, asset.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    asset.write_text("stale")
    assert I.asset_src(control, root) == "../../../../assets/plotly.min.js"
    assert asset.read_bytes() == I.plotly_js().read_bytes()  # different: replaced
    assert not list((root / "assets").glob(".*"))  # no temporary file left
    # a report folder outside the store carries its own copy
    assert I.asset_src(tmp_path / "elsewhere", root) == "assets/plotly.min.js"
    assert (tmp_path / "elsewhere" / "assets" / "plotly.min.js").is_file()
    # the assets folder is no experiment and no stray entry
    build_experiment(synthetic_store, experiment="ffff000000000000", name="second", probes=False)
    assert synthetic_store.experiments() == synthetic_store.experiment_folders() == [experiment, "ffff000000000000"]
    assert all(synthetic_store.verify(e) == [] for e in synthetic_store.experiments())


def test_runs_of_several_experiments_with_nan_padded_axes_are_all_drawn():
    """Runs concatenated from two experiments leave NaN in the columns only one sweeps: those groups form their own
    panel and colour (before, a NaN facet value matched no group and the panel was empty)."""
    runs = pd.DataFrame(
        {
            "experiment": ["a"] * 4 + ["b"] * 2,
            "run": [0, 1, 2, 3, 0, 1],
            "seed": [0, 1, 0, 1, 0, 1],
            "status": "ok",
            "schedule_power": [0.3, 0.3, 0.5, 0.5, np.nan, np.nan],
            "schedule_cooldown": [np.nan] * 4 + ["linear"] * 2,
        }
    )
    curves = pd.DataFrame(
        [
            {"experiment": e, "run": r, "step": s, "metric": "loss", "value": 1.0 / (1 + s + k)}
            for k, (e, r) in enumerate(zip(runs.experiment, runs.run, strict=True))
            for s in range(4)
        ]
    )
    bands = F.seed_bands(runs, curves)
    spec = I.learning_curves(bands, "loss")
    means = [t for t in spec["data"] if t.get("hovertemplate") == I.BAND_TEMPLATE]
    assert sorted((t["xaxis"], t["name"]) for t in means) == [
        ("x", "power=0.3"),
        ("x", "power=0.5"),
        ("x2", "power=nan"),
    ]
    assert means[-1]["line"]["color"] == I.css(F.NAN_COLOR)
    fig = F.learning_curves(runs, bands, "loss")
    assert sum(len(ax.get_lines()) for ax in fig.axes) == 3
