"""The teaching notebook runs end to end (a small training budget) and is kept without outputs, paired with its
text version (``notebooks/muzero_cartpole.py``, jupytext's percent format)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupytext = pytest.importorskip("jupytext")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "muzero_cartpole.ipynb"


def test_the_notebook_is_stored_without_outputs_and_matches_its_text_version():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    paired = jupytext.read(NOTEBOOKS / "muzero_cartpole.py")
    assert [c.source for c in paired.cells] == [c.source for c in notebook.cells], (
        "regenerate with: jupytext --to ipynb notebooks/muzero_cartpole.py"
    )


@pytest.mark.slow  # executes the whole notebook, training included
def test_every_cell_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("MUZERO_NOTEBOOK_STEPS", "100")  # on top of section 4's 600: one periodic evaluation
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, when one fails
    text = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    # The demonstrations' printed outcomes: the expanding search finds the delayed reward, the one-level one not.
    assert re.search(r"expanding search: visits .* -> action 1", text)
    assert re.search(r"one-level search: visits .* -> action 0", text)
    assert "unroll K=0: reward |error|" in text
