"""The supervisor's overview page: pictures read at a glance, drawn on the server as SVG geometry
(the page runs no script). Pure functions of the state folder and the latest run; every label is
plain text that the template escapes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.grading import GRADES
from review.data import DIMENSION_THRESHOLD, DIMENSIONS, RunData

GRADE_FILL = {"A": "#6a9f58", "B": "#d8b25c", "C": "#e08a3c", "D": "#c0392b"}
MAX_BATCHES = 12
MAX_TERMS = 10
MIN_TERM_APPLICANTS = 3  # a term filed by fewer unrelated applicants is no wave


def grade_mix(state: Path, current: RunData) -> pd.DataFrame:
    """Applicants per grade per batch (as_of x grade counts), the newest MAX_BATCHES batches: from
    ``STATE/history/grades.parquet``, else the latest run alone."""
    hist = Path(state) / "history" / "grades.parquet"
    if hist.exists():
        h = pd.read_parquet(hist, columns=["as_of", "grade"])
        h["as_of"] = pd.to_datetime(h["as_of"]).dt.strftime("%Y-%m-%d")
    else:
        h = current.applicants[["grade"]].assign(as_of=current.as_of)
    counts = h.groupby(["as_of", "grade"]).size().unstack(fill_value=0).reindex(columns=list(GRADES), fill_value=0)
    return counts.sort_index().tail(MAX_BATCHES)


def stacked_bars(counts: pd.DataFrame, width: int = 640, height: int = 220) -> dict:
    """Geometry of a stacked bar chart: one bar per row of ``counts``, one segment per column, each
    bar scaled to 100 % (the mix), its total written above it."""
    n = max(len(counts), 1)
    pad, top, bottom = 10, 18, 24
    slot = (width - 2 * pad) / n
    bar_w = slot * 0.7
    plot_h = height - top - bottom
    bars = []
    for i, (label, row) in enumerate(counts.iterrows()):
        total = int(row.sum())
        x = pad + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        segments = []
        for grade in counts.columns:
            h = plot_h * (row[grade] / total) if total else 0.0
            y -= h
            segments.append({"grade": grade, "count": int(row[grade]), "x": round(x, 1), "y": round(y, 1),
                             "w": round(bar_w, 1), "h": round(h, 1), "fill": GRADE_FILL.get(grade, "#888")})
        bars.append({"label": str(label), "total": total, "x": round(x + bar_w / 2, 1), "segments": segments,
                     "label_y": height - 6, "total_y": top - 4})
    return {"width": width, "height": height, "bars": bars}


def flagged_by_dimension(run: RunData, width: int = 640, row_h: int = 26) -> dict:
    """Horizontal bars: flagged applicants whose score on each dimension reaches the threshold (an
    applicant counts once per dimension it is strong on)."""
    flagged = run.applicants[run.applicants["flagged"].astype(bool)]
    counts = {d: int((flagged[d] >= DIMENSION_THRESHOLD).sum()) if d in flagged else 0 for d in DIMENSIONS}
    top = max(counts.values()) or 1
    label_w, pad = 110, 50
    rows = [{"dimension": d, "count": c, "y": i * row_h, "w": round((width - label_w - pad) * c / top, 1),
             "text_x": label_w + round((width - label_w - pad) * c / top, 1) + 6}
            for i, (d, c) in enumerate(counts.items())]
    return {"width": width, "height": row_h * len(rows), "label_w": label_w, "rows": rows,
            "flagged": int(len(flagged))}


def newest_terms(run: RunData) -> list[dict]:
    """The newest public terms and trends that several applicants are filing (waves): per term its
    kind, applicants, filings and first/last filing date, newest last filing first."""
    ev = run.evidence
    if ev.empty or "term" not in ev.columns:
        return []
    ev = ev[(ev["dimension"] == "squatting") & ev["term"].notna() & (ev["term"].astype("str") != "")]
    if ev.empty:
        return []
    dates = run.applications.set_index("application_id")["filing_date"]
    ev = ev.assign(day=pd.to_datetime(ev["application_id"].map(dates)))
    g = ev.groupby("term").agg(kind=("kind", "first"), applicants=("applicant_key", "nunique"),
                               filings=("application_id", "nunique"), first=("day", "min"), last=("day", "max"))
    g = g[g["applicants"] >= MIN_TERM_APPLICANTS].sort_values(["last", "applicants"], ascending=False).head(MAX_TERMS)
    return [{"term": str(t), "kind": str(r.kind), "applicants": int(r.applicants), "filings": int(r.filings),
             "first": r.first.strftime("%Y-%m-%d") if pd.notna(r.first) else "",
             "last": r.last.strftime("%Y-%m-%d") if pd.notna(r.last) else ""} for t, r in g.iterrows()]


def drift_warnings(run: RunData) -> dict:
    """The latest batch's drift report (``drift.json``: score distributions against the previous
    batch); empty for a run made by ``tmscreen score``."""
    path = run.path / "drift.json"
    if not path.exists():
        return {"available": False, "warnings": [], "previous": None}
    d = json.loads(path.read_text(encoding="utf-8"))
    return {"available": True, "warnings": [str(w) for w in d.get("warnings", [])],
            "previous": d.get("previous_as_of")}


def overview(state: Path, run: RunData) -> dict:
    return {"mix": stacked_bars(grade_mix(state, run)), "dimensions": flagged_by_dimension(run),
            "terms": newest_terms(run), "drift": drift_warnings(run), "grades": GRADES, "fills": GRADE_FILL}
