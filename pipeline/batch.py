"""Scheduled batch scoring into a state folder: runs per as-of date, grade history, change reports.

State layout (docs/operations.md)::

    STATE/
      batch.lock                 flock'ed by the running batch (holds its pid)
      review.db                  the review app's decisions (approved credit repairs are read from it)
      repairs.jsonl              credit repair decisions made outside the review app
      runs/<YYYY-MM-DD>/         one immutable run per as-of date (pipeline.score.write_run output
                                 + changes.json, changes.md, drift.json, timings.json)
      history/grades.parquet     applicant_key, as_of, grade, points, risk_score, flagged,
                                 dimension scores, credit_repair — one row set per as-of

Crash safety: a run is built in a hidden ``runs/.<as-of>.tmp-*`` folder and published with a
rename; the history is rewritten to a hidden temp file and published with ``os.replace``. Leftover
temp folders/files are removed at the next start, so a killed batch is simply rerun.

Determinism: rerunning the same as-of on the same data, config and repairs gives byte-identical
files in the run folder, except ``timings.json`` (stage timings and peak memory; the manifest of a
batch run carries no timings), and a byte-identical history when that as-of is the latest.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import Config
from core.tables import Tables
from models.scoring import DIMENSIONS
from pipeline.contract import load_dataset
from pipeline.credit import apply_repairs, repair_summary, state_repairs
from pipeline.grading import GRADES
from pipeline.runio import read_run, write_parquet
from pipeline.score import compute, run_manifest, write_run
from pipeline.stages import StageTimer

log = logging.getLogger("tmscreen")

RUN_NAME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HISTORY_COLUMNS = ["applicant_key", "as_of", "grade", "points", "risk_score", "flagged", *DIMENSIONS,
                   "credit_repair"]
DRIFT_COLUMNS = (*DIMENSIONS, "risk_score")
FUTURE_MARK = "is after the as-of date"
NON_IDENTICAL = ("timings.json",)


class BatchLockedError(RuntimeError):
    """Another batch holds STATE/batch.lock."""


# --------------------------------------------------------------------------- lock and cleanup
@contextmanager
def batch_lock(state: str | Path):
    """Hold ``STATE/batch.lock`` (fcntl.flock, non-blocking) for the duration of the block.

    The lock belongs to the open file: it is released when the process ends, even on SIGKILL, so a
    stale lock file never blocks the next batch. The file keeps the holder's pid for the message.
    """
    path = Path(state) / "batch.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise BatchLockedError(
                f"another tmscreen batch is running on {Path(state)} (lock {path} held by pid {holder}); "
                "wait for it to finish, or check that process. Nothing was written.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield path
    finally:
        fh.close()


def clean_state(state: str | Path) -> list[str]:
    """Remove what a killed batch left behind: hidden ``.*.tmp-*`` folders/files; restore or drop
    ``.<run>.old-*`` folders (an old run moved aside just before its replacement was renamed in)."""
    state = Path(state)
    removed = []
    for folder in (state / "runs", state / "history"):
        if not folder.is_dir():
            continue
        for p in sorted(folder.iterdir()):
            if not p.name.startswith("."):
                continue
            if ".old-" in p.name:
                name = p.name[1:].split(".old-")[0]
                if not (folder / name).exists() and (p / "manifest.json").exists():
                    os.replace(p, folder / name)
                    removed.append(f"restored {folder.name}/{name}")
                    continue
            elif ".tmp-" not in p.name:
                continue
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(f"{folder.name}/{p.name}")
    for r in removed:
        log.warning("cleaned after an interrupted batch: %s", r)
    return removed


def list_runs(state: str | Path) -> list[str]:
    """Published runs (as-of names with a manifest), oldest first."""
    runs = Path(state) / "runs"
    if not runs.is_dir():
        return []
    return sorted(p.name for p in runs.iterdir()
                  if RUN_NAME_RE.match(p.name) and (p / "manifest.json").exists())


# --------------------------------------------------------------------------- inputs up to as-of
def _split_future(loaded, as_of: pd.Timestamp) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Rows rejected *only* for being after the as-of date are not errors in a batch: they are
    filings of later batches. They leave the rejected tables and are counted as deferred."""
    rejected, deferred = {}, {}
    for table, frame in loaded.rejected.items():
        if not len(frame) or "reason" not in frame:
            rejected[table] = frame
            deferred[table] = 0
            continue
        only_future = frame["reason"].fillna("").astype("str").map(
            lambda r: bool(r) and all(FUTURE_MARK in part for part in r.split("; ")))
        rejected[table] = frame[~only_future].reset_index(drop=True)
        deferred[table] = int(only_future.sum())
    return rejected, deferred


