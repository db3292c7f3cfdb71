"""Applicant entity resolution and related-party groups.

Two questions, answered separately:
1. *Which filings come from the same legal person?*  Name variants of one company
   (广东省深圳市X有限公司 / 深圳市X有限责任公司 / X(深圳)有限公司; "Acme Inc." / "The ACME, INC")
   get one ``applicant_key``. A company is keyed by its normalised name core plus its city (Chinese)
   or country (Latin): Chinese company names are unique per registration region, so 深圳华科 and
   广州华科 stay apart. Natural persons are keyed by name plus normalised address: two people
   called 王伟 are different people. A record missing the qualifier (no city / address / country)
   joins the only qualified variant of the same name when exactly one exists.
2. *Which applicants are related parties?*  (2019 Provisions art. 8: volume is judged for the
   applicant and its related parties.) A graph of applicant_keys with evidence on every edge:
   - strong links, enough alone: the same normalised address (down to the room), the same
     phone/contact fragment, one corporate family (the same trade name with a family-declaring
     name or in the same city), coordinated filing (the same mark, or the same address, through the
     same agent within days: shells splitting a mark's classes, a mill's clients at its address);
   - weak links, needing a second, different weak link for the same pair: a transfer between the
     two, the same agent, the same building, the same trade-name core, one filing the other's
     trade name as a mark.
   Hub guard: an address, building, phone or agent shared by more applicants than the configured
   hub size (business centres, incubators, agents with thousands of clients) links nobody.
   Components are computed with scipy.sparse.csgraph (linear, 1M filings in seconds); networkx is
   used only to export one group's evidence graph.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core.config import Config
from core.tables import Tables, arrow_strings, isin, positions_in
from features.lexicons import INDUSTRY_WORDS

DATA_DIR = Path(__file__).resolve().parent.parent / "features" / "data"

# Legal-form suffixes, longest first so 股份有限公司 is removed before 有限公司.
HAN_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "责任公司", "股份公司", "公司")
LATIN_LEGAL_FORMS = (
    "incorporated", "inc", "corporation", "corp", "company", "co", "limited", "ltd", "llc", "l l c", "llp",
    "lp", "plc", "gmbh", "ag", "kg", "sa", "s a", "sas", "sarl", "srl", "spa", "s p a", "bv", "b v", "nv",
    "pty", "kk", "k k", "oy", "ab", "as", "aps", "sl", "se", "co ltd", "pte", "pvt", "private", "g m b h",
    "kabushiki kaisha", "s r l", "s l", "a g", "n v",
)
# Patterns are plain strings so pandas runs them in Arrow (RE2); a compiled Python pattern would
# force a per-value Python fallback.
_LATIN_FORM_RE = r"(?:\s+(?:" + "|".join(sorted(map(re.escape, LATIN_LEGAL_FORMS), key=len, reverse=True)) + r"))+$"
_HAN_FORM_RE = "(?:" + "|".join(HAN_LEGAL_FORMS) + ")$"
_BRACKETS_RE = r"[(\[{【〔]([^)\]}】〕]*)[)\]}】〕]"
_HAN_RE = "[\u4e00-\u9fff]"
_PHONE_RE = re.compile(
    r"(?:(?:联系)?电话|手机|tel|phone|联系方式)\s*[:：]?\s*(\+?\d[\d\- ]{5,}\d)|(?<!\d)(1\d{10}|0\d{2,3}-?\d{7,8})(?!\d)",
    re.IGNORECASE)
_COMPANY_HINT_RE = "公司|厂|中心|集团|商行|店|工作室|研究院|协会|事务所|合作社|大学|学院|医院"
ADDRESS_UNIT_WORDS = {"室": "", "房": "", "单元": "单元", "號": "号", "#": "号"}
LATIN_ADDRESS_ABBREV = {
    "street": "st", "road": "rd", "avenue": "ave", "suite": "ste", "floor": "fl", "building": "bldg",
    "boulevard": "blvd", "drive": "dr", "number": "no",
}


MUNICIPALITIES = ("北京市", "上海市", "天津市", "重庆市", "香港特别行政区", "澳门特别行政区")


@lru_cache(maxsize=1)
def _place_prefixes() -> tuple[frozenset, frozenset, int]:
    """Division names usable as name/address prefixes.

    Returns (names, cities, longest): full names of every level (南山区, 深圳市) and the short
    names of provinces and cities (深圳). Short county names (同仁, 华容) are never stripped: they
    are too often the start of a trade name (北京同仁堂, 华容科技).
    """
    path = DATA_DIR / "cn_divisions.csv"
    if not path.exists():  # only during development before the lexicon is built
        return frozenset(), frozenset(), 0
    div = pd.read_csv(path, dtype=str, keep_default_na=False)
    short_ok = div["short"].str.len() >= 2
    upper = div["level"].isin(["province", "city"])
    names = set(div.loc[div["name"].str.len() >= 2, "name"]) | set(div.loc[upper & short_ok, "short"])
    city_rows = (div["level"] == "city") | div["name"].isin(MUNICIPALITIES)
    cities = set(div.loc[city_rows, "name"]) | set(div.loc[city_rows & short_ok, "short"])
    longest = int(max(div["name"].str.len().max(), 2))
    return frozenset(names), frozenset(cities), longest


def _city_short(s: pd.Series) -> pd.Series:
    """深圳市 → 深圳, 北京 → 北京 (level suffix removed so both spellings compare equal)."""
    return s.str.replace(r"(特别行政区|自治州|地区|市|省|盟)$", "", regex=True)


@lru_cache(maxsize=1)
def _place_prefix_arrays() -> tuple[pa.Array, pa.Array, pa.Array, np.ndarray]:
    """``_place_prefixes`` as Arrow value sets: (names, cities, heads, has_length).

    ``heads`` are the names' distinct first two characters; ``has_length[h, n]`` says whether some
    name starting with head h has n characters, so a string is only looked up at the lengths of
    the names it could start with."""
    names, cities, longest = _place_prefixes()
    heads = sorted({n[:2] for n in names})
    has_length = np.zeros((len(heads), longest + 1), dtype=bool)
    at = {h: i for i, h in enumerate(heads)}
    for n in names:
        has_length[at[n[:2]], len(n)] = True
    return (pa.array(sorted(names), pa.large_string()), pa.array(sorted(cities), pa.large_string()),
            pa.array(heads, pa.large_string()), has_length)


def _bool(arr) -> np.ndarray:
    """An Arrow boolean array as a numpy mask."""
    return arr.to_numpy(zero_copy_only=False).astype(bool)


def _strip_place_prefixes(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Remove leading division names (province, city, district), keeping >= 2 characters.

    Returns (rest, most specific city found). Up to four rounds; in each, a string loses its
    longest leading division name that leaves >= 2 characters, and only strings that lost one go
    on to the next. Vectorised in Arrow: per round, one set look-up per name length, over the
    strings whose first two characters begin some division name.
    """
    names, cities, heads, has_length = _place_prefix_arrays()
    if not len(names):
        return s.copy(), pd.Series("", index=s.index, dtype="str")
    text = arrow_strings(s)
    city = pa.array(np.full(len(text), ""), pa.large_string())
    todo = np.arange(len(text))
    for _ in range(4):
        if not len(todo):
            break
        rows, head, rest = _strip_longest_prefix(text.take(todo), names, heads, has_length)
        rows = todo[rows]
        text = pc.replace_with_mask(text, _mask(len(text), rows), rest)
        is_city = _bool(pc.is_in(head, cities))
        city = pc.replace_with_mask(city, _mask(len(city), rows[is_city]), head.filter(is_city))
        todo = rows
    return pd.Series(text, index=s.index, dtype="str"), _city_short(pd.Series(city, index=s.index, dtype="str"))


