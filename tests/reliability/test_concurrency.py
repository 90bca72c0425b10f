"""Two ``descentlab run`` processes writing different experiments into one store at the same time."""

from __future__ import annotations

from descentlab.engine import spec_from_dict
from descentlab.engine.search import to_toml
from descentlab.store import query
from tests.reliability._procs import check_store_readable, start_run


def spec(name: str, rates: list[float]) -> dict:
    return {
        "name": name,
        "problem": {"name": "least_squares", "dim": 8, "noise": 0.1},
        "optimizer": {"name": "sgd", "learning_rate": {"grid": rates}},
        "run": {"steps": 30, "seeds": 16, "checkpoints": 4, "chunk_size": 4, "vmap_width": 4},
    }


def test_two_writers_both_complete_and_the_catalog_shows_both_whole(tmp_path):
    store = tmp_path / "store"
    specs = {"writer-a": spec("writer-a", [0.1, 0.2]), "writer-b": spec("writer-b", [0.05, 0.3, 0.6])}
    processes = []
    for name, body in specs.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(to_toml(body))
        processes.append(start_run(store, path))
    for process in processes:
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, output
    assert check_store_readable(store) == 32 + 48
    experiments = query(store, "select name, experiment, status, n_runs from experiments order by name")
    assert experiments["name"].tolist() == ["writer-a", "writer-b"]
    assert (experiments["status"] == "complete").all()
    for _, row in experiments.iterrows():
        assert row["experiment"] == spec_from_dict(specs[row["name"]]).content_hash()
        runs = query(store, f"select count(*) as n, count(distinct run) as d from runs "
                            f"where experiment = '{row['experiment']}'")
        assert runs.loc[0, "n"] == runs.loc[0, "d"] == row["n_runs"]
