"""The on-disk store: append-only Parquet, written atomically, one folder per experiment, checked on read.

Layout under the store root (``./runs`` by default)::

    <root>/<experiment hash>/experiment.parquet   one row: spec, versions, commit, device, timings, status, writer
    <root>/<experiment hash>/spec.json            the validated spec (for humans, resume and repair)
    <root>/<experiment hash>/chunks/<chunk>/runs.parquet     one row per run
    <root>/<experiment hash>/chunks/<chunk>/curves.parquet   one row per (run, step, metric)
    <root>/<experiment hash>/chunks/<chunk>/manifest.json    written last: chunk id, runs, rows, bytes, sha256
    <root>/<experiment hash>/verdicts.parquet      theory verdicts, when a study or spec asks for them
    <root>/<experiment hash>/quarantine/           damaged files and chunks, moved aside (never deleted)

A chunk is written into a private temporary folder — its two Parquet files, then its manifest — and
renamed into ``chunks/`` in one ``rename``: a reader sees a chunk whole or not at all, and a process
killed mid-write leaves only a temporary folder that nothing reads. Chunk ids are a pure function of
the spec, so two writers of one chunk collide on the rename and the second drops its copy.

Every reader goes through :meth:`Store.experiments` (experiments whose ``experiment.parquet`` reads)
and :meth:`Store.chunk_dirs` (chunks that pass their quick check: the manifest parses and names the
folder, both files are regular files of the recorded size whose Parquet footers give the recorded
row counts and columns, and no run is claimed by a chunk accepted before). What fails is skipped and
named in one logged warning, never raised. :meth:`Store.verify` adds the full check (sha256 of every
file, stray entries); a re-run quarantines what fails the quick check and recomputes it. Chunks of
older versions, which have no manifest, count as damaged and are recomputed.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import socket
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

RUNS = "runs.parquet"
CURVES = "curves.parquet"
MANIFEST = "manifest.json"
EXPERIMENT = "experiment.parquet"
SPEC = "spec.json"
VERDICTS = "verdicts.parquet"
THEORY = "theory.parquet"
QUARANTINE = "quarantine"
MANIFEST_FORMAT = 1
COLUMNS = {RUNS: {"experiment", "run", "status"}, CURVES: {"experiment", "run", "step", "metric", "value"}}
KNOWN_ENTRIES = {EXPERIMENT, SPEC, VERDICTS, THEORY, "chunks", "tmp", QUARANTINE, "report"}

log = logging.getLogger("descentlab.store")

Problem = tuple[Path, str]
"""A damaged path and why, in words."""


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


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_table_atomically(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, tmp)
    _fsync(tmp)
    os.replace(tmp, path)


def sha256_of(path: Path) -> str:
    """The file's sha256, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_intervals(runs: Iterable[int]) -> list[list[int]]:
    """Sorted run indices as inclusive ``[first, last]`` intervals of consecutive indices."""
    out: list[list[int]] = []
    for run in sorted(runs):
        if out and run == out[-1][1] + 1:
            out[-1][1] = run
        else:
            out.append([run, run])
    return out


def chunk_manifest(experiment: str, chunk: str, folder: Path, runs: list[int], rows: dict[str, int]) -> dict:
    """The manifest of the chunk files in ``folder`` (see :func:`check_chunk` for what is checked)."""
    return {
        "format": MANIFEST_FORMAT,
        "experiment": experiment,
        "chunk": chunk,
        "n_runs": len(runs),
        "runs": run_intervals(runs),
        "files": {
            name: {"rows": rows[name], "bytes": (folder / name).stat().st_size, "sha256": sha256_of(folder / name)}
            for name in (RUNS, CURVES)
        },
    }


def _manifest(folder: Path) -> dict | str:
    """The chunk's manifest, or why it cannot be used."""
    path = folder / MANIFEST
    if not path.is_file():
        return "no manifest (deleted, or a chunk of an older version)"
    try:
        raw = json.loads(path.read_text())
        manifest = {
            "format": raw["format"],
            "experiment": str(raw["experiment"]),
            "chunk": str(raw["chunk"]),
            "n_runs": int(raw["n_runs"]),
            "runs": [(int(a), int(b)) for a, b in raw["runs"]],
            "files": {name: (int(f["rows"]), int(f["bytes"]), str(f["sha256"])) for name, f in raw["files"].items()},
        }
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return "manifest is not readable"
    if manifest["format"] != MANIFEST_FORMAT or set(manifest["files"]) != {RUNS, CURVES}:
        return "manifest of an unknown format"
    return manifest