def _mask(n: int, rows: np.ndarray) -> pa.Array:
    """Arrow mask of length n, True at ``rows`` (for ``pc.replace_with_mask``)."""
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return pa.array(mask)


def _strip_longest_prefix(text: pa.Array, names: pa.Array, heads: pa.Array, has_length: np.ndarray
                          ) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """One round of ``_strip_place_prefixes``: (positions that start with a name, that name, the
    rest), positions ascending. Tries lengths longest first, each string keeping its first hit."""
    head = pc.index_in(pc.utf8_slice_codeunits(text, 0, 2), heads).fill_null(-1).to_numpy()
    size = pc.utf8_length(text).to_numpy()
    possible = np.where(head[:, None] >= 0, has_length[head], False)  # string × name length
    done = np.zeros(len(text), dtype=bool)
    found = []
    for length in range(has_length.shape[1] - 1, 1, -1):
        at = np.flatnonzero(~done & possible[:, length] & (size >= length + 2))
        if not len(at):
            continue
        cand = text.take(at)
        head = pc.utf8_slice_codeunits(cand, 0, length)
        hit = _bool(pc.is_in(head, names))
        if hit.any():
            done[at[hit]] = True
            found.append((at[hit], head.filter(hit), pc.utf8_slice_codeunits(cand.filter(hit), length)))
    if not found:
        return np.zeros(0, dtype=np.int64), pa.array([], pa.large_string()), pa.array([], pa.large_string())
    rows = np.concatenate([f[0] for f in found])
    order = pa.array(np.argsort(rows, kind="stable"))
    head = pa.concat_arrays([f[1] for f in found]).take(order)
    rest = pa.concat_arrays([f[2] for f in found]).take(order)
    return rows[order.to_numpy()], head, rest


# --------------------------------------------------------------------------- Python regexes in Arrow
# pandas runs a regex in Arrow (RE2) only when RE2 would match the same; patterns with \d or \s
# (ASCII-only in RE2, Unicode in Python) fall back to a Python call per value. The helpers below
# keep Python's meaning in RE2 by spelling \d and \s as the characters of the data at hand that
# Python's classes match: exact for those strings, whatever the Unicode versions.
_NOTHING = r"[^\x00-\x{10FFFF}]"  # an RE2 class that matches no character


def _chars(arr: pa.Array) -> list[str]:
    """The distinct characters of an Arrow string array."""
    arr = arr.cast(pa.large_binary())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    if not len(arr) or offsets[0] == offsets[-1]:
        return []
    text = arr.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]].decode("utf-8")
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    return [chr(c) for c in np.flatnonzero(np.bincount(points))]


def _class_body(arr: pa.Array, python_class: str) -> str:
    """The characters of ``arr`` that the Python regex class matches, as an RE2 class body."""
    return "".join(f"\\x{{{ord(c):x}}}" for c in _chars(arr) if re.fullmatch(python_class, c))


def _to_re2(pattern: str, arr: pa.Array) -> str:
    r"""``pattern`` with \d and \s replaced by the characters of ``arr`` they match in Python."""
    bodies = {tok: _class_body(arr, tok) for tok in (r"\d", r"\s") if tok in pattern}
    out, in_class, i = [], False, 0
    while i < len(pattern):
        tok = pattern[i:i + 2]
        if tok in bodies:
            body = bodies[tok]
            out.append(body if in_class else f"[{body}]" if body else _NOTHING)
            i += 2
            continue
        if pattern[i] == "\\":
            out.append(tok)
            i += 2
            continue
        if pattern[i] == "[" and not in_class:
            in_class = True
        elif pattern[i] == "]" and in_class:
            in_class = False
        out.append(pattern[i])
        i += 1
    return "".join(out)