def tables_up_to(tables: Tables, as_of: pd.Timestamp) -> Tables:
    """Applications filed, transfers and decisions dated on or before ``as_of`` (copies)."""
    apps = tables.applications[tables.applications["filing_date"] <= as_of].reset_index(drop=True)
    tr = tables.transfers
    tr = tr[(tr["transfer_date"] <= as_of) & tr["application_id"].isin(apps["application_id"])]
    dec = tables.decisions[tables.decisions["decision_date"] <= as_of].reset_index(drop=True)
    return Tables(applications=apps, transfers=tr.reset_index(drop=True), decisions=dec,
                  protected_marks=tables.protected_marks.copy(), public_terms=tables.public_terms.copy(),
                  as_of=as_of, extras=dict(tables.extras))


# --------------------------------------------------------------------------- history
def read_history(state: str | Path) -> pd.DataFrame:
    path = Path(state) / "history" / "grades.parquet"
    if not path.exists():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.read_parquet(path)


def history_rows(applicants: pd.DataFrame, as_of: str) -> pd.DataFrame:
    h = pd.DataFrame({"applicant_key": applicants["applicant_key"].astype("str"), "as_of": as_of})
    h["grade"] = applicants["grade"].astype("str").to_numpy()
    h["points"] = applicants["points"].astype("float64").to_numpy()
    h["risk_score"] = applicants["risk_score"].astype("float64").to_numpy()
    h["flagged"] = applicants["flagged"].astype("bool").to_numpy()
    for dim in DIMENSIONS:
        h[dim] = applicants[dim].astype("float64").to_numpy()
    repair = applicants["credit_repair"] if "credit_repair" in applicants else pd.Series("", index=applicants.index)
    h["credit_repair"] = repair.fillna("").astype("str").to_numpy()
    return h[HISTORY_COLUMNS]


