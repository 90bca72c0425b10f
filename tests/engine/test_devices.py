"""Sharding a chunk across devices: same rows, bit for bit, as on one device."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pandas as pd

from descentlab.engine import checkpoint_steps, run_spec, spec_from_dict
from descentlab.store import Store
from tests.conftest import small_spec_dict

SPEC = small_spec_dict(optimizer={"learning_rate": {"grid": [0.1, 0.2, 0.3, 0.5]}}, run={"vmap_width": 2})


def test_two_devices_give_identical_results(tmp_path):
    one = run_spec(spec_from_dict(SPEC), tmp_path / "one")
    script = textwrap.dedent(f"""
        import jax
        from descentlab.engine import checkpoint_steps, run_spec, spec_from_dict
        assert len(jax.devices()) == 2, jax.devices()
        run_spec(spec_from_dict({SPEC!r}), {str(tmp_path / "two")!r})
    """)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=300)
    a = Store(tmp_path / "one").read(one.experiment, "curves")
    b = Store(tmp_path / "two").read(one.experiment, "curves")
    assert len(a) == 12 * (len(checkpoint_steps(60, 10)) * 3 - 1)  # 2 risks + batch_loss from step 1
    pd.testing.assert_frame_equal(a, b, check_exact=True)
