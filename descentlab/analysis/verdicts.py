"""Verdicts as rows of the store's ``verdicts`` table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from descentlab.theory.verdict import Verdict


def verdict_rows(verdicts: Sequence[Verdict], claims: str | Sequence[str], study: str = "") -> list[dict[str, Any]]:
    """One row per verdict, the first marked as the headline.

    Args:
        verdicts: the judged claims, headline first.
        claims: the claim each verdict judges (one string for all of them).
        study: the study that judged them ("" for a spec's ``[theory]`` section).

    Returns:
        Rows with ``study, check, headline, claim, passed, figure, what, tolerance, line``.
    """
    if isinstance(claims, str):
        claims = [claims] * len(verdicts)
    return [
        {
            "study": study,
            "check": v.check,
            "headline": i == 0,
            "claim": claim,
            "passed": bool(v.passed),
            "figure": float(v.figure),
            "what": v.what,
            "tolerance": float(v.tolerance),
            "line": v.line(),
        }
        for i, (v, claim) in enumerate(zip(verdicts, claims, strict=True))
    ]
