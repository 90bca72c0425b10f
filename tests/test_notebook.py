"""The example notebook (examples/notebook.py, a jupytext percent script) converts and executes on a python3 kernel:
no cell errors, the study's verdicts render as HTML, the query's learning curve is drawn."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook.py"
ROOT = NOTEBOOK.parents[1]


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> tuple[nbformat.NotebookNode, Path, float]:
    """The notebook executed once in a temporary folder (its store lands there), and its wall time."""
    folder = tmp_path_factory.mktemp("notebook")
    jupyter = tmp_path_factory.mktemp("jupyter")  # connection files and IPython's profile: not in the home folder
    notebook = jupytext.read(NOTEBOOK)
    env = os.environ.copy()  # the kernel imports this checkout's descentlab (first on its path)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["IPYTHONDIR"] = str(jupyter / "ipython")
    env.pop("MPLBACKEND", None)  # the kernel's inline backend draws the figures into the outputs
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}}, allow_errors=False
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter / "runtime"))
        start = time.perf_counter()
        client.execute(env=env)
        seconds = time.perf_counter() - start
    return notebook, folder, seconds


def _outputs(notebook: nbformat.NotebookNode, kind: str) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if kind in output.get("data", {}):
                found.append(output["data"][kind])
            elif kind == "text/plain" and output.get("output_type") == "stream":
                found.append(output["text"])
    return found


def test_the_notebook_runs_without_errors_in_its_own_folder(executed):
    notebook, folder, seconds = executed
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert (folder / "notebook-runs").is_dir(), "the store lands next to the notebook, not in the checkout"
    print(f"notebook executed in {seconds:.1f} s", file=sys.stderr)


def test_the_outcome_and_the_result_render_their_verdicts_as_html(executed):
    notebook, _, _ = executed
    pages = _outputs(notebook, "text/html")
    study = [page for page in pages if 'class="descentlab-study"' in page]
    result = [page for page in pages if 'class="descentlab-result"' in page]
    assert study and result
    for page in (study[0], result[0]):  # the study's verdicts are stored with its first experiment
        assert page.count('class="descentlab-verdict pass"') == 2 and "descentlab-verdict fail" not in page
        assert page.index("[headline · deterministic-equivalent]") < page.index("[exact-recursion-z]")
        assert "data:image/png;base64," in page


def test_the_query_is_plotted_and_the_component_experiment_matches_its_dict(executed):
    notebook, _, _ = executed
    assert _outputs(notebook, "image/png"), "the learning curve drawn from the query"
    printed = "".join(_outputs(notebook, "text/plain"))
    assert " 24 runs" in printed  # 3 learning rates × 8 seeds, the component-object experiment
