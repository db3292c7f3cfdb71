"""Hoarding, squatting, transfer and decision builders against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.config import load_config
from core.tables import Tables
from features.common import window_counts
from features.decisions import build_decisions
from features.hoarding import build_hoarding, house_related
from features.squatting import build_squatting
from features.transfers import build_transfers

D = pd.Timestamp


def apps_frame(rows):
    """rows: (application_id, applicant_key, group_id, date, mark, classes, type, status, name)."""
    cols = ["application_id", "applicant_key", "group_id", "filing_date", "mark_text", "nice_classes",
            "applicant_type", "status", "applicant_name"]
    df = pd.DataFrame(rows, columns=cols)
    df["filing_date"] = pd.to_datetime(df["filing_date"])
    df["agent_name"] = ""
    return df


def tables(apps, transfers=None, decisions=None, terms=None, as_of="2025-12-31"):
    transfers = transfers if transfers is not None else pd.DataFrame(
        columns=["application_id", "transfer_date", "assignor_name", "assignee_name", "assignor_key", "assignee_key"])
    decisions = decisions if decisions is not None else pd.DataFrame(
        columns=["subject_name", "decision_date", "kind", "reference", "application_id", "subject_key"])
    terms = terms if terms is not None else pd.DataFrame(columns=["term", "category", "date"])
    return Tables(apps, transfers, decisions, pd.DataFrame(columns=["mark_text", "owner_name", "owner_key"]), terms,
                  as_of=D(as_of))


def test_window_counts_by_hand():
    keys = pd.Series(["a", "a", "a", "b", "a"])
    dates = pd.to_datetime(pd.Series(["2020-01-01", "2020-01-05", "2020-01-08", "2020-01-05", "2020-01-30"]))
    # window of 7 days ending at each row's date, same key only
    assert window_counts(keys, dates, 7).tolist() == [1, 2, 2, 1, 1]


def test_window_counter_backward_forward_and_keys_apart_by_hand():
    """One sort serves several windows; a window never reaches into another key's rows, even when
    that key's dates lie inside it (b on 01-01..01-03 right before a's range in the sorted code)."""
    from features.common import window_counter

    keys = pd.Series(["a", "b", "a", "b", "a", "a"])
    dates = pd.to_datetime(pd.Series(["2020-01-10", "2020-01-01", "2020-01-12", "2020-01-03", "2020-01-12",
                                      "2020-03-01"]))
    count = window_counter(keys, dates)
    # 60 days back, [d - 59, d]: a 01-10 -> itself; a 01-12 (two rows) -> 01-10, 01-12, 01-12;
    # a 03-01 (2020 is a leap year: 03-01 - 59 days = 01-02) -> all four a rows; b never sees a
    assert count(60).tolist() == [1, 1, 3, 2, 3, 4]
    # 2 days back: [d - 1, d]
    assert count(2).tolist() == [1, 1, 2, 1, 2, 1]
    # 3 days ahead: [d, d + 2]; b 01-01 -> 01-01, 01-03
    assert count(3, forward=True).tolist() == [3, 2, 2, 1, 2, 1]
    assert count(60, forward=True).tolist() == [4, 2, 3, 1, 3, 1]


def test_house_related():
    marks = pd.Series(["华科明", "星空", "acmepro", "zeta", "科明"])
    cores = pd.Series(["华科明电子科技", "华科明电子科技", "acme", "acme", "华科明电子科技"])
    assert house_related(marks, cores).tolist() == [True, False, True, False, True]
    # across scripts, the name transliterated (内斯瓦霍恩 reads neswahon, inside nesvahonfoods' reading)
    marks = pd.Series(["内斯瓦霍恩", "静珠", "misin", "mason"])
    cores = pd.Series(["nesvahonfoods", "nesvahonfoods", "米西恩投资", "米西恩投资"])
    assert house_related(marks, cores).tolist() == [True, False, True, False]


def test_hoarding_by_hand():
    cfg = load_config().with_overrides({"hoarding": {"window_threshold": 4, "individual_window_threshold": 2,
                                                     "group_window_threshold": 100, "burst_days": 7,
                                                     "burst_min_filings": 3, "core_classes": 1,
                                                     "sweep_min_classes": 3}})
    rows = [
        # hoarder: 4 coined marks in 4 different classes within 3 days, 2 refused
        ("H1", "c:甲|x", "g1", "2020-01-01", "星空", "1", "company", "refused", "甲公司"),
        ("H2", "c:甲|x", "g1", "2020-01-02", "海豚", "2", "company", "refused", "甲公司"),
        ("H3", "c:甲|x", "g1", "2020-01-03", "山河", "3", "company", "pending", "甲公司"),
        ("H4", "c:甲|x", "g1", "2020-01-03", "云朵", "4", "company", "pending", "甲公司"),
        # legit: house mark swept over 3 classes (a defensive sweep) + one sub-brand, all on one day
        ("L1", "c:华科明|y", "g2", "2020-01-01", "华科明", "1;2;3", "company", "registered", "华科明公司"),
        ("L2", "c:华科明|y", "g2", "2020-06-01", "华科明优选", "9", "company", "registered", "华科明公司"),
    ]
    r = build_hoarding(tables(apps_frame(rows)), cfg)
    h, legit = r.applicant.loc["c:甲|x"], r.applicant.loc["c:华科明|y"]
    assert h["hoarding_max_window"] == 4 and h["hoarding_max_burst"] == 4
    assert h["hoarding_coined_share"] == 1.0 and h["hoarding_refusal_share"] == 0.5
    assert h["hoarding_dispersion"] == pytest.approx(0.75)  # 3 of 4 filings outside its 1 main class
    # six applicants relate no classes: 3 of its 4 classes are neither its main one nor related to it
    assert h["hoarding_unrelated_share"] == pytest.approx(0.75)
    assert h["hoarding_coined_unrelated_share"] == pytest.approx(0.75)
    assert h["hoarding_burst_share"] == 1.0
    # severity = log2(1 + volume ratio 4/4) x (0.4*0.75 coined in unrelated classes + 0.3*0.75
    # unrelated + 0.2*0.5 refused + 0.1*1 in bursts)
    abnormality = 0.4 * 0.75 + 0.3 * 0.75 + 0.2 * 0.5 + 0.1 * 1
    assert r.severity["c:甲|x"] == pytest.approx(math.log2(2.0) * abnormality)
    # volume counts with diminishing returns: twice the volume ratio is log2(3), not 2x
    cfg2 = cfg.with_overrides({"hoarding": {"window_threshold": 2}})
    r2 = build_hoarding(tables(apps_frame(rows)), cfg2)
    assert r2.severity["c:甲|x"] == pytest.approx(math.log2(3.0) * abnormality)
    # the house-mark sweep is not dispersion and its marks are not coined
    assert legit["hoarding_coined_share"] == 0.0 and legit["hoarding_dispersion"] == 0.0
    assert r.severity["c:华科明|y"] == pytest.approx(0.0)
    reasons = set(r.flags.loc[r.flags["applicant_key"] == "c:甲|x", "reason"])
    assert {"HOARDING_VOLUME", "HOARDING_BURST"} <= reasons
    assert r.flags.loc[r.flags["applicant_key"] == "c:华科明|y"].empty


def test_unrelated_classes_by_hand():
    """Classes 1 and 2 are co-filed by 8 of 38 coherent applicants (8 file class 1, 8 class 2:
    lift 8 x 38 / 64 = 4.75 >= 3, at least 5 co-filers): related. Applicant k files classes
    1, 1, 2, 3 and 4 with one main class (1): class 2 is related to it, 3 and 4 are not."""
    from features.class_relations import related_classes
    from features.hoarding import unrelated_rows

    cfg = load_config().with_overrides({"hoarding": {"core_classes": 1}})
    key = [0] * 5 + [1 + i // 2 for i in range(2 * 37)]
    nice = [1, 1, 2, 3, 4] + [1, 2] * 7 + [20, 21] * 10 + [30, 31] * 20
    cls = pd.DataFrame({"key": key, "nice_class": nice})
    rel = related_classes(cls.rename(columns={"key": "applicant_key"}), cfg.infringement)
    # 20/21: 10 co-filers, lift 10 x 38 / 100 = 3.8; 30/31: 20 co-filers but lift 20 x 38 / 400 = 1.9
    assert sorted(zip(rel["nice_class"], rel["related_class"])) == [(1, 2), (2, 1), (20, 21), (21, 20)]
    got = unrelated_rows(cls, np.zeros(len(cls), dtype=bool), 38, rel, cfg)
    assert got[:5].tolist() == [False, False, False, True, True]
    # a sweep's rows do not choose the main classes: with the two class-1 rows a sweep, class 2 is
    # the main one (then 1 by number), and 3 and 4 stay unrelated
    sweep = np.zeros(len(cls), dtype=bool)
    sweep[:2] = True
    assert unrelated_rows(cls, sweep, 38, rel, cfg)[:5].tolist() == [False, False, False, True, True]


def test_transfers_by_hand():
    cfg = load_config().with_overrides({"transfer": {"quick_days": 100, "volume_threshold": 2}})
    rows = [(f"B{i}", "c:broker|x", "gb", "2020-01-01", f"m{i}", "9", "company", "registered", "Broker") for i in range(4)]
    rows += [("P1", "c:parent|x", "gp", "2020-01-01", "p", "9", "company", "registered", "Parent"),
             ("S1", "c:sub|x", "gp", "2020-01-01", "s", "9", "company", "registered", "Sub")]
    apps = apps_frame(rows)
    tr = pd.DataFrame({
        "application_id": ["B0", "B1", "B2", "P1"],
        "transfer_date": pd.to_datetime(["2020-02-01", "2020-03-01", "2021-06-01", "2020-02-01"]),
        "assignor_name": ["Broker", "Broker", "Broker", "Parent"], "assignee_name": ["x", "y", "y", "Sub"],
        "assignor_key": ["c:broker|x", "c:broker|x", "c:broker|x", "c:parent|x"],
        "assignee_key": ["c:x|", "c:y|", "c:y|", "c:sub|x"],
    })
    r = build_transfers(tables(apps, transfers=tr), cfg)
    b = r.applicant.loc["c:broker|x"]
    assert b["transfer_n_assigned"] == 3 and b["transfer_share"] == pytest.approx(3 / 4)
    assert b["transfer_quick_share"] == pytest.approx(2 / 3)  # 31 and 60 days ≤ 100; 517 days not
    assert b["transfer_n_assignees"] == 2
    expected = (3 / 2) * (0.4 * 0.75 + 0.3 * (2 / 3) + 0.3 * (2 / 3))
    assert r.severity["c:broker|x"] == pytest.approx(expected)
    # the parent → subsidiary transfer stays inside the group: not a sale
    assert r.applicant.loc["c:parent|x", "transfer_n_assigned"] == 0 and r.severity["c:parent|x"] == 0


def test_decisions_by_hand():
    cfg = load_config()
    apps = apps_frame([("A1", "c:a|x", "g", "2020-01-01", "m", "9", "company", "refused", "A"),
                       ("A2", "c:b|x", "g", "2020-01-01", "m", "9", "company", "refused", "B"),
                       ("A3", "c:c|x", "gc", "2020-01-01", "m", "9", "company", "refused", "C")])
    dec = pd.DataFrame({"subject_name": ["A", "A"], "decision_date": pd.to_datetime(["2025-12-31", "2022-12-31"]),
                        "kind": ["bad_faith_refusal", "invalidation"], "reference": ["r1", "r2"],
                        "application_id": ["A1", ""], "subject_key": ["c:a|x", "c:a|x"]})
    r = build_decisions(tables(apps, decisions=dec), cfg)
    age2 = (D("2025-12-31") - D("2022-12-31")).days / 365.25
    own = 2.0 + 1.5 * 0.5 ** (age2 / 3.0)  # a bad-faith refusal is 2 units, an invalidation 1.5
    assert r.severity["c:a|x"] == pytest.approx(own)
    assert r.severity["c:b|x"] == pytest.approx(0.5 * own)  # same group, group factor 0.5
    assert r.severity["c:c|x"] == 0
    assert set(r.flags["reason"]) == {"DECISION_BAD_FAITH", "DECISION_INVALIDATION"}


def test_infringement_judgments_weigh_by_portfolio_size_by_hand():
    """One infringement judgment against a one-mark filer and one against a group of 10 distinct
    marks, beside 30 one-mark filers without any, as of the decision date (no decay). The larger
    portfolio's bin has too few peers and pools with the one-mark bin: the register's judgment rate
    per mark is 2 / 41 (at least chance_rate_min). Each judgment weighs w_infringement_judgment x
    surprise x excess (features.chance), computed here by hand."""
    cfg = load_config()
    rows = [("S1", "c:small|x", "gs", "2020-01-01", "m0", "9", "company", "registered", "Small")]
    rows += [(f"L{i}", "c:large|x", "gl", "2020-01-01", f"mark{i}", "9", "company", "registered", "Large")
             for i in range(10)]
    rows += [(f"O{i}", f"c:other{i}|x", f"go{i}", "2020-01-01", f"other{i}", "9", "company", "registered", f"O{i}")
             for i in range(30)]
    dec = pd.DataFrame({"subject_name": ["Small", "Large"], "decision_date": pd.to_datetime(["2025-12-31"] * 2),
                        "kind": ["infringement_judgment"] * 2, "reference": ["r1", "r2"],
                        "application_id": ["", ""], "subject_key": ["c:small|x", "c:large|x"]})
    r = build_decisions(tables(apps_frame(rows), decisions=dec), cfg)
    p0 = max(2 / 41, cfg.infringement.chance_rate_min)
    ref = cfg.decisions.judgment_surprise_ref

    def weight(n):
        lam = n * p0
        p_at_least_one = 1 - math.exp(-lam)
        return min(1.0, -math.log10(p_at_least_one) / ref) * max(1 - lam, 0.0)

    assert r.severity["c:small|x"] == pytest.approx(cfg.decisions.w_infringement_judgment * weight(1))
    assert r.severity["c:large|x"] == pytest.approx(cfg.decisions.w_infringement_judgment * weight(10))
    assert 0 < r.severity["c:large|x"] < 0.3 * r.severity["c:small|x"]


def test_squatting_places_events_own_names_and_trends():
    cfg = load_config().with_overrides({"squatting": {"trend_min_groups": 3, "trend_window_days": 30}})
    rows = [
        ("S1", "p:x|1", "gx", "2020-01-26", "火神山", "28", "individual", "pending", "某甲"),     # 3 days after the event
        ("S2", "p:x|1", "gx", "2019-09-01", "雪容融", "28", "individual", "pending", "某甲"),     # before unveiling
        ("S3", "c:y|", "gy", "2020-01-01", "深圳", "9", "company", "pending", "乙公司"),           # a city
        ("S4", "c:同仁堂|北京", "gz", "2020-01-01", "同仁堂", "5", "company", "registered", "北京同仁堂股份有限公司"),
        ("S5", "c:青岛啤酒|", "gq", "2020-01-01", "青岛", "32", "company", "registered", "青岛啤酒股份有限公司"),  # own name
    ]
    # an unlisted term: originator in 2019, then 3 unrelated groups within 10 days in 2021
    rows += [("T0", "c:orig|", "go", "2019-01-01", "躺平星球", "41", "company", "pending", "O")]
    rows += [(f"T{i}", f"c:t{i}|", f"gt{i}", f"2021-05-0{i}", "躺平星球", "41", "company", "pending", f"T{i}")
             for i in range(1, 4)]
    r = build_squatting(tables(apps_frame(rows)), cfg)
    f = r.flags.set_index("application_id")
    assert f.loc["S1", "reason"] == "SQUAT_EVENT"
    assert f.loc["S1", "strength"] == pytest.approx(math.exp(-3 / 365.0))
    assert "S2" not in f.index and "S4" not in f.index and "S5" not in f.index
    assert f.loc["S3", "reason"] == "SQUAT_PLACE" and f.loc["S3", "strength"] == pytest.approx(0.8)
    assert set(f.loc[f["reason"] == "SQUAT_TREND"].index) == {"T1", "T2", "T3"}  # not the originator T0
    # 深圳 is a built-in place name, undated and unlisted: weighed against chance in this tiny register,
    # where 1 of its 9 mark families is such a hit (p0 = 1/9): P(X >= 1 | 1/9), weight
    # -log10(P) / 3 x (1 - 1/9); its application flag keeps 0.8
    p0 = 1 / 9
    weight = -math.log10(1 - math.exp(-p0)) / 3 * (1 - p0)
    assert r.severity["c:y|"] == pytest.approx(0.8 * weight / 2.0)
    assert np.isclose(r.severity["c:t1|"], 2.0 / 2.0)


def test_hoarding_dispersion_uses_similar_groups_when_goods_map():
    cfg = load_config().with_overrides({"hoarding": {"core_classes": 1, "core_groups": 1}})
    rows = [(f"G{i}", "c:甲|x", "g1", f"2020-01-0{i + 1}", f"m{i}", "9", "company", "pending", "甲公司")
            for i in range(4)]
    apps = apps_frame(rows)
    # computers (0901) twice, spectacles (0921) twice: one class, two similar groups
    apps["goods_services"] = ["计算机", "计算机", "眼镜", "眼镜"]
    r = build_hoarding(tables(apps), cfg)
    f = r.applicant.loc["c:甲|x"]
    assert f["hoarding_class_dispersion"] == 0.0
    assert f["hoarding_group_dispersion"] == pytest.approx(0.5)
    assert f["hoarding_dispersion"] == pytest.approx(0.5)


def test_applicant_index_is_shared_by_copies_and_follows_changed_keys():
    """The builders' sorted key index is computed once per key column (copies of the frame share its
    Arrow data) and a frame with other keys never gets a stale one."""
    from features.common import applicant_index

    apps = pd.DataFrame({"applicant_key": pd.Series(["c:b", "c:a", "c:b", "p:z"], dtype="str")})
    first = applicant_index(apps)
    assert list(first) == ["c:a", "c:b", "p:z"] and first.name == "applicant_key"
    assert applicant_index(apps.copy()) is first  # same data: the cached index
    changed = apps.assign(applicant_key=pd.Series(["c:b", "c:c", "c:b", "a:0"], dtype="str"))
    assert list(applicant_index(changed)) == ["a:0", "c:b", "c:c"]
    apps.loc[1, "applicant_key"] = "c:d"  # written in place: new Arrow data
    assert list(applicant_index(apps)) == ["c:b", "c:d", "p:z"]


def test_contains_each_by_hand_and_a_long_row_stays_in_its_own_width():
    """Row-wise containment against Python's ``in``, with rows of very different widths (each width
    group is compared on its own: one long row must not change, or widen, the short ones)."""
    from features.common import contains_each

    texts = pd.Series(["星巴克咖啡", "acme trading", "", "x" * 700 + "needle", "ab", None], dtype="str")
    parts = pd.Series(["星巴克", "acme", "", "needle", "abc", "a"], dtype="str")
    expected = [p in (t or "") for t, p in zip(texts.fillna("").tolist(), parts.fillna("").tolist(), strict=True)]
    assert contains_each(texts, parts).tolist() == expected == [True, True, True, True, False, False]
    assert contains_each(pd.Series([], dtype="str"), pd.Series([], dtype="str")).tolist() == []


def test_rows_per_key_counts_by_hand_and_ignores_keys_outside_the_index():
    from features.common import rows_per_key

    index = pd.Index(["a", "b", "c"], name="applicant_key")
    keys = pd.Series(["b", "a", "b", "zz", "b"], dtype="str")
    assert rows_per_key(index, keys).tolist() == [1.0, 3.0, 0.0]
    assert rows_per_key(index, keys.iloc[:0]).tolist() == [0.0, 0.0, 0.0]
