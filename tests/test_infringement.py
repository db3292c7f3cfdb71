"""Tests for the infringement builder on a hand-made dataset whose answers are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.config import load_config
from core.reasons import FLAG_COLUMNS, Dimension, Reason
from core.tables import Tables
from features.chance import chance_rates, chance_style, chance_weight
from features.infringement import APPLICANT_COLUMNS, DETAIL_COLUMNS, build_infringement
from features.registry import BUILDERS

ROWS = [
    # id,   mark,          applicant,          key,   group,  date,         classes
    ("A1", "星巴克", "Starbucks Corp", "sb", "g_sb", "2015-01-01", "43"),
    ("A2", "星巴克", "Starbucks Corp", "sb", "g_sb", "2016-01-01", "43;30"),
    ("A3", "星巴客", "Copycat Ltd", "cc", "g_cc", "2019-06-01", "43"),        # homophone of A1, 4y later
    ("A4", "星巴克咖啡店", "Starbucks China", "sbcn", "g_sb", "2019-07-01", "43"),  # same group as sb
    ("A5", "G00GLE", "Squatter", "sq", "g_sq", "2019-08-01", "9"),           # protected GOOGLE
    ("A6", "大白兔", "Candy Co", "cd", "g_cd", "2012-01-01", "30"),           # owner of protected 大白兔
    ("A7", "太白兔", "Copycat Ltd", "cc", "g_cc", "2020-02-01", "30"),        # shape copy of 大白兔
    ("A8", "LIVERMORE", "Owner One", "o1", "g_o1", "2018-01-01", "5"),
    ("A9", "LIVEMORE", "Owner Three", "o3", "g_o3", "2018-03-01", "5"),      # 59 days after A8: not clearly later
    ("A10", "LIVE MORE", "Owner Two", "o2", "g_o2", "2020-01-01", "5"),      # copies A9 (exact) / A8 (edit)
    ("A11", "", "Owner Two", "o2", "g_o2", "2020-02-01", "5"),               # figurative
    ("A12", "星巴克", "Newco", "nc", "g_nc", "2021-01-01", "9"),              # no shared class with Starbucks
]


def make_tables() -> Tables:
    apps = pd.DataFrame(ROWS, columns=["application_id", "mark_text", "applicant_name", "applicant_key", "group_id",
                                       "filing_date", "nice_classes"])
    apps["filing_date"] = pd.to_datetime(apps["filing_date"])
    apps["goods_services"] = ""
    apps["status"] = "filed"
    prot = pd.DataFrame({
        "mark_text": ["GOOGLE", "大白兔"],
        "owner_name": ["Google LLC", "Guanshengyuan"],
        "nice_classes": ["9;42", "30"],
        "owner_key": pd.Series([pd.NA, "cd"], dtype="str"),
    })
    empty = pd.DataFrame()
    return Tables(applications=apps, transfers=empty, decisions=empty, protected_marks=prot, public_terms=empty)


@pytest.fixture(scope="module")
def result():
    t = make_tables()
    before = t.applications.copy(), t.protected_marks.copy()
    r = build_infringement(t, load_config())
    pd.testing.assert_frame_equal(t.applications, before[0])
    pd.testing.assert_frame_equal(t.protected_marks, before[1])
    return r


def test_registered():
    assert BUILDERS[Dimension.INFRINGEMENT] is build_infringement


def test_flagged_applications_and_kinds(result):
    f = result.flags.set_index("application_id")
    assert list(result.flags.columns) == FLAG_COLUMNS
    assert sorted(f.index) == ["A10", "A3", "A5", "A7"]
    assert f.loc["A3", "reason"] == Reason.INFRINGEMENT_HOMOPHONE.value
    assert f.loc["A5", "reason"] == Reason.INFRINGEMENT_CONFUSABLE.value
    assert f.loc["A7", "reason"] == Reason.INFRINGEMENT_SHAPE.value
    assert f.loc["A10", "reason"] == Reason.INFRINGEMENT_EXACT.value
    assert f["strength"].between(0, 1).all()
    assert f.loc["A3", "evidence"] == ("INFRINGEMENT_HOMOPHONE: 星巴客 ~ 星巴克 (xingbake), class 43, owner Starbucks Corp, "
                                       "filed 4y later")
    assert "protected mark" in f.loc["A5", "evidence"] and "Google LLC" in f.loc["A5", "evidence"]


def test_own_group_and_earlier_requirements(result):
    flagged = set(result.flags["application_id"])
    assert "A1" not in flagged and "A2" not in flagged      # the original itself
    assert "A4" not in flagged                               # same related-party group as the owner
    assert "A6" not in flagged                               # protected mark filed by its own owner
    assert "A8" not in flagged                               # the first filer copies nobody
    assert "A9" not in flagged                               # within earlier_margin_days of A8
    assert "A12" not in flagged                              # no shared class with the original
    # with no margin at all A9 (59 days after A8) becomes a copy of A8
    cfg = load_config().with_overrides({"infringement": {"earlier_margin_days": 0, "min_strength": 0.2}})
    r = build_infringement(make_tables(), cfg)
    assert "A9" in set(r.flags["application_id"])
    # a later filing is required: the copy filed before the original is not flagged
    t = make_tables()
    apps = t.applications.copy()
    apps.loc[apps["application_id"] == "A3", "filing_date"] = pd.Timestamp("2010-01-01")
    r2 = build_infringement(Tables(apps, t.transfers, t.decisions, t.protected_marks, t.public_terms), load_config())
    assert "A3" not in set(r2.flags["application_id"])
    assert {"A1", "A2"} <= set(r2.flags["application_id"])   # now Starbucks is the later filer


def test_details_for_review(result):
    d = result.details.set_index("application_id")
    assert list(result.details.columns) == DETAIL_COLUMNS
    assert d.loc["A3", "matched_text"] == "星巴克" and d.loc["A3", "matched_source"] == "earlier"
    assert d.loc["A3", "matched_owner"] == "Starbucks Corp"
    assert d.loc["A3", "matched_filing_date"] == pd.Timestamp("2015-01-01")
    assert d.loc["A3", "class_relation"] == "same_class"
    assert d.loc["A7", "matched_source"] == "protected" and d.loc["A7", "matched_owner"] == "Guanshengyuan"
    assert pd.isna(d.loc["A7", "matched_filing_date"])
    assert d.loc["A10", "matched_text"] == "LIVEMORE"
    assert d.loc["A5", "kind"] == Reason.INFRINGEMENT_CONFUSABLE.value


def test_applicant_counts_by_hand(result):
    a = result.applicant
    assert a.index.name == "applicant_key"
    assert sorted(a.index) == sorted({r[3] for r in ROWS})
    assert list(a.columns) == APPLICANT_COLUMNS
    expected = {  # n_copies, n_owners_copied, copy_share
        "cc": (2, 2, 1.0), "sq": (1, 1, 1.0), "o2": (1, 1, 0.5),
        "sb": (0, 0, 0.0), "sbcn": (0, 0, 0.0), "cd": (0, 0, 0.0), "o1": (0, 0, 0.0), "o3": (0, 0, 0.0),
        "nc": (0, 0, 0.0),
    }
    for key, (n, owners, share) in expected.items():
        assert a.loc[key, "infringement_n_copies"] == n, key
        assert a.loc[key, "infringement_n_owners_copied"] == owners, key
        assert a.loc[key, "infringement_copy_share"] == pytest.approx(share), key
    assert a.loc["cc", "infringement_n_protected"] == 1
    assert a.loc["cc", "infringement_best_similarity"] == pytest.approx(0.95)


def test_severity_monotone_and_zero_without_findings(result):
    s = result.severity
    assert s.index.equals(result.applicant.index)
    assert (s >= 0).all()
    assert (s[result.applicant["infringement_n_copies"] == 0] == 0).all()
    assert s["cc"] > s["o2"] > 0


def test_established_owner_weight():
    """An earlier mark filed many times over years weighs more than a one-off filing."""
    rows = [(f"B{i}", "ZEPHYRON", "Big Owner", "big", "g_big", f"{2010 + i}-01-01", "9") for i in range(6)]
    rows += [("S1", "QUANTIXO", "Small Owner", "small", "g_small", "2015-01-01", "9"),
             ("C1", "ZEPHYRON PRO", "Copier", "cp", "g_cp", "2016-06-01", "9"),
             ("C2", "QUANTIXO PRO", "Copier", "cp", "g_cp", "2016-06-01", "9")]
    apps = pd.DataFrame(rows, columns=["application_id", "mark_text", "applicant_name", "applicant_key", "group_id",
                                       "filing_date", "nice_classes"])
    apps["filing_date"] = pd.to_datetime(apps["filing_date"])
    apps["goods_services"] = ""
    empty = pd.DataFrame()
    prot = pd.DataFrame(columns=["mark_text", "owner_name", "nice_classes", "owner_key"])
    r = build_infringement(Tables(apps, empty, empty, prot, empty), load_config())
    f = r.flags.set_index("application_id")
    assert f.loc["C1", "reason"] == Reason.INFRINGEMENT_AFFIX.value
    assert f.loc["C2", "reason"] == Reason.INFRINGEMENT_AFFIX.value
    # 6 filings over 6 years (weight 0.975) vs one filing 1.4 years before (weight 0.59)
    assert f.loc["C1", "strength"] > f.loc["C2", "strength"] + 0.2
    assert "owner Big Owner" in f.loc["C1", "evidence"]


def test_empty_and_figurative_only():
    t = make_tables()
    apps = t.applications.assign(mark_text="")
    r = build_infringement(Tables(apps, t.transfers, t.decisions, t.protected_marks, t.public_terms), load_config())
    assert r.flags.empty and (r.severity == 0).all()
    assert len(r.applicant) == apps["applicant_key"].nunique()
    assert np.all(r.applicant.to_numpy() == 0)


def test_owner_filing_its_own_protected_brand_after_a_copycat_is_not_flagged():
    """A copycat files 大白免 first; the brand owner's later 大白兔 resembles that earlier filing,
    but it is the owner's own protected mark, so only the copycat is flagged."""
    t = make_tables()
    apps = pd.DataFrame([
        ("B1", "大白免", "Early Copycat", "ec", "g_ec", "2010-01-01", "30"),
        ("B2", "大白兔", "Candy Co", "cd", "g_cd", "2015-01-01", "30"),
    ], columns=["application_id", "mark_text", "applicant_name", "applicant_key", "group_id", "filing_date",
                "nice_classes"])
    apps["filing_date"] = pd.to_datetime(apps["filing_date"])
    apps["goods_services"] = ""
    apps["status"] = "filed"
    r = build_infringement(Tables(apps, t.transfers, t.decisions, t.protected_marks, t.public_terms), load_config())
    assert "B2" not in set(r.flags["application_id"])
    assert "B1" in set(r.flags["application_id"])  # the copycat still copies the protected mark