def update_history(state: str | Path, rows: pd.DataFrame, as_of: str) -> Path:
    """Replace the rows of ``as_of`` in STATE/history/grades.parquet (atomic: temp file + os.replace)."""
    folder = Path(state) / "history"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "grades.parquet"
    old = read_history(state)
    old = old[old["as_of"].astype("str") != as_of]
    merged = pd.concat([old[HISTORY_COLUMNS], rows[HISTORY_COLUMNS]], ignore_index=True) if len(old) else rows
    merged = merged.sort_values(["as_of", "applicant_key"], kind="stable").reset_index(drop=True)
    for col in ("applicant_key", "as_of", "grade", "credit_repair"):
        merged[col] = merged[col].astype("str")
    merged["flagged"] = merged["flagged"].astype("bool")
    tmp = folder / f".grades.parquet.tmp-{uuid.uuid4().hex[:8]}"
    write_parquet(merged, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- change report and drift
def _applicant_row(r, prev=None) -> dict:
    d = {"applicant_key": r.applicant_key, "applicant_name": r.applicant_name, "grade": r.grade,
         "points": round(float(r.points), 2), "risk_score": round(float(r.risk_score), 4)}
    if prev is not None:
        d.update(previous_grade=prev.grade, previous_points=round(float(prev.points), 2),
                 previous_risk_score=round(float(prev.risk_score), 4))
    reasons = getattr(r, "reasons", "")
    d["reasons"] = reasons if isinstance(reasons, str) else ""
    return d


def change_report(current: pd.DataFrame, previous: pd.DataFrame | None, as_of: str,
                  previous_as_of: str | None) -> dict:
    """New flags, cleared flags, grades up and down (with names) and counts, against the previous run."""
    cur = current.set_index("applicant_key", drop=False).sort_index()
    grades_now = {g: int((cur["grade"] == g).sum()) for g in GRADES}
    report = {"as_of": as_of, "previous_as_of": previous_as_of, "counts": {}, "new_flags": [],
              "cleared_flags": [], "grade_up": [], "grade_down": [], "new_applicants": 0, "gone_applicants": 0}
    counts = {"applicants": int(len(cur)), "flagged": int(cur["flagged"].sum()), "grades": grades_now}
    if previous is None:
        report["new_flags"] = [_applicant_row(r) for r in cur[cur["flagged"]].itertuples()]
        counts.update(new_flags=len(report["new_flags"]), cleared_flags=0, grade_up=0, grade_down=0,
                      new_applicants=int(len(cur)), gone_applicants=0)
        report["counts"] = counts
        return report
    prev = previous.set_index("applicant_key", drop=False).sort_index()
    rank = {g: i for i, g in enumerate(GRADES)}
    both = cur.index.intersection(prev.index)
    new_keys = cur.index.difference(prev.index)
    gone_keys = prev.index.difference(cur.index)
    was_flagged = prev["flagged"].reindex(cur.index, fill_value=False).astype(bool)
    new_flags = cur[cur["flagged"] & ~was_flagged]
    report["new_flags"] = [_applicant_row(r, prev.loc[r.applicant_key] if r.applicant_key in prev.index
                                          else None) for r in new_flags.itertuples()]
    now_flagged = cur["flagged"].reindex(prev.index, fill_value=False).astype(bool)
    cleared = prev[prev["flagged"] & ~now_flagged]
    report["cleared_flags"] = [
        {**_applicant_row(cur.loc[k], prev.loc[k]), "still_present": True}
        if k in cur.index else {**_applicant_row(prev.loc[k]), "still_present": False}
        for k in cleared.index]
    c, p = cur.loc[both], prev.loc[both]
    delta = c["grade"].map(rank) - p["grade"].map(rank)
    for name, sel in (("grade_up", delta < 0), ("grade_down", delta > 0)):
        keys = sorted(both[sel.to_numpy()], key=lambda k: (-abs(int(delta[k])), k))
        report[name] = [_applicant_row(cur.loc[k], prev.loc[k]) for k in keys]
    counts.update(previous_applicants=int(len(prev)), previous_flagged=int(prev["flagged"].sum()),
                  previous_grades={g: int((prev["grade"] == g).sum()) for g in GRADES},
                  new_flags=len(report["new_flags"]), cleared_flags=len(report["cleared_flags"]),
                  grade_up=len(report["grade_up"]), grade_down=len(report["grade_down"]),
                  new_applicants=int(len(new_keys)), gone_applicants=int(len(gone_keys)))
    report["new_applicants"] = counts["new_applicants"]
    report["gone_applicants"] = counts["gone_applicants"]
    report["counts"] = counts
    return report


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def change_markdown(report: dict, drift: dict | None, max_rows: int) -> str:
    c = report["counts"]
    prev = report["previous_as_of"]
    lines = [f"# tmscreen batch {report['as_of']}", ""]
    if prev is None:
        lines.append("First run in this state folder: every flagged applicant is listed as a new flag.")
    else:
        lines.append(f"Compared with the run of {prev}.")
    lines += ["", "| | count |", "|---|---|",
              f"| applicants | {c['applicants']} (previous {c.get('previous_applicants', '-')}; "
              f"new {c['new_applicants']}, gone {c['gone_applicants']}) |",
              f"| flagged | {c['flagged']} (previous {c.get('previous_flagged', '-')}) |",
              f"| new flags | {c['new_flags']} |", f"| flags cleared | {c['cleared_flags']} |",
              f"| grades up | {c['grade_up']} |", f"| grades down | {c['grade_down']} |",
              "| grades | " + ", ".join(f"{g} {n}" for g, n in c["grades"].items())
              + ("" if prev is None else " (previous " + ", ".join(
                  f"{g} {n}" for g, n in c["previous_grades"].items()) + ")") + " |", ""]
    sections = (("New flags", "new_flags"), ("Flags cleared", "cleared_flags"), ("Grades up", "grade_up"),
                ("Grades down", "grade_down"))
    for title, key in sections:
        items = report[key]
        lines.append(f"## {title} ({len(items)})")
        lines.append("")
        if not items:
            lines += ["none", ""]
            continue
        lines += ["| applicant | key | grade | points | risk | reasons |", "|---|---|---|---|---|---|"]
        for it in items[:max_rows]:
            g = it["grade"] if "previous_grade" not in it else f"{it['previous_grade']} → {it['grade']}"
            pts = (f"{it['points']:g}" if "previous_points" not in it
                   else f"{it['previous_points']:g} → {it['points']:g}")
            risk = (f"{it['risk_score']:.3f}" if "previous_risk_score" not in it
                    else f"{it['previous_risk_score']:.3f} → {it['risk_score']:.3f}")
            lines.append(f"| {_md_escape(it['applicant_name'])} | `{_md_escape(it['applicant_key'])}` | {g} | "
                         f"{pts} | {risk} | {_md_escape(it['reasons'])[:200]} |")
        if len(items) > max_rows:
            lines.append(f"\n… {len(items) - max_rows} more in changes.json")
        lines.append("")
    if drift and drift.get("previous_as_of"):
        lines += ["## Score drift (PSI against the previous run)", "", "| score | PSI | |", "|---|---|---|"]
        for col, v in drift["psi"].items():
            lines.append(f"| {col} | {v:.4f} | {'**warning**' if col in drift['warn_columns'] else ''} |")
        lines.append("")
    return "\n".join(lines)


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected``, bins cut at the expected
    sample's quantiles (ties merged, so a score that is mostly 0 gets fewer, wider bins)."""
    expected = np.asarray(expected, dtype="float64")
    actual = np.asarray(actual, dtype="float64")
    if not len(expected) or not len(actual):
        return 0.0
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1) / len(expected)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1) / len(actual)
    e, a = np.clip(e, eps, None), np.clip(a, eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_report(current: pd.DataFrame, previous: pd.DataFrame | None, as_of: str, previous_as_of: str | None,
                 config: Config) -> dict:
    cfg = config.batch
    out = {"as_of": as_of, "previous_as_of": previous_as_of, "bins": int(cfg.drift_bins),
           "threshold": float(cfg.drift_psi_warn), "psi": {}, "warn_columns": [], "warnings": []}
    if previous is None:
        out["warnings"] = []
        return out
    for col in DRIFT_COLUMNS:
        v = round(psi(previous[col].to_numpy(), current[col].to_numpy(), int(cfg.drift_bins)), 6)
        out["psi"][col] = v
        if v > cfg.drift_psi_warn:
            out["warn_columns"].append(col)
            out["warnings"].append(f"{col}: PSI {v:.3f} against {previous_as_of} exceeds {cfg.drift_psi_warn:g}")
    return out


# --------------------------------------------------------------------------- publishing
def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def _fsync_tree(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())


def _publish(staging: Path, dest: Path) -> None:
    """Rename the finished staging folder to ``dest``, replacing an older run of the same as-of."""
    _fsync_tree(staging)
    if dest.exists():
        if not (dest / "manifest.json").exists():
            raise RuntimeError(f"{dest} exists and is not a tmscreen run (no manifest.json); move it away")
        trash = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(dest, trash)
        os.replace(staging, dest)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, dest)


