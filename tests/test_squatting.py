"""Squatting on listed public terms: waves, variants, owners, the application-level warning and
mill clients linked through agent and address, against values worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from core.config import load_config
from features.squatting import build_squatting
from features.squatting import mark_core as squatting_cores
from features.term_variants import variant_matches
from pipeline.entities import assign_groups, related_party_edges
from pipeline.score import application_risk
from tests.test_builders import apps_frame, tables
from tests.test_entities import _apps

CFG = load_config()


def _terms(rows):
    return pd.DataFrame(rows, columns=["term", "category", "date", "owner"])


def test_a_wave_of_a_listed_event_term_weighs_more_than_a_late_lone_filing():
    """A listed event term dated 2020-01-01. Thirty unrelated applicants file it within a week in
    2021-02 (some 400 days later): each filing's faded weight max(event_floor 0.7, exp(-400/365)
    = 0.33) = 0.7 is raised to w_wave = 1.0 because 30 >= trend_min_groups (8) groups first filed it
    within trend_window_days. A lone filer two years later gets the floor 0.7 alone."""
    terms = _terms([("火神峰", "event", "2020-01-01", "")])
    rows = [(f"W{i}", f"c:w{i}|", f"gw{i}", f"2021-02-{1 + i % 7:02d}", "火神峰", "35", "company", "pending",
             f"波{i}公司") for i in range(30)]
    rows.append(("L1", "c:lone|", "glone", "2023-06-01", "火神峰", "35", "company", "pending", "孤公司"))
    r = build_squatting(tables(apps_frame(rows), terms=terms), CFG)
    f = r.flags.set_index("application_id")
    assert f.loc["W0", "strength"] == pytest.approx(1.0)
    assert (f.loc[[f"W{i}" for i in range(30)], "strength"] == 1.0).all()
    assert "one of 30 unrelated applicants" in f.loc["W3", "evidence"]
    days = (pd.Timestamp("2023-06-01") - pd.Timestamp("2020-01-01")).days
    assert f.loc["L1", "strength"] == pytest.approx(max(0.7, math.exp(-days / 365.0)))
    assert "unrelated applicants" not in f.loc["L1", "evidence"]


def test_a_held_term_does_not_fade_and_its_name_clears_no_company():
    """Two mascots dated 2019-09-17, one with a listed owner (the organiser), filed 1,171 days later:
    the held one keeps its full event weight w_event 1.0, the unheld one fades to the floor 0.7. A
    company named after the held mascot (冰墩墩商贸) is not cleared by its name (only the listed owner
    is); one named after the unheld mascot keeps the trade-name exemption."""
    terms = _terms([("冰墩墩", "event", "2019-09-17", "北京冬奥组委"), ("冬融融", "event", "2019-09-17", "")])
    rows = [("H1", "c:h|", "gh", "2022-12-01", "冰墩墩", "25", "company", "pending", "甲公司"),
            ("U1", "c:u|", "gu", "2022-12-01", "冬融融", "25", "company", "pending", "乙公司"),
            ("H2", "c:冰墩墩商贸|", "gh2", "2022-12-01", "冰墩墩", "25", "company", "pending", "冰墩墩商贸有限公司"),
            ("U2", "c:冬融融商贸|", "gu2", "2022-12-01", "冬融融", "25", "company", "pending", "冬融融商贸有限公司")]
    f = build_squatting(tables(apps_frame(rows), terms=terms), CFG).flags.set_index("application_id")
    assert sorted(f.index) == ["H1", "H2", "U1"]
    assert f.loc["H1", "strength"] == pytest.approx(CFG.squatting.w_event)
    assert f.loc["U1", "strength"] == pytest.approx(max(CFG.squatting.event_floor, math.exp(-1171 / 365.0)))


def test_a_single_filing_of_a_listed_person_is_flagged_at_the_application_level():
    """One filing of a listed person's name by a company with no other filings: strength w_person
    = 1.0 (a person's standing does not fade), application risk = weight_squatting 0.85 x 1.0 = 0.85
    >= flag_threshold 0.5. Before the fame date the same filing is not a squat."""
    terms = _terms([("苏炳添", "person", "2015-05-30", "")])
    rows = [("P1", "c:a|", "ga", "2021-08-02", "苏炳添", "25", "company", "pending", "甲体育用品有限公司"),
            ("P0", "c:b|", "gb", "2014-01-01", "苏炳添", "25", "company", "pending", "乙公司")]
    r = build_squatting(tables(apps_frame(rows), terms=terms), CFG)
    assert list(r.flags["application_id"]) == ["P1"]
    risk = application_risk(r.flags, pd.Series(["P1", "P0"]), CFG)
    assert risk.tolist() == pytest.approx([0.85 * 1.0, 0.0])
    assert risk.iloc[0] >= CFG.scoring.flag_threshold


def test_variants_of_a_listed_name_are_matched_with_variant_strength():
    """我爱苏炳添 (the name covers 3/5 >= 0.4 of the mark), 苏丙添 (same toneless pinyin su bing tian),
    SUBINGTIAN (its pinyin, 10 letters >= 6), 皮皮鱼 (one character of 皮皮鲁 replaced by a
    look-alike) are variants: strength w_person 1.0 x variant_strength 0.8. 添福园林 contains no
    listed name; 苏炳 alone is a two-character fragment of the name, not its given name (not matched)."""
    terms = _terms([("苏炳添", "person", "", ""), ("皮皮鲁", "person", "", "")])
    marks = {"V1": "我爱苏炳添", "V2": "苏丙添", "V3": "SUBINGTIAN", "V4": "皮皮鱼", "N1": "添福园林", "N2": "苏炳"}
    rows = [(k, f"c:{k}|", f"g{k}", "2022-01-01", m, "25", "company", "pending", f"{k}公司") for k, m in marks.items()]
    r = build_squatting(tables(apps_frame(rows), terms=terms), CFG)
    f = r.flags.set_index("application_id")
    assert set(f.index) == {"V1", "V2", "V3", "V4"}
    assert f["strength"].tolist() == pytest.approx([0.8] * 4)
    assert "contained" in f.loc["V1", "evidence"] and "homophone" in f.loc["V2", "evidence"]
    assert "pinyin" in f.loc["V3", "evidence"] and "shape" in f.loc["V4", "evidence"]


def test_variant_rules_by_hand():
    """A place name at the start or the end of a mark whose rest names goods (烧烤 is a generic term)
    matches (淄博市烧烤); with a distinctive rest (心宇) or in the middle it does not; a county's short
    name inside a longer mark never does (同心 is an everyday word)."""
    terms = pd.DataFrame({"category": ["place", "place"], "date": [pd.NaT, pd.NaT], "containable": [True, False]},
                         index=pd.Index(["淄博市", "同心"]))
    got = variant_matches(pd.Series(["淄博市烧烤", "淄博市心宇", "好淄博市烧烤", "同心鞋"]), terms, CFG.squatting)
    assert got[["core", "term_core", "variant"]].values.tolist() == [["淄博市烧烤", "淄博市", "contained"]]


def test_a_persons_name_given_name_first_is_a_variant_but_not_an_events():
    """文亮·李 normalises to 文亮李: 李文亮 with the surname moved last (a person's name written given
    name first). 运奥冬 is 冬奥运 rotated the same way, but an event is no one's name: not matched; nor
    is 亮李文 (another rotation)."""
    terms = pd.DataFrame({"category": ["person", "event"], "date": [pd.NaT, pd.NaT], "containable": [True, True]},
                         index=pd.Index(["李文亮", "冬奥运"]))
    cores = squatting_cores(pd.Series(["文亮·李", "运奥冬", "亮李文"]))
    got = variant_matches(cores, terms, CFG.squatting)
    assert got[["core", "term_core", "variant"]].values.tolist() == [["文亮李", "李文亮", "surname last"]]


def test_given_name_of_a_current_figure_and_pinyin_with_nasals_alike():
    """翊鸣 is the given name of the dated (current) 苏翊鸣; 文亮 is not matched for the undated 李文亮
    (an everyday given name without a current figure behind it). BINDUNDUN is the pinyin of 冰墩墩
    (bingdundun) with the back nasal written as the front one."""
    terms = pd.DataFrame({"category": ["person", "person", "event"],
                          "date": [pd.Timestamp("2022-02-15"), pd.NaT, pd.Timestamp("2019-09-17")],
                          "containable": [True, True, True]}, index=pd.Index(["苏翊鸣", "李文亮", "冰墩墩"]))
    got = variant_matches(pd.Series(["翊鸣", "文亮", "bindundun", "bindunduo"]), terms, CFG.squatting)
    assert sorted(got[["core", "term_core", "variant"]].values.tolist()) == [
        ["bindundun", "冰墩墩", "pinyin"], ["翊鸣", "苏翊鸣", "given name"]]


def test_the_authorised_company_is_not_flagged_but_a_company_named_after_the_person_is():
    """The term lists 苏炳添 and its authorised company as owners. The person (a natural person of that
    name) and the authorised company file it: no flag. A company whose name merely contains the
    person's name is not the person: flagged (strength 1.0)."""
    terms = _terms([("苏炳添", "person", "2015-05-30", "苏炳添;广州市飞人体育文化有限公司")])
    rows = [("O1", "p:苏炳添|x", "go1", "2021-09-01", "苏炳添", "41", "individual", "pending", "苏炳添"),
            ("O2", "c:飞人体育文化|广州", "go2", "2021-09-01", "苏炳添", "41", "company", "pending",
             "广州市飞人体育文化有限公司"),
            ("X1", "c:苏炳添体育用品|泉州", "gx", "2021-09-01", "苏炳添", "25", "company", "pending",
             "泉州市苏炳添体育用品有限公司")]
    r = build_squatting(tables(apps_frame(rows), terms=terms), CFG)
    f = r.flags.set_index("application_id")
    assert list(f.index) == ["X1"] and f.loc["X1", "strength"] == pytest.approx(1.0)


def test_a_mills_clients_are_linked_through_agent_and_address_but_neighbours_are_not():
    """Ten clients at the mill's address (more applicants than address_hub_size 8: the address alone
    links nobody) file different coined marks through the mill's agent within five days: one group
    (coordinated: same address, same agent, within coordination_days). Two neighbours at the same
    address with their own agents, and one client of the same agent filing two months later, stay
    apart."""
    addr = "深圳市宝安区西乡街道某大厦808室"
    clients = [(f"C{i}", f"深圳市{n}商贸有限公司", addr, "深圳市某嘉知识产权代理有限公司")
               for i, n in enumerate("甲乙丙丁戊己庚辛壬癸")]
    others = [("N0", "深圳市子科技有限公司", addr, "甲事务所"), ("N1", "深圳市丑科技有限公司", addr, "乙事务所"),
              ("N2", "深圳市寅商贸有限公司", addr, "深圳市某嘉知识产权代理有限公司")]
    apps = _apps(clients + others)
    apps["mark_text"] = [f"臻{n}" for n in "一二三四五六七八九十"] + ["子品", "丑品", "寅品"]
    apps["filing_date"] = pd.to_datetime([f"2021-03-0{1 + i % 5}" for i in range(10)]
                                         + ["2021-03-02", "2021-03-02", "2021-05-20"])
    edges = related_party_edges(apps, pd.DataFrame(), CFG)
    g = apps["applicant_key"].map(assign_groups(pd.Index(apps["applicant_key"]), edges)).tolist()
    assert len(set(g[:10])) == 1
    assert len({g[0], g[10], g[11], g[12]}) == 4
    ev = edges.loc[edges["link"] == "coordinated", "evidence"].iloc[0]
    assert "same address, same agent" in ev


def test_a_substring_trend_across_twenty_unrelated_applicants_is_found_without_an_affix_list():
    """Twenty unrelated applicants file marks that share the new substring 木鱼 with varying
    affixes (木鱼甲, 乙木鱼, 原味丙木鱼 …) within twenty days of 2022-06; no two marks are equal and no
    list holds 木鱼. One group filed 木鱼鼓 in 2020 (its originator, not flagged, and the one prior
    filer allowed by trend_max_prior 2). Each of the twenty is flagged SQUAT_TREND for containing the
    term: weight w_trend 2.0 x variant_strength 0.8 = 1.6 (the flag's strength is capped at 1), its
    severity 1.6 / filings_per_unit 2 = 0.8. A company adding the word to its own
    trade name (华强木鱼 by 华强公司) is not flagged; neither is an unrelated mark (青山)."""
    cfg = CFG.with_overrides({"squatting": {"trend_min_groups": 8}})
    affixes = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉"
    marks = [("木鱼" + a) if i % 3 == 0 else (a + "木鱼") if i % 3 == 1 else ("原味" + a + "木鱼")
             for i, a in enumerate(affixes)]
    rows = [(f"T{i}", f"c:t{i}|", f"gt{i}", f"2022-06-{1 + i:02d}", m, "30", "company", "pending", f"某{i}贸易公司")
            for i, m in enumerate(marks)]
    rows += [("O1", "c:orig|", "gorig", "2020-01-01", "木鱼鼓", "15", "company", "pending", "早公司"),
             ("H1", "c:华强|", "ghq", "2022-06-10", "华强木鱼", "30", "company", "pending", "华强公司"),
             ("Q1", "c:q|", "gq", "2022-06-10", "青山", "30", "company", "pending", "青公司")]
    r = build_squatting(tables(apps_frame(rows)), cfg)
    t = r.flags[r.flags["reason"] == "SQUAT_TREND"].set_index("application_id")
    assert set(t.index) == {f"T{i}" for i in range(20)}
    assert t["strength"].tolist() == pytest.approx([1.0] * 20)
    assert r.severity["c:t4|"] == pytest.approx(2.0 * 0.8 / 2.0)
    assert r.severity["c:华强|"] == 0 and r.severity["c:orig|"] == 0
    assert "contains '木鱼'" in t.loc["T5", "evidence"]


def _word(i: int) -> str:
    """A distinct coined Latin mark for every i (letters only: no term, no digits folded away)."""
    letters = "bcdfghjklmnpqrstvwxz"
    return "".join(letters[(i // 20 ** p) % 20] for p in range(4)) + "ova"


def test_a_built_in_name_a_large_portfolio_meets_by_chance_weighs_nothing_for_it():
    """王威 is an undated two-character name of the built-in person list. 300 one-mark filers, a
    portfolio of 200 coined marks that also filed 王威, and a filer of one coined mark and 王威.
    No size bin has chance_min_peers (20) applicants but the one-mark bin, so all pool there:
    p0 = 2 hits / 503 marks = 0.004, below chance_rate_min 0.005. The portfolio expects 201 x 0.005
    = 1.0 coincidences and has one: weight 0, severity 0. The small filer expects 0.01:
    P(X >= 1) = 1 - e^-0.01, weight min(1, -log10 P / 3) x 0.99 = 0.66, severity 1.0 x 0.66 / 2.
    Both filings keep their full strength as application flags. Listed by the operator, the name
    weighs fully for both (severity 1.0 / 2)."""
    rows = [(f"N{i}", f"c:n{i}|", f"gn{i}", "2021-01-01", _word(i), "35", "company", "pending", f"N{i}公司")
            for i in range(300)]
    rows += [(f"B{i}", "c:big|", "gbig", "2021-01-01", _word(1000 + i), "9", "company", "pending", "大公司")
             for i in range(200)]
    rows += [("B-name", "c:big|", "gbig", "2021-01-01", "王威", "9", "company", "pending", "大公司"),
             ("S1", "c:small|", "gsmall", "2021-01-01", _word(5000), "25", "company", "pending", "小公司"),
             ("S-name", "c:small|", "gsmall", "2021-01-01", "王威", "25", "company", "pending", "小公司")]
    r = build_squatting(tables(apps_frame(rows)), CFG)
    f = r.flags.set_index("application_id")
    assert f.loc[["B-name", "S-name"], "strength"].tolist() == [1.0, 1.0]
    lam = 2 * CFG.infringement.chance_rate_min
    weight = min(1.0, -math.log10(1 - math.exp(-lam)) / CFG.infringement.chance_surprise_ref) * (1 - lam)
    assert r.severity["c:big|"] == 0.0
    assert r.severity["c:small|"] == pytest.approx(CFG.squatting.w_person * weight / CFG.squatting.filings_per_unit)
    listed = build_squatting(tables(apps_frame(rows), terms=_terms([("王威", "person", None, "")])), CFG)
    assert listed.severity[["c:big|", "c:small|"]].tolist() == pytest.approx([0.5, 0.5])