def _poisson_at_least(k: int, lam: float) -> float:
    return 1.0 - sum(math.exp(-lam) * lam ** i / math.factorial(i) for i in range(k))


def test_chance_rates_pool_portfolios_of_one_size_by_hand():
    """Sizes 1, 1, 2, 3, 5, 6 distinct marks fall in the bins [1], [2-3], [4-7]: with at least two
    applicants a bin, bin [1] pools 1 hit of 2 marks (0.5), [2-3] 1 of 5 (0.2), [4-7] 3 of 11.
    With three applicants needed, [2-3] (two) joins [1]: 2 hits of 7 marks; [4-7] (two) joins that
    pool too: 5 of 18."""
    filed = pd.Series([1, 1, 2, 3, 5, 6], dtype="float64")
    hit = pd.Series([1, 0, 1, 0, 2, 1], dtype="float64")
    assert chance_rates(hit, filed, 2, 0.0).tolist() == pytest.approx([0.5, 0.5, 0.2, 0.2, 3 / 11, 3 / 11])
    assert chance_rates(hit, filed, 3, 0.0).tolist() == pytest.approx([5 / 18] * 6)
    assert chance_rates(hit * 0, filed, 2, 0.01).tolist() == pytest.approx([0.01] * 6)  # the floor


def test_chance_weight_is_surprise_times_the_share_beyond_chance_by_hand():
    """weight = min(1, -log10 P(X >= k) / 3) x (k - n p0) / k, X ~ Poisson(n p0)."""
    cfg = load_config().infringement
    # one peer bin: 100 one-mark filers with 2 hits in all (p0 = 0.02), and a 50-mark portfolio
    filed = pd.Series([1.0] * 100 + [50.0])
    for k_big in (1.0, 6.0):
        hit = pd.Series([1.0, 1.0] + [0.0] * 98 + [k_big])
        w = chance_weight(hit, filed, cfg.__class__({**cfg._data, "chance_min_peers": 200,
                                                     "chance_rate_min": 0.0}))
        p0 = (2 + k_big) / 150
        lam_one, lam_big = p0, 50 * p0
        expect_one = min(1, -math.log10(_poisson_at_least(1, lam_one)) / 3) * (1 - lam_one)
        expect_big = min(1, -math.log10(_poisson_at_least(int(k_big), lam_big)) / 3) * max(k_big - lam_big, 0) / k_big
        assert w.iloc[0] == pytest.approx(expect_one)
        assert w.iloc[2] == 0.0  # no resemblance, no weight
        assert w.iloc[-1] == pytest.approx(expect_big)
    # one resemblance among fifty marks is below the expected number: no weight at all
    assert chance_weight(pd.Series([1.0] * 100 + [1.0]), filed,
                          cfg.__class__({**cfg._data, "chance_min_peers": 200})).iloc[-1] == 0.0


