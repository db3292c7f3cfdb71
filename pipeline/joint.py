"""Back-end joint action (联合惩戒): exports for other agencies, the D list, random inspection lists
and fund-eligibility checks, all read from a finished run folder.

* :func:`export_joint` — ``joint.csv`` and ``joint.jsonl`` (one applicant a line, validated by
  ``docs/joint-export.schema.json``) plus ``d_list.csv`` (grade D applicants).
* :func:`inspect_sample` — "double random" spot checks: a reproducible random sample per grade.
* :func:`eligibility` — does a subject applying for public funds need strict review, and why.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import Config, load_config
from models.scoring import DIMENSIONS
from pipeline.entities import resolve_keys
from pipeline.grading import GRADES
from pipeline.runio import read_run, write_csv

SCHEMA_VERSION = "1.0"
DECISION_REASONS = ("DECISION_BAD_FAITH", "DECISION_INVALIDATION", "DECISION_PENALTY", "DECISION_JUDGMENT")


def _applicants(run: str | Path) -> tuple[pd.DataFrame, dict]:
    manifest = read_run(run)
    a = pd.read_parquet(Path(run) / "applicant_scores.parquet")
    a["names"] = a["names"].map(lambda v: [str(x) for x in v] if v is not None and len(v) else [])
    return a.sort_values("applicant_key", kind="stable").reset_index(drop=True), manifest


def joint_records(run: str | Path) -> list[dict]:
    """One dict per applicant in the joint-export schema (sorted by applicant_key)."""
    a, manifest = _applicants(run)
    out = []
    for r in a.itertuples(index=False):
        out.append({
            "schema_version": SCHEMA_VERSION,
            "as_of": manifest.get("as_of"),
            "applicant_key": r.applicant_key,
            "name": r.applicant_name,
            "names": list(r.names),
            "grade": r.grade,
            "points": round(float(r.points), 2),
            "risk": round(float(r.risk_score), 6),
            "flagged": bool(r.flagged),
            "dimensions": {d: round(float(getattr(r, d)), 6) for d in DIMENSIONS},
            "reasons": [s for s in str(r.reasons or "").split(" | ") if s],
            "group": r.group_id,
        })
    return out


def export_joint(run: str | Path, out_dir: str | Path) -> dict:
    """Write joint.csv, joint.jsonl and d_list.csv into ``out_dir``; returns paths and counts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = joint_records(run)
    jsonl = out_dir / "joint.jsonl"
    with open(jsonl, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    flat = pd.DataFrame([{**{k: v for k, v in rec.items() if k not in ("dimensions", "reasons", "names")},
                          "names": "; ".join(rec["names"]),
                          **{f"dim_{d}": v for d, v in rec["dimensions"].items()},
                          "reasons": " | ".join(rec["reasons"])} for rec in records])
    if not len(flat):
        flat = pd.DataFrame(columns=["schema_version", "as_of", "applicant_key", "name", "grade", "points",
                                     "risk", "flagged", "group", "names", *[f"dim_{d}" for d in DIMENSIONS],
                                     "reasons"])
    csv = out_dir / "joint.csv"
    write_csv(flat, csv)
    d_list = flat[flat["grade"] == "D"].sort_values(["points", "applicant_key"], kind="stable")
    d_path = out_dir / "d_list.csv"
    write_csv(d_list[["applicant_key", "name", "names", "points", "risk", "group", "reasons", "as_of"]], d_path)
    return {"csv": str(csv), "jsonl": str(jsonl), "d_list": str(d_path), "applicants": len(records),
            "d": int(len(d_list))}


# --------------------------------------------------------------------------- random inspection
def parse_rates(text: str) -> dict[str, float]:
    """'A=0.02,B=0.05,C=0.2,D=1' → {'A': 0.02, ...}. Grades not named get rate 0."""
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        grade, sep, value = part.partition("=")
        grade = grade.strip().upper()
        try:
            rate = float(value)
        except ValueError:
            rate = float("nan")
        if not sep or grade not in GRADES or not 0 <= rate <= 1:
            raise ValueError(f"rates: each item must be GRADE=RATE with GRADE in {list(GRADES)} and RATE in "
                             f"[0, 1]; got {part!r}")
        rates[grade] = rate
    return rates


def inspect_sample(run: str | Path, rates: dict[str, float], seed: int) -> pd.DataFrame:
    """A reproducible random inspection list: per grade, ceil(rate x n) applicants drawn without
    replacement. Applicants are stable-sorted by applicant_key first and grades drawn in A-D order
    from one ``numpy.random.default_rng(seed)``, so the same run, rates and seed give the same list."""
    for g, r in rates.items():
        if g not in GRADES or not 0 <= float(r) <= 1:
            raise ValueError(f"rates: grade must be one of {list(GRADES)} and rate in [0, 1]; got {g}={r!r}")
    a, manifest = _applicants(run)
    rng = np.random.default_rng(seed)
    parts = []
    for grade in GRADES:
        members = a[a["grade"] == grade].reset_index(drop=True)
        rate = float(rates.get(grade, 0.0))
        k = min(len(members), math.ceil(rate * len(members) - 1e-9)) if rate > 0 else 0
        if not k:
            continue
        pick = np.sort(rng.choice(len(members), size=k, replace=False))
        chosen = members.iloc[pick]
        parts.append(pd.DataFrame({
            "grade": grade, "applicant_key": chosen["applicant_key"].to_numpy(),
            "applicant_name": chosen["applicant_name"].to_numpy(), "points": chosen["points"].to_numpy(),
            "risk_score": chosen["risk_score"].round(6).to_numpy(), "rate": rate,
            "population": len(members), "seed": seed, "as_of": manifest.get("as_of"),
        }))
    cols = ["grade", "applicant_key", "applicant_name", "points", "risk_score", "rate", "population", "seed", "as_of"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


# --------------------------------------------------------------------------- fund eligibility
def _read_subjects(subjects_csv: str | Path) -> pd.DataFrame:
    s = pd.read_csv(subjects_csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    s.columns = [c.strip().lower() for c in s.columns]
    for alias in ("name", "subject_name", "applicant_name", "subject"):
        if alias in s.columns:
            s = s.rename(columns={alias: "name"})
            break
    else:
        raise ValueError(f"{subjects_csv}: needs a 'name' column (or subject_name / applicant_name); "
                         f"found {list(s.columns)}")
    for alias, col in (("applicant_address", "address"), ("applicant_type", "type"), ("applicant_country", "country")):
        if col not in s.columns and alias in s.columns:
            s = s.rename(columns={alias: col})
    for col in ("address", "type", "country"):
        if col not in s.columns:
            s[col] = ""
    return s.reset_index(drop=True)


def _recent_decisions(run: Path, as_of: pd.Timestamp, years: float) -> pd.Series:
    """applicant_key → text of its bad-faith decisions within ``years`` before as_of."""
    path = run / "flags.parquet"
    if not path.exists():
        return pd.Series(dtype="str")
    f = pd.read_parquet(path)
    f = f[f["reason"].astype("str").isin(DECISION_REASONS)].copy()
    if not len(f):
        return pd.Series(dtype="str")
    f["date"] = pd.to_datetime(f["evidence"].astype("str").str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    f = f[f["date"].notna() & ((as_of - f["date"]).dt.days / 365.25 <= years)]
    f = f.sort_values(["applicant_key", "date", "evidence"])
    return f.groupby("applicant_key")["evidence"].agg(lambda s: "; ".join(dict.fromkeys(s)))


def eligibility(subjects_csv: str | Path, run: str | Path, config: Config | None = None) -> pd.DataFrame:
    """Per subject: the matched applicant key, and whether a fund application needs strict review.

    Matching: ``resolve_keys`` on name/address/type/country (the key the pipeline gives that
    applicant); failing that, name only — the exact name among the run's name variants when it
    belongs to one applicant, else the normalised name (key base) when one applicant has it.
    Strict review when the grade is C or D, the applicant is flagged, or it has a bad-faith decision
    (refusal, invalidation, penalty, judgment) within ``[grading] hard_rule_years`` of the run's as-of.
    """
    config = config or load_config()
    run = Path(run)
    a, manifest = _applicants(run)
    as_of = pd.Timestamp(manifest.get("as_of"))
    subjects = _read_subjects(subjects_csv)
    by_key = a.set_index("applicant_key")
    recent = _recent_decisions(run, as_of, float(config.grading.hard_rule_years))

    full = resolve_keys(subjects[["name", "address", "type", "country"]]) if len(subjects) else pd.Series(dtype="str")
    variants = a[["applicant_key", "names"]].explode("names").dropna()
    variants = variants.drop_duplicates()
    exact = variants.groupby("names")["applicant_key"].agg(lambda s: s.iloc[0] if s.nunique() == 1 else None)
    base = a["applicant_key"].str.split("|").str[0]
    by_base = a.groupby(base)["applicant_key"].agg(lambda s: s.iloc[0] if len(s) == 1 else None)

    rows = []
    for i, s in subjects.iterrows():
        key, how = None, "not found"
        if full[i] in by_key.index:
            key, how = full[i], "name+address"
        elif s["name"].strip() in exact.index and exact[s["name"].strip()] is not None:
            key, how = exact[s["name"].strip()], "name"
        elif full[i].split("|")[0] in by_base.index and by_base[full[i].split("|")[0]] is not None:
            key, how = by_base[full[i].split("|")[0]], "normalised name"
        row = {"subject": s["name"], "address": s["address"], "applicant_key": key or "", "match": how,
               "grade": "", "points": np.nan, "risk_score": np.nan, "flagged": False, "strict_review": False,
               "why": "not found in run"}
        if key is not None:
            r = by_key.loc[key]
            why = []
            if r["grade"] in ("C", "D"):
                why.append(f"grade {r['grade']} ({float(r['points']):g} points)")
            if key in recent.index:
                why.append(f"recent bad-faith decision: {recent[key]}")
            if bool(r["flagged"]):
                why.append(f"flagged (risk {float(r['risk_score']):.2f}): {r['reasons']}")
            row.update(grade=r["grade"], points=float(r["points"]), risk_score=round(float(r["risk_score"]), 6),
                       flagged=bool(r["flagged"]), strict_review=bool(why),
                       why="; ".join(why) if why else f"grade {r['grade']}, not flagged, no recent bad-faith decision")
        rows.append(row)
    return pd.DataFrame(rows, columns=["subject", "address", "applicant_key", "match", "grade", "points",
                                       "risk_score", "flagged", "strict_review", "why"])
