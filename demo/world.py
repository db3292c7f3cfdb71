"""Synthetic demo world: a labelled trademark-filing population in the data contract.

``generate_world(out, n_applications, seed)`` writes ``OUT/dataset/`` (the contract tables plus
``reference/``) and ``OUT/truth/`` (who is who, and why). Same seed → byte-identical files.

The world is built from *blocks*, one per applicant kind (normal applicants, the planted abnormal
kinds and the deliberate hard negatives). Every block is vectorised with numpy / pyarrow over its
applications; Python loops run only over small sets (families, shell groups, copy sources), so
generation scales roughly linearly up to 10M applications. Proportions scale with N; every kind is
present from N=2,000 on. All vocabularies are embedded in :mod:`demo.terms` (plus the
shipped ``features/data/nice_goods.csv`` when present), so no ``../shared`` is needed at run time.
"""

from __future__ import annotations

import functools
import math
import random
import time
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from demo import terms as T

START = "2019-07-01"
END = "2025-12-31"
_D0 = int(np.datetime64(START, "D").astype(np.int64))
_D1 = int(np.datetime64(END, "D").astype(np.int64))

STATUSES = ["pending", "registered", "refused", "opposed", "invalidated", "withdrawn", "lapsed"]
PENDING, REGISTERED, REFUSED, OPPOSED, INVALIDATED, WITHDRAWN, LAPSED = range(7)
# status profiles: probabilities of [registered, refused, opposed, invalidated, withdrawn, lapsed]
_PROFILES = {
    "normal": [0.79, 0.09, 0.03, 0.005, 0.04, 0.035],
    "large": [0.90, 0.04, 0.01, 0.0, 0.02, 0.03],
    "hoard": [0.33, 0.38, 0.05, 0.04, 0.17, 0.03],
    "copy": [0.25, 0.40, 0.17, 0.10, 0.05, 0.03],
    "squat": [0.28, 0.52, 0.05, 0.05, 0.07, 0.03],
    "broker": [0.70, 0.15, 0.04, 0.02, 0.05, 0.04],
}
_PROFILE_IDS = {k: i for i, k in enumerate(_PROFILES)}

ABNORMAL_KINDS = [
    "hoarder", "shell_hoarder", "copycat", "squatter", "trend_squatter", "broker", "bad_faith_decided",
]
HARD_NEGATIVE_KINDS = [
    "large_portfolio", "protected_owner", "place_trade_name", "name_variant", "fashion_word",
    "common_name", "shared_address",
]
KINDS = ["normal", *ABNORMAL_KINDS, *HARD_NEGATIVE_KINDS]
_KIND_ID = {k: i for i, k in enumerate(KINDS)}
COPY_TRICKS = ["exact", "edit", "confusable", "affix", "reorder", "homophone", "shape", "transliteration"]
_TRICK_W = np.array([0.10, 0.13, 0.10, 0.16, 0.08, 0.17, 0.12, 0.14])

# share of N (applications) per non-normal kind; normal applicants fill the rest
_SHARES = {
    "hoarder": 0.06, "shell_hoarder": 0.04, "copycat": 0.035, "squatter": 0.025, "trend_squatter": 0.015,
    "broker": 0.025, "bad_faith_decided": 0.025,
    "large_portfolio": 0.03, "protected_owner": 0.015, "place_trade_name": 0.01, "name_variant": 0.015,
    "fashion_word": 0.01, "common_name": 0.003, "shared_address": 0.01,
}
_POPULAR = np.array([30, 32, 33, 35, 43, 25, 3, 29, 9, 41, 5, 31, 20, 21, 16, 28, 18, 14, 11])
_LEGAL_CN = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]
_LEGAL_LONG = {
    "Inc.": "Incorporated", "LLC": "L.L.C.", "Corporation": "Corp.", "Co.": "Company",
    "Co., Ltd.": "Company Limited", "Kabushiki Kaisha": "K.K.", "GmbH": "G.m.b.H.", "AG": "Aktiengesellschaft",
    "GmbH & Co. KG": "GmbH & Co KG", "Limited": "Ltd.", "Ltd": "Limited", "PLC": "Public Limited Company",
    "SAS": "S.A.S.", "S.A.": "SA", "SARL": "S.A.R.L.", "S.p.A.": "SpA", "S.r.l.": "Srl", "SA": "S.A.",
    "Pte. Ltd.": "Private Limited",
}
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


# ----------------------------------------------------------------------------------------------
# small pyarrow helpers


def _s(values) -> pa.Array:
    return pa.array(list(values), pa.string())


def _take(pool: pa.Array, idx) -> pa.Array:
    return pool.take(pa.array(np.asarray(idx, dtype=np.int64)))


def _cat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _num(ints) -> pa.Array:
    return pc.cast(pa.array(np.asarray(ints, dtype=np.int64)), pa.string())


def _pick(mask, a, b) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a, b)


def _fullwidth(arr: pa.Array) -> pa.Array:
    for d in "0123456789":
        arr = pc.replace_substring(arr, d, d.translate(_FULLWIDTH))
    return arr