def _file_problem(path: Path, rows: int, size: int, sha256: str, full: bool) -> str | None:
    """Why a chunk's Parquet file differs from its manifest entry (size, footer, columns; sha256 if ``full``)."""
    name = path.name
    if path.is_symlink() or not path.exists():
        return f"{name} missing"
    if not path.is_file():
        return f"{name} is not a regular file"
    actual = path.stat().st_size
    if actual != size:
        return f"{name} has {actual} bytes, its manifest says {size}"
    try:
        metadata = pq.read_metadata(path)
    except (OSError, pa.ArrowException):
        return f"{name} is not a readable Parquet file"
    if metadata.num_rows != rows:
        return f"{name} has {metadata.num_rows} rows, its manifest says {rows}"
    if not COLUMNS[name] <= set(metadata.schema.names):
        return f"{name} lacks the columns {', '.join(sorted(COLUMNS[name] - set(metadata.schema.names)))}"
    if full and sha256_of(path) != sha256:
        return f"{name} checksum differs from its manifest (edited or corrupt)"
    return None


def _full_problem(folder: Path, manifest: dict) -> str | None:
    """The full check's extras: nothing but the chunk's files in its folder, and the runs its manifest names."""
    stray = sorted(p.name for p in folder.iterdir() if p.name not in (RUNS, CURVES, MANIFEST))
    if stray:
        return f"stray entries in the chunk folder: {', '.join(stray)}"
    try:
        runs = pq.read_table(folder / RUNS, columns=["run"]).column("run").to_pylist()
    except (OSError, pa.ArrowException):
        return f"{RUNS} is not a readable Parquet file"
    if [tuple(i) for i in run_intervals(runs)] != manifest["runs"] or len(runs) != manifest["n_runs"]:
        return f"{RUNS} holds other runs than its manifest names"
    return None


def check_chunk(folder: Path, experiment: str, full: bool = False) -> tuple[str | None, dict | None]:
    """(why the chunk folder fails its check or None, its manifest when it parses).

    The quick check reads the manifest, stats both files and reads their Parquet footers; ``full``
    also hashes the files, reads the ``run`` column and refuses stray entries in the folder.
    """
    if folder.is_symlink() or not folder.is_dir():
        return "not a chunk folder", None
    manifest = _manifest(folder)
    if isinstance(manifest, str):
        return manifest, None
    if manifest["chunk"] != folder.name:
        return f"the folder's name differs from its manifest's chunk id {manifest['chunk']} (a copy?)", manifest
    if manifest["experiment"] != experiment:
        return f"a chunk of experiment {manifest['experiment']} (a copy?)", manifest
    try:
        for name, (rows, size, sha256) in manifest["files"].items():
            problem = _file_problem(folder / name, rows, size, sha256, full)
            if problem:
                return problem, manifest
        return (_full_problem(folder, manifest) if full else None), manifest
    except OSError as err:  # moved away (quarantined) or changed while being checked
        return f"not readable ({type(err).__name__})", manifest


