"""Ray vs local: throughput of one sweep cut into 64 chunks, with the Ray executor and in process.

Workload: streaming SGD on power-law least squares (d = 64), 16 learning rates × 16 seeds = 256
runs of ``--steps`` steps, ``chunk_size = vmap_width = 4`` → 64 chunks. Each executor runs the sweep
once to warm up (Ray: starting its workers, their imports and compiles) and then ``--repeats``
fresh sweeps (a new root seed each, so nothing is resumed) that are timed end to end (wall clock of
``run_spec``: device, transfer, store). Ray runs on a local instance started here (``--num-cpus``
workers) or on ``--address``. The local instance is started inside a network namespace whose only
interface is ``lo`` (``descentlab.engine.loopback``; Ray would otherwise listen on the machine's
interface address), and the benchmark checks that every node's address is in 127.0.0.0/8.

The last line is ``local_runs_per_s=<…> ray_runs_per_s=<…> ray_vs_local=<ray/local>``.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import tempfile
import time

import numpy as np

from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.loopback import interfaces, loopback_command, unavailable_reason
from descentlab.engine.plan import Plan
from descentlab.engine.ray_executor import RayExecutor


def spec(seed: int, steps: int):
    return spec_from_dict(
        {
            "name": f"ray-vs-local-{seed}",
            "problem": {"name": "least_squares", "dim": 64, "spectrum": "power_law", "noise": 0.1},
            "optimizer": {"name": "sgd", "learning_rate": {"logspace": [0.05, 1.0, 16]}},
            "run": {"steps": steps, "seeds": 16, "checkpoints": 10, "chunk_size": 4, "vmap_width": 4, "seed": seed},
        }
    )


def timed(executor, store: str, steps: int, repeats: int, offset: int) -> float:
    run_spec(spec(offset, steps), store, executor=executor)  # warm-up
    rates = []
    for repeat in range(1, repeats + 1):
        s = spec(offset + repeat, steps)
        start = time.perf_counter()
        summary = run_spec(s, store, executor=executor)
        rates.append(summary.n_runs / (time.perf_counter() - start))
    return float(np.median(rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--address", default=None)
    args = parser.parse_args()
    if args.address is None and interfaces() != ["lo"]:
        reason = unavailable_reason()
        if reason is not None:
            raise SystemExit(f"a local Ray instance runs only on loopback here, and {reason}")
        command = loopback_command([sys.executable, *sys.argv])
        os.execvp(command[0], command)
    n_chunks = -(-Plan.from_spec(spec(0, args.steps)).n_runs // 4)
    with tempfile.TemporaryDirectory() as store:
        local = timed(None, store, args.steps, args.repeats, 0)
        init = {} if args.address else {"num_cpus": args.num_cpus}
        ray_executor = RayExecutor(address=args.address, init_kwargs=init)
        import ray as ray_module

        try:
            ray = timed(ray_executor, store, args.steps, args.repeats, 100)
            addresses = [node["NodeManagerAddress"] for node in ray_module.nodes()]
            if args.address is None:
                assert all(ipaddress.ip_address(a).is_loopback for a in addresses), addresses
        finally:
            ray_module.shutdown()
    print(
        f"{n_chunks} chunks of 4 runs × {args.steps} steps; ray: {args.address or f'local, {args.num_cpus} CPUs'}; "
        f"node addresses: {', '.join(sorted(set(addresses)))}"
    )
    print(f"local_runs_per_s={local:.1f} ray_runs_per_s={ray:.1f} ray_vs_local={ray / local:.3f}")


if __name__ == "__main__":
    main()