def _split(rng, total: int, n: int, lo: int, sigma: float = 0.8) -> np.ndarray:
    """``n`` positive counts (each >= lo when possible) summing exactly to ``total``."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    lo = max(1, min(lo, total // n)) if total >= n else 1
    rest = max(0, total - lo * n)
    w = rng.lognormal(0.0, sigma, n)
    return lo + rng.multinomial(rest, w / w.sum())


def _member(x: np.ndarray, sorted_pool: np.ndarray) -> np.ndarray:
    """x in sorted_pool (element-wise), by binary search."""
    if len(sorted_pool) == 0:
        return np.zeros(len(x), dtype=bool)
    i = np.minimum(np.searchsorted(sorted_pool, x), len(sorted_pool) - 1)
    return sorted_pool[i] == x


def _first_dup(x: np.ndarray) -> np.ndarray:
    """True for every repeated occurrence of a value after its first one."""
    o = np.argsort(x, kind="stable")
    xs = x[o]
    d = np.zeros(len(x), dtype=bool)
    d[o[1:]] = xs[1:] == xs[:-1]
    return d


def _rseed(*parts) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


# ----------------------------------------------------------------------------------------------
# lexicon (built once per process; deterministic)


def _strip_suffix(name: str, suffixes) -> str:
    for suf in suffixes:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


@functools.lru_cache(maxsize=1)
def _lexicon() -> dict:
    from pypinyin import Style, lazy_pinyin, pinyin

    lx: dict = {}
    prov_w = {"广东": 18, "浙江": 12, "江苏": 9, "山东": 7, "福建": 6, "北京": 6, "上海": 6, "河南": 4,
              "四川": 4, "湖北": 3, "湖南": 3, "安徽": 3, "河北": 3, "重庆": 2, "天津": 2, "江西": 2,
              "广西": 2, "陕西": 2, "辽宁": 2, "云南": 1.5}
    big = set("深圳市 广州市 杭州市 苏州市 东莞市 佛山市 宁波市 温州市 泉州市 成都市 武汉市 南京市 厦门市 "
              "金华市 郑州市 长沙市 西安市 青岛市 合肥市 济南市 昆明市 中山市".split())
    provinces, cities, city_prov, areas, area_start, area_count = [], [], [], [], [], []
    for line in T.ADMIN.strip().splitlines():
        p, c, a = line.split("|")
        if p not in provinces:
            provinces.append(p)
        cities.append(c)
        city_prov.append(provinces.index(p))
        names = a.split()
        area_start.append(len(areas))
        area_count.append(len(names))
        areas.extend(names)
    prov_short = [_strip_suffix(p, ["壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市"]) for p in provinces]
    city_core = [_strip_suffix(c, ["市"]) for c in cities]
    muni = np.array([c == provinces[p] for c, p in zip(cities, city_prov, strict=True)])
    w = np.array([prov_w.get(prov_short[p], 0.6) / sum(1 for q in city_prov if q == p) for p in city_prov])
    w *= np.array([4.0 if c in big else 1.0 for c in cities])
    lx.update(provinces=provinces, prov_short=prov_short, cities=cities, city_core=city_core,
              city_prov=np.array(city_prov), muni=muni, city_w=w / w.sum(), areas=areas,
              area_start=np.array(area_start), area_count=np.array(area_count))
    # place names for squatting: provinces, prefecture cities, counties / county-level cities, abroad
    counties = []
    for a in areas:
        if (a.endswith("县") or a.endswith("市")) and "自治" not in a and not a.endswith("旗"):
            s = a[:-1]
            if len(s) >= 2:
                counties.append(s)
    cores = [c for c, m in zip(city_core, muni, strict=True) if not m and len(c) <= 3 and not c.endswith(("州", "盟", "区"))]
    places_top = list(dict.fromkeys(prov_short + cores))
    places = list(dict.fromkeys(places_top + counties[::3] + T.FOREIGN_PLACES_ZH + T.LATIN_PLACES))
    lx["places"] = places
    lx["place_w"] = np.array([3.0 if p in places_top else 1.0 for p in places])
    lx["place_cores"] = [c for c in cores if len(c) == 2]

    def uniq(s):
        return list(dict.fromkeys(s))

    lx["trade_chars"] = uniq(T.TRADE_CHARS)
    lx["nice_chars"] = uniq(T.NICE_CHARS)
    lx["trade_py"] = [lazy_pinyin(c)[0].upper() for c in lx["trade_chars"]]
    lx["char_py"] = {c: lazy_pinyin(c)[0] for c in set("".join(lx["place_cores"]) + "".join(T.PLACE_PRODUCTS)
                                                       + "".join(lx["trade_chars"]) + "堂")}
    lx["surnames"] = uniq(T.SURNAMES)
    lx["given"] = uniq(T.GIVEN_CHARS)
    sw = 1.0 / (np.arange(len(lx["surnames"])) + 3.0)
    lx["surname_w"] = sw / sw.sum()
    # goods items per class: shipped nice_goods.csv if present, else the embedded fallback
    lx["goods"] = _load_goods()
    # protected / famous marks
    lx["protected"] = _protected_entries()
    # homophone groups over a common-character universe (single-reading characters only)
    universe = set(T.TRADE_CHARS + T.NICE_CHARS + T.SURNAMES + T.GIVEN_CHARS + "".join(areas) + "".join(cities))
    universe |= set("".join(e["mark"] for e in lx["protected"]))
    by_py: dict[str, list[str]] = {}
    single: set[str] = set()
    for ch in sorted(universe):
        if not ("\u4e00" <= ch <= "\u9fff"):
            continue
        readings = {r for r in pinyin(ch, style=Style.NORMAL, heteronym=True)[0]}
        if len(readings) == 1:
            single.add(ch)
            by_py.setdefault(readings.pop(), []).append(ch)
    lx["single"] = frozenset(single)
    lx["homophones"] = {r: chars for r, chars in by_py.items() if len(chars) > 1}
    shape: dict[str, list[str]] = {}
    for pair in T.SHAPE_PAIRS:
        a, b = pair[0], pair[1]
        shape.setdefault(a, []).append(b)
        shape.setdefault(b, []).append(a)
    lx["shape"] = {k: sorted(set(v)) for k, v in shape.items()}
    ind_cls = np.zeros((len(T.INDUSTRIES), 6), dtype=np.int64)
    ind_n = np.zeros(len(T.INDUSTRIES), dtype=np.int64)
    related: dict[int, set[int]] = {c: set() for c in range(1, 46)}
    for i, (_, cls) in enumerate(T.INDUSTRIES):
        ind_cls[i, : len(cls)] = cls
        ind_n[i] = len(cls)
        for c in cls:
            related[c] |= set(cls) - {c}
    for c in range(1, 46):
        if not related[c]:
            related[c] = {35}
    lx["ind_words"] = [w for w, _ in T.INDUSTRIES]
    lx["ind_cls"], lx["ind_n"] = ind_cls, ind_n
    rel = np.zeros((46, 12), dtype=np.int64)
    rel_n = np.zeros(46, dtype=np.int64)
    for c in range(1, 46):
        r = sorted(related[c])[:12]
        rel[c, : len(r)] = r
        rel_n[c] = len(r)
    lx["rel"], lx["rel_n"] = rel, rel_n
    return lx


def _load_goods() -> list[list[str]]:
    goods: list[list[str]] = [[] for _ in range(46)]
    shipped = Path(__file__).resolve().parent.parent / "features" / "data" / "nice_goods.csv"
    if shipped.exists():
        try:
            tab = pacsv.read_csv(shipped).to_pydict()
            ccol = next((k for k in tab if "class" in k.lower() and "group" not in k.lower()), None)
            gcol = next((k for k in tab if "goods" in k.lower() and "name" in k.lower()), None)
            gcol = gcol or next((k for k in tab if k.lower().endswith("name") and "group" not in k.lower()), None)
            if ccol and gcol:
                for c, g in zip(tab[ccol], tab[gcol], strict=True):
                    try:
                        k = int(str(c).strip())
                    except ValueError:
                        continue
                    g = str(g or "").strip()
                    if 1 <= k <= 45 and g and "；" not in g and ";" not in g and len(g) <= 16:
                        goods[k].append(g)
        except (pa.ArrowInvalid, OSError, StopIteration):
            goods = [[] for _ in range(46)]
    for line in T.GOODS.strip().splitlines():
        k, items = line.split("|")
        if len(goods[int(k)]) < 5:
            goods[int(k)] = items.split("、")
    return [sorted(set(g)) if g else [] for g in goods]


def _latin_owner(mark: str, country: str) -> str:
    if len(mark) <= 4 and " " not in mark:
        return f"{mark} {T.LEGAL_BY_COUNTRY.get(country, 'Inc.')}"
    words = [w[0] + w[1:].lower() for w in mark.split(" ") if w]
    return f"{' '.join(words)} {T.LEGAL_BY_COUNTRY.get(country, 'Inc.')}"


def _protected_entries() -> list[dict]:
    """Famous marks: mark, owner, classes, country, script, alt (transliteration), headline flag."""
    out: list[dict] = []
    for i, line in enumerate(T.PROTECTED_ZH.strip().splitlines()):
        parts = line.split("|") + ["", ""]
        mark, sector, alt, country = parts[0], parts[1], parts[2], parts[3]
        cls = T.SECTOR_CLASSES[sector]
        foreign = alt and i < 14 and mark in "星巴克 耐克 可口可乐 麦当劳 肯德基 宝马 苹果".split()
        country = {"星巴克": "US", "耐克": "US", "可口可乐": "US", "麦当劳": "US", "肯德基": "US",
                   "宝马": "DE", "苹果": "US"}.get(mark, "CN") if foreign else "CN"
        owner = _latin_owner(alt, country) if country != "CN" else f"{mark}{T.SECTOR_WORD[sector]}股份有限公司"
        out.append(dict(mark=mark, owner=owner, classes=cls, country=country, alt="", script="zh",
                        head=i < 24, sector=sector))
        if alt:
            out.append(dict(mark=alt, owner=owner, classes=cls, country=country, alt="", script="latin",
                            head=i < 24, sector=sector))
    for i, line in enumerate(T.PROTECTED_LATIN.strip().splitlines()):
        mark, sector, country, alt = line.split("|")
        out.append(dict(mark=mark, owner=_latin_owner(mark, country), classes=T.SECTOR_CLASSES[sector],
                        country=country, alt=alt, script="latin", head=i < 8, sector=sector))
    return out


# ----------------------------------------------------------------------------------------------
# copy tricks


def _is_latin(s: str) -> bool:
    return all(ord(c) < 0x2E80 for c in s)


_CONFUSABLE = {"O": "0", "I": "1", "M": "RN", "l": "1", "o": "0"}
_LETTERS = "ABCDEFGHJKNPRSTUVWXYZ"


def _trick_variants(mark: str, alt: str, R: random.Random, lx: dict) -> dict[str, str]:
    """One variant of ``mark`` per applicable copy trick (see COPY_TRICKS)."""
    from pypinyin import lazy_pinyin

    out = {"exact": mark}
    if _is_latin(mark):
        # A copycat's misspelling keeps the mark recognisable: the CNIPA examination guideline calls
        # marks of four or more letters differing in one or two letters similar unless the first
        # letter differs, and three-letter marks with a changed letter different (BGW is not BMW).
        letters = [i for i, c in enumerate(mark) if c.isalpha()]
        if len(letters) >= 4:
            s = list(mark)
            for _ in range(2 if len(letters) >= 8 and R.random() < 0.3 else 1):
                i = R.choice([j for j, c in enumerate(s) if c.isalpha() and j > letters[0]])
                op = R.random()
                if op < 0.45:
                    s[i] = R.choice([c for c in _LETTERS if c != s[i].upper()])
                elif op < 0.7 and len(s) > 4:
                    del s[i]
                elif op < 0.85:
                    s.insert(i, R.choice(_LETTERS))
                elif i + 1 < len(s) and s[i + 1].isalpha() and s[i + 1] != s[i]:
                    s[i], s[i + 1] = s[i + 1], s[i]
                else:
                    s[i] = R.choice([c for c in _LETTERS if c != s[i].upper()])
            v = "".join(s)
            if v != mark:
                out["edit"] = v
        pos = [i for i, c in enumerate(mark) if c in _CONFUSABLE]
        if pos:
            i = R.choice(pos)
            out["confusable"] = mark[:i] + _CONFUSABLE[mark[i]] + mark[i + 1:]
        aff = R.choice(T.AFFIX_LATIN)
        out["affix"] = f"THE {mark}" if R.random() < 0.15 else f"{mark} {aff}"
        words = mark.split(" ")
        if len(words) >= 2 and len(set(words)) > 1:
            out["reorder"] = " ".join(words[::-1])
        if alt:
            out["transliteration"] = alt
        return out
    aff = R.choice(T.AFFIX_ZH)
    out["affix"] = f"{aff}{mark}" if R.random() < 0.2 else f"{mark}{aff}"
    if len(mark) >= 2:
        i = R.randrange(len(mark) - 1)
        v = mark[:i] + mark[i + 1] + mark[i] + mark[i + 2:]
        if v != mark:
            out["reorder"] = v
    base_py = lazy_pinyin(mark)
    single = lx["single"]
    if len(base_py) == len(mark):
        order = list(range(len(mark)))
        R.shuffle(order)
        for i in order:
            cands = [c for c in lx["homophones"].get(base_py[i], []) if c != mark[i]]
            R.shuffle(cands)
            for c in cands[:6]:
                v = mark[:i] + c + mark[i + 1:]
                if all(ch in single for ch in v) or lazy_pinyin(v) == base_py:
                    out["homophone"] = v
                    break
            if "homophone" in out:
                break
    pos = [i for i, c in enumerate(mark) if c in lx["shape"]]
    if pos:
        i = R.choice(pos)
        out["shape"] = mark[:i] + R.choice(lx["shape"][mark[i]]) + mark[i + 1:]
    out["transliteration"] = "".join(base_py).upper().replace(" ", "")
    return out


# ----------------------------------------------------------------------------------------------
# the world


class _World:
    def __init__(self, n: int, seed: int):
        self.N = int(n)
        self.seed = int(seed)
        self.lx = _lexicon()
        lx = self.lx
        self.P = len(lx["trade_chars"])
        self.tc = _s(lx["trade_chars"] + [""])
        self.tpy = _s(lx["trade_py"] + [""])
        self.nice = _s(lx["nice_chars"])
        self.ent: list[dict] = []
        self.app: list[dict] = []
        self.trans: list[dict] = []
        self.dec: list[dict] = []
        self.n_ent = 0
        self.n_app = 0
        self.normal_src: dict | None = None
        # trade-name codes already taken (places, protected marks, persons are kept out of house marks)
        idx = {c: i for i, c in enumerate(lx["trade_chars"])}
        reserved = []
        for word in lx["places"] + [e["mark"] for e in lx["protected"]] + T.PERSONS + T.COMMON_FULL_NAMES:
            if 2 <= len(word) <= 4 and all(c in idx for c in word):
                reserved.append(self._code([idx[c] for c in word]))
        self.used = np.unique(np.array(reserved, dtype=np.int64))
        self._agents()

    def rng(self, *name) -> np.random.Generator:
        return np.random.default_rng([self.seed, _rseed(*name)])

    # -- codes for trade names: one integer per (length, chars) combination
    def _code(self, chars: list[int]) -> int:
        P = self.P
        off = {2: 0, 3: P**2, 4: P**2 + P**3}[len(chars)]
        v = 0
        for c in chars:
            v = v * P + c
        return off + v

    def alloc_trade(self, rng, n: int, p2: float = 0.35, p4: float = 0.08, unique: bool = True):
        """Trade names (字号) of 2–4 characters, unique across the world unless ``unique=False``.

        Returns (trade, pinyin) arrays.
        """
        P = self.P
        L = np.where(rng.random(n) < p2, 2, np.where(rng.random(n) < p4 / (1 - p2), 4, 3))
        used2 = int(np.searchsorted(self.used, P**2))
        n2_free = int(0.5 * P**2) - used2
        two = np.flatnonzero(L == 2)
        if unique and len(two) > max(0, n2_free):
            L[two[max(0, n2_free):]] = 3
        codes = np.empty(n, dtype=np.int64)
        for length, off, space in ((2, 0, P**2), (3, P**2, P**3), (4, P**2 + P**3, P**4)):
            sel = np.flatnonzero(L == length)
            if not unique:
                codes[sel] = off + rng.integers(0, space, len(sel))
                continue
            lo, hi = np.searchsorted(self.used, [off, off + space])
            free = max(1, space - int(hi - lo))
            got = np.zeros(0, dtype=np.int64)
            while len(got) < len(sel):
                need = len(sel) - len(got)
                m = int(need * min(50.0, 1.3 * space / free)) + 64
                cand = off + rng.integers(0, space, m)
                cand = cand[~_first_dup(cand) & ~_member(cand, self.used) & ~_member(cand, np.sort(got))]
                got = np.concatenate([got, cand[:need]])
            codes[sel] = got
        if unique:
            self.used = np.sort(np.concatenate([self.used, codes]), kind="stable")
        chars = np.full((n, 4), P, dtype=np.int64)
        for length, off in ((2, 0), (3, P**2), (4, P**2 + P**3)):
            sel = np.flatnonzero(L == length)
            v = codes[sel] - off
            for j in range(length - 1, -1, -1):
                chars[sel, j] = v % P
                v //= P
        trade = _cat(*[_take(self.tc, chars[:, j]) for j in range(4)])
        py = _cat(*[_take(self.tpy, chars[:, j]) for j in range(4)])
        return trade, py

    # -- agents: a Zipf-like market, a few big agencies serve thousands of clients
    def _agents(self):
        rng = self.rng("agents")
        n = int(np.clip(40 + self.N / 150, 40, 30000))
        trade, _ = self.alloc_trade(rng, n, p2=0.9, p4=0.0)
        city = _take(_s(T.AGENT_CITIES), rng.integers(0, len(T.AGENT_CITIES), n))
        suf = _take(_s(T.AGENT_SUFFIX), rng.choice(len(T.AGENT_SUFFIX), n, p=[0.45, 0.2, 0.15, 0.1, 0.05, 0.05]))
        self.agent_names = _cat(city, trade, suf)
        w = 1.0 / (np.arange(n) + 1.0) ** 1.1
        self.agent_w = w / w.sum()
        self.n_agents = n
        self.agent_pool = pa.concat_arrays([self.agent_names, pa.nulls(1, pa.string())])

    def pick_agents(self, rng, n: int, direct: float = 0.12, small: bool = False) -> np.ndarray:
        if small:
            lo = min(30, self.n_agents - 1)
            a = rng.integers(lo, self.n_agents, n)
        else:
            a = rng.choice(self.n_agents, n, p=self.agent_w)
        return np.where(rng.random(n) < direct, self.n_agents, a)

    # -- entity factories -------------------------------------------------------------------
    def cn_address(self, rng, city_i, area_i=None, residential=None):
        lx = self.lx
        n = len(city_i)
        if area_i is None:
            area_i = lx["area_start"][city_i] + (rng.random(n) * lx["area_count"][city_i]).astype(np.int64)
        muni = lx["muni"][city_i]
        prov = _take(_s(lx["provinces"]), lx["city_prov"][city_i])
        city = _pick(muni, pa.array([""] * n, pa.string()), _take(_s(lx["cities"]), city_i))
        area = _take(_s(lx["areas"]), area_i)
        road = _take(_s(T.ROADS), rng.integers(0, len(T.ROADS), n))
        num = _num(rng.integers(1, 999, n))
        floor = rng.integers(1, 32, n)
        room = _num(floor * 100 + rng.integers(1, 20, n))
        bld = _num(rng.integers(1, 20, n))
        if residential is None:
            residential = np.zeros(n, dtype=bool)
        kind = rng.random(n)
        office = _pick(kind < 0.45, _cat(bld, "栋", room, "室"),
                       _pick(kind < 0.8, _cat(room, "室"), _cat(_num(floor), "楼")))
        home = _cat(bld, "栋", _num(rng.integers(1, 6, n)), "单元", room)
        tail = _pick(residential, home, office)
        return _cat(prov, city, area, road, num, "号", tail), area_i

    def cn_companies(self, rng, n, city_i=None, industry=None, trade=None, trade_py=None, legal=None):
        lx = self.lx
        if city_i is None:
            city_i = rng.choice(len(lx["cities"]), n, p=lx["city_w"])
        if industry is None:
            industry = rng.integers(0, len(T.INDUSTRIES), n)
        if trade is None:
            trade, trade_py = self.alloc_trade(rng, n)
        if legal is None:
            legal = rng.choice(4, n, p=[0.86, 0.08, 0.04, 0.02])
        muni = lx["muni"][city_i]
        core = _take(_s(lx["city_core"]), city_i)
        cityname = _take(_s(lx["cities"]), city_i)
        prefix = _pick(muni, core, cityname)
        prov_pref = rng.random(n) < 0.04
        prefix = _pick(prov_pref & ~muni, _take(_s(lx["prov_short"]), lx["city_prov"][city_i]), prefix)
        ind = _take(_s(lx["ind_words"]), industry)
        leg = _take(_s(_LEGAL_CN), legal)
        name = _cat(prefix, trade, ind, leg)
        addr, _ = self.cn_address(rng, city_i)
        return dict(name=name, addr=addr, country="CN", type="company", trade=trade, trade_py=trade_py,
                    city_i=city_i, industry=industry, legal=legal, prefix=prefix, ind=ind, core=core,
                    prov=_take(_s(lx["provinces"]), lx["city_prov"][city_i]), muni=muni, script="zh")

    def people(self, rng, n, names=None):
        lx = self.lx
        city_i = rng.choice(len(lx["cities"]), n, p=lx["city_w"])
        if names is None:
            sur = _take(_s(lx["surnames"]), rng.choice(len(lx["surnames"]), n, p=lx["surname_w"]))
            g = _s(lx["given"])
            g1 = _take(g, rng.integers(0, len(lx["given"]), n))
            g2 = _pick(rng.random(n) < 0.6, _take(g, rng.integers(0, len(lx["given"]), n)),
                       pa.array([""] * n, pa.string()))
            names = _cat(sur, g1, g2)
        addr, _ = self.cn_address(rng, city_i, residential=np.ones(n, dtype=bool))
        return dict(name=names, addr=addr, country="CN", type="individual", city_i=city_i,
                    industry=rng.integers(0, len(T.INDUSTRIES), n), script="person")

    def foreign(self, rng, n):
        ctry = rng.choice(len(T.FOREIGN), n, p=np.array([f[1] for f in T.FOREIGN]) / sum(f[1] for f in T.FOREIGN))
        w1 = rng.integers(0, len(T.LATIN_NAME_WORDS), n)
        w2 = rng.integers(0, len(T.LATIN_NAME_TAILS), n)
        base = _cat(_take(_s(T.LATIN_NAME_WORDS), w1), " ", _take(_s(T.LATIN_NAME_TAILS), w2))
        legal_list, legal_idx = [], np.empty(n, dtype=np.int64)
        city_list, city_idx = [], np.empty(n, dtype=np.int64)
        u = rng.random(n)
        v = rng.random(n)
        for k, (_, _, legals, cities, _) in enumerate(T.FOREIGN):
            sel = ctry == k
            legal_idx[sel] = len(legal_list) + (u[sel] * len(legals)).astype(np.int64)
            legal_list += legals
            cs = cities.split("|")
            city_idx[sel] = len(city_list) + (v[sel] * len(cs)).astype(np.int64)
            city_list += cs
        legal = _take(_s(legal_list), legal_idx)
        name = _cat(base, " ", legal)
        street = _take(_s(T.LATIN_STREETS), rng.integers(0, len(T.LATIN_STREETS), n))
        addr = _cat(_num(rng.integers(1, 3000, n)), " ", street, " Street, ", _take(_s(city_list), city_idx), ", ",
                    _take(_s([f[4] for f in T.FOREIGN]), ctry))
        house = pc.utf8_upper(_take(_s(T.LATIN_NAME_WORDS), w1))
        return dict(name=name, addr=addr, country=_take(_s([f[0] for f in T.FOREIGN]), ctry), type="company",
                    base=base, legal_s=legal, house=house, industry=rng.integers(0, len(T.INDUSTRIES), n),
                    city_i=np.full(n, -1), script="latin")

    # -- name variants (one legal person, several spellings) ------------------------------------
    def variants(self, e: dict, k: int = 7) -> pa.Array:
        """k spellings per entity, stacked: variant t of entity i at t*n + i (t=0 canonical)."""
        name = e["name"]
        n = len(name)
        if e["script"] == "zh":
            alt_legal = _take(_s(["有限责任公司", "有限公司", "股份有限公司", "集团有限公司"]), e["legal"])
            leg = _take(_s(_LEGAL_CN), e["legal"])
            prov_full = _pick(e["muni"], e["prov"], _cat(e["prov"], e["prefix"]))
            v = [
                name,
                _cat(prov_full, e["trade"], e["ind"], leg),
                _cat(e["prefix"], e["trade"], e["ind"], alt_legal),
                _cat(e["trade"], e["ind"], "（", e["core"], "）", leg),
                _cat(e["trade"], e["ind"], "(", e["core"], ")", leg),
                _cat(e["core"], e["trade"], e["ind"], leg),
                _cat(e["prefix"], " ", e["trade"], e["ind"], leg),
            ]
        elif e["script"] == "latin":
            keys = list(_LEGAL_LONG)
            lidx = pc.index_in(e["legal_s"], value_set=_s(keys))
            long = _take(_s(list(_LEGAL_LONG.values())), pc.fill_null(lidx, 0).to_numpy())
            bare = pc.replace_substring(pc.replace_substring(e["legal_s"], ".", ""), ",", "")
            v = [
                name,
                _cat(pc.utf8_upper(e["base"]), ", ", pc.utf8_upper(bare)),
                _cat("The ", e["base"], " ", long),
                _cat(e["base"], ", ", e["legal_s"]),
                pc.utf8_upper(name),
                _cat(e["base"], " ", long),
                _cat(e["base"], " ", bare),
            ]
        else:
            v = [name, _cat(pc.utf8_slice_codeunits(name, 0, 1), " ", pc.utf8_slice_codeunits(name, 1, 9))]
            v += [name] * 5
        return pa.concat_arrays([a if isinstance(a, pa.Array) else a.combine_chunks() for a in v[:k]]), n

    # -- registration -------------------------------------------------------------------------
    def add_entities(self, e: dict, kind: str, agent: np.ndarray, group=None, large=0) -> np.ndarray:
        n = len(e["name"])
        gidx = np.arange(self.n_ent, self.n_ent + n)
        grp = gidx if group is None else self.n_ent + np.asarray(group)
        country = e["country"]
        country = pa.array([country] * n, pa.string()) if isinstance(country, str) else country
        self.ent.append(dict(name=e["name"], addr=e["addr"], country=country,
                             type=pa.array([e["type"]] * n, pa.string()) if isinstance(e["type"], str) else e["type"],
                             agent=np.asarray(agent, dtype=np.int64), kind=np.full(n, _KIND_ID[kind], np.int8),
                             group=grp, large=np.full(n, large, np.int8) if np.isscalar(large) else large,
                             city=np.asarray(e["city_i"], dtype=np.int64)))
        self.n_ent += n
        return gidx

    def add_apps(self, rng, ent, date, mark, cls, profile, trick=None, orig=None, name=None, addr=None) -> np.ndarray:
        n = len(ent)
        date = np.clip(np.asarray(date, dtype=np.int64), _D0, _D1)
        prof = np.array(_PROFILES[profile])
        st = rng.choice([1, 2, 3, 4, 5, 6], n, p=prof / prof.sum())
        delay = rng.integers(150, 420, n)
        reg = date + delay
        pending = (reg > _D1) & (st != WITHDRAWN)
        st = np.where(pending, PENDING, st)
        has_reg = np.isin(st, [REGISTERED, INVALIDATED, LAPSED])
        reg = np.where(has_reg, reg, -1)
        cls = np.asarray(cls, dtype=np.int64)
        if cls.ndim == 1:
            cls = np.stack([cls, np.zeros(n, np.int64), np.zeros(n, np.int64)], axis=1)
        nul = pa.nulls(n, pa.string())
        rows = np.arange(self.n_app, self.n_app + n)
        self.app.append(dict(ent=np.asarray(ent, np.int64), date=date, mark=mark, cls=cls, status=st.astype(np.int8),
                             reg=reg, trick=nul if trick is None else trick, orig=nul if orig is None else orig,
                             name=name, addr=addr))
        self.n_app += n
        return rows

    def app_block(self, rows):
        """(block dict, local offsets) for global rows that all live in the most recent block."""
        b = self.app[-1]
        return b, np.asarray(rows) - (self.n_app - len(b["ent"]))

    def add_transfers(self, rows, date, assignor, assignee, assignee_addr):
        date = np.asarray(date, dtype=np.int64)
        keep = date <= _D1
        if not keep.any():
            return
        k = pa.array(keep)
        self.trans.append(dict(row=np.asarray(rows)[keep], date=date[keep], assignor=pc.filter(assignor, k),
                               assignee=pc.filter(assignee, k), addr=pc.filter(assignee_addr, k)))

    def add_decisions(self, rng, ent, subject, ent_city, kinds, date, rows):
        n = len(kinds)
        if n == 0:
            return
        lx = self.lx
        year = np.datetime_as_string(np.asarray(date, dtype="datetime64[D]"), unit="Y")
        ref = []
        auth = []
        court = rng.integers(0, len(T.COURTS), n)
        nums = rng.integers(1, 9_999_999, n)
        for i in range(n):
            k, y = kinds[i], year[i]
            if k in ("bad_faith_refusal", "invalidation"):
                auth.append("国家知识产权局")
                ref.append(f"商评字〔{y}〕第{nums[i] % 10_000_000:07d}号")
            elif k == "administrative_penalty":
                c = ent_city[i] if ent_city[i] >= 0 else 0
                core = lx["city_core"][c]
                auth.append(f"{lx['cities'][c]}市场监督管理局")
                ref.append(f"{core[:1]}市监罚〔{y}〕{nums[i] % 1000 + 1}号")
            elif k == "infringement_judgment":
                auth.append(T.COURTS[court[i]])
                ref.append(f"（{y}）{T.COURT_CODES[court[i]]}民初{nums[i] % 30000 + 1}号")
            else:
                auth.append("国家知识产权局")
                ref.append(f"国知发保字〔{y}〕{nums[i] % 500 + 1}号")
        self.dec.append(dict(subject=subject, date=np.asarray(date, np.int64), kind=_s(kinds), auth=_s(auth),
                             ref=_s(ref), row=np.asarray(rows, dtype=np.int64), ent=np.asarray(ent, np.int64)))

    # -- mark generators ----------------------------------------------------------------------
    def coined(self, rng, n, latin_share=0.4) -> pa.Array:
        """Coined marks: Chinese 'nice' characters, pinyin-like Latin syllables, or English-ish words."""
        u = rng.random(n)
        kind = np.where(u < 1 - latin_share, 0, np.where(u < 1 - latin_share * 0.3, 1, 2))
        sizes = [int((kind == k).sum()) for k in range(3)]
        nz, nl, ne = sizes
        nc = len(self.lx["nice_chars"])
        empty = pa.array([""], pa.string())
        zh = _cat(*[_take(self.nice, rng.integers(0, nc, nz)) for _ in range(2)],
                  _take(pa.concat_arrays([self.nice, empty]), np.where(rng.random(nz) < 0.8, rng.integers(0, nc, nz), nc)))
        syl = pa.concat_arrays([_s(T.SYLLABLES), empty])
        ns = len(T.SYLLABLES)
        lat = _cat(_take(syl, rng.integers(0, ns, nl)), _take(syl, rng.integers(0, ns, nl)),
                   _take(syl, np.where(rng.random(nl) < 0.5, rng.integers(0, ns, nl), ns)),
                   _take(_s(T.SYLLABLE_ENDS), rng.integers(0, len(T.SYLLABLE_ENDS), nl)))
        words = _s(T.ENGLISH_WORDS)
        nw = len(T.ENGLISH_WORDS)
        second = pa.concat_arrays([_cat(" ", words), empty])
        eng = _cat(_take(words, rng.integers(0, nw, ne)), _take(second, np.where(rng.random(ne) < 0.6,
                                                                                   rng.integers(0, nw, ne), nw)))
        # scatter the three groups back into their positions
        pos = np.empty(n, dtype=np.int64)
        start = np.cumsum([0, nz, nl])
        for k in range(3):
            pos[kind == k] = start[k] + np.arange(sizes[k])
        return _take(pa.concat_arrays([zh, lat, eng]), pos)

    def random_classes(self, rng, n, multi=0.2, pool=None) -> np.ndarray:
        if pool is None:
            c = rng.integers(1, 46, (n, 3))
        else:
            c = pool[rng.integers(0, len(pool), (n, 3))]
        m = rng.random(n)
        c[m >= multi, 1] = 0
        c[m >= multi / 2, 2] = 0
        return c

    def industry_classes(self, rng, n, industry, first_core=None, multi=0.15) -> np.ndarray:
        lx = self.lx
        cnt = lx["ind_n"][industry]
        c = np.stack([lx["ind_cls"][industry, (rng.random(n) * cnt).astype(np.int64)] for _ in range(3)], axis=1)
        if first_core is not None:
            c[first_core, 0] = lx["ind_cls"][industry[first_core], 0]
        m = rng.random(n)
        c[m >= multi, 1] = 0
        c[m >= multi / 2.5, 2] = 0
        return c

    def related(self, rng, cls: np.ndarray, p_same: float) -> np.ndarray:
        lx = self.lx
        n = len(cls)
        r = lx["rel"][cls, (rng.random(n) * lx["rel_n"][cls]).astype(np.int64)]
        return np.where(rng.random(n) < p_same, cls, r)

    def buyers(self, rng, n):
        """Fresh assignees (not applicants): scattered companies and individuals."""
        trade, py = self.alloc_trade(rng, n, p2=0.0, p4=0.2, unique=False)
        comp = self.cn_companies(rng, n, trade=trade, trade_py=py)
        ppl = self.people(rng, n)
        isc = rng.random(n) < 0.65
        return _pick(isc, comp["name"], ppl["name"]), _pick(isc, comp["addr"], ppl["addr"])


def _dates_uniform(rng, n, lo=_D0, hi=_D1):
    return rng.integers(lo, hi + 1, n)


def _after(rng, d, lo=120, hi=700):
    """A date 'lo..hi' days after ``d`` (squeezed into the window when ``d`` is recent)."""
    d = np.asarray(d, dtype=np.int64)
    a = np.minimum(d + lo, _D1)
    b = np.minimum(d + hi, _D1)
    return a + (rng.random(len(d)) * (b - a + 1)).astype(np.int64)


def _local_rank(counts: np.ndarray) -> np.ndarray:
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - starts


# ----------------------------------------------------------------------------------------------
# blocks


def _block_normal(w: _World, target: int):
    rng = w.rng("normal")
    lx = w.lx
    # entity mix by count: companies 55%, individuals 38%, foreign 5%, other (co-ops, associations) 2%
    mean = 0.55 * 3.4 + 0.38 * 1.4 + 0.05 * 3.0 + 0.02 * 2.0
    m = int(target / mean * 1.15) + 20
    typ = rng.choice(4, m, p=[0.55, 0.38, 0.05, 0.02])
    counts = np.where(typ == 0, np.clip(np.round(rng.lognormal(0.85, 0.75, m)), 1, 15),
                      np.where(typ == 1, rng.choice([1, 2, 3], m, p=[0.72, 0.21, 0.07]),
                               np.clip(np.round(rng.lognormal(0.8, 0.7, m)), 1, 10))).astype(np.int64)
    cs = np.cumsum(counts)
    k = int(np.searchsorted(cs, target)) + 1
    typ, counts = typ[:k], counts[:k].copy()
    counts[-1] -= int(cs[k - 1] - target)
    keep = counts > 0
    typ, counts = typ[keep], counts[keep]
    src = None
    for t, label in ((0, "company"), (1, "individual"), (2, "foreign"), (3, "other")):
        sel = typ == t
        n = int(sel.sum())
        if n == 0:
            continue
        c = counts[sel]
        r = w.rng("normal", label)
        if t == 0:
            e = w.cn_companies(r, n)
        elif t == 1:
            e = w.people(r, n)
        elif t == 2:
            e = w.foreign(r, n)
        else:
            e = w.cn_companies(r, n, industry=r.choice([26, 19, 32, 33, 36], n))
            area_i = lx["area_start"][e["city_i"]] + (r.random(n) * lx["area_count"][e["city_i"]]).astype(np.int64)
            area = pc.utf8_slice_codeunits(_take(_s(lx["areas"]), area_i), 0, 3)
            suf = _take(_s(["种植专业合作社", "养殖专业合作社", "行业协会", "技术研究院", "农产品专业合作社"]),
                        r.integers(0, 5, n))
            e["name"] = _cat(area, e["trade"], suf)
            e["type"] = "other"
        agent = w.pick_agents(r, n, direct=0.0 if t == 2 else 0.12)
        ents = w.add_entities(e, "normal", agent)
        rows = _normal_apps(w, r, e, ents, c, t)
        if t == 0:
            src = rows
    return src


def _normal_apps(w: _World, r, e: dict, ents: np.ndarray, counts: np.ndarray, t: int, kind_dates=None,
                 profile="normal", fashion=None):
    """Normal filing behaviour for a set of entities; returns (rows, marks, ...) of house-mark filings."""
    n_app = int(counts.sum())
    loc = np.repeat(np.arange(len(ents)), counts)
    rank = _local_rank(counts)
    start = _dates_uniform(r, len(ents), _D0, _D1 - 30) if kind_dates is None else kind_dates
    span = np.minimum(r.integers(60, 1100, len(ents)), _D1 - start)
    off = (r.random(n_app) * span[loc]).astype(np.int64)
    off = np.where(rank == 0, 0, off)
    same_day = (r.random(n_app) < 0.25) & (rank > 0)
    off = np.where(same_day, 0, off)
    date = start[loc] + off
    u = r.random(n_app)
    first = rank == 0
    nul = pa.array([""] * n_app, pa.string())
    if t in (0, 3):  # Chinese companies / co-ops: house mark, pinyin, sub-brands, coined, figurative
        trade = _take(e["trade"], loc)
        py = _take(e["trade_py"], loc)
        suffix = _take(_s(T.SUB_SUFFIX), r.integers(0, len(T.SUB_SUFFIX), n_app))
        coined = w.coined(r, n_app, latin_share=0.15)
        kind = np.where(first, np.where(u < 0.86, 0, np.where(u < 0.95, 1, 4)),
                        np.select([u < 0.3, u < 0.42, u < 0.67, u < 0.9], [0, 1, 2, 3], 4))
        mark = _pick(kind == 0, trade, _pick(kind == 1, py, _pick(kind == 2, _cat(trade, suffix),
                                                                  _pick(kind == 3, coined, nul))))
        cls = w.industry_classes(r, n_app, e["industry"][loc], first_core=np.flatnonzero(first))
    elif t == 1:  # individuals
        sur = pc.utf8_slice_codeunits(_take(e["name"], loc), 0, 1)
        shop = _cat(sur, _take(_s(["记", "家", "氏", "小馆", "师傅", "老铺"]), r.integers(0, 6, n_app)))
        coined = w.coined(r, n_app, latin_share=0.12)
        own = _take(e["name"], loc)
        mark = _pick(u < 0.55, coined, _pick(u < 0.8, shop, _pick(u < 0.9, own, nul)))
        kind = np.full(n_app, 3)
        cls = w.industry_classes(r, n_app, e["industry"][loc], multi=0.05)
    else:  # foreign companies: house word, coined Latin, figurative
        house = _take(e["house"], loc)
        coined = w.coined(r, n_app, latin_share=1.0)
        kind = np.where(first | (u < 0.55), 0, np.where(u < 0.9, 3, 4))
        mark = _pick(kind == 0, house, _pick(kind == 3, coined, nul))
        cls = w.industry_classes(r, n_app, e["industry"][loc], first_core=np.flatnonzero(first), multi=0.35)
    if fashion is not None:
        word, fdate = fashion
        fw = _take(word, loc)
        is_f = (rank > 0) & (r.random(n_app) < 0.6)
        mark = _pick(is_f, _cat(_take(e["trade"], loc), fw), mark)
        date = np.where(is_f, np.maximum(date, fdate[loc] + r.integers(0, 420, n_app)), date)
    rows = w.add_apps(r, ents[loc], date, mark, cls, profile)
    # ordinary business transfers (~1% of registered marks)
    b, _ = w.app_block(rows)
    tr = (b["status"] == REGISTERED) & (r.random(n_app) < 0.012)
    idx = np.flatnonzero(tr)
    if len(idx):
        buyer, baddr = w.buyers(r, len(idx))
        w.add_transfers(rows[idx], b["reg"][idx] + r.integers(30, 900, len(idx)), _take(e["name"], loc[idx]),
                        buyer, baddr)
    if t == 0:
        house = first & (kind == 0)
        hi = np.flatnonzero(house)
        return dict(rows=rows[hi], mark=_take(mark, hi), date=date[hi], cls=cls[hi, 0], ent=ents[loc[hi]],
                    py_rows=rows[np.flatnonzero(kind == 1)], py_mark=_take(mark, np.flatnonzero(kind == 1)),
                    py_date=date[kind == 1], py_cls=cls[kind == 1, 0], status=b["status"][hi],
                    py_status=b["status"][kind == 1])
    return None


def _block_plain(w: _World, kind: str, target: int):
    """Hard negatives that file normally: name_variant, fashion_word, common_name, shared_address."""
    rng = w.rng(kind)
    lx = w.lx
    if target <= 0:
        return
    if kind == "common_name":
        n = max(4, target // 2)
        counts = _split(rng, target, n, 1, 0.5)
        pool = T.COMMON_FULL_NAMES[: max(2, min(len(T.COMMON_FULL_NAMES), n // 3))]
        names = _take(_s(pool), np.arange(n) % len(pool))
        e = w.people(rng, n, names=names)
        ents = w.add_entities(e, kind, w.pick_agents(rng, n))
        _normal_apps(w, rng, e, ents, counts, 1)
        return
    n = max(3, target // 4)
    counts = _split(rng, target, n, 1, 0.6)
    if kind == "name_variant":
        nf = max(1, n // 4)
        for part, m in (("zh", n - nf), ("latin", nf)):
            r = w.rng(kind, part)
            c = counts[:m] if part == "zh" else counts[n - nf:]
            c = np.maximum(c, 3)
            e = w.cn_companies(r, m) if part == "zh" else w.foreign(r, m)
            ents = w.add_entities(e, kind, w.pick_agents(r, m, direct=0.0 if part == "latin" else 0.1))
            rows = _normal_apps(w, r, e, ents, c, 0 if part == "zh" else 2)
            del rows
            b = w.app[-1]
            var, ne = w.variants(e)
            loc = np.searchsorted(ents, b["ent"])
            t = np.where(r.random(len(loc)) < 0.35, 0, r.integers(1, 7, len(loc)))
            b["name"] = _take(var, t * ne + loc)
        return
    if kind == "fashion_word":
        e = w.cn_companies(rng, n)
        ents = w.add_entities(e, kind, w.pick_agents(rng, n))
        fi = rng.integers(0, len(T.FASHION_WORDS), n)
        fdate = np.array([int(np.datetime64(d, "D").astype(np.int64)) for _, d in T.FASHION_WORDS])[fi]
        fdate = np.minimum(fdate, _D1 - 60)
        counts = np.maximum(counts, 2)
        start = np.minimum(fdate - rng.integers(0, 500, n), _D1 - 60)
        start = np.maximum(start, _D0 + rng.integers(0, 400, n))
        _normal_apps(w, rng, e, ents, counts, 0, kind_dates=np.maximum(start, _D0),
                     fashion=(_take(_s([f for f, _ in T.FASHION_WORDS]), fi), fdate))
        return
    if kind == "shared_address":
        n_c = max(2, n // 25)
        city = rng.choice(len(lx["cities"]), n_c, p=lx["city_w"])
        base, _ = w.cn_address(rng, city)
        # strip the room part: centre address = road + number + centre name
        centre = _cat(pc.replace_substring_regex(base, r"号.*$", "号"),
                      _take(_s(T.BUSINESS_CENTRES), rng.integers(0, len(T.BUSINESS_CENTRES), n_c)))
        ci = rng.integers(0, n_c, n)
        e = w.cn_companies(rng, n, city_i=city[ci])
        room = _cat(_take(_s(["A", "B", "C", "D"]), rng.integers(0, 4, n)), _num(rng.integers(101, 2999, n)), "室")
        u = rng.random(n)
        e["addr"] = _pick(u < 0.4, _take(centre, ci), _pick(u < 0.8, _cat(_take(centre, ci), room),
                                                            _cat(_take(centre, ci), "（集群注册）")))
        ents = w.add_entities(e, kind, w.pick_agents(rng, n))
        _normal_apps(w, rng, e, ents, counts, 0)
        return
    raise ValueError(kind)


def _block_large(w: _World, target: int):
    rng = w.rng("large_portfolio")
    lx = w.lx
    n_fam = max(1, round(target / 400))
    vol = _split(rng, target, n_fam, min(60, target // n_fam), 0.5)
    n_sub = rng.integers(2, 6, n_fam)
    parents_trade, parents_py = w.alloc_trade(rng, n_fam, p2=0.9, p4=0.0)
    industry = rng.integers(0, len(T.INDUSTRIES), n_fam)
    # entities: parent + subsidiaries sharing the trade name
    fam = np.repeat(np.arange(n_fam), n_sub + 1)
    is_parent = _local_rank(n_sub + 1) == 0
    m = len(fam)
    ind = np.where(is_parent, industry[fam], rng.integers(0, len(T.INDUSTRIES), m))
    legal = np.where(is_parent, 3, 0)
    trade = _take(parents_trade, fam)
    e = w.cn_companies(rng, m, industry=ind, trade=trade, trade_py=_take(parents_py, fam), legal=legal)
    e["name"] = _pick(is_parent, _cat(e["prefix"], trade, "集团股份有限公司"), e["name"])
    group = np.flatnonzero(is_parent)[fam]
    ents = w.add_entities(e, "large_portfolio", w.pick_agents(rng, m, direct=0.0), group=group, large=1)
    first_ent = np.flatnonzero(is_parent)
    # applications per family: house-mark sweep of all 45 classes + sub-brands + subsidiaries' marks
    e_rows, marks, cls, dates = [], [], [], []
    subs_brand = _s(T.SUB_SUFFIX)
    for f in range(n_fam):
        p = first_ent[f]
        v = int(vol[f])
        sweep = min(45, v)
        d0 = int(rng.integers(_D0, _D1 - 400))
        sub_ents = np.arange(p + 1, p + 1 + n_sub[f])
        rest = v - sweep
        n_py = min(rest, 15)
        rest -= n_py
        n_par = rest // 2
        n_sb = rest - n_par
        ent_f = np.concatenate([np.full(sweep + n_py + n_par, p), rng.choice(sub_ents, n_sb)])
        tr = trade[p].as_py()
        py = e["trade_py"][p].as_py()
        brand_ids = rng.integers(0, len(T.SUB_SUFFIX), 8)
        brands = [tr + subs_brand[int(b)].as_py() for b in brand_ids]
        mk = [tr] * sweep + [py] * n_py + [brands[i] for i in rng.integers(0, 8, n_par)]
        mk += [tr if rng.random() < 0.4 else brands[int(rng.integers(0, 8))] for _ in range(n_sb)]
        cl = np.concatenate([
            rng.permutation(np.arange(1, 46))[:sweep],
            lx["ind_cls"][industry[f], rng.integers(0, lx["ind_n"][industry[f]], n_py)],
            lx["ind_cls"][industry[f], rng.integers(0, lx["ind_n"][industry[f]], n_par)],
            lx["ind_cls"][ind[ent_f[sweep + n_py + n_par:]], rng.integers(0, 3, n_sb)],
        ])
        dt = np.concatenate([d0 + rng.integers(0, 3, sweep), d0 + rng.integers(0, 200, n_py),
                             rng.integers(_D0, _D1, n_par + n_sb)])
        e_rows.append(ents[ent_f])
        marks += mk
        cls.append(cl)
        dates.append(dt)
    ent_all = np.concatenate(e_rows)
    rows = w.add_apps(rng, ent_all, np.concatenate(dates), _s(marks), np.concatenate(cls), "large")
    b, _ = w.app_block(rows)
    # transfers inside the family: parent -> subsidiaries
    fam_of_ent = fam[ent_all - ents[0]]
    parent_app = is_parent[ent_all - ents[0]]
    tsel = np.flatnonzero(parent_app & (b["status"] == REGISTERED) & (rng.random(len(rows)) < 0.2))
    if len(tsel):
        sub_pick = first_ent[fam_of_ent[tsel]] + 1 + (rng.random(len(tsel)) * n_sub[fam_of_ent[tsel]]).astype(np.int64)
        w.add_transfers(rows[tsel], b["reg"][tsel] + rng.integers(30, 700, len(tsel)),
                        _take(e["name"], ent_all[tsel] - ents[0]), _take(e["name"], sub_pick), _take(e["addr"], sub_pick))


def _block_protected_owner(w: _World, target: int, prot: list[dict]):
    rng = w.rng("protected_owner")
    owners = list(dict.fromkeys(p["owner"] for p in prot))
    n = min(len(owners), max(5, round(target / 25)))
    order = rng.permutation(len(owners))[:n]
    chosen = [owners[i] for i in sorted(order)]
    counts = _split(rng, target, n, 3, 0.7)
    by_owner: dict[str, list[dict]] = {}
    for p in prot:
        by_owner.setdefault(p["owner"], []).append(p)
    cn = [o for o in chosen if by_owner[o][0]["country"] == "CN"]
    fo = [o for o in chosen if by_owner[o][0]["country"] != "CN"]
    ent_names, ent_addr, ent_country, city = [], [], [], []
    if cn:
        e = w.cn_companies(rng, len(cn))
        ent_names.append(_s(cn))
        ent_addr.append(e["addr"])
        ent_country += ["CN"] * len(cn)
        city.append(e["city_i"])
    if fo:
        e2 = w.foreign(rng, len(fo))
        ent_names.append(_s(fo))
        ent_addr.append(e2["addr"])
        ent_country += [by_owner[o][0]["country"] for o in fo]
        city.append(np.full(len(fo), -1))
    allo = cn + fo
    ent = dict(name=pa.concat_arrays(ent_names), addr=pa.concat_arrays(ent_addr), country=_s(ent_country),
               type="company", city_i=np.concatenate(city))
    agent = w.pick_agents(rng, n, direct=0.0)
    ents = w.add_entities(ent, "protected_owner", agent, large=1)
    counts = counts[[chosen.index(o) for o in allo]]
    # each owner's protected rows: marks, script, classes (padded table)
    rows_of = [[i for i, p in enumerate(prot) if p["owner"] == o] for o in allo]
    r_off = np.cumsum([len(r) for r in rows_of]) - np.array([len(r) for r in rows_of])
    r_cnt = np.array([len(r) for r in rows_of])
    flat = [i for r in rows_of for i in r]
    pmark = _s(prot[i]["mark"] for i in flat)
    pzh = np.array([prot[i]["script"] == "zh" for i in flat])
    mx = max(len(p["classes"]) for p in prot)
    pcls = np.zeros((len(flat), mx), dtype=np.int64)
    pcn = np.array([len(prot[i]["classes"]) for i in flat])
    for j, i in enumerate(flat):
        pcls[j, : len(prot[i]["classes"])] = prot[i]["classes"]
    n_app = int(counts.sum())
    loc = np.repeat(np.arange(len(allo)), counts)
    k = r_off[loc] + (rng.random(n_app) * r_cnt[loc]).astype(np.int64)
    base = _take(pmark, k)
    tail = _pick(pzh[k], _take(_s(T.SUB_SUFFIX), rng.integers(0, len(T.SUB_SUFFIX), n_app)),
                 _cat(" ", _take(_s(T.AFFIX_LATIN), rng.integers(0, len(T.AFFIX_LATIN), n_app))))
    u = rng.random(n_app)
    mark = _pick(u < 0.7, base, _pick(u < 0.9, _cat(base, tail), pa.array([""] * n_app, pa.string())))
    cls = np.where(rng.random(n_app) < 0.8, pcls[k, (rng.random(n_app) * pcn[k]).astype(np.int64)],
                   rng.integers(1, 46, n_app))
    alt_names = [o.replace("股份有限公司", "有限公司") if o.endswith("股份有限公司") else o.upper().replace(".", "")
                 for o in allo]
    names = _pick(rng.random(n_app) < 0.12, _take(_s(alt_names), loc), _take(_s(allo), loc))
    w.add_apps(rng, ents[loc], _dates_uniform(rng, n_app), mark, cls, "large", name=names)


def _block_place_trade(w: _World, target: int):
    rng = w.rng("place_trade_name")
    lx = w.lx
    n = max(2, target // 6)
    counts = _split(rng, target, n, 2, 0.6)
    cores = lx["place_cores"]
    cidx = {c: i for i, c in enumerate(lx["city_core"])}
    core_city = np.array([cidx[c] for c in cores])
    place = rng.integers(0, len(cores), n)
    # True: 同仁堂-like (place + trade + industry); False: 青岛啤酒-like (place + product), unique pairs
    flavour = rng.random(n) < 0.5
    pairs = rng.permutation(len(cores) * len(T.PLACE_PRODUCTS))
    pf = np.flatnonzero(~flavour)
    flavour[pf[len(pairs):]] = True
    pf = pf[: len(pairs)]
    place[pf] = pairs[: len(pf)] // len(T.PLACE_PRODUCTS)
    prod_i = rng.integers(0, len(T.PLACE_PRODUCTS), n)
    prod_i[pf] = pairs[: len(pf)] % len(T.PLACE_PRODUCTS)
    city_i = core_city[place]
    pl = _take(_s(cores), place)
    e = w.cn_companies(rng, n, city_i=city_i, legal=np.where(flavour, 0, 2))
    prod = _take(_s(T.PLACE_PRODUCTS), prod_i)
    trade3 = pc.utf8_slice_codeunits(_cat(e["trade"], "堂"), 0, 3)
    own = _pick(flavour, _cat(pl, trade3), _cat(pl, prod))
    e["name"] = _pick(flavour, _cat(pl, trade3, e["ind"], "有限公司"), _cat(pl, prod, "股份有限公司"))
    e["trade"] = own
    py = w.lx["char_py"]
    e["trade_py"] = _s("".join(py.get(ch, ch) for ch in s).upper() for s in own.to_pylist())
    ents = w.add_entities(e, "place_trade_name", w.pick_agents(rng, n, direct=0.0))
    _normal_apps(w, rng, e, ents, counts, 0, kind_dates=_dates_uniform(rng, n, _D0, _D0 + 700))


def _block_hoarder(w: _World, target: int):
    rng = w.rng("hoarder")
    mean = min(300, 60 + 30 * math.log2(max(1.0, w.N / 2000)))
    n = max(2, round(target / mean))
    counts = _split(rng, target, n, 30, 0.5)
    person = rng.random(n) < 0.25
    person[0] = True
    e, ec, ep = _mixed_parties(w, rng, person)
    ents = w.add_entities(e, "hoarder", w.pick_agents(rng, n, direct=0.3, small=True))
    _hoard_apps(w, rng, ents, counts, e["name"], sweep=rng.random(n) < 0.35, profile="hoard")


def _hoard_apps(w, rng, ents, counts, names, sweep, profile, bursts=None, loc_group=None):
    n = len(ents)
    n_app = int(counts.sum())
    loc = np.repeat(np.arange(n), counts)
    rank = _local_rank(counts)
    n_marks = np.maximum(3, counts // 2)
    pool_off = np.cumsum(n_marks) - n_marks
    pool = w.coined(rng, int(n_marks.sum()), latin_share=0.45)
    j = (rng.random(n_app) * n_marks[loc]).astype(np.int64)
    sw = sweep[loc] & (rank < 45) & (counts[loc] >= 60)
    j = np.where(sw, 0, j)
    mark = _take(pool, pool_off[loc] + j)
    cls = w.random_classes(rng, n_app, multi=0.25)
    cls[sw, 0] = rank[sw] + 1
    cls[sw, 1:] = 0
    # bursts: 2–8 burst days per actor (or per shell group), filings within 0–4 days of one
    g = loc if loc_group is None else loc_group[loc]
    ng = int(g.max()) + 1
    centres = rng.integers(_D0, _D1 - 5, (ng, 8)) if bursts is None else bursts
    nb = rng.integers(2, 9, ng)
    b = (rng.random(n_app) * nb[g]).astype(np.int64)
    b = np.where(sw, 0, b)
    date = centres[g, b] + rng.integers(0, 5, n_app)
    rows = w.add_apps(rng, ents[loc], date, mark, cls, profile)
    bl, _ = w.app_block(rows)
    sel = np.flatnonzero((bl["status"] == REGISTERED) & (rng.random(n_app) < 0.08))
    if len(sel):
        buyer, baddr = w.buyers(rng, len(sel))
        w.add_transfers(rows[sel], bl["reg"][sel] + rng.integers(10, 300, len(sel)), _take(names, loc[sel]),
                        buyer, baddr)
    _some_decisions(w, rng, ents, rows, loc, 0.2, ["bad_faith_refusal", "invalidation"], names)
    return rows, loc


def _some_decisions(w, rng, ents, rows, loc, share, kinds, names):
    n = len(ents)
    cnt_all = np.bincount(loc, minlength=n)
    hit = np.flatnonzero((rng.random(n) < share) & (cnt_all > 0))
    if not len(hit):
        return
    first = np.searchsorted(loc, hit)
    cnt = cnt_all[hit]
    pick = first + (rng.random(len(hit)) * cnt).astype(np.int64)
    b, off = w.app_block(rows[pick])
    kk = [kinds[int(i)] for i in rng.integers(0, len(kinds), len(hit))]
    date = _after(rng, b["date"][off])
    city = np.concatenate([x["city"] for x in w.ent])[ents[hit]] if w.ent else np.zeros(len(hit), np.int64)
    _apply_decision_status(b, off, kk)
    w.add_decisions(rng, ents[hit], _take(names, hit), city, kk, date, rows[pick])


def _apply_decision_status(b, off, kinds):
    for o, k in zip(off, kinds, strict=True):
        if k == "bad_faith_refusal":
            b["status"][o] = REFUSED
            b["reg"][o] = -1
        elif k == "invalidation":
            b["status"][o] = INVALIDATED
            if b["reg"][o] < 0:
                b["reg"][o] = min(int(b["date"][o]) + 200, _D1)


def _block_shell(w: _World, target: int):
    rng = w.rng("shell_hoarder")
    lx = w.lx
    mean = min(400, 90 + 25 * math.log2(max(1.0, w.N / 2000)))
    n_act = max(1, round(target / mean))
    vol = _split(rng, target, n_act, 24, 0.4)
    shells = np.minimum(rng.integers(3, 9, n_act), np.maximum(3, vol // 8))
    act = np.repeat(np.arange(n_act), shells)
    m = len(act)
    counts = np.concatenate([_split(rng, int(vol[a]), int(shells[a]), 6, 0.5) for a in range(n_act)])
    city = rng.choice(len(lx["cities"]), n_act, p=lx["city_w"])
    e = w.cn_companies(rng, m, city_i=city[act])
    base, _ = w.cn_address(rng, city)
    base_l = base.to_pylist()
    prov = [lx["provinces"][lx["city_prov"][c]] for c in city]
    phone = [f"1{rng.integers(30, 99)}{rng.integers(10_000_000, 99_999_999)}" for _ in range(n_act)]
    rank = _local_rank(shells)
    addrs = []
    for i in range(m):
        a, r = int(act[i]), int(rank[i])
        s = base_l[a]
        v = (r + a) % 6
        if v == 1:
            s = s.replace("室", "号") if "室" in s else s + "之一"
        elif v == 2:
            s = s.translate(_FULLWIDTH)
        elif v == 3 and not lx["muni"][city[a]]:
            s = s[len(prov[a]):]
        elif v == 4:
            s = f"{s}（联系电话：{phone[a]}）"
        elif v == 5:
            s = f"{s}（电话{phone[a][:7]}）"
        addrs.append(s)
    e["addr"] = _s(addrs)
    agent = w.pick_agents(rng, n_act, direct=0.2, small=True)[act]
    group = np.flatnonzero(rank == 0)[act]
    ents = w.add_entities(e, "shell_hoarder", agent, group=group)
    bursts = rng.integers(_D0, _D1 - 5, (n_act, 8))
    _hoard_apps(w, rng, ents, counts, e["name"], sweep=np.zeros(m, bool), profile="hoard", bursts=bursts,
                loc_group=act)


def _copy_sources(w: _World, prot: list[dict], normal_src: dict, rng) -> dict:
    """Candidate originals with one precomputed variant per trick."""
    lx = w.lx
    R = random.Random(int(rng.integers(0, 2**31)))
    src_marks, src_alt, src_cls, src_date, src_kind = [], [], [], [], []
    protected_marks = {p["mark"] for p in prot}
    for p in prot:
        alt = p["alt"] if p["alt"] and p["alt"] not in protected_marks else ""
        src_marks.append(p["mark"])
        src_alt.append(alt)
        src_cls.append(p["classes"])
        src_date.append(_D0 - 1)
        src_kind.append(0)
    n_prot = len(src_marks)
    ns = normal_src
    ok = np.flatnonzero((ns["date"] <= _D1 - 240) & (ns["status"] == REGISTERED))
    ok_py = np.flatnonzero((ns["py_date"] <= _D1 - 240) & (ns["py_status"] == REGISTERED))
    k = min(len(ok), 1500 + w.N // 1000)
    k_py = min(len(ok_py), k // 4)
    pick = np.sort(rng.choice(ok, k, replace=False)) if k else ok[:0]
    pick_py = np.sort(rng.choice(ok_py, k_py, replace=False)) if k_py else ok_py[:0]
    mk = ns["mark"].take(pa.array(pick)).to_pylist() + ns["py_mark"].take(pa.array(pick_py)).to_pylist()
    src_marks += mk
    src_alt += [""] * len(mk)
    src_cls += [(int(c),) for c in np.concatenate([ns["cls"][pick], ns["py_cls"][pick_py]])]
    src_date += np.concatenate([ns["date"][pick], ns["py_date"][pick_py]]).tolist()
    src_kind += [1] * len(mk)
    avail = np.zeros((len(src_marks), len(COPY_TRICKS)), dtype=bool)
    var = []
    for i, (m, a) in enumerate(zip(src_marks, src_alt, strict=True)):
        v = _trick_variants(m, a, R, lx)
        row = []
        for t, trick in enumerate(COPY_TRICKS):
            s = v.get(trick)
            if s and (trick == "exact" or s not in protected_marks):
                avail[i, t] = True
            row.append(s or "")
        var.append(row)
    return dict(marks=src_marks, cls=src_cls, date=np.array(src_date), kind=np.array(src_kind), n_prot=n_prot,
                avail=avail, var=_s([x for row in var for x in row]), n=len(src_marks))


def _copy_apps(w, rng, ents, counts, names, sources, p_protected, tricks_w=_TRICK_W, profile="copy"):
    n_app = int(counts.sum())
    loc = np.repeat(np.arange(len(ents)), counts)
    S = sources
    use_prot = rng.random(n_app) < p_protected[loc]
    n_norm = S["n"] - S["n_prot"]
    if n_norm <= 0:
        use_prot[:] = True
    # each copycat copies from a limited set of owners
    src = np.where(use_prot, rng.integers(0, S["n_prot"], n_app),
                   S["n_prot"] + rng.integers(0, max(1, n_norm), n_app))
    weights = S["avail"][src] * tricks_w[None, :]
    cum = np.cumsum(weights, axis=1)
    u = rng.random(n_app) * cum[:, -1]
    trick = (cum < u[:, None]).sum(axis=1)
    mark = _take(S["var"], src * len(COPY_TRICKS) + trick)
    base_cls = _cls_vector(S, src, rng)
    cls = w.related(rng, base_cls, 0.75)
    sd = S["date"][src]
    later = sd + 60 + (rng.random(n_app) * np.clip(_D1 - sd - 60, 1, 1000)).astype(np.int64)
    date = np.where(sd < _D0, _dates_uniform(rng, n_app), np.minimum(later, _D1))
    orig = _take(_s(S["marks"]), src)
    rows = w.add_apps(rng, ents[loc], date, mark, cls, profile, trick=_take(_s(COPY_TRICKS), trick), orig=orig)
    return rows, loc


def _mixed_parties(w: _World, rng, person: np.ndarray) -> tuple[dict, dict, dict]:
    """Entity columns for a mix of natural persons (where ``person``) and Chinese companies.

    Returns (entity columns for ``add_entities``, the company draw, the person draw)."""
    n = len(person)
    ec = w.cn_companies(rng, n)
    ep = w.people(rng, n)
    e = dict(name=_pick(person, ep["name"], ec["name"]), addr=_pick(person, ep["addr"], ec["addr"]), country="CN",
             type=_pick(person, pa.array(["individual"] * n), pa.array(["company"] * n)), city_i=ec["city_i"])
    return e, ec, ep


def _cls_vector(S, src, rng):
    mx = max(len(c) for c in S["cls"])
    tab = np.zeros((S["n"], mx), dtype=np.int64)
    ln = np.zeros(S["n"], dtype=np.int64)
    for i, c in enumerate(S["cls"]):
        tab[i, : len(c)] = c
        ln[i] = len(c)
    return tab[src, (rng.random(len(src)) * ln[src]).astype(np.int64)]


def _block_copycat(w: _World, target: int, sources: dict):
    rng = w.rng("copycat")
    n = max(3, round(target / 6))
    counts = _split(rng, target, n, 2, 0.7)
    person = rng.random(n) < 0.3
    e, ec, ep = _mixed_parties(w, rng, person)
    ents = w.add_entities(e, "copycat", w.pick_agents(rng, n, direct=0.2, small=True))
    p_prot = np.where(rng.random(n) < 0.5, 0.85, 0.35)
    rows, loc = _copy_apps(w, rng, ents, counts, e["name"], sources, p_prot)
    _some_decisions(w, rng, ents, rows, loc, 0.2, ["invalidation", "infringement_judgment", "bad_faith_refusal"],
                    e["name"])


def _block_squatter(w: _World, target: int):
    rng = w.rng("squatter")
    lx = w.lx
    n = max(3, round(target / 5))
    counts = _split(rng, target, n, 1, 0.8)
    person = rng.random(n) < 0.4
    e, ec, ep = _mixed_parties(w, rng, person)
    ents = w.add_entities(e, "squatter", w.pick_agents(rng, n, direct=0.25, small=True))
    n_app = int(counts.sum())
    loc = np.repeat(np.arange(n), counts)
    pref = rng.dirichlet([4.5, 2.2, 2.0, 1.3], n)
    cum = np.cumsum(pref[loc], axis=1)
    cat = (cum < rng.random(n_app)[:, None]).sum(axis=1).clip(0, 3)
    places = lx["places"]
    pw = lx["place_w"] / lx["place_w"].sum()
    persons = T.PERSONS + T.LATIN_PERSONS
    events = [(t, d) for t, d in T.EVENTS] + list(T.EVENT_PERSONS)
    ev_date = np.array([int(np.datetime64(d, "D").astype(np.int64)) for _, d in events])
    gen = T.GENERIC_TERMS
    pi = rng.choice(len(places), n_app, p=pw)
    qi = rng.integers(0, len(persons), n_app)
    ei = rng.integers(0, len(events), n_app)
    gi = rng.integers(0, len(gen), n_app)
    term = _pick(cat == 0, _take(_s(places), pi), _pick(cat == 1, _take(_s(persons), qi),
                                                        _pick(cat == 2, _take(_s([t for t, _ in events]), ei),
                                                              _take(_s([g for g, _ in gen]), gi))))
    date = _dates_uniform(rng, n_app)
    late = rng.random(n_app) < 0.2
    ed = ev_date[ei] + np.where(late, rng.integers(0, 90, n_app), rng.integers(0, 15, n_app))
    date = np.where(cat == 2, ed, date)
    cls = _POPULAR[rng.integers(0, len(_POPULAR), n_app)]
    cls = np.where(cat == 3, np.array([c for _, c in gen])[gi], cls)
    trick = _take(_s(["place", "person", "event", "generic"]), cat)
    rows = w.add_apps(rng, ents[loc], date, term, cls, "squat", trick=trick, orig=term)
    _some_decisions(w, rng, ents, rows, loc, 0.15, ["bad_faith_refusal", "other"], e["name"])


def _block_trend(w: _World, target: int):
    rng = w.rng("trend_squatter")
    combos = [a + b for a in T.TREND_PREFIX for b in T.TREND_SUFFIX]
    per_trend_hi = min(40, 10 + w.N // 5000)
    apps_per = (10 + per_trend_hi) / 2 * 2.6
    n_tr = int(np.clip(round(target / apps_per), 2, len(combos)))
    terms = [combos[i] for i in rng.permutation(len(combos))[:n_tr]]
    t0 = rng.integers(_D0 + 60, _D1 - 45, n_tr)
    n_per = rng.integers(10, per_trend_hi + 1, n_tr)
    tr = np.repeat(np.arange(n_tr), n_per)
    m = len(tr)
    person = rng.random(m) < 0.35
    e, ec, ep = _mixed_parties(w, rng, person)
    e.update(trade=ec["trade"], trade_py=ec["trade_py"], industry=ec["industry"])
    ents = w.add_entities(e, "trend_squatter", w.pick_agents(rng, m))
    # trend filings: 1–3 classes each, within three weeks of the trend's first filing
    k = rng.choice([1, 2, 3], m, p=[0.55, 0.3, 0.15])
    loc = np.repeat(np.arange(m), k)
    first_of_trend = _local_rank(n_per) == 0
    off = rng.integers(0, 22, m)
    off[first_of_trend] = 0
    date = t0[tr[loc]] + off[loc] + rng.integers(0, 3, len(loc)) * (_local_rank(k) > 0)
    cls = _POPULAR[rng.integers(0, len(_POPULAR), len(loc))]
    term = _take(_s(terms), tr[loc])
    w.add_apps(rng, ents[loc], date, term, cls, "squat", trick=pa.array(["trend"] * len(loc)), orig=term)
    # a few ordinary own filings
    own = np.where(person, 0, rng.choice([0, 1, 2], m, p=[0.4, 0.4, 0.2]))
    sel = np.flatnonzero(own > 0)
    if len(sel):
        sub = {k2: (v.take(pa.array(sel)) if isinstance(v, pa.Array) else (v[sel] if isinstance(v, np.ndarray) else v))
               for k2, v in e.items()}
        _normal_apps(w, rng, sub, ents[sel], own[sel], 0)


def _block_broker(w: _World, target: int):
    rng = w.rng("broker")
    n = max(2, round(target / 18))
    counts = _split(rng, target, n, 5, 0.6)
    agentb = rng.random(n) < 0.2
    agentb[0] = True
    person = (rng.random(n) < 0.3) & ~agentb
    ec = w.cn_companies(rng, n)
    ep = w.people(rng, n)
    ag = rng.integers(min(20, w.n_agents - 1), w.n_agents, n)
    name = _pick(agentb, _take(w.agent_names, ag), _pick(person, ep["name"], ec["name"]))
    e = dict(name=name, addr=_pick(person, ep["addr"], ec["addr"]), country="CN",
             type=_pick(person, pa.array(["individual"] * n), pa.array(["company"] * n)), city_i=ec["city_i"])
    agent = np.where(agentb, ag, w.pick_agents(rng, n, direct=0.3, small=True))
    ents = w.add_entities(e, "broker", agent)
    n_app = int(counts.sum())
    loc = np.repeat(np.arange(n), counts)
    mark = w.coined(rng, n_app, latin_share=0.35)
    cls = w.random_classes(rng, n_app, multi=0.1, pool=_POPULAR)
    date = _dates_uniform(rng, n_app, _D0, _D1 - 200)
    rows = w.add_apps(rng, ents[loc], date, mark, cls, "broker")
    b, _ = w.app_block(rows)
    share = rng.uniform(0.5, 0.9, n)
    ok = np.isin(b["status"], [REGISTERED, PENDING, LAPSED]) & (rng.random(n_app) < share[loc])
    sel = np.flatnonzero(ok)
    when = np.where(b["reg"][sel] > 0, b["reg"][sel] + rng.integers(0, 120, len(sel)),
                    b["date"][sel] + rng.integers(60, 360, len(sel)))
    buyer, baddr = w.buyers(rng, len(sel))
    w.add_transfers(rows[sel], when, _take(name, loc[sel]), buyer, baddr)


def _block_bad_faith(w: _World, target: int, sources: dict):
    rng = w.rng("bad_faith_decided")
    n = max(2, round(target / 15))
    counts = _split(rng, target, n, 4, 0.6)
    person = rng.random(n) < 0.25
    e, ec, ep = _mixed_parties(w, rng, person)
    ents = w.add_entities(e, "bad_faith_decided", w.pick_agents(rng, n, direct=0.2, small=True))
    n_copy = np.round(counts * rng.uniform(0.1, 0.5, n)).astype(np.int64)
    n_hoard = counts - n_copy
    hrows, hloc = _hoard_apps(w, rng, ents, np.maximum(n_hoard, 0), e["name"], sweep=np.zeros(n, bool),
                              profile="hoard") if n_hoard.sum() else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    tw = np.array([0.3, 0, 0, 0.3, 0, 0.25, 0.15, 0])
    crows, cloc = _copy_apps(w, rng, ents, n_copy, e["name"], sources, np.full(n, 0.9), tricks_w=tw, profile="copy")
    # decisions: 1–4 per applicant, some against a name variant
    var_zh, nz = w.variants(ec)
    var_p, npp = w.variants(ep)
    nd = rng.integers(1, 5, n)
    dl = np.repeat(np.arange(n), nd)
    kinds = rng.choice(["bad_faith_refusal", "invalidation", "administrative_penalty", "infringement_judgment"],
                       len(dl), p=[0.45, 0.25, 0.15, 0.15])
    t = np.where(rng.random(len(dl)) < 0.6, 0, rng.integers(1, 7, len(dl)))
    subj = _pick(person[dl], _take(var_p, t * npp + dl), _take(var_zh, t * nz + dl))
    all_rows = np.concatenate([hrows, crows])
    all_loc = np.concatenate([hloc, cloc])
    order = np.argsort(all_loc, kind="stable")
    all_rows, all_loc = all_rows[order], all_loc[order]
    first = np.searchsorted(all_loc, dl)
    cnt = np.bincount(all_loc, minlength=n)[dl]
    pick = all_rows[first + (rng.random(len(dl)) * np.maximum(cnt, 1)).astype(np.int64)]
    # find each picked row's block
    fdate = np.empty(len(pick), np.int64)
    for blk_rows in (hrows, crows):
        if not len(blk_rows):
            continue
        lo, hi = blk_rows.min(), blk_rows.max()
        b = _block_of(w, lo)
        start = _block_start(w, lo)
        inb = (pick >= lo) & (pick <= hi)
        off = pick[inb] - start
        fdate[inb] = b["date"][off]
        _apply_decision_status(b, off, list(kinds[inb]))
    date = _after(rng, fdate)
    linked = np.isin(kinds, ["bad_faith_refusal", "invalidation"]) | (rng.random(len(dl)) < 0.4)
    w.add_decisions(rng, ents[dl], subj, ec["city_i"][dl], list(kinds), date, np.where(linked, pick, -1))


def _block_of(w, row):
    start = 0
    for b in w.app:
        if row < start + len(b["ent"]):
            return b
        start += len(b["ent"])
    raise IndexError(row)


def _block_start(w, row):
    start = 0
    for b in w.app:
        if row < start + len(b["ent"]):
            return start
        start += len(b["ent"])
    raise IndexError(row)


def _noise_decisions(w: _World):
    """A few 'other' decisions against ordinary applicants (not bad faith)."""
    rng = w.rng("noise_decisions")
    kinds = np.concatenate([x["kind"] for x in w.ent])
    names = pa.concat_arrays([x["name"] for x in w.ent])
    city = np.concatenate([x["city"] for x in w.ent])
    normal = np.flatnonzero(kinds == _KIND_ID["normal"])
    k = min(len(normal), max(1, len(normal) // 1000))
    pick = np.sort(rng.choice(normal, k, replace=False))
    w.add_decisions(rng, pick, _take(names, pick), city[pick], ["other"] * k, _dates_uniform(rng, k), np.full(k, -1))


# ----------------------------------------------------------------------------------------------
# assembly and output


def _select_protected(w: _World) -> list[dict]:
    rng = w.rng("protected")
    allp = w.lx["protected"]
    n = int(np.clip(round(200 + 60 * math.log10(max(1.0, w.N / 2000))), 200, len(allp)))
    head = [i for i, p in enumerate(allp) if p["head"]]
    rest = [i for i, p in enumerate(allp) if not p["head"]]
    pick = sorted(head + list(rng.choice(rest, max(0, n - len(head)), replace=False)))
    return [allp[i] for i in pick]


def _public_terms(w: _World) -> pa.Table:
    rng = w.rng("public_terms")
    rows = [(t, "event", d) for t, d in T.EVENTS] + [(t, "person", d) for t, d in T.EVENT_PERSONS]
    lx = w.lx
    for p in rng.choice(lx["places"], 60, replace=False):
        rows.append((str(p), "place", ""))
    for p in T.PERSONS + T.LATIN_PERSONS:  # the regulator's list of public figures (small, curated)
        rows.append((p, "person", ""))
    for g, _ in T.GENERIC_TERMS:
        rows.append((g, "generic", ""))
    rows += [("奥运", "other", ""), ("亚运", "other", ""), ("红十字", "other", "")]
    seen, uniq = set(), []
    for r in rows:
        if r[0] not in seen:
            seen.add(r[0])
            uniq.append(r)
    return pa.table({"term": _s(r[0] for r in uniq), "category": _s(r[1] for r in uniq),
                     "date": pa.array([r[2] or None for r in uniq], pa.string())})


def _date_arr(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int64)
    return pa.array(days.astype(np.int32), pa.int32(), mask=days < 0).cast(pa.date32())


_CHUNK = 1_000_000


def _app_ids(pos: np.ndarray) -> pa.Array:
    """'TM' + 8-digit number for 0-based positions in filing order."""
    return pc.binary_join_element_wise("TM", pc.utf8_lpad(_num(np.asarray(pos) + 1), 8, "0"), "")


def _write(table: pa.Table, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed", include_header=True))


def generate_world(out: Path, n_applications: int, seed: int) -> dict:
    """Write a synthetic labelled world to ``out/dataset`` and ``out/truth``; return summary counts.

    Exactly ``n_applications`` applications are written. Same (n, seed) → byte-identical files.
    """
    t_start = time.perf_counter()
    N = int(n_applications)
    if N < 500:
        raise ValueError(f"n_applications must be >= 500 for a meaningful world; got {n_applications!r}")
    out = Path(out)
    w = _World(N, seed)
    tgt = {k: max(0, round(v * N)) for k, v in _SHARES.items()}
    prot = _select_protected(w)

    _block_large(w, tgt["large_portfolio"])
    _block_protected_owner(w, tgt["protected_owner"], prot)
    _block_place_trade(w, tgt["place_trade_name"])
    for kind in ("name_variant", "fashion_word", "common_name", "shared_address"):
        _block_plain(w, kind, tgt[kind])
    _block_hoarder(w, tgt["hoarder"])
    _block_shell(w, tgt["shell_hoarder"])
    _block_squatter(w, tgt["squatter"])
    _block_trend(w, tgt["trend_squatter"])
    _block_broker(w, tgt["broker"])
    # bad-faith and copycat blocks need earlier marks of normal owners: normal first, sized to fit
    n_copy_like = tgt["copycat"] + tgt["bad_faith_decided"]
    src = _block_normal(w, N - w.n_app - n_copy_like)
    sources = _copy_sources(w, prot, src, w.rng("copy_sources"))
    _block_copycat(w, tgt["copycat"], sources)
    _block_bad_faith(w, N - w.n_app, sources)
    _noise_decisions(w)
    assert w.n_app == N, (w.n_app, N)
    summary = _emit(w, out, prot)
    summary["seconds"] = round(time.perf_counter() - t_start, 2)
    return summary


def _emit(w: _World, out: Path, prot: list[dict]) -> dict:
    rng = w.rng("emit")
    lx = w.lx
    N = w.n_app
    A = w.app
    ent = np.concatenate([b["ent"] for b in A])
    date = np.concatenate([b["date"] for b in A])
    order = np.lexsort((rng.random(N), date))
    inv = np.empty(N, dtype=np.int64)
    inv[order] = np.arange(N)
    E = w.ent
    e_name = pa.concat_arrays([x["name"] for x in E])
    e_addr = pa.concat_arrays([x["addr"] for x in E])
    e_country = pa.concat_arrays([x["country"] for x in E])
    e_type = pa.concat_arrays([x["type"] for x in E])
    e_agent = np.concatenate([x["agent"] for x in E])
    e_kind = np.concatenate([x["kind"] for x in E])
    e_group = np.concatenate([x["group"] for x in E])
    e_large = np.concatenate([x["large"] for x in E])

    def full(key):
        """Per-application column in pre-sort order (null where the block left it to the entity)."""
        parts = []
        for b in A:
            v = b[key]
            v = pa.nulls(len(b["ent"]), pa.string()) if v is None else v
            parts.append(v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v)
        return pa.concat_arrays(parts)

    ent_o = ent[order]
    cls = np.concatenate([b["cls"] for b in A])[order]
    cls = np.where(cls == 0, 99, cls)
    cls.sort(axis=1)
    dup = np.zeros_like(cls, dtype=bool)
    dup[:, 1:] = cls[:, 1:] == cls[:, :-1]
    cls[dup] = 99
    cls.sort(axis=1)
    cls[cls == 99] = 0
    cstr = pa.concat_arrays([_s([str(i) for i in range(46)]), pa.nulls(1, pa.string())])
    # goods: per class a few precomputed item lists, one picked per (application, class)
    G = 24
    combos = []
    for c in range(1, 46):
        items = lx["goods"][c] or [f"第{c}类商品"]
        for _ in range(G):
            k = int(rng.integers(2, min(6, len(items)) + 1)) if len(items) >= 2 else 1
            pick = sorted(rng.choice(len(items), k, replace=False))
            combos.append("；".join(items[i] for i in pick))
    gpool = pa.concat_arrays([_s(combos), pa.nulls(1, pa.string())])
    status = np.concatenate([b["status"] for b in A])[order]
    reg = np.concatenate([b["reg"] for b in A])[order]
    date_o = date[order]
    marks, names, addrs = full("mark"), full("name"), full("addr")
    ds = out / "dataset"
    ds.mkdir(parents=True, exist_ok=True)
    opts = pacsv.WriteOptions(quoting_style="needed", include_header=True)
    writer = None
    for s0 in range(0, N, _CHUNK):
        sl = slice(s0, min(N, s0 + _CHUNK))
        n = sl.stop - sl.start
        o = pa.array(order[sl])
        ec = ent_o[sl]
        c = cls[sl]
        slots = [_take(cstr, np.where(c[:, j] == 0, 46, c[:, j])) for j in range(3)]
        gslots = [_take(gpool, np.where(c[:, j] == 0, 45 * G, (c[:, j] - 1) * G + rng.integers(0, G, n)))
                  for j in range(3)]
        chunk = pa.table({
            "application_id": _app_ids(np.arange(sl.start, sl.stop)),
            "filing_date": _date_arr(date_o[sl]),
            "mark_text": marks.take(o),
            "nice_classes": pc.binary_join_element_wise(*slots, ";", null_handling="skip"),
            "goods_services": pc.binary_join_element_wise(*gslots, "；", null_handling="skip"),
            "applicant_name": pc.coalesce(names.take(o), _take(e_name, ec)),
            "applicant_address": pc.coalesce(addrs.take(o), _take(e_addr, ec)),
            "applicant_country": _take(e_country, ec),
            "applicant_type": _take(e_type, ec),
            "agent_name": _take(w.agent_pool, e_agent[ec]),
            "status": _take(_s(STATUSES), status[sl]),
            "registration_date": _date_arr(reg[sl]),
        })
        if writer is None:
            writer = pacsv.CSVWriter(ds / "applications.csv", chunk.schema, write_options=opts)
        writer.write_table(chunk)
        del chunk, slots, gslots
    writer.close()
    del marks, names, addrs
    # transfers
    if w.trans:
        trow = np.concatenate([t["row"] for t in w.trans])
        tdate = np.concatenate([t["date"] for t in w.trans])
        ta = pa.concat_arrays([t["assignor"] for t in w.trans])
        tb = pa.concat_arrays([t["assignee"] for t in w.trans])
        tc = pa.concat_arrays([t["addr"] for t in w.trans])
        # a transfer cannot precede its filing
        fdate = date[trow]
        tdate = np.maximum(tdate, fdate + 30)
        keep = tdate <= _D1
        pos = inv[trow]
        tord = np.lexsort((pos, tdate))
        tord = tord[keep[tord]]
        tt = pa.table({"application_id": _app_ids(pos[tord]), "transfer_date": _date_arr(tdate[tord]),
                       "assignor_name": _take(ta, tord), "assignee_name": _take(tb, tord),
                       "assignee_address": _take(tc, tord)})
    else:
        tt = pa.table({k: pa.array([], pa.string()) for k in
                       ["application_id", "transfer_date", "assignor_name", "assignee_name", "assignee_address"]})
    _write(tt, ds / "transfers.csv")
    # decisions
    drow = np.concatenate([d["row"] for d in w.dec])
    ddate = np.concatenate([d["date"] for d in w.dec])
    dord = np.lexsort((np.arange(len(ddate)), ddate))
    dpos = np.where(drow < 0, -1, inv[np.maximum(drow, 0)])[dord]
    dapp = pc.if_else(pa.array(dpos >= 0), _app_ids(np.maximum(dpos, 0)), pa.nulls(len(dpos), pa.string()))
    dt = pa.table({
        "subject_name": pa.concat_arrays([d["subject"] for d in w.dec]).take(pa.array(dord)),
        "decision_date": _date_arr(ddate[dord]),
        "kind": pa.concat_arrays([d["kind"] for d in w.dec]).take(pa.array(dord)),
        "authority": pa.concat_arrays([d["auth"] for d in w.dec]).take(pa.array(dord)),
        "reference": pa.concat_arrays([d["ref"] for d in w.dec]).take(pa.array(dord)),
        "application_id": dapp,
    })
    _write(dt, ds / "decisions.csv")
    # reference tables
    pm = pa.table({"mark_text": _s(p["mark"] for p in prot), "owner_name": _s(p["owner"] for p in prot),
                   "nice_classes": _s(";".join(map(str, p["classes"])) for p in prot)})
    _write(pm, ds / "reference" / "protected_marks.csv")
    pt = _public_terms(w)
    _write(pt, ds / "reference" / "public_terms.csv")
    (ds / "README.md").write_text(
        f"# Synthetic trademark dataset\n\nSynthetic, generated by `tmscreen demo-data` with seed {w.seed} "
        f"({N:,} applications). No real applicant is described; place names, goods items and famous marks are "
        "real public vocabulary. Ground truth is in `../truth/`.\n", encoding="utf-8")
    # truth
    n_ent = w.n_ent
    perm = rng.permutation(n_ent)
    eid = pc.binary_join_element_wise("E", pc.utf8_lpad(_num(perm + 1), 8, "0"), "")
    label = np.isin(e_kind, [_KIND_ID[k] for k in ABNORMAL_KINDS]).astype(np.int8)
    kind_s = _s(KINDS)
    trick, orig = full("trick"), full("orig")
    tr = out / "truth"
    tr.mkdir(parents=True, exist_ok=True)
    writer = None
    for s0 in range(0, N, _CHUNK):
        sl = slice(s0, min(N, s0 + _CHUNK))
        o = pa.array(order[sl])
        ec = ent_o[sl]
        chunk = pa.table({
            "application_id": _app_ids(np.arange(sl.start, sl.stop)), "entity_id": _take(eid, ec),
            "group_id": _take(eid, e_group[ec]), "label": pa.array(label[ec]), "kind": _take(kind_s, e_kind[ec]),
            "trick": trick.take(o), "original": orig.take(o),
        })
        if writer is None:
            writer = pacsv.CSVWriter(tr / "applications.csv", chunk.schema, write_options=opts)
        writer.write_table(chunk)
    writer.close()
    eo = np.argsort(perm)
    truth_ent = pa.table({
        "entity_id": _take(eid, eo), "group_id": _take(eid, e_group[eo]), "label": pa.array(label[eo]),
        "kind": _take(kind_s, e_kind[eo]), "canonical_name": _take(e_name, eo), "is_large_legit": pa.array(e_large[eo]),
    })
    _write(truth_ent, tr / "entities.csv")
    # decisions.csv line by line: the entity each decision was issued against (its subject may be a variant).
    dent = np.concatenate([d["ent"] for d in w.dec])[dord]
    _write(pa.table({"decision_row": pa.array(np.arange(len(dent)) + 1), "entity_id": _take(eid, dent)}),
           tr / "decisions.csv")
    (tr / "README.md").write_text(_TRUTH_README.format(seed=w.seed, n=N), encoding="utf-8")
    # summary
    app_kind = e_kind[ent_o]
    per_kind = {}
    for k in KINDS:
        kid = _KIND_ID[k]
        per_kind[k] = {"entities": int((e_kind == kid).sum()), "applications": int((app_kind == kid).sum())}
    n_groups = int(np.count_nonzero(np.bincount(e_group, minlength=n_ent)))
    return {
        "applications": N, "transfers": tt.num_rows, "decisions": dt.num_rows, "entities": int(n_ent),
        "groups": n_groups, "abnormal_entities": int(label.sum()),
        "abnormal_entity_share": round(float(label.mean()), 4),
        "abnormal_application_share": round(float(label[ent_o].mean()), 4),
        "protected_marks": pm.num_rows, "public_terms": pt.num_rows, "agents": int(w.n_agents),
        "max_agent_clients": int(np.bincount(e_agent[e_agent < w.n_agents]).max()),
        "per_kind": per_kind,
    }


_TRUTH_README = """# Ground truth for the synthetic demo world (seed {seed}, {n:,} applications)

