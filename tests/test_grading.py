"""Grades of constructed applicants, computed by hand from the default [grading] table, compared
with pipeline.grading.grade_applicants; and credit repair (pipeline.credit) on top of it.

Defaults used by hand: start 100; A >= 90, B >= 80, C >= 60, else D. Band edges 0.3/0.5/0.8:
hoarding 5/15/30, infringement 5/15/30, squatting 5/15/25, transfer 5/10/20 (highest band only).
Decisions: bad-faith refusal 25, invalidation 20, penalty 25, judgment 20, other 5; full within 1
year, half until 5 years, nothing after. Hard rules: a bad-faith decision within 3 years caps at C,
two or more give D.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.config import load_config
from pipeline.credit import apply_repairs, load_repairs, record_repair
from pipeline.grading import explain, grade_applicants

AS_OF = pd.Timestamp("2025-06-30")
DIMS = ["hoarding", "infringement", "squatting", "transfer", "decisions"]


@pytest.fixture(scope="module")
def config():
    return load_config()


def _scores(rows: dict[str, dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=DIMS).fillna(0.0).astype("float64")
    frame.index.name = "applicant_key"
    return frame


def _decisions(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """(subject_key, kind, age_years) → the decisions frame grading expects."""
    d = pd.DataFrame(rows, columns=["subject_key", "kind", "age_years"])
    d["decision_date"] = AS_OF - pd.to_timedelta((d["age_years"] * 365.25).round(), unit="D")
    d["reference"] = [f"R{i}" for i in range(len(d))]
    return d


# key: (scores, expected points, expected grade, expected hard rule kind, expected deduction points)
CASES = {
    "clean": ({}, 100.0, "A", "", []),
    # bands: hoarding 0.55 → 15, infringement 0.29 → 0, squatting exactly 0.30 → 5 (edge inclusive),
    # transfer 0.85 → 20: 100 - 40 = 60 → C (60 is still C)
    "bands": ({"hoarding": 0.55, "infringement": 0.29, "squatting": 0.30, "transfer": 0.85}, 60.0, "C", "",
              [20.0, 15.0, 5.0]),
    # bad-faith refusal 2 years old: half of 25 → 87.5 = B, but the hard rule caps at C
    "dec_2y": ({}, 87.5, "C", "C", [12.5]),
    # 5.5 years old: expired, no deduction, outside the hard-rule window
    "dec_expired": ({}, 100.0, "A", "", []),
    # refusal 0.5y (25) + invalidation 2.5y (20/2 = 10) → 65 = C; two bad-faith within 3y → D
    "dec_two": ({}, 65.0, "D", "D", [25.0, 10.0]),
    # "other" decisions deduct 5 and are not bad faith (no hard rule)
    "other_kind": ({}, 95.0, "A", "", [5.0]),
    # penalty 4 years old: 12.5 → B; outside hard_rule_years = 3 → stays B
    "dec_4y": ({}, 87.5, "B", "", [12.5]),
    # hoarding 0.95 → 30, infringement exactly 0.8 → 30, judgment 0.9y → 20: 20 points → D;
    # the hard rule (C) is not worse than D, so it is not reported
    "mix": ({"hoarding": 0.95, "infringement": 0.8}, 20.0, "D", "", [30.0, 30.0, 20.0]),
    # the decisions score is never band-deducted (decisions deduct one by one)
    "dec_score_only": ({"decisions": 0.99}, 100.0, "A", "", []),
}
DECISIONS = [("dec_2y", "bad_faith_refusal", 2.0), ("dec_expired", "bad_faith_refusal", 5.5),
             ("dec_two", "bad_faith_refusal", 0.5), ("dec_two", "invalidation", 2.5),
             ("other_kind", "other", 0.2), ("dec_4y", "administrative_penalty", 4.0),
             ("mix", "infringement_judgment", 0.9), ("somebody_else", "bad_faith_refusal", 0.1)]


@pytest.fixture(scope="module")
def graded(config):
    scores = _scores({k: v[0] for k, v in CASES.items()})
    return grade_applicants(scores, _decisions(DECISIONS), config)


@pytest.mark.parametrize("key", list(CASES))
def test_grade_matches_hand_computation(graded, key):
    _, points, grade, rule, deductions = CASES[key]
    row = graded.loc[key]
    assert row["points"] == pytest.approx(points)
    assert row["grade"] == grade
    assert (row["hard_rule"] != "") == (rule != "")
    if rule == "C":
        assert "at most C" in row["hard_rule"]
    if rule == "D":
        assert "grade D" in row["hard_rule"]
    items = json.loads(row["deductions"])
    assert [d["points"] for d in items] == deductions
    assert 100 - sum(d["points"] for d in items) == pytest.approx(points)


def test_deduction_items_name_the_band_and_decision(graded):
    items = [d["item"] for d in json.loads(graded.loc["bands", "deductions"])]
    assert items == ["transfer score 0.85 (band >= 0.80)", "hoarding score 0.55 (band >= 0.50)",
                     "squatting score 0.30 (band >= 0.30)"]
    two = [d["item"] for d in json.loads(graded.loc["dec_two", "deductions"])]
    assert two[0].startswith("bad faith refusal ") and "(R" in two[0]
    assert two[1].startswith("invalidation ") and two[1].endswith("older than 1.0y: half")


def test_decisions_of_unknown_subjects_are_ignored(graded):
    assert "somebody_else" not in graded.index
    assert len(graded) == len(CASES)


def test_explain_lists_start_and_every_deduction(graded):
    text = explain(graded, "dec_two")
    assert text.splitlines()[0] == "dec_two: grade D (65 points)"
    assert "start" in text and "100" in text
    assert "hard rule: 2+ bad-faith decisions" in text


# --------------------------------------------------------------------------- credit repair
def _applicants(config, rows: dict[str, dict], decisions: pd.DataFrame) -> pd.DataFrame:
    scores = _scores(rows)
    g = grade_applicants(scores, decisions, config)
    return scores.join(g).reset_index()


def _repairs(rows):
    return pd.DataFrame([{"applicant_key": k, "date": pd.Timestamp(d), "reviewer": r, "comment": "",
                          "status": s} for k, d, r, s in rows])


def _history(rows: dict[str, tuple[str, dict]]) -> pd.DataFrame:
    out = []
    for key, (as_of, scores) in rows.items():
        out.append({"applicant_key": key, "as_of": as_of, **{d: scores.get(d, 0.0) for d in DIMS}})
    return pd.DataFrame(out)


def test_granted_repair_waives_band_deductions_but_not_decisions(config):
    dec = _decisions([("both", "bad_faith_refusal", 2.0)])
    apps = _applicants(config, {"bands": {"hoarding": 0.55, "transfer": 0.85}, "both": {"hoarding": 0.6},
                                "untouched": {"hoarding": 0.55}}, dec)
    hist = _history({"bands": ("2025-01-31", {"hoarding": 0.56, "transfer": 0.85}),
                     "both": ("2025-01-31", {"hoarding": 0.6})})
    rep = _repairs([("bands", "2025-03-01", "Li Wei", "granted"), ("both", "2025-03-01", "Li Wei", "granted"),
                    ("untouched", "2025-03-01", "Li Wei", "denied")])
    out = apply_repairs(apps, dec, rep, hist, AS_OF, config).set_index("applicant_key")
    # bands: 100 - 15 - 20 = 65 (C) before; repaired: 100, A
    assert out.loc["bands", "points"] == 100 and out.loc["bands", "grade"] == "A"
    first = json.loads(out.loc["bands", "deductions"])[0]
    assert first == {"item": "credit repair granted 2025-03-01 by Li Wei: band deductions waived until 2026-03-01",
                     "points": 0.0}
    # both: hoarding band (15) waived, the decision (12.5) stays and so does the hard rule (C)
    assert out.loc["both", "points"] == 87.5 and out.loc["both", "grade"] == "C"
    assert "at most C" in out.loc["both", "hard_rule"]
    # a denied repair does nothing
    assert out.loc["untouched", "points"] == 85 and out.loc["untouched", "credit_repair"] == ""


def test_repair_is_void_when_scores_rise_or_new_decisions_appear(config):
    dec = _decisions([("later", "other", 0.1)])  # dated 2025-05-24, after the repair
    apps = _applicants(config, {"rose": {"hoarding": 0.7}, "later": {"hoarding": 0.55}}, dec)
    hist = _history({"rose": ("2025-01-31", {"hoarding": 0.55}), "later": ("2025-01-31", {"hoarding": 0.55})})
    rep = _repairs([("rose", "2025-03-01", "Li Wei", "granted"), ("later", "2025-03-01", "Li Wei", "granted")])
    out = apply_repairs(apps, dec, rep, hist, AS_OF, config).set_index("applicant_key")
    assert out.loc["rose", "points"] == 85
    assert "void, new negative findings (hoarding 0.55 -> 0.70)" in out.loc["rose", "credit_repair"]
    assert out.loc["later", "points"] == 80  # 15 band + 5 decision, nothing waived
    assert "void" in out.loc["later", "credit_repair"] and "other 2025-" in out.loc["later", "credit_repair"]
    assert json.loads(out.loc["later", "deductions"])[0]["points"] == 0.0


def test_repair_expires_after_repair_days(config):
    apps = _applicants(config, {"old": {"hoarding": 0.55}}, _decisions([]))
    rep = _repairs([("old", "2024-06-29", "Li Wei", "granted")])  # 366 days before AS_OF
    out = apply_repairs(apps, _decisions([]), rep, None, AS_OF, config)
    assert out.loc[0, "points"] == 85 and out.loc[0, "credit_repair"] == ""
    longer = config.with_overrides({"credit": {"repair_days": 400}})
    out = apply_repairs(apps, _decisions([]), rep, None, AS_OF, longer)
    assert out.loc[0, "points"] == 100  # no history: the current findings are the baseline


def test_record_and_load_repairs_roundtrip(tmp_path):
    record_repair(tmp_path, "c:acme|CN", "2025-03-01", "王芳", "补正材料齐全")
    record_repair(tmp_path, "c:acme|CN", "2025-04-01", "Li", status="denied")
    rep = load_repairs(tmp_path / "repairs.jsonl")
    assert list(rep["status"]) == ["granted", "denied"]
    assert rep.loc[0, "reviewer"] == "王芳" and rep.loc[0, "date"] == pd.Timestamp("2025-03-01")
    assert load_repairs(tmp_path / "missing.jsonl").empty
    (tmp_path / "bad.jsonl").write_text('{"applicant_key": "x", "date": "03/01/2025"}\n')
    with pytest.raises(ValueError, match="record 1: date must be a YYYY-MM-DD"):
        load_repairs(tmp_path / "bad.jsonl")


def test_per_applicant_columns_by_hand():
    """The applicant table's name, names, group, type, country and filing count, and each filing's row,
    against a table worked out by hand (most used name, ties to the alphabetically first)."""
    from pipeline.score import _per_applicant

    apps = pd.DataFrame({
        "applicant_key": ["k2", "k1", "k2", "k2", "k1", "k3", "k2"],
        "applicant_name": ["Beta Ltd", "Zeta", "Alpha Ltd", "Beta Ltd", "Acme", "Solo", "Alpha Ltd"],
        "group_id": ["g:k1", "g:k1", "g:k1", "g:k1", "g:k1", "g:k3", "g:k1"],
        "applicant_type": ["company", "individual", "company", "company", "individual", "company", "company"],
        "applicant_country": ["CN", "US", "CN", "CN", "US", "", "CN"],
    }, dtype="str")
    index = pd.Index(["k1", "k2", "k3"], name="applicant_key", dtype="str")
    out, at = _per_applicant(apps, index)
    # k1: Zeta 1, Acme 1 -> tie -> Acme; k2: Beta Ltd 2, Alpha Ltd 2 -> tie -> Alpha Ltd
    assert out["applicant_name"].tolist() == ["Acme", "Alpha Ltd", "Solo"]
    assert [list(v) for v in out["names"]] == [["Acme", "Zeta"], ["Alpha Ltd", "Beta Ltd"], ["Solo"]]
    assert out["n_applications"].tolist() == [2, 4, 1]
    assert out["applicant_type"].tolist() == ["individual", "company", "company"]
    assert out["applicant_country"].tolist() == ["US", "CN", ""]
    assert out["group_id"].tolist() == ["g:k1", "g:k1", "g:k3"]
    assert at.tolist() == [1, 0, 1, 1, 0, 2, 1]
    # a different order of the index moves the rows, not the values
    out2, at2 = _per_applicant(apps, pd.Index(["k3", "k1", "k2"], name="applicant_key", dtype="str"))
    assert out2["applicant_name"].tolist() == ["Solo", "Acme", "Alpha Ltd"] and at2.tolist() == [2, 1, 2, 2, 1, 0, 2]


def test_reasons_text_orders_by_dimension_contribution_then_strength():
    """Per applicant: reasons of the dimension contributing most first, then by strength; one line per
    reason code (its strongest flag), at most ``max_reasons``; a code already leading the evidence is
    not repeated. Worked out by hand."""
    from pipeline.score import _reasons_text

    flags = pd.DataFrame({
        "application_id": ["", "A1", "A2", "", "", "B1"],
        "applicant_key": ["a", "a", "a", "a", "b", "b"],
        "reason": ["HOARDING_VOLUME", "INFRINGEMENT_EXACT", "INFRINGEMENT_EXACT", "HOARDING_BURST",
                   "HOARDING_BURST", "INFRINGEMENT_EXACT"],
        "strength": [0.9, 0.5, 0.7, 0.95, 0.4, 0.3],
        "evidence": ["40 filings", "copy of X", "copy of Y", "HOARDING_BURST: 12 in 5 days", "9 in 5 days",
                     "copy of Z"],
    })
    contrib = pd.DataFrame({d: [0.0, 0.0] for d in DIMS}, index=pd.Index(["a", "b"], dtype="str"))
    contrib.loc["a", "infringement"], contrib.loc["a", "hoarding"] = 0.8, 0.3
    contrib.loc["b", "infringement"], contrib.loc["b", "hoarding"] = 0.1, 0.2
    text = _reasons_text(flags, contrib, max_reasons=2)
    # a: infringement (0.8) first, its strongest flag (Y, 0.7); then hoarding's strongest (burst 0.95)
    assert text["a"] == "INFRINGEMENT_EXACT: copy of Y | HOARDING_BURST: 12 in 5 days"
    assert text["b"] == "HOARDING_BURST: 9 in 5 days | INFRINGEMENT_EXACT: copy of Z"
