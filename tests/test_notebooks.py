"""The notebooks in notebooks/: committed without outputs, and every one executes without error.

Execution uses a throw-away kernelspec whose argv is this interpreter (the project venv), so the kernel
imports the same tmscreen as the tests whatever ``python`` / the ``python3`` kernelspec on PATH resolve to.
All notebooks run in one shared temporary folder, so the demo world they generate (``.tmscreen/nb``) is
built once. ``make notebooks`` runs only this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "tmscreen-test-venv"


def _ids(paths):
    return [p.name for p in paths]


def test_notebooks_present():
    names = [p.name for p in NOTEBOOKS]
    for expected in ("01_explore.ipynb", "02_features.ipynb", "03_train_evaluate.ipynb",
                     "04_grading_review.ipynb"):
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_has_no_stored_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [f"cell {i}: outputs={len(c.outputs)} execution_count={c.execution_count}"
             for i, c in enumerate(nb.cells, 1)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, (f"{path.name} holds outputs or execution counts ({'; '.join(dirty)}); "
                       "strip it with: python tools/strip_notebooks.py")


@pytest.fixture(scope="module")
def notebook_env(tmp_path_factory):
    """A kernelspec running this interpreter, found through JUPYTER_PATH; a shared working folder."""
    base = tmp_path_factory.mktemp("notebooks")
    spec = base / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tmscreen venv (tests)", "language": "python",
        "metadata": {"supported_encryption": ["curve"]},
    }), encoding="utf-8")
    work = base / "work"
    work.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(base / "jupyter"))
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        mp.delenv("MPLBACKEND", raising=False)  # let ipykernel choose the inline backend
        mp.delenv("TMSCREEN_HOME", raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield work


def test_kernelspec_is_this_interpreter(notebook_env):
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec(KERNEL).argv[0] == sys.executable


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_executes(path, notebook_env):
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_code_cell("import sys\nprint(sys.executable)"))  # in memory only
    client = NotebookClient(nb, timeout=600, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(notebook_env)}})
    client.execute()  # raises CellExecutionError naming the failing cell, with its traceback
    outputs = [o for c in nb.cells[:-1] if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} drew no plot"
    kernel_python = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
    assert kernel_python == sys.executable, "the notebook ran in another interpreter than the tests"
