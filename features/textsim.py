"""Text normalisation and blocking keys for trademark similarity (pure, vectorised over a Series).

Every public function takes a ``pd.Series`` of strings and returns a Series with the same index.
They are pure (no input is modified) and vectorised: pandas ``str`` methods, ``str.translate``
tables, or a Python function applied once per *distinct* value and mapped back (phonetic keys).

Keys (docs/similarity.md explains each with examples):

- ``latin_norm``: NFKC, lower case, diacritics removed, apostrophes dropped ("Starbuck's" ->
  "starbucks"), other punctuation -> space, plural "s" removed from words of 4+ letters
  ("tears" -> "tear"), single spaces. Token boundaries are kept.
- ``han_norm``: NFKC, traditional -> simplified (zhconv), lower case, only Han characters, letters
  and digits kept (no spaces).
- ``mark_norm``: ``han_norm`` for marks with a Han character, ``latin_norm`` otherwise.
- ``compact``: a norm without spaces (the identity key: "LIVE MORE" == "LIVEMORE").
- ``strip_generic``: removes generic affix words (pro, official, store, 国际, 旗舰店, …) listed in
  ``features/data/generic_mark_words.csv``; what is left is the distinctive *core*.
- ``token_sort``: tokens sorted (Latin) or characters sorted (Han): the reordering key.
- ``pinyin_key``: toneless pinyin of every Han character (pypinyin's default reading of the
  character, computed once per distinct character), letters/digits kept: 星巴克 -> "xingbake".
  The same key of a Latin mark is its compact form, so the key also joins the two scripts.
- ``phonetic_key``: metaphone of the compact Latin text (jellyfish), once per distinct value.
- ``confusable_skeleton``: look-alike letters folded (0->o, 1/!/|/i/l -> l, 5/$ -> s, @ -> a,
  rn -> m, vv -> w), then compacted; "G00GLE" and "google" share "google".
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from core.tables import isin, split_tokens
from features.common import contains_each, per_distinct

DATA_DIR = Path(__file__).resolve().parent / "data"

HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = f"[{HAN_CLASS}]"


def _as_str(s: pd.Series) -> pd.Series:
    return s.astype("str").fillna("")


def _map_unique(s: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` once per distinct value of ``s`` and map the results back (same index)."""
    s = _as_str(s)
    codes, uniques = pd.factorize(s)
    values = np.array([fn(u) for u in uniques], dtype=object)
    out = values[codes] if len(codes) else np.array([], dtype=object)
    return pd.Series(out, index=s.index, dtype="str")


# --------------------------------------------------------------------------- lexicons
@functools.cache
def generic_words() -> pd.DataFrame:
    """The generic mark words table: word, lang (latin|han), kind (affix|common), position."""
    return pd.read_csv(DATA_DIR / "generic_mark_words.csv", dtype=str, keep_default_na=False)


@functools.cache
def _generic_sets() -> dict[str, frozenset]:
    g = generic_words()
    out = {}
    for lang in ("latin", "han"):
        for kind in ("affix", "common"):
            out[f"{lang}_{kind}"] = frozenset(g.loc[(g["lang"] == lang) & (g["kind"] == kind), "word"])
    g_han = g[(g["lang"] == "han") & (g["kind"] == "affix")]
    out["han_affix_any"] = frozenset(g_han.loc[g_han["position"] == "any", "word"])
    out["han_affix_suffix"] = frozenset(g_han.loc[g_han["position"] == "suffix", "word"])
    return out


@functools.cache
def _shape_groups() -> tuple[tuple[str, ...], ...]:
    """The groups of shape-similar characters (形近字) of features/data/shape_similar.csv."""
    t = pd.read_csv(DATA_DIR / "shape_similar.csv", dtype=str, keep_default_na=False)
    return tuple(tuple(c for c in chars.split() if c) for chars in t["chars"])


@functools.cache
def shape_pairs() -> frozenset[str]:
    """Ordered two-character strings "ab" (a != b) of shape-similar characters (形近字)."""
    pairs = set()
    for group in _shape_groups():
        for a in group:
            for b in group:
                if a != b:
                    pairs.add(a + b)
    return frozenset(pairs)


