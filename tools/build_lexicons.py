"""Regenerate the shipped public-resource lexicons in ``features/data/`` from the real reference data.

Usage (from the repo root)::

    .venv/bin/python tools/build_lexicons.py [SOURCE_DIR]

``SOURCE_DIR`` defaults to ``../shared/data/real`` relative to the repo root; it must contain the
folders named below (each with a PROVENANCE.md). The script is deterministic and rerunnable: it
overwrites only the seven CSV files listed below (other files in ``features/data/``, e.g. the
text-similarity tables and NOTICE.md, are not touched).

Outputs (UTF-8 CSV):

=====================  ===============================================================  =====================
file                   derived from                                                      columns
=====================  ===============================================================  =====================
cn_divisions.csv       cn-admin-divisions-modood (provinces/cities/areas + HK-MO-TW)    name, short, level, parent, code
foreign_places.csv     cn-world-location-jionlp, country-codes-datahub,                 term, lang, kind, country, source
                       world-cities-geonames (verification of English city names)
public_figures.csv     cn-lexicon-thuocl (历史名人), famous-people-pantheon               term, lang, source, fame
events.csv             curated in this file (EVENTS)                                     term, date, category, note, source
generic_terms.csv      curated in this file (GENERIC_TERMS)                              term, lang, category, source
nice_groups.csv        cn-nice-classification-xovel                                      class, group, group_name
nice_goods.csv         cn-nice-classification-xovel                                      goods_code, goods_name_zh, group, class
=====================  ===============================================================  =====================

Filtering rules are documented next to each step and in docs/lexicons.md.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "features" / "data"
DEFAULT_SRC = REPO.parent / "shared" / "data" / "real"

# ---------------------------------------------------------------------------------------------
# 1. Chinese administrative divisions
# ---------------------------------------------------------------------------------------------
# Placeholder "cities" of the NBS code table (not real names).
CITY_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
# The 55 minority nationalities (without 族), longest first when stripping autonomous-area names.
ETHNIC = sorted(
    (
        "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 "
        "景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 "
        "保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 各"
    ).split(),
    key=len,
    reverse=True,
)
AUTONOMOUS_SUFFIXES = ("自治区", "自治州", "自治县", "自治旗")
# Level suffixes, longest first. 镇/乡 only occur in the Taiwan list (county-level there).
LEVEL_SUFFIXES = (
    "特别行政区",
    "管理区",
    "地区",
    "林区",
    "特区",
    "矿区",
    "新区",
    "省",
    "市",
    "区",
    "县",
    "旗",
    "盟",
    "镇",
    "乡",
)
# County-level shorts that are positional/administrative words or everyday words shared by several
# districts; they would match ordinary vocabulary, so only the full name is kept for them.
GENERIC_COUNTY_SHORTS = {
    "城区",
    "郊区",
    "新区",
    "市辖",
    "矿区",
    "市中",
    "城关",
    "城中",
    "城东",
    "城西",
    "城南",
    "城北",
    "东城",
    "西城",
    "新城",
    "老城",
    "中区",
    "东区",
    "西区",
    "南区",
    "北区",
    "中西",
    "桥东",
    "桥西",
    "河东",
    "河西",
    "铁东",
    "铁西",
    "新市",
    "新华",
    "和平",
    "向阳",
    "友好",
    "红旗",
    "平安",
    "光明",
    "前进",
    "胜利",
    "滨海",
    "高新",
    "开发",
    "中山",
    "中正",
    "信义",
    "仁爱",
    "大同",
    "太平",
    "新兴",
    "永安",
    "安定",
    "复兴",
    "成功",
    "光复",
    "长治",
    "新社",
    "清水",
}


def short_name(name: str) -> str:
    """Strip the level suffix (and ethnic qualifiers of autonomous areas); '' if nothing meaningful remains."""
    s = re.sub(r"[（(].*?[）)]", "", name).strip()
    auto = next((suf for suf in AUTONOMOUS_SUFFIXES if s.endswith(suf)), None)
    if auto:
        s = s[: -len(auto)]
        changed = True
        while changed:
            changed = False
            for eth in ETHNIC:
                for tail in (eth + "族", eth if len(eth) >= 2 else None):
                    if tail and s.endswith(tail) and len(s) - len(tail) >= 2:
                        s = s[: -len(tail)]
                        changed = True
                        break
                if changed:
                    break
        if s.endswith("族") and len(s) >= 3:  # 鄂温克族自治旗 -> 鄂温克
            s = s[:-1]
        return s
    for suf in LEVEL_SUFFIXES:
        if s.endswith(suf) and len(s) > len(suf):
            return s[: -len(suf)]
    return s


def build_divisions(src: Path) -> pd.DataFrame:
    d = src / "cn-admin-divisions-modood"
    prov = pd.read_csv(d / "provinces.csv", dtype=str)
    city = pd.read_csv(d / "cities.csv", dtype=str)
    area = pd.read_csv(d / "areas.csv", dtype=str)
    pname = dict(zip(prov["code"], prov["name"], strict=True))
    cname = dict(zip(city["code"], city["name"], strict=True))
    rows: list[dict] = []
    for r in prov.itertuples():
        rows.append({"name": r.name, "level": "province", "parent": "", "code": r.code})
    for r in city.itertuples():
        if r.name in CITY_PLACEHOLDERS:
            continue
        rows.append({"name": r.name, "level": "city", "parent": pname[r.provinceCode], "code": r.code})
    # NBS codes whose 5th digit is 7 (xxxx7x) are statistical functional zones (开发区, 管理区, 新区 of a
    # city …), not administrative divisions: dropped.
    area = area[area["code"].str[4] != "7"]
    for r in area.itertuples():
        parent = cname.get(r.cityCode, "")
        if parent in CITY_PLACEHOLDERS or not parent:
            parent = pname[r.provinceCode]
        rows.append({"name": r.name, "level": "county", "parent": parent, "code": r.code})
    hmt = json.loads((d / "HK-MO-TW.json").read_text(encoding="utf-8"))
    for prov_name, regions in hmt.items():
        rows.append({"name": prov_name, "level": "province", "parent": "", "code": ""})
        for region, districts in regions.items():
            rows.append({"name": region, "level": "city", "parent": prov_name, "code": ""})
            for dist in districts:
                clean = re.sub(r"[（(].*?[）)]", "", dist).strip()
                rows.append({"name": clean, "level": "county", "parent": region, "code": ""})
    df = pd.DataFrame(rows)
    shorts = []
    for name, level in zip(df["name"], df["level"], strict=True):
        s = short_name(name)
        if len(s) < 2 or (level == "county" and s in GENERIC_COUNTY_SHORTS):
            s = ""
        shorts.append(s)
    df["short"] = shorts
    df = df.drop_duplicates(["name", "level", "parent"])
    return df[["name", "short", "level", "parent", "code"]]


# ---------------------------------------------------------------------------------------------
# 2. Foreign places
# ---------------------------------------------------------------------------------------------
NOT_FOREIGN = {"CN", "HK", "MO", "TW"}
# English names for the "major cities" of jionlp's world_location.txt (country short name -> {zh: en}).
# Each English name is kept only if GeoNames (world-cities-geonames) lists it (or an alternative
# spelling given after "|") in that country.
JIONLP_CITY_EN = {
    "韩国": {
        "釜山": "Busan",
        "大邱": "Daegu",
        "仁川": "Incheon",
        "光州": "Gwangju",
        "济州岛": "Jeju|Jeju City",
    },
    "日本": {
        "大阪": "Osaka",
        "京都": "Kyoto",
        "横滨": "Yokohama",
        "神户": "Kobe",
        "福冈": "Fukuoka",
        "札幌": "Sapporo",
        "仙台": "Sendai",
        "广岛": "Hiroshima",
        "冲绳": "Okinawa",
    },
    "越南": {"胡志明市": "Ho Chi Minh City"},
    "泰国": {"清迈": "Chiang Mai", "清莱": "Chiang Rai", "普吉岛": "Phuket", "芭提雅": "Pattaya"},
    "印度": {
        "孟买": "Mumbai",
        "加尔各答": "Kolkata",
        "金奈": "Chennai",
        "班加罗尔": "Bengaluru",
        "海得拉巴": "Hyderabad",
        "昌迪加尔": "Chandigarh",
    },
    "巴基斯坦": {"卡拉奇": "Karachi", "拉合尔": "Lahore"},
    "阿联酋": {"迪拜": "Dubai"},
    "土耳其": {"伊斯坦布尔": "Istanbul"},
    "哈萨克斯坦": {"阿拉木图": "Almaty"},
    "俄罗斯": {
        "圣彼得堡": "Saint Petersburg",
        "符拉迪沃斯托克": "Vladivostok",
        "叶卡捷琳堡": "Yekaterinburg",
        "下诺夫哥罗德": "Nizhniy Novgorod",
        "加里宁格勒": "Kaliningrad",
    },
    "德国": {
        "法兰克福": "Frankfurt|Frankfurt am Main",
        "慕尼黑": "Munich",
        "汉堡": "Hamburg",
        "科隆": "Cologne|Köln",
        "斯图加特": "Stuttgart",
    },
    "瑞士": {"苏黎世": "Zurich|Zürich", "日内瓦": "Geneva"},
    "荷兰": {"鹿特丹": "Rotterdam"},
    "英国": {
        "曼彻斯特": "Manchester",
        "爱丁堡": "Edinburgh",
        "伯明翰": "Birmingham",
        "利兹": "Leeds",
        "格拉斯哥": "Glasgow",
        "谢菲尔德": "Sheffield",
        "利物浦": "Liverpool",
        "布里斯托尔": "Bristol",
    },
    "法国": {"马赛": "Marseille", "里昂": "Lyon", "图卢兹": "Toulouse", "斯特拉斯堡": "Strasbourg"},
    "西班牙": {
        "巴塞罗那": "Barcelona",
        "巴伦西亚": "Valencia",
        "塞维利亚": "Seville|Sevilla",
        "马拉加": "Malaga|Málaga",
        "毕尔巴鄂": "Bilbao",
        "萨拉戈萨": "Zaragoza",
    },
    "意大利": {
        "米兰": "Milan",
        "佛罗伦萨": "Florence",
        "都灵": "Turin",
        "那不勒斯": "Naples",
        "巴勒莫": "Palermo",
        "热那亚": "Genoa",
        "威尼斯": "Venice",
    },
    "埃及": {
        "亚历山大": "Alexandria",
        "伊斯梅利亚": "Ismailia",
        "塞得港": "Port Said",
        "沙姆沙伊赫": "Sharm el-Sheikh",
        "卢克索": "Luxor",
        "阿斯旺": "Aswan",
    },
    "摩洛哥": {"卡萨布兰卡": "Casablanca"},
    "南非": {"开普敦": "Cape Town", "约翰内斯堡": "Johannesburg", "德班": "Durban"},
    "澳大利亚": {"悉尼": "Sydney", "墨尔本": "Melbourne", "布里斯班": "Brisbane", "珀斯": "Perth"},
    "新西兰": {"奥克兰": "Auckland"},
    "加拿大": {"温哥华": "Vancouver", "多伦多": "Toronto", "蒙特利尔": "Montreal|Montréal"},
    "美国": {
        "纽约": "New York|New York City",
        "芝加哥": "Chicago",
        "底特律": "Detroit",
        "洛杉矶": "Los Angeles",
        "旧金山": "San Francisco",
        "休斯顿": "Houston",
        "费城": "Philadelphia",
        "西雅图": "Seattle",
        "波士顿": "Boston",
        "匹兹堡": "Pittsburgh",
        "盐湖城": "Salt Lake City",
        "亚特兰大": "Atlanta",
    },
    "巴西": {"圣保罗": "Sao Paulo|São Paulo", "里约热内卢": "Rio de Janeiro", "累西腓": "Recife"},
    "阿根廷": {"乌斯怀亚": "Ushuaia"},
}
# jionlp short name -> ISO alpha-2 where the Chinese names differ between the two sources.
ZH_ALIAS_ISO = {
    "沙特": "SA",
    "阿联酋": "AE",
    "英国": "GB",
    "美国": "US",
    "俄罗斯": "RU",
    "韩国": "KR",
    "朝鲜": "KP",
    "老挝": "LA",
    "伊朗": "IR",
    "叙利亚": "SY",
    "坦桑尼亚": "TZ",
    "委内瑞拉": "VE",
    "玻利维亚": "BO",
    "文莱": "BN",
    "摩尔多瓦": "MD",
    "刚果(金)": "CD",
    "刚果(布)": "CG",
    "中非": "CF",
    "波黑": "BA",
    "马其顿": "MK",
    "密克罗尼西亚": "FM",
    "梵蒂冈": "VA",
    "巴勒斯坦": "PS",
    "塞拉里昂": "SL",
    "多米尼克国": "DM",
    "荷兰": "NL",
    "科特迪瓦": "CI",
    "土耳其": "TR",
    "蒙古": "MN",
}


# Common English country names missing from the country-codes columns used (CLDR gives "US"/"UK").
EN_COUNTRY_ALIASES = {
    "US": ["United States", "USA", "America"],
    "GB": ["United Kingdom", "Britain", "Great Britain", "England", "Scotland", "Wales"],
    "KR": ["Korea", "South Korea"],
    "KP": ["North Korea"],
    "TR": ["Turkey"],
    "RU": ["Russia"],
    "VN": ["Vietnam"],
    "CZ": ["Czech Republic"],
    "NL": ["Holland"],
    "CI": ["Ivory Coast"],
}


def _clean_en(s: str) -> str:
    s = str(s or "").replace("*", "").strip()
    s = re.sub(
        r"\s*\((the|Plurinational State of|Islamic Republic of|Bolivarian Republic of|Federated States of)\)",
        "",
        s,
    )
    return re.sub(r"\s+", " ", s).strip()


def build_foreign(src: Path) -> pd.DataFrame:
    cc = pd.read_csv(src / "country-codes-datahub" / "country-codes.csv", dtype=str, keep_default_na=False)
    cc = cc[(cc["ISO3166-1-Alpha-2"] != "") & ~cc["ISO3166-1-Alpha-2"].isin(NOT_FOREIGN)]
    cc_src = "country-codes-datahub"
    rows: list[dict] = []
    zh_to_iso: dict[str, str] = {}
    iso_en: dict[str, str] = {}
    for r in cc.to_dict("records"):
        iso = r["ISO3166-1-Alpha-2"]
        en_names = dict.fromkeys(
            [
                _clean_en(r["CLDR display name"]),
                _clean_en(r["UNTERM English Short"]),
                _clean_en(r["official_name_en"]),
            ]
        )
        iso_en[iso] = _clean_en(r["CLDR display name"]) or _clean_en(r["official_name_en"])
        for en in en_names:
            # 2-letter names (US, UK) collide with ordinary words ("us") once lower-cased: skipped.
            if len(en) >= 3:
                rows.append({"term": en, "lang": "en", "kind": "country", "country": iso, "source": cc_src})
        for col in ("UNTERM Chinese Short", "official_name_cn", "UNTERM Chinese Formal"):
            zh = _clean_en(r[col]).replace(" ", "")
            if len(zh) >= 2:
                rows.append({"term": zh, "lang": "zh", "kind": "country", "country": iso, "source": cc_src})
                zh_to_iso.setdefault(zh, iso)
        for alias in EN_COUNTRY_ALIASES.get(iso, []):
            rows.append(
                {
                    "term": alias,
                    "lang": "en",
                    "kind": "country",
                    "country": iso,
                    "source": cc_src + " (alias)",
                }
            )
        cap = _clean_en(r["Capital"])
        if len(cap) >= 3:
            rows.append({"term": cap, "lang": "en", "kind": "capital", "country": iso, "source": cc_src})
    # jionlp: short name, official name, capital, major cities (Chinese)
    geo = pd.read_csv(src / "world-cities-geonames" / "world-cities.csv", dtype=str, keep_default_na=False)
    geo_set = {(n.casefold(), c) for n, c in zip(geo["name"], geo["country"], strict=True)}
    geo_id = {
        (n.casefold(), c): g for n, c, g in zip(geo["name"], geo["country"], geo["geonameid"], strict=True)
    }
    geo_country_alias = {
        "KR": "Korea, Republic of",
        "VN": "Viet Nam",
        "RU": "Russian Federation",
        "TR": "Türkiye",
        "GB": "United Kingdom",
        "US": "United States",
    }
    jl_src = "cn-world-location-jionlp"
    text = (src / "cn-world-location-jionlp" / "world_location.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) < 3 or parts[0] == "中国":
            continue
        short, full, capital = parts[0], parts[1], parts[2]
        iso = ZH_ALIAS_ISO.get(short) or zh_to_iso.get(short) or zh_to_iso.get(full) or short
        for t in dict.fromkeys([short, full]):
            if len(t) >= 2:
                rows.append({"term": t, "lang": "zh", "kind": "country", "country": iso, "source": jl_src})
        if len(capital) >= 2:
            rows.append({"term": capital, "lang": "zh", "kind": "capital", "country": iso, "source": jl_src})
        cities = [c for c in parts[3].split("/") if c] if len(parts) > 3 else []
        en_map = JIONLP_CITY_EN.get(short, {})
        geo_country = geo_country_alias.get(iso, iso_en.get(iso, ""))
        for c in dict.fromkeys(cities):
            if len(c) >= 2:
                rows.append({"term": c, "lang": "zh", "kind": "city", "country": iso, "source": jl_src})
            if c in en_map:
                alts = en_map[c].split("|")
                hit = next(
                    (a for a in alts if any((a.casefold(), gc) in geo_set for gc in (geo_country,) if gc)),
                    None,
                )
                if hit is None:  # GeoNames spells some country names differently: match on city name alone
                    hit = next((a for a in alts if any(k[0] == a.casefold() for k in geo_set)), None)
                if hit is not None:
                    gid = geo_id.get((hit.casefold(), geo_country), "")
                    for a in dict.fromkeys([alts[0], hit]):
                        rows.append(
                            {
                                "term": a,
                                "lang": "en",
                                "kind": "city",
                                "country": iso,
                                "source": f"{jl_src}+world-cities-geonames"
                                + (f" geonameid={gid}" if gid else ""),
                            }
                        )
    df = pd.DataFrame(rows)
    df["term"] = df["term"].str.strip()
    df = df.drop_duplicates(["term", "lang", "kind"], keep="first")
    return df[["term", "lang", "kind", "country", "source"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# 3. Public figures
# ---------------------------------------------------------------------------------------------
THUOCL_MIN_DF = 300  # THUOCL 历史名人 entries with document frequency >= this are kept
THUOCL_KEEP_COMMON_DF = 5000  # a "very common name" (see below) is kept only above this DF
PANTHEON_TOP = 3000  # Pantheon: top N by HPI
COMMON_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
COMMON_GIVEN = set(
    "伟磊强斌刚勇明静军敏涛辉杰亮华芳宁鹏毅莉超平林波兵欣颖楠丹琳宇阳健旭震峰浩俊婷娜雪燕红霞艳玲萍"
)
# THUOCL entries that are ordinary words / places / units / era names, or bare foreign given names or
# surnames (约翰, 威廉 …) that identify no one in particular.
THUOCL_STOP = set(
    """孙子 陆军 元和 田间 高昂 汪洋 罗马 诺贝尔 奥斯卡 福布斯 苏醒 杜鹃 杨柳 舒畅 文静 高远 樱桃 许昌 大路 麦田 苗圃 陶冶
    经纬 武威 圣保罗 张掖 海宁 金龙 高桥 向县 公明 格林 永乐 濮阳 阿波罗 建安 丹阳 高飞 白洁 白杨 凌云 方方 高升 陶然
    尚书 南安 白石 富平 长文 越中 行一 甘露 车正 高邮 兴安 梅子 谷雨 海阳 洪波 愚公 永昌 宁平 元朗 高阳 小新 元让 春树
    建公 吴说 张狂 小春 淮阴 天正 林野 小天 御史 平常在 安陆 张画 阿宝 萧萧 瑞穗 贵妃 成乐 建宁 阳城 小燕 金波 阿里郎
    正南 埃米尔 伊夫 从公 浮世 小爱 西晋 安国 周公 越王 成德 夷陵 成荫 康康 长平 练舞 杏子 高祖 元明 建康 昙华 武德
    庆元 彭泽 金井 左传 空海 那多 德尔 波尔 耿直 张扬 罗兰 劳拉 海伦 罗生门 奥德赛 潘多拉 蒙娜丽莎 伏特 瓦特 华生
    培根 管子 老子 婷婷 杨帆 江华 大禹 吴山 唐宁 黄安 兰陵 秣陵 孙河 富春 彭城 江州 新阳 高岗 博望 建兴 楼村 黎阳 南郡
    约翰 威廉 乔治 罗伯特 迈克尔 米歇尔 马克 詹姆斯 亚历山大 戴维 保罗 马丁 布朗 彼得 大卫 托马斯 爱德华 弗拉基米尔
    理查德 谢尔盖 菲利普 约翰逊 史密斯 安德鲁 约瑟夫 丹尼尔 艾伦 尼古拉 亨利 安东尼 汤姆 米勒 托尼 史蒂夫 哈里
    弗朗索瓦 斯蒂芬 安德烈 路易斯 安妮 丹尼斯 卡恩 卡洛斯 凯文 曼苏尔 弗兰克 泰勒 赛义德 何塞 巴拉克 皮埃尔 哈利
    沃伦 威廉姆斯 劳伦斯 吉米 马修 胡安 玛格丽特 欧文 安迪 罗杰 布莱恩 怀特 加西亚 马伦 罗纳德 马里奥 拉塞尔 纳尔逊
    谢赫 巴特尔 克里斯蒂 加里 蒙蒂 道格拉斯 本杰明 奥斯曼 弗朗西斯 特里 本雅明 邓肯 克劳斯 希尔 莫里斯 奥斯汀 亨特
    马歇尔 马可 穆勒 阿兰 洛朗 路德 米切尔 罗曼 奥列格 肯尼 布莱克 亚当斯 奥利弗 格兰特 墨菲 卡米拉 布鲁诺 霍夫曼
    爱德华兹 马林 沃森 格雷 贝恩 凯莉 皮尔斯 文森 西尔维奥 贝尔纳 施耐德 弗里德曼 辛普森 桑切斯 贾斯汀 丽贝卡
    卢卡斯 安琪 伍兹 哈里森 戴夫 哈罗德 哈特 莱特 瓦尔特 克里斯汀 阿瑟 杰西卡 亚伯拉罕 埃德加 詹妮弗 弗雷德 马尔科
    阿诺德 汉娜 斯坦利 古斯塔夫 阿道夫 加布里埃尔 西奥多 朱迪 杰奎琳 阿尔弗雷德 瑞德 温斯顿 希金斯 杰拉尔德 卡森
    奥托 阿尔弗雷多 艾哈迈德 比尔 戴维斯 杰克逊 威尔逊 摩尔 吉米 安吉丽娜 河野 小泉 伊藤 井上 田边 松本 佐藤 加藤
    富田 藤本 河村隆""".split()
)
PANTHEON_STOP = {
    "Homer",
    "Sting",
    "Madonna",
    "Irene",
    "Esther",
    "Leah",
    "Miriam",
    "Amos",
    "Jonah",
    "Ezra",
    "Livia",
    "Myron",
    "Geber",
    "Barnabas",
    "Constans",
    "Probus",
    "Vitus",
    "Blackbeard",
    "Seth",
    "Roch",
}


def build_figures(src: Path) -> pd.DataFrame:
    t = src / "cn-lexicon-thuocl"
    fig = pd.read_csv(
        t / "THUOCL_lishimingren.txt",
        sep="\t",
        header=None,
        names=["term", "df"],
        dtype={"term": str},
        quoting=csv.QUOTE_NONE,
    )
    place_words = set(
        pd.read_csv(
            t / "THUOCL_diming.txt",
            sep="\t",
            header=None,
            names=["term", "df"],
            dtype={"term": str},
            quoting=csv.QUOTE_NONE,
            encoding="utf-8-sig",
        )["term"].str.strip()
    )
    fig["term"] = fig["term"].str.strip()
    common = fig["term"].map(lambda s: len(s) == 2 and s[0] in COMMON_SURNAMES and s[1] in COMMON_GIVEN)
    keep = (
        (fig["df"] >= THUOCL_MIN_DF)
        & (fig["term"].str.len() >= 2)
        & ~fig["term"].isin(THUOCL_STOP)
        & ~fig["term"].isin(place_words)  # also a THUOCL place word (元和, 麦田, 高桥 …)
        & (~common | (fig["df"] >= THUOCL_KEEP_COMMON_DF))
    )
    zh = fig[keep].drop_duplicates("term")
    zh = pd.DataFrame({"term": zh["term"], "lang": "zh", "source": "cn-lexicon-thuocl", "fame": zh["df"]})

    p = pd.read_csv(
        src / "famous-people-pantheon" / "pantheon.tsv",
        sep="\t",
        dtype={"Name": str},
        usecols=["Name", "HPI"],
        quoting=csv.QUOTE_NONE,
    )
    p["Name"] = p["Name"].str.strip()
    first_tokens = Counter(n.split()[0] for n in p["Name"] if " " in n)
    p = p.sort_values("HPI", ascending=False).head(PANTHEON_TOP)
    single = ~p["Name"].str.contains(" ", regex=False)
    ordinary = single & (
        (p["Name"].str.len() <= 3)  # Ay, Den, Ham, Job, Lot, Ali …
        | p["Name"].map(lambda n: first_tokens.get(n, 0) >= 2)  # given names: Mary, David, Isaac, Sarah …
        | p["Name"].isin(PANTHEON_STOP)
    )
    en = p[~ordinary].drop_duplicates("Name")
    en = pd.DataFrame(
        {"term": en["Name"], "lang": "en", "source": "famous-people-pantheon", "fame": en["HPI"].round(3)}
    )
    return pd.concat([zh, en], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# 4. Events (curated). Dates are the public date the term became prominent; (term, date, category, note, source)
# ---------------------------------------------------------------------------------------------
EVENTS = [
    (
        "火神山",
        "2020-01-23",
        "event",
        "Wuhan emergency COVID-19 hospital",
        "Wuhan decided to build Huoshenshan Hospital, 2020-01-23 (CNIPA 2020-02 notice refusing epidemic-related marks)",
    ),
    (
        "火神山医院",
        "2020-01-23",
        "event",
        "full name",
        "Wuhan decided to build Huoshenshan Hospital, 2020-01-23",
    ),
    (
        "雷神山",
        "2020-01-25",
        "event",
        "Wuhan emergency COVID-19 hospital",
        "Wuhan decided to build Leishenshan Hospital, 2020-01-25 (CNIPA 2020-02 notice refusing epidemic-related marks)",
    ),
    (
        "雷神山医院",
        "2020-01-25",
        "event",
        "full name",
        "Wuhan decided to build Leishenshan Hospital, 2020-01-25",
    ),
    (
        "冰墩墩",
        "2019-09-17",
        "event",
        "Beijing 2022 Olympic mascot",
        "Beijing 2022 mascots unveiled, 2019-09-17 (CNIPA notice on 冰墩墩 applications, 2022-02)",
    ),
    (
        "Bing Dwen Dwen",
        "2019-09-17",
        "event",
        "Beijing 2022 Olympic mascot (en)",
        "Beijing 2022 mascots unveiled, 2019-09-17",
    ),
    (
        "雪容融",
        "2019-09-17",
        "event",
        "Beijing 2022 Paralympic mascot",
        "Beijing 2022 mascots unveiled, 2019-09-17",
    ),
    (
        "北京冬奥",
        "2022-02-04",
        "event",
        "Beijing 2022 Winter Olympics",
        "Opening ceremony of the Beijing 2022 Winter Olympics, 2022-02-04",
    ),
    (
        "北京冬奥会",
        "2022-02-04",
        "event",
        "Beijing 2022 Winter Olympics",
        "Opening ceremony of the Beijing 2022 Winter Olympics, 2022-02-04",
    ),
    (
        "2022北京冬奥",
        "2022-02-04",
        "event",
        "Beijing 2022 Winter Olympics",
        "Opening ceremony of the Beijing 2022 Winter Olympics, 2022-02-04",
    ),
    (
        "北京2022",
        "2022-02-04",
        "event",
        "Beijing 2022 Winter Olympics emblem text",
        "Opening ceremony of the Beijing 2022 Winter Olympics, 2022-02-04",
    ),
    (
        "谷爱凌",
        "2022-02-08",
        "person",
        "freestyle skier, big air gold",
        "Beijing 2022 women's big air gold, 2022-02-08",
    ),
    (
        "苏翊鸣",
        "2022-02-15",
        "person",
        "snowboarder, big air gold",
        "Beijing 2022 men's snowboard big air gold, 2022-02-15",
    ),
    (
        "武大靖",
        "2018-02-22",
        "person",
        "short-track skater",
        "PyeongChang 2018 men's 500 m short-track gold, 2018-02-22",
    ),
    (
        "东京奥运会",
        "2021-07-23",
        "event",
        "Tokyo 2020 Olympics",
        "Opening ceremony of the Tokyo 2020 Olympics (held 2021), 2021-07-23",
    ),
    (
        "杨倩",
        "2021-07-24",
        "person",
        "shooter, first gold of Tokyo 2020",
        "Tokyo 2020 women's 10 m air rifle gold, 2021-07-24",
    ),
    (
        "苏炳添",
        "2021-08-01",
        "person",
        "sprinter, 9.83 s",
        "Tokyo 2020 men's 100 m semi-final, Asian record 9.83 s, 2021-08-01",
    ),
    (
        "全红婵",
        "2021-08-05",
        "person",
        "diver, 10 m platform gold",
        "Tokyo 2020 women's 10 m platform gold, 2021-08-05",
    ),
    (
        "巴黎奥运会",
        "2024-07-26",
        "event",
        "Paris 2024 Olympics",
        "Opening ceremony of the Paris 2024 Olympics, 2024-07-26",
    ),
    ("郑钦文", "2024-08-03", "person", "tennis player", "Paris 2024 women's singles tennis gold, 2024-08-03"),
    (
        "杭州亚运会",
        "2023-09-23",
        "event",
        "19th Asian Games, Hangzhou",
        "Opening ceremony of the Hangzhou Asian Games, 2023-09-23",
    ),
    (
        "北京奥运会",
        "2008-08-08",
        "event",
        "Beijing 2008 Olympics",
        "Opening ceremony of the Beijing 2008 Olympics, 2008-08-08",
    ),
    ("上海世博会", "2010-05-01", "event", "Expo 2010 Shanghai", "Expo 2010 Shanghai opened, 2010-05-01"),
    (
        "进博会",
        "2018-11-05",
        "event",
        "China International Import Expo",
        "First China International Import Expo opened in Shanghai, 2018-11-05",
    ),
    (
        "中国国际进口博览会",
        "2018-11-05",
        "event",
        "China International Import Expo (full name)",
        "First China International Import Expo opened in Shanghai, 2018-11-05",
    ),
    (
        "钟南山",
        "2020-01-20",
        "person",
        "respiratory expert",
        "Zhong Nanshan confirmed human-to-human transmission of the novel coronavirus on CCTV, 2020-01-20",
    ),
    (
        "李文亮",
        "2020-02-07",
        "person",
        "Wuhan doctor",
        "Dr Li Wenliang died in Wuhan, 2020-02-07 (early-warning doctor)",
    ),
    (
        "新冠肺炎",
        "2020-02-08",
        "event",
        "COVID-19 (Chinese name)",
        "China's National Health Commission named the disease 新型冠状病毒肺炎 (新冠肺炎), 2020-02-08",
    ),
    (
        "新冠",
        "2020-02-08",
        "event",
        "COVID-19 (Chinese short name)",
        "China's National Health Commission named the disease 新型冠状病毒肺炎 (新冠肺炎), 2020-02-08",
    ),
    ("COVID-19", "2020-02-11", "event", "disease name", "WHO named the disease COVID-19, 2020-02-11"),
    (
        "奥密克戎",
        "2021-11-26",
        "event",
        "SARS-CoV-2 variant (Chinese)",
        "WHO designated variant B.1.1.529 'Omicron', 2021-11-26",
    ),
    (
        "Omicron",
        "2021-11-26",
        "event",
        "SARS-CoV-2 variant",
        "WHO designated variant B.1.1.529 'Omicron', 2021-11-26",
    ),
    (
        "德尔塔",
        "2021-05-31",
        "event",
        "SARS-CoV-2 variant (Chinese)",
        "WHO introduced Greek-letter variant names incl. Delta, 2021-05-31",
    ),
    (
        "丁真",
        "2020-11-11",
        "person",
        "Litang herdsman, viral video",
        "Video of Ding Zhen (理塘) went viral, 2020-11-11",
    ),
    (
        "哪吒之魔童降世",
        "2019-07-26",
        "event",
        "animated film",
        "Ne Zha (哪吒之魔童降世) released in mainland China, 2019-07-26",
    ),
    (
        "哪吒",
        "2019-07-26",
        "event",
        "film/mythological character",
        "Ne Zha (哪吒之魔童降世) released in mainland China, 2019-07-26",
    ),
    (
        "哪吒之魔童闹海",
        "2025-01-29",
        "event",
        "animated film",
        "Ne Zha 2 released in mainland China (Spring Festival), 2025-01-29",
    ),
    ("流浪地球", "2019-02-05", "event", "film", "The Wandering Earth released in mainland China, 2019-02-05"),
    ("长津湖", "2021-09-30", "event", "film", "The Battle at Lake Changjin released, 2021-09-30"),
    ("你好，李焕英", "2021-02-12", "event", "film", "Hi, Mom (你好，李焕英) released, 2021-02-12"),
    (
        "满江红",
        "2023-01-22",
        "event",
        "film (also a classical poem title)",
        "Full River Red film released, 2023-01-22",
    ),
    ("黑神话：悟空", "2024-08-20", "event", "video game", "Black Myth: Wukong released, 2024-08-20"),
    ("黑神话", "2024-08-20", "event", "video game (short)", "Black Myth: Wukong released, 2024-08-20"),
    (
        "神舟五号",
        "2003-10-15",
        "event",
        "first Chinese crewed spaceflight",
        "Shenzhou 5 launched with Yang Liwei, 2003-10-15",
    ),
    (
        "杨利伟",
        "2003-10-15",
        "person",
        "first Chinese astronaut",
        "Shenzhou 5 launched with Yang Liwei, 2003-10-15",
    ),
    ("神舟十二号", "2021-06-17", "event", "crewed spaceflight", "Shenzhou 12 launched, 2021-06-17"),
    ("神舟十三号", "2021-10-16", "event", "crewed spaceflight", "Shenzhou 13 launched, 2021-10-16"),
    (
        "天和核心舱",
        "2021-04-29",
        "event",
        "space-station core module",
        "Tianhe core module launched, 2021-04-29",
    ),
    ("天问一号", "2021-05-15", "event", "Mars mission", "Tianwen-1 lander touched down on Mars, 2021-05-15"),
    (
        "祝融号",
        "2021-05-15",
        "event",
        "Mars rover",
        "Tianwen-1 lander carrying the Zhurong rover touched down on Mars, 2021-05-15",
    ),
    (
        "嫦娥四号",
        "2019-01-03",
        "event",
        "lunar far-side landing",
        "Chang'e 4 landed on the far side of the Moon, 2019-01-03",
    ),
    (
        "嫦娥五号",
        "2020-12-17",
        "event",
        "lunar sample return",
        "Chang'e 5 return capsule landed with lunar samples, 2020-12-17",
    ),
    (
        "嫦娥六号",
        "2024-06-25",
        "event",
        "far-side sample return",
        "Chang'e 6 return capsule landed with far-side samples, 2024-06-25",
    ),
    (
        "北斗三号",
        "2020-07-31",
        "event",
        "BeiDou-3 navigation system",
        "BeiDou-3 system formally commissioned, 2020-07-31",
    ),
    (
        "奋斗者号",
        "2020-11-10",
        "event",
        "deep-sea submersible",
        "Fendouzhe reached 10,909 m in the Mariana Trench, 2020-11-10",
    ),
    ("福建舰", "2022-06-17", "event", "aircraft carrier", "Aircraft carrier Fujian launched, 2022-06-17"),
    (
        "山东舰",
        "2019-12-17",
        "event",
        "aircraft carrier",
        "Aircraft carrier Shandong commissioned, 2019-12-17",
    ),
    (
        "港珠澳大桥",
        "2018-10-24",
        "event",
        "Hong Kong-Zhuhai-Macao Bridge",
        "Hong Kong-Zhuhai-Macao Bridge opened to traffic, 2018-10-24",
    ),
    (
        "大兴机场",
        "2019-09-25",
        "event",
        "Beijing Daxing International Airport",
        "Beijing Daxing International Airport opened, 2019-09-25",
    ),
    (
        "雄安新区",
        "2017-04-01",
        "event",
        "new area (a famous squatting target)",
        "Xiong'an New Area announced, 2017-04-01",
    ),
    ("雄安", "2017-04-01", "event", "new area (short)", "Xiong'an New Area announced, 2017-04-01"),
    (
        "一带一路",
        "2013-09-07",
        "event",
        "Belt and Road Initiative",
        "Silk Road Economic Belt proposed in Astana, 2013-09-07",
    ),
    ("袁隆平", "2021-05-22", "person", "agronomist (hybrid rice)", "Yuan Longping died, 2021-05-22"),
    (
        "张桂梅",
        "2021-06-29",
        "person",
        "teacher, July 1 Medal",
        "Zhang Guimei awarded the July 1 Medal, 2021-06-29",
    ),
    (
        "王亚平",
        "2021-11-07",
        "person",
        "astronaut",
        "Wang Yaping, first spacewalk by a Chinese woman, 2021-11-07",
    ),
    ("鸿蒙", "2019-08-09", "event", "HarmonyOS", "Huawei announced HarmonyOS (鸿蒙), 2019-08-09"),
    ("ChatGPT", "2022-11-30", "event", "AI chatbot", "OpenAI released ChatGPT, 2022-11-30"),
    ("DeepSeek", "2025-01-20", "event", "AI model", "DeepSeek-R1 released, 2025-01-20"),
    (
        "元宇宙",
        "2021-10-28",
        "event",
        "metaverse",
        "Facebook renamed itself Meta citing the metaverse, 2021-10-28",
    ),
    (
        "淄博烧烤",
        "2023-03-01",
        "event",
        "viral food trend (month only: March 2023)",
        "Zibo barbecue went viral in March 2023 (day not pinned; date = first of the month)",
    ),
    (
        "村BA",
        "",
        "event",
        "Guizhou village basketball (Taipan village)",
        "Village basketball games in Taipan village, Guizhou went viral in summer 2022 (exact date not pinned)",
    ),
    (
        "猴痘",
        "2022-07-23",
        "event",
        "mpox (Chinese)",
        "WHO declared the mpox outbreak a public health emergency of international concern, 2022-07-23",
    ),
]

# ---------------------------------------------------------------------------------------------
# 5. Generic / industry terms (curated): (term, lang, source note)
# ---------------------------------------------------------------------------------------------
_GEN_SRC_ZH = (
    "curated: common product/industry name (商标法第十一条 通用名称; CNIPA 2022 notice type on 公共资源)"
)
_GEN_SRC_EN = "curated: generic English product/technology term (no distinctiveness as a mark)"
GENERIC_ZH = """奶茶 火锅 烧烤 咖啡 茶饮 果茶 酸奶 冰淇淋 蛋糕 面包 月饼 粽子 汤圆 饺子 包子 馒头 面条 米粉 螺蛳粉 麻辣烫 串串 小龙虾
炸鸡 汉堡 披萨 寿司 煎饼 凉皮 肉夹馍 酱香饼 卤味 零食 坚果 啤酒 白酒 红酒 黄酒 果酒 矿泉水 纯净水 饮料 果汁 豆浆
手机 电脑 笔记本 平板 耳机 充电宝 数据线 智能手表 手环 音箱 电视 冰箱 空调 洗衣机 扫地机器人 无人机 新能源 电动车
汽车 自行车 电池 芯片 半导体 人工智能 大数据 云计算 物联网 区块链 元宇宙 虚拟现实 数字藏品 预制菜 直播带货 直播 电商
跨境电商 外卖 快递 网约车 共享单车 社区团购 短视频 网红 口罩 消毒液 疫苗 核酸 健身 瑜伽 美容 美甲 医美 养生 中医
药店 眼镜 服装 女装 童装 内衣 袜子 鞋 运动鞋 化妆品 护肤品 面膜 口红 香水 洗发水 牙膏 纸巾 尿不湿 奶粉 母婴 宠物
猫粮 狗粮 家政 装修 家居 民宿 酒店 旅游 教育 培训 早教 托育 物业 保险 理财 支付 金融 银行 贷款 房产 中介
""".split()
GENERIC_EN = """coffee tea hotpot barbecue BBQ pizza burger sushi beer wine water juice snack bakery
smartphone phone mobile laptop tablet computer earphones headphones charger smartwatch drone robot battery chip
semiconductor 5G 4G AI cloud IoT blockchain Bitcoin crypto NFT metaverse VR AR app online ecommerce
e-commerce delivery express livestream streaming vlog fitness yoga gym spa beauty cosmetics skincare shampoo toothpaste
mask vaccine hotel travel tour education school insurance bank pay finance home furniture fashion shoes
apparel organic eco smart""".split()
# multi-word English terms (kept together)
GENERIC_EN_MULTI = [
    "milk tea",
    "bubble tea",
    "big data",
    "smart home",
    "electric vehicle",
    "live streaming",
    "fast food",
    "pet food",
]


def build_generic() -> pd.DataFrame:
    singles = GENERIC_EN
    rows = [
        {"term": t, "lang": "zh", "category": "generic", "source": _GEN_SRC_ZH}
        for t in dict.fromkeys(GENERIC_ZH)
    ]
    rows += [
        {"term": t, "lang": "en", "category": "generic", "source": _GEN_SRC_EN}
        for t in dict.fromkeys(singles + GENERIC_EN_MULTI)
    ]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# 6. Nice classes and 类似群
# ---------------------------------------------------------------------------------------------
def build_nice(src: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    g = pd.read_csv(
        src / "cn-nice-classification-xovel" / "cn_similar_goods_groups.csv", dtype=str, keep_default_na=False
    )
    g["class"] = g["class_code"].astype(int)
    groups = (
        g[["class", "similar_group_code", "similar_group_name"]]
        .drop_duplicates("similar_group_code")
        .rename(columns={"similar_group_code": "group", "similar_group_name": "group_name"})
        .sort_values("group")
    )
    goods = g.rename(columns={"similar_group_code": "group"})[
        ["goods_code", "goods_name_zh", "group", "class"]
    ]
    goods = goods.drop_duplicates(["goods_code", "goods_name_zh", "group"]).sort_values(
        ["group", "goods_code"]
    )
    return groups.reset_index(drop=True), goods.reset_index(drop=True)


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_SRC
    if not src.is_dir():
        print(f"error: source folder {src} not found (pass the path to shared/data/real)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    ev = pd.DataFrame(EVENTS, columns=["term", "date", "category", "note", "source"])
    outputs = {
        "cn_divisions.csv": build_divisions(src),
        "foreign_places.csv": build_foreign(src),
        "public_figures.csv": build_figures(src),
        "events.csv": ev,
        "generic_terms.csv": build_generic(),
    }
    outputs["nice_groups.csv"], outputs["nice_goods.csv"] = build_nice(src)
    for name, df in outputs.items():
        df.to_csv(OUT / name, index=False, encoding="utf-8", lineterminator="\n")
        print(f"{name:20s} {len(df):6d} rows  {(OUT / name).stat().st_size / 1024:7.1f} KB")
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"total features/data: {total / 1024:.1f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
