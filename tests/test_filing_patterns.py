"""Re-filing (evergreening) and over-broad specifications, by hand on tiny tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.config import load_config
from features import lexicons
from features.filing_patterns import over_broad, refiled_cells
from features.hoarding import build_hoarding
from tests.test_builders import apps_frame, tables


def _cls(rows):
    """rows: (key, gkey, mark, class, 'YYYY-MM-DD')."""
    df = pd.DataFrame(rows, columns=["key", "gkey", "mark", "nice_class", "date"])
    df["day"] = pd.to_datetime(df["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    return df.drop(columns="date")


def test_refiled_cells_need_each_filing_spaced_from_the_previous():
    cls = _cls([
        (0, 0, 1, 25, "2015-01-01"), (0, 0, 1, 25, "2017-08-01"), (1, 0, 1, 25, "2020-03-01"),  # 943 and 943 days
        (0, 0, 1, 9, "2015-01-01"), (0, 0, 1, 9, "2017-08-01"), (0, 0, 1, 9, "2017-12-01"),  # 3rd only 122 days on
        (2, 1, 1, 25, "2015-01-01"), (2, 1, 1, 25, "2017-08-01"),  # another group: its own cell, two filings
        (3, 2, -1, 25, "2015-01-01"), (3, 2, -1, 25, "2017-08-01"), (3, 2, -1, 25, "2020-03-01"),  # no mark
    ])
    out = refiled_cells(cls, min_gap_days=900, min_filings=3)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["gkey"], row["mark"], row["nice_class"], row["key"]) == (0, 1, 25, 1)  # newest filing's applicant
    assert row["dates"] == ["2015-01-01", "2017-08-01", "2020-03-01"]
    assert len(refiled_cells(cls, min_gap_days=943, min_filings=3)) == 1
    assert refiled_cells(cls, min_gap_days=944, min_filings=3).empty  # 943 days is not 944


def test_over_broad_covers_most_groups_of_a_class():
    goods = lexicons.nice_goods()
    per_class = goods.groupby("class")["group"].nunique()
    cls = int(per_class[per_class.between(8, 20)].index[0])
    one_item_per_group = goods[goods["class"] == cls].drop_duplicates("group")["goods_name_zh"].tolist()
    n = len(one_item_per_group)
    k = int(np.ceil(0.75 * n))
    apps = pd.DataFrame({"goods_services": ["；".join(one_item_per_group[:k]), "；".join(one_item_per_group[:k - 1]),
                                            "；".join(one_item_per_group[:k])],
                         "nice_classes": [str(cls), str(cls), str(cls % 45 + 1)]})
    assert over_broad(apps, min_share=0.75, min_class_groups=6).tolist() == [True, False, False]


def test_evergreened_coined_mark_flags_and_adds_severity():
    cfg = load_config()
    rows = [(f"E{i}", "c:甲|深圳", "g1", d, "ZORVEX", "25", "company", "pending", "深圳市甲有限公司")
            for i, d in enumerate(["2015-01-01", "2017-08-01", "2020-03-01"])]
    rows += [(f"C{i}", "c:乙|深圳", "g2", d, "KAVLOR", "25", "company", "pending", "深圳市乙有限公司")
             for i, d in enumerate(["2015-01-01", "2016-01-01", "2017-01-01"])]  # filed again, not spaced
    rows += [(f"H{i}", "c:丙丁|深圳", "g3", d, "丙丁", "25", "company", "pending", "深圳市丙丁有限公司")
             for i, d in enumerate(["2015-01-01", "2017-08-01", "2020-03-01"])]  # its house mark: upkeep
    r = build_hoarding(tables(apps_frame(rows)), cfg)
    f = r.applicant
    assert f.loc["c:甲|深圳", "hoarding_refiled_marks"] == 1
    assert f.loc["c:乙|深圳", "hoarding_refiled_marks"] == 0 and f.loc["c:丙丁|深圳", "hoarding_refiled_marks"] == 0
    # same volume, abnormality and sweeps otherwise: the difference is w_refiling x 1
    base = np.log2(1 + f["hoarding_volume_ratio"]) * f["hoarding_abnormality"]
    assert abs((r.severity - base)["c:甲|深圳"] - cfg.hoarding.w_refiling) < 1e-9
    assert abs((r.severity - base)["c:乙|深圳"]) < 1e-9
    flag = r.flags[r.flags["reason"] == "HOARDING_REFILING"]
    assert flag["applicant_key"].tolist() == ["c:甲|深圳"]
    assert flag["evidence"].item() == ("'ZORVEX' class 25 filed 2015-01-01, 2017-08-01, 2020-03-01 "
                                       "(each 900+ days after the last)")


def test_busiest_year_is_measured_against_the_applicants_established_rate():
    """Steady: 50 filings a year in 2018-2021, then 60 in 2022; Early: 60 in 2018, then 50 a year in
    2019-2022; New: 60 filings in 2022 only. The busiest rolling year (the first filing whose window
    [d - 364, d] holds the most filings) is measured against the larger of the threshold (40) and the
    established rate: the filings outside that window (before and after it) per year of record
    outside it (computed here by brute force over the filings)."""
    cfg = load_config()
    rows = []
    for key, plan in (("稳", ((2018, 50), (2019, 50), (2020, 50), (2021, 50), (2022, 60))),
                      ("早", ((2018, 60), (2019, 50), (2020, 50), (2021, 50), (2022, 50)))):
        for year, n in plan:
            days = pd.date_range(f"{year}-01-01", f"{year}-12-20", periods=n).normalize()
            rows += [(f"{key}{year}-{i}", f"c:{key}|深圳", f"g{key}", d, f"MARK{year}{i}", "9", "company", "pending",
                      f"深圳市{key}有限公司") for i, d in enumerate(days)]
    rows += [(f"N{i}", "c:新|深圳", "g2", d, f"NEW{i}", "9", "company", "pending", "深圳市新有限公司")
             for i, d in enumerate(pd.date_range("2022-01-01", "2022-12-20", periods=60).normalize())]
    f = build_hoarding(tables(apps_frame(rows)), cfg).applicant

    for key in ("稳", "早"):
        days = sorted(r[3] for r in rows if r[1] == f"c:{key}|深圳")
        window = [sum(1 for e in days if d - pd.Timedelta(days=364) <= e <= d) for d in days]
        outside = len(days) - max(window)
        rate = outside / (((days[-1] - days[0]).days - cfg.hoarding.window_days) / 365.25)
        row = f.loc[f"c:{key}|深圳"]
        assert rate > 40 and row["hoarding_max_window"] == max(window)
        assert row["hoarding_established_rate"] == pytest.approx(rate)
        assert row["hoarding_volume_ratio"] == pytest.approx(max(window) / rate)
    new = f.loc["c:新|深圳"]
    assert new["hoarding_established_rate"] == 0.0 and new["hoarding_volume_ratio"] == pytest.approx(60 / 40)