@functools.cache
def _shape_fold_table() -> dict[int, str]:
    """Each shape-similar character -> one representative of its connected group (groups sharing a
    character are merged), so marks differing only by shape-similar characters fold to one key."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    groups = _shape_groups()
    chars = sorted({c for g in groups for c in g})
    ix = {c: i for i, c in enumerate(chars)}
    rows = [ix[g[0]] for g in groups for _ in g[1:]]
    cols = [ix[c] for g in groups for c in g[1:]]
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(chars), len(chars)))
    _, label = connected_components(graph, directed=False)
    rep = {}
    for c in chars:  # sorted: the smallest character of each group represents it
        rep.setdefault(int(label[ix[c]]), c)
    return {ord(c): rep[int(label[ix[c]])] for c in chars}


def shape_fold(s: pd.Series) -> pd.Series:
    """Han text with every shape-similar character replaced by its group's representative."""
    return _as_str(s).str.translate(_shape_fold_table())


@functools.cache
def transliterations() -> pd.DataFrame:
    """Curated Latin <-> Chinese brand names: latin (latin_norm form), han (han_norm form), kind."""
    t = pd.read_csv(DATA_DIR / "transliterations.csv", dtype=str, keep_default_na=False)
    t["latin"] = compact(latin_norm(t["latin"]))
    t["han"] = han_norm(t["han"])
    return t.drop_duplicates(["latin", "han"]).reset_index(drop=True)


# --------------------------------------------------------------------------- normalisation
def has_han(s: pd.Series) -> pd.Series:
    """True where the text contains at least one Han (Chinese) character."""
    return _as_str(s).str.contains(_HAN_RE, regex=True).astype(bool)


# plural "s" of a word of 4+ letters, not after s/i/u (glass, tennis, campus stay); RE2-compatible
_PLURAL = r"(^|[^0-9a-z])([0-9a-z]{2,}[a-hj-rtv-z])s([^0-9a-z]|$)"


def _deplural(s: pd.Series) -> pd.Series:
    # twice: adjacent plural words share the separating space between two matches
    return s.str.replace(_PLURAL, r"\1\2\3", regex=True).str.replace(_PLURAL, r"\1\2\3", regex=True)


def _unicode_fold(s: pd.Series) -> pd.Series:
    """NFKC (full-width -> ASCII) and diacritics removed; only non-ASCII rows pay for it."""
    wide = s.str.contains(r"[^\x00-\x7f]", regex=True)
    if not wide.any():
        return s
    w = s[wide].str.normalize("NFKC").str.normalize("NFKD").str.replace("[̀-ͯ]", "", regex=True)
    w = w.str.normalize("NFC")
    return s.where(~wide, w)


def latin_norm(s: pd.Series) -> pd.Series:
    """Case, punctuation, spaces, diacritics and plural folding of Latin marks (tokens kept)."""
    s = _unicode_fold(_as_str(s)).str.lower()
    s = s.str.replace(r"['’`´]", "", regex=True).str.replace("&", " and ", regex=False)
    # symbols used as letters inside a word: N!KE, $TARBUCKS, M@X
    s = s.str.replace(r"([a-z0-9])[!|]([a-z0-9])", r"\1i\2", regex=True)
    s = s.str.replace(r"\$([a-z])", r"s\1", regex=True).str.replace(r"([a-z])@([a-z])", r"\1a\2", regex=True)
    s = s.str.replace(f"[^0-9a-z{HAN_CLASS}]+", " ", regex=True)
    s = _deplural(s)
    return s.str.strip().str.replace(r" +", " ", regex=True)


@functools.lru_cache(maxsize=65536)
def _simplified_char(ch: str) -> str:
    import zhconv

    return zhconv.convert(ch, "zh-cn")


def han_norm(s: pd.Series) -> pd.Series:
    """NFKC, traditional -> simplified, lower case; only Han characters, letters and digits kept.

    Traditional -> simplified is applied character by character (zhconv once per distinct
    character, then ``str.translate``); phrase-level conversions of zhconv are not used.
    """
    s = _as_str(s).str.normalize("NFKC").str.lower()
    han = s.str.contains(_HAN_RE, regex=True)
    if han.any():
        chars = set("".join(pd.unique(s[han])))
        table = {}
        for c in chars:
            if re.match(_HAN_RE, c):
                sc = _simplified_char(c)
                if sc != c:
                    table[ord(c)] = sc
        if table:
            s = s.where(~han, s[han].str.translate(table))
    return s.str.replace(f"[^0-9a-z{HAN_CLASS}]+", "", regex=True)


