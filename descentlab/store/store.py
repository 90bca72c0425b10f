"""The on-disk store: append-only Parquet, written atomically, one folder per experiment.

Layout under the store root (``./runs`` by default)::

    <root>/<experiment hash>/experiment.parquet   one row: spec, versions, commit, device, timings, status
    <root>/<experiment hash>/spec.json            the validated spec (for humans and resume)
    <root>/<experiment hash>/chunks/<chunk>/runs.parquet     one row per run
    <root>/<experiment hash>/chunks/<chunk>/curves.parquet   one row per (run, step, metric)
    <root>/<experiment hash>/verdicts.parquet      theory verdicts, when a study or spec asks for them

A chunk is written into a private temporary folder and then renamed into ``chunks/`` in one
``rename`` — so a reader sees a chunk whole or not at all, and a process killed mid-write leaves
only a temporary folder that nothing reads. Resume reads which run indices are stored and
computes only the others.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

RUNS = "runs.parquet"
CURVES = "curves.parquet"
EXPERIMENT = "experiment.parquet"
VERDICTS = "verdicts.parquet"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_table_atomically(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Store:
    """A folder of experiments (see the module docstring)."""

    def __init__(self, root: str | Path = "runs"):
        self.root = Path(root)

    # ---- paths -------------------------------------------------------------------------------
    def experiment_dir(self, experiment: str) -> Path:
        return self.root / experiment

    def chunks_dir(self, experiment: str) -> Path:
        return self.experiment_dir(experiment) / "chunks"

    def experiments(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / EXPERIMENT).exists())

    def resolve(self, ref: str) -> str:
        """An experiment hash from a hash prefix or an experiment name (the newest one wins)."""
        hashes = self.experiments()
        matches = [h for h in hashes if h.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        named = [(row["created_at"], h) for h in hashes for row in [self.experiment_row(h)] if row["name"] == ref]
        if named:
            return max(named)[1]
        if len(matches) > 1:
            raise KeyError(f"experiment prefix {ref!r} is ambiguous: {', '.join(matches)}")
        raise KeyError(f"no experiment {ref!r} in {self.root}; stored: {', '.join(hashes) or '(none)'}")

    # ---- experiment rows ---------------------------------------------------------------------
    def write_experiment(self, experiment: str, row: dict[str, Any], spec: dict[str, Any] | None = None) -> None:
        folder = self.experiment_dir(experiment)
        folder.mkdir(parents=True, exist_ok=True)
        if spec is not None:
            tmp = folder / f".spec.{uuid.uuid4().hex}.tmp"
            tmp.write_text(json.dumps(spec, indent=2, sort_keys=True))
            os.replace(tmp, folder / "spec.json")
        write_table_atomically(pa.Table.from_pylist([row]), folder / EXPERIMENT)

    def experiment_row(self, experiment: str) -> dict[str, Any]:
        return pq.read_table(self.experiment_dir(experiment) / EXPERIMENT).to_pylist()[0]

    def spec(self, experiment: str) -> dict[str, Any]:
        return json.loads((self.experiment_dir(experiment) / "spec.json").read_text())

    # ---- chunks ------------------------------------------------------------------------------
    def chunk_dirs(self, experiment: str) -> list[Path]:
        folder = self.chunks_dir(experiment)
        if not folder.exists():
            return []
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def stored_runs(self, experiment: str) -> set[int]:
        """Indices of the runs whose chunk is stored whole."""
        done: set[int] = set()
        for chunk in self.chunk_dirs(experiment):
            done.update(pq.read_table(chunk / RUNS, columns=["run"]).column("run").to_pylist())
        return done

    def write_chunk(self, experiment: str, chunk: str, runs: pa.Table, curves: pa.Table) -> bool:
        """Store one chunk atomically; False if an identical chunk was already stored by someone else."""
        final = self.chunks_dir(experiment) / chunk
        tmp = self.experiment_dir(experiment) / "tmp" / f"{chunk}.{os.getpid()}.{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        pq.write_table(curves, tmp / CURVES)
        pq.write_table(runs, tmp / RUNS)
        for name in (CURVES, RUNS):
            with open(tmp / name, "rb") as handle:
                os.fsync(handle.fileno())
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if final.exists():  # a concurrent writer stored the same chunk first
                shutil.rmtree(tmp, ignore_errors=True)
                return False
            raise
        return True

    def clear(self, experiment: str) -> None:
        """Forget an experiment's stored chunks and verdicts (``--force``)."""
        for name in ("chunks", "tmp"):
            shutil.rmtree(self.experiment_dir(experiment) / name, ignore_errors=True)
        (self.experiment_dir(experiment) / VERDICTS).unlink(missing_ok=True)

    def clean_tmp(self, experiment: str) -> None:
        """Remove temporary folders left by writers that are gone (never read; a live writer's are kept)."""
        folder = self.experiment_dir(experiment) / "tmp"
        if not folder.exists():
            return
        for item in folder.iterdir():
            parts = item.name.split(".")
            pid = int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None
            if pid is None or not _alive(pid):
                shutil.rmtree(item, ignore_errors=True)

    def status_counts(self, experiment: str) -> dict[str, int]:
        """Number of stored runs per status, reading only the ``status`` column."""
        counts: dict[str, int] = {}
        for chunk in self.chunk_dirs(experiment):
            for status in pq.read_table(chunk / RUNS, columns=["status"]).column("status").to_pylist():
                counts[status] = counts.get(status, 0) + 1
        return counts

    # ---- verdicts ----------------------------------------------------------------------------
    def write_verdicts(self, experiment: str, rows: Iterable[dict[str, Any]]) -> None:
        rows = [{"experiment": experiment, **r} for r in rows]
        if rows:
            write_table_atomically(pa.Table.from_pylist(rows), self.experiment_dir(experiment) / VERDICTS)

    # ---- reading -----------------------------------------------------------------------------
    def read(self, experiment: str, table: str):
        """``runs`` or ``curves`` of one experiment as a pandas DataFrame (chunks concatenated)."""
        name = {"runs": RUNS, "curves": CURVES}[table]
        parts = [pq.read_table(c / name) for c in self.chunk_dirs(experiment)]
        if not parts:
            import pandas as pd

            return pd.DataFrame()
        frame = pa.concat_tables(parts, promote_options="default").to_pandas()
        return frame.sort_values(["run", "step", "metric"] if table == "curves" else ["run"]).reset_index(drop=True)

    def verdicts(self, experiment: str):
        import pandas as pd

        path = self.experiment_dir(experiment) / VERDICTS
        return pq.read_table(path).to_pandas() if path.exists() else pd.DataFrame()
