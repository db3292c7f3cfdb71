"""Run folders: written atomically, read back by every later stage.

A run is built in a hidden temporary folder beside its destination and renamed into place only
after ``manifest.json`` (written last) is complete, so a crash or kill never leaves a folder that
looks complete. An existing destination is replaced only if it is itself a run (has a manifest).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core.errors import UserError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class RunFolderError(UserError):
    pass


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would execute (=, +, -, @) with an apostrophe (OWASP CSV injection)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == "str" or out[col].dtype == object:
            s = out[col].astype("str")
            risky = s.str.startswith(FORMULA_START)
            if risky.any():
                out[col] = s.where(~risky, "'" + s)
    return out


def _joined_string_lists(col: pd.Series) -> pd.Series | None:
    """'; '-joined text of a column whose cells are all lists of strings (or missing), joined by Arrow
    rather than a Python call per row; None when the column holds anything else."""
    try:
        arr = pa.array(col, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not pa.types.is_list(arr.type) or not pa.types.is_string(arr.type.value_type) or arr.flatten().null_count:
        return None
    return pd.Series(pc.binary_join(arr, "; ").to_numpy(zero_copy_only=False), index=col.index, dtype=object)


def _lists_as_text(col: pd.Series) -> pd.Series:
    """A column with list cells as '; '-joined text (other cells unchanged); other columns as they are."""
    if not len(col) or not (col.dtype == object or isinstance(col.dtype, pd.ArrowDtype)):
        return col  # str, numeric, bool and date columns cannot hold lists
    joined = _joined_string_lists(col) if col.dtype == object else None
    if joined is not None:
        return joined
    if col.map(lambda v: isinstance(v, list)).any():  # rare mixed columns: the general path
        return col.map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v)
    return col


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV for people and spreadsheets: UTF-8 with BOM (Excel opens Chinese correctly), formulas neutralised."""
    safe = frame.copy()
    for col in safe.columns:  # lists → '; '-joined text, before neutralising: a joined cell can start a formula
        safe[col] = _lists_as_text(safe[col])
    safe = neutralise_formulas(safe)
    with open(path, "wb") as fh:
        fh.write("\ufeff".encode())
        pacsv.write_csv(pa.Table.from_pandas(safe, preserve_index=False), fh)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


class RunWriter:
    """Context manager: ``with RunWriter(out) as w: w.parquet('x', df); w.manifest(dict)``."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        if self.out.exists() and not (self.out / "manifest.json").exists():
            raise RunFolderError(
                f"{self.out} exists and is not a tmscreen run folder (no manifest.json); "
                "choose another --out or remove it."
            )
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.out.parent / f".{self.out.name}.tmp-{uuid.uuid4().hex[:8]}"
        self._manifest: dict | None = None

    def __enter__(self) -> RunWriter:
        self.tmp.mkdir()
        return self

    def path(self, name: str) -> Path:
        p = self.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def parquet(self, name: str, frame: pd.DataFrame) -> None:
        write_parquet(frame, self.path(f"{name}.parquet"))

    def csv(self, name: str, frame: pd.DataFrame) -> None:
        write_csv(frame, self.path(f"{name}.csv"))

    def json(self, name: str, obj) -> None:
        self.path(name).write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=str))

    def manifest(self, obj: dict) -> None:
        self._manifest = obj

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or self._manifest is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        self.json("manifest.json", self._manifest)
        for f in self.tmp.rglob("*"):  # make the data durable before the rename publishes it
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        if self.out.exists():
            trash = self.out.parent / f".{self.out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(self.out, trash)
            os.replace(self.tmp, self.out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(self.tmp, self.out)


def read_run(run: str | Path) -> dict:
    run = Path(run)
    if not (run / "manifest.json").exists():
        raise RunFolderError(f"{run} is not a complete tmscreen run (no manifest.json). Run `tmscreen score` first.")
    return json.loads((run / "manifest.json").read_text())
