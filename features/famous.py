"""Wider protection of well-known marks (Trademark Law art. 13): every mark against the protected list.

The protected list is short (hundreds to a few thousand marks), so every distinct mark of the
register (its distinctive core) is compared with every protected mark of its script (the whole mark:
a famous mark is its own brand, generic words and all — 康师傅), in vectorised blocks, with rules
wider than those for ordinary earlier marks (``features.similarity``):

Chinese marks of the same length, character by character: a character counts 1 when equal, its
graded glyph similarity when it looks alike (``glyph_similar.csv``: rendered-glyph and component
similarity, e.g. 帅/师 0.70, 雩/雪 0.66), ``han_sound`` when it sounds the same (toneless pinyin).
The mark's similarity is the mean over its characters; it resembles when at least one character is
kept in place, every character resembles (≥ ``han_char_min``) and the mean reaches ``han_min``.
Two-character marks need one kept character and the other resembling (康帅傅 ~ 康师傅, 雩碧 ~ 雪碧).

Latin marks (letters and digits of the distinctive core), by edit distance: the same letters after
folding look-alike letters (b/d/p/q, m/rn, l/1/i, o/0, u/v, vv/w) with at most ``latin_shape_edits``
changes (abibas ~ adidas); one change in a three-letter mark with the first letter kept (KFG ~ KFC);
up to ``latin_max_edits`` changes (a substitution, insertion or deletion each) in a mark of at least
``latin_two_edits_len`` letters with the first letter kept (Adidoss ~ ADIDAS), one in shorter ones
(SQNY ~ SONY); and a kept ending of
at least ``latin_kept_ending`` letters and half the mark, the beginning rewritten (Sambucks ~
Starbucks). Similarity: the normalised edit similarity (look-alike letters cost nothing), at least
``latin_shape_similarity`` for a look-alike-letters copy.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from core.tables import isin
from features.lexicons import glyph_table
from features.term_variants import goods_words

COLUMNS = ["q", "r", "similarity", "kind", "detail"]
_BLOCK = 20000  # query marks per block of the dense comparison (block x protected cells in memory)

# look-alike Latin letters, folded to one representative (after NFKC and lower case)
_LOOKALIKE = [("rn", "m"), ("vv", "w"), ("cl", "d")]
_LOOKALIKE_CHARS = str.maketrans({"d": "b", "p": "b", "q": "b", "1": "l", "i": "l", "!": "l", "0": "o",
                                  "v": "u", "5": "s", "$": "s", "@": "a", "6": "b", "9": "g"})


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"q": pd.Series(dtype="int64"), "r": pd.Series(dtype="int64"),
                         "similarity": pd.Series(dtype="float64"), "kind": pd.Series(dtype="str"),
                         "detail": pd.Series(dtype="str")})


def lookalike_fold(s: pd.Series) -> pd.Series:
    """Latin text with look-alike letters folded (abibas and adidas both read 'abibas')."""
    out = s.astype("str").str.lower()
    for a, b in _LOOKALIKE:
        out = out.str.replace(a, b, regex=False)
    return out.str.translate(_LOOKALIKE_CHARS)


def char_similarity(a: str, b: str, cfg) -> float:
    """The similarity of two Chinese characters used here (1 equal, glyph score, sound)."""
    if a == b:
        return 1.0
    return float(_char_matrix(a, b, cfg)[0][0, 0])


def _char_matrix(rows: str | list, cols: str | list, cfg) -> tuple[np.ndarray, list, list]:
    """Dense similarity of the characters ``rows`` x ``cols``."""
    from features.textsim import _char_pinyin

    rows, cols = list(rows), list(cols)
    m = np.zeros((len(rows), len(cols)), dtype=np.float32)
    col_at = {c: j for j, c in enumerate(cols)}
    row_at = {c: i for i, c in enumerate(rows)}
    g = glyph_table()
    g = g[g["char"].isin(row_at) & g["similar"].isin(col_at)]
    if len(g):
        m[g["char"].map(row_at).to_numpy(np.int64), g["similar"].map(col_at).to_numpy(np.int64)] = \
            g["score"].to_numpy(np.float32)
    sound_col: dict[str, list[int]] = {}
    for c, j in col_at.items():
        sound_col.setdefault(_char_pinyin(c), []).append(j)
    for c, i in row_at.items():
        js = sound_col.get(_char_pinyin(c), [])
        if js:
            m[i, js] = np.maximum(m[i, js], float(cfg.han_sound))
        if c in col_at:
            m[i, col_at[c]] = 1.0
    return m, rows, cols


def _han_matches(T: pd.DataFrame, P: pd.DataFrame, cfg) -> pd.DataFrame:
    from features.textsim import _char_pinyin, han_part

    tq = np.flatnonzero(T["han"].to_numpy() & T["distinctive"].to_numpy())
    pr = np.flatnonzero(P["han"].to_numpy())
    # the Han characters of the core (红牛 Hongniu is compared as 红牛)
    tcore = han_part(pd.Series(T["core"].to_numpy(dtype=object), dtype="str")).to_numpy(dtype=object)
    pcore = han_part(pd.Series(P["comp"].to_numpy(dtype=object), dtype="str")).to_numpy(dtype=object)
    han = r"[\u3400-\u9fff]{2,8}"
    tq, pr = tq[_fullmatch(tcore[tq], han)], pr[_fullmatch(pcore[pr], han)]
    if not len(tq) or not len(pr):
        return _empty()
    pchars = sorted(set("".join(pcore[pr])))
    tchars = sorted(set("".join(tcore[tq])))
    sim, _, _ = _char_matrix(pchars, tchars, cfg)
    p_at = {c: i for i, c in enumerate(pchars)}
    t_points = np.array([ord(c) for c in tchars], dtype=np.uint32)  # sorted: a code point's column
    out = []
    tlen = pd.Series(tcore[tq], dtype="str").str.len().to_numpy()
    for length in sorted(set(len(pcore[i]) for i in pr)):
        qs = tq[tlen == length]
        if not len(qs):
            continue
        points = np.array(tcore[qs].tolist(), dtype=f"<U{length}").view(np.uint32).reshape(len(qs), length)
        tcodes = np.searchsorted(t_points, points).astype(np.int64)  # (n, L) columns of sim
        for r in pr[[len(pcore[i]) == length for i in pr]]:
            prow = np.array([p_at[c] for c in pcore[r]], dtype=np.int64)
            s = sim[prow[None, :], tcodes]  # (n, L): each character's similarity in place
            kept = (s >= 1.0).sum(axis=1)
            mean = s.mean(axis=1)
            ok = (kept >= 1) & (kept < length) & (s.min(axis=1) >= cfg.han_char_min) & (mean >= cfg.han_min)
            for i in np.flatnonzero(ok):
                q = qs[i]
                diff = [(a, b) for a, b in zip(tcore[q], pcore[r], strict=True) if a != b]
                sound = all(_char_pinyin(a) == _char_pinyin(b) for a, b in diff)
                out.append((q, r, float(mean[i]), "homophone" if sound else "shape",
                            " ".join(f"{a}/{b}" for a, b in diff)))
    return pd.DataFrame(out, columns=COLUMNS) if out else _empty()


def _han_with_goods_word(T: pd.DataFrame, P: pd.DataFrame, cfg) -> pd.DataFrame:
    """A look-alike or sound-alike of a protected Chinese mark (the rules of ``_han_matches``) with
    only the name of goods or a generic word beside it (汇原果汁 ~ 汇源: 汇原 sounds like 汇源, 果汁
    is juice): the words beside it say nothing of their own, as with a place name (淄博烧烤).
    Similarity: the look-alike's, times 0.7 + 0.3 x its share of the mark (as containment)."""
    from features.textsim import han_part

    tq = np.flatnonzero(T["han"].to_numpy() & T["distinctive"].to_numpy())
    core = han_part(pd.Series(T["core"].to_numpy(dtype=object)[tq], dtype="str"))
    lengths = sorted({len(c) for c in han_part(pd.Series(P["comp"].to_numpy(dtype=object), dtype="str"))
                      if len(c) >= 2})
    goods = goods_words()
    parts = []
    for length in lengths:
        longer = core[core.str.len() > length]
        for head, rest in ((longer.str.slice(0, length), longer.str.slice(length)),
                           (longer.str.slice(-length), longer.str.slice(0, -length))):
            ok = isin(rest, goods)
            if ok.any():
                parts.append(pd.DataFrame({"q": tq[longer.index[ok]], "part": head[ok].to_numpy(),
                                           "rest": rest[ok].to_numpy()}))
    if not parts:
        return _empty()
    cand = pd.concat(parts, ignore_index=True)
    sub = pd.DataFrame({"core": cand["part"].to_numpy(), "han": True, "distinctive": True})
    m = _han_matches(sub, P, cfg)
    if not len(m):
        return _empty()
    c = cand.iloc[m["q"].to_numpy()]
    share = c["part"].str.len().to_numpy() / (c["part"].str.len() + c["rest"].str.len()).to_numpy()
    return pd.DataFrame({"q": c["q"].to_numpy(), "r": m["r"].to_numpy(),
                         "similarity": m["similarity"].to_numpy() * contained_similarity(share, cfg),
                         "kind": m["kind"].to_numpy(),
                         "detail": m["detail"].to_numpy() + " + '" + c["rest"].to_numpy().astype(object) + "'"})


