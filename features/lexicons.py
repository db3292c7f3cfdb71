"""Public-resource lexicons and the Chinese Nice similar-group (类似群) table shipped with tmscreen.

The CSV files in ``features/data/`` are derived from public reference data by
``tools/build_lexicons.py`` (sources, licenses and filtering rules: ``features/data/NOTICE.md`` and
``docs/lexicons.md``). They are read once per process (``functools.lru_cache``); every loader returns
a fresh copy (cheap under pandas Copy-on-Write), so callers may modify what they get.

Public API
----------
- ``normalize(text)`` / ``normalize_series(s)``: the matching form used for ``norm`` columns
  (NFKC, lower-case, traditional -> simplified, whitespace removed).
- ``public_terms(extra=None)``: one table of place / person / event / generic terms (+ the dataset's
  ``reference/public_terms``), columns ``term, norm, category, date, lang, source, note, owner``.
- ``cn_divisions()``, ``foreign_places()``, ``public_figures()``, ``events()``, ``generic_terms()``:
  the individual lexicons as shipped.
- ``nice_groups()``, ``nice_goods()``, ``class_of_group(group)``, ``group_relation(a, b)``,
  ``goods_to_groups(goods_text, classes)``.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import zhconv

from core.tables import sorted_unique

DATA_DIR = Path(__file__).resolve().parent / "data"

TERM_CATEGORIES = ("place", "person", "event", "generic", "other")
PUBLIC_TERM_COLUMNS = ["term", "norm", "category", "date", "lang", "source", "note", "owner", "listed"]

_WS = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Separators between goods/services items; 、 is handled in a second pass (it also occurs inside item names).
_ITEM_SEP = r"[；;，,]"
_SUB_SEP = r"[、]"
_PAREN = r"[（(][^（()）]*[）)]"
_PROTECT = str.maketrans({"；": "\x01", ";": "\x02", "，": "\x03", ",": "\x04", "、": "\x05"})
_UNPROTECT = str.maketrans({"\x01": "；", "\x02": ";", "\x03": "，", "\x04": ",", "\x05": "、"})


# --------------------------------------------------------------------------- normalisation
@functools.lru_cache(maxsize=200_000)
def normalize(text: str) -> str:
    """Matching form of a term: NFKC, lower-case, traditional -> simplified Chinese, no whitespace."""
    if not isinstance(text, str):
        return ""
    s = unicodedata.normalize("NFKC", text).lower()
    if _CJK.search(s):
        s = zhconv.convert(s, "zh-cn")
    return _WS.sub("", s)


def normalize_series(s: pd.Series) -> pd.Series:
    """``normalize`` applied to a Series (computed once per distinct value)."""
    s = s.astype("str").fillna("")
    uniq = pd.unique(s)
    mapping = {u: normalize(u) for u in uniq}
    return s.map(mapping).astype("str")


# --------------------------------------------------------------------------- raw lexicons
def _read(name: str, **kw) -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / name, encoding="utf-8", keep_default_na=False, **kw)


# Industry and organisation words that follow the trade name (字号) in a Chinese company name
# (企业名称 = 行政区划 + 字号 + 行业 + 组织形式). Stripped from the end to find the trade name, so
# 旋福集团 / 旋福投资管理 / 旋福餐饮管理 share the trade name 旋福.
INDUSTRY_WORDS = (
    "集团", "控股", "实业", "发展", "投资", "管理", "咨询", "服务", "科技", "技术", "信息", "网络", "电子", "数码",
    "软件", "智能", "数据", "通信", "光电", "电器", "电气", "机械", "设备", "制造", "工业", "材料", "化工", "能源",
    "新能源", "环保", "建筑", "工程", "装饰", "建材", "家居", "家具", "房地产", "置业", "物业", "贸易", "商贸", "进出口",
    "国际", "供应链", "物流", "运输", "餐饮", "食品", "饮品", "酒业", "茶业", "农业", "生物", "医药", "医疗", "健康",
    "化妆品", "日化", "用品", "母婴", "服装", "服饰", "鞋业", "纺织", "皮具", "箱包", "文化", "传媒", "广告", "教育",
    "培训", "体育", "旅游", "酒店", "金融", "保险", "汽车", "电商", "商务", "营销", "品牌", "设计", "法律", "烟具",
    "五金", "玩具", "珠宝", "首饰", "礼品", "印刷", "包装", "企业", "商行", "工作室", "有限", "股份",
    "美容", "美发", "美业", "宠物", "乐器", "文具", "家纺", "眼镜", "钟表", "工艺品", "陶瓷", "塑料", "橡胶",
    "印务", "影视", "音乐", "游戏", "动漫", "农产品", "水产", "种业", "园林", "绿化", "花卉", "养老", "家政",
    "保洁", "安防", "消防", "照明", "灯饰", "制品", "器材", "仪器", "仪表", "电力", "矿业", "冶金", "钢铁",
    "金属", "黄金", "茶叶", "饮料", "乳业", "粮油", "调味品", "烘焙", "果业", "日用品", "百货", "超市",
    "药业", "药房", "诊所", "口腔", "电商", "电子商务", "汽车服务", "酒店管理", "健康管理", "生物科技", "商业",
    "经营部", "门市部", "分公司", "销售", "加工", "开发", "研究", "创意", "策划", "会展", "展览", "运营",
    "个人护理", "护理", "个护", "洗护", "日用", "美妆", "化工", "生活", "家电", "厨具", "卫浴",
)

@functools.cache
def glyph_table() -> pd.DataFrame:
    """(char, similar, score) graded glyph similarity of common Chinese characters (both directions;
    built by tools/build_glyph_table.py, sources in NOTICE and docs/similarity.md)."""
    g = _read("glyph_similar.csv", dtype={"char": "str", "similar": "str", "score": "float64"})
    both = pd.concat([g, g.rename(columns={"char": "similar", "similar": "char"})], ignore_index=True)
    return both.sort_values("score", ascending=False).drop_duplicates(["char", "similar"]).reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def _divisions() -> pd.DataFrame:
    return _read("cn_divisions.csv", dtype=str)


@functools.lru_cache(maxsize=1)
def _foreign() -> pd.DataFrame:
    return _read("foreign_places.csv", dtype=str)


@functools.lru_cache(maxsize=1)
def _figures() -> pd.DataFrame:
    df = _read("public_figures.csv", dtype={"term": str, "lang": str, "source": str, "fame": str})
    df["fame"] = pd.to_numeric(df["fame"], errors="coerce")
    return df


@functools.lru_cache(maxsize=1)
def _events() -> pd.DataFrame:
    df = _read("events.csv", dtype=str)
    df["date"] = pd.to_datetime(df["date"].replace("", None), format="%Y-%m-%d", errors="coerce")
    return df


@functools.lru_cache(maxsize=1)
def _generic() -> pd.DataFrame:
    return _read("generic_terms.csv", dtype=str)


@functools.lru_cache(maxsize=1)
def _groups() -> pd.DataFrame:
    df = _read("nice_groups.csv", dtype={"group": str, "group_name": str, "class": "int64"})
    return df[["class", "group", "group_name"]]


@functools.lru_cache(maxsize=1)
def _goods() -> pd.DataFrame:
    return _read(
        "nice_goods.csv", dtype={"goods_code": str, "goods_name_zh": str, "group": str, "class": "int64"}
    )


def cn_divisions() -> pd.DataFrame:
    """Chinese divisions, county level and above (+ HK/MO/TW): name, short, level, parent, code."""
    return _divisions().copy()


def foreign_places() -> pd.DataFrame:
    """Foreign countries, capitals and major cities: term, lang, kind (country/capital/city), country, source."""
    return _foreign().copy()


def public_figures() -> pd.DataFrame:
    """Famous people: term, lang (zh/en), source, fame (THUOCL document frequency or Pantheon HPI)."""
    return _figures().copy()


def events() -> pd.DataFrame:
    """Curated dated events/people: term, date (datetime64, NaT if not pinned), category, note, source."""
    return _events().copy()


def generic_terms() -> pd.DataFrame:
    """Curated generic / industry terms: term, lang, category (= generic), source."""
    return _generic().copy()


# --------------------------------------------------------------------------- public_terms
def _lang_of(terms: pd.Series) -> pd.Series:
    return terms.str.contains(_CJK.pattern, regex=True).map({True: "zh", False: "en"}).astype("str")


@functools.lru_cache(maxsize=1)
def _shipped_terms() -> pd.DataFrame:
    div = _divisions()
    level_note = div["level"] + (" in " + div["parent"]).where(div["parent"] != "", "")
    full = pd.DataFrame(
        {
            "term": div["name"],
            "category": "place",
            "lang": "zh",
            "source": "cn-admin-divisions-modood",
            "note": level_note,
        }
    )
    has_short = div["short"] != ""
    short = pd.DataFrame(
        {
            "term": div.loc[has_short, "short"],
            "category": "place",
            "lang": "zh",
            "source": "cn-admin-divisions-modood",
            "note": "short of " + div.loc[has_short, "name"] + " (" + div.loc[has_short, "level"] + ")",
        }
    )
    fp = _foreign()
    foreign = pd.DataFrame(
        {
            "term": fp["term"],
            "category": "place",
            "lang": fp["lang"],
            "source": fp["source"],
            "note": "foreign " + fp["kind"] + " (" + fp["country"] + ")",
        }
    )
    fig = _figures()
    people = pd.DataFrame(
        {
            "term": fig["term"],
            "category": "person",
            "lang": fig["lang"],
            "source": fig["source"],
            "note": "fame=" + fig["fame"].round(3).astype("str"),
        }
    )
    ev = _events()
    evs = pd.DataFrame(
        {
            "term": ev["term"],
            "category": ev["category"],
            "date": ev["date"],
            "lang": _lang_of(ev["term"]),
            "source": ev["source"],
            "note": ev["note"],
        }
    )
    gen = _generic()
    generic = pd.DataFrame(
        {"term": gen["term"], "category": "generic", "lang": gen["lang"], "source": gen["source"], "note": ""}
    )
    # an event's holder (the organiser of a mascot, the maker of a product) where the sources name one
    evs["owner"] = ev["owner"] if "owner" in ev.columns else ""
    out = pd.concat([evs, full, short, foreign, people, generic], ignore_index=True)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    out["norm"] = normalize_series(out["term"])
    out["owner"] = out["owner"].fillna("").astype("str")
    out["_extra"] = False
    return out


def _prepare_extra(extra: pd.DataFrame) -> pd.DataFrame:
    missing = {"term", "category"} - set(extra.columns)
    if missing:
        raise ValueError(
            f"public_terms(extra=...): extra must have columns 'term' and 'category' (optional 'date', 'lang', "
            f"'source', 'note'); missing {sorted(missing)}, received columns {list(extra.columns)}"
        )
    term = extra["term"].astype("str").str.strip()
    cat = extra["category"].astype("str").str.strip().str.lower()
    cat = cat.where(cat.isin(TERM_CATEGORIES), "other")
    date = (
        pd.to_datetime(extra["date"], errors="coerce", format="mixed")
        if "date" in extra.columns
        else pd.Series(pd.NaT, index=extra.index, dtype="datetime64[ns]")
    )
    lang = extra["lang"].astype("str") if "lang" in extra.columns else _lang_of(term)
    source = (
        extra["source"].astype("str")
        if "source" in extra.columns
        else pd.Series("dataset reference/public_terms", index=extra.index)
    )
    note = extra["note"].astype("str") if "note" in extra.columns else pd.Series("", index=extra.index)
    owner = extra["owner"].fillna("").astype("str") if "owner" in extra.columns else pd.Series("", index=extra.index)
    out = pd.DataFrame(
        {"term": term, "category": cat, "date": date, "lang": lang, "source": source, "note": note, "owner": owner}
    )
    out = out[out["term"].notna() & (out["term"] != "")]
    out["date"] = out["date"].astype("datetime64[ns]")
    out["norm"] = normalize_series(out["term"])
    out["_extra"] = True
    return out.reset_index(drop=True)


def public_terms(extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """All public-resource terms, one row per (norm, category).

    Columns: term, norm, category (place/person/event/generic/other), date (datetime64[ns], NaT unless
    the term is dated), lang (zh/en), source, note, owner (who may file it: the person, the organiser, an
    authorised company; names joined by ';'), listed (the row comes from ``extra``). ``extra`` is the dataset's ``reference/public_terms``
    table (columns term, category, optional date/lang/source/note); unknown categories become "other".
    On duplicates the earliest dated row wins (fame is a period that its earliest evidence starts;
    on the same date the dataset's row); among undated rows the shipped row (with its richer note)
    wins; otherwise the shipped order (events, Chinese places, foreign places, people, generic terms).
    The owners of all duplicates are kept.
    """
    frames = [_shipped_terms()]
    if extra is not None and len(extra):
        frames.append(_prepare_extra(extra))
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].copy()
    out = out[out["norm"] != ""]
    nodate = out["date"].isna()
    is_extra = out["_extra"].astype(bool)
    # Fame is a period: the earliest dated evidence of a term starts it. The owners of every row count.
    order = pd.DataFrame({"nodate": nodate, "date": out["date"], "rank": is_extra == nodate}, index=out.index)
    owners = out["owner"].fillna("").astype("str").groupby([out["norm"], out["category"]]).agg(
        lambda o: ";".join(sorted({n.strip() for v in o for n in v.split(";") if n.strip()})))
    # listed by the operator: any row of the term from the dataset, whichever row is kept
    out["_extra"] = out["_extra"].astype(bool).groupby([out["norm"], out["category"]]).transform("any")
    out = out.loc[order.sort_values(["nodate", "date", "rank"], kind="stable").index]
    out = out.drop_duplicates(["norm", "category"], keep="first").sort_index()
    out["owner"] = owners.reindex(pd.MultiIndex.from_frame(out[["norm", "category"]])).to_numpy()
    for col in ("term", "norm", "category", "lang", "source", "note", "owner"):
        out[col] = out[col].astype("str").fillna("")
    out["listed"] = out["_extra"].astype(bool)
    return out[PUBLIC_TERM_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- Nice / 类似群
def nice_groups() -> pd.DataFrame:
    """The 类似群 table: class (int 1-45), group (4-digit string, e.g. "0101"), group_name."""
    return _groups().copy()


def nice_goods() -> pd.DataFrame:
    """Goods/services items: goods_code, goods_name_zh, group (4-digit string), class (int)."""
    return _goods().copy()


def class_of_group(group: str | int) -> int:
    """Nice class of a 类似群 code: the first two digits ("0901" -> 9)."""
    g = str(group).strip().zfill(4)
    if not re.fullmatch(r"\d{4}", g) or not 1 <= int(g[:2]) <= 45:
        raise ValueError(
            f"class_of_group: group must be a 4-digit 类似群 code with class 01-45; received {group!r}"
        )
    return int(g[:2])


def group_relation(a: pd.Series, b: pd.Series) -> pd.Series:
    """Relation of two 类似群 codes, element-wise: "same_group", "same_class" or "unrelated".

    Same group = related (the CNIPA table treats goods in one group as similar); same class but
    different group = weakly related; different class = unrelated. Empty/missing codes are "unrelated".
    """
    a = a.astype("str").fillna("").str.strip().str.zfill(4)
    b = b.astype("str").fillna("").str.strip().str.zfill(4)
    valid = a.str.fullmatch(r"\d{4}") & b.str.fullmatch(r"\d{4}") & (a != "0000") & (b != "0000")
    rel = pd.Series("unrelated", index=a.index, dtype="str")
    rel = rel.mask(valid & (a.str[:2] == b.str[:2]), "same_class")
    rel = rel.mask(valid & (a == b), "same_group")
    return rel


@functools.lru_cache(maxsize=1)
def _goods_lookup() -> pd.Series:
    """Series indexed by "class|normalised item name" -> tuple of group codes."""
    g = _goods()
    key = g["class"].astype("str") + "|" + normalize_series(g["goods_name_zh"])
    return g.assign(key=key).groupby("key", sort=True)["group"].agg(lambda s: tuple(sorted(set(s))))


@functools.lru_cache(maxsize=1)
def _goods_lookup_any() -> pd.Series:
    g = _goods()
    key = normalize_series(g["goods_name_zh"])
    return g.assign(key=key).groupby("key", sort=True)["group"].agg(lambda s: tuple(sorted(set(s))))


def _split_items(text: pd.Series, sep: str) -> pd.Series:
    protected = text.str.replace(_PAREN, lambda m: m.group(0).translate(_PROTECT), regex=True)
    items = protected.str.split(sep, regex=True).explode()
    items = items.astype("str").fillna("").str.translate(_UNPROTECT).str.strip()
    return items[items != ""]


def _match(items: pd.DataFrame, cls_rows: pd.DataFrame | None) -> pd.DataFrame:
    """items: columns i, row, norm; cls_rows: columns row, cls (or None = any class) -> matched rows + groups."""
    if cls_rows is None:
        m = items.assign(groups=items["norm"].map(_goods_lookup_any()))
    else:
        m = items.merge(cls_rows, on="row", how="inner")
        m["groups"] = (m["cls"] + "|" + m["norm"]).map(_goods_lookup())
    return m[m["groups"].notna()][["i", "row", "groups"]]


def _item_frame(text: pd.Series, sep: str) -> pd.DataFrame:
    items = _split_items(text, sep)
    return pd.DataFrame(
        {
            "i": range(len(items)),
            "row": items.index.to_numpy(),
            "raw": items.to_numpy(),
            "norm": normalize_series(items).to_numpy(),
        }
    )


def goods_to_groups(goods_text: pd.Series, classes: pd.Series | None = None) -> pd.Series:
    """Map free goods/services text to 类似群 codes by exact item-name match within the given classes.

    goods_text: one string per row; items separated by ；;，, (an item not found as a whole is split
        again on 、 — separators inside brackets are kept, e.g. "化学试剂(非医用、非兽医用)").
    classes: the Nice class(es) of each row, aligned with goods_text: an int, "9", "09" or several
        joined by ";"/"," ("9;35"). None = match in any class.
    Returns a Series (same index) of sorted lists of unique group codes; unknown items map to nothing
    (a row with no known item gets []). Matching uses ``normalize`` on both sides.
    """
    if classes is not None and len(classes) != len(goods_text):
        raise ValueError(
            f"goods_to_groups: classes must be aligned with goods_text (length {len(goods_text)}); "
            f"received length {len(classes)}"
        )
    # work on distinct (text, classes) pairs only: filings often repeat the same goods list
    raw_text = pd.Series(goods_text.to_numpy()).astype("str").fillna("")
    raw_cls = pd.Series(classes.to_numpy()).astype("str").fillna("") if classes is not None else None
    codes, uniq = pd.factorize(raw_text if raw_cls is None else raw_text + "\x00" + raw_cls)
    first = (
        pd.Series(range(len(codes))).groupby(codes).first() if len(codes) else pd.Series([], dtype="int64")
    )
    pos = pd.RangeIndex(len(uniq))
    text = pd.Series(raw_text.to_numpy()[first.to_numpy()], index=pos, dtype="str")
    cls_rows = None
    if raw_cls is not None:
        c = pd.Series(raw_cls.to_numpy()[first.to_numpy()], index=pos, dtype="str")
        c = pd.to_numeric(c.str.split(r"[;；,，\s]+", regex=True).explode(), errors="coerce")
        c = c[(c >= 1) & (c <= 45)].astype("int64")
        cls_rows = pd.DataFrame(
            {"row": c.index.to_numpy(), "cls": c.astype("str").to_numpy()}
        ).drop_duplicates()
    items = _item_frame(text, _ITEM_SEP)
    hits = _match(items, cls_rows)
    rest = items[~items["i"].isin(hits["i"])]
    if len(rest):
        sub = _item_frame(pd.Series(rest["raw"].to_numpy(), index=rest["row"].to_numpy()), _SUB_SEP)
        hits = pd.concat([hits, _match(sub, cls_rows)], ignore_index=True)
    per_pair = _sorted_unique_lists(hits, len(pos))
    # independent list objects per row (callers may mutate them)
    return pd.Series([list(per_pair[c]) for c in codes], index=goods_text.index, dtype="object")


def _sorted_unique_lists(hits: pd.DataFrame, n: int) -> list:
    """Per row 0..n-1 of ``hits`` (columns row, groups: a tuple of codes per matched item), the
    sorted distinct codes as a tuple — integer sorts instead of a Python aggregation per row."""
    out = [()] * n
    if not len(hits):
        return out
    e = hits[["row", "groups"]].explode("groups").dropna()
    g_code, g_names = pd.factorize(e["groups"].astype("str"), sort=True)
    rows = e["row"].to_numpy(dtype=np.int64)
    key = sorted_unique(rows * (len(g_names) + 1) + g_code)  # sorted by row, then group; duplicates gone
    rows, g_code = key // (len(g_names) + 1), key % (len(g_names) + 1)
    names = np.asarray(g_names, dtype=object)
    starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
    for r, chunk in zip(rows[starts], np.split(names[g_code], starts[1:]), strict=True):
        out[r] = tuple(chunk.tolist())
    return out


def similar_groups_of(apps: pd.DataFrame) -> pd.Series:
    """类似群 groups of each application's goods (a list per row, aligned with ``apps``).

    Uses the ``similar_groups`` column when the pipeline has already computed it once for all
    builders (pipeline.score.compute does), else maps ``goods_services`` within ``nice_classes``."""
    if "similar_groups" in apps.columns:
        return apps["similar_groups"]
    if "goods_services" not in apps.columns:
        return pd.Series([[] for _ in range(len(apps))], index=apps.index, dtype="object")
    return goods_to_groups(apps["goods_services"].fillna("").astype("str"), apps["nice_classes"])


def group_rows(groups: pd.Series) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
    """One row per (filing, 类似群 group) of a Series of group lists, as ``explode`` would give:
    (position of the filing in ``groups``, group codes as a str array). Without a Python object per
    pair — an explode of a million lists took seconds."""
    n = np.fromiter(map(len, groups), dtype="int64", count=len(groups))
    codes = pd.array(pa.array(itertools.chain.from_iterable(groups), type=pa.string()), dtype="str")
    return np.repeat(np.arange(len(groups)), n), codes

