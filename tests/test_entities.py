"""Entity resolution and related-party groups on hand-made cases (one per normalisation rule)."""

from __future__ import annotations

import pandas as pd

from core.config import load_config
from core.tables import Tables
from pipeline.entities import (
    assign_groups,
    normalize_addresses,
    related_party_edges,
    resolve_entities,
    resolve_keys,
)
from pipeline.evaluate import pairwise_prf


def keys(names, addresses=None, types=None, countries=None):
    n = len(names)
    return resolve_keys(pd.DataFrame({
        "name": names, "address": addresses or [""] * n, "type": types or [""] * n,
        "country": countries or ["CN"] * n,
    })).tolist()


def test_chinese_company_variants_share_one_key():
    k = keys(["广东省深圳市华科明电子科技有限公司", "深圳市华科明电子科技有限责任公司",
              "华科明电子科技（深圳）有限公司", "华科明电子科技(深圳)有限公司", "深圳市 华科明电子科技 有限公司",
              "深圳市华科明电子科技股份有限公司"])
    assert len(set(k)) == 1, k


def test_same_trade_name_in_different_cities_stays_apart():
    k = keys(["深圳市华科明电子科技有限公司", "广州市华科明电子科技有限公司"])
    assert k[0] != k[1]


def test_city_in_brackets():
    k = keys(["科明(厦门)有限公司", "厦门科明有限公司", "厦门市科明有限公司"])
    assert len(set(k)) == 1


def test_county_short_name_is_not_stripped_from_a_trade_name():
    # 同仁 is a county short name; 北京同仁堂 must keep 同仁堂 as its core.
    k = keys(["北京同仁堂股份有限公司", "北京市同仁堂有限公司", "北京市堂有限公司"])
    assert k[0] == k[1] and k[0] != k[2]


def test_latin_legal_forms_case_punctuation_and_the():
    k = keys(["Acme Inc.", "ACME, INC", "The Acme Incorporated", "acme corp", "Acme GmbH"],
             countries=["US", "US", "US", "US", "DE"])
    assert len(set(k[:4])) == 1 and k[4] != k[0]


def test_namesake_individuals_at_different_addresses_stay_apart():
    k = keys(["王伟", "王伟", "王伟"],
             ["北京市朝阳区建国路1号", "上海市浦东新区张江路2号", "北京市朝阳区建国路１号"],
             types=["individual"] * 3)
    assert k[0] != k[1] and k[0] == k[2]
    assert "建国路" not in k[0]  # personal addresses are hashed, not spelled out in keys


def test_address_normalisation_rules():
    a = normalize_addresses(pd.Series([
        "广东省深圳市南山区科技园路88号1203室", "深圳市南山区科技园路８８号1203", "南山区科技园路88号1203 电话:0755-26881234",
    ]))
    assert a["addr_key"].nunique() == 1
    assert a["phone"].tolist() == ["", "", "0755268"]  # first 7 digits: filings often truncate numbers
    assert a["building_key"].iloc[0] == "科技园路88号"


def test_address_variants_of_shells_and_hub_markers():
    a = normalize_addresses(pd.Series([
        "浙江省杭州市淳安县高新大道413号2楼（电话1469756）", "杭州市淳安县高新大道４１３号２楼之一",
        "浙江省杭州市淳安县高新大道413号2楼（联系电话：14697563758）", "滨州市惠民县站前路316号2708号",
        "山东省滨州市惠民县站前路316号2708室", "西藏自治区阿里地区革吉县团结路383号互联网产业园（集群注册）",
    ]), ("集群注册",))
    assert a["addr_key"].iloc[:3].nunique() == 1 and a["addr_key"].iloc[3] == a["addr_key"].iloc[4]
    assert a["phone"].iloc[0] == a["phone"].iloc[2] == "1469756"
    assert a["hub_marked"].tolist() == [False] * 5 + [True]