def _portfolio(n_own: int, copies: list[tuple[str, str, str]]) -> Tables:
    """Owners of three earlier coined marks (2015), ordinary one-mark filers, and applicant P
    (2020) with ``n_own`` coined marks of its own plus ``copies`` (mark, class, date)."""
    rows = [("E1", "ZORVEXA", "Zorvex Ltd", "e1", "g_e1", "2015-01-01", "9"),
            ("E2", "QUILMANTO", "Quilman Ltd", "e2", "g_e2", "2015-01-01", "25"),
            ("E3", "VEXOLIRA", "Vexol Ltd", "e3", "g_e3", "2015-01-01", "30")]
    rows += [(f"N{i}", f"PLAIN{i:04d}X", f"Filer {i}", f"n{i}", f"g_n{i}", "2018-01-01", "35") for i in range(200)]
    rows += [(f"P{i}", f"KORB{i:04d}Y", "Portfolio Co", "p", "g_p", "2020-01-01", str(1 + i % 45))
             for i in range(n_own)]
    rows += [(f"C{i}", m, "Portfolio Co", "p", "g_p", d, c) for i, (m, c, d) in enumerate(copies)]
    t = make_tables()
    return Tables(_apps(rows), t.transfers, t.decisions, t.protected_marks.iloc[0:0], t.public_terms)


