"""Variants of public terms: marks that are not the term itself but plainly point to it.

An examiner refuses more than the exact name: 文亮医生 and 我爱丁真 (the term inside a longer mark),
赵本杉 and 雪绒融 (a character replaced by one that sounds the same), 皮皮鱼 (one that looks alike),
BINDUNDUN and PANSHIYI (the term's pinyin). Every rule is a hash join of the register's distinct mark
cores against the term list (no pairwise comparison), so it scales with the register:

- ``contained``: the core contains the term, the term covering at least ``contain_min_cover`` of it;
  Chinese terms of at least ``contain_min_chars`` characters, or dated terms (a current name or
  event) of two or more — an undated two-character name inside a longer mark is too often an
  ordinary word; Latin terms only when dated. A place name (full name, or a city's or province's
  short name; not a county's short name, often an everyday word) with at most ``place_rest_max``
  more characters (淄博烧烤, 理塘特产: nothing distinctive beside the place; Trademark Law art. 10).
- ``pinyin``: a Latin core equals the toneless pinyin of a Chinese term of at least
  ``pinyin_min_letters`` letters.
- ``homophone``: a Chinese core of at least three characters with the term's toneless pinyin.
- ``shape``: a Chinese core of the term's length (at least three) differing in one character that
  looks alike (graded glyph similarity at least ``shape_min``, ``features/data/glyph_similar.csv``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import textsim

COLUMNS = ["core", "term_core", "variant", "detail"]
_HAN_ONLY = r"^[\u3400-\u9fff]+$"


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS})


def _contained(cores: pd.Series, terms: pd.DataFrame, cfg) -> pd.DataFrame:
    terms = terms[terms["containable"].astype(bool)]
    tlen = terms.index.str.len()
    dated = terms["date"].notna().to_numpy()
    han = terms.index.str.match(_HAN_ONLY)
    place = (terms["category"] == "place").to_numpy()
    # a place: with at most place_rest_max more characters (淄博烧烤, 理塘特产: nothing distinctive
    # beside the place); another term: covering contain_min_cover of the mark
    eligible = pd.Series(np.where(place, "place", "term"), index=terms.index)
    eligible = eligible[(han & (tlen >= 2) & (place | dated | (tlen >= cfg.contain_min_chars)))
                        | (~han & dated & (tlen >= cfg.contain_min_chars))]
    n = cores.str.len()
    out = []
    for L in sorted(set(eligible.index.str.len())):
        rows = cores[(n > L) & ((L >= np.ceil(cfg.contain_min_cover * n)) | (n - L <= cfg.place_rest_max))]
        for i in range(int(rows.str.len().max()) - L + 1 if len(rows) else 0):
            sub = rows.str.slice(i, i + L)
            hit = sub[(sub.str.len() == L) & sub.isin(eligible.index)]
            kind = eligible.reindex(hit).to_numpy()
            rest = rows[hit.index].str.len().to_numpy() - L
            cover = L / (rest + L)
            hit = hit[np.where(kind == "place", rest <= cfg.place_rest_max, cover >= cfg.contain_min_cover)]
            if len(hit):
                out.append(pd.DataFrame({"core": rows[hit.index].to_numpy(), "term_core": hit.to_numpy(),
                                         "variant": "contained", "detail": "contains '" + hit + "'"}))
    return pd.concat(out, ignore_index=True) if out else _empty()


def _pinyin(cores: pd.Series, terms: pd.DataFrame, cfg) -> pd.DataFrame:
    han = terms.index[terms.index.str.match(_HAN_ONLY)]
    key = pd.Series(textsim.pinyin_key(pd.Series(han, dtype="str")).to_numpy(), index=han)
    key = key[key.str.len() >= cfg.pinyin_min_letters]
    latin = cores[cores.str.fullmatch(r"[a-z]+")]
    m = pd.DataFrame({"core": latin.to_numpy()}).merge(
        pd.DataFrame({"core": key.to_numpy(), "term_core": key.index}), on="core")
    return m.assign(variant="pinyin", detail="pinyin of '" + m["term_core"] + "'")[COLUMNS]


def _homophone(han: pd.Series, terms_han: pd.Index) -> pd.DataFrame:
    tk = pd.DataFrame({"key": textsim.pinyin_key(pd.Series(terms_han, dtype="str")).to_numpy(), "term_core": terms_han})
    ck = pd.DataFrame({"key": textsim.pinyin_key(han).to_numpy(), "core": han.to_numpy()})
    m = ck.merge(tk, on="key")
    m = m[m["core"] != m["term_core"]]
    return m.assign(variant="homophone", detail="sounds like '" + m["term_core"] + "'")[COLUMNS]


def _shape(han: pd.Series, terms_han: pd.Index, cfg) -> pd.DataFrame:
    """One character replaced by a look-alike: join on the text with that position masked."""
    from features.famous import glyph_table

    g = glyph_table()
    g = g[g["score"] >= cfg.shape_min]
    pairs = pd.Index(g["char"] + g["similar"])
    out = []
    t = pd.Series(terms_han, dtype="str")
    for L in sorted(set(t.str.len())):
        tl, cl = t[t.str.len() == L], han[han.str.len() == L]
        for i in range(L):
            tm = pd.DataFrame({"key": tl.str.slice(0, i) + tl.str.slice(i + 1), "term_core": tl.to_numpy(),
                               "tc": tl.str.slice(i, i + 1)})
            cm = pd.DataFrame({"key": cl.str.slice(0, i) + cl.str.slice(i + 1), "core": cl.to_numpy(),
                               "cc": cl.str.slice(i, i + 1)})
            m = cm.merge(tm, on="key")
            m = m[(m["cc"] != m["tc"]) & (m["cc"] + m["tc"]).isin(pairs)]
            if len(m):
                out.append(m.assign(variant="shape", detail=m["cc"] + "/" + m["tc"] + " look alike"))
    return pd.concat(out, ignore_index=True)[COLUMNS] if out else _empty()


def variant_matches(cores: pd.Series, terms: pd.DataFrame, cfg) -> pd.DataFrame:
    """(core, term_core, variant, detail) for distinct mark ``cores`` (compact, normalised) that are a
    variant of a term of ``terms`` (indexed by term core, with a ``date`` column) but not the term
    itself. One row per (core, term_core): the first rule that matched, in the order above."""
    cores = pd.Series(pd.unique(cores.astype("str")), dtype="str")
    cores = cores[(cores.str.len() >= 2) & ~cores.isin(terms.index)]
    if not len(cores) or not len(terms):
        return _empty()
    han = cores[cores.str.len().ge(3) & cores.str.match(_HAN_ONLY)]
    terms_han = terms.index[(terms.index.str.len() >= 3) & terms.index.str.match(_HAN_ONLY)]
    parts = [_contained(cores, terms, cfg), _pinyin(cores, terms, cfg), _homophone(han, terms_han),
             _shape(han, terms_han, cfg)]
    out = pd.concat(parts, ignore_index=True)
    return out.drop_duplicates(["core", "term_core"]).reset_index(drop=True)
