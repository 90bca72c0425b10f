"""A trustworthy store: damage is skipped and named by readers, found by ``verify``, repaired by ``verify --repair``;
read-only commands write nothing; the status says ``interrupted`` when a run was stopped.

Every corruption case starts from a copy of one stored experiment (16 runs in 4 chunks) and checks that
(a) SQL still works and counts only the runs of good chunks, (b) ``verify`` names the damage and exits 1,
(c) ``verify --repair`` restores every run exactly once, equal bit for bit to the undamaged rows, and
(d) nothing outside the experiment's folder changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from descentlab.cli import app
from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.executors import LocalExecutor, ProgramCache, blocks_per_call, memory_per_run
from descentlab.engine.search import to_toml
from descentlab.params import SpecError
from descentlab.store import Store
from descentlab.store.schema import results_only
from tests.reliability._procs import environment, start_run_after

SPEC = {
    "name": "integrity",
    "problem": {"name": "least_squares", "dim": 8, "noise": 0.1},
    "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.1, 0.2]}},
    "run": {"steps": 20, "seeds": 8, "checkpoints": 4, "chunk_size": 4, "vmap_width": 4},
}
N_RUNS = 16
GARBAGE = bytes(range(256)) * 3 + b"not parquet"


@dataclass(frozen=True)
class Stored:
    root: Path
    experiment: str

    @property
    def folder(self) -> Path:
        return self.root / self.experiment

    def chunk(self, i: int = 1) -> Path:
        return sorted((self.folder / "chunks").iterdir())[i]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Stored, pd.DataFrame, pd.DataFrame]:
    root = tmp_path_factory.mktemp("reference") / "store"
    summary = run_spec(spec_from_dict(SPEC), root)
    store = Store(root)
    return (
        Stored(root, summary.experiment),
        store.read(summary.experiment, "runs"),
        store.read(summary.experiment, "curves"),
    )


# ---- corruptions: each damages a copy and returns (runs SQL may count, a name verify must print) ------------------
Case = Callable[[Stored], tuple[set[int], str | None]]


def truncate(name: str) -> Case:
    def corrupt(s: Stored):
        path = s.chunk() / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return {12}, s.chunk().name

    return corrupt


def zero_bytes(name: str) -> Case:
    def corrupt(s: Stored):
        (s.chunk() / name).write_bytes(b"")
        return {12}, s.chunk().name

    return corrupt


def garbage(name: str, same_size: bool = False) -> Case:
    def corrupt(s: Stored):
        path = s.chunk() / name
        size = path.stat().st_size
        path.write_bytes((GARBAGE * (size // len(GARBAGE) + 1))[:size] if same_size else GARBAGE)
        return {12}, s.chunk().name

    return corrupt


def delete(name: str) -> Case:
    def corrupt(s: Stored):
        (s.chunk() / name).unlink()
        return {12}, s.chunk().name

    return corrupt


def foreign_schema(name: str) -> Case:
    def corrupt(s: Stored):
        pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), s.chunk() / name)
        return {12}, s.chunk().name

    return corrupt


def swapped_manifests(s: Stored):
    a, b = s.chunk(1) / "manifest.json", s.chunk(2) / "manifest.json"
    text = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(text)
    return {8}, s.chunk(2).name


def copied_chunk(s: Stored):
    shutil.copytree(s.chunk(), s.folder / "chunks" / "copy-of-a-chunk")
    return {16}, "copy-of-a-chunk"


def copied_chunk_with_its_id(s: Stored):
    copy = s.folder / "chunks" / f"{s.chunk().name}-zz"
    shutil.copytree(s.chunk(), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "chunk": copy.name}))
    return {16}, copy.name


def chunk_inside_itself(s: Stored):
    shutil.copytree(s.chunk(), s.chunk() / s.chunk().name)
    return {16}, s.chunk().name


def file_for_chunk_folder(s: Stored):
    chunk = s.chunk()
    shutil.rmtree(chunk)
    chunk.write_bytes(GARBAGE)
    return {12}, chunk.name


def folder_for_runs_file(s: Stored):
    (s.chunk() / "runs.parquet").unlink()
    (s.chunk() / "runs.parquet").mkdir()
    return {12}, s.chunk().name


def deleted_chunk_folder(s: Stored):
    shutil.rmtree(s.chunk())
    return {12}, "4 of its 16 runs are missing"


def edited_value(s: Stored):
    path = s.chunk() / "curves.parquet"
    table = pq.read_table(path)
    values = table.column("value").to_pylist()
    values[3] *= 1.5
    pq.write_table(table.set_column(table.schema.get_field_index("value"), "value", pa.array(values)), path)
    return {12, 16}, s.chunk().name  # a same-size edit passes the quick check; only the checksum sees it


def stray_file_in_chunks(s: Stored):
    (s.folder / "chunks" / "notes.txt").write_text("left here")
    return {16}, "notes.txt"


def stray_parquet_in_experiment(s: Stored):
    shutil.copy(s.chunk() / "runs.parquet", s.folder / "extra.parquet")
    return {16}, "extra.parquet"


def stray_folder_at_root(s: Stored):
    (s.root / "junk").mkdir()
    (s.root / "junk" / "x.parquet").write_bytes(GARBAGE)
    return {16}, None  # not an experiment: nothing to verify


def experiment_file(corruption: str) -> Case:
    def corrupt(s: Stored):
        path = s.folder / "experiment.parquet"
        path.unlink() if corruption == "deleted" else path.write_bytes(GARBAGE)
        return {0}, "experiment.parquet"

    return corrupt


def spec_file(corruption: str) -> Case:
    def corrupt(s: Stored):
        path = s.folder / "spec.json"
        path.unlink() if corruption == "deleted" else path.write_bytes(b"{ not json")
        return {16}, "spec.json"

    return corrupt


def garbage_file(name: str) -> Case:
    def corrupt(s: Stored):
        (s.folder / name).write_bytes(GARBAGE)
        return {16}, name

    return corrupt


def chunks_is_a_file(s: Stored):
    shutil.rmtree(s.folder / "chunks")
    (s.folder / "chunks").write_bytes(GARBAGE)
    return {0}, "chunks: not a folder"


def tmp_is_a_file(s: Stored):
    shutil.rmtree(s.folder / "tmp", ignore_errors=True)
    (s.folder / "tmp").write_bytes(GARBAGE)
    return {16}, "tmp: not a folder"


CASES: dict[str, Case] = {
    "truncated runs.parquet": truncate("runs.parquet"),
    "truncated curves.parquet": truncate("curves.parquet"),
    "zero-byte runs.parquet": zero_bytes("runs.parquet"),
    "zero-byte curves.parquet": zero_bytes("curves.parquet"),
    "garbage runs.parquet": garbage("runs.parquet"),
    "garbage curves.parquet of the same size": garbage("curves.parquet", same_size=True),
    "deleted runs.parquet": delete("runs.parquet"),
    "deleted curves.parquet": delete("curves.parquet"),
    "deleted manifest": delete("manifest.json"),
    "garbage manifest": garbage("manifest.json"),
    "swapped manifests": swapped_manifests,
    "chunk copied under another name": copied_chunk,
    "chunk copied with a matching id": copied_chunk_with_its_id,
    "chunk duplicated inside itself": chunk_inside_itself,
    "foreign-schema runs.parquet": foreign_schema("runs.parquet"),
    "foreign-schema curves.parquet": foreign_schema("curves.parquet"),
    "file where a chunk folder should be": file_for_chunk_folder,
    "folder where runs.parquet should be": folder_for_runs_file,
    "deleted chunk folder": deleted_chunk_folder,
    "edited value": edited_value,
    "stray file in chunks": stray_file_in_chunks,
    "stray parquet in the experiment folder": stray_parquet_in_experiment,
    "stray folder at the store root": stray_folder_at_root,
    "garbage experiment.parquet": experiment_file("garbage"),
    "deleted experiment.parquet": experiment_file("deleted"),
    "garbage spec.json": spec_file("garbage"),
    "deleted spec.json": spec_file("deleted"),
    "garbage verdicts.parquet": garbage_file("verdicts.parquet"),
    "garbage theory.parquet": garbage_file("theory.parquet"),
    "chunks is a file": chunks_is_a_file,
    "tmp is a file": tmp_is_a_file,
}


# ---- helpers ------------------------------------------------------------------------------------------------------
def cli(root: Path, *args: str):
    result = CliRunner().invoke(app, ["--store", str(root), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def count_runs(root: Path) -> tuple[int, int]:
    result = cli(root, "query", "select count(*) as n, count(distinct run) as d from runs", "--format", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    return row["n"], row["d"]


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """Every path under ``root`` (but ``skip``): type, size, mtime and content hash."""
    out = {}
    for path in [root, *sorted(root.rglob("*"))]:
        if skip is not None and (path == skip or skip in path.parents):
            continue
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else None
        out[str(path.relative_to(root))] = (stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns, digest)
    return out


def damaged_copy(reference, tmp_path: Path, case: str) -> tuple[Stored, set[int], str | None]:
    source = reference[0]
    stored = Stored(tmp_path / "store", source.experiment)
    shutil.copytree(source.root, stored.root)
    visible, named = CASES[case](stored)
    return stored, visible, named


# ---- the corruption cases -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_damage_is_skipped_named_and_repaired(reference, tmp_path, case, caplog):
    _, runs, curves = reference
    stored, visible, named = damaged_copy(reference, tmp_path, case)
    before = snapshot(stored.root)

    n, distinct = count_runs(stored.root)  # (a) SQL works and counts only good chunks, each run once
    assert n == distinct and n in visible
    if n < N_RUNS and case != "deleted chunk folder":  # readers name what they skip; a missing folder is no file
        assert any(named.split(":")[0] in record.getMessage() for record in caplog.records), caplog.text
    checked = cli(stored.root, "verify")  # (b) named, exit 1 — and, like query, wrote nothing
    assert snapshot(stored.root) == before
    if named is None:
        assert checked.exit_code == 0 and "ok" in checked.stdout
    else:
        assert checked.exit_code == 1 and named in checked.stdout, checked.stdout

    outside = snapshot(stored.root, skip=stored.folder)
    repaired = cli(stored.root, "verify", "--repair")  # (c) every run once, the same bits
    assert repaired.exit_code == 0, repaired.output
    assert cli(stored.root, "verify").exit_code == 0
    assert count_runs(stored.root) == (N_RUNS, N_RUNS)
    store = Store(stored.root)
    pd.testing.assert_frame_equal(
        results_only(store.read(stored.experiment, "runs")), results_only(runs), check_exact=True
    )
    pd.testing.assert_frame_equal(store.read(stored.experiment, "curves"), curves, check_exact=True)
    assert store.status(stored.experiment) == "complete"
    assert snapshot(stored.root, skip=stored.folder) == outside  # (d)


def test_a_rerun_quarantines_and_recomputes_damaged_chunks(reference, tmp_path):
    _, runs, _ = reference
    stored, _, _ = damaged_copy(reference, tmp_path, "truncated curves.parquet")
    damaged = stored.chunk().name
    summary = run_spec(spec_from_dict(SPEC), stored.root)
    assert (summary.computed, summary.skipped) == (4, 12)
    assert [p.name.split(".")[0] for p in (stored.folder / "quarantine").iterdir()] == [damaged]
    pd.testing.assert_frame_equal(
        results_only(Store(stored.root).read(stored.experiment, "runs")), results_only(runs), check_exact=True
    )


def test_a_foreign_experiment_folder_is_reported_and_left_alone(reference, tmp_path):
    stored, _, _ = damaged_copy(reference, tmp_path, "stray folder at the store root")
    (stored.root / "junk" / "experiment.parquet").write_bytes(GARBAGE)
    assert count_runs(stored.root) == (N_RUNS, N_RUNS)
    before = snapshot(stored.root)
    result = cli(stored.root, "verify", "--repair")
    assert result.exit_code == 1 and "junk: 3 damaged" in result.stdout and "no readable spec" in result.stdout
    assert f"{stored.experiment}: ok" in result.stdout
    assert snapshot(stored.root) == before


READ_ONLY = r"""
import sys
from typer.testing import CliRunner
from descentlab.cli import app
root, experiment = sys.argv[1:]
for args in (["show", experiment], ["query", "select count(*) from runs"], ["verify"], ["list", "studies"]):
    result = CliRunner().invoke(app, ["--store", root, *args])
    assert result.exit_code == (1 if args == ["verify"] else 0) and result.exception is None or \
        isinstance(result.exception, SystemExit), (args, result.output, result.exception)
    print(args[0], result.exit_code)