def _replace(s: pd.Series, pattern: str, repl: str) -> pd.Series:
    """``s.str.replace(pattern, repl, regex=True)`` with Python's meaning, run in Arrow.

    RE2's ``$`` is only the end of the text, Python's also the place before a final newline:
    strings with a newline keep the pandas path."""
    arr = arrow_strings(s)
    if not len(arr) or pc.any(pc.match_substring(arr, "\n")).as_py():
        return s.str.replace(pattern, repl, regex=True)
    return pd.Series(pc.replace_substring_regex(arr, _to_re2(pattern, arr), repl), index=s.index, dtype="str")


def _delete_chars(s: pd.Series, python_class: str) -> pd.Series:
    """``s.str.replace(python_class, "", regex=True)`` for a one-character Python class, in Arrow."""
    arr = arrow_strings(s)
    body = _class_body(arr, python_class)
    if not body:
        return s.astype("str")
    return pd.Series(pc.replace_substring_regex(arr, f"[{body}]+", ""), index=s.index, dtype="str")


def _nfkc(s: pd.Series) -> pd.Series:
    return s.fillna("").astype("str").map(lambda v: unicodedata.normalize("NFKC", v))


def normalize_names(names: pd.Series) -> pd.DataFrame:
    """Normalise applicant names. Returns columns script (han/latin), core, city, company_like.

    Vectorised over the unique values of ``names`` (names repeat a lot).
    """
    uniq = pd.Series(pd.unique(names.fillna("").astype("str")))
    n = _nfkc(uniq).str.strip()
    is_han = n.str.contains(_HAN_RE)
    out = pd.DataFrame({"name": uniq, "script": np.where(is_han, "han", "latin")})
    # Chinese: city in brackets, place prefixes, legal form, spaces and punctuation.
    han = _delete_chars(n[is_han], r"\s")
    bracket = han.str.extract(_BRACKETS_RE, expand=False).fillna("")
    _, cities, _ = _place_prefixes()
    han_wo = han.str.replace(_BRACKETS_RE, "", regex=True)
    company_like = han_wo.str.contains(_COMPANY_HINT_RE)
    core, city = _strip_place_prefixes(han_wo.str.replace(_HAN_FORM_RE, "", regex=True))
    city = city.where(city != "", _city_short(bracket.where(bracket.isin(cities), "")))
    core = _delete_chars(core, r"[^\w\u4e00-\u9fff]")
    # Latin: case, punctuation, "the", legal forms.
    lat = n[~is_han].str.casefold().str.replace(r"[&+]", " and ", regex=True)
    lat = lat.str.replace(r"[^\w\s]", " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    lat_company = lat.str.contains(_LATIN_FORM_RE)
    lat = lat.str.replace(r"^the\s+", "", regex=True).str.replace(_LATIN_FORM_RE, "", regex=True).str.strip()
    out["core"] = pd.concat([core, lat]).reindex(out.index).fillna("")
    out["city"] = pd.concat([city, pd.Series("", index=lat.index)]).reindex(out.index).fillna("")
    out["company_like"] = pd.concat([company_like, lat_company]).reindex(out.index).fillna(False).astype(bool)
    # A name that is nothing but a legal form or punctuation keeps its NFKC text as core.
    out["core"] = out["core"].where(out["core"] != "", n.str.casefold())
    return out


def normalize_addresses(addresses: pd.Series, hub_words: tuple[str, ...] = ()) -> pd.DataFrame:
    """Normalise addresses. Returns columns address, addr_key, building_key, phone, hub_marked.

    Phone/contact numbers are cut out (their first 7 digits kept as a contact fragment: filings
    often carry truncated numbers), bracketed remarks dropped, division prefixes stripped, unit words
    (室/房/号 after the room number, 之一) folded. ``hub_marked`` is True where the address declares
    itself a shared registration address (集群注册, incubators, business centres: ``hub_words``).
    """
    uniq = pd.Series(pd.unique(addresses.fillna("").astype("str")))
    a = _nfkc(uniq).str.strip()
    low = a.str.casefold()
    hub = pd.Series(False, index=uniq.index)
    if hub_words:  # one pass over the strings for all the words, each matched literally (\Q..\E)
        any_word = "|".join(rf"\Q{word.casefold()}\E" for word in hub_words)
        hub = pd.Series(_bool(pc.match_substring_regex(arrow_strings(low), any_word)), index=uniq.index)
    # The phone pattern needs Python (look-behind); it runs only on the strings with 7 digits,
    # dashes or spaces in a row, which every phone number it accepts has.
    arr = arrow_strings(a)
    maybe = _bool(pc.match_substring_regex(arr, _to_re2(r"[\d -]{7}", arr)))
    found = a[maybe].str.extract(_PHONE_RE).reindex(a.index)
    digits = found[0].fillna(found[1]).fillna("").str.replace(r"\D", "", regex=True)
    phone = digits.str.slice(0, 7).where(digits.str.len() >= 7, "")
    a = a.copy()
    a[maybe] = a[maybe].str.replace(_PHONE_RE, "", regex=True)
    is_han = a.str.contains(_HAN_RE)
    han = _delete_chars(a[is_han], r"\s").str.replace(r"[(（][^)）]*[)）]", "", regex=True)
    han = han.str.replace(r"[()（）,，.。:：]", "", regex=True)
    han, _ = _strip_place_prefixes(han)
    for word, repl in ADDRESS_UNIT_WORDS.items():
        han = han.str.replace(word, repl, regex=False)
    han = _replace(_replace(han, r"之[一二三四五六七八九十\d]+$", ""), r"(\d)[号房]$", r"\1")
    han = han.str.replace(r"[-－—]", "-", regex=True)
    lat = a[~is_han].str.casefold().str.replace(r"[^\w\s]", " ", regex=True)
    for word, abbrev in LATIN_ADDRESS_ABBREV.items():
        lat = lat.str.replace(rf"\b{word}\b", abbrev, regex=True)
    lat = lat.str.replace(r"\s+", " ", regex=True).str.strip()
    key = pd.concat([han, lat]).reindex(uniq.index).fillna("")
    # Building = the address without its last unit number (room / suite / floor): a weak link only.
    building = _replace(key, r"(\d+[a-z]?[楼层]?|ste \d+|fl \d+)\s*$", "").str.strip(" -")
    building = building.where(building != key, "")
    return pd.DataFrame({"address": uniq, "addr_key": key, "building_key": building, "phone": phone,
                         "hub_marked": hub})


_INDUSTRY_RE = "(?:" + "|".join(sorted(INDUSTRY_WORDS, key=len, reverse=True)) + ")+$"


def key_base(keys: pd.Series) -> pd.Series:
    """The part of an applicant_key before its qualifier: 'c:华科明电子科技|深圳' → 'c:华科明电子科技'."""
    return keys.astype("str").str.replace(r"\|.*$", "", regex=True)


def trade_names(keys: pd.Series) -> pd.Series:
    """The trade name (字号) of company keys: the name core without trailing industry words.

    Empty for individuals and for cores whose trade name would be shorter than 2 characters.
    """
    base = key_base(keys)
    core = base.str.slice(2)
    han = core.str.contains(_HAN_RE)
    trade = core.where(~han, core.str.replace(_INDUSTRY_RE, "", regex=True))
    ok = base.str.startswith("c:") & (trade.str.len() >= 2)
    return trade.where(ok, "")


def _short_hash(s: pd.Series) -> pd.Series:
    """First 8 hex digits of each value's SHA-1, hashed once per distinct value."""
    codes, uniques = pd.factorize(s)
    hashed = pd.Series([hashlib.sha1(v.encode()).hexdigest()[:8] for v in uniques], dtype="str")
    return pd.Series(hashed.array.take(codes, allow_fill=True), index=s.index, dtype="str")


# --------------------------------------------------------------------------- integer codes
def _distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``frame``: (code of each row, position of each distinct row's first row).

    Codes number the distinct rows in order of first appearance (NaN is a value of its own), so
    ``frame.iloc[first]`` lists them in that order and 'first per group' on it matches the frame.
    """
    code = np.zeros(len(frame), dtype=np.int64)
    for col in frame.columns:
        c, uniques = pd.factorize(frame[col], use_na_sentinel=False)
        # Re-number after each column so the combined code stays below len(frame).
        code = pd.factorize(code * len(uniques) + c)[0].astype(np.int64)
    return code, np.unique(code, return_index=True)[1]


def _value_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer code of each value and the distinct values; empty and missing values get -1."""
    codes, uniques = pd.factorize(values)
    empty = np.flatnonzero(np.asarray(uniques == ""))
    if len(empty):
        codes = np.where(codes == empty[0], -1, codes)
    return codes, pd.Index(uniques)


def resolve_keys(records: pd.DataFrame, addrs: pd.DataFrame | None = None) -> pd.Series:
    """applicant_key for rows with columns name, address, type, country (any may be empty).

    Deterministic and independent of row order: equal inputs always get equal keys. ``addrs`` may
    carry ``normalize_addresses`` of these addresses, already computed. Each distinct record is
    resolved once (filings repeat their applicant a lot).
    """
    row, first = _distinct_rows(records[["name", "address", "type", "country"]])
    keys = _resolve_distinct(records.iloc[first].reset_index(drop=True), addrs)
    return pd.Series(keys.array.take(row), index=records.index, dtype="str")


def _resolve_distinct(records: pd.DataFrame, addrs: pd.DataFrame | None) -> pd.Series:
    """``resolve_keys`` for records without repeats (the qualifier fill only needs distinct ones)."""
    idx = records.index
    # Names and addresses are normalised once per distinct value and spread by integer code.
    name_code, names = pd.factorize(records["name"].fillna("").astype("str"))
    nm = normalize_names(pd.Series(names)).iloc[name_code].set_index(idx)  # rows follow ``names``
    addr_code, addresses = pd.factorize(records["address"].fillna("").astype("str"))
    if addrs is None:
        addrs, at = normalize_addresses(pd.Series(addresses)), np.arange(len(addresses))
    else:
        at = pd.Index(addrs["address"]).get_indexer(addresses)
    at = at[addr_code]

    def address_column(name: str) -> pd.Series:  # NaN where ``addrs`` lacks the address
        return pd.Series(addrs[name].array.take(at, allow_fill=True), index=idx, dtype="str")

    core, script = nm["core"], nm["script"]
    declared = records["type"].fillna("").astype("str").str.lower()
    individual_by_name = ~nm["company_like"].astype(bool) & (script == "han") & (core.str.len() <= 4)
    individual = (declared == "individual") | (
        (declared != "company") & (declared != "other") & individual_by_name)
    country = records["country"].fillna("").astype("str").str.upper()
    # Latin company names are not unique the way Chinese ones are per region: "Aster Sports LLC"
    # in Seattle and "Aster Sports Corp." in Austin are usually different companies. They are keyed
    # by name + country + address (without the unit); the related-party graph re-links a company
    # that moved (same trade name + agent or transfers).
    latin_company = ~individual & (script != "han")
    addr_key, building = address_column("addr_key"), address_column("building_key")
    site = building.where(building != "", addr_key)
    r = pd.DataFrame(index=idx)
    r["qualifier"] = addr_key.where(individual, site.where(latin_company, nm["city"]))
    r["base"] = (pd.Series(np.where(individual, "p:", "c:"), index=idx, dtype="str") + core
                 + ("|" + country).where(latin_company, ""))
    # A record with no qualifier joins the only qualified variant of the same base, when unique.
    qualified = r.loc[r["qualifier"] != "", ["base", "qualifier"]].drop_duplicates()
    counts = qualified.groupby("base")["qualifier"].agg(["nunique", "first"])
    unique_q = counts.loc[counts["nunique"] == 1, "first"]
    fill = r["base"].map(unique_q).astype("str").where(isin(r["base"], unique_q.index), "")
    r["qualifier"] = r["qualifier"].where(r["qualifier"] != "", fill)
    # Individuals' addresses are hashed: keys are shown in the review app and should not spell
    # out a person's home address; companies keep their readable city/country.
    q = r["qualifier"].astype("str")
    to_hash = (individual | latin_company).to_numpy() & (q != "").to_numpy()
    q[to_hash] = _short_hash(q[to_hash])
    return (r["base"] + "|" + q).astype("str")


def _party_records(apps: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "name": apps["applicant_name"], "address": apps["applicant_address"],
        "type": apps["applicant_type"], "country": apps["applicant_country"],
    })


def _name_lookup(known: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """From (name, applicant_key) rows in filing order: the key of each name's first row, and the
    key of each base (key without qualifier) held by exactly one key. Built once, used by
    ``_match_by_name`` for transfers, decisions and protected marks."""
    exact = known.drop_duplicates("name").set_index("name")["applicant_key"]
    keys = pd.Series(pd.unique(known["applicant_key"]))
    by_base = pd.DataFrame({"base": key_base(keys), "key": keys})
    unique_base = by_base.groupby("base")["key"].agg(["nunique", "first"])
    return exact, unique_base.loc[unique_base["nunique"] == 1, "first"]


def _match_by_name(names: pd.Series, lookup: tuple[pd.Series, pd.Series]) -> pd.Series:
    """Map bare names (no address) to known applicant keys (``_name_lookup``): exact name first,
    then a unique normalised base (name core without qualifier). Unknown names get a key of their own."""
    exact, unique_base = lookup
    key = names.map(exact)
    missing = key.isna()
    if missing.any():
        rec = pd.DataFrame({"name": names[missing], "address": "", "type": "", "country": ""})
        own = resolve_keys(rec)
        via_base = key_base(own).map(unique_base)
        key[missing] = via_base.fillna(own)
    return key.astype("str")


# --------------------------------------------------------------------------- related parties
def _pairs_within(keys: np.ndarray, values: np.ndarray, hub_size: int) -> pd.DataFrame:
    """All key pairs sharing a value, for values held by 2..hub_size distinct keys.

    ``keys`` and ``values`` are integer codes per filing (value -1: none); a key's code is its
    rank in string order, so ``a < b`` orders the pair as the keys themselves would be ordered.
    """
    df = pd.DataFrame({"k": keys, "v": values})
    df = df[df["v"] >= 0].drop_duplicates()
    size = df.groupby("v")["k"].transform("size")
    df = df[(size >= 2) & (size <= hub_size)]
    pairs = df.merge(df, on="v", suffixes=("_a", "_b"))
    pairs = pairs[pairs["k_a"] < pairs["k_b"]]
    return pairs.rename(columns={"k_a": "a", "k_b": "b"})[["a", "b", "v"]]


def _address_value_codes(apps: pd.DataFrame, addrs: pd.DataFrame) -> dict[str, tuple[np.ndarray, pd.Index]]:
    """Per filing, integer codes of its address's addr_key, phone and building_key (-1: none).

    Coded once per distinct address, then spread to filings by address code. A declared shared
    registration address (集群注册, incubator) has no addr_key here: it links nobody strongly.
    """
    addr_code, addresses = pd.factorize(apps["applicant_address"].fillna("").astype("str"))
    at = pd.Index(addrs["address"]).get_indexer(addresses)[addr_code]  # filing → row of addrs
    hub = addrs["hub_marked"].astype(bool).to_numpy()
    columns = {"addr_key": addrs["addr_key"].where(~hub, ""), "phone": addrs["phone"],
               "building_key": addrs["building_key"]}
    out = {}
    for name, col in columns.items():
        codes, uniques = _value_codes(col)
        out[name] = (np.where(at >= 0, codes[at], -1), uniques)
    return out


def related_party_edges(apps: pd.DataFrame, transfers: pd.DataFrame, config: Config,
                        addrs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Edges (a, b, link, evidence, strong) between applicant keys; see module docstring."""
    cfg = config.entities
    if addrs is None:
        addrs = normalize_addresses(apps["applicant_address"], tuple(cfg.hub_address_words))
    t = pd.DataFrame(columns=["assignor_key", "assignee_key", "application_id"])
    if len(transfers) and "assignor_key" in transfers:
        t = transfers[["assignor_key", "assignee_key", "application_id"]].dropna()
        t = t[t["assignor_key"] != t["assignee_key"]]
    # Keys become their rank in string order: pairs are built and filtered on integers, and
    # turned back into strings only for the edges that survive.
    n = len(apps)
    codes, universe = pd.factorize(pd.concat([apps["applicant_key"], t["assignor_key"], t["assignee_key"]],
                                             ignore_index=True).astype("str"), sort=True)
    keys = codes[:n]
    parts = []

    def add(pairs: pd.DataFrame, values, link: str, strong: bool, what: str) -> None:
        """``values``: the shared value of each pair (evidence text)."""
        if len(pairs):
            evidence = what + " '" + pd.Series(values, index=pairs.index).astype("str") + "'"
            parts.append(pairs[["a", "b"]].assign(link=link, strong=strong, evidence=evidence))

    def add_shared(values: tuple[np.ndarray, pd.Index], hub_size: int, link: str, strong: bool,
                   what: str) -> None:
        codes, uniques = values
        pairs = _pairs_within(keys, codes, hub_size)
        add(pairs, uniques.take(pairs["v"].to_numpy()), link, strong, what)

    at_address = _address_value_codes(apps, addrs)
    add_shared(at_address["addr_key"], cfg.address_hub_size, "address", True, "same address")
    add_shared(at_address["phone"], cfg.contact_hub_size, "phone", True, "same phone")
    add_shared(at_address["building_key"], cfg.address_hub_size, "building", False, "same building")
    add_shared(_value_codes(apps["agent_name"].fillna("").str.strip()), cfg.agent_hub_size, "agent", False,
               "same agent")
    # The trade name is a function of the key: computed once per distinct key.
    trade_codes, trades = _value_codes(trade_names(pd.Series(universe)))
    add_shared((trade_codes[keys], trades), cfg.address_hub_size, "trade_name", False, "same trade name")
    add(*_family_pairs(apps, keys, universe, trade_codes, trades, cfg), "family", True,
        "corporate family, trade name")
    from features.textsim import compact_marks

    marks = compact_marks(apps["mark_text"].str.strip())  # once for the two links that compare marks
    add(*_house_mark_pairs(marks, keys, trade_codes, trades), "house_mark", False,
        "files the other's trade name as a mark:")
    add(*_coordinated_pairs(apps, marks, keys, cfg), "coordinated", True,
        f"same mark, same agent, within {cfg.coordination_days} days:")
    add(*_coordinated_pairs(apps, _filing_addresses(apps, addrs), keys, cfg), "coordinated", True,
        f"same address, same agent, filing within {cfg.coordination_days} days:")
    if len(t):
        assignor, assignee = codes[n:n + len(t)], codes[n + len(t):]
        tp = pd.DataFrame({"a": np.minimum(assignor, assignee), "b": np.maximum(assignor, assignee),
                           "v": t["application_id"].to_numpy()}).drop_duplicates(["a", "b"])
        add(tp, tp["v"].to_numpy(), "transfer", False, "transfer of application")
    if not parts:
        return pd.DataFrame(columns=["a", "b", "link", "strong", "evidence"])
    edges = pd.concat(parts, ignore_index=True).drop_duplicates(["a", "b", "link"])
    # A pair is related when it has a strong link or at least two different weak links.
    edges["weak"] = ~edges["strong"].astype(bool)
    per_pair = edges.groupby(["a", "b"]).agg(n_weak=("weak", "sum"), any_strong=("strong", "any"))
    edges = edges.drop(columns="weak")
    ok = per_pair[(per_pair["any_strong"]) | (per_pair["n_weak"] >= cfg.weak_links_needed)].index
    edges = edges.set_index(["a", "b"]).loc[lambda e: e.index.isin(ok)].reset_index()
    for end in ("a", "b"):
        edges[end] = pd.Series(universe.take(edges[end].to_numpy()), index=edges.index, dtype="str")
    return edges


# A company name that declares a corporate family: a group or holding, a head or branch office, or a
# foreign group's China subsidiary (X（中国）有限公司).
FAMILY_NAME_RE = r"集团|控股|总公司|分公司|[(（]中国[)）]|\b(?:group|holdings?)\b"


def _family_pairs(apps: pd.DataFrame, keys: np.ndarray, universe: pd.Index, trade_codes: np.ndarray,
                  trades: pd.Index, cfg) -> tuple[pd.DataFrame, np.ndarray]:
    """Pairs of company keys of one corporate family, with their trade name.

    Two companies sharing a trade name (字号) are one family when either name declares a family
    (``FAMILY_NAME_RE``) or both are registered in the same city: a trade name is unique within its
    registration region, so 义乌石翔家居 and 义乌石翔销售 are sister companies, while 南京雅己健康
    and 深圳雅己饮品 may be strangers. A trade name held by more than ``family_max_members`` keys
    links nobody. ``keys``: key code per filing; ``trade_codes``: trade-name code per key code."""
    trade = trade_codes[keys]
    has = trade >= 0
    if not has.any():
        return pd.DataFrame(columns=["a", "b", "v"]), np.array([], dtype=object)
    name = apps["applicant_name"].fillna("").astype("str").to_numpy()[has]
    named = pd.Series(name).str.contains(FAMILY_NAME_RE, case=False, regex=True).to_numpy()
    per = pd.DataFrame({"k": keys[has], "v": trade[has], "named": named})
    per = per.groupby("k", sort=True).agg(v=("v", "first"), named=("named", "any"))
    pairs = _pairs_within(per.index.to_numpy(), per["v"].to_numpy(), int(cfg.family_max_members))
    if not len(pairs):
        return pairs, np.array([], dtype=object)
    city = pd.Series(universe.take(per.index.to_numpy()), index=per.index, dtype="str").str.extract(
        r"\|([^|]*)$", expand=False).fillna("")
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    same_city = (city.loc[a].to_numpy() == city.loc[b].to_numpy()) & (city.loc[a].to_numpy() != "")
    ok = per["named"].loc[a].to_numpy() | per["named"].loc[b].to_numpy() | same_city
    pairs = pairs[ok]
    return pairs, trades.take(pairs["v"].to_numpy())


def _house_mark_pairs(marks: pd.Series, keys: np.ndarray, trade_codes: np.ndarray, trades: pd.Index
                      ) -> tuple[pd.DataFrame, np.ndarray]:
    """Pairs where one applicant files the other's trade name (字号) as a mark: a parent filing its
    Chinese subsidiary's name (Misin Spirits filing 米西恩, the name of 米西恩（中国）有限公司). A copyist
    does that too, so it is a weak link: it relates two applicants only with another one (a
    transfer between them, the same agent)."""
    from features.textsim import compact, mark_norm

    trade_of_key = pd.Series(np.asarray(trades, dtype=object)[trade_codes], dtype="str").where(trade_codes >= 0, "")
    norm_trade = compact(mark_norm(trade_of_key))
    owners = pd.DataFrame({"k": np.arange(len(trade_codes)), "t": norm_trade.to_numpy()})
    owners = owners[owners["t"].str.len() >= 2]
    filed = pd.DataFrame({"a": keys, "t": marks.to_numpy()}).drop_duplicates()
    pairs = filed.merge(owners, on="t")
    # (namesakes filing their shared trade name are the same-trade-name link, not a second one)
    pairs = pairs[(pairs["a"] != pairs["k"]) & (norm_trade.to_numpy()[pairs["a"].to_numpy()] != pairs["t"].to_numpy())]
    pairs = pairs.assign(a=np.minimum(pairs["a"], pairs["k"]), b=np.maximum(pairs["a"], pairs["k"]))
    pairs = pairs.drop_duplicates(["a", "b"]).reset_index(drop=True)
    return pairs[["a", "b"]], pairs["t"].to_numpy()


def _coordinated_pairs(apps: pd.DataFrame, what: pd.Series, keys: np.ndarray, cfg
                       ) -> tuple[pd.DataFrame, np.ndarray]:
    """Pairs of applicants who file through the same agent within ``coordination_days`` of each
    other sharing ``what`` (per filing; "" = none), with that value and agent: one hand behind both.
    Called with the filing's compact mark (shells splitting one mark's classes between them) and
    with its address (a mill's clients at the mill's address or one cluster-registration desk,
    filing in the same days). Ordinary neighbours at a shared address do not file through one
    agent in the same week. A (value, agent, window) cell of more than ``agent_hub_size``
    applicants links nobody. ``keys``: key code per filing."""
    agent = apps["agent_name"].fillna("").astype("str").str.strip()
    use = ((what != "") & (agent != "")).to_numpy()
    if not use.any():
        return pd.DataFrame(columns=["a", "b", "v"]), np.array([], dtype=object)
    agent_core = normalize_names(agent[use])  # one row per distinct agent name
    agent_key = agent[use].map(agent_core.set_index("name")["core"]).fillna("").astype("str")
    cell = what[use] + " / " + agent_key
    cell_code, cells = pd.factorize(cell)
    day = pd.to_datetime(apps["filing_date"][use]).to_numpy().astype("datetime64[D]").astype(np.int64)
    # Two filings within ``width`` days of each other share a bucket of the grid or of the grid
    # shifted by half a width.
    width = max(int(cfg.coordination_days), 1)
    parts = []
    for shift in (0, width // 2 + 1):
        bucket = (day + shift) // width
        code, first = np.unique(cell_code.astype(np.int64) * (1 << 24) + (bucket - bucket.min()), return_inverse=True)
        pairs = _pairs_within(keys[use], first, int(cfg.agent_hub_size))
        parts.append(pairs.assign(v=code[pairs["v"].to_numpy()] >> 24))
    pairs = pd.concat(parts, ignore_index=True).drop_duplicates(["a", "b"])
    return pairs, np.asarray(cells, dtype=object)[pairs["v"].to_numpy()]


def _filing_addresses(apps: pd.DataFrame, addrs: pd.DataFrame) -> pd.Series:
    """Each filing's normalised address key, shared registration addresses included ("" = none)."""
    key = pd.Series(addrs["addr_key"].fillna("").astype("str").to_numpy(), index=addrs["address"].to_numpy())
    key = key[~key.index.duplicated()]
    at = key.reindex(apps["applicant_address"].fillna("").astype("str")).fillna("")
    return pd.Series(at.to_numpy(), index=apps.index, dtype="str")


def assign_groups(keys: pd.Index, edges: pd.DataFrame) -> pd.Series:
    """group_id per applicant key: connected components; id = 'g:' + smallest member key."""
    keys = pd.Index(pd.unique(keys)).sort_values()  # Arrow sorts str by code point, as sorted() does
    if len(edges):
        # both ends in one Arrow look-up (a pandas reindex hashed the 3M keys as Python strings)
        ij = positions_in(keys, pd.concat([edges["a"], edges["b"]], ignore_index=True))
        if (ij < 0).any():
            raise ValueError(f"related-party edges name unknown applicant keys: {list(edges['a'][ij[:len(edges)] < 0][:3])}"
                             f" {list(edges['b'][ij[len(edges):] < 0][:3])}")
        i, j = ij[:len(edges)], ij[len(edges):]
        graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(len(keys), len(keys)))
        _, labels = connected_components(graph, directed=False)
    else:
        labels = np.arange(len(keys))
    # Keys are sorted, so a component's smallest key is the one at its first position.
    first = np.unique(labels, return_index=True)[1]  # labels are 0 .. n_components - 1
    smallest = pd.Series(keys.take(first[labels]), index=keys, dtype="str")
    return ("g:" + smallest).rename("group_id")


def _key_of_application(apps: pd.DataFrame, ids: pd.Series) -> pd.Series:
    """applicant_key of the applications ``ids`` name (NaN where none does), by one look-up in Arrow's
    hash table (a pandas Index of the 10M ids as Python strings took 5 s per call)."""
    at = positions_in(pd.Index(apps["application_id"]), ids)
    keys = apps["applicant_key"].array.take(at, allow_fill=True)
    return pd.Series(keys, index=ids.index, dtype="str")


def resolve_entities(tables: Tables, config: Config) -> Tables:
    """Add applicant_key / group_id (and party keys on the other tables). Inputs are not mutated."""
    apps = tables.applications.copy()
    addrs = normalize_addresses(apps["applicant_address"], tuple(config.entities.hub_address_words))
    # Applicants repeat across filings: everything per applicant is done once per distinct party
    # record (in order of first filing) and spread to the filings by record code.
    records = _party_records(apps)
    row, first = _distinct_rows(records)
    distinct = records.iloc[first].reset_index(drop=True)
    distinct["applicant_key"] = _resolve_distinct(distinct, addrs).to_numpy()
    apps["applicant_key"] = pd.Series(distinct["applicant_key"].array.take(row), index=apps.index, dtype="str")
    lookup = _name_lookup(distinct[["name", "applicant_key"]])

    transfers = tables.transfers.copy()
    if len(transfers):
        transfers["assignee_key"] = resolve_keys(pd.DataFrame({
            "name": transfers["assignee_name"], "address": transfers["assignee_address"], "type": "",
            "country": ""})).to_numpy()
        by_name = _match_by_name(transfers["assignor_name"].fillna(""), lookup)
        # An unnamed assignor is the application's applicant of record.
        transfers["assignor_key"] = by_name.where(transfers["assignor_name"].fillna("").str.strip() != "",
                                                  _key_of_application(apps, transfers["application_id"]))
    else:
        transfers["assignee_key"] = pd.Series(dtype="str")
        transfers["assignor_key"] = pd.Series(dtype="str")

    decisions = tables.decisions.copy()
    if len(decisions):
        subject = _match_by_name(decisions["subject_name"], lookup)
        # When the decision names an application, the subject is that application's applicant if
        # the names agree after normalisation (a name variant); this separates namesakes.
        via_app = _key_of_application(apps, decisions["application_id"].fillna(""))
        same_base = key_base(via_app.fillna("")) == key_base(subject)
        decisions["subject_key"] = via_app.where(via_app.notna() & same_base, subject).astype("str")
    else:
        decisions["subject_key"] = pd.Series(dtype="str")

    protected = tables.protected_marks.copy()
    protected["owner_key"] = (_match_by_name(protected["owner_name"], lookup) if len(protected)
                              else pd.Series(dtype="str"))

    edges = related_party_edges(apps, transfers, config, addrs)
    groups = assign_groups(pd.Index(distinct["applicant_key"]), edges)
    # by Arrow look-up: Series.map hashed the 3M keys as Python strings (11 s at 10M applications)
    group_of_record = groups.array.take(positions_in(groups.index, distinct["applicant_key"]), allow_fill=True)
    apps["group_id"] = pd.Series(group_of_record.take(row), index=apps.index, dtype="str")

    # Distinct records keep first-filing order, so 'first' per (name, address) matches the filings.
    entities = (distinct.rename(columns={"name": "applicant_name", "address": "applicant_address"})
                .groupby(["applicant_name", "applicant_address"], dropna=False)["applicant_key"].first()
                .reset_index())
    members = groups.reset_index().rename(columns={"index": "applicant_key"})
    ev = edges.assign(text=edges["a"] + " ~ " + edges["b"] + ": " + edges["evidence"])
    ev["group_id"] = ev["a"].map(groups)
    ev_by_group = ev.groupby("group_id")["text"].agg(list)
    # Most groups are singletons: build their member lists directly, aggregate only the others.
    group_code = pd.factorize(members["group_id"])[0]
    size = np.bincount(group_code)[group_code]
    single = members[size == 1]
    multi = members[size > 1].groupby("group_id")["applicant_key"]
    grp = pd.concat([
        pd.DataFrame({"members": [[k] for k in single["applicant_key"].tolist()], "size": 1},
                     index=single["group_id"].to_numpy()),
        pd.DataFrame({"members": multi.agg(list), "size": multi.size()}),
    ]).sort_index()
    grp.index.name = "group_id"
    # Groups without evidence (singletons) get an empty list; only the few with edges are looked up.
    evidence = [[] for _ in range(len(grp))]
    for at, texts in zip(grp.index.get_indexer(ev_by_group.index), ev_by_group.tolist()):
        evidence[at] = texts
    grp["evidence"] = evidence
    return Tables(
        applications=apps, transfers=transfers, decisions=decisions, protected_marks=protected,
        public_terms=tables.public_terms, entities=entities, groups=grp.reset_index(), as_of=tables.as_of,
        extras={**tables.extras, "edges": edges},
    )


def group_graph_json(tables: Tables, group_id: str) -> dict:
    """One group's evidence graph as node-link JSON (networkx), for the review app."""
    import networkx as nx

    edges = tables.extras.get("edges", pd.DataFrame(columns=["a", "b", "link", "evidence"]))
    members = tables.groups.set_index("group_id").loc[group_id, "members"]
    g = nx.MultiGraph()
    names = tables.applications.groupby("applicant_key")["applicant_name"].agg(lambda s: sorted(set(s)))
    for m in members:
        g.add_node(m, names=names.get(m, []))
    sub = edges[edges["a"].isin(members) & edges["b"].isin(members)]
    for row in sub.itertuples(index=False):
        g.add_edge(row.a, row.b, link=row.link, evidence=row.evidence)
    return nx.node_link_data(g, edges="links")


def write_group_graph(tables: Tables, group_id: str, path: str | Path) -> None:
    Path(path).write_text(json.dumps(group_graph_json(tables, group_id), ensure_ascii=False, indent=1))
