"""The query connection is confined by DuckDB itself; files named in a spec stay inside the spec's folder.

Each attack the red team found (writes through ``EXPLAIN ANALYZE``, forged verdicts, reads of any
file, URLs that trigger an extension download, persistent secrets) is refused in one line with exit
status 2, and the store is byte-identical afterwards (contents and modification times).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from descentlab.cli import app
from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.search import load_search_file
from descentlab.params import SpecError
from descentlab.store import Store, query

SPEC = {
    "name": "security",
    "problem": {"name": "least_squares", "dim": 4},
    "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.1, 0.2]}},
    "run": {"steps": 5, "seeds": 2, "checkpoints": 2},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("security") / "store")
    run_spec(spec_from_dict(SPEC), store)
    return store


def _snapshot(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.parent.rglob("*")):
        digest.update(str(path.relative_to(folder.parent)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


def _attacks(store: Store) -> list[str]:
    experiment = store.experiments()[0]
    inside = store.experiment_dir(experiment)
    return [
        "EXPLAIN ANALYZE COPY (select * from runs) TO '../x.csv'",
        f"EXPLAIN ANALYZE COPY (select 'x' as experiment, true as passed) TO '{inside}/verdicts.parquet'",
        f"COPY (select * from runs) TO '{store.root}/leak.parquet'",
        "EXPLAIN ANALYZE CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
        "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/hostname')",
        f"select * from read_blob('{inside}/spec.json')",
        "select * from glob('/*')",
        f"select * from glob('{store.root}/*')",
        "select * from read_csv('http://127.0.0.1:9/x.csv')",
        "select * from read_parquet('s3://bucket/x.parquet')",
        "select * from read_json('https://127.0.0.1:9/x.json')",
        f"ATTACH '{store.root}/x.duckdb' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "select 1; drop view runs",
        "PRAGMA enable_profiling",
        "select * from store",  # a Python variable: replacement scans are off
    ]


def test_every_attack_is_one_line_exit_2_and_the_store_is_untouched(store):
    before = _snapshot(store.root)
    for sql in _attacks(store):
        result = CliRunner().invoke(app, ["--store", str(store.root), "query", sql])
        assert result.exit_code == 2, (sql, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (sql, result.output)
        assert "Traceback" not in result.output
    assert _snapshot(store.root) == before
    assert not (store.root.parent / "x.csv").exists()
    show = CliRunner().invoke(app, ["--store", str(store.root), "show", "security"])
    assert "verdict: pass" not in show.output


def test_queries_still_read_the_store(store):
    counts = query(store.root, "select count(*) as n, count(distinct run) as d from runs")
    assert counts.loc[0, "n"] == counts.loc[0, "d"] == 4
    assert query(store.root, "select name from experiments")["name"].tolist() == ["security"]
    explained = query(store.root, "EXPLAIN select * from curves where metric = 'population_risk'")
    assert len(explained) == 1


def test_user_values_are_bound_not_spliced(store):
    tricky = "x' or '1'='1"
    assert query(store.root, "select * from runs where name = ?", [tricky]).empty
    result = CliRunner().invoke(app, ["--store", str(store.root), "show", tricky])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("out", ["/tmp/elsewhere", "../outside", "a/../../outside", "", 5])
def test_search_out_in_a_file_may_not_leave_its_folder(tmp_path, out):
    spec_file = tmp_path / "specs" / "s.toml"
    spec_file.parent.mkdir()
    value = f'"{out}"' if isinstance(out, str) else str(out)
    spec_file.write_text(
        f'[search]\nout = {value}\n[problem]\nname = "least_squares"\ndim = 4\n'
        '[optimizer]\nname = "sgd"\nlearning_rate = {logspace = [0.01, 1.0, 3]}\n[run]\nsteps = 5\n'
    )
    with pytest.raises(SpecError, match=r"search\.out"):
        load_search_file(spec_file)
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), "sweep", str(spec_file)])
    assert result.exit_code == 2 and "search.out" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["specs"]


def test_search_out_inside_the_folder_is_resolved_against_it(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text('[search]\nout = "best"\n')
    _, options = load_search_file(spec_file)
    assert options["out"] == (tmp_path / "best").resolve()
