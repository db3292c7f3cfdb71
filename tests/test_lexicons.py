"""Tests for features.lexicons and the shipped lexicon files (features/data)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from features import lexicons as L

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"
DATA_BUDGET_BYTES = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def terms() -> pd.DataFrame:
    return L.public_terms()


def _rows(terms: pd.DataFrame, term: str, category: str | None = None) -> pd.DataFrame:
    r = terms[terms["term"] == term]
    return r if category is None else r[r["category"] == category]


# --------------------------------------------------------------------------- places
def test_shenzhen_full_and_short_are_city_level_places(terms):
    div = L.cn_divisions()
    sz = div[div["name"] == "深圳市"]
    assert len(sz) == 1
    assert sz.iloc[0]["short"] == "深圳"
    assert sz.iloc[0]["level"] == "city"
    assert sz.iloc[0]["parent"] == "广东省"
    assert len(_rows(terms, "深圳市", "place")) == 1
    short = _rows(terms, "深圳", "place")
    assert len(short) == 1 and "深圳市" in short.iloc[0]["note"] and "city" in short.iloc[0]["note"]


def test_beijing_is_province_level(terms):
    div = L.cn_divisions()
    bj = div[div["short"] == "北京"]
    assert set(bj["level"]) == {"province"}
    assert bj.iloc[0]["name"] == "北京市"
    assert len(_rows(terms, "北京", "place")) == 1


def test_division_shorts_rules():
    div = L.cn_divisions()
    shorts = div.loc[div["short"] != "", "short"]
    assert shorts.str.len().min() >= 2  # never a 1-character short
    assert not shorts.isin(["城区", "郊区", "新区", "市辖区", "城", "郊"]).any()
    # placeholders of the code table and statistical functional zones are not divisions
    assert not div["name"].isin(["市辖区", "省直辖县级行政区划"]).any()
    assert not div["name"].str.contains("开发区").any()
    got = dict(zip(div["name"], div["short"], strict=False))
    assert got["内蒙古自治区"] == "内蒙古"
    assert got["广西壮族自治区"] == "广西"
    assert got["延边朝鲜族自治州"] == "延边"
    assert got["浦东新区"] == "浦东"
    assert got["香港特别行政区"] == "香港"
    assert {"province", "city", "county"} == set(div["level"])
    assert div.loc[div["level"] == "province", "name"].nunique() == 34  # 31 + HK, MO, TW
    # counties of direct-controlled municipalities hang under the municipality, not "市辖区"
    assert div.loc[div["name"] == "浦东新区", "parent"].iloc[0] == "上海市"


def test_foreign_capital_present_in_both_languages(terms):
    fp = L.foreign_places()
    paris = fp[fp["term"].isin(["巴黎", "Paris"])]
    assert set(paris["lang"]) == {"zh", "en"}
    assert set(paris["kind"]) == {"capital"}
    assert set(paris["country"]) == {"FR"}
    assert len(_rows(terms, "Paris", "place")) == 1
    assert not fp["country"].isin(["CN", "HK", "MO", "TW"]).any()  # Chinese places are not foreign
    assert not fp["term"].str.lower().isin(["us", "uk"]).any()  # 2-letter names collide with words


# --------------------------------------------------------------------------- people / events / generic
def test_ordinary_words_are_not_public_figures(terms):
    people = terms[terms["category"] == "person"]
    for word in ["apple", "苹果", "孙子", "樱桃", "mary", "job"]:
        assert word not in set(people["norm"]), word
    fig = L.public_figures()
    assert fig["term"].str.len().min() >= 2
    assert {"毛泽东", "Albert Einstein", "Confucius"} <= set(fig["term"])
    assert fig["fame"].notna().all()


def test_event_dates(terms):
    ev = terms[terms["category"] == "event"].set_index("term")
    assert ev.loc["冰墩墩", "date"] == pd.Timestamp("2019-09-17")
    assert ev.loc["雪容融", "date"] == pd.Timestamp("2019-09-17")
    assert ev.loc["火神山", "date"] == pd.Timestamp("2020-01-23")
    assert ev.loc["ChatGPT", "date"] == pd.Timestamp("2022-11-30")
    person_events = terms[(terms["category"] == "person") & (terms["term"] == "谷爱凌")]
    assert person_events["date"].iloc[0] == pd.Timestamp("2022-02-08")
    raw = L.events()
    assert raw["source"].str.len().min() > 10  # every curated row carries a source note
    assert set(raw["category"]) <= {"event", "person"}


def test_generic_terms(terms):
    gen = L.generic_terms()
    assert 100 <= len(gen) <= 300
    assert {"奶茶", "火锅", "预制菜", "NFT", "smartphone"} <= set(gen["term"])
    assert set(terms.loc[terms["term"] == "奶茶", "category"]) == {"generic"}


def test_public_terms_schema_and_uniqueness(terms):
    assert list(terms.columns) == ["term", "norm", "category", "date", "lang", "source", "note", "owner", "listed"]
    assert not terms["listed"].any()  # the shipped lists alone: nothing listed by an operator
    assert terms["date"].dtype == "datetime64[ns]"
    assert set(terms["category"]) <= set(L.TERM_CATEGORIES)
    assert not terms.duplicated(["norm", "category"]).any()
    assert (terms["norm"] != "").all()


# --------------------------------------------------------------------------- normalisation / extra
def test_traditional_term_normalises_to_simplified():
    assert L.normalize("臺灣") == "台湾"
    assert L.normalize("冰墩墩 ") == "冰墩墩"
    assert L.normalize("ＣｈａｔＧＰＴ") == "chatgpt"
    assert L.normalize("New York") == "newyork"
    s = L.normalize_series(pd.Series(["國際 進口", None]))
    assert s.tolist() == ["国际进口", ""]


def test_extra_terms_merge_and_dedup():
    extra = pd.DataFrame(
        {
            "term": ["新詞", "冰墩墩", "深圳", "火神山"],
            "category": ["weird", "event", "place", "event"],
            "date": ["2023-01-01", None, None, "2020-01-10"],
        }
    )
    out = L.public_terms(extra)
    assert not out.duplicated(["norm", "category"]).any()
    new = out[out["norm"] == "新词"].iloc[0]
    assert new["category"] == "other" and new["date"] == pd.Timestamp("2023-01-01")
    # undated dataset row does not erase the shipped date
    bdd = out[(out["norm"] == "冰墩墩") & (out["category"] == "event")].iloc[0]
    assert bdd["date"] == pd.Timestamp("2019-09-17")
    # listed by the operator, whichever row (shipped or dataset) is kept; the shipped rest is not
    assert bdd["listed"] and new["listed"]
    assert not out.loc[out["norm"] == "北京", "listed"].any()
    # the earliest date wins (fame is a period its earliest evidence starts): the dataset's
    # 2020-01-10 before the shipped 2020-01-23, the shipped 2022-02-08 of 谷爱凌 after a 2017 row
    hss = out[(out["norm"] == "火神山") & (out["category"] == "event")].iloc[0]
    assert hss["date"] == pd.Timestamp("2020-01-10")
    gu = L.public_terms(pd.DataFrame({"term": ["谷爱凌"], "category": ["person"], "date": ["2017-06-01"],
                                      "owner": ["谷爱凌"]}))
    gu = gu[(gu["norm"] == "谷爱凌") & (gu["category"] == "person")].iloc[0]
    assert gu["date"] == pd.Timestamp("2017-06-01") and gu["owner"] == "谷爱凌"
    # undated duplicates keep the shipped row (with its note)
    sz = out[(out["norm"] == "深圳") & (out["category"] == "place")].iloc[0]
    assert "深圳市" in sz["note"]
    with pytest.raises(ValueError, match="term"):
        L.public_terms(pd.DataFrame({"word": ["x"]}))


def test_loaders_return_copies():
    a = L.nice_groups()
    a.loc[0, "group_name"] = "changed"
    assert L.nice_groups().loc[0, "group_name"] != "changed"


# --------------------------------------------------------------------------- Nice / 类似群
def test_nice_tables():
    g = L.nice_groups()
    assert list(g.columns) == ["class", "group", "group_name"]
    assert g["class"].between(1, 45).all() and g["class"].nunique() == 45
    assert g["group"].str.fullmatch(r"\d{4}").all()
    assert (g["group"].str[:2].astype(int) == g["class"]).all()
    goods = L.nice_goods()
    assert {"goods_code", "goods_name_zh", "group", "class"} <= set(goods.columns)
    assert goods["group"].isin(g["group"]).all()
    assert L.class_of_group("0901") == 9
    with pytest.raises(ValueError, match="4-digit"):
        L.class_of_group("9999")


def test_goods_to_groups_on_hand_made_table(monkeypatch):
    table = pd.DataFrame(
        {
            "goods_code": ["010061", "090001", "350001"],
            "goods_name_zh": ["氨", "手机", "广告"],
            "group": ["0101", "0907", "3501"],
            "class": [1, 9, 35],
        }
    )
    monkeypatch.setattr(L, "_goods", lambda: table)
    L._goods_lookup.cache_clear()
    L._goods_lookup_any.cache_clear()
    try:
        text = pd.Series(
            ["氨；未知商品", "手机，广告", "手机、广告", "廣告", None], index=[10, 11, 12, 13, 14]
        )
        classes = pd.Series([1, "9;35", 9, "35", 9], index=[10, 11, 12, 13, 14])
        out = L.goods_to_groups(text, classes)
        assert out.index.tolist() == [10, 11, 12, 13, 14]
        assert out.tolist() == [["0101"], ["0907", "3501"], ["0907"], ["3501"], []]
        # without classes every class is searched
        assert L.goods_to_groups(pd.Series(["手机、广告"])).tolist() == [["0907", "3501"]]
    finally:
        L._goods_lookup.cache_clear()
        L._goods_lookup_any.cache_clear()


def test_goods_to_groups_real_table_keeps_bracketed_separators():
    out = L.goods_to_groups(pd.Series(["化学试剂(非医用、非兽医用)；氨"]), pd.Series([1]))
    assert out.iloc[0] == ["0101", "0106"]  # 化学试剂(非医用、非兽医用) is one item of group 0106


def test_group_relation():
    rel = L.group_relation(
        pd.Series(["0101", "0101", "0901", ""]), pd.Series(["0101", "0102", "0101", "0101"])
    )
    assert rel.tolist() == ["same_group", "same_class", "unrelated", "unrelated"]


# --------------------------------------------------------------------------- shipping
def test_shipped_files_within_budget():
    files = [p for p in L.DATA_DIR.iterdir() if p.is_file()]
    names = {p.name for p in files}
    assert {
        "cn_divisions.csv",
        "foreign_places.csv",
        "public_figures.csv",
        "events.csv",
        "generic_terms.csv",
        "nice_groups.csv",
        "nice_goods.csv",
        "NOTICE.md",
    } <= names
    assert sum(p.stat().st_size for p in files) < DATA_BUDGET_BYTES
    assert (REPO / "NOTICE").is_file()


def test_lexicons_work_without_shared_folder(tmp_path):
    """Copy the module + data into an isolated tree (no ../shared anywhere) and load everything."""
    pkg = tmp_path / "iso" / "features"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    shutil.copy(REPO / "features" / "lexicons.py", pkg / "lexicons.py")
    shutil.copytree(L.DATA_DIR, pkg / "data")
    code = (
        "import pandas as pd; from features import lexicons as L; t = L.public_terms(); "
        "assert len(t) > 5000; assert len(L.nice_goods()) > 10000; "
        "assert L.goods_to_groups(pd.Series(['氨']), pd.Series([1])).tolist() == [['0101']]; print('ok')"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path / "iso"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "ok" in res.stdout


@pytest.mark.skipif(not SHARED_REAL.is_dir(), reason="../shared/data/real not present (fresh clone)")
def test_build_script_reproduces_shipped_divisions():
    spec = importlib.util.spec_from_file_location("build_lexicons", REPO / "tools" / "build_lexicons.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rebuilt = mod.build_divisions(SHARED_REAL)
    shipped = L.cn_divisions()
    assert len(rebuilt) == len(shipped)
    assert rebuilt["name"].tolist() == shipped["name"].tolist()
    groups, goods = mod.build_nice(SHARED_REAL)
    assert len(groups) == len(L.nice_groups()) and len(goods) == len(L.nice_goods())
