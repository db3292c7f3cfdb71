"""Strip outputs from Jupyter notebooks before committing them (notebooks/README.md).

    python tools/strip_notebooks.py                  # strip every notebooks/*.ipynb in place
    python tools/strip_notebooks.py a.ipynb b.ipynb  # strip these
    python tools/strip_notebooks.py --check          # exit 1 and list notebooks that still hold outputs

Removes every code cell's outputs, sets ``execution_count`` to null, drops per-cell execution metadata
(``metadata.execution``, ``collapsed``, ``scrolled``, ``ExecuteTime``), the notebook's widget state, and
reduces ``language_info`` to the language name (the kernel rewrites the rest, e.g. the Python version, on save).
Cell sources, tags and ids are kept. Writes the notebook the way nbformat does (JSON, indent 1, sorted
keys, UTF-8, final newline), so a stripped notebook diffs cleanly. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL_METADATA_DROP = ("execution", "collapsed", "scrolled", "ExecuteTime")
NOTEBOOK_METADATA_DROP = ("widgets",)


def strip(nb: dict) -> dict:
    """The notebook without outputs, execution counts and execution metadata (a new dict)."""
    nb = json.loads(json.dumps(nb))
    meta = nb.get("metadata", {})
    for key in NOTEBOOK_METADATA_DROP:
        meta.pop(key, None)
    if isinstance(meta.get("language_info"), dict):
        meta["language_info"] = {"name": meta["language_info"].get("name", "python")}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        for key in CELL_METADATA_DROP:
            meta.pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def problems(nb: dict) -> list[str]:
    """What keeps a notebook from being clean: cells with outputs or execution counts."""
    found = []
    for i, cell in enumerate(nb.get("cells", []), 1):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {i}: {len(cell['outputs'])} stored output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {i}: execution_count {cell['execution_count']}")
    return found


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Strip outputs and execution counts from Jupyter notebooks.")
    p.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/*.ipynb)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook needs stripping")
    args = p.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    dirty = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:
            nb = json.loads(text)
        except json.JSONDecodeError as exc:
            print(f"error: {path}: not a notebook (invalid JSON: {exc})", file=sys.stderr)
            return 2
        clean = dumps(strip(nb))
        if args.check:
            found = problems(nb)
            if found:
                dirty += 1
                print(f"{path}: " + "; ".join(found))
            continue
        if clean != text:
            path.write_text(clean, encoding="utf-8")
            print(f"stripped {path}")
    if args.check and dirty:
        print(f"{dirty} notebook(s) hold outputs; run: python tools/strip_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
