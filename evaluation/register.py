"""An ordinary register to inject reported cases into: the demo world, copied, with extra filings,
protected marks and public terms appended (evaluation only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

APP_COLUMNS = ["application_id", "filing_date", "mark_text", "nice_classes", "goods_services", "applicant_name",
               "applicant_address", "applicant_country", "applicant_type", "agent_name", "status",
               "registration_date"]


def base_register(work: Path, n: int = 20000, seed: int = 7) -> Path:
    """The demo world's dataset (generated once into ``work``)."""
    from demo.world import generate_world

    world = work / f"register-{n}-{seed}"
    if not (world / "dataset" / "applications.csv").exists():
        generate_world(world, n, seed)
    return world / "dataset"


def inject(base: Path, out: Path, applications: pd.DataFrame, protected: pd.DataFrame | None = None,
           public_terms: pd.DataFrame | None = None) -> Path:
    """A copy of the dataset ``base`` with ``applications`` (contract columns; missing ones empty),
    protected marks and public terms appended. Returns the new dataset folder."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(base, out)
    apps = pd.read_csv(out / "applications.csv", dtype=str, keep_default_na=False)
    extra = applications.reindex(columns=APP_COLUMNS).fillna("").astype("str")
    pd.concat([apps, extra], ignore_index=True).to_csv(out / "applications.csv", index=False)
    for name, frame in (("protected_marks", protected), ("public_terms", public_terms)):
        if frame is None or not len(frame):
            continue
        path = out / "reference" / f"{name}.csv"
        old = pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else None
        merged = frame.astype("str") if old is None else pd.concat([old, frame.astype("str")], ignore_index=True)
        merged.to_csv(path, index=False)
    return out
