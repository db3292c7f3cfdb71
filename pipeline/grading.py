"""Grading: A/B/C/D credit grades from dimension scores and decisions, with a deduction table.

The scheme follows CNIPA's credit-grading drafts: start from 100 points, deduct per dimension score
band and per effective decision (by kind and age); A >= 90, B 80-89, C 60-79, D < 60 (all numbers in
the [grading] section of the config). Hard rules: an effective bad-faith decision in the last
``hard_rule_years`` caps the grade at C, ``hard_rule_d_count`` or more give D. The decisions
dimension score is not band-deducted: decisions deduct individually, so nothing counts twice.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.config import Config
from core.reasons import BAD_FAITH_KINDS
from core.tables import isin, join_grouped

GRADES = ("A", "B", "C", "D")
BAND_DIMENSIONS = ("hoarding", "infringement", "squatting", "transfer")


def _deduction_json(item: pd.Series, points: pd.Series) -> pd.Series:
    """``json.dumps({"item": i, "points": round(p, 2)}, ensure_ascii=False)`` per row, as str.

    json.dumps runs once per distinct item and per distinct points value (a few thousand at 1M
    applicants: band items repeat, points are config values), so the text is json's own."""
    item_codes, items = pd.factorize(item, use_na_sentinel=False)
    item_js = pd.array([json.dumps(i, ensure_ascii=False) for i in items], dtype="str")
    pts_codes, pts = pd.factorize(points, use_na_sentinel=False)
    pts_js = pd.array([json.dumps(round(float(p), 2)) for p in pts], dtype="str")
    return ('{"item": ' + pd.Series(item_js.take(item_codes), index=item.index) + ', "points": '
            + pd.Series(pts_js.take(pts_codes), index=item.index) + "}")


def band_deductions(scores: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One row per (applicant_key, dimension) with points > 0: the highest band reached."""
    cfg = config.grading
    edges = np.asarray(cfg.band_edges, dtype="float64")
    rows = []
    for dim in BAND_DIMENSIONS:
        band = np.searchsorted(edges, scores[dim].to_numpy(), side="right") - 1  # -1 = below first edge
        pts = np.asarray(getattr(cfg, f"points_{dim}"), dtype="float64")
        hit = band >= 0
        rows.append(pd.DataFrame({
            "applicant_key": scores.index[hit],
            "item": [f"{dim} score {s:.2f} (band >= {edges[b]:.2f})" for s, b in zip(scores[dim].to_numpy()[hit], band[hit])],
            "points": pts[band[hit]],
        }))
    return pd.concat(rows, ignore_index=True)


def decision_deductions(decisions: pd.DataFrame, config: Config) -> pd.DataFrame:
    """decisions needs subject_key, kind, decision_date, age_years, reference."""
    cfg = config.grading
    d = decisions[decisions["age_years"] < cfg.decision_expire_years]
    base = d["kind"].map(lambda k: getattr(cfg, f"points_{k}", cfg.points_other)).astype("float64")
    factor = np.where(d["age_years"] <= cfg.decision_recent_years, 1.0, 0.5)
    ref = d["reference"].fillna("").astype("str")
    item = (d["kind"].str.replace("_", " ") + " " + d["decision_date"].dt.strftime("%Y-%m-%d")
            + np.where(ref != "", " (" + ref + ")", "") + np.where(factor < 1, ", older than "
            + str(cfg.decision_recent_years) + "y: half", ""))
    return pd.DataFrame({"applicant_key": d["subject_key"].to_numpy(), "item": item.to_numpy(),
                         "points": (base * factor).to_numpy()})


def grade_applicants(scores: pd.DataFrame, decisions: pd.DataFrame, config: Config) -> pd.DataFrame:
    """scores: index applicant_key, columns per dimension. Returns points, grade, deductions (JSON)."""
    cfg = config.grading
    ded = pd.concat([band_deductions(scores, config), decision_deductions(decisions, config)], ignore_index=True)
    ded = ded[isin(ded["applicant_key"], scores.index)]
    total = ded.groupby("applicant_key")["points"].sum().reindex(scores.index, fill_value=0.0)
    points = (cfg.start_points - total).clip(lower=0)
    grade = np.select([points >= cfg.cutoff_a, points >= cfg.cutoff_b, points >= cfg.cutoff_c], ["A", "B", "C"], "D")
    recent_bad = decisions[decisions["kind"].isin(BAD_FAITH_KINDS) & (decisions["age_years"] <= cfg.hard_rule_years)]
    n_bad = recent_bad.groupby("subject_key").size().reindex(scores.index, fill_value=0)
    rule = np.where(n_bad >= cfg.hard_rule_d_count, "D", np.where(n_bad >= 1, "C", ""))
    rank = {g: i for i, g in enumerate(GRADES)}
    grade_rank = pd.Series(grade).map(rank).to_numpy()
    rule_rank = pd.Series(rule).map(rank).fillna(-1).to_numpy()
    worse = rule_rank > grade_rank
    final = np.where(worse, rule, grade)
    hard = np.where(worse, np.where(rule == "D", f"{cfg.hard_rule_d_count}+ bad-faith decisions within "
                                    f"{cfg.hard_rule_years:g}y: grade D", f"bad-faith decision within "
                                    f"{cfg.hard_rule_years:g}y: at most C"), "")
    table = ded.sort_values(["applicant_key", "points", "item"], ascending=[True, False, True])
    as_json = "[" + join_grouped(table["applicant_key"], _deduction_json(table["item"], table["points"]), ", ") + "]"
    return pd.DataFrame({
        "points": points, "grade": final, "hard_rule": hard,
        "deductions": as_json.reindex(scores.index).fillna("[]"),
    }, index=scores.index)


def explain(grades: pd.DataFrame, key: str) -> str:
    """The deduction table of one applicant as text (``tmscreen grade explain``)."""
    row = grades.loc[key]
    items = json.loads(row["deductions"])
    start = row["points"] + sum(d["points"] for d in items)
    lines = [f"{key}: grade {row['grade']} ({row['points']:.0f} points)", f"{'deduction':<70} points"]
    lines.append(f"{'start':<70} {start:>6.0f}")
    for d in items:
        lines.append(f"{d['item']:<70} {-d['points']:>6.0f}")
    if row.get("hard_rule"):
        lines.append(f"hard rule: {row['hard_rule']}")
    return "\n".join(lines)