def test_a_large_portfolio_with_three_weak_resemblances_is_not_flagged():
    """900 marks of its own and three one-letter edits of the earlier owners' marks: three
    resemblances among 903 mark families. No peer has its size, so its bin pools down to the
    one-mark filers: 3 hits among 203 + 903 families = 0.0027, below the floor chance_rate_min
    0.005. It expects 903 x 0.005 = 4.5 chance resemblances and finds 3: nothing beyond chance,
    weight 0, severity 0 (each copy is still flagged for the examiner)."""
    copies = [("ZORVEXO", "9", "2020-06-01"), ("QUILMANTA", "25", "2020-06-01"), ("VEXOLIRO", "30", "2020-06-01")]
    r = build_infringement(_portfolio(900, copies), load_config())
    assert set(r.flags["application_id"]) == {"C0", "C1", "C2"}
    assert r.applicant.loc["p", "infringement_n_owners_copied"] == 3
    assert r.applicant.loc["p", "infringement_chance_dilution"] == 0.0
    assert r.severity["p"] == 0.0
    # with a third of the portfolio (303 families) the pooled rate is 3 / (203 + 303) = 0.0059 and
    # the same three are a little beyond chance: 1.8 expected, P(X >= 3) = 0.27, surprise 0.57 / 3,
    # share beyond chance 0.4: weight 0.08
    r = build_infringement(_portfolio(300, copies), load_config())
    lam = 303 * 3 / (203 + 303)
    weight = -math.log10(_poisson_at_least(3, lam)) / 3 * (3 - lam) / 3
    assert r.applicant.loc["p", "infringement_chance_dilution"] == pytest.approx(weight)
    assert 0 < r.severity["p"] < 0.5


