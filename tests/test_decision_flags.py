"""Effective adverse decisions flag an applicant whatever its filings look like (end to end)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from core.config import load_config
from pipeline.contract import load_dataset
from pipeline.score import compute


def test_two_bad_faith_refusals_in_three_years_flag_an_ordinary_filer(tmp_path):
    """Applicant X files ten ordinary marks; two bad-faith refusals against it, 1 and 2.5 years
    before the as-of date. Decisions severity = 2 x 0.5^(1/3) + 2 x 0.5^(2.5/3) (two units each,
    halving every three years) = 2.71; score 1 - e^-2.71 = 0.93; risk (noisy-OR, weight 0.9, its
    other dimensions 0) 0.84 >= the flag threshold 0.5. Two decisions within three years: grade D."""
    rows = [(f"A{i}", f"2024-{1 + i:02d}-01", f"QORVIN{i:02d}", "9", "上海市甲乙丙科技有限公司") for i in range(10)]
    rows += [(f"B{i}", "2023-05-01", f"ZELMOR{i:02d}", str(10 + i), f"上海市丁{i}贸易有限公司") for i in range(30)]
    apps = pd.DataFrame(rows, columns=["application_id", "filing_date", "mark_text", "nice_classes", "applicant_name"])
    apps.to_csv(tmp_path / "applications.csv", index=False)
    pd.DataFrame({"subject_name": ["上海市甲乙丙科技有限公司"] * 2, "decision_date": ["2024-06-30", "2023-01-01"],
                  "kind": ["bad_faith_refusal"] * 2, "reference": ["R1", "R2"]}).to_csv(tmp_path / "decisions.csv",
                                                                                       index=False)
    tables = load_dataset(tmp_path, as_of="2025-06-30").tables
    r = compute(tables, load_config())
    a = r.applicants.set_index("applicant_name")
    x = a.loc["上海市甲乙丙科技有限公司"]
    age1 = (pd.Timestamp("2025-06-30") - pd.Timestamp("2024-06-30")).days / 365.25
    age2 = (pd.Timestamp("2025-06-30") - pd.Timestamp("2023-01-01")).days / 365.25
    severity = 2 * 0.5 ** (age1 / 3) + 2 * 0.5 ** (age2 / 3)
    assert x["decisions"] == pytest.approx(1 - math.exp(-severity))
    assert x["risk_score"] == pytest.approx(0.9 * (1 - math.exp(-severity)))
    assert x["flagged"] and x["grade"] == "D"
    assert "DECISION_BAD_FAITH" in x["reasons"] and "R1" in x["reasons"]
    assert x["hoarding"] == x["infringement"] == x["squatting"] == x["transfer"] == 0
    # the ordinary filers beside it are not flagged
    assert not a.drop(index="上海市甲乙丙科技有限公司")["flagged"].any()
