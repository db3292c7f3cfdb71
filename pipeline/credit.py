"""Credit repair (信用修复): how deductions go away again.

Three mechanisms, all documented in docs/operations.md:

1. **Band deductions follow the scores.** They are recomputed from the current dimension scores at
   every run, so an applicant whose behaviour improves loses them by itself.
2. **Decisions expire by age** (``[grading] decision_recent_years`` / ``decision_expire_years``,
   and the hard rules only look back ``hard_rule_years``) — implemented in :mod:`pipeline.grading`.
3. **Manual repair decisions** (this module). A reviewer asks for a repair, a supervisor approves it
   in the review app (stored in ``STATE/review.db`` with its audit row); repairs decided elsewhere
   go to ``STATE/repairs.jsonl`` (one JSON object a line: ``applicant_key``, ``date``
   (YYYY-MM-DD), ``reviewer``, ``comment``, optional ``status`` = ``granted`` (default) or
   ``denied``). For ``[credit] repair_days`` days after its date a granted repair **waives the band
   deductions** of the applicant, *unless new negative findings appear*: a band-dimension score that
   rose more than ``[credit] rise_tolerance`` above its value at the repair date, or a decision dated
   after the repair. Decision deductions and the hard rules are never waived (they expire by age).
   The repair shows in the grade's deduction list as a 0-point item ("credit repair granted
   2025-03-01 by X ...") and in the history (column ``credit_repair``).

"The scores at the repair date" come from the batch history (``STATE/history/grades.parquet``): the
latest row of the applicant with ``as_of`` <= the repair date, else the first row after it (a repair
recorded before any run covers the findings of the first run that follows it), else the current run.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import Config
from pipeline.grading import BAND_DIMENSIONS, grade_applicants

REPAIR_COLUMNS = ("applicant_key", "date", "reviewer", "comment", "status")
REPAIR_STATUSES = ("granted", "denied")


class RepairError(ValueError):
    """A repairs file that cannot be used (the message names the file, line and field)."""


def record_repair(state: str | Path, applicant_key: str, date: str, reviewer: str, comment: str = "",
                  status: str = "granted") -> dict:
    """Append one repair decision made outside the review app to ``STATE/repairs.jsonl``."""
    if status not in REPAIR_STATUSES:
        raise RepairError(f"status must be one of {list(REPAIR_STATUSES)}, got {status!r}")
    day = _parse_date(date, "date")
    rec = {"applicant_key": str(applicant_key), "date": str(day.date()), "reviewer": str(reviewer),
           "comment": str(comment), "status": status}
    path = Path(state) / "repairs.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # one writer at a time; a line is never interleaved
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return rec


def _parse_date(value, field: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(pd.to_datetime(str(value), format="%Y-%m-%d")).normalize()
    except (ValueError, TypeError):
        raise RepairError(f"{field} must be a YYYY-MM-DD date, got {value!r}") from None


def load_repairs(path: str | Path) -> pd.DataFrame:
    """Read repairs from JSON Lines (``.jsonl``), a JSON list (``.json``) or CSV. Missing file = none."""
    path = Path(path)
    empty = pd.DataFrame({c: pd.Series(dtype="str") for c in REPAIR_COLUMNS})
    if not path.exists():
        return empty.assign(date=pd.Series(dtype="datetime64[ns]"))
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        records = frame.to_dict("records")
    elif path.suffix == ".json":
        records = json.loads(path.read_text(encoding="utf-8"))
    else:
        records = []
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RepairError(f"{path}: line {i} is not valid JSON: {exc}") from None
    rows = []
    for i, rec in enumerate(records, start=1):
        if not rec.get("applicant_key") or not rec.get("date"):
            raise RepairError(f"{path}: record {i} needs applicant_key and date, got {rec!r}")
        status = str(rec.get("status") or "granted").strip().lower()
        if status not in REPAIR_STATUSES:
            raise RepairError(f"{path}: record {i}: status must be one of {list(REPAIR_STATUSES)}, got {status!r}")
        try:
            day = _parse_date(rec["date"], "date")
        except RepairError as exc:
            raise RepairError(f"{path}: record {i}: {exc}") from None
        rows.append({"applicant_key": str(rec["applicant_key"]), "date": day,
                     "reviewer": str(rec.get("reviewer", "")), "comment": str(rec.get("comment", "")),
                     "status": status})
    if not rows:
        return empty.assign(date=pd.Series(dtype="datetime64[ns]"))
    return pd.DataFrame(rows, columns=list(REPAIR_COLUMNS))


def review_repairs(state: str | Path) -> pd.DataFrame:
    """Repairs approved in the review app: its decisions with action ``repair`` and status
    ``approved`` in ``STATE/review.db`` (read-only; no database = none). The date is the approval's,
    the reviewer the one who asked. A review database at another URL (PostgreSQL) is not read here:
    export its repairs to ``STATE/repairs.jsonl``."""
    path = Path(state) / "review.db"
    empty = pd.DataFrame({c: pd.Series(dtype="str") for c in REPAIR_COLUMNS}).assign(
        date=pd.Series(dtype="datetime64[ns]"))
    if not path.exists():
        return empty
    import sqlite3

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT applicant_key, coalesce(nullif(supervised_at, ''), decided_at), reviewer, comment "
                           "FROM decisions WHERE action = 'repair' AND status = 'approved' ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # a database without the decisions table yet
        rows = []
    finally:
        con.close()
    if not rows:
        return empty
    frame = pd.DataFrame(rows, columns=["applicant_key", "date", "reviewer", "comment"])
    frame["date"] = pd.to_datetime(frame["date"].str.slice(0, 10), format="%Y-%m-%d")
    return frame.assign(status="granted")[list(REPAIR_COLUMNS)]


def state_repairs(state: str | Path) -> pd.DataFrame:
    """Every repair of a state folder: those approved in the review app and those an operator
    recorded in ``STATE/repairs.jsonl``."""
    return pd.concat([review_repairs(state), load_repairs(Path(state) / "repairs.jsonl")], ignore_index=True)


def active_repairs(repairs: pd.DataFrame, as_of: pd.Timestamp, config: Config) -> pd.DataFrame:
    """The latest granted repair per applicant with date <= as_of < date + repair_days."""
    r = repairs[(repairs["status"] == "granted") & (repairs["date"] <= as_of)]
    r = r[(as_of - r["date"]).dt.days < config.credit.repair_days]
    r = r.sort_values(["applicant_key", "date", "reviewer"], kind="stable")
    return r.drop_duplicates("applicant_key", keep="last").set_index("applicant_key")


def _baseline(key: str, day: pd.Timestamp, history: pd.DataFrame | None) -> pd.Series | None:
    if history is None or not len(history) or not set(BAND_DIMENSIONS) <= set(history.columns):
        return None
    h = history[history["applicant_key"] == key].sort_values("as_of")
    if not len(h):
        return None
    at = pd.to_datetime(h["as_of"])
    before = h[at <= day]
    row = before.iloc[-1] if len(before) else h.iloc[0]
    return row[list(BAND_DIMENSIONS)].astype("float64")


def apply_repairs(applicants: pd.DataFrame, decisions: pd.DataFrame, repairs: pd.DataFrame,
                  history: pd.DataFrame | None, as_of: pd.Timestamp, config: Config) -> pd.DataFrame:
    """Re-grade applicants with an active repair. Returns a copy with ``points``, ``grade``,
    ``hard_rule``, ``deductions`` updated and a ``credit_repair`` text column ("" when none).

    ``applicants``: one row per applicant_key (a column) with the dimension scores and the grading
    columns of :func:`pipeline.grading.grade_applicants`. ``decisions``: weighted decisions (with
    ``subject_key``, ``kind``, ``decision_date``, ``age_years``, ``reference``) as grading uses them.
    """
    out = applicants.copy()
    out["credit_repair"] = ""
    active = active_repairs(repairs, as_of, config)
    active = active[active.index.isin(out["applicant_key"])]
    if not len(active):
        return out
    cfg = config.credit
    by_key = out.set_index("applicant_key")
    waive: list[str] = []
    notes: dict[str, str] = {}
    for key, rep in active.sort_index().iterrows():
        day = rep["date"]
        until = (day + pd.Timedelta(days=int(cfg.repair_days))).date()
        who = f"credit repair granted {day.date()} by {rep['reviewer'] or 'unknown reviewer'}"
        current = by_key.loc[key, list(BAND_DIMENSIONS)].astype("float64")
        base = _baseline(key, day, history)
        base = current if base is None else base
        rose = [f"{d} {base[d]:.2f} -> {current[d]:.2f}" for d in BAND_DIMENSIONS
                if current[d] > base[d] + cfg.rise_tolerance]
        later = decisions[(decisions["subject_key"] == key) & (decisions["decision_date"] > day)]
        if rose or len(later):
            why = "; ".join(rose + [f"{k.replace('_', ' ')} {d.date()}" for k, d in
                                    zip(later["kind"], later["decision_date"], strict=True)])
            notes[key] = f"{who}: void, new negative findings ({why})"
        else:
            notes[key] = f"{who}: band deductions waived until {until}"
            waive.append(key)
    if waive:
        scores = by_key.loc[waive, list(BAND_DIMENSIONS) + ["decisions"]].astype("float64")
        scores[list(BAND_DIMENSIONS)] = 0.0  # no band deductions; decisions still deduct
        regraded = grade_applicants(scores, decisions, config)
        idx = out["applicant_key"].isin(waive)
        keys = out.loc[idx, "applicant_key"]
        for col in ("points", "grade", "hard_rule", "deductions"):
            out.loc[idx, col] = keys.map(regraded[col]).to_numpy()
    idx = out["applicant_key"].isin(list(notes))
    out.loc[idx, "credit_repair"] = out.loc[idx, "applicant_key"].map(notes).to_numpy()
    out.loc[idx, "deductions"] = [
        json.dumps([{"item": notes[k], "points": 0.0}, *json.loads(d)], ensure_ascii=False)
        for k, d in zip(out.loc[idx, "applicant_key"], out.loc[idx, "deductions"], strict=True)]
    return out


def repair_summary(applicants: pd.DataFrame) -> list[dict]:
    rows = applicants[applicants.get("credit_repair", pd.Series("", index=applicants.index)) != ""]
    return [{"applicant_key": k, "note": n, "grade": g, "points": float(np.round(p, 2))}
            for k, n, g, p in zip(rows["applicant_key"], rows["credit_repair"], rows["grade"], rows["points"], strict=True)]