def test_a_small_filer_copying_three_owners_in_their_classes_is_flagged():
    """The same three copies from a filer with two marks of its own: 3 of 5 families resemble,
    p0 = 3 / (203 + 5): P(X >= 3 | 5 p0) ~ 4e-4, surprise 1, share beyond chance 0.98.
    Strength of each copy: edit similarity x same class 0.85 x earlier 0.9 x established use 0.5 +
    0.5 x (1 - e^-1/2) x min(1, 5.4 / 3); three owners add 0.5 x log(3)."""
    copies = [("ZORVEXO", "9", "2020-06-01"), ("QUILMANTA", "25", "2020-06-01"), ("VEXOLIRO", "30", "2020-06-01")]
    r = build_infringement(_portfolio(2, copies), load_config())
    cfg = load_config().infringement
    p0 = 3 / (200 + 3 + 5)  # the filer's bin (4-7 marks) has no other peer: pooled down to the one-mark filers
    lam = 5 * p0
    weight = min(1, -math.log10(_poisson_at_least(3, lam)) / 3) * (3 - lam) / 3
    flags = r.flags.set_index("application_id")
    strengths = flags.loc[["C0", "C1", "C2"], "strength"]
    assert r.applicant.loc["p", "infringement_n_owners_copied"] == 3
    expected = strengths.sum() * weight + cfg.severity_w_owners * math.log(3) * weight
    assert r.severity["p"] == pytest.approx(expected)
    assert 1 - math.exp(-r.severity["p"]) > 0.6  # its infringement score flags it (weight 0.95 x 0.6 > 0.5)


def test_chance_style_by_hand():
    """style = max(1, (resembled + 1) / (families x register rate + 1)), rate = all resembled
    families / all families = 15 / 229."""
    filed = pd.Series([3.0, 124.0, 2.0, 100.0], index=list("abcd"))
    resembled = pd.Series([0.0, 14.0, 1.0], index=list("abc"))  # "d": nobody resembles its marks
    rate = 15 / 229
    expected = [max(1.0, (r + 1) / (n * rate + 1)) for r, n in zip([0, 14, 1, 0], [3, 124, 2, 100], strict=True)]
    assert chance_style(resembled, filed).tolist() == pytest.approx(expected)
    assert chance_style(resembled, filed)["b"] == pytest.approx(15 / (124 * rate + 1))
    assert chance_style(resembled, filed)["b"] > 1.5  # a crowded style
    assert chance_style(resembled, filed)["d"] == 1.0


def test_a_portfolio_resembled_later_as_often_as_it_resembles_earlier_marks_weighs_less():
    """Chance is symmetric in time. The portfolio of 30 marks copies three earlier owners' marks;
    three unrelated later filers resemble three coined marks of its own. Resembled families: the
    three earlier owners' (1 each) and the portfolio's (3) of 200 + 3 + 36 + 3 = 242 families, so
    style = (3 + 1) / (36 x 6 / 242 + 1); without the later filers its style is 1 and the same
    three copies weigh more. A small filer nobody resembles keeps style 1."""
    copies = [("ZORVEXO", "9", "2020-06-01"), ("QUILMANTA", "25", "2020-06-01"), ("VEXOLIRO", "30", "2020-06-01")]
    own = [("MALVORINE", "9", "2020-01-01"), ("TESSARIQUE", "25", "2020-01-01"), ("POLDEVANT", "30", "2020-01-01")]
    alone = _portfolio(30, copies + own)
    later = [(f"L{i}", m[:-1] + "A", f"Later {i}", f"l{i}", f"g_l{i}", "2021-06-01", c)
             for i, (m, c, _) in enumerate(own)]
    crowded = Tables(pd.concat([alone.applications, _apps(later)], ignore_index=True), alone.transfers,
                     alone.decisions, alone.protected_marks, alone.public_terms)
    r_alone, r_crowded = build_infringement(alone, load_config()), build_infringement(crowded, load_config())
    assert {"L0", "L1", "L2"} <= set(r_crowded.flags["application_id"])  # each look-alike is still shown
    assert r_alone.applicant.loc["p", "infringement_chance_style"] == 1.0
    assert r_crowded.applicant.loc["p", "infringement_chance_style"] == pytest.approx(4 / (36 * 6 / 242 + 1))
    assert r_crowded.severity["p"] < r_alone.severity["p"]
    assert r_crowded.applicant.loc["l0", "infringement_chance_style"] == 1.0
    # the style is the related-party group's: the same three own marks filed by a sibling company
    apps = crowded.applications.copy()
    sibling = apps["mark_text"].isin([m for m, _, _ in own])
    apps.loc[sibling, ["applicant_key", "applicant_name"]] = ["p2", "Portfolio Sister Co"]
    r_group = build_infringement(Tables(apps, alone.transfers, alone.decisions, alone.protected_marks,
                                        alone.public_terms), load_config())
    assert r_group.applicant.loc["p", "infringement_chance_style"] == pytest.approx(4 / (36 * 6 / 242 + 1))
    assert r_group.applicant.loc["p2", "infringement_chance_style"] == pytest.approx(4 / (36 * 6 / 242 + 1))