def mark_norm(s: pd.Series) -> pd.Series:
    """``han_norm`` where the mark has a Han character, ``latin_norm`` elsewhere."""
    s = _as_str(s)
    han = has_han(s)
    if not han.any():
        return latin_norm(s)
    # each row normalised once (most names and many marks are Han: latin_norm of them was wasted)
    m = han.to_numpy()
    out = np.empty(len(s), dtype=object)
    out[m] = han_norm(s[m]).to_numpy()
    out[~m] = latin_norm(s[~m]).to_numpy()
    return pd.Series(out, index=s.index, dtype="str")


def compact_marks(marks: pd.Series) -> pd.Series:
    """Each mark normalised (``mark_norm``: case, punctuation, diacritics, plurals, traditional
    characters) and without spaces: the form compared for equality and containment. Once per
    distinct text."""
    return per_distinct(marks.fillna("").astype("str"), lambda u: compact(mark_norm(u)))


def compact(s: pd.Series) -> pd.Series:
    """Remove spaces (Latin token boundaries): "live more" -> "livemore"."""
    return _as_str(s).str.replace(" ", "", regex=False)


@functools.cache
def _generic_regexes() -> tuple[str, str, str]:
    sets = _generic_sets()
    latin = sorted(sets["latin_affix"], key=len, reverse=True)
    alt = "|".join(re.escape(w) for w in latin)
    lat_re = rf" (?:{alt})(?: (?:{alt}))* "
    anyw = sorted(sets["han_affix_any"], key=len, reverse=True)
    any_alt = "|".join(re.escape(w) for w in anyw)
    suf_alt = "|".join(re.escape(w) for w in sorted(sets["han_affix_suffix"], key=len, reverse=True))
    han_prefix = rf"^(?:{any_alt})+"
    han_suffix = rf"(?:{any_alt}|{suf_alt})+$"
    return lat_re, han_prefix, han_suffix


def without_own_pinyin(core: pd.Series) -> pd.Series:
    """A Chinese mark written with its own pinyin (红牛 HONGNIU, 潘石屹panshiyi) is the Chinese mark:
    where the Latin letters of a compact core are exactly the pinyin of its Han characters, the core
    keeps the Han ones."""
    core = _as_str(core)
    mixed = core.str.contains(_HAN_RE, regex=True) & core.str.contains(r"[a-z]", regex=True)
    if not mixed.any():
        return core
    hz = core[mixed].str.replace(r"[^\u3400-\u9fff]", "", regex=True)
    latin = core[mixed].str.replace(r"[^a-z]", "", regex=True)
    own = hz[(hz != "") & (pinyin_key(hz) == latin).to_numpy()]
    out = core.copy()
    out[own.index] = own
    return out


def strip_generic(norm: pd.Series) -> pd.Series:
    """Remove generic affix words from a ``mark_norm`` string; result is the distinctive core.

    Latin: listed words are removed wherever they stand as whole tokens ("nike official store" ->
    "nike"). Han: listed words are removed repeatedly from the start and the end (华为官方旗舰店 ->
    华为); single-character suffixes (店, 馆, 网 …) only at the end. A mark made only of generic
    words gets an empty core.
    """
    norm = _as_str(norm)
    lat_re, han_prefix, han_suffix = _generic_regexes()
    han = norm.str.contains(_HAN_RE, regex=True)
    out = (" " + norm + " ").str.replace(lat_re, " ", regex=True).str.strip().str.replace(r" +", " ", regex=True)
    if han.any():
        h = norm[han].str.replace(han_suffix, "", regex=True).str.replace(han_prefix, "", regex=True)
        h = h.str.replace(han_suffix, "", regex=True)
        out = out.where(~han, h)
    return out


def han_part(s: pd.Series) -> pd.Series:
    """Only the Han characters of each text (红牛hongniu → 红牛)."""
    return _as_str(s).str.replace(f"[^{HAN_CLASS}]+", "", regex=True)


def mark_family(marks: pd.Series) -> pd.Series:
    """The family of a mark: the pinyin of its distinctive core, a doubled half said once. A brand
    and its variants share it: 石思, 石思烘焙, SHISI and 石思 SHISI are all "shisi". Once per
    distinct text."""
    def family(uniq: pd.Series) -> pd.Series:
        norm = mark_norm(uniq)
        core = compact(strip_generic(norm))
        key = pinyin_key(core.where(core != "", compact(norm))).str.lower()
        return key.str.replace(r"^(.+)\1$", r"\1", regex=True)

    s = _as_str(marks)
    codes, uniq = pd.factorize(s)
    out = family(pd.Series(uniq, dtype="str")).to_numpy(dtype=object)
    return pd.Series(out[codes] if len(codes) else np.array([], dtype=object), index=s.index, dtype="str")


