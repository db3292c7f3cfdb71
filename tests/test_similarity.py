"""Tests for features.textsim and features.similarity (the mark similarity engine)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import fuzz, process

from core.config import load_config
from core.reasons import Reason
from features import similarity as sim
from features import textsim as ts

DATA = Path(__file__).resolve().parent / "data"
R = Reason


@pytest.fixture(scope="module")
def config():
    return load_config()


def frame(texts, ids=None) -> pd.DataFrame:
    return pd.DataFrame({"id": list(texts) if ids is None else list(ids), "text": list(texts)})


# --------------------------------------------------------------------------- textsim keys
def test_latin_norm_folds_case_punctuation_diacritics_plurals():
    s = pd.Series(["LIVE MORE", "Live-More!", "Hermès", "Starbuck's", "TEARS", "glass", "ＮＩＫＥ", "N!KE"],
                  index=[10, 11, 12, 13, 14, 15, 16, 17])
    out = ts.latin_norm(s)
    assert out.index.tolist() == s.index.tolist()
    assert out.tolist() == ["live more", "live more", "herme", "starbuck", "tear", "glass", "nike", "nike"]


def test_keys_are_pure_and_vectorised():
    s = pd.Series(["星巴克", "長城", "G00GLE Store", ""])
    before = s.copy()
    assert ts.han_norm(s.iloc[:2]).tolist() == ["星巴克", "长城"]
    assert ts.pinyin_key(pd.Series(["星巴克", "星巴客", "xingbake"])).tolist() == ["xingbake"] * 3
    assert ts.confusable_skeleton(pd.Series(["G00GLE", "google", "rnicrosoft"])).tolist() == \
        ["google", "google", "mlcrosoft"]
    assert ts.phonetic_key(pd.Series(["nike", "nyke"])).tolist() == ["NK", "NK"]
    assert ts.strip_generic(pd.Series(["nike official store", "华为官方旗舰店", "official store"])).tolist() == \
        ["nike", "华为", ""]
    a, b, c, d = ts.token_sort(pd.Series(["tear no more", "no more tear", "兔白大", "大白兔"]))
    assert a == b == "morenotear" and c == d
    pd.testing.assert_series_equal(s, before)


def test_shape_table_and_generic_words_ship_with_sources():
    pairs = ts.shape_pairs()
    for a, b in ["己已", "已巳", "未末", "大太", "太犬", "日曰", "土士", "戊戌", "人入", "王玉", "折拆"]:
        assert a + b in pairs and b + a in pairs
    t = pd.read_csv(Path(ts.DATA_DIR) / "shape_similar.csv", dtype=str)
    assert set(t.columns) == {"chars", "source"} and t["source"].str.len().gt(0).all()
    assert (Path(ts.DATA_DIR) / "SHAPE_SIMILAR_SOURCE.md").exists()
    g = ts.generic_words()
    for w in ["pro", "plus", "official", "store", "国际", "优选", "旗舰", "集团", "官方", "专卖", "科技"]:
        assert w in set(g["word"])


# --------------------------------------------------------------------------- explain_pair
@pytest.mark.parametrize("a,b,reason", [
    ("G00GLE", "Google", R.INFRINGEMENT_CONFUSABLE),
    ("rnicrosoft", "Microsoft", R.INFRINGEMENT_CONFUSABLE),
    ("Nikee Store", "NIKE", R.INFRINGEMENT_EDIT),
    ("Starbuck's Official", "Starbucks", R.INFRINGEMENT_AFFIX),
    ("LIVERMORE", "LIVE MORE", R.INFRINGEMENT_EDIT),
    ("LIVE MORE", "LIVEMORE", R.INFRINGEMENT_EXACT),
    ("TEARS NO MORE", "NO MORE TEARS", R.INFRINGEMENT_REORDER),
    ("NYKE", "NIKE", R.INFRINGEMENT_PHONETIC),
    ("Cisko", "Cisco", R.INFRINGEMENT_PHONETIC),
    ("Samsong", "Samsung", R.INFRINGEMENT_EDIT),
    ("星巴客", "星巴克", R.INFRINGEMENT_HOMOPHONE),
    ("新巴克", "星巴克", R.INFRINGEMENT_HOMOPHONE),
    ("太白兔", "大白兔", R.INFRINGEMENT_SHAPE),
    ("华为旗舰", "华为", R.INFRINGEMENT_AFFIX),
    ("星巴克咖啡店", "星巴克", R.INFRINGEMENT_AFFIX),
    ("白兔大", "大白兔", R.INFRINGEMENT_REORDER),
    ("長城", "长城", R.INFRINGEMENT_EXACT),
    ("xingbake", "星巴克", R.INFRINGEMENT_TRANSLITERATION),
    ("星巴克", "XINGBAKE", R.INFRINGEMENT_TRANSLITERATION),
    ("耐克", "NIKE", R.INFRINGEMENT_TRANSLITERATION),
    ("NIKE", "耐克", R.INFRINGEMENT_TRANSLITERATION),
    ("奈克", "NIKE", R.INFRINGEMENT_TRANSLITERATION),
])
def test_explain_pair_kinds(a, b, reason, config):
    got, score, text = sim.explain_pair(a, b, config)
    assert got is reason, (a, b, got, text)
    assert 0.0 < score <= 1.0
    assert a in text and b in text


@pytest.mark.parametrize("a,b", [
    ("APPLE PIE BAKERY", "PINE APPLE"),
    ("SUN MICRO", "SUNRISE"),
    ("AB", "AB"),              # 1-2 Latin letters
    ("STAR", "STAR"),          # a single common word
    ("OFFICIAL STORE", "STORE"),
    ("龙", "龙"),               # a single Chinese character
    ("国际", "国际"),           # only a generic word
    ("GLASS", "GLAS"),
    ("华为", "华中"),           # 2 characters, one replaced by an unrelated one
    ("OASIS TEARS", "GODS TEARS"),
    ("MICROSOFT", "MICRON"),
    ("华为", "华力"),
])
def test_pairs_that_must_not_match(a, b, config):
    got, score, _ = sim.explain_pair(a, b, config)
    assert got is None and score == 0.0, (a, b, got)


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def docu3c() -> pd.DataFrame:
    d = json.loads((DATA / "uspto-search-cluster-docu3c" / "trademarks.json").read_text(encoding="utf-8"))
    return pd.DataFrame({"id": [r["id"] for r in d], "text": [r["mark"] for r in d],
                         "owner": [r["owner"] for r in d]})


def _pairs(m: pd.DataFrame) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in zip(m["qid"], m["rid"], strict=True)}


def test_real_uspto_lookalike_groups_are_found(docu3c, config):
    m = sim.match_marks(docu3c[["id", "text"]], None, config)
    found = _pairs(m)
    kinds = {(min(a, b), max(a, b)): k for a, b, k in zip(m["qid"], m["rid"], m["kind"], strict=True)}
    expected = {
        (1, 4): R.INFRINGEMENT_EXACT,       # LIVEMORE / LIVE MORE (different owners)
        (4, 8): R.INFRINGEMENT_EXACT,       # LIVE MORE x NYC & COMPANY
        (1, 14): R.INFRINGEMENT_EDIT,       # LIVEMORE / LIVERMORE
        (5, 11): R.INFRINGEMENT_EDIT,       # MORLIFE / MORE LIFE
        (11, 12): R.INFRINGEMENT_EXACT,     # MORE LIFE / MORE+LIFE
        (17, 25): R.INFRINGEMENT_EXACT,     # NO MORE TEARS: KENVUE vs NO MORE TEARS, INC.
        (19, 25): R.INFRINGEMENT_REORDER,   # TEARS NO MORE / NO MORE TEARS
        (75, 76): R.INFRINGEMENT_EXACT,     # LIBERAL TEARS x 3 owners
        (76, 77): R.INFRINGEMENT_EXACT,
        (32, 33): R.INFRINGEMENT_EXACT,     # MORE TO POUR x 2 owners
        (87, 92): R.INFRINGEMENT_EXACT,     # POUR-FECTIONS / POURFECTION (plural)
        (30, 34): R.INFRINGEMENT_EDIT,      # S/P SLICE POUR & MORE / SLICE POUR & MORE
    }
    for pair, kind in expected.items():
        assert pair in found, (pair, docu3c.set_index("id").loc[list(pair), "text"].tolist())
        assert kinds[pair] == kind.value, (pair, kinds[pair])
    # marks of the cluster that merely share a word do not match
    for pair in [(17, 70), (74, 79), (95, 94), (26, 119), (6, 28), (102, 103)]:
        assert pair not in found, (pair, docu3c.set_index("id").loc[list(pair), "text"].tolist())


def test_candidate_recall_against_brute_force_on_real_cluster(docu3c, config):
    """Every pair brute-force rapidfuzz scores >= the edit threshold is a candidate."""
    prep = sim.prepare_marks(docu3c[["id", "text"]], config)
    keys = prep["pinyin"].to_numpy(dtype=object)
    thr = config.infringement.min_edit_latin
    scores = process.cdist(keys, keys, scorer=fuzz.ratio, dtype=np.float32)
    ok = prep["fuzzy"].to_numpy()
    qi, ri = np.nonzero((scores >= thr * 100) & ok[:, None] & ok[None, :])
    brute = {(a, b) for a, b in zip(qi, ri, strict=True) if a < b}
    cand, _ = sim._candidates(prep, prep, config.infringement, True)
    got = set(zip(cand["q"], cand["r"], strict=True))
    assert brute and brute <= got


@pytest.fixture(scope="module")
def brands() -> pd.DataFrame:
    b = pd.read_csv(DATA / "famous-brands-interbrand-sample" / "brands_2024_top60.csv")
    return pd.DataFrame({"id": b["brand"], "text": b["brand"]})


def test_famous_brands_do_not_match_each_other(brands, config):
    m = sim.match_marks(brands, None, config)
    assert m.empty, m


def test_hand_made_copies_of_famous_brands_are_found(brands, config):
    copies = {
        "G00GLE": "Google", "Nikee Store": "Nike", "Starbuck's Official": "Starbucks", "Amaz0n Shop": "Amazon",
        "Micros0ft": "Microsoft", "Teslla": "Tesla", "Adidaz": "adidas", "Samsong": "Samsung",
        "Coca Cola Official": "Coca-Cola", "GUCCl": "Gucci", "Louis Vuiton": "Louis Vuitton", "Paypa1": "PayPal",
        "Netfliks": "Netflix", "Insta gram": "Instagram", "耐克": "Nike", "星巴克": "Starbucks", "谷歌": "Google",
        "lKEA": "IKEA", "Porshe": "Porsche", "Face Book": "Facebook", "Sony Pro": "Sony", "HERMES": "Hermès",
        "McDonalds": "McDonald’s", "LEG0": "LEGO",
    }
    q = frame(list(copies))
    m = sim.match_marks(q, brands, config)
    best = m.sort_values("similarity", ascending=False).drop_duplicates("qid").set_index("qid")["rid"]
    missing = {k: v for k, v in copies.items() if best.get(k) != v}
    assert not missing, missing
    # unrelated newcomers match nothing
    none = sim.match_marks(frame(["APPLE PIE BAKERY", "SUN MICRO", "BLUE OCEAN", "星光灿烂"]), brands, config)
    assert none.empty, none


# --------------------------------------------------------------------------- API contracts
def test_candidate_pairs_and_match_marks_contract(config):
    q = frame(["星巴客", "G00GLE", "PINE APPLE"], ids=["q1", "q2", "q3"])
    r = frame(["星巴克", "Google", "APPLE PIE BAKERY"], ids=["r1", "r2", "r3"])
    before_q, before_r = q.copy(), r.copy()
    c = sim.candidate_pairs(q, r, config)
    assert list(c.columns) == ["qid", "rid", "key_kind"]
    assert {("q1", "r1"), ("q2", "r2")} <= set(zip(c["qid"], c["rid"], strict=True))
    assert set(c["key_kind"]) <= set(sim.KEY_KINDS)
    m = sim.match_marks(q, r, config)
    assert list(m.columns[:4]) == ["qid", "rid", "similarity", "kind"]
    assert set(zip(m["qid"], m["rid"], strict=True)) == {("q1", "r1"), ("q2", "r2")}
    assert m["similarity"].between(0, 1).all()
    assert set(m["kind"]) <= {k.value for k in sim.KINDS.values()}
    pd.testing.assert_frame_equal(q, before_q)
    pd.testing.assert_frame_equal(r, before_r)
    with pytest.raises(ValueError, match="columns"):
        sim.match_marks(pd.DataFrame({"text": ["x"]}), r, config)


def test_self_join_returns_each_unordered_pair_once(config):
    m = sim.match_marks(frame(["NIKE", "NIKEE", "N1KE", "NIKE"], ids=[0, 1, 2, 3]), None, config)
    pairs = list(zip(m["qid"], m["rid"], strict=True))
    assert all(a != b for a, b in pairs)
    assert len(pairs) == len({(min(a, b), max(a, b)) for a, b in pairs}) == 6


def test_thresholds_come_from_config(config):
    strict = config.with_overrides({"infringement": {"min_edit_latin": 0.99, "min_phonetic_ratio": 0.99,
                                                     "letter_edit_min_len": 99}})
    assert sim.explain_pair("LIVERMORE", "LIVE MORE", config)[0] is R.INFRINGEMENT_EDIT
    assert sim.explain_pair("LIVERMORE", "LIVE MORE", strict)[0] is None
    loose = config.with_overrides({"infringement": {"min_len_latin": 2}})
    assert sim.explain_pair("AB", "A.B.", loose)[0] is R.INFRINGEMENT_EXACT


@pytest.mark.parametrize("a,b,reason", [
    ("KFAC", "KFC", R.INFRINGEMENT_EDIT),            # one letter inserted, four letters
    ("EAY", "EBAY", R.INFRINGEMENT_EDIT),            # one letter deleted
    ("LIJINJI", "李锦记", R.INFRINGEMENT_TRANSLITERATION),  # the whole mark's pinyin (记 is a shop suffix)
    ("李锦基", "李锦记", R.INFRINGEMENT_HOMOPHONE),
    ("SICS", "ASICS", None),                         # guideline exception: the first letter differs
    ("BGW", "BMW", None),                            # three letters: only a reordering would be similar
    ("喜荼", "喜茶", None),                            # two characters: only against protected marks
    ("牺缭骗", "肖缭骗", R.INFRINGEMENT_HOMOPHONE),      # xiliaopian ~ xiaoliaopian, two characters kept
    ("蛮相晾怙", "娩想凉炬", None),                      # near-homophone sharing no character
])
def test_letter_edits_full_pinyin_and_short_shapes(a, b, reason, config):
    assert sim.explain_pair(a, b, config)[0] is reason


def test_two_character_shape_copies_of_protected_marks(config):
    wide = config.with_overrides({"infringement": {"min_len_shape_han": 2}})
    got, _, text = sim.explain_pair("喜荼", "喜茶", wide)
    assert got is R.INFRINGEMENT_SHAPE and "茶/荼" in text
    # the candidate stage finds it too: shape-folded keys join the pair
    m = sim.match_marks(pd.DataFrame({"id": [1], "text": ["喜荼"]}), pd.DataFrame({"id": [2], "text": ["喜茶"]}), wide)
    assert m[["qid", "rid", "kind"]].values.tolist() == [[1, 2, "INFRINGEMENT_SHAPE"]]
    m = sim.match_marks(pd.DataFrame({"id": [1], "text": ["KFAC"]}), pd.DataFrame({"id": [2], "text": ["KFC"]}), config)
    assert m["kind"].tolist() == ["INFRINGEMENT_EDIT"]


def test_one_replaced_character_of_a_protected_chinese_mark(config):
    from features.infringement import _wide_scope

    wide = _wide_scope(config)
    for a, b in (("奶白兔", "大白兔"), ("营养牵线", "营养快线"), ("老干爹", "老干妈")):
        got, similarity, text = sim.explain_pair(a, b, wide)
        assert got is R.INFRINGEMENT_EDIT and similarity == config.infringement.kind_score.letter_edit
        assert "1 character replaced" in text
        assert sim.explain_pair(a, b, config)[0] is None  # ordinary earlier marks: not without sound or look
    assert sim.explain_pair("奶白狗", "大白兔", wide)[0] is None  # two replaced
    assert "replaced" not in sim.explain_pair("大兔", "大白兔", wide)[2]  # a deletion is not a replacement
    # the candidate stage pairs them (one-substitution keys from three characters on)
    m = sim.match_marks(pd.DataFrame({"id": [1, 2], "text": ["奶白兔", "松岭能量"]}),
                        pd.DataFrame({"id": [9], "text": ["大白兔"]}), wide)
    assert m[["qid", "rid", "kind"]].values.tolist() == [[1, 9, "INFRINGEMENT_EDIT"]]


def test_a_chinese_mark_with_its_own_pinyin_is_the_chinese_mark(config):
    prep = sim.prepare_marks(pd.DataFrame({"id": [1, 2, 3], "text": ["红牛 Hongniu", "HONGNIU红牛", "红牛 NIU"]}),
                             config)
    assert prep["core"].tolist() == ["红牛", "红牛", "红牛niu"]  # NIU alone is not the pinyin of 红牛
    assert sim.explain_pair("红牛 Hongniu", "红牛", config)[0] is R.INFRINGEMENT_AFFIX


def test_two_letter_edits_found_by_del2_like_brute_force(config):
    """Every pair of Latin marks within OSA distance 2 that shares its first letter and whose longer
    mark has at least letter_two_edits_len letters (up to 16) must share a `del2` key — checked
    against brute force (rapidfuzz OSA over all pairs) on random strings from a small alphabet,
    where such pairs are frequent."""
    from rapidfuzz.distance import OSA

    rng = np.random.default_rng(3)
    base = ["".join(rng.choice(list("abcde"), rng.integers(6, 13))) for _ in range(200)]
    marks = []
    for b in base:  # each base string with one or two random edits, so close pairs exist
        s = list(b)
        for _ in range(int(rng.integers(1, 3))):
            i = int(rng.integers(1, len(s)))
            op = rng.integers(0, 4)
            if op == 0:
                s[i] = rng.choice(list("abcde"))
            elif op == 1 and len(s) > 6:
                del s[i]
            elif op == 2:
                s.insert(i, rng.choice(list("abcde")))
            elif i + 1 < len(s):
                s[i], s[i + 1] = s[i + 1], s[i]
        marks += [b.upper(), "".join(s).upper()]
    marks = sorted(set(marks))
    prep = sim.prepare_marks(pd.DataFrame({"id": np.arange(len(marks)), "text": marks}), config)
    cfg = config.infringement
    q, r, _ = sim._join(prep, prep, "del2", cfg, 10**9, True)
    found = set(zip(q.tolist(), r.tolist()))
    core = prep["core"].tolist()
    lens = np.array([len(c) for c in core])
    expect = set()
    for i in range(len(core)):
        for j in range(i + 1, len(core)):
            if (core[i][0] == core[j][0] and max(lens[i], lens[j]) >= cfg.letter_two_edits_len
                    and OSA.distance(core[i], core[j]) <= 2):
                expect.add((i, j))
    assert len(expect) > 50
    assert expect <= found
    # and the letter rule then matches the ones it should: two edits from 8 letters
    two = [(i, j) for i, j in expect if max(lens[i], lens[j]) >= cfg.letter_two_edits_len
           and OSA.distance(core[i], core[j]) == 2]
    assert two
    got = sim.match_marks(prep[["id", "text"]], None, config)
    pairs = set(zip(got["qid"], got["rid"])) | set(zip(got["rid"], got["qid"]))
    assert all((prep["id"][i], prep["id"][j]) in pairs for i, j in two)


def test_dictionary_words_differ_except_against_protected_marks(config):
    assert sim.explain_pair("RED BULK", "RED BULL", config)[0] is None  # two different phrases
    wide = config.with_overrides({"infringement": {"dictionary_words_differ": False}})
    assert sim.explain_pair("RED BULK", "RED BULL", wide)[0] is R.INFRINGEMENT_EDIT
    assert config.infringement.dictionary_words_differ_protected is False


def test_query_keys_are_built_once_per_frame(config, monkeypatch):
    """Marks whose key index exists (built by their self-join) reuse it against every reference;
    without one, a short reference is probed and no index of the marks is kept."""
    prep = sim.prepare_marks(pd.DataFrame({"id": [1, 2, 3], "text": ["STARBUCKS", "星巴克", "STARBUCKZ"]}), config)
    ref = sim.prepare_marks(pd.DataFrame({"id": [9], "text": ["STARBUKS"]}), config)
    calls = []
    real = sim._keys
    monkeypatch.setattr(sim, "_keys", lambda p, kind, cfg: calls.append((id(p), kind)) or real(p, kind, cfg))
    probed = sim.match_prepared(prep, ref, config)
    assert not [tag for tag in sim._frame_cache(prep) if tag[0] in sim.KEY_KINDS]  # probing keeps no key index
    # ... but the hashes of the marks' keys, for the next short reference: no key generated again
    other = sim.prepare_marks(pd.DataFrame({"id": [8], "text": ["星巴客"]}), config)
    calls.clear()
    assert len(sim.match_prepared(prep, other, config)) and not any(i == id(prep) for i, _ in calls)
    sim.match_prepared(prep, None, config)  # the self-join builds the index
    calls.clear()
    first = sim.match_prepared(prep, ref, config)
    second = sim.match_prepared(prep, ref, config)
    assert not any(i == id(prep) for i, _ in calls) and any(i == id(ref) for i, _ in calls)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, probed)


def test_skeleton_spelling_edits_are_candidates(config):
    """DROARN reads DROAM (rn -> m): one letter from DROA, so the skeleton spelling's deletions must
    bring the pair to verification (the folded edit ratio is 8/9 >= 0.85)."""
    q = pd.DataFrame({"id": [1], "text": ["DROARN"]})
    r = pd.DataFrame({"id": [2], "text": ["DROA"]})
    assert sim.candidate_pairs(q, r, config)["key_kind"].tolist() == ["del1"]
    assert sim.match_marks(q, r, config)["kind"].tolist() == ["INFRINGEMENT_EDIT"]


def test_block_partitions_give_the_whole_join(docu3c, brands, config):
    """The self-join run by block partition equals the unpartitioned join for any partition count:
    every candidate pair of the whole join is found in exactly the partition of one of its blocks."""
    marks = pd.concat([docu3c[["id", "text"]], brands,
                       frame(["G00GLE", "Nikee", "耐克", "奈克", "Teslla", "Adidaz", "DAOTNGZEI", "DAOTONGWEI"])],
                      ignore_index=True)
    marks["id"] = np.arange(len(marks))
    prep = sim.prepare_marks(marks, config)
    whole, _ = sim._candidates(prep, prep, config.infringement, True)
    expected = sim._verify_matches(prep, prep, whole, config.infringement).sort_values(["q", "r"]).reset_index(drop=True)
    assert len(expected) > 20
    for n in (1, 2, 5):
        c = config.with_overrides({"infringement": {"block_partitions": n}})
        parts = [sim.block_candidates(prep, sim.block_partition(prep, p, n, c), c) for p in range(n)]
        # partitions hold disjoint blocks: every whole-join pair comes from some partition
        found = set().union(*(set(zip(p["q"], p["r"], strict=True)) for p in parts))
        assert found == set(zip(whole["q"], whole["r"], strict=True))
        got = sim.self_matches(prep, c)
        pd.testing.assert_frame_equal(got, expected)
        assert got.attrs["n_candidates"] == len(whole)


def test_self_join_key_kinds_keep_the_pairs_those_kinds_find(docu3c, brands, config):
    """``self_join_key_kinds`` restricted to the identity-like kinds (the first six of KEY_KINDS):
    the self-join keeps exactly the whole join's matches first found by one of them — an edit copy
    (NIKEE ~ NIKE) goes, an exact copy, a reordering and a same-pinyin homophone stay."""
    marks = pd.concat([docu3c[["id", "text"]], brands,
                       frame(["Nikee", "NIKE", "华为", "为华", "耐克", "奈克", "Teslla", "TESLA"])], ignore_index=True)
    marks["id"] = np.arange(len(marks))
    prep = sim.prepare_marks(marks, config)
    whole = sim.self_matches(prep, config)
    identity = ["norm", "core", "skeleton", "sorted", "pinyin", "hshape"]
    c = config.with_overrides({"infringement": {"self_join_key_kinds": identity}})
    got = sim.self_matches(prep, c)
    expected = whole[whole["key_kind"].isin(identity)].reset_index(drop=True)
    assert 0 < len(expected) < len(whole)
    pd.testing.assert_frame_equal(got, expected)
    text = prep["text"].to_numpy()
    pairs = {frozenset((text[q], text[r])) for q, r in zip(got["q"], got["r"], strict=True)}
    assert frozenset(("华为", "为华")) in pairs and frozenset(("耐克", "奈克")) in pairs
    assert frozenset(("Nikee", "NIKE")) not in pairs and frozenset(("Teslla", "TESLA")) not in pairs
    all_pairs = {frozenset((text[q], text[r])) for q, r in zip(whole["q"], whole["r"], strict=True)}
    assert frozenset(("Nikee", "NIKE")) in all_pairs


def test_self_join_key_kinds_are_checked(config):
    prep = sim.prepare_marks(frame(["NIKE", "NIKEE"]), config)
    for bad in (["del1", "soundex"], []):
        c = config.with_overrides({"infringement": {"self_join_key_kinds": bad}})
        with pytest.raises(ValueError, match=r"self_join_key_kinds.*expected a non-empty list"):
            sim.self_matches(prep, c)


def test_short_reference_probe_equals_the_key_index_path(docu3c, brands, config, monkeypatch):
    """Against a short reference, marks without a cached key index generate their keys chunk by
    chunk and keep those the reference has (``_probe_reference``): the same candidate pairs and
    skipped blocks as joining through the marks' whole key index."""
    cfg = config.infringement
    marks = pd.concat([docu3c[["id", "text"]],
                       frame(["G00GLE", "Nikee", "耐克", "奈克", "Teslla", "Adidaz", "DAOTNGZEI", "苹果手机", "APPLLE",
                              "Amazzon", "GOOGLE store", "MICROSOFTT", "Toyotta", "Samsunng", "LOUIS VUITON",
                              "Mercedez-Benz", "Coca Kola"])],
                      ignore_index=True)
    marks["id"] = np.arange(len(marks))
    reference = sim.prepare_marks(brands, config)
    monkeypatch.setattr(sim, "_PROBE_CHUNK", 7)  # many chunks, some without any hit
    probed, skipped_p = sim._candidates(sim.prepare_marks(marks, config), reference, cfg, False)
    indexed_prep = sim.prepare_marks(marks, config)
    for kind in sim.KEY_KINDS:
        sim._key_index(indexed_prep, kind, cfg)  # the cached index: the other path
    indexed, skipped_i = sim._candidates(indexed_prep, reference, cfg, False)
    assert len(probed) >= 10 and probed["k"].nunique() >= 3
    pd.testing.assert_frame_equal(probed, indexed)
    assert skipped_p == skipped_i


