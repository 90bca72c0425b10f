"""Overflow and NaN stay in their run; float64 on request; the report flags divergence; strings are escaped."""

from __future__ import annotations

import hashlib

import numpy as np
from typer.testing import CliRunner

from descentlab.cli import app
from descentlab.engine import run_spec, spec_from_dict
from descentlab.report.html import write_report
from descentlab.store import Store


def spec(rates, **run):
    return spec_from_dict(
        {
            "name": "numerics",
            "problem": {"name": "least_squares", "dim": 8, "noise": 0.1},
            "optimizer": {"name": "sgd", "learning_rate": {"grid": rates}},
            "run": {"steps": 40, "seeds": 2, "checkpoints": 4, "vmap_width": 8, **run},
        }
    )


def test_overflowing_runs_do_not_touch_their_neighbours_and_are_flagged(tmp_path):
    store = Store(tmp_path)
    # 1e15 (the largest allowed) overflows to inf, then NaN, within a few steps; it shares a vmap block
    # with the healthy runs
    bad = run_spec(spec([0.1, 0.2, 1e3, 1e15]), store)
    good = run_spec(spec([0.1, 0.2, 0.3, 0.4]), store)
    a, b = store.read(bad.experiment, "runs"), store.read(good.experiment, "runs")
    assert len(a) == 8 and bad.diverged == 4
    diverged = a[a.status == "diverged"]
    assert set(diverged["optimizer_learning_rate"]) == {1e3, 1e15}
    assert (diverged["divergence_step"] >= 0).all()
    healthy_a = a[a.optimizer_learning_rate <= 0.2].sort_values("run")
    healthy_b = b[b.optimizer_learning_rate <= 0.2].sort_values("run")
    np.testing.assert_array_equal(
        healthy_a["final_population_risk"].to_numpy(), healthy_b["final_population_risk"].to_numpy()
    )
    assert np.isfinite(healthy_a["final_population_risk"]).all()
    page = write_report(store, bad.experiment).read_text()
    assert 'id="diverged"' in page and "4 of 8 runs diverged" in page


def test_float64_on_request(tmp_path):
    store = Store(tmp_path)
    single = run_spec(spec([0.1]), store)
    double = run_spec(spec([0.1], dtype="float64"), store)
    c32, c64 = store.read(single.experiment, "curves"), store.read(double.experiment, "curves")
    x32, x64 = c32["value"].to_numpy(), c64["value"].to_numpy()
    assert store.experiment_row(double.experiment)["dtype"] == "float64"
    # the same run at step 0 (the random draws of later steps differ between precisions)
    np.testing.assert_allclose(c32[c32.step == 0]["value"], c64[c64.step == 0]["value"], rtol=1e-6)
    # float32 values carry float32 rounding: they round-trip through float32 exactly, float64 ones do not all
    assert np.array_equal(x32.astype(np.float32).astype(np.float64), x32)
    assert not np.array_equal(x64.astype(np.float32).astype(np.float64), x64)


def test_spec_strings_are_escaped_in_the_report(tmp_path):
    evil = '<script>alert("x")</script>'
    spec_ = spec_from_dict(
        {
            "name": f"n{evil}",
            "description": f'<img src=x onerror="{evil}">',
            "problem": {"name": "fractal_net", "width": 3, "input_dim": 2},
            "optimizer": {
                "name": "layerwise_gd",
                "eta_hidden": 0.1,
                "eta_output": {"grid": [0.1, 0.2]},
                "output_keys": f"output,{evil}",
            },
            "sampler": {"name": "full_batch"},
            "run": {"steps": 5, "checkpoints": 2},
        }
    )
    store = Store(tmp_path)
    summary = run_spec(spec_, store)
    page = write_report(store, summary.experiment).read_text()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert" in page


def _digest(folder) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_query_cannot_write_into_the_store(tmp_path):
    store = Store(tmp_path / "store")
    run_spec(spec([0.1]), store)
    before = _digest(store.root)
    target = store.root / "leak.csv"
    for sql in (
        f"COPY (select * from runs) TO '{target}'",
        "CREATE TABLE t AS SELECT 1",
        f"ATTACH '{store.root / 'x.db'}' AS x",
        "select 1; drop view runs",
        "INSTALL httpfs",
    ):
        result = CliRunner().invoke(app, ["--store", str(store.root), "query", sql])
        assert result.exit_code == 2, (sql, result.output)
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not target.exists()
    assert _digest(store.root) == before
