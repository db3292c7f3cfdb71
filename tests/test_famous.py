"""Wider protection of well-known marks (features.famous): glyph and sound similarity by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from core.config import load_config
from features import similarity as sim
from features.famous import char_similarity, famous_matches, lookalike_fold
from features.lexicons import glyph_table

CFG = load_config()


def _prep(texts):
    return sim.prepare_marks(pd.DataFrame({"id": range(len(texts)), "text": texts}), CFG)


def test_glyph_table_grades_look_alike_characters():
    g = glyph_table().set_index(["char", "similar"])["score"]
    assert g[("帅", "师")] == pytest.approx(0.703) and g[("师", "帅")] == pytest.approx(0.703)  # both directions
    assert g[("雪", "雷")] > 0.6
    assert ("我", "他") not in g.index  # unlike characters are not listed
    f = CFG.famous
    assert char_similarity("帅", "师", f) == pytest.approx(0.703)
    assert char_similarity("佤", "娃", f) == pytest.approx(f.han_sound)  # same toneless pinyin (wa)
    assert char_similarity("康", "康", f) == 1.0 and char_similarity("我", "他", f) == 0.0


def test_chinese_marks_character_by_character_by_hand():
    """康帅傅 ~ 康师傅: (1 + 0.703 + 1) / 3 = 0.901, one character kept: a shape copy; 佤哈哈 ~ 娃哈哈:
    (0.85 + 1 + 1) / 3 = 0.95, the changed character sounds the same: a homophone; 雩碧 ~ 雪碧
    (two characters, one kept, the other 0.658 >= 0.5): (0.658 + 1) / 2 = 0.829; 我他傅 keeps one
    character but the others do not resemble: no match; 康师傅 itself is the engine's exact match,
    not this scan's."""
    T = _prep(["康帅傅", "佤哈哈", "雩碧", "我他傅", "康师傅"])
    P = _prep(["康师傅", "娃哈哈", "雪碧"])
    m = famous_matches(T, P, CFG).set_index(["q", "r"])
    g = glyph_table().set_index(["char", "similar"])["score"]
    assert m.loc[(0, 0), "similarity"] == pytest.approx((2 + g[("帅", "师")]) / 3, abs=1e-6)
    assert m.loc[(0, 0), "kind"] == "shape" and m.loc[(0, 0), "detail"] == "帅/师"
    assert m.loc[(1, 1), "similarity"] == pytest.approx((2 + CFG.famous.han_sound) / 3, abs=1e-6)
    assert m.loc[(1, 1), "kind"] == "homophone"
    assert m.loc[(2, 2), "similarity"] == pytest.approx((1 + g[("雩", "雪")]) / 2, abs=1e-6)
    assert (3, 0) not in m.index and (4, 0) not in m.index


def test_latin_marks_by_hand():
    """abibas ~ adidas: the same after folding b/d (look-alike letters, 2 changed): 0.95; Adidoss ~
    adidas: 2 changes in a 6-letter mark, first letter kept: 1 - 2/7; KFG ~ KFC: one change in three
    letters: 1 - 1/3; XFC (first letter changed) and KFCX (longer than three) are not; SQNY ~ SONY
    (q folds to b, one change in four letters): 1 - 1/4; Sambucks ~ Starbucks: the ending 'bucks'
    kept: 1 - 2/9 (an edit too); SilverApple contains APPLE: 0.7 + 0.3 x 5/11."""
    T = _prep(["abibas", "Adidoss", "KFG", "XFC", "SQNY", "Sambucks", "SilverApple", "KFCX"])
    P = _prep(["ADIDAS", "KFC", "SONY", "STARBUCKS", "APPLE"])
    m = famous_matches(T, P, CFG).set_index(["q", "r"])
    assert m.loc[(0, 0), "kind"] == "confusable" and m.loc[(0, 0), "similarity"] == pytest.approx(0.95)
    assert m.loc[(1, 0), "similarity"] == pytest.approx(1 - 2 / 7)
    assert m.loc[(2, 1), "similarity"] == pytest.approx(1 - 1 / 3)
    assert (3, 1) not in m.index and (7, 1) not in m.index
    assert m.loc[(4, 2), "similarity"] == pytest.approx(1 - 1 / 4)
    assert m.loc[(5, 3), "similarity"] == pytest.approx(1 - 2 / 9)
    assert m.loc[(6, 4), "kind"] == "affix" and m.loc[(6, 4), "similarity"] == pytest.approx(0.7 + 0.3 * 5 / 11)
    assert lookalike_fold(pd.Series(["adidas", "rnicro"])).tolist() == ["ablbas", "mlcro"]  # i and l alike


