"""Analysis: what stored runs say — theory checks, summary tables, verdict rows.

It sits above the engine and the store (it reads what they wrote and writes the ``theory`` and ``verdicts``
tables through the :class:`~descentlab.store.Store`); studies, the CLI and the report use it, and the engine
never imports it.
"""

from descentlab.analysis.theory import check_theory
from descentlab.analysis.verdicts import verdict_rows

__all__ = ["check_theory", "verdict_rows"]