def test_double_identity_and_look_alike_letters_on_a_protected_mark_are_never_chance():
    """One filing each, among 200 ordinary one-mark filers: the protected mark ZORVEXA itself in
    its own class 9 (double identity) and Z0RVEXA (a digit for the letter O) anywhere count at their
    full strength (chance weight 1); the same mark in a class the protected mark does not list is
    weighed against chance like any other resemblance (weight below 1)."""
    rows = [(f"N{i}", f"PLAIN{i:04d}X", f"Filer {i}", f"n{i}", f"g_n{i}", "2018-01-01", "35") for i in range(200)]
    rows += [("X1", "ZORVEXA", "Exact Co", "x", "g_x", "2020-01-01", "9"),
             ("Y1", "Z0RVEXA", "Digit Co", "y", "g_y", "2020-01-01", "30"),
             ("W1", "ZORVEXA", "Elsewhere Co", "w", "g_w", "2020-01-01", "30")]
    prot = pd.DataFrame({"mark_text": ["ZORVEXA"], "owner_name": ["Zorvex Ltd"], "nice_classes": ["9"],
                         "owner_key": pd.Series([pd.NA], dtype="str")})
    empty = pd.DataFrame()
    r = build_infringement(Tables(_apps(rows), empty, empty, prot, empty), load_config())
    strength = r.flags.set_index("application_id")["strength"]
    kinds = r.details.set_index("application_id")["kind"]
    assert kinds["X1"] == Reason.INFRINGEMENT_EXACT.value and kinds["Y1"] == Reason.INFRINGEMENT_CONFUSABLE.value
    assert r.severity["x"] == pytest.approx(load_config().infringement.severity_w_copies * strength["X1"])
    assert r.severity["y"] == pytest.approx(load_config().infringement.severity_w_copies * strength["Y1"])
    assert r.applicant.loc[["x", "y"], "infringement_chance_dilution"].tolist() == [1.0, 1.0]
    assert r.applicant.loc["w", "infringement_chance_dilution"] < 1.0
    assert r.severity["w"] < load_config().infringement.severity_w_copies * strength["W1"]


def _apps(rows) -> pd.DataFrame:
    apps = pd.DataFrame(rows, columns=["application_id", "mark_text", "applicant_name", "applicant_key", "group_id",
                                       "filing_date", "nice_classes"])
    apps["filing_date"] = pd.to_datetime(apps["filing_date"])
    apps["goods_services"] = ""
    apps["status"] = "filed"
    return apps