def _letters(s: pd.Series) -> pd.Series:
    """Lower-case letters and digits only (no plural folding: ADIDAS stays adidas)."""
    return s.astype("str").str.normalize("NFKC").str.lower().str.replace(r"[^0-9a-z]+", "", regex=True)


def _latin_matches(T: pd.DataFrame, P: pd.DataFrame, cfg) -> pd.DataFrame:
    """The distinctive core and the whole mark of each Latin mark (NIKE STORE is compared as nike,
    and as nikestore) against each protected mark's letters."""
    tq = np.flatnonzero(~T["han"].to_numpy() & T["distinctive"].to_numpy())
    whole = _letters(T["text"]).to_numpy(dtype=object)[tq]
    core = _letters(T["core_sp"]).to_numpy(dtype=object)[tq]
    differs = core != whole
    both = pd.concat([_latin_pass(tq, whole, P, cfg), _latin_pass(tq[differs], core[differs], P, cfg)],
                     ignore_index=True)
    return both.sort_values(["q", "r", "similarity"], ascending=[True, True, False]).drop_duplicates(["q", "r"])


def _latin_pass(tq: np.ndarray, tcore: np.ndarray, P: pd.DataFrame, cfg) -> pd.DataFrame:
    latin = r"[0-9a-z]{3,40}"
    pr = np.flatnonzero(~P["han"].to_numpy())
    pcore = _letters(P["text"]).to_numpy(dtype=object)[pr]
    tk, pk = _fullmatch(tcore, latin), _fullmatch(pcore, latin)
    tq, tcore, pr, pcore = tq[tk], tcore[tk], pr[pk], pcore[pk]
    if not len(tq) or not len(pr):
        return _empty()
    tfold = lookalike_fold(pd.Series(tcore, dtype="str")).to_numpy(dtype=object)
    pfold = lookalike_fold(pd.Series(pcore, dtype="str")).to_numpy(dtype=object)
    plen = np.array([len(c) for c in pcore])
    max_edits = int(max(cfg.latin_max_edits, cfg.latin_shape_edits))
    out = []
    for lo in range(0, len(tq), _BLOCK):
        hi = min(lo + _BLOCK, len(tq))
        # edit distances on the folded letters, cut off above the widest rule
        d = process.cdist(list(tfold[lo:hi]), list(pfold), scorer=Levenshtein.distance,
                          score_cutoff=max_edits, dtype=np.int32, workers=1)
        qi, ri = np.nonzero(d <= max_edits)
        kept_end = np.zeros(0, dtype=np.int64)
        if cfg.latin_kept_ending > 0:
            kept_end = _kept_endings(tfold[lo:hi], pfold, cfg)
        if len(kept_end):
            qi = np.concatenate([qi, kept_end[:, 0]])
            ri = np.concatenate([ri, kept_end[:, 1]])
        if not len(qi):
            continue
        pair = np.unique(np.stack([qi, ri]), axis=1)
        qi, ri = pair[0], pair[1]
        t, p = tcore[lo:hi][qi], pcore[ri]
        tf, pf = tfold[lo:hi][qi], pfold[ri]
        dist = np.array([Levenshtein.distance(a, b) for a, b in zip(tf, pf, strict=True)])
        raw = np.array([Levenshtein.distance(a, b) for a, b in zip(t, p, strict=True)])
        longest = np.maximum(np.array([len(a) for a in t]), plen[ri])
        first = np.array([a[0] == b[0] for a, b in zip(tf, pf, strict=True)])
        ending = np.array([_common_suffix(a, b) for a, b in zip(tf, pf, strict=True)])
        shape = (dist == 0) & (raw <= cfg.latin_shape_edits) & (raw > 0)
        # changes allowed by the protected mark's length, the first letter kept: one in three to
        # five letters (three-letter marks: the same length), latin_max_edits from latin_two_edits_len
        allowed = np.where(plen[ri] >= cfg.latin_two_edits_len, cfg.latin_max_edits, 1)
        edits = (dist >= 1) & (dist <= allowed) & first & ((plen[ri] > 3) | (longest == 3))
        kept = (ending >= cfg.latin_kept_ending) & (ending * 2 >= plen[ri]) & (dist <= plen[ri] // 2 + 1)
        ok = shape | edits | kept
        similarity = 1.0 - dist / longest
        kind = np.where(shape, "confusable", np.where(kept & ~edits, "phonetic", "edit"))
        for i in np.flatnonzero(ok & (raw > 0)):
            detail = (f"look-alike letters, {raw[i]} changed" if shape[i] else
                      f"ending '{pf[i][-ending[i]:]}' kept" if kind[i] == "phonetic" else f"{dist[i]} letters changed")
            value = cfg.latin_shape_similarity if shape[i] else similarity[i]
            out.append((tq[lo + qi[i]], pr[ri[i]], float(value), kind[i], detail))
    return pd.DataFrame(out, columns=COLUMNS) if out else _empty()


def _common_suffix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        n += 1
    return n


def _fullmatch(texts: np.ndarray, pattern: str) -> np.ndarray:
    """Row-wise: the whole text matches ``pattern`` (vectorised)."""
    return pd.Series(texts, dtype="str").str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def _ending(texts: np.ndarray, k: int) -> np.ndarray:
    """The last ``k`` characters of each text ('' when shorter)."""
    s = pd.Series(texts, dtype="str")
    return s.str.slice(-k).where(s.str.len() >= k, "").to_numpy(dtype=object)


def _kept_endings(tfold: np.ndarray, pfold: np.ndarray, cfg) -> np.ndarray:
    """(query, protected) positions whose folded texts share an ending of at least
    ``latin_kept_ending`` letters, by a join on the ending itself (no pair enumeration)."""
    k = int(cfg.latin_kept_ending)
    t = pd.DataFrame({"qi": np.arange(len(tfold)), "end": _ending(tfold, k)})
    p = pd.DataFrame({"ri": np.arange(len(pfold)), "end": _ending(pfold, k)})
    m = t[t["end"] != ""].merge(p[p["end"] != ""], on="end")
    return m[["qi", "ri"]].to_numpy(np.int64)


def _plural_folded(original: str, folded: str) -> bool:
    """The protected mark lost a final plural "s" in normalisation (Torves -> torve)."""
    letters = re.sub(r"[^0-9a-z]", "", str(original).lower())
    return letters == folded + "s"


def contained_similarity(share, cfg):
    """A protected mark inside a longer mark: the more of the mark it makes, the closer."""
    return cfg.contained_base + (1.0 - cfg.contained_base) * share


def _contained(T: pd.DataFrame, P: pd.DataFrame, cfg) -> pd.DataFrame:
    """Marks that contain a protected mark: its text inside theirs (SilverApple ~ APPLE, 蜜雪冰城港式饮品
    ~ 蜜雪冰城), or, for Chinese marks, its characters in order with at most ``han_inserted`` others
    between them (六个石磨核桃 ~ 六个核桃). Protected marks of at least ``contain_min_han``
    characters / ``contain_min_latin`` letters. Similarity 0.7 + 0.3 x (its share of the mark)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from features.textsim import han_part

    tcore = pd.Series(T["core"].to_numpy(dtype=object), dtype="str")
    than = han_part(tcore)
    tq = np.flatnonzero(T["distinctive"].to_numpy())
    arrays = {True: pa.array(than.to_numpy(dtype=object)[tq], pa.large_string()),
              False: pa.array(tcore.to_numpy(dtype=object)[tq], pa.large_string())}
    lengths = {k: pc.utf8_length(v).to_numpy(zero_copy_only=False) for k, v in arrays.items()}
    spaced = pa.array(T["core_sp"].to_numpy(dtype=object)[tq], pa.large_string())
    out = []
    pcore = P["comp"].to_numpy(dtype=object)
    for r in range(len(P)):
        han = bool(P["han"].iloc[r])
        text = han_part(pd.Series([pcore[r]], dtype="str")).iloc[0] if han else pcore[r]
        if len(text) < (cfg.contain_min_han if han else cfg.contain_min_latin):
            continue
        arr = arrays[han]
        if not han and _plural_folded(P["text"].iloc[r], text):
            # TORVES folds to 'torve' (plural s): inside another word (VELTORVEL, TORVELZOL) that stem
            # is no element of the mark; the mark itself, or the stem ending a word, is
            word = f"{re.escape(text)}s|{re.escape(text)}\\b"  # on the spaced core: STARBUCK COFFEE
            hit = pc.match_substring_regex(spaced, word).to_numpy(zero_copy_only=False)
        else:
            hit = pc.match_substring(arr, text).to_numpy(zero_copy_only=False)
        if han and cfg.han_inserted > 0:
            gap = f".{{0,{int(cfg.han_inserted)}}}"
            near = (lengths[han] <= len(text) + int(cfg.han_inserted)) & ~hit
            if near.any():
                rows = np.flatnonzero(near)
                rx = gap.join(re.escape(c) for c in text)
                hit[rows] = pc.match_substring_regex(arr.take(pa.array(rows)), rx).to_numpy(zero_copy_only=False)
        hit &= lengths[han] > len(text)
        for i in np.flatnonzero(hit):
            share = len(text) / lengths[han][i]
            out.append((tq[i], r, float(contained_similarity(share, cfg)), "affix", f"contains '{text}'"))
    return pd.DataFrame(out, columns=COLUMNS) if out else _empty()


def famous_matches(T: pd.DataFrame, P: pd.DataFrame, config) -> pd.DataFrame:
    """Matches of the prepared marks ``T`` with the prepared protected marks ``P`` under the wider
    rules above: DataFrame[q, r, similarity, kind, detail] (row positions)."""
    cfg = config.famous
    if not cfg.enabled or T is None or P is None or not len(T) or not len(P):
        return _empty()
    return pd.concat([_han_matches(T, P, cfg), _han_with_goods_word(T, P, cfg), _latin_matches(T, P, cfg),
                      _contained(T, P, cfg)], ignore_index=True)
