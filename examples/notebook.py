# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # descentlab in a notebook
#
# This notebook is kept as a plain-text [jupytext](https://jupytext.readthedocs.io) script (percent
# format). Open it in Jupyter with the jupytext extension, or convert it with
# `jupytext --to ipynb examples/notebook.py`. The tests execute it (`tests/test_notebook.py`).
#
# It runs one study at its `--quick` size, shows the outcome (verdicts, figures, runs), queries the
# store with SQL (DuckDB) and draws a learning curve from the query.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display

from descentlab import Experiment, Optimizer, Problem, Run, logspace
from descentlab.store import query
from descentlab.studies import StudyOptions, run_study

# %matplotlib inline
# (the report's figure module selects matplotlib's file backend when it is imported; this restores the notebook's)

store = Path("notebook-runs")  # a folder next to the notebook; every run and verdict lands there

# %% [markdown]
# ## Run a study
#
# `sgd-risk-curves`: the population risk of streaming SGD on least squares follows its deterministic
# equivalent. `run_study` runs the study's experiments (or reads them back if they are stored), judges its
# declared checks and writes the report. In a notebook the outcome shows its verdicts, headline first,
# its figures and the head of its runs table.

# %%
outcome = run_study("sgd-risk-curves", store, StudyOptions(quick=True))
display(outcome)

# %% [markdown]
# One experiment of the study, as a `Result`: its runs and curves are pandas tables read from the store.

# %%
result = outcome.results[0]
display(result)

# %% [markdown]
# ## Query the store
#
# Every stored experiment is a set of SQL views (`experiments`, `runs`, `curves`, `verdicts`, `theory`),
# read-only. Values go in as parameters (`?`), never into the SQL text. The seed mean of the population risk
# per spectrum and learning rate:

# %%
mean_risk = query(
    store,
    """
    SELECT r.problem_spectrum AS spectrum, r.optimizer_learning_rate AS learning_rate, c.step,
           avg(c.value) AS risk, count(*) AS seeds
    FROM curves c JOIN runs r USING (experiment, run)
    WHERE c.experiment = ? AND c.metric = ? AND r.status = 'ok'
    GROUP BY ALL ORDER BY spectrum, learning_rate, c.step
    """,
    [result.experiment, "population_risk"],
)
display(mean_risk.head())

# %%
verdicts = query(
    store, 'SELECT "check", headline, passed, figure, tolerance FROM verdicts WHERE experiment = ?', [result.experiment]
)
display(verdicts)

# %% [markdown]
# ## Plot a learning curve from the query

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
for (spectrum, learning_rate), curve in mean_risk.groupby(["spectrum", "learning_rate"]):
    ax.loglog(curve["step"].clip(lower=1), curve["risk"], label=f"{spectrum}, η = {learning_rate:g}")
ax.set_xlabel("step")
ax.set_ylabel("population risk (seed mean)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Write an experiment with component objects
#
# A section is a dict or an object; `Problem("least_squares", dim=200)` is the table
# `{"name": "least_squares", "dim": 200}`, so both forms are the same experiment (same content hash) and are
# checked the same way. `experiment.run(store)` would run it.

# %%
experiment = Experiment(
    problem=Problem("least_squares", dim=200, spectrum="power_law", alpha=1.0),
    optimizer=Optimizer("sgd", learning_rate=logspace(0.1, 1.0, 3)),
    run=Run(steps=1000, seeds=8),
)
same = Experiment(
    problem={"name": "least_squares", "dim": 200, "spectrum": "power_law", "alpha": 1.0},
    optimizer={"name": "sgd", "learning_rate": {"logspace": [0.1, 1.0, 3]}},
    run={"steps": 1000, "seeds": 8},
)
assert experiment.hash == same.hash
print(experiment.hash, experiment.plan.n_runs, "runs")