def token_sort(norm: pd.Series) -> pd.Series:
    """Reordering key: Latin tokens sorted and joined; Han characters sorted."""
    norm = _as_str(norm)
    han = has_han(norm).to_numpy()
    multi = norm.str.contains(" ", regex=False).to_numpy()
    out = compact(norm).to_numpy(dtype=object)
    vals = norm.to_numpy(dtype=object)
    hi = np.flatnonzero(han)
    out[hi] = ["".join(sorted(v.replace(" ", ""))) for v in vals[hi]]
    li = np.flatnonzero(~han & multi)
    out[li] = ["".join(sorted(v.split())) for v in vals[li]]
    return pd.Series(out, index=norm.index, dtype="str")


# Characters whose pypinyin single-character default is the rarer reading in names and brands
# (长 defaults to "zhang"; 长城, 长虹, 长安 read "chang").
PINYIN_OVERRIDES = {"长": "chang"}


@functools.lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin

    if ch in PINYIN_OVERRIDES:
        return PINYIN_OVERRIDES[ch]

    out = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore", v_to_u=False)
    return "".join(out).replace("ü", "v")


def pinyin_key(s: pd.Series) -> pd.Series:
    """Toneless pinyin of Han characters (default reading per character), other letters/digits kept.

    Computed per distinct character (pypinyin is slow per call) and applied with ``str.translate``,
    so 1M marks take seconds. Limit: a heteronym gets its default reading whatever the context
    (重庆 -> "zhongqing"); both sides of a comparison use the same rule, so homophones still meet.
    """
    s = _as_str(s)
    han = s.str.contains(_HAN_RE, regex=True)
    if not han.any():
        return compact(s)
    chars = set("".join(pd.unique(s[han])))
    table = {ord(c): _char_pinyin(c) for c in chars if re.match(_HAN_RE, c)}
    return compact(s.str.translate(table))


# How Chinese writes a foreign name (音译): some syllables stand for a bare consonant (斯 s, 克 k,
# 德 d, 特 t, 尔 r, 恩 n, 夫 f, 姆 m, 普 p, 布 b, 格 g) and some finals for a plain vowel (霍 huo ho,
# 内 nei ne, 欧 ou o); x and q write s and ch. The reading puts a Chinese mark and a Latin one in one
# spelling: 内斯瓦霍恩 -> neswahon, NESVAHON -> neswahon; 米西恩 -> misin; 德博佩克斯 -> debopeks;
# l and r are one (尔 writes both).
_BARE = {"si": "s", "ke": "k", "de": "d", "te": "t", "er": "r", "en": "n", "fu": "f", "mu": "m", "pu": "p",
         "bu": "b", "ge": "g"}
_FINALS = (("uo", "o"), ("ou", "o"), ("ei", "e"), ("iu", "io"))
_INITIALS = (("zh", "j"), ("x", "s"), ("q", "ch"), ("c", "ts"))
_LATIN_READING = (("ph", "f"), ("ck", "k"), ("x", "ks"), ("c", "k"), ("q", "k"), ("v", "w"), ("y", "i"),
                  ("r", "l"))


def _syllable_reading(py: str) -> str:
    for a, b in _INITIALS:
        if py.startswith(a):
            py = b + py[len(a):]
            break
    for a, b in _FINALS:
        if py.endswith(a):
            return py[: -len(a)] + b
    return py


def _han_reading(core: str) -> str:
    sylls = [_char_pinyin(c) for c in core]
    out = []
    for i, py in enumerate(sylls):
        nxt = sylls[i + 1] if i + 1 < len(sylls) else ""
        # a bare consonant: not the first syllable, and before a consonant or at the end
        bare = i > 0 and py in _BARE and (not nxt or nxt[0] not in "aeiou")
        out.append(_BARE[py] if bare else _syllable_reading(py))
    return _latin_reading("".join(out), latin=False)


def _latin_reading(t: str, latin: bool = True) -> str:
    # (l and r are one sound in a transliteration: 尔 writes both, 鲁 lu writes ru)
    for a, b in _LATIN_READING if latin else (("v", "w"), ("y", "i"), ("r", "l")):
        t = t.replace(a, b)
    return t