def test_related_class_copy_of_a_coined_mark_but_not_of_a_dictionary_word():
    """Classes 30 and 43 are co-filed by five of twenty coherent applicants (and never with 9 / 12):
    lift 5 x 20 / (5 x 5) = 4, so they are related; a coined mark filed by another owner in 30 before is a copy in 43 at weight
    class_weight_related_class. The same for a dictionary word (OASIS) is coexistence, not copying."""
    rows = [(f"K{i}{c}", f"CAFEMARK{i}", f"Cafe {i}", f"k{i}", f"g_k{i}", "2015-01-01", c)
            for i in range(5) for c in ("30", "43")]
    rows += [(f"T{i}{c}", f"TECHMARK{i}", f"Tech {i}", f"t{i}", f"g_t{i}", "2015-01-01", c)
             for i in range(15) for c in ("9", "12")]
    rows += [("O1", "ZORVANTIQ", "Owner", "o", "g_o", "2016-01-01", "30"),
             ("O2", "OASIS", "Owner", "o", "g_o", "2016-01-01", "30"),
             ("N1", "ZORVANTIQ", "Newcomer", "n", "g_n", "2019-01-01", "43"),
             ("N2", "OASIS", "Newcomer", "n", "g_n", "2019-01-01", "43"),
             ("N3", "ZORVANTIQ", "Other", "x", "g_x", "2019-01-01", "9")]
    cfg = load_config()
    r = build_infringement(Tables(_apps(rows), pd.DataFrame(), pd.DataFrame(),
                                  pd.DataFrame(columns=["mark_text", "owner_name", "nice_classes"]), pd.DataFrame()),
                           cfg)
    d = r.details.set_index("application_id")
    assert "N1" in d.index and d.loc["N1", "class_relation"] == "related_class" and d.loc["N1", "matched_class"] == "30"
    # strength by hand: exact 1.0 x related 0.75 x earlier 0.9 x established use of one filing 3 years before
    i = cfg.infringement
    est = i.established_base + (1 - i.established_base) * (1 - np.exp(-1 / i.established_n_scale)) * min(
        1.0, (pd.Timestamp("2019-01-01") - pd.Timestamp("2016-01-01")).days / 365.25 / i.established_years_scale)
    assert d.loc["N1", "strength"] == pytest.approx(1.0 * i.class_weight_related_class * i.source_weight_earlier * est)
    assert "related class 30" in d.loc["N1", "evidence"]
    assert "N2" not in d.index          # dictionary word in a related class
    assert "N3" not in d.index          # class 9 is not related to 30


def test_public_terms_are_no_ones_mark():
    """Filing a place name after someone else filed it is squatting, not copying that someone."""
    rows = [("P1", "黄山", "First", "f", "g_f", "2015-01-01", "30"),
            ("P2", "黄山", "Second", "s", "g_s", "2019-01-01", "30"),
            ("C1", "瑞麒兰", "First", "f", "g_f", "2015-01-01", "30"),
            ("C2", "瑞麒兰", "Second", "s", "g_s", "2019-01-01", "30")]
    terms = pd.DataFrame({"term": ["黄山"], "category": ["place"]})
    r = build_infringement(Tables(_apps(rows), pd.DataFrame(), pd.DataFrame(),
                                  pd.DataFrame(columns=["mark_text", "owner_name", "nice_classes"]), terms),
                           load_config())
    assert set(r.flags["application_id"]) == {"C2"}


def test_owner_brand_extension_is_not_a_copy_of_an_earlier_look_alike():
    """大白兔乐园 contains 大白兔, the applicant's own protected mark: filed after someone else's
    homophone 达白兔乐园 it is the owner's brand extension, not a copy. The same filing by an
    unrelated newcomer is a copy of the earlier mark (exact homophone, same class)."""
    t = make_tables()
    for key, expect in (("cd", False), ("nw", True)):
        rows = [("B1", "达白兔乐园", "Other Co", "ot", "g_ot", "2015-01-01", "30"),
                ("B2", "大白兔乐园", "Candy Co" if key == "cd" else "Newco", key, f"g_{key}", "2019-01-01", "30")]
        apps = pd.concat([t.applications, _apps(rows)], ignore_index=True)
        r = build_infringement(Tables(apps, t.transfers, t.decisions, t.protected_marks, t.public_terms), load_config())
        assert ("B2" in set(r.flags["application_id"])) is expect


