"""The Dolan–Moré performance profile: ρ(τ) counted right (failures never counted), one step curve per solver."""

from __future__ import annotations

import numpy as np
import pandas as pd

from descentlab.report import figures as F


def test_profile_curve_counts_problems_within_tau_and_never_a_failure():
    ratios = pd.Series([1.0, 2.0, 4.0, np.inf, np.nan])
    rho = F.profile_curve(ratios, np.array([1.0, 1.9, 2.0, 3.9, 4.0, 1e9]))
    np.testing.assert_allclose(rho, [0.2, 0.2, 0.4, 0.4, 0.6, 0.6])


def test_performance_profile_draws_each_solver_best_first(tmp_path):
    ratios = pd.DataFrame(
        {"slow": [3.0, 2.0, np.inf], "best": [1.0, 1.0, 1.5], "mid": [1.0, 2.0, 1.0]},
        index=["a", "b", "c"],
    )
    fig = F.performance_profile(ratios, title="suite")
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label().split(" ")[0] for line in lines] == ["best", "mid", "slow"]
    assert ax.get_xscale() == "log" and ax.get_xlim() == (1.0, 6.0)  # twice the largest finite ratio
    # the curve's values are the fractions of problems within τ; "slow" never solves c
    slow = dict(zip(lines[2].get_xdata(), lines[2].get_ydata(), strict=True))
    assert slow[1.0] == 0.0 and slow[2.0] == 1 / 3 and slow[3.0] == 2 / 3 and slow[6.0] == 2 / 3
    assert "solved 67%" in lines[2].get_label() and "solved 100%" in lines[0].get_label()
    saved = F.save(fig, tmp_path, "profile", formats=("png",))
    assert (tmp_path / "profile.png").exists() and saved["png"].endswith("profile.png")