def test_transliteration_reading_by_hand():
    """内斯瓦霍恩: nei si wa huo en -> ne s wa ho n (斯 before a consonant and 恩 at the end are bare
    consonants; ei -> e, uo -> o), v -> w on the Latin side: both read neswahon. 德博佩克斯: de bo pei ke si
    -> de bo pe k s, its plural-like s folded as DEBOPEX's ks is: debopek. The first syllable never
    becomes a bare consonant (德 stays de)."""
    from features.textsim import reading_skeleton, transliteration_reading

    cores = pd.Series(["内斯瓦霍恩", "nesvahon", "德博佩克斯", "debopex", "米西恩", "misin", "耐克", "abc"])
    reading = transliteration_reading(cores).tolist()
    assert reading == ["neswahon", "neswahon", "debopek", "debopek", "misin", "misin", "", ""]
    assert reading_skeleton(pd.Series(reading)).tolist()[:3] == ["nswhn", "nswhn", "dbpk"]


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("米西恩", "MISIN", Reason.INFRINGEMENT_TRANSLITERATION),
    ("莫鲁玛斯", "MORUMAS", Reason.INFRINGEMENT_TRANSLITERATION),   # 鲁 lu writes ru: l = r
    ("佩索尔恩", "PESOLN", Reason.INFRINGEMENT_TRANSLITERATION),    # 尔 writes l
    ("米西恩", "MASON", None),                                      # same consonants, reading too far
    ("托维斯", "TOVIS", None),                                      # towe / towis: too far apart
])
def test_transliterations_read_syllable_by_syllable(a, b, expected):
    kind, similarity, _ = sim.explain_pair(a, b, load_config())
    assert kind == expected
    if expected is not None:
        assert similarity == load_config().infringement.kind_score.transliteration


def test_a_mark_that_writes_the_name_in_the_other_script_reads_inside_it():
    from features.textsim import reads_inside

    marks = pd.Series(["内斯瓦霍恩", "静珠", "misin", "mason", "维尔拉玛斯"])
    names = pd.Series(["nesvahonfoods", "nesvahonfoods", "米西恩投资", "米西恩投资", "velramasbeverages"])
    assert reads_inside(marks, names).tolist() == [True, False, True, False, True]