def test_own_name_down_weights_marks_inside_the_applicants_name_by_hand():
    """A mark core (>= 2 characters) found in the applicant's compacted name or in its pinyin is a
    house mark: an earlier-owner match is weighted by own_name_weight; a protected match the name
    takes whole (the same mark, here) keeps its strength in any class (a company naming itself after
    a famous mark is the classic abuse), as do a one-letter core and a core outside the name; a
    protected match the name only approximates (an edit) is weighted like an earlier one."""
    from features.infringement import _own_name

    cfg = load_config().infringement
    T = pd.DataFrame({"core": ["xiyu", "喜宇", "acme", "a", "zeta"]})
    apps = pd.DataFrame({"tid": [0, 1, 2, 3, 4, 2],
                         "applicant_name": ["喜宇纺织有限公司", "喜宇纺织有限公司", "Acme Trading Co", "Acme Trading Co",
                                            "Acme Trading Co", "Acme Trading Co"]})
    cand = pd.DataFrame({"row": [0, 1, 2, 3, 4, 5, 2, 2],
                         "matched_source": ["earlier"] * 5 + ["protected"] * 3,
                         "class_relation": ["same_class"] * 5 + ["same_class", "unrelated", "same_class"],
                         "kind": ["edit"] * 5 + ["exact", "exact", "edit"],
                         "strength": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]})
    w = cfg.own_name_weight
    # xiyu: in the pinyin xiyufangzhi...; 喜宇: in the name; acme: in acmetradingco; a: too short;
    # zeta: nowhere; rows 5-6: acme, the protected mark itself; last: acme, an edit of a protected mark
    want = [0.9 * w, 0.8 * w, 0.7 * w, 0.6, 0.5, 0.4, 0.3, 0.2 * w]
    assert np.allclose(_own_name(cand, apps, T, cfg)["strength"].to_numpy(), want)


def test_an_older_brand_extended_to_a_new_class_is_no_copy_of_a_younger_look_alike():
    """The applicant filed ZORVANTIQ in class 30 in 2015; another owner filed ZORVANTIQ in class 9 in
    2016; the applicant extending its brand to class 9 in 2019 is later *in that class*, but its
    brand is the older one. A newcomer filing the same in class 9 in 2019 copies the 2016 mark."""
    for key, first, expect in (("br", "2015-01-01", False), ("nw", None, True)):
        rows = [("O1", "ZORVANTIQ", "Other Co", "ot", "g_ot", "2016-01-01", "9"),
                ("E1", "ZORVANTIQ", "Brand Co", key, f"g_{key}", "2019-01-01", "9")]
        if first:
            rows.append(("E0", "ZORVANTIQ", "Brand Co", key, f"g_{key}", first, "30"))
        r = build_infringement(Tables(_apps(rows), pd.DataFrame(), pd.DataFrame(),
                                      pd.DataFrame(columns=["mark_text", "owner_name", "nice_classes"]),
                                      pd.DataFrame()), load_config())
        assert ("E1" in set(r.flags["application_id"])) is expect
        # the owner of the 2016 mark copies nobody: the brand owner's 2015 filing is in another class
        assert "O1" not in set(r.flags["application_id"])


def test_the_earlier_mark_rule_criterion_by_criterion():
    """One candidate per criterion of ``is_earlier_mark_of_another`` (margin 90 days), by hand."""
    from features.infringement import EarlierCandidates, is_earlier_mark_of_another

    rows = [  # day, applicant, group, brand_first, owner_day, owner, owner_group, owner_first, dictionary
        (1000, 1, 10, 1000, 500, 2, 20, 500, False),    # kept: another owner, 500 days earlier
        (1000, 1, 10, 1000, 500, 1, 10, 500, False),    # the applicant itself
        (1000, 1, 10, 1000, 500, 3, 10, 500, False),    # another member of its group
        (1000, 1, 10, 1000, 950, 2, 20, 950, False),    # only 50 days earlier
        (1000, 1, 10, 300, 500, 2, 20, 500, False),     # the applicant's brand is older (300 < 500)
        (1000, 1, 10, 1000, 500, 2, 20, 500, True),     # a dictionary word: kept in the own class
    ]
    cols = list(zip(*rows, strict=True))
    cand = EarlierCandidates(*[np.array(c) for c in cols], related_class=False)
    assert is_earlier_mark_of_another(cand, 90).tolist() == [True, False, False, False, False, True]
    related = cand._replace(related_class=True)  # ... and dropped in a related class
    assert is_earlier_mark_of_another(related, 90).tolist() == [True, False, False, False, False, False]