"""


def test_read_only_commands_work_on_a_read_only_store(reference, tmp_path):
    stored, _, _ = damaged_copy(reference, tmp_path, "garbage runs.parquet")
    before = snapshot(stored.root)
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("needs unshare -m for a read-only bind mount")
    script = tmp_path / "read_only.py"
    script.write_text(READ_ONLY)
    mount = f"mount --bind {stored.root} {stored.root} && mount -o remount,bind,ro {stored.root}"
    command = f"{mount} && {sys.executable} {script} {stored.root} {stored.experiment}"
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment(),
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["show", "0", "query", "0", "verify", "1", "list", "0"]
    assert snapshot(stored.root) == before


# ---- status and validation ------------------------------------------------------------------------------------------
class Interrupting(LocalExecutor):
    """Stores one chunk, then the user presses Ctrl-C."""

    def map(self, spec, the_plan, tasks):
        for result in super().map(spec, the_plan, tasks):
            yield result
            raise KeyboardInterrupt


def test_ctrl_c_leaves_status_interrupted_and_a_rerun_completes(tmp_path):
    spec = spec_from_dict(SPEC)
    with pytest.raises(KeyboardInterrupt):
        run_spec(spec, tmp_path, executor=Interrupting())
    store = Store(tmp_path)
    assert store.status(spec.content_hash()) == "interrupted"
    assert len(store.stored_runs(spec.content_hash())) == 4
    assert run_spec(spec, tmp_path).computed == 12
    assert store.status(spec.content_hash()) == "complete"


def test_a_killed_run_reads_interrupted(tmp_path):
    body = {**SPEC, "run": {**SPEC["run"], "seeds": 256, "chunk_size": 2, "vmap_width": 2}}
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(to_toml(body))
    store = tmp_path / "store"
    process = start_run_after(store, spec_path, chunks=2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, process.stdout.read()
    experiment = spec_from_dict(body).content_hash()
    row = pq.read_table(store / experiment / "experiment.parquet").to_pylist()[0]
    assert (row["status"], row["pid"]) == ("running", process.pid)
    assert Store(store).status(experiment) == "interrupted"


def test_nothing_is_written_before_the_spec_passes_every_check(tmp_path):
    device, host = memory_per_run(spec_from_dict(SPEC), ProgramCache(spec_from_dict(SPEC)).program(0))
    body = {**SPEC, "run": {**SPEC["run"], "memory_budget_mb": (4 * host + 4 * device - 1) / 2**20}}
    with pytest.raises(SpecError, match=r"one vmap block of 4 runs needs .* MiB"):
        run_spec(spec_from_dict(body), tmp_path / "store")
    assert not (tmp_path / "store").exists()
    with pytest.raises(SpecError, match=r"run\.memory_budget_mb: got inf; .*finite"):
        spec_from_dict({**SPEC, "run": {**SPEC["run"], "memory_budget_mb": float("inf")}})


def test_the_memory_budget_changes_neither_chunks_nor_results(tmp_path):
    body = {**SPEC, "run": {**SPEC["run"], "chunk_size": 16}}  # one chunk of 4 vmap blocks
    program = ProgramCache(spec_from_dict(body)).program(0)
    device, host = memory_per_run(spec_from_dict(body), program)
    tight = {**body, "run": {**body["run"], "memory_budget_mb": (16 * host + 4 * device + 1) / 2**20}}
    stores = {}
    for name, spec in (("roomy", spec_from_dict(body)), ("tight", spec_from_dict(tight))):
        assert blocks_per_call(spec, program, 16, 4) == (4 if name == "roomy" else 1)
        stores[name] = Store(tmp_path / name)
        run_spec(spec, stores[name].root)
    experiment = spec_from_dict(body).content_hash()
    assert experiment == spec_from_dict(tight).content_hash()
    assert [c.name for c in stores["roomy"].chunk_dirs(experiment)] == [
        c.name for c in stores["tight"].chunk_dirs(experiment)
    ]
    for table in ("runs", "curves"):
        pd.testing.assert_frame_equal(
            results_only(stores["roomy"].read(experiment, table)),
            results_only(stores["tight"].read(experiment, table)),
            check_exact=True,
        )


def test_status_of_a_live_writer_stays_running(tmp_path):
    spec = spec_from_dict(SPEC)
    store = Store(tmp_path)
    store.write_experiment(spec.content_hash(), {"experiment": spec.content_hash(), "status": "running"})
    assert store.status(spec.content_hash()) == "running"
    assert store.experiment_row(spec.content_hash())["pid"] == os.getpid()