def transliteration_reading(cores: pd.Series) -> pd.Series:
    """One spelling for a foreign name and its Chinese transliteration (the table above): Chinese
    cores of three characters or more read syllable by syllable, Latin cores of four letters or more
    respelled (x ks, c k, v w …); '' otherwise. Once per distinct core."""
    def read(core: str) -> str:
        if re.fullmatch(f"[{HAN_CLASS}]{{3,}}", core):
            return _han_reading(core)
        if re.fullmatch(r"[a-z]{4,}", core):
            return _latin_reading(core)
        return ""

    # a Latin core has lost its plural s (MORUMAS -> moruma): so does every reading (莫鲁玛斯,
    # and DEBOPEX's debopeks, whose x reads ks)
    return _deplural(_map_unique(_as_str(cores), read))


def reads_inside(marks: pd.Series, names: pd.Series) -> np.ndarray:
    """Row-wise: across scripts, the mark's transliteration reading (≥ 4 letters) is inside the
    name's (内斯瓦霍恩 in Nesvahon Foods, MISIN in 米西恩投资): the mark writes the name in the other
    script. Compact, normalised marks and names."""
    m, n = _as_str(marks), _as_str(names)
    out = np.zeros(len(m), dtype=bool)
    cross = (has_han(m) != has_han(n)).to_numpy() & (m.str.len() >= 2).to_numpy()
    if cross.any():
        mr = transliteration_reading(m[cross])
        nr = transliteration_reading(n[cross])
        out[cross] = (mr.str.len() >= 4).to_numpy() & contains_each(nr, mr)
    return out


def reading_skeleton(readings: pd.Series) -> pd.Series:
    """The consonants of a transliteration reading (neswahon -> nswhn): the block two spellings of
    one name share when their vowels differ (维 wei for vi, 梅 mei for me)."""
    return _as_str(readings).str.replace(r"[aeiou]+", "", regex=True)


def phonetic_key(s: pd.Series) -> pd.Series:
    """Metaphone (jellyfish) of the letters of the text, once per distinct value ("nyke" -> "NK")."""
    import jellyfish

    letters = _as_str(s).str.lower().str.replace(r"[^a-z]+", "", regex=True)
    return _map_unique(letters, lambda t: jellyfish.metaphone(t) if t else "")


_SKELETON_TABLE = str.maketrans({"0": "o", "1": "l", "!": "l", "|": "l", "i": "l", "5": "s", "$": "s",
                                  "@": "a", "€": "e"})


def confusable_skeleton(s: pd.Series) -> pd.Series:
    """Fold look-alike letters (I/1/l, 0/O, rn/m, vv/w, 5/S, $/S, @/a) and compact.

    Takes the raw mark (digits and symbols matter here). Han characters are left as they are.
    """
    s = _as_str(s).str.normalize("NFKC").str.normalize("NFKD")
    s = s.str.replace("[̀-ͯ]", "", regex=True).str.lower()
    s = s.str.replace(r"['’`´]", "", regex=True).str.translate(_SKELETON_TABLE)
    s = s.str.replace(f"[^0-9a-z{HAN_CLASS}]+", " ", regex=True).str.replace(_PLURAL, r"\1", regex=True)
    s = compact(s.str.strip())
    return s.str.replace("rn", "m", regex=False).str.replace("vv", "w", regex=False)


@functools.cache
def dictionary_words() -> frozenset[str]:
    """English dictionary words in ``latin_norm`` form (features/data/dictionary_words.txt)."""
    text = (DATA_DIR / "dictionary_words.txt").read_text(encoding="utf-8")
    return frozenset(w for w in text.split() if w)


def all_dictionary_words(norm: pd.Series) -> pd.Series:
    """True where every token of a Latin norm is a dictionary word (or a generic word); False for
    empty or Chinese text. "earthy delight" -> True, "nikee store" -> False."""
    norm = _as_str(norm)
    sets = _generic_sets()
    words = dictionary_words() | sets["latin_affix"] | sets["latin_common"]
    pos, toks = split_tokens(norm, " ")
    ok = pd.Series(isin(toks, list(words))).groupby(pos).all().reindex(np.arange(len(norm)), fill_value=False)
    out = pd.Series(ok.to_numpy(), index=norm.index)
    return out & (norm.str.len() > 0) & ~has_han(norm)


def is_common_core(core: pd.Series) -> pd.Series:
    """True where a core is a single common word (star, gold, 幸福 …) listed as 'common'."""
    sets = _generic_sets()
    common = sets["latin_common"] | sets["han_common"] | sets["latin_affix"] | sets["han_affix_any"]
    return pd.Series(isin(_as_str(core), list(common)), index=core.index)