def test_chinese_containment_with_inserted_characters():
    """六个石磨核桃 holds 六个核桃's characters in order with two inserted: 0.7 + 0.3 x 4/6; 蜜雪冰城港式饮品
    contains 蜜雪冰城: 0.7 + 0.3 x 4/8; 六个好吃的大核桃 has five inserted: no."""
    T = _prep(["六个石磨核桃", "蜜雪冰城港式饮品", "六个好吃的大核桃"])
    P = _prep(["六个核桃", "蜜雪冰城"])
    m = famous_matches(T, P, CFG).set_index(["q", "r"])
    assert m.loc[(0, 0), "similarity"] == pytest.approx(0.7 + 0.3 * 4 / 6)
    assert m.loc[(1, 1), "similarity"] == pytest.approx(0.7 + 0.3 * 4 / 8)
    assert (2, 0) not in m.index


def test_a_plural_folded_protected_mark_is_contained_only_as_a_word():
    """TORVES folds to 'torve': MITORVE (the stem ending the mark) and STARBUCK COFFEE (the stem
    ending a word) contain their protected marks, VELTORVEL and TORVELZOL (the stem inside a coined
    word) do not; APPLE, folded from nothing, is found anywhere (SILVERAPPLE)."""
    cfg = load_config()
    texts = ["VELTORVEL", "Torvelzol", "MITORVE", "STARBUCK COFFEE", "SILVERAPPLE"]
    T = sim.prepare_marks(pd.DataFrame({"id": range(len(texts)), "text": texts}), cfg)
    P = sim.prepare_marks(pd.DataFrame({"id": range(3), "text": ["Torves", "Starbucks", "Apple"]}), cfg)
    m = famous_matches(T, P, cfg)
    affix = m[m["kind"] == "affix"]
    assert sorted(zip(affix["q"], affix["r"], strict=True)) == [(2, 0), (3, 1), (4, 2)]
    # similarity 0.7 + 0.3 x the contained share of the mark: 'torve' is 5 of MITORVE's 7 letters
    assert affix.set_index("q").loc[2, "similarity"] == pytest.approx(0.7 + 0.3 * 5 / 7)


def test_a_sound_alike_of_a_protected_mark_with_only_a_goods_word_beside_it():
    """汇原果汁: 汇原 sounds like the protected 汇源 (原/源, one character kept) and 果汁 (juice) is a
    goods word: similarity 1/2 x (1 + han_sound) x (0.7 + 0.3 x 2/4). 会员饮料 sounds alike too but keeps
    no character; 汇原花园 has a distinctive word beside it."""
    cfg = load_config()
    texts = ["汇原果汁", "会员饮料", "汇原花园"]
    T = sim.prepare_marks(pd.DataFrame({"id": range(len(texts)), "text": texts}), cfg)
    P = sim.prepare_marks(pd.DataFrame({"id": [0], "text": ["汇源"]}), cfg)
    m = famous_matches(T, P, cfg)
    assert list(m["q"]) == [0] and m.iloc[0]["kind"] == "homophone"
    assert m.iloc[0]["similarity"] == pytest.approx((1 + cfg.famous.han_sound) / 2 * (0.7 + 0.3 * 2 / 4))
    assert m.iloc[0]["detail"] == "原/源 + '果汁'"
