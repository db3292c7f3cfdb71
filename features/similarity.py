"""Mark similarity engine: candidate blocking, verification with rapidfuzz, kind classification.

Used by the infringement builder (copies of protected / earlier marks), the squatting builder and
the review app (``explain_pair``). Never compares all pairs: marks are first joined on blocking
keys (docs/similarity.md), then each candidate pair is verified with rapidfuzz's vectorised
``process.cpdist`` and classified into one Reason kind.

Public API
----------
- ``prepare_marks(frame, config)``: the keys of every mark (``id``, ``text`` in; key columns out).
- ``candidate_pairs(query, reference, config)`` -> DataFrame[qid, rid, key_kind]
- ``match_marks(query, reference, config)`` -> DataFrame[qid, rid, similarity, kind, detail, key_kind]
- ``match_prepared(qp, rp, config)``: the same on prepared frames, by row position.
- ``explain_pair(a, b, config=None)`` -> (Reason | None, similarity, explanation)

``reference=None`` means "the query against itself": each unordered pair of distinct rows is
returned once (qid of the smaller row position first); a row is never paired with itself.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from core.reasons import Reason
from core.tables import forget_frame, frame_cache, isin, sorted_unique
from features import kernels as kn
from features import textsim as ts

KEY_KINDS = ("norm", "core", "skeleton", "sorted", "pinyin", "hshape", "phonetic", "del1", "del2", "hsub", "hdel",
             "prefix", "suffix", "reading")
# Identity-like keys (one or two values per mark) vs fuzzy neighbourhood keys (many per mark).
EXACT_KEYS = frozenset({"norm", "core", "skeleton", "sorted", "pinyin", "hshape", "reading"})
# Coarse blocks (first / last letters of the Latin core or pinyin, metaphone key) verified inside
# the block with rapidfuzz: they catch the multi-edit pairs that deletion neighbourhoods miss.
CDIST_KEYS = frozenset({"prefix", "suffix", "phonetic"})

# seconds and pair counts per key kind of the last candidate search (for the benchmark)
_LAST_TIMING: dict[str, tuple[float, int]] = {}

KINDS = {
    "exact": Reason.INFRINGEMENT_EXACT,
    "confusable": Reason.INFRINGEMENT_CONFUSABLE,
    "edit": Reason.INFRINGEMENT_EDIT,
    "phonetic": Reason.INFRINGEMENT_PHONETIC,
    "affix": Reason.INFRINGEMENT_AFFIX,
    "reorder": Reason.INFRINGEMENT_REORDER,
    "homophone": Reason.INFRINGEMENT_HOMOPHONE,
    "shape": Reason.INFRINGEMENT_SHAPE,
    "transliteration": Reason.INFRINGEMENT_TRANSLITERATION,
}


def _section(config):
    if config is None:
        from core.config import load_config

        config = load_config()
    return config.infringement


def _check_frame(frame: pd.DataFrame, name: str) -> None:
    missing = [c for c in ("id", "text") if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: a DataFrame with columns ['id', 'text'] is required; missing {missing}, "
                         f"received columns {list(frame.columns)}")


# --------------------------------------------------------------------------- preparation
def prepare_marks(frame: pd.DataFrame, config=None) -> pd.DataFrame:
    """Keys of each mark. ``frame`` needs ``id`` and ``text``; it is not modified.

    Columns: id, text, han (bool), norm, comp (compact norm), core (compact distinctive core),
    core_sp (core with spaces), clen, ntok, sorted, pinyin (of the core), pinfull (of the whole mark:
    李锦记 keeps its 记 there), phon, skel, hshape (shape-folded Han core), distinctive, fuzzy.
    """
    _check_frame(frame, "prepare_marks")
    cfg = _section(config)
    text = frame["text"].astype("str").fillna("").reset_index(drop=True)
    out = pd.DataFrame({"id": frame["id"].to_numpy(), "text": text})
    han = ts.has_han(text)
    norm = ts.mark_norm(text)
    comp = ts.compact(norm)
    core_sp = ts.strip_generic(norm)
    core = ts.compact(core_sp)
    clen = core.str.len().astype("int64")
    min_len = np.where(han, cfg.min_len_han, cfg.min_len_latin)
    # the generic word was part of the name (GO PRO): keep the whole mark as the core — except a
    # Chinese mark cut by a suffix-only word (王氏, 李记, 饭店, 刘老铺, 王师傅): a surname or generic label
    suffixes = sorted(ts._generic_sets()["han_affix_suffix"], key=len, reverse=True)
    label = (han & comp.str.contains("(?:" + "|".join(suffixes) + ")$", regex=True)) if suffixes else han & False
    short = (clen > 0) & (clen < min_len) & ~label
    core = core.where(~short, comp)
    core_sp = core_sp.where(~short, norm)
    own = ts.without_own_pinyin(core)  # 红牛 HONGNIU is 红牛
    core_sp = core_sp.where(own == core, own)
    core = own
    clen = core.str.len().astype("int64")
    out["han"] = han.to_numpy()
    out["norm"] = norm.to_numpy()
    out["comp"] = comp.to_numpy()
    out["core"] = core.to_numpy()
    out["core_sp"] = core_sp.to_numpy()
    out["clen"] = clen.to_numpy()
    out["ntok"] = core_sp.str.count(" ").to_numpy() + 1
    out["sorted"] = ts.token_sort(core_sp).to_numpy()
    pin = ts.pinyin_key(core)
    out["pinyin"] = pin.to_numpy()
    cut = (comp != core).to_numpy()  # the whole mark's pinyin differs only where a generic word was cut
    pinfull = pin.copy()
    if cut.any():
        pinfull[cut] = ts.pinyin_key(comp[cut]).to_numpy()
    out["pinfull"] = pinfull.to_numpy()
    out["phon"] = ts.phonetic_key(pin).to_numpy()
    tread = ts.transliteration_reading(core)
    out["tread"] = tread.to_numpy()
    out["tskel"] = ts.reading_skeleton(tread).to_numpy()
    out["skel"] = _fold(core).to_numpy()
    out["hshape"] = np.where(han, ts.shape_fold(core).to_numpy(), "")
    out["dict"] = ts.all_dictionary_words(core_sp.reset_index(drop=True)).to_numpy()
    distinctive = (clen >= min_len) & ~ts.is_common_core(core)
    out["distinctive"] = distinctive.to_numpy()
    fuzzy_len = np.where(han, cfg.min_len_fuzzy_han, cfg.min_len_fuzzy_latin)
    out["fuzzy"] = (distinctive & (clen >= fuzzy_len)).to_numpy()
    return out


def _fold(core: pd.Series, multi: bool = True) -> pd.Series:
    """Look-alike folding of a core (0->o, 1/i->l, 5->s, and with ``multi`` rn->m, vv->w).

    Without ``multi`` the folding is letter for letter, so it never increases an edit distance."""
    s = core.astype("str")
    pairs = [("0", "o"), ("1", "l"), ("i", "l"), ("5", "s")] + ([("rn", "m"), ("vv", "w")] if multi else [])
    for a, b in pairs:
        s = s.str.replace(a, b, regex=False)
    return s


# --------------------------------------------------------------------------- blocking keys
def _deletions(strings: pd.Series, pos: np.ndarray, min_len: int) -> tuple[np.ndarray, pd.Series]:
    """The string itself plus every one-character deletion (strings of length >= min_len)."""
    lens = strings.str.len().to_numpy()
    pos_parts, key_parts = [pos], [strings]
    maxlen = int(lens.max()) if len(lens) else 0
    for i in range(maxlen):
        m = lens >= max(i + 1, min_len)
        if not m.any():
            continue
        s = strings[m]
        pos_parts.append(pos[m])
        key_parts.append(s.str.slice(0, i) + s.str.slice(i + 1))
    return np.concatenate(pos_parts), pd.concat(key_parts, ignore_index=True)


def _wildcards(strings: pd.Series, pos: np.ndarray) -> tuple[np.ndarray, pd.Series]:
    """Each character replaced by '?' in turn (positional one-substitution keys)."""
    lens = strings.str.len().to_numpy()
    pos_parts, key_parts = [], []
    for i in range(int(lens.max()) if len(lens) else 0):
        m = lens > i
        s = strings[m]
        pos_parts.append(pos[m])
        key_parts.append(s.str.slice(0, i) + "?" + s.str.slice(i + 1) + "#" + s.str.len().astype("str"))
    if not pos_parts:
        return np.array([], dtype="int64"), pd.Series([], dtype="str")
    return np.concatenate(pos_parts), pd.concat(key_parts, ignore_index=True)


_HASH_BASE = np.uint64(1_000_003)


def _deletions2(strings: pd.Series, pos: np.ndarray, two: int, max_len: int) -> tuple[np.ndarray, pd.Series]:
    """Hashes of each string and of every string left after deleting one or two of its characters:
    two strings within OSA distance 2 — or Indel distance 2, two letters inserted into one of them —
    share one of these keys (symmetric deletion neighbourhood). Only pairs whose longer string has
    at least ``two`` letters need it, so the string itself is a key from two - 2 letters, its
    one-letter deletions from two - 1 and its two-letter deletions from ``two`` (the longer string
    deletes two, a partner one or two letters shorter deletes one or none).

    Keys are 64-bit polynomial hashes computed with numpy from prefix hashes (no Python loop over
    strings, no key strings in memory); a rare hash collision only adds a candidate that the
    verification then rejects."""
    lens = strings.str.len().to_numpy()
    keep = (lens >= two - 2) & (lens <= max_len)
    if not keep.any():
        return np.array([], dtype="int64"), pd.Series([], dtype="uint64")
    s, pos, lens = strings[keep], pos[keep], lens[keep].astype("int64")
    width = int(lens.max())
    codes = np.array(s.tolist(), dtype=f"<U{width}").view(np.uint32).reshape(len(s), width).astype(np.uint64)
    with np.errstate(over="ignore"):
        powers = np.ones(width + 1, dtype=np.uint64)
        for k in range(1, width + 1):
            powers[k] = powers[k - 1] * _HASH_BASE
        prefix = np.zeros((len(s), width + 1), dtype=np.uint64)
        for k in range(width):
            prefix[:, k + 1] = prefix[:, k] * _HASH_BASE + codes[:, k]
        rows = np.arange(len(s))

        def key(h, n):  # mix the remaining length in, so different lengths never share a key
            return h * _HASH_BASE + n.astype(np.uint64)

        pos_parts, key_parts = [pos], [key(prefix[rows, lens], lens)]
        for i in range(width):
            m1 = (lens > i) & (lens >= two - 1)
            r1, L1 = rows[m1], lens[m1]
            h1 = (prefix[r1, i] * powers[L1 - i - 1]
                  + prefix[r1, L1] - prefix[r1, i + 1] * powers[L1 - i - 1])
            pos_parts.append(pos[m1])
            key_parts.append(key(h1, L1 - 1))
            for j in range(i + 1, width):
                m2 = (lens > j) & (lens >= two)
                r2, L2 = rows[m2], lens[m2]
                left = prefix[r2, i]
                mid = prefix[r2, j] - prefix[r2, i + 1] * powers[j - i - 1]
                right = prefix[r2, L2] - prefix[r2, j + 1] * powers[L2 - j - 1]
                h2 = (left * powers[j - i - 1] + mid) * powers[L2 - j - 1] + right
                pos_parts.append(pos[m2])
                key_parts.append(key(h2, L2 - 2))
    return _unique_keys(pos_parts, [pd.Series(k) for k in key_parts])


def _unique_keys(pos_parts: list, key_parts: list) -> tuple[np.ndarray, pd.Series]:
    """Concatenated (position, key) parts with repeated pairs removed (a mark in a block once)."""
    keys = pd.DataFrame({"pos": np.concatenate(pos_parts), "key": pd.concat(key_parts, ignore_index=True)})
    keys = keys.drop_duplicates()
    return keys["pos"].to_numpy(), keys["key"].reset_index(drop=True)


def _keys(prep: pd.DataFrame, kind: str, cfg) -> tuple[np.ndarray, pd.Series]:
    """(row positions, key strings) of one key kind for a prepared frame."""
    pos_all = np.arange(len(prep))
    d = prep["distinctive"].to_numpy()
    f = prep["fuzzy"].to_numpy()
    han = prep["han"].to_numpy()

    def sel(mask, col):
        return pos_all[mask], prep[col][mask].reset_index(drop=True)

    if kind == "norm":
        return sel(d, "comp")
    if kind == "core":
        return sel(d, "core")
    if kind == "skeleton":
        return sel(d & ~han, "skel")
    if kind == "sorted":
        m = d & np.where(han, prep["clen"].to_numpy() >= cfg.min_len_reorder_han, prep["ntok"].to_numpy() >= 2)
        return sel(m, "sorted")
    if kind == "pinyin":
        # the core's pinyin, and the whole mark's when a generic word was cut (LIJINJI ~ 李锦记)
        pos, s = sel(d, "pinyin")
        full = d & (prep["pinfull"] != prep["pinyin"]).to_numpy()
        fpos, fs = sel(full, "pinfull")
        return np.concatenate([pos, fpos]), pd.concat([s, fs], ignore_index=True)
    if kind == "hshape":
        return sel(d & han & (prep["clen"].to_numpy() >= cfg.min_len_shape_han), "hshape")
    if kind == "reading":
        # a foreign name and its Chinese transliteration: the consonants of their readings
        # (textsim.transliteration_reading), at least three
        return sel(d & (prep["tskel"].str.len().to_numpy() >= 3), "tskel")
    if kind == "phonetic":
        # metaphone key + length bucket (three overlapping buckets of width 3: lengths differing by up
        # to two meet — a transliteration's letters rarely match the pinyin's count exactly)
        m = f & (prep["phon"].str.len().to_numpy() >= 2)
        pos, s = sel(m, "phon")
        n = prep["pinyin"][m].str.len().reset_index(drop=True)
        return _unique_keys([pos, pos, pos], [s + "#" + ((n + k) // 3).astype("str") for k in range(3)])
    if kind == "del1":
        # Latin core / Han pinyin and their one-letter deletions (edits, near-homophones, and
        # near transliterations meet here: the Latin core and the pinyin share one key space).
        # Look-alike letters are folded first, so "N1KE" and "NIKEE" are one deletion apart.
        # (3-letter Latin cores join as themselves only: KFAC -> KFC, for the letter-edit rule)
        short_latin = d & ~han & (prep["clen"].to_numpy() >= 3)
        pos, s = sel(f | short_latin, "pinyin")
        p1, k1 = _deletions(_fold(s, multi=False), pos, int(cfg.letter_edit_min_len))
        # marks with rn / vv also by their skeleton spelling (DROARN reads DROAM: one letter from DROA)
        multi = _fold(s)
        two = (multi != _fold(s, multi=False)).to_numpy()
        if not two.any():
            return p1, k1
        p2, k2 = _deletions(multi[two].reset_index(drop=True), pos[two], int(cfg.letter_edit_min_len))
        return _unique_keys([p1, p2], [k1, k2])
    if kind == "del2":
        # The letter-edit rule's two-letter budget (OSA distance 2 from letter_two_edits_len letters:
        # DAOTNGZEI ~ DAOTONGWEI), and two letters inserted anywhere (the edit-ratio rule): Latin
        # cores long enough for a partner that long.
        # Longer cores are left to the prefix/suffix blocks: two substitutions in L letters keep an
        # Indel ratio of 1 - 2/L, above their cutoff from L = ceil(2 / (1 - cutoff)) (14 at 0.85).
        two = int(cfg.letter_two_edits_len)
        t = _edit_cutoff(cfg)
        longest = int(np.ceil(2.0 / (1.0 - t) - 1e-9)) if t < 1 else 64
        pos, s = sel(d & ~han, "core")
        return _deletions2(s, pos, max(two, 5), longest + 2)
    if kind == "hsub":
        # One substituted character is an edit match only from ceil(1 / (1 - min_edit_han)) characters
        # (7 at 0.85), or from han_substitution_min_len (well-known marks' wider scope); shorter
        # substitutions are homophones (pinyin / del1 keys) or shapes (hshape).
        from_len = int(np.ceil(1.0 / (1.0 - cfg.min_edit_han) - 1e-9))
        if cfg.han_substitution_min_len > 0:
            from_len = min(from_len, int(cfg.han_substitution_min_len))
        long_han = prep["clen"].to_numpy() >= from_len
        pos, s = sel(f & han & long_han, "core")
        return _wildcards(s, pos)
    if kind == "hdel":
        pos, s = sel(f & han, "core")
        return _deletions(s, pos, 4)
    if kind in CDIST_KEYS:
        # first (last) k letters, also after deleting one of the first (last) k+1 letters, so that a
        # pair with at most one edit near that end shares a block
        # Only strings long enough to have a partner at ratio >= t that the deletion keys cannot
        # reach. del1 + del2 hold every pair at Indel distance 2 whose shorter string has at least
        # letter_two_edits_len - 2 letters; beyond that, a pair at Indel distance d needs a shorter
        # string of s letters with 1 - d / (2s + d) >= t: s >= (d / (1 - t) - d) / 2 (d = 2 below
        # del2's reach, else d = 3: 9 letters at t = 0.85).
        t = _edit_cutoff(cfg)
        if t >= 1:
            min_len = 10**9
        else:
            s2 = int(np.ceil((2.0 / (1.0 - t) - 2.0) / 2.0 - 1e-9))
            s3 = int(np.ceil((3.0 / (1.0 - t) - 3.0) / 2.0 - 1e-9))
            min_len = s2 if s2 < int(cfg.letter_two_edits_len) - 2 else s3
        # Latin cores only: the multi-edit misspellings these blocks exist for. Chinese marks meet
        # Latin ones on the phonetic key (transliterations) and each other on pinyin / del1 / hsub;
        # Chinese-Chinese pinyin neighbours two letters apart were 80 % of this stage's cost and
        # rarely a copy.
        pos, s = sel(f & ~han & (prep["pinyin"].str.len().to_numpy() >= min_len), "pinyin")
        k = int(cfg.block_affix_len)
        if kind == "suffix":
            s = s.str[::-1]
        parts_pos, parts_key = [pos], [s.str.slice(0, k)]
        for i in range(k + 1 if cfg.block_affix_deletions else 0):
            long_enough = (s.str.len() > k).to_numpy()
            si = s[long_enough]
            parts_pos.append(pos[long_enough])
            parts_key.append((si.str.slice(0, i) + si.str.slice(i + 1)).str.slice(0, k))
        return _unique_keys(parts_pos, parts_key)
    raise ValueError(f"key kind must be one of {list(KEY_KINDS)}; received {kind!r}")


# Key parameters per key kind: the cache below reuses a frame's keys only under the same values.
_KEY_PARAMS = {
    "sorted": ("min_len_reorder_han",), "hshape": ("min_len_shape_han",), "del1": ("letter_edit_min_len",),
    "del2": ("letter_two_edits_len", "min_edit_latin", "min_edit_han", "min_translit_ratio", "min_homophone_ratio"),
    "hsub": ("min_edit_han", "han_substitution_min_len"),
    "prefix": ("min_edit_latin", "min_edit_han", "min_translit_ratio", "min_homophone_ratio", "block_affix_len",
               "block_affix_deletions", "letter_two_edits_len"),
}
_KEY_PARAMS["suffix"] = _KEY_PARAMS["prefix"]
def _frame_cache(prep: pd.DataFrame) -> dict:
    """Per prepared frame: {(kind, params): (positions, codes, key index)}, its aliases, columns."""
    return frame_cache(prep)


def forget_keys(prep: pd.DataFrame) -> None:
    """Drop the blocking keys cached for a prepared frame (they otherwise live as long as it)."""
    forget_frame(prep)


class KeyLookup:
    """The distinct keys of one key kind as sorted 64-bit hashes: code of a key by binary search.
    (A pandas Index keeps a hash table per kind once it is probed: about 1 GB over the key kinds of
    half a million marks. A hash collision can only add a candidate pair, which verification
    rejects.)"""

    def __init__(self, uniq):
        self.uniq, self.n = uniq, len(uniq)
        self.sorted = self.order = None

    def __len__(self) -> int:
        return self.n

    @classmethod
    def from_sorted(cls, sorted_hashes: np.ndarray, order: np.ndarray) -> KeyLookup:
        """A look-up rebuilt from ``arrays()`` (a stored register index)."""
        lookup = cls(())
        lookup.n, lookup.sorted, lookup.order = len(sorted_hashes), sorted_hashes, order
        return lookup

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted key hashes, key code of each), the look-up's state as plain arrays."""
        if not self.n:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        if self.sorted is None:
            self.codes_of_hashes(np.zeros(1, dtype=np.uint64))  # builds them
        return self.sorted, self.order

    def codes(self, keys) -> np.ndarray:
        """Code of each key (its position among the distinct keys), -1 when absent."""
        return self.codes_of_hashes(_key_hashes(keys) if len(keys) else np.zeros(0, dtype=np.uint64))

    def codes_of_hashes(self, h: np.ndarray) -> np.ndarray:
        """``codes`` of keys given by their ``_key_hashes``."""
        if not self.n or not len(h):
            return np.full(len(h), -1, dtype=np.int64)
        if self.sorted is None:  # built on the first look-up: a self-join alone never needs it
            hu = _key_hashes(self.uniq)
            self.order = np.argsort(hu, kind="stable").astype(np.int64)
            self.sorted, self.uniq = hu[self.order], None
        at = np.minimum(np.searchsorted(self.sorted, h), len(self.sorted) - 1)
        return np.where(self.sorted[at] == h, self.order[at], -1)


