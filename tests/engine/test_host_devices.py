"""One JAX host device per core by default; the user's own setting wins; results do not depend on the count."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import pandas as pd

from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.executors import usable_devices
from descentlab.host_devices import ENVIRONMENT, available_cores
from descentlab.store import Store
from descentlab.store.schema import results_only
from tests.conftest import small_spec_dict

COUNT = "import descentlab, jax; print(len(jax.devices()))"


def devices_seen(**env: str) -> int:
    """The device count a fresh ``import descentlab`` gives under ``env`` (XLA_FLAGS and the override cleared)."""
    base = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", ENVIRONMENT)}
    done = subprocess.run(
        [sys.executable, "-c", COUNT],
        env={**base, "JAX_PLATFORMS": "cpu", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(done.stdout.strip())


def test_the_engine_sees_one_device_per_core():
    assert devices_seen() == available_cores()
    assert len(jax.devices()) == available_cores()  # this test process imported descentlab the same way
    blocks = 2 * available_cores()
    assert len(usable_devices(blocks)) == available_cores()  # a chunk with enough blocks uses every device


def test_the_users_own_setting_wins():
    assert devices_seen(XLA_FLAGS="--xla_force_host_platform_device_count=3") == 3
    assert devices_seen(**{ENVIRONMENT: "1"}) == 1
    assert devices_seen(**{ENVIRONMENT: "5"}) == 5


def test_a_malformed_override_is_one_line_and_exit_2():
    script = "from descentlab.cli import app; app()"
    done = subprocess.run(
        [sys.executable, "-c", script, "list", "studies"],
        capture_output=True,
        text=True,
        env={**os.environ, ENVIRONMENT: "many"},
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: {ENVIRONMENT}: got 'many'; a whole number of host devices >= 1"


def test_results_are_bit_identical_on_one_device_and_on_every_core(tmp_path):
    """12 runs in blocks of 2 (6 blocks): here on one device per core, then on 1 and on 3 devices."""
    spec = small_spec_dict(optimizer={"learning_rate": {"grid": [0.1, 0.2, 0.3, 0.5]}}, run={"vmap_width": 2})
    here = run_spec(spec_from_dict(spec), tmp_path / "here")
    for count in (1, 3):
        script = (
            f"import descentlab, jax; assert len(jax.devices()) == {count}; from descentlab.engine import "
            f"run_spec, spec_from_dict; run_spec(spec_from_dict({spec!r}), {str(tmp_path / str(count))!r})"
        )
        subprocess.run(
            [sys.executable, "-c", script],
            check=True,
            timeout=300,
            env={**os.environ, ENVIRONMENT: str(count), "JAX_PLATFORMS": "cpu"},
        )
        for table in ("runs", "curves"):
            a = results_only(Store(tmp_path / "here").read(here.experiment, table))
            b = results_only(Store(tmp_path / str(count)).read(here.experiment, table))
            assert len(a) > 0
            pd.testing.assert_frame_equal(a, b, check_exact=True)