# --------------------------------------------------------------------------- the batch
def run_batch(data: str | Path, state: str | Path, as_of: str, config: Config, model=None,
              model_info: dict | None = None, progress=None) -> dict:
    """Score ``data`` as it stood on ``as_of`` into ``STATE/runs/<as_of>/`` and update the history.

    Returns a summary dict (run path, previous as-of, counts of changes, drift warnings, ...).
    Raises :class:`BatchLockedError` when another batch holds the state's lock.
    """
    state = Path(state)
    try:
        as_of_ts = pd.Timestamp(pd.to_datetime(str(as_of), format="%Y-%m-%d")).normalize()
    except (ValueError, TypeError):
        raise ValueError(f"as_of must be a YYYY-MM-DD date, got {as_of!r}") from None
    tag = str(as_of_ts.date())
    state.mkdir(parents=True, exist_ok=True)
    with batch_lock(state):
        cleaned = clean_state(state)
        timer = StageTimer(progress)  # progress: a terminal stream for stage-by-stage lines (or None)
        with timer.stage("load"):
            loaded = load_dataset(data, as_of=as_of_ts)
            rejected, deferred = _split_future(loaded, as_of_ts)
            tables = tables_up_to(loaded.tables, as_of_ts)
            timer.rows = len(tables.applications)
        result = compute(tables, config, timer, model=model)

        with timer.stage("credit"):
            from features.decisions import weighted_decisions

            history = read_history(state)
            prior = history[history["as_of"].astype("str") != tag] if len(history) else None
            decisions = weighted_decisions(result.tables.decisions, as_of_ts, config.decisions)
            repairs = state_repairs(state)
            applicants = apply_repairs(result.applicants, decisions, repairs, prior, as_of_ts, config)
            result.applicants = applicants.drop(columns=["credit_repair"])

        counts = {t: {**c, "deferred": deferred.get(t, 0),
                      "rejected": c["rejected"] - deferred.get(t, 0)} for t, c in loaded.counts.items()}
        manifest = {"kind": "batch", **run_manifest(data, tag, loaded.inputs, counts, config, result, model_info)}
        manifest["summary"]["credit_repairs"] = repair_summary(applicants)
        manifest["byte_identical_on_rerun"] = "every file of this folder except " + ", ".join(NON_IDENTICAL)
        runs = state / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        staging = runs / f".{tag}.tmp-{uuid.uuid4().hex[:8]}"
        write_run(result, staging, manifest, rejected, timer, config)  # atomic itself; we add files, then publish

        earlier = [r for r in list_runs(state) if r < tag]
        previous_as_of = earlier[-1] if earlier else None
        previous = (pd.read_parquet(runs / previous_as_of / "applicant_scores.parquet")
                    if previous_as_of else None)
        report = change_report(result.applicants, previous, tag, previous_as_of)
        drift = drift_report(result.applicants, previous, tag, previous_as_of, config)
        for w in drift["warnings"]:
            log.warning("drift: %s", w)
        _write_json(staging / "changes.json", report)
        (staging / "changes.md").write_text(
            change_markdown(report, drift, int(config.batch.changes_md_max_rows)) + "\n", encoding="utf-8")
        _write_json(staging / "drift.json", drift)
        # Timings are wall-clock: out of the manifest, into timings.json (not byte-identical).
        written = json.loads((staging / "manifest.json").read_text(encoding="utf-8"))
        stages = written.pop("stages", [])
        _write_json(staging / "timings.json", {"as_of": tag, "stages": stages})
        (staging / "manifest.json").write_text(json.dumps(written, ensure_ascii=False, indent=2, default=str),
                                               encoding="utf-8")
        dest = runs / tag
        _publish(staging, dest)
        read_run(dest)
        update_history(state, history_rows(applicants, tag), tag)
    return {
        "as_of": tag, "run": str(dest), "previous_as_of": previous_as_of,
        "summary": manifest["summary"], "rows": counts, "changes": report["counts"],
        "drift_warnings": drift["warnings"], "cleaned": cleaned,
    }
