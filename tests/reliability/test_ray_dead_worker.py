"""A real Ray cluster (head + one worker), confined to loopback; the worker is killed mid-sweep.

Ray rewrites ``--node-ip-address 127.0.0.1`` to the machine's interface address, so the cluster is
started inside a network namespace that holds only ``lo`` (``descentlab.engine.loopback``): the
outer test re-runs this module's ``inside`` tests there with pytest, and they assert that the
namespace has no other interface and that every Ray node's address is in 127.0.0.0/8. Where no
namespace can be made (no ``unshare``, no privilege), the test is skipped and says why.

Inside: the test starts both nodes itself (``ray start --block``, each in its own process group, with
a private temporary folder) and stops them by process-group id at the end. The sweep must complete
with every run stored exactly once, with the same rows as an in-process run; an exception raised by a
chunk's own code must come back once, as itself, without retries.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.loopback import interfaces, loopback_command, unavailable_reason
from descentlab.params import SpecError
from descentlab.store import Store, query
from descentlab.store.schema import results_only

ray = pytest.importorskip("ray")

INSIDE = "DESCENTLAB_INSIDE_LOOPBACK_NAMESPACE"
inside_only = pytest.mark.skipif(
    os.environ.get(INSIDE) != "1", reason="runs inside the loopback-only namespace made by test_ray_on_loopback_only"
)

SPEC = {
    "name": "ray-dead-worker",
    "problem": {"name": "least_squares", "dim": 8, "noise": 0.1},
    "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.05, 0.1, 0.2, 0.4]}},
    "run": {"steps": 30, "seeds": 16, "checkpoints": 4, "chunk_size": 4, "vmap_width": 4},
}


def test_ray_on_loopback_only(tmp_path):
    """Runs the ``inside`` tests below in a namespace whose only interface is ``lo``."""
    if os.environ.get(INSIDE) == "1":
        pytest.skip("already inside the namespace")
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    command = loopback_command(
        [
            sys.executable,
            "-m",
            "pytest",
            __file__,
            "-k",
            "inside",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "inside"),
        ]
    )
    done = subprocess.run(command, env={**os.environ, INSIDE: "1"}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "4 passed" in done.stdout, done.stdout[-3000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli() -> str:
    candidate = Path(sys.executable).with_name("ray")
    return str(candidate) if candidate.exists() else (shutil.which("ray") or "ray")


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [_ray_cli(), "start", "--block", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _alive_nodes() -> int:
    return sum(1 for n in ray.nodes() if n["Alive"])


def _on_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


@pytest.fixture(scope="module")
def cluster():
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="dlray", dir="/tmp")  # short: Ray's socket paths live under it
    # a private cluster on the loopback address, without token authentication (nothing else can reach it)
    settings = {"JAX_PLATFORMS": "cpu", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)  # the driver (this process) must agree with the nodes
    env = dict(os.environ)
    head = _start(
        [
            "--head",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=1",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
            "--disable-usage-stats",
        ],
        env,
    )
    worker = None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None and time.monotonic() < deadline, "ray head did not start"
                time.sleep(0.5)
        worker = _start([f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1", "--num-cpus=1"], env)
        ray.init(address=f"127.0.0.1:{port}", include_dashboard=False, log_to_driver=False)
        while _alive_nodes() < 2:
            assert time.monotonic() < deadline, "ray worker did not join"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", worker
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for process in (worker, head):
            if process is not None:
                _kill_group(process, signal.SIGTERM)
        time.sleep(1.0)
        for process in (worker, head):
            if process is not None:
                _kill_group(process)
                process.wait(timeout=30)
        shutil.rmtree(temp, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@inside_only
def test_inside_every_node_is_on_loopback(cluster):
    address, _ = cluster
    assert interfaces() == ["lo"]
    nodes = ray.nodes()
    assert len(nodes) == 2
    for node in nodes:
        assert _on_loopback(node["NodeManagerAddress"]), node["NodeManagerAddress"]
    assert _on_loopback(ray.util.get_node_ip_address())
    assert _on_loopback(address.rpartition(":")[0])


@inside_only
def test_inside_a_failing_chunk_comes_back_once_as_itself(cluster):
    from descentlab.engine.executors import ChunkTask
    from descentlab.engine.plan import Plan
    from descentlab.engine.ray_executor import RayExecutor

    address, _ = cluster
    spec = spec_from_dict(SPEC)
    bad = ChunkTask(group=7, runs=(0, 1, 2, 3), size=4, width=4, chunk_id="no-such-group")
    start = time.monotonic()
    with pytest.raises(IndexError):
        list(RayExecutor(address=address, max_retries=3).map(spec, Plan.from_spec(spec), [bad]))
    assert time.monotonic() - start < 60


@inside_only
def test_inside_sweep_survives_a_dead_worker(cluster, tmp_path):
    from descentlab.engine.ray_executor import RayExecutor

    address, worker = cluster
    spec = spec_from_dict(SPEC)
    killed = {}

    def progress(done, total, diverged):
        if done > 0 and not killed:
            killed["at"] = done
            _kill_group(worker)
            worker.wait(timeout=30)

    summary = run_spec(spec, tmp_path / "ray", executor=RayExecutor(address=address, max_retries=5), progress=progress)
    assert killed and killed["at"] < 64, "the worker must die in the middle of the sweep"
    deadline = time.monotonic() + 60
    while _alive_nodes() > 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _alive_nodes() == 1
    counts = query(tmp_path / "ray", "select count(*) as n, count(distinct run) as d from runs")
    assert counts.loc[0, "n"] == counts.loc[0, "d"] == 64
    run_spec(spec, tmp_path / "local")
    for table in ("runs", "curves"):
        got = results_only(Store(tmp_path / "ray").read(summary.experiment, table))
        want = results_only(Store(tmp_path / "local").read(summary.experiment, table))
        pd.testing.assert_frame_equal(got, want, check_exact=True)


@inside_only
def test_inside_a_search_runs_on_ray_like_on_the_local_executor(cluster, tmp_path):
    """A search's plan (its candidates, not a product grid) travels to the workers whole: the same rows as local."""
    from descentlab.engine.ray_executor import RayExecutor
    from descentlab.engine.search import search

    address, _ = cluster
    body = {**SPEC, "optimizer": {"name": "sgd", "learning_rate": {"logspace": [0.01, 0.3, 4]}}}
    on_ray = search(body, method="sobol", n=5, store=tmp_path / "ray", executor=RayExecutor(address=address))
    local = search(body, method="sobol", n=5, store=tmp_path / "local")
    assert on_ray.experiments == local.experiments
    pd.testing.assert_frame_equal(on_ray.candidates, local.candidates, check_exact=True)
    row = Store(tmp_path / "ray").experiment_row(on_ray.experiments[0])
    assert row["executor"] == "ray" and row["status"] == "complete"


def test_an_address_nobody_answers_is_refused_at_once():
    from descentlab.engine.ray_executor import RayExecutor

    port = _free_port()  # bound and released: nothing listens there
    start = time.monotonic()
    with pytest.raises(SpecError, match="--address"):
        RayExecutor(address=f"127.0.0.1:{port}")
    with pytest.raises(SpecError, match="HOST:PORT"):
        RayExecutor(address="127.0.0.1")
    assert time.monotonic() - start < 10
