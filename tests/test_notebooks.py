"""Every notebook under notebooks/ runs top to bottom (its cells assert what they teach)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_tour.ipynb", "02_signals_101.ipynb", "02_signals_101.zh.ipynb"} <= names
    assert len(names) == 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, if a cell fails
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []


def test_stored_outputs_are_current_and_small():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), f"{path.name} was not executed"
        assert path.stat().st_size < 1_500_000, path.name
    zh = nbformat.read(NOTEBOOKS[[p.name for p in NOTEBOOKS].index("02_signals_101.zh.ipynb")], 4)
    en = nbformat.read(NOTEBOOKS[[p.name for p in NOTEBOOKS].index("02_signals_101.ipynb")], 4)
    assert [c.source for c in zh.cells if c.cell_type == "code"] == [
        c.source for c in en.cells if c.cell_type == "code"
    ]
    assert "信号" in zh.cells[0].source