def _key_hashes(keys) -> np.ndarray:
    values = np.asarray(keys)  # key strings come out as an object array
    if values.dtype.kind in "iu":  # del2 keys are already 64-bit hashes
        return values.astype(np.uint64)
    return pd.util.hash_array(values.astype(object, copy=False), categorize=False)


def _key_tag(kind: str, cfg) -> tuple:
    return kind, tuple(cfg[name] for name in _KEY_PARAMS.get(kind, ()))


# marks per chunk when a large frame's keys are generated only to probe a short reference list
_PROBE_CHUNK = 500_000


def _probe_reference(qp: pd.DataFrame, rp: pd.DataFrame, kind: str, cfg
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(qpos, qc, rpos, rc, n_codes) in the code space of the reference's distinct keys, the query's
    keys hashed chunk by chunk (``_probe_hashes``) and only those the reference has kept: for a short reference
    (protected marks, transliteration aliases) against millions of marks whose key index of this
    kind was not built (national scale: the self-join used other kinds), the whole index would be
    several GB."""
    rpos, rc, lookup = _key_index(rp, kind, cfg)
    qpos, h = _probe_hashes(qp, kind, cfg)
    codes = lookup.codes_of_hashes(h)
    hit = codes >= 0
    qpos, qc = qpos[hit].astype(np.int64), codes[hit]
    if len(qc) * 8 < len(rc):
        # a few new marks against a large kept reference (a register screened filing by filing): only
        # the reference keys the query has, by code (``_by_code``), in a code space of the query's
        # keys, so nothing per call is of the register's size
        uniq, qc = np.unique(qc, return_inverse=True)
        order, start = _by_code(rp, kind, cfg, rc, len(lookup))
        code, at = kn.gather(start[uniq], start[uniq + 1] - start[uniq])
        return qpos, qc.astype(np.int64), rpos[order[at]].astype(np.int64), code, len(uniq)
    return qpos, qc, rpos.astype(np.int64), rc.astype(np.int64), len(lookup)


def _by_code(rp: pd.DataFrame, kind: str, cfg, rc: np.ndarray, n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    """A frame's keys of one kind grouped by code: (key numbers sorted by code, start of each code)."""
    per_frame = _frame_cache(rp)
    tag = ("by_code", *_key_tag(kind, cfg))
    if tag not in per_frame:
        per_frame[tag] = (np.argsort(rc, kind="stable"), np.r_[0, np.cumsum(np.bincount(rc, minlength=n_codes))])
    return per_frame[tag]


def _probe_hashes(qp: pd.DataFrame, kind: str, cfg) -> tuple[np.ndarray, np.ndarray]:
    """(positions, key hashes) of all of ``qp``'s keys of one kind, generated chunk by chunk and kept
    for the frame's next short reference: the marks probe three (their own transliterations, the
    protected list, its transliterations), and generating the deletion keys of 4.4M marks took 90 s
    each time. 12 bytes a key, where a key index holds the key strings too."""
    tag = ("hashes", *_key_tag(kind, cfg))
    per_frame = _frame_cache(qp)
    if tag not in per_frame:
        pos, hashes = [np.zeros(0, dtype=np.int32)], [np.zeros(0, dtype=np.uint64)]
        for lo in range(0, len(qp), _PROBE_CHUNK):
            p, key = _keys(qp.iloc[lo:lo + _PROBE_CHUNK], kind, cfg)
            if len(p):
                pos.append((p + lo).astype(np.int32))
                hashes.append(_key_hashes(key))
        per_frame[tag] = (np.concatenate(pos), np.concatenate(hashes))
    return per_frame[tag]


def _key_index(prep: pd.DataFrame, kind: str, cfg) -> tuple[np.ndarray, np.ndarray, KeyLookup]:
    """(positions, key codes, look-up of the distinct keys) of one key kind, computed once per frame:
    the infringement builder matches the same marks against themselves, the protected list and the
    transliteration aliases, and building the keys of half a million marks is the costly part."""
    tag = _key_tag(kind, cfg)
    per_frame = _frame_cache(prep)
    if tag not in per_frame:
        pos, key = _keys(prep, kind, cfg)
        codes, uniq = pd.factorize(key)
        # int32: positions and codes of half a million marks' keys stay in memory for three joins
        per_frame[tag] = (pos.astype(np.int32), codes.astype(np.int32), KeyLookup(uniq))
    return per_frame[tag]


def _column(prep: pd.DataFrame, name: str) -> np.ndarray:
    """A prepared frame's column as a numpy array, converted once per frame (string columns are
    Arrow-backed; converting half a million values on every verification call was a hot spot)."""
    per_frame = _frame_cache(prep)
    tag = ("column", name)
    if tag not in per_frame:
        col = prep[name]
        per_frame[tag] = col.to_numpy(dtype=object) if col.dtype == "str" else col.to_numpy()
    return per_frame[tag]


def _coded(qp, rp, kind, cfg, self_join: bool, keys: dict | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Both sides' positions and key codes in one code space: (qpos, qc, rpos, rc, n_codes).
    Reference keys no query mark has are dropped (they cannot pair). ``keys``: one block partition
    of a self-join (``block_partition``) instead of the frame's whole key index."""
    if keys is not None:
        qpos, qc, n_codes = keys[kind]
        return qpos, qc, qpos, qc, n_codes
    if not self_join and _key_tag(kind, cfg) not in _frame_cache(qp) and (
            len(rp) < len(qp) or _key_tag(kind, cfg) in _frame_cache(rp)):
        # a short reference, or one whose key index is kept (a register screened application by
        # application, ``warm_keys``): index the reference, hash the query's keys
        return _probe_reference(qp, rp, kind, cfg)
    qpos, qc, index = _key_index(qp, kind, cfg)
    if self_join:
        # int64 for the callers: searchsorted of an int64 block code in an int32 array copies the array
        qpos, qc = qpos.astype(np.int64), qc.astype(np.int64)
        return qpos, qc, qpos, qc, len(index)
    rpos, rkey = _keys(rp, kind, cfg)
    rc = index.codes(rkey)
    hit = rc >= 0
    rpos, rc = rpos[hit], rc[hit].astype(np.int64)
    # only the query marks in blocks the reference reaches (a short protected list or alias list
    # against half a million marks: the other blocks cannot pair)
    reached = np.zeros(len(index), dtype=bool)
    reached[rc] = True
    qm = reached[qc]
    return qpos[qm].astype(np.int64), qc[qm].astype(np.int64), rpos, rc, len(index)


def _join(qp, rp, kind, cfg, max_pairs: int, self_join: bool, keys: dict | None = None
          ) -> tuple[np.ndarray, np.ndarray, int]:
    """Pairs of positions sharing a key; blocks with more than max_pairs pairs are skipped."""
    qpos, qc, rpos, rc, n_codes = _coded(qp, rp, kind, cfg, self_join, keys)
    if len(qpos) == 0 or len(rpos) == 0:
        e = np.array([], dtype="int64")
        return e, e, 0
    qcount = np.bincount(qc, minlength=n_codes)
    rcount = np.bincount(rc, minlength=n_codes)
    size = qcount.astype("int64") * rcount
    keep = (size > 0) & (size <= max_pairs)
    if self_join:
        keep &= qcount >= 2
    skipped = int(((size > max_pairs)).sum())
    qm, rm = keep[qc], keep[rc]
    qdf = pd.DataFrame({"c": qc[qm], "q": qpos[qm]})
    rdf = pd.DataFrame({"c": rc[rm], "r": rpos[rm]})
    j = qdf.merge(rdf, on="c", how="inner", sort=False)
    q, r = j["q"].to_numpy(), j["r"].to_numpy()
    if self_join:
        m = q < r
        q, r = q[m], r[m]
    return q, r, skipped


def _edit_cutoff(cfg) -> float:
    """The lowest ratio any fuzzy rule accepts (Latin core / pinyin space)."""
    return float(min(cfg.min_edit_latin, cfg.min_edit_han, cfg.min_translit_ratio, cfg.min_homophone_ratio))


def _block_cdist(qp, rp, kind, cfg, self_join: bool, keys: dict | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Pairs in the same coarse block whose Latin core / pinyin ratio reaches the lowest fuzzy
    threshold. Small blocks: all their pairs at once with ``cpdist``; large ones: one ``cdist``
    each (a loop over the few large blocks only). Blocks above ``max_block_pairs_verify`` are skipped.
    """
    qpos, qc, rpos, rc, n_codes = _coded(qp, rp, kind, cfg, self_join, keys)
    e = np.array([], dtype="int64")
    if len(qpos) == 0 or len(rpos) == 0:
        return e, e, 0
    cutoff = 100.0 * (cfg.min_phonetic_ratio if kind == "phonetic" else _edit_cutoff(cfg))
    qn = np.bincount(qc, minlength=n_codes).astype("int64")
    rn = np.bincount(rc, minlength=n_codes).astype("int64")
    size = qn * rn
    if self_join:
        size = np.where(qn >= 2, size, 0)
    small = (size > 0) & (size <= int(cfg.block_small_pairs))
    big = (size > int(cfg.block_small_pairs)) & (size <= int(cfg.max_block_pairs_verify))
    skipped = int((size > int(cfg.max_block_pairs_verify)).sum())
    qtext = _column(qp, "pinyin")
    rtext = _column(rp, "pinyin")
    # Sound-alike rules need a Latin side (PHONETIC is Latin-Latin, TRANSLITERATION Latin-Chinese):
    # two Chinese marks meeting on a metaphone key are left out before any scoring.
    latin_side = kind == "phonetic"
    qhan, rhan = _column(qp, "han"), _column(rp, "han")
    out_q, out_r = [], []
    # small blocks: enumerate pairs, verify in one vectorised call
    qm, rm = small[qc], small[rc]
    j = pd.DataFrame({"c": qc[qm], "q": qpos[qm]}).merge(pd.DataFrame({"c": rc[rm], "r": rpos[rm]}), on="c")
    q, r = j["q"].to_numpy(), j["r"].to_numpy()
    keep = ~(qhan[q] & rhan[r]) if latin_side else np.ones(len(q), dtype=bool)
    if self_join:
        keep &= q < r
    q, r = q[keep], r[keep]
    if len(q):
        sc = process.cpdist(qtext[q], rtext[r], scorer=fuzz.ratio, score_cutoff=cutoff, workers=1)
        ok = sc >= cutoff
        out_q.append(q[ok])
        out_r.append(r[ok])
    # large blocks: one cdist per block
    if big.any():
        qo = np.argsort(qc, kind="stable")
        ro = np.argsort(rc, kind="stable")
        qs, rs = qc[qo], rc[ro]
        for b in np.flatnonzero(big):
            qi = qpos[qo[np.searchsorted(qs, b):np.searchsorted(qs, b, side="right")]]
            ri = rpos[ro[np.searchsorted(rs, b):np.searchsorted(rs, b, side="right")]]
            if latin_side:  # Chinese rows only against the block's Latin rows (and the reverse)
                m = _latin_pairs(qi, ri, qhan, rhan, qtext, rtext, cutoff, self_join)
                out_q.append(m[0])
                out_r.append(m[1])
                continue
            m = process.cdist(qtext[qi], rtext[ri], scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8,
                              workers=1)
            a, c = np.nonzero(m)
            q, r = qi[a], ri[c]
            if self_join:
                keep = q < r
                q, r = q[keep], r[keep]
            out_q.append(q)
            out_r.append(r)
    if not out_q:
        return e, e, skipped
    return np.concatenate(out_q), np.concatenate(out_r), skipped


def _latin_pairs(qi, ri, qhan, rhan, qtext, rtext, cutoff, self_join: bool) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of one large block with at least one Latin side whose ratio reaches ``cutoff``."""
    outs_q, outs_r = [], []
    ql, rl = qi[~qhan[qi]], ri[~rhan[ri]]
    for a, b in ((ql, ri), (qi[qhan[qi]], rl)):  # Latin query rows x all; Chinese query rows x Latin
        if not len(a) or not len(b):
            continue
        m = process.cdist(qtext[a], rtext[b], scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8, workers=1)
        x, y = np.nonzero(m)
        outs_q.append(a[x])
        outs_r.append(b[y])
    if not outs_q:
        e = np.array([], dtype="int64")
        return e, e
    q, r = np.concatenate(outs_q).astype(np.int64), np.concatenate(outs_r).astype(np.int64)
    if self_join and len(q):  # each unordered pair once, whichever side found it
        lo, hi = np.minimum(q, r), np.maximum(q, r)
        width = int(hi.max()) + 1
        code = sorted_unique(lo * width + hi)
        lo, hi = code // width, code % width
        return lo[lo != hi], hi[lo != hi]
    return q, r


def _candidates(qp: pd.DataFrame, rp: pd.DataFrame, cfg, self_join: bool,
                kinds=KEY_KINDS, keys: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Unique candidate position pairs with the first key kind that produced them (``keys``: only
    the blocks of one partition of a self-join, see ``block_partition``)."""
    parts, skipped, timing = [], {}, {}
    nr = max(len(rp), 1)
    for kind in kinds:
        k = KEY_KINDS.index(kind)  # the label code is the kind's place in KEY_KINDS, whatever the subset
        t0 = time.perf_counter()
        if kind in CDIST_KEYS:
            q, r, sk = _block_cdist(qp, rp, kind, cfg, self_join, keys)
        else:
            cap = cfg.max_block_pairs_exact if kind in EXACT_KEYS else cfg.max_block_pairs_fuzzy
            q, r, sk = _join(qp, rp, kind, cfg, cap, self_join, keys)
            if kind == "reading":
                # a transliteration is across scripts, and its readings are close (the rule's own test,
                # vectorised here: a short skeleton such as msn blocks many names together)
                keep = _column(qp, "han")[q] != _column(rp, "han")[r]
                keep[keep] = _ratio(_column(qp, "tread")[q[keep]], _column(rp, "tread")[r[keep]]) >= cfg.min_translit_ratio
                q, r = q[keep], r[keep]
        skipped[kind] = sk
        if len(q):
            code = q.astype("int64") * nr + r
            code = sorted_unique(code)
            parts.append(pd.DataFrame({"code": code, "k": np.int8(k)}))
        timing[kind] = (round(time.perf_counter() - t0, 2), len(q))
    _LAST_TIMING.clear()
    _LAST_TIMING.update(timing)
    if not parts:
        return pd.DataFrame({"q": np.array([], "int64"), "r": np.array([], "int64"), "k": np.array([], "int8")}), skipped
    allp = pd.concat(parts, ignore_index=True).drop_duplicates("code", keep="first")
    code = allp["code"].to_numpy()
    return pd.DataFrame({"q": code // nr, "r": code % nr, "k": allp["k"].to_numpy()}), skipped


def candidate_pairs(query: pd.DataFrame, reference: pd.DataFrame | None, config=None) -> pd.DataFrame:
    """Candidate pairs sharing at least one blocking key: DataFrame[qid, rid, key_kind].

    key_kind is the first kind (in ``KEY_KINDS`` order) that paired them. ``reference=None``:
    the query against itself, each unordered pair once. ``out.attrs['skipped_blocks']`` counts the
    oversized blocks skipped per key kind.
    """
    cfg = _section(config)
    _check_frame(query, "candidate_pairs(query)")
    qp = query if "distinctive" in query.columns else prepare_marks(query, config)
    if reference is None:
        rp, self_join = qp, True
    else:
        _check_frame(reference, "candidate_pairs(reference)")
        rp = reference if "distinctive" in reference.columns else prepare_marks(reference, config)
        self_join = False
    c, skipped = _candidates(qp, rp, cfg, self_join)
    out = pd.DataFrame({
        "qid": qp["id"].to_numpy()[c["q"].to_numpy()],
        "rid": rp["id"].to_numpy()[c["r"].to_numpy()],
        "key_kind": np.asarray(KEY_KINDS, dtype=object)[c["k"].to_numpy()],
    })
    out["key_kind"] = out["key_kind"].astype("str")
    out.attrs["skipped_blocks"] = skipped
    return out


# --------------------------------------------------------------------------- verification
def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0:
        return np.array([], dtype="float64")
    return process.cpdist(a, b, scorer=fuzz.ratio, workers=1, dtype=np.float32).astype("float64") / 100.0


def _shape(qc: pd.Series, rc: pd.Series, max_diff: int) -> tuple[np.ndarray, np.ndarray]:
    """Same-length Han cores differing only by shape-similar characters: (ok, 'a→b' detail)."""
    pairs = ts.shape_pairs()
    n = len(qc)
    ok = np.ones(n, dtype=bool)
    ndiff = np.zeros(n, dtype="int64")
    detail = pd.Series([""] * n, dtype="str")
    maxlen = int(qc.str.len().max()) if n else 0
    for i in range(maxlen):
        a, b = qc.str.slice(i, i + 1), rc.str.slice(i, i + 1)
        diff = (a != b).to_numpy()
        if not diff.any():
            continue
        ok &= ~diff | isin(a + b, list(pairs))
        ndiff += diff
        detail = detail.where(~diff, detail + b + "/" + a + " ")
    return ok & (ndiff >= 1) & (ndiff <= max_diff), detail.str.strip().to_numpy()


def _kept_characters(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair of equal-length strings, how many positions hold the same character."""
    width = max(max((len(x) for x in a), default=1), 1)
    ca = np.array(a.tolist(), dtype=f"<U{width}").view(np.uint32).reshape(len(a), width)
    cb = np.array(b.tolist(), dtype=f"<U{width}").view(np.uint32).reshape(len(b), width)
    return ((ca == cb) & (ca != 0)).sum(axis=1)


def _letter_edits(qcore, rcore, qclen, rclen, cand, cfg) -> tuple[np.ndarray, np.ndarray]:
    """CNIPA examination guideline for Latin marks: four or more letters differing in only one or a
    few letters are similar, unless the first letter differs or the meanings do (``cand`` excludes
    pairs of dictionary words). Budget: one edit (substitution,
    insertion, deletion or swap of neighbours, OSA distance), two from ``letter_two_edits_len``."""
    n = len(qcore)
    longer = np.maximum(qclen, rclen)
    m = cand & (longer >= cfg.letter_edit_min_len) & (np.minimum(qclen, rclen) >= 3)
    m &= pd.Series(qcore, dtype="str").str.slice(0, 1).to_numpy() == pd.Series(rcore, dtype="str").str.slice(0, 1).to_numpy()
    dist = np.full(n, 99, dtype="int64")
    if m.any():
        dist[m] = process.cpdist(qcore[m], rcore[m], scorer=OSA.distance, workers=1)
    budget = np.where(longer >= cfg.letter_two_edits_len, 2, 1)
    return m & (dist >= 1) & (dist <= budget), dist


def _verify(qp: pd.DataFrame, rp: pd.DataFrame, q: np.ndarray, r: np.ndarray, cfg) -> pd.DataFrame:
    """Similarity, kind and detail of position pairs (q[i], r[i]); kind '' = no match."""
    n = len(q)
    score = cfg.kind_score

    def col(frame, name, idx):
        return _column(frame, name)[idx]

    qh, rh = col(qp, "han", q), col(rp, "han", r)
    qd, rd = col(qp, "distinctive", q), col(rp, "distinctive", r)
    qf, rf = col(qp, "fuzzy", q), col(rp, "fuzzy", r)
    qcomp, rcomp = col(qp, "comp", q), col(rp, "comp", r)
    qcore, rcore = col(qp, "core", q), col(rp, "core", r)
    qpin, rpin = col(qp, "pinyin", q), col(rp, "pinyin", r)
    qphon, rphon = col(qp, "phon", q), col(rp, "phon", r)
    qclen, rclen = col(qp, "clen", q), col(rp, "clen", r)
    both = qd & rd
    # two different dictionary-word marks are different words, not a misspelt copy
    words = col(qp, "dict", q) & col(rp, "dict", r) & bool(cfg.dictionary_words_differ)
    latin = both & ~qh & ~rh
    hanh = both & qh & rh
    cross = both & (qh != rh)
    fuzzy = qf & rf

    comp_eq = qcomp == rcomp
    core_eq = qcore == rcore
    qskel, rskel = col(qp, "skel", q), col(rp, "skel", r)
    skel_eq = qskel == rskel
    sorted_eq = col(qp, "sorted", q) == col(rp, "sorted", r)
    qfull, rfull = col(qp, "pinfull", q), col(rp, "pinfull", r)
    pin_eq = (qpin == rpin) | (qfull == rfull)
    phon_eq = (qphon == rphon) & (pd.Series(qphon, dtype="str").str.len().to_numpy() >= 2)
    # a transliteration read syllable by syllable: the same consonants, the readings this close
    qread, rread = col(qp, "tread", q), col(rp, "tread", r)
    read_eq = cross & (col(qp, "tskel", q) == col(rp, "tskel", r)) & (pd.Series(qread, dtype="str").str.len().to_numpy() >= 4)
    if read_eq.any():
        read_eq[read_eq] = _ratio(qread[read_eq], rread[read_eq]) >= cfg.min_translit_ratio
    multi = (col(qp, "ntok", q) >= 2) | (col(rp, "ntok", r) >= 2)

    r_full = np.zeros(n)
    r_core = np.zeros(n)
    r_skel = np.zeros(n)
    r_pin = np.zeros(n)
    m = both & ~comp_eq
    if m.any():
        r_full[m] = _ratio(qcomp[m], rcomp[m])
        r_core[m] = _ratio(qcore[m], rcore[m])
        ms = m & latin & (qskel != qcore) | m & latin & (rskel != rcore)
        r_skel[ms] = _ratio(qskel[ms], rskel[ms])
    m2 = both & (qh | rh) & ~comp_eq
    if m2.any():
        r_pin[m2] = _ratio(qpin[m2], rpin[m2])
    r_pin = np.where(latin, r_core, r_pin)
    r_edit = np.maximum(np.maximum(r_full, r_core), r_skel)

    # (the guideline's exception "different meanings": two dictionary words — MINT vs MIND)
    letters_ok, n_edits = _letter_edits(qcore, rcore, qclen, rclen, latin & ~words & ~core_eq, cfg)

    shape_ok = np.zeros(n, dtype=bool)
    shape_detail = np.array([""] * n, dtype=object)
    # (shape groups are merged, so a shape copy always has the same shape-folded key: test only those)
    sm = hanh & (qclen == rclen) & (qclen >= cfg.min_len_shape_han) & ~core_eq
    sm &= col(qp, "hshape", q) == col(rp, "hshape", r)
    if sm.any():
        ok, det = _shape(pd.Series(qcore[sm], dtype="str"), pd.Series(rcore[sm], dtype="str"), cfg.max_shape_diff)
        shape_ok[sm] = ok
        shape_detail[sm] = det

    # A near-homophone (pinyin close, not equal) must also look alike: at least one character kept
    # in place (guideline: sound similar *and* appearance similar; 蛮相晾怙 / 娩想凉炬 share none).
    near_homophone = hanh & fuzzy & (qclen == rclen) & (r_pin >= cfg.min_homophone_ratio)
    if near_homophone.any():
        near_homophone[near_homophone] = _kept_characters(qcore[near_homophone], rcore[near_homophone]) >= 1
    # A well-known mark's wider scope (han_substitution_min_len > 0): a Chinese mark of that many
    # characters or more with exactly one character replaced, the others in place (大白兔 / 奶白兔,
    # 老干妈 / 老干爹) imitates it, whatever the replacement sounds or looks like.
    han_sub = np.zeros(n, dtype=bool)
    if cfg.han_substitution_min_len > 0:
        han_sub = hanh & (qclen == rclen) & (qclen >= cfg.han_substitution_min_len) & ~core_eq
        if han_sub.any():
            han_sub[han_sub] = _kept_characters(qcore[han_sub], rcore[han_sub]) == qclen[han_sub] - 1
    conds = [
        both & comp_eq,
        both & ~cross & core_eq & (~words | (qcomp == qcore) | (rcomp == rcore)),
        latin & skel_eq & ~core_eq,
        hanh & pin_eq,
        hanh & shape_ok,
        latin & sorted_eq & multi,
        hanh & sorted_eq & (qclen >= cfg.min_len_reorder_han),
        cross & pin_eq,
        cross & fuzzy & phon_eq & (r_pin >= cfg.min_translit_ratio),
        latin & fuzzy & ~words & (r_edit >= cfg.min_edit_latin),
        near_homophone,
        hanh & fuzzy & (r_core >= cfg.min_edit_han),
        latin & fuzzy & ~words & phon_eq & (r_core >= cfg.min_phonetic_ratio),
        letters_ok,
        han_sub,
        cross & read_eq,
    ]
    kinds = ["exact", "affix", "confusable", "homophone", "shape", "reorder", "reorder", "transliteration",
             "transliteration", "edit", "homophone", "edit", "phonetic", "edit", "edit", "transliteration"]
    sims = [
        np.full(n, score.exact), np.full(n, score.affix), np.full(n, score.confusable),
        np.full(n, score.homophone), np.full(n, score.shape), np.full(n, score.reorder), np.full(n, score.reorder),
        np.full(n, score.transliteration), score.transliteration * r_pin, r_edit, score.homophone * r_pin,
        r_core, score.phonetic_base + (1.0 - score.phonetic_base) * r_core,
        np.maximum(r_edit, score.letter_edit), np.full(n, score.letter_edit),
        np.full(n, score.transliteration),
    ]
    which = np.select(conds, np.arange(1, len(conds) + 1), default=0)
    sim = np.select(conds, sims, default=0.0)
    kind = np.asarray([""] + kinds, dtype=object)[which]
    # details only for the matched rows
    detail = np.full(n, "", dtype=object)
    rsorted = col(rp, "sorted", r)
    pin_shown = np.where(qpin == rpin, rpin, rfull)
    sources = {
        1: lambda i: np.full(len(i), "same after normalisation", dtype=object), 2: lambda i: rcore[i],
        3: lambda i: col(rp, "skel", r[i]), 4: lambda i: pin_shown[i], 5: lambda i: shape_detail[i],
        6: lambda i: rsorted[i], 7: lambda i: rsorted[i], 8: lambda i: pin_shown[i], 9: lambda i: rpin[i],
        10: lambda i: np.array([f"edit similarity {x:.2f}" for x in r_edit[i]], dtype=object),
        11: lambda i: rpin[i],
        12: lambda i: np.array([f"edit similarity {x:.2f}" for x in r_core[i]], dtype=object),
        13: lambda i: rphon[i],
        14: lambda i: np.array([f"{k} letter{'s' if k > 1 else ''} changed" for k in n_edits[i]], dtype=object),
        15: lambda i: np.full(len(i), "1 character replaced", dtype=object),
        16: lambda i: "reads as " + qread[i].astype(object),
    }
    for k, fn in sources.items():
        i = np.flatnonzero(which == k)
        if len(i):
            detail[i] = fn(i)
    return pd.DataFrame({"q": q, "r": r, "similarity": np.round(sim, 4), "kind": kind, "detail": detail})


def warm_keys(prep: pd.DataFrame, config=None) -> None:
    """Build and keep ``prep``'s key index of every key kind, and its transliteration aliases with
    theirs, so that matching a few new marks against it (``match_prepared(new, prep)``) only hashes
    the new marks' keys: the register index of intake screening."""
    cfg = _section(config)
    for kind in KEY_KINDS:
        _, rc, lookup = _key_index(prep, kind, cfg)
        _by_code(prep, kind, cfg, rc, len(lookup))
    _warm_aliases(prep, config)


def _warm_aliases(prep: pd.DataFrame, config) -> None:
    cfg = _section(config)
    al = _alias_rows(prep, config)
    for kind in KEY_KINDS if len(al) else ():
        _, rc, lookup = _key_index(al, kind, cfg)
        _by_code(al, kind, cfg, rc, len(lookup))
    _frame_cache(prep)[("aliases",)] = al


def kept_keys(prep: pd.DataFrame, config=None) -> dict[str, np.ndarray]:
    """The key index ``warm_keys`` keeps for ``prep``, as named arrays to store beside it (a register
    index): ``load_keys`` puts them back, so that loading a register does not regenerate millions of
    deletion keys. Each array is named ``<kind>.<part>``; ``<kind>.tag`` holds the settings the keys
    were made with (as text)."""
    cfg = _section(config)
    out = {}
    for kind in KEY_KINDS:
        pos, codes, lookup = _key_index(prep, kind, cfg)
        order, start = _by_code(prep, kind, cfg, codes, len(lookup))
        hashes, code_of = lookup.arrays()
        out.update({f"{kind}.pos": pos, f"{kind}.codes": codes, f"{kind}.hashes": hashes,
                    f"{kind}.code_of": code_of.astype(np.int32), f"{kind}.by_code": order.astype(np.int32),
                    f"{kind}.start": start.astype(np.int64), f"{kind}.tag": np.array([repr(_key_tag(kind, cfg))])})
    return out


def load_keys(prep: pd.DataFrame, arrays: dict, config=None) -> list[str]:
    """Keep stored key arrays (``kept_keys``) for ``prep`` and warm its aliases; returns the kinds
    whose settings differ from ``config`` (their keys are built again when first needed)."""
    cfg = _section(config)
    cache, stale = _frame_cache(prep), []
    for kind in KEY_KINDS:
        tag = _key_tag(kind, cfg)
        if f"{kind}.tag" not in arrays or str(arrays[f"{kind}.tag"][0]) != repr(tag):
            stale.append(kind)
            continue
        cache[tag] = (arrays[f"{kind}.pos"], arrays[f"{kind}.codes"],
                      KeyLookup.from_sorted(arrays[f"{kind}.hashes"], arrays[f"{kind}.code_of"]))
        cache[("by_code", *tag)] = (arrays[f"{kind}.by_code"], arrays[f"{kind}.start"])
    _warm_aliases(prep, config)
    return stale


def _aliases(rp: pd.DataFrame, config) -> pd.DataFrame:
    """Extra reference rows from the curated transliteration list (NIKE -> 耐克 and back); the kept
    ones of a warm frame (``warm_keys``)."""
    kept = _frame_cache(rp).get(("aliases",))
    return kept if kept is not None else _alias_rows(rp, config)


def _alias_rows(rp: pd.DataFrame, config) -> pd.DataFrame:
    t = ts.transliterations()
    lat = rp.loc[~rp["han"] & rp["distinctive"], ["comp"]].reset_index(names="orig")
    a1 = lat.merge(t, left_on="comp", right_on="latin")[["orig", "han"]].rename(columns={"han": "text"})
    hz = rp.loc[rp["han"] & rp["distinctive"], ["comp"]].reset_index(names="orig")
    a2 = hz.merge(t, left_on="comp", right_on="han")[["orig", "latin"]].rename(columns={"latin": "text"})
    al = pd.concat([a1, a2], ignore_index=True).drop_duplicates()
    if al.empty:
        return pd.DataFrame()
    prep = prepare_marks(pd.DataFrame({"id": al["orig"].to_numpy(), "text": al["text"].to_numpy()}), config)
    prep["alias_of"] = al["orig"].to_numpy()
    return prep


_VERIFY_CHUNK = 500_000


def _verify_matches(qp: pd.DataFrame, rp: pd.DataFrame, cand: pd.DataFrame, cfg) -> pd.DataFrame:
    """``_verify`` over candidate pairs in chunks, keeping the matches: the per-pair columns of
    millions of candidates (text arrays, ratios) never exist all at once."""
    kinds = np.asarray(KEY_KINDS, dtype=object)
    parts = []
    for lo in range(0, max(len(cand), 1), _VERIFY_CHUNK):
        c = cand.iloc[lo:lo + _VERIFY_CHUNK]
        v = _verify(qp, rp, c["q"].to_numpy(), c["r"].to_numpy(), cfg)
        v["key_kind"] = kinds[c["k"].to_numpy()]
        parts.append(v[v["kind"] != ""])
    return pd.concat(parts, ignore_index=True)


def self_join_kinds(cfg) -> tuple:
    """The key kinds of the marks' self-join (``self_join_key_kinds``), in ``KEY_KINDS`` order."""
    chosen = list(cfg.self_join_key_kinds)
    unknown = [k for k in chosen if k not in KEY_KINDS]
    if unknown or not chosen:
        raise ValueError(f"config [infringement] self_join_key_kinds: expected a non-empty list of key kinds "
                         f"from {list(KEY_KINDS)}; found {chosen!r} (unknown: {unknown}). Fix the list in "
                         "your config file (core/default_config.toml documents each kind).")
    return tuple(k for k in KEY_KINDS if k in chosen)


def block_partition(prep: pd.DataFrame, part: int, n_parts: int, config=None) -> dict:
    """The blocking keys of partition ``part`` (0 .. n_parts-1) of ``prep``'s self-join: for each key
    kind, the (positions, block codes) of the blocks whose code is ``part`` modulo ``n_parts``, codes
    compacted (code // n_parts). Candidate pairs only ever come from one block, so the partitions'
    candidates together are exactly the whole join's; each partition is matched on its own
    (``block_candidates``): one after another in one process (bounded memory), or as parallel
    tasks on the Dask engine (``pipeline.engines``)."""
    cfg = _section(config)
    out = {}
    for kind in self_join_kinds(cfg):
        pos, codes, index = _key_index(prep, kind, cfg)
        keep = codes % n_parts == part
        out[kind] = (pos[keep].astype(np.int64), (codes[keep] // n_parts).astype(np.int64),
                     -(-len(index) // n_parts))
    return out


def block_candidates(prep: pd.DataFrame, keys: dict, config=None) -> pd.DataFrame:
    """Candidate pairs (q < r, first key kind k) of one block partition of a self-join
    (``block_partition``); attrs skipped_blocks."""
    cand, skipped = _candidates(prep, prep, _section(config), True, kinds=tuple(keys), keys=keys)
    cand.attrs["skipped_blocks"] = skipped
    return cand


def unique_candidates(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The partitions' candidates as the whole join's: a pair found in several partitions (by
    different key kinds) once, with the first kind in ``KEY_KINDS`` order. Pairs are verified once."""
    cand = pd.concat(parts, ignore_index=True).sort_values("k", kind="stable").drop_duplicates(["q", "r"])
    cand.attrs["skipped_blocks"] = {k: sum(p.attrs["skipped_blocks"].get(k, 0) for p in parts) for k in KEY_KINDS}
    return cand


def verify_candidates(prep: pd.DataFrame, cand: pd.DataFrame, config=None) -> pd.DataFrame:
    """Verified self-join matches of candidate pairs (any subset of them)."""
    return _verify_matches(prep, prep, cand, _section(config))


def combine_verified(parts: list[pd.DataFrame], cand: pd.DataFrame) -> pd.DataFrame:
    """``verify_candidates`` of slices of ``cand`` as one self-join result, sorted by (q, r)."""
    v = pd.concat(parts, ignore_index=True).sort_values(["q", "r"], kind="stable").reset_index(drop=True)
    v.attrs.update(n_candidates=len(cand), skipped_blocks=cand.attrs["skipped_blocks"])
    return v


def self_matches(prep: pd.DataFrame, config=None) -> pd.DataFrame:
    """``prep`` against itself, block partition by block partition (``block_partitions``): the
    candidate search's intermediate tables exist for one partition at a time."""
    n = max(1, int(_section(config).block_partitions))
    cand = unique_candidates([block_candidates(prep, block_partition(prep, p, n, config), config) for p in range(n)])
    return combine_verified([verify_candidates(prep, cand, config)], cand)


def alias_matches(qp: pd.DataFrame, rp: pd.DataFrame | None, config=None) -> pd.DataFrame:
    """Matches of ``qp`` with the curated transliterations of ``rp``'s marks (``qp``'s own when
    ``rp`` is None: unordered pairs q < r, as the self-join reports them)."""
    cfg = _section(config)
    self_join = rp is None
    al = _aliases(qp if self_join else rp, config)
    if not len(al):
        return pd.DataFrame()
    ac, skipped = _candidates(qp, al, cfg, False)
    av = _verify_matches(qp, al, ac, cfg)
    av["key_kind"] = "alias"
    av["detail"] = "known transliteration " + al["text"].to_numpy()[av["r"].to_numpy()].astype(str)
    av["r"] = al["alias_of"].to_numpy()[av["r"].to_numpy()]
    av["kind"] = "transliteration"
    av["similarity"] = np.minimum(av["similarity"].to_numpy(), cfg.kind_score.transliteration)
    if self_join:
        av = av[av["q"] != av["r"]]
        lo = np.minimum(av["q"].to_numpy(), av["r"].to_numpy())
        hi = np.maximum(av["q"].to_numpy(), av["r"].to_numpy())
        av = av.assign(q=lo, r=hi)
    av.attrs["skipped_blocks"] = skipped
    return av


def with_aliases(v: pd.DataFrame, av: pd.DataFrame) -> pd.DataFrame:
    """Key matches and alias matches as one result: the higher similarity per pair, sorted (q, r)."""
    skipped, n_cand = v.attrs.get("skipped_blocks", {}), v.attrs.get("n_candidates", 0)
    if len(av):
        v = pd.concat([v, av], ignore_index=True)
        v = v.sort_values("similarity", ascending=False, kind="stable").drop_duplicates(["q", "r"])
        skipped = {k: skipped.get(k, 0) + av.attrs["skipped_blocks"].get(k, 0) for k in skipped}
    v = v.sort_values(["q", "r"], kind="stable").reset_index(drop=True)
    v.attrs.update(skipped_blocks=skipped, n_candidates=n_cand)
    return v


def _match_positions(qp: pd.DataFrame, rp: pd.DataFrame | None, cfg, config) -> pd.DataFrame:
    if rp is None:
        return with_aliases(self_matches(qp, config), alias_matches(qp, None, config))
    cand, skipped = _candidates(qp, rp, cfg, False)
    v = _verify_matches(qp, rp, cand, cfg)
    v.attrs.update(n_candidates=len(cand), skipped_blocks=skipped)
    return with_aliases(v, alias_matches(qp, rp, config))


def match_prepared(qp: pd.DataFrame, rp: pd.DataFrame | None, config=None) -> pd.DataFrame:
    """Like ``match_marks`` on frames from ``prepare_marks`` (reuse the keys); returns row positions.

    Columns: q, r (row positions in qp / rp, or in qp when rp is None), similarity, kind (short
    name: exact, confusable, …; see ``KINDS``), detail, key_kind.
    """
    return _match_positions(qp, rp, _section(config), config)


def match_marks(query: pd.DataFrame, reference: pd.DataFrame | None, config=None) -> pd.DataFrame:
    """Verified, classified matches: DataFrame[qid, rid, similarity, kind, detail, key_kind].

    ``kind`` is a Reason value (INFRINGEMENT_EXACT, …); ``similarity`` in [0, 1]; ``detail`` is the
    short evidence (pinyin, skeleton, core, edit similarity …). ``reference=None``: the query
    against itself (unordered pairs of distinct rows, once). attrs: n_candidates, skipped_blocks.
    """
    cfg = _section(config)
    _check_frame(query, "match_marks(query)")
    qp = prepare_marks(query, config)
    rp = None
    if reference is not None:
        _check_frame(reference, "match_marks(reference)")
        rp = prepare_marks(reference, config)
    v = _match_positions(qp, rp, cfg, config)
    base = qp if rp is None else rp
    reason = {k: r.value for k, r in KINDS.items()}
    out = pd.DataFrame({
        "qid": qp["id"].to_numpy()[v["q"].to_numpy()],
        "rid": base["id"].to_numpy()[v["r"].to_numpy()],
        "similarity": v["similarity"].to_numpy(),
        "kind": pd.Series(v["kind"].to_numpy()).map(reason).astype("str").to_numpy(),
        "detail": v["detail"].astype("str").to_numpy(),
        "key_kind": v["key_kind"].astype("str").to_numpy(),
    })
    out.attrs.update(v.attrs)
    return out


def explain_pair(a: str, b: str, config=None) -> tuple[Reason | None, float, str]:
    """Classify one pair of marks (``a`` the newer / query, ``b`` the reference), without blocking.

    Returns (Reason or None, similarity, a sentence for a reviewer).
    """
    cfg = _section(config)
    qp = prepare_marks(pd.DataFrame({"id": [0], "text": [a]}), config)
    rp = prepare_marks(pd.DataFrame({"id": [0], "text": [b]}), config)
    for name, p in (("first", qp), ("second", rp)):
        if not bool(p["distinctive"].iloc[0]):
            return None, 0.0, f"no match: the {name} mark {p['text'].iloc[0]!r} is too short or generic"
    zero = np.array([0])
    v = _verify(qp, rp, zero, zero, cfg)
    kind, sim, detail = v["kind"].iloc[0], float(v["similarity"].iloc[0]), str(v["detail"].iloc[0])
    if not kind:
        al = _aliases(rp, config)
        if len(al):
            av = _verify(qp, al, np.zeros(len(al), dtype="int64"), np.arange(len(al)), cfg)
            av = av[av["kind"] != ""]
            if len(av):
                t = al["text"].iloc[int(av["r"].iloc[0])]
                s = min(float(av["similarity"].iloc[0]), cfg.kind_score.transliteration)
                return (Reason.INFRINGEMENT_TRANSLITERATION, s,
                        f"{a} ~ {b}: known transliteration {t} (similarity {s:.2f})")
        return None, 0.0, f"no match: {a} vs {b} (similarity below every rule's threshold)"
    reason = KINDS[kind]
    return reason, sim, f"{a} ~ {b}: {reason.describe()} ({detail}; similarity {sim:.2f})"