def _apps(rows):
    cols = ["application_id", "applicant_name", "applicant_address", "agent_name"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("applicant_type", "applicant_country", "mark_text", "nice_classes", "status"):
        df[c] = ""
    df["applicant_type"] = "company"
    df["filing_date"] = pd.Timestamp("2020-01-01")
    df["applicant_key"] = resolve_keys(pd.DataFrame({"name": df["applicant_name"], "address": df["applicant_address"],
                                                     "type": "company", "country": "CN"}))
    return df


def test_shells_sharing_an_address_are_one_group_but_a_business_centre_is_not():
    cfg = load_config().with_overrides({"entities": {"address_hub_size": 3}})
    shells = [(f"S{i}", f"深圳市{n}贸易有限公司", "深圳市福田区福华路1号2001室", "甲代理") for i, n in enumerate("甲乙丙")]
    # a business centre: 6 unrelated companies at one room (over the hub size of 3)
    hub = [(f"H{i}", f"上海市{n}科技有限公司", "上海市浦东新区商务中心路9号101室", f"代理{i}") for i, n in enumerate("子丑寅卯辰巳")]
    apps = _apps(shells + hub)
    edges = related_party_edges(apps, pd.DataFrame(), cfg)
    groups = assign_groups(pd.Index(apps["applicant_key"]), edges)
    g = apps["applicant_key"].map(groups)
    assert g[:3].nunique() == 1
    assert g[3:].nunique() == 6
    hub_keys = set(apps["applicant_key"][3:])
    assert not (edges["a"].isin(hub_keys) | edges["b"].isin(hub_keys)).any()


def test_an_agent_alone_links_nobody_but_agent_plus_building_does():
    cfg = load_config()
    rows = [("A1", "深圳市甲科技有限公司", "深圳市南山区科技园路1号101", "大代理"),
            ("A2", "深圳市乙科技有限公司", "深圳市南山区科技园路1号102", "大代理"),   # same building + agent
            ("A3", "深圳市丙科技有限公司", "深圳市福田区福华路3号", "大代理")]        # agent only
    apps = _apps(rows)
    edges = related_party_edges(apps, pd.DataFrame(), cfg)
    groups = assign_groups(pd.Index(apps["applicant_key"]), edges)
    g = apps["applicant_key"].map(groups).tolist()
    assert g[0] == g[1] and g[2] != g[0]
    assert set(edges["link"]) == {"agent", "building"}


def test_resolve_entities_matches_decision_subjects_and_transfer_parties():
    apps = _apps([("A1", "深圳市甲科技有限公司", "深圳市南山区科技园路1号101", "x"),
                  ("A2", "王伟", "北京市朝阳区建国路1号", "x"), ("A3", "王伟", "上海市浦东新区张江路2号", "x")])
    apps.loc[1:, "applicant_type"] = "individual"
    apps = apps.drop(columns=["applicant_key"])
    transfers = pd.DataFrame({"application_id": ["A1"], "transfer_date": [pd.Timestamp("2021-01-01")],
                              "assignor_name": ["深圳市甲科技有限责任公司"], "assignee_name": ["买家公司"],
                              "assignee_address": [""]})
    decisions = pd.DataFrame({"subject_name": ["广东省深圳市甲科技有限公司", "王伟"], "kind": ["bad_faith_refusal"] * 2,
                              "decision_date": [pd.Timestamp("2021-01-01")] * 2, "authority": "", "reference": "",
                              "application_id": ["", "A3"]})
    t = resolve_entities(Tables(apps, transfers, decisions, pd.DataFrame(columns=["mark_text", "owner_name"]),
                                pd.DataFrame()), load_config())
    key = t.applications.set_index("application_id")["applicant_key"]
    assert t.transfers["assignor_key"].item() == key["A1"]
    assert t.decisions["subject_key"].tolist() == [key["A1"], key["A3"]]  # namesake resolved via application
    assert t.groups["size"].sum() == key.nunique()


def test_pairwise_prf_counts_pairs_without_enumerating():
    rec = pd.DataFrame({"truth": ["a", "a", "a", "b", "b"], "pred": ["x", "x", "y", "y", "y"]})
    # true pairs: C(3,2)+C(2,2)=4; predicted: C(2,2)+C(3,2)=4; both: (0,1) and (3,4) = 2
    r = pairwise_prf(rec, "truth", "pred")
    assert (r["precision"], r["recall"], r["true_pairs"]) == (0.5, 0.5, 4)


def test_latin_namesakes_at_different_addresses_stay_apart_but_variants_merge():
    k = keys(["Aster Sports LLC", "Aster Sports Corporation", "The Aster Sports, Inc.", "Aster Sports Pte. Ltd."],
             ["2906 Queen Street, Seattle", "483 River Street, Austin", "2906 Queen St, Seattle", ""],
             countries=["US", "US", "US", "US"])
    assert k[0] == k[2] and k[0] != k[1]
    assert k[3] not in (k[0], k[1])  # no address and two candidate sites: stays on its own


def test_positions_in_finds_strings_and_integers():
    """Look-ups of many keys among distinct values (Arrow's hash table for strings): position, or -1
    for an absent or missing key."""
    import numpy as np

    from core.tables import positions_in

    values = pd.Index(["A3", "A1", "甲2"], dtype="str")
    target = pd.Series(["A1", "甲2", "A9", None, "A3", "A1"], dtype="str")
    assert positions_in(values, target).tolist() == [1, 2, -1, -1, 0, 1]
    assert positions_in(values, pd.Series([], dtype="str")).tolist() == []
    assert positions_in(pd.Index([7, 3, 5]), np.array([5, 6, 7])).tolist() == [2, -1, 0]


def test_shells_filing_one_mark_through_one_agent_are_linked_but_neighbours_are_not():
    """Twelve companies at a declared cluster-registration workstation (an address hub: it links
    nobody) file the same coined mark 默春 in different classes through one agent (written in two
    forms) within a week: coordinated filing, one group. Three neighbours at the same workstation
    file their own marks through other agents: each stays alone. A shell filing through the group's
    agent with the same phone as a member joins the group by the phone."""
    cfg = load_config()
    hub = "广东省广州市越秀区越巴东路551号孵化基地7楼646工位（集群注册）"
    shells = [(f"S{i}", f"广州市{n}商贸有限公司", hub.replace("551", "５５１") if i % 2 else hub,
               "杭州市耀大商标代理有限公司" if i % 3 else "杭州市耀大商标代理有限责任公司")
              for i, n in enumerate("甲乙丙丁戊己庚辛壬癸子丑")]
    neighbours = [(f"N{i}", f"广州市{n}科技有限公司", hub, f"代理{i}号事务所") for i, n in enumerate("寅卯辰")]
    late = [("L0", "广州市巳商贸有限公司", "广州市天河区体育西路1号 电话 13800001111", "杭州市耀大商标代理有限公司"),
            ("L1", "广州市午商贸有限公司", "广州市海珠区新港路2号 电话 13800001111", "某代理")]
    apps = _apps(shells + neighbours + late)
    apps["mark_text"] = ["默春"] * 12 + ["寅品", "卯品", "辰品"] + ["午品", "未品"]
    apps["nice_classes"] = [str(c) for c in range(1, 13)] + ["9", "9", "9", "3", "5"]
    apps["filing_date"] = pd.to_datetime(["2020-06-15"] * 6 + ["2020-06-19"] * 6 + ["2020-06-15"] * 5)
    edges = related_party_edges(apps, pd.DataFrame(), cfg)
    groups = assign_groups(pd.Index(apps["applicant_key"]), edges)
    g = apps["applicant_key"].map(groups).tolist()
    assert len(set(g[:12])) == 1
    assert len(set(g[12:15])) == 3 and not set(g[12:15]) & set(g[:12])
    coordinated = edges[edges["link"] == "coordinated"]
    assert "默春" in coordinated["evidence"].iloc[0] and "耀大商标代理" in coordinated["evidence"].iloc[0]
    assert g[15] == g[16] and g[15] not in g[:12]  # the phone links the two late filers, not the shells


def test_corporate_family_by_declared_group_or_same_city_but_not_namesakes_elsewhere():
    """舟壹 group, its （中国） arm and a Shenzhen sister company (same city as the group's
    Shenzhen subsidiary) are one family; 雅己 in Nanjing and in Shenzhen, neither declaring a family,
    stay apart; a parent filing its subsidiary's trade name as a mark and transferring marks to it is
    linked to it (two weak links)."""
    cfg = load_config()
    rows = [("F1", "舟壹美容用品集团有限公司", "浙江省杭州市西湖区文三路1号", "甲"),
            ("F2", "深圳市舟壹个人护理用品有限公司", "深圳市南山区科技园路2号", "乙"),
            ("F3", "舟壹（中国）有限公司", "上海市浦东新区张江路3号", "丙"),
            ("F4", "深圳市舟壹美容科技有限公司", "深圳市福田区福华路4号", "丁"),
            ("Y1", "南京市雅己健康管理有限公司", "南京市玄武区中山路5号", "戊"),
            ("Y2", "深圳市雅己饮品有限公司", "深圳市罗湖区人民路6号", "己"),
            ("M1", "Misin Spirits GmbH", "Hauptstrasse 7, Berlin", "庚"),
            ("M2", "米西恩（上海）贸易有限公司", "上海市黄浦区南京路8号", "辛")]
    apps = _apps(rows)
    apps["mark_text"] = ["舟壹", "舟壹", "舟壹", "舟壹", "雅己", "雅己", "米西恩", "MISIN"]
    tkeys = dict(zip(apps["application_id"], apps["applicant_key"], strict=True))
    transfers = pd.DataFrame({"application_id": ["M1"], "assignor_key": [tkeys["M1"]], "assignee_key": [tkeys["M2"]]})
    edges = related_party_edges(apps, transfers, cfg)
    groups = assign_groups(pd.Index(apps["applicant_key"]), edges)
    g = apps["applicant_key"].map(groups).tolist()
    assert len(set(g[:4])) == 1
    assert g[4] != g[5]
    assert g[6] == g[7]
    links = set(edges.loc[(edges["a"] == tkeys["M1"]) | (edges["b"] == tkeys["M1"]), "link"])
    assert links == {"house_mark", "transfer"}
