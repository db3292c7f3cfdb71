"""Variants of public terms: marks that are not the term itself but plainly point to it.

An examiner refuses more than the exact name: 文亮医生 and 我爱丁真 (the term inside a longer mark),
赵本杉 and 雪绒融 (a character replaced by one that sounds the same), 皮皮鱼 (one that looks alike),
BINDUNDUN and PANSHIYI (the term's pinyin). Every rule is a hash join of the register's distinct mark
cores against the term list (no pairwise comparison), so it scales with the register:

- ``contained``: the core contains the term, the term covering at least ``contain_min_cover`` of it;
  Chinese terms of at least ``contain_min_chars`` characters, or dated terms (a current name or
  event) of two or more — an undated two-character name inside a longer mark is too often an
  ordinary word; Latin terms only when dated. A place name (full name, or a city's or province's
  short name; not a county's short name, often an everyday word) at the start or the end of a mark
  whose rest names goods or says nothing distinctive (淄博烧烤, 理塘特产: nothing beside the place;
  Trademark Law art. 10); 桂林心宇 has a distinctive part of its own.
- ``pinyin``: a Latin core equals the toneless pinyin of a Chinese name (a person, an event, not a
  place or a generic word) of at least three characters and ``pinyin_min_letters`` letters, front and
  back nasals alike (BINDUNDUN for bingdundun, as pinyin input treats -n/-ng); the
  pinyin of two-character names (XINCHENG, CHENGYI) is an everyday coined mark.
- ``homophone``: a Chinese core of at least three characters with a name's toneless pinyin.
- ``shape``: a Chinese core of a name's length (at least three) differing in one character that
  looks alike (graded glyph similarity at least ``shape_min``, ``features/data/glyph_similar.csv``).
- ``surname last``: a person's name of three or more characters written given name first (文亮·李).
- ``given name``: the given name of a current (dated) public figure with a three-character name,
  alone or followed by a title of ``name_titles`` (苏翊鸣 -> 翊鸣, 李文亮 -> 文亮医生); an undated
  name's given name is too often an everyday one.
- ``replaced``: a held coined term (an event or other term with a listed owner: an organiser's
  mascot) of three or more characters with one character replaced, the others in place (冰墩墩 ->
  雪墩墩); an unheld word with one character changed is another word (元宇宙, 好运来).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from core.tables import frame_cache, isin
from features import textsim

COLUMNS = ["core", "term_core", "variant", "detail"]
_HAN_ONLY = r"^[\u3400-\u9fff]+$"


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS})


@functools.cache
def generic_words() -> pd.Index:
    """Chinese words that say nothing distinctive: the generic mark words (旗舰, 官方 …) and the
    generic terms (烧烤, 奶茶 …)."""
    from features import lexicons

    sets = textsim._generic_sets()
    words = set(sets["han_affix"] | sets["han_common"])
    words |= set(textsim.compact(textsim.mark_norm(lexicons.generic_terms()["term"].astype("str"))))
    return pd.Index(sorted(w for w in words if w), dtype="str")


@functools.cache
def goods_words() -> pd.Index:
    """``generic_words`` and the names of goods (the Nice goods items of two to four characters)."""
    from features import lexicons

    goods = lexicons.nice_goods()["goods_name_zh"].astype("str")
    return generic_words().union(pd.Index(goods[goods.str.len().between(2, 4)].unique(), dtype="str"))


def _containable(terms: pd.DataFrame, cfg) -> pd.Series:
    """Terms that count inside a longer mark: "place" or "term" by term core."""
    terms = terms[terms["containable"].astype(bool)]
    tlen = terms.index.str.len()
    dated = terms["date"].notna().to_numpy()
    han = terms.index.str.match(_HAN_ONLY)
    place = (terms["category"] == "place").to_numpy()
    kind = pd.Series(np.where(place, "place", "term"), index=terms.index)
    return kind[(han & (tlen >= 2) & (place | dated | (tlen >= cfg.contain_min_chars)))
                | (~han & dated & (tlen >= cfg.contain_min_chars))]


def _contained(cores: pd.Series, kind: pd.Series, cfg) -> pd.DataFrame:
    goods = goods_words()
    n = cores.str.len()
    out = []
    for L in sorted(set(kind.index.str.len())):
        rows = cores[n > L]
        rows = rows[(L >= np.ceil(cfg.contain_min_cover * rows.str.len())) | (rows.str.len() - L <= 4)]
        for i in range(int(rows.str.len().max()) - L + 1 if len(rows) else 0):
            sub = rows.str.slice(i, i + L)
            hit = sub[(sub.str.len() == L).to_numpy() & isin(sub, kind.index)]
            if not len(hit):
                continue
            core = rows[hit.index]
            is_place = (kind.reindex(hit) == "place").to_numpy()
            # a place: at the start or the end, the rest a goods word or a generic word (淄博烧烤,
            # 理塘特产); another term: covering contain_min_cover of the mark
            rest = np.where(i == 0, core.str.slice(L), core.str.slice(0, i))
            at_end = (i == 0) | (core.str.len() == i + L).to_numpy()
            place_ok = at_end & isin(pd.Series(rest, dtype="str"), goods)
            term_ok = (L / core.str.len()).to_numpy() >= cfg.contain_min_cover
            keep = np.where(is_place, place_ok, term_ok)
            hit, core = hit[keep], core[keep]
            if len(hit):
                out.append(pd.DataFrame({"core": core.to_numpy(), "term_core": hit.to_numpy(),
                                         "variant": "contained", "detail": "contains '" + hit + "'"}))
    return pd.concat(out, ignore_index=True) if out else _empty()


def _pinyin_keys(terms_han: pd.Index, cfg) -> pd.DataFrame:
    """(key, term_core): the folded toneless pinyin of the named Chinese terms."""
    key = pd.Series(textsim.pinyin_key(pd.Series(terms_han, dtype="str")).to_numpy(), index=terms_han)
    key = key[key.str.len() >= cfg.pinyin_min_letters]
    # front and back nasals written alike (bin / bing, ren / reng: the 模糊音 of pinyin input)
    return pd.DataFrame({"key": _nasal_fold(key).to_numpy(), "term_core": key.index})


def _pinyin(cores: pd.Series, keys: pd.DataFrame) -> pd.DataFrame:
    latin = cores[cores.str.fullmatch(r"[a-z]+")]
    m = pd.DataFrame({"core": latin.to_numpy(), "key": _nasal_fold(latin).to_numpy()}).merge(keys, on="key")
    return m.assign(variant="pinyin", detail="pinyin of '" + m["term_core"] + "'")[COLUMNS]


def _nasal_fold(pinyin: pd.Series) -> pd.Series:
    return pinyin.str.replace("ng", "n", regex=False)


def _homophone(han: pd.Series, tk: pd.DataFrame) -> pd.DataFrame:
    ck = pd.DataFrame({"key": textsim.pinyin_key(han).to_numpy(), "core": han.to_numpy()})
    m = ck.merge(tk, on="key")
    m = m[m["core"] != m["term_core"]]
    return m.assign(variant="homophone", detail="sounds like '" + m["term_core"] + "'")[COLUMNS]


def _masked(terms_han: pd.Index) -> dict:
    """{(length, position): DataFrame[key, term_core, tc]}: each term with one position masked."""
    t = pd.Series(terms_han, dtype="str")
    out = {}
    for L in sorted(set(t.str.len())):
        tl = t[t.str.len() == L]
        for i in range(L):
            out[(L, i)] = pd.DataFrame({"key": tl.str.slice(0, i) + tl.str.slice(i + 1), "term_core": tl.to_numpy(),
                                        "tc": tl.str.slice(i, i + 1)})
    return out


def _one_replaced(han: pd.Series, masked: dict) -> pd.DataFrame:
    """(core, term_core, cc, tc): Chinese cores of a term's length differing from it in exactly one
    character (cc in the core, tc in the term), joined on the text with that position masked
    (``_masked``: the terms' side)."""
    out = []
    for (L, i), tm in masked.items():
        cl = han[han.str.len() == L]
        if len(cl):
            cm = pd.DataFrame({"key": cl.str.slice(0, i) + cl.str.slice(i + 1), "core": cl.to_numpy(),
                               "cc": cl.str.slice(i, i + 1)})
            m = cm.merge(tm, on="key")
            out.append(m[(m["cc"] != m["tc"]).to_numpy()])
    cols = ["core", "term_core", "cc", "tc"]
    return pd.concat(out, ignore_index=True)[cols] if out else pd.DataFrame(columns=cols)


def _shape(han: pd.Series, masked: dict, cfg) -> pd.DataFrame:
    """One character replaced by a look-alike."""
    from features.lexicons import glyph_table

    g = glyph_table()
    g = g[g["score"] >= cfg.shape_min]
    m = _one_replaced(han, masked)
    m = m[isin(m["cc"] + m["tc"], pd.Index(pd.unique(g["char"] + g["similar"])))]
    return m.assign(variant="shape", detail=m["cc"] + "/" + m["tc"] + " look alike")[COLUMNS]


def _rotated(people: pd.Index) -> pd.DataFrame:
    t = pd.Series(people, dtype="str")
    return pd.DataFrame({"core": (t.str.slice(1) + t.str.slice(0, 1)).to_numpy(), "term_core": t.to_numpy()})


def _surname_last(han: pd.Series, rotated: pd.DataFrame) -> pd.DataFrame:
    """A person's name written given name first (李文亮 -> 文亮李, as in 文亮·李)."""
    m = pd.DataFrame({"core": han.to_numpy()}).merge(rotated, on="core")
    return m.assign(variant="surname last", detail="'" + m["term_core"] + "' given name first")[COLUMNS]


def _given_forms(terms: pd.DataFrame, titles: list) -> pd.DataFrame:
    """(core, term_core): a dated three-character person's given name, alone or with a title."""
    people = terms.index[(terms["category"] == "person").to_numpy() & terms["date"].notna().to_numpy()
                         & terms.index.str.match(_HAN_ONLY) & (terms.index.str.len() == 3)]
    given = pd.Series(people, dtype="str").str.slice(1)
    return pd.concat([pd.DataFrame({"core": given + t, "term_core": people}) for t in ["", *titles]],
                     ignore_index=True)


def _given_name(cores: pd.Series, forms: pd.DataFrame) -> pd.DataFrame:
    """A current public figure's given name alone or with a title (苏翊鸣 -> 翊鸣, 李文亮 -> 文亮医生):
    a dated person's name of three characters, its last two, optionally followed by one of
    ``name_titles``."""
    m = pd.DataFrame({"core": cores.to_numpy()}).merge(forms, on="core")
    return m.assign(variant="given name", detail="the given name of '" + m["term_core"] + "'")[COLUMNS]


def _replaced(han: pd.Series, masked_held: dict) -> pd.DataFrame:
    """One character of a held coined term (an organiser's mascot) replaced, the others in place
    (冰墩墩 -> 雪墩墩): like a well-known mark, its owner's name is imitated whatever the new
    character. Unheld words (元宇宙, 好运来) are left alone: one character changed is a new word."""
    m = _one_replaced(han, masked_held)
    return m.assign(variant="replaced", detail="'" + m["term_core"] + "' with one character replaced")[COLUMNS]


def variant_matches(cores: pd.Series, terms: pd.DataFrame, cfg) -> pd.DataFrame:
    """(core, term_core, variant, detail) for distinct mark ``cores`` (compact, normalised) that are a
    variant of a term of ``terms`` (indexed by term core, with a ``date`` column) but not the term
    itself. One row per (core, term_core): the first rule that matched, in the order above."""
    cores = pd.Series(pd.unique(cores.astype("str")), dtype="str")
    cores = cores[(cores.str.len() >= 2).to_numpy() & ~isin(cores, terms.index)]
    if not len(cores) or not len(terms):
        return _empty()
    han = cores[cores.str.len().ge(3) & cores.str.match(_HAN_ONLY)]
    side = term_side(terms, cfg)
    parts = [_contained(cores, side["containable"], cfg), _pinyin(cores, side["pinyin"]),
             _homophone(han, side["homophone"]), _shape(han, side["masked"], cfg),
             _surname_last(han, side["rotated"]), _given_name(cores, side["given"]),
             _replaced(han, side["masked_held"])]
    out = pd.concat(parts, ignore_index=True)
    return out.drop_duplicates(["core", "term_core"]).reset_index(drop=True)


def term_side(terms: pd.DataFrame, cfg) -> dict:
    """The term list's half of every rule's join, built once per term table and kept with it
    (``core.tables.frame_cache``): a register screened filing by filing joins against it each time."""
    tag = ("term_variants", int(cfg.contain_min_chars), int(cfg.pinyin_min_letters), tuple(cfg.name_titles))
    kept = frame_cache(terms)
    if tag not in kept:
        # sound-alikes and look-alikes of names (people, events, mascots); those of places are
        # everyday coined marks (同湘石 sounds like 桐乡市)
        named = ~terms["category"].isin(["place", "generic"]).to_numpy()
        terms_han = terms.index[(terms.index.str.len() >= 3) & terms.index.str.match(_HAN_ONLY) & named]
        people = terms_han[(terms.loc[terms_han, "category"] == "person").to_numpy()]
        owner = terms["owner"] if "owner" in terms else pd.Series("", index=terms.index)
        held = terms_han[terms.loc[terms_han, "category"].isin(["event", "other"]).to_numpy()
                         & (owner.reindex(terms_han).fillna("").astype("str") != "").to_numpy()]
        kept[tag] = {
            "containable": _containable(terms, cfg), "pinyin": _pinyin_keys(terms_han, cfg),
            "homophone": pd.DataFrame({"key": textsim.pinyin_key(pd.Series(terms_han, dtype="str")).to_numpy(),
                                       "term_core": terms_han}),
            "masked": _masked(terms_han), "rotated": _rotated(people),
            "given": _given_forms(terms, list(cfg.name_titles)), "masked_held": _masked(held)}
    return kept[tag]