Generated by `tmscreen demo-data` together with `../dataset/`. The screening pipeline must never
read these files; they exist to evaluate it.

## applications.csv — one row per application in `../dataset/applications.csv`
| column | meaning |
|---|---|
| application_id | same id as in the dataset |
| entity_id | the real-world applicant (legal person or individual) behind the filed name |
| group_id | related-party group (an actor's shell companies, a corporate family); = entity_id for singletons |
| label | 1 = abnormal (bad-faith) applicant, 0 = legitimate (the applicant's label, repeated per filing) |
| kind | the applicant's kind (see below) |
| trick | copycat trick (exact, edit, confusable, affix, reorder, homophone, shape, transliteration), squat category (place, person, event, generic, trend), or empty |
| original | the copied mark (protected or earlier mark of another owner) or the squatted term; empty otherwise |

## entities.csv — one row per applicant entity
entity_id, group_id, label, kind, canonical_name (the entity's own spelling; filings may use name
variants), is_large_legit (1 for large legitimate portfolios and owners of protected marks).

## decisions.csv — one row per line of the dataset's decisions.csv
decision_row (1-based data row of `dataset/decisions.csv`), entity_id (the entity it was issued against).

## kinds
Abnormal (label 1): `hoarder` (hundreds of coined marks across unrelated classes in bursts, some
all-class sweeps, some natural persons), `shell_hoarder` (one actor split over 3–8 shells sharing a
varied address / phone and one agent; one group), `copycat` (copies of protected marks and of earlier
marks of normal owners, tricks per filing), `squatter` (place names, public figures, events within
days, generic terms), `trend_squatter` (10–40 unrelated applicants filing an invented term on no list
within three weeks), `broker` (files then assigns most marks to scattered buyers; some brokers are
agencies that also act as agents), `bad_faith_decided` (decisions in `decisions.csv`, sometimes
against a name variant, plus hoarding and copies).

Legitimate (label 0): `normal`; hard negatives `large_portfolio` (corporate families with all-class
house-mark sweeps and parent→subsidiary transfers; one group per family), `protected_owner` (owners
of the protected marks filing their own marks), `place_trade_name` (long-standing trade names that
contain a place name), `name_variant` (one company filing under several spellings), `fashion_word`
(own house mark + a fashionable word such as 元宇宙/国潮), `common_name` (different people sharing a
very common name), `shared_address` (unrelated companies registered at one business centre).
Big agencies serve thousands of unrelated clients and are no group.

## what is not an entity here
Assignees in `transfers.csv` are buyers that never file themselves (except the subsidiaries of a
corporate family, which are entities). Decision subjects are entities' names or name variants
(`bad_faith_decided` decisions are sometimes issued against a variant spelling).

## sizes
Proportions scale with N: about 6–7 % of applicant entities are abnormal and they own about 22 % of
the filings. Filing dates run from 2019-07-01 to 2025-12-31; application ids are numbered in filing
order.
"""
