"""`tmscreen score` runs end to end on the imported real USPTO samples."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.cli import main

SAMPLES = Path(__file__).parent / "data" / "uspto"


def test_score_runs_on_imported_uspto_samples(tmp_path, capsys):
    assert main(["import", "uspto", str(SAMPLES), "--out", str(tmp_path / "ds")]) == 0
    imported = pd.read_csv(tmp_path / "ds" / "applications.csv", dtype=str, keep_default_na=False)
    assert main(["score", str(tmp_path / "ds"), "--out", str(tmp_path / "run"), "--top", "0"]) == 0
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    rows = manifest["rows"]["applications"]
    assert rows["read"] == len(imported) == rows["accepted"] + rows["rejected"]
    scored = pd.read_parquet(tmp_path / "run" / "application_scores.parquet")
    assert set(scored["application_id"]) <= set(imported["application_id"])
    assert len(scored) == rows["accepted"] > 0
