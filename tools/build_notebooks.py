"""Write notebooks/*.ipynb from tools/notebook_cells.py and execute them, storing outputs.

Run:  python tools/build_notebooks.py [NAME ...]   (from the repository root; NAME: a file
      name such as 01_tour.ipynb, or a prefix such as 01; all notebooks without one)

Outputs are kept (GitHub shows them without a kernel) but widget state is not
(the static views carry the content); the script fails if a notebook grows
beyond 1.5 MB or a cell fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import notebook_cells as cells  # noqa: E402

NOTEBOOKS = {
    "01_tour.ipynb": cells.TOUR,
    "02_signals_101.ipynb": cells.SIGNALS_101,
    "02_signals_101.zh.ipynb": [
        ("md", cells.SIGNALS_101_ZH[i]) if kind == "md" else (kind, text)
        for i, (kind, text) in enumerate(cells.SIGNALS_101)
    ],
    "03_debugging_duplicates.ipynb": cells.DUPLICATES,
    "04_tracing_and_performance.ipynb": cells.TRACING,
    "05_your_own_project.ipynb": cells.OWN_PROJECT,
}
MAX_BYTES = 1_500_000


def build(name: str, source: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for kind, text in source:
        cell = (
            nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
        )
        nb.cells.append(cell)
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 300) -> None:
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.pop("id", None) if False else None
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)


def main() -> int:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    wanted = sys.argv[1:]
    unknown = [w for w in wanted if not any(n.startswith(w) for n in NOTEBOOKS)]
    if unknown:
        print(f"no notebook named {', '.join(unknown)} (known: {', '.join(NOTEBOOKS)})")
        return 2
    for name, source in NOTEBOOKS.items():
        if wanted and not any(name.startswith(w) for w in wanted):
            continue
        nb = build(name, source)
        execute(nb, out)
        path = out / name
        nbformat.write(nb, path)
        size = path.stat().st_size
        print(f"{name}: {len(nb.cells)} cells, {size / 1024:.0f} KiB")
        if size > MAX_BYTES:
            print(f"{name} is larger than {MAX_BYTES} bytes", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