class _Intervals:
    """Disjoint inclusive run intervals, to refuse a chunk that claims runs another chunk holds."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.owners: list[str] = []

    def overlap(self, intervals: list[tuple[int, int]]) -> str | None:
        """The owner of an accepted interval that meets one of ``intervals``, if any."""
        for first, last in intervals:
            at = bisect.bisect_right(self.starts, last) - 1
            if at >= 0 and self.ends[at] >= first:
                return self.owners[at]
        return None

    def add(self, intervals: list[tuple[int, int]], owner: str) -> None:
        for first, last in intervals:
            at = bisect.bisect_right(self.starts, first)
            self.starts.insert(at, first)
            self.ends.insert(at, last)
            self.owners.insert(at, owner)


class Store:
    """A folder of experiments (see the module docstring)."""

    def __init__(self, root: str | Path = "runs"):
        self.root = Path(root)
        self._warned: set[str] = set()

    def _warn(self, path: Path, reason: str, action: str = "skipped") -> None:
        """Log one line naming a damaged path and what the reader did instead (once per store object)."""
        line = f"damaged {path}: {reason}; {action} (descentlab verify --repair repairs it)"
        if line not in self._warned:
            self._warned.add(line)
            log.warning(line)

    # ---- paths -------------------------------------------------------------------------------
    def experiment_dir(self, experiment: str) -> Path:
        return self.root / experiment

    def report_dir(self, experiment: str, control: str = "") -> Path:
        """Where an experiment's report lives: ``<experiment>/report``, a control's in ``report/controls/<name>``
        (both inside the folder's known ``report`` entry, so ``verify`` sees no stray file)."""
        folder = self.experiment_dir(experiment) / "report"
        return folder / "controls" / control if control else folder

    def chunks_dir(self, experiment: str) -> Path:
        return self.experiment_dir(experiment) / "chunks"

    def experiment_folders(self) -> list[str]:
        """Folders at the root that hold an experiment's files, readable or not."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir()
            and not p.is_symlink()
            and any((p / name).exists() or (p / name).is_symlink() for name in (EXPERIMENT, SPEC, "chunks"))
        )

    def experiments(self) -> list[str]:
        """Experiments whose ``experiment.parquet`` reads (others are skipped with a warning)."""
        out = []
        for name in self.experiment_folders():
            row = self._row(name)
            if isinstance(row, str):
                self._warn(self.experiment_dir(name) / EXPERIMENT, row)
            else:
                out.append(name)
        return out

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
        """Write the experiment's row (and its spec) atomically; a ``running`` row records its writer."""
        folder = self.experiment_dir(experiment)
        folder.mkdir(parents=True, exist_ok=True)
        if spec is not None:
            tmp = folder / f".spec.{uuid.uuid4().hex}.tmp"
            tmp.write_text(json.dumps(spec, indent=2, sort_keys=True))
            os.replace(tmp, folder / SPEC)
        writer = {"pid": os.getpid(), "hostname": socket.gethostname()}
        write_table_atomically(pa.Table.from_pylist([{**row, **writer}]), folder / EXPERIMENT)

    def _row(self, experiment: str) -> dict[str, Any] | str:
        """The experiment's row as written, or why it cannot be read."""
        path = self.experiment_dir(experiment) / EXPERIMENT
        if not path.is_file():
            return "missing"
        try:
            rows = pq.read_table(path).to_pylist()
        except (OSError, pa.ArrowException):
            return "not a readable Parquet file"
        if len(rows) != 1 or rows[0].get("experiment") != experiment or "status" not in rows[0]:
            return "not this experiment's row"
        return rows[0]

    def experiment_row(self, experiment: str) -> dict[str, Any]:
        """The experiment's row; a ``running`` status whose writer on this host is gone reads ``interrupted``."""
        row = self._row(experiment)
        if isinstance(row, str):
            raise KeyError(f"experiment {experiment}: {EXPERIMENT} {row}")
        if (
            row["status"] == "running"
            and row.get("hostname") == socket.gethostname()
            and row.get("pid") is not None
            and not _alive(row["pid"])
        ):
            row = {**row, "status": "interrupted"}
        return row

    def status(self, experiment: str) -> str:
        """``running``, ``complete``, ``partial`` or ``interrupted`` (see :meth:`experiment_row`)."""
        return self.experiment_row(experiment)["status"]

    def spec(self, experiment: str) -> dict[str, Any]:
        """The stored spec: ``spec.json``, else (with a warning) the copy in the experiment's row."""
        path = self.experiment_dir(experiment) / SPEC
        try:
            return json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as err:
            self._warn(path, f"not readable ({type(err).__name__})", "read the experiment row's copy")
        return json.loads(self.experiment_row(experiment)["spec"])

    # ---- chunks ------------------------------------------------------------------------------
    def _scan(self, experiment: str, full: bool = False) -> tuple[list[Path], list[Problem]]:
        """(chunks that pass the check, damaged entries of ``chunks/`` with reasons), in name order."""
        folder = self.chunks_dir(experiment)
        if not folder.exists() and not folder.is_symlink():
            return [], []
        if folder.is_symlink() or not folder.is_dir():
            return [], [(folder, "not a folder")]
        good: list[Path] = []
        damaged: list[Problem] = []
        claimed = _Intervals()
        for entry in sorted(folder.iterdir()):
            reason, manifest = check_chunk(entry, experiment, full)
            if reason is None:
                owner = claimed.overlap(manifest["runs"])
                if owner is None:
                    claimed.add(manifest["runs"], entry.name)
                    good.append(entry)
                    continue
                reason = f"its runs are stored in chunk {owner} already (a copy?)"
            damaged.append((entry, reason))
        return good, damaged

    def chunk_dirs(self, experiment: str) -> list[Path]:
        """Chunks that pass their quick check; damaged ones are skipped and named in a warning."""
        good, damaged = self._scan(experiment)
        for path, reason in damaged:
            self._warn(path, reason)
        return good

    def damaged_chunks(self, experiment: str, full: bool = False) -> list[Problem]:
        """Entries of ``chunks/`` that fail the quick (or ``full``) check, with the reason."""
        return self._scan(experiment, full)[1]

    def _read_chunk(self, chunk: Path, name: str, columns: list[str] | None = None) -> pa.Table | None:
        try:
            return pq.read_table(chunk / name, columns=columns)
        except (OSError, pa.ArrowException) as err:
            self._warn(chunk / name, f"not readable ({str(err).splitlines()[0] if str(err) else type(err).__name__})")
            return None

    def _column(self, experiment: str, column: str) -> list:
        """One column of every readable chunk's ``runs.parquet``."""
        values: list = []
        for chunk in self.chunk_dirs(experiment):
            table = self._read_chunk(chunk, RUNS, [column])
            if table is not None:
                values += table.column(column).to_pylist()
        return values

    def stored_runs(self, experiment: str) -> set[int]:
        """Indices of the runs whose chunk is stored whole."""
        return set(self._column(experiment, "run"))

    def status_counts(self, experiment: str) -> dict[str, int]:
        """Number of stored runs per status, reading only the ``status`` column."""
        counts: dict[str, int] = {}
        for status in self._column(experiment, "status"):
            counts[status] = counts.get(status, 0) + 1
        return counts

    def write_chunk(self, experiment: str, chunk: str, runs: pa.Table, curves: pa.Table) -> bool:
        """Store one chunk atomically, manifest last; False if the same chunk was already stored by someone else."""
        final = self.chunks_dir(experiment) / chunk
        tmp = self.experiment_dir(experiment) / "tmp" / f"{chunk}.{os.getpid()}.{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        pq.write_table(curves, tmp / CURVES)
        pq.write_table(runs, tmp / RUNS)
        for name in (CURVES, RUNS):
            _fsync(tmp / name)
        manifest = chunk_manifest(
            experiment, chunk, tmp, runs.column("run").to_pylist(), {RUNS: runs.num_rows, CURVES: curves.num_rows}
        )
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        _fsync(tmp / MANIFEST)
        _fsync(tmp)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if final.exists():  # a concurrent writer stored the same chunk first
                shutil.rmtree(tmp, ignore_errors=True)
                return False
            raise
        _fsync(final.parent)
        return True

    # ---- damage ------------------------------------------------------------------------------
    def quarantine(self, experiment: str, path: Path) -> Path | None:
        """Move a damaged entry into ``<experiment>/quarantine/`` (never deleted); None if it is gone already."""
        folder = self.experiment_dir(experiment) / QUARANTINE
        folder.mkdir(exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        target = folder / f"{path.name}.{stamp}.{uuid.uuid4().hex[:8]}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        return target

    def quarantine_damaged(self, experiment: str, full: bool = False) -> list[Problem]:
        """Quarantine every entry of ``chunks/`` (or ``chunks`` itself) that fails its check; returns them."""
        damaged = self.damaged_chunks(experiment, full)
        for path, _ in damaged:
            self.quarantine(experiment, path)
        return damaged

    def _file_problems(self, experiment: str) -> list[Problem]:
        """Damaged experiment-level files (row, spec, verdicts, theory) and stray entries."""
        folder = self.experiment_dir(experiment)
        problems: list[Problem] = []
        row = self._row(experiment)
        if isinstance(row, str):
            problems.append((folder / EXPERIMENT, row))
        try:
            json.loads((folder / SPEC).read_text())
        except (OSError, UnicodeDecodeError, ValueError) as err:
            problems.append((folder / SPEC, f"not readable ({type(err).__name__})"))
        for name in (VERDICTS, THEORY):
            path = folder / name
            if path.exists() or path.is_symlink():
                try:
                    pq.read_table(path)
                except (OSError, pa.ArrowException):
                    problems.append((path, "not a readable Parquet file"))
        if (folder / "tmp").exists() and not (folder / "tmp").is_dir():
            problems.append((folder / "tmp", "not a folder"))
        problems += [
            (p, "stray entry")
            for p in sorted(folder.iterdir())
            if p.name not in KNOWN_ENTRIES and not p.name.startswith(".")
        ]
        return problems

    def verify(self, experiment: str) -> list[Problem]:
        """Everything damaged in one experiment folder: its files, its chunks under the full check (sha256),
        and runs missing from an experiment whose status says ``complete``."""
        good, damaged = self._scan(experiment, full=True)
        problems = self._file_problems(experiment) + damaged
        row = self._row(experiment)
        if not problems and row["status"] == "complete":
            stored = sum(pq.read_metadata(chunk / RUNS).num_rows for chunk in good)
            if stored != row["n_runs"]:
                reason = f"status complete, but {row['n_runs'] - stored} of its {row['n_runs']} runs are missing"
                problems.append((self.experiment_dir(experiment) / EXPERIMENT, reason))
        return problems

    def clear(self, experiment: str) -> None:
        """Forget an experiment's stored chunks and verdicts (``--force``)."""
        for name in ("chunks", "tmp"):
            path = self.experiment_dir(experiment) / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists() or path.is_symlink():
                self.quarantine(experiment, path)
        (self.experiment_dir(experiment) / VERDICTS).unlink(missing_ok=True)

    def clean_tmp(self, experiment: str) -> None:
        """Remove temporary folders left by writers that are gone (never read; a live writer's are kept);
        a ``tmp`` that is not a folder is quarantined."""
        folder = self.experiment_dir(experiment) / "tmp"
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            self.quarantine(experiment, folder)
            return
        if not folder.exists():
            return
        for item in folder.iterdir():
            parts = item.name.split(".")
            pid = int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None
            if pid is None or not _alive(pid):
                if item.is_dir() and not item.is_symlink():
                    shutil.rmtree(item, ignore_errors=True)
                else:
                    item.unlink(missing_ok=True)

    # ---- verdicts ----------------------------------------------------------------------------
    def write_verdicts(self, experiment: str, rows: Iterable[dict[str, Any]], control: str = "") -> None:
        """Add the verdicts of one judge of the experiment — its spec's ``[theory]`` section (``study = ""``) or a
        study, for the study itself (``control = ""``) or one of its controls — replacing that judge's earlier
        verdicts and keeping everybody else's."""
        rows = [{"experiment": experiment, "control": control, "study": "", **r} for r in rows]
        if not rows:
            return
        judge = (control, rows[0]["study"])
        kept = self.verdicts(experiment, control=None)
        if len(kept):
            study = kept["study"].fillna("") if "study" in kept else ""
            kept = kept[~((kept["control"] == judge[0]) & (study == judge[1]))]
        records = (kept.to_dict("records") if len(kept) else []) + rows
        columns = list(dict.fromkeys(key for record in records for key in record))  # old files may lack a column
        table = pa.Table.from_pylist([{key: record.get(key) for key in columns} for record in records])
        write_table_atomically(table, self.experiment_dir(experiment) / VERDICTS)

    def write_theory(self, experiment: str, table: pa.Table) -> None:
        """Store the experiment's predicted curves (the ``theory`` table: ``experiment, step, value, prediction,
        curve`` and the swept axes' columns), replacing earlier ones."""
        write_table_atomically(table, self.experiment_dir(experiment) / THEORY)

    def theory(self, experiment: str):
        """The experiment's ``theory`` table as a pandas DataFrame (None when it has none or it does not read)."""
        path = self.experiment_dir(experiment) / THEORY
        if not path.is_file():
            return None
        try:
            return pq.read_table(path).to_pandas()
        except (OSError, pa.ArrowException):
            self._warn(path, "not a readable Parquet file")
            return None

    # ---- reading -----------------------------------------------------------------------------
    def read(self, experiment: str, table: str):
        """``runs`` or ``curves`` of one experiment as a pandas DataFrame (readable chunks concatenated)."""
        import pandas as pd

        name = {"runs": RUNS, "curves": CURVES}[table]
        parts = [t for t in (self._read_chunk(c, name) for c in self.chunk_dirs(experiment)) if t is not None]
        if not parts:
            return pd.DataFrame()
        frame = pa.concat_tables(parts, promote_options="default").to_pandas()
        return frame.sort_values(["run", "step", "metric"] if table == "curves" else ["run"]).reset_index(drop=True)

    def verdicts(self, experiment: str, control: str | None = ""):
        """The experiment's verdicts: those of its study or spec (``control = ""``), of one control, or all of
        them (``None``), with a ``control`` column; empty, with a warning, when the file does not read."""
        import pandas as pd

        path = self.experiment_dir(experiment) / VERDICTS
        if not (path.exists() or path.is_symlink()):
            return pd.DataFrame()
        try:
            frame = pq.read_table(path).to_pandas()
        except (OSError, pa.ArrowException):
            self._warn(path, "not a readable Parquet file")
            return pd.DataFrame()
        if "control" not in frame:
            frame["control"] = ""
        frame["control"] = frame["control"].fillna("")
        return frame if control is None else frame[frame["control"] == control].reset_index(drop=True)
