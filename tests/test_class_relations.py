"""features.class_relations on a hand-made table: lift and co-filer counts by hand."""

import pandas as pd
import pytest

from core.config import load_config
from features.class_relations import related_classes


def test_related_classes_by_hand():
    cfg = load_config().with_overrides({"infringement": {"related_min_cofilers": 2, "related_min_lift": 1.5,
                                                         "related_max_classes": 3}}).infringement
    rows = [("a", 30), ("a", 43), ("b", 30), ("b", 43), ("c", 9), ("c", 42), ("d", 9), ("d", 42),
            ("e", 30), ("e", 9),
            ("s", 1), ("s", 2), ("s", 3), ("s", 4),        # four classes: above related_max_classes, ignored
            ("z", 30)]                                     # one class: says nothing, ignored
    got = related_classes(pd.DataFrame(rows, columns=["applicant_key", "nice_class"]), cfg)
    got = got.set_index(["nice_class", "related_class"])
    # 5 counted applicants; 30 filed by a,b,e (3), 43 by a,b (2), co-filed by 2: lift 2*5/(3*2) = 1.667
    assert got.loc[(30, 43), "co_filers"] == 2 and got.loc[(30, 43), "lift"] == pytest.approx(10 / 6)
    assert got.loc[(43, 30), "lift"] == pytest.approx(10 / 6)
    # 9-42: 9 by c,d,e (3), 42 by c,d (2), co 2: lift 1.667; 30-9 co-filed once only: not related
    assert (9, 42) in got.index and (30, 9) not in got.index
    assert not any(c in (1, 2, 3, 4) for c, _ in got.index)


def test_industry_words_of_company_names():
    from features.class_relations import industry_words

    got = industry_words(pd.Series(["c:丽景母婴用品集团|天津", "c:丽景母婴用品集团|天津", "p:王五|1a2b", "c:acme|US|x"]))
    assert sorted(got["word"]) == ["母婴", "用品", "集团"] and set(got["key"]) == {"c:丽景母婴用品集团|天津"}


def test_industry_scopes_and_masks_by_hand():
    """Four 母婴 companies file class 28 (toys) and their own 35; six other companies file 35 only,
    one of them also 28. Companies 10, filing 28: 5 → share 0.5; among the four 母婴 companies all
    four file 28 → lift (4/4) / 0.5 = 2; class 35: everyone → lift 1. With at least 3 companies and
    lift 1.5, 母婴's scope is {28}; a natural person's name says nothing."""
    from features.class_relations import IndustryScopes, industry_scopes, industry_words, scope_masks

    cfg = load_config().with_overrides({"infringement": {"related_min_cofilers": 3, "related_min_lift": 1.5}})
    rows = []
    for i in range(4):
        rows += [(f"c:甲{i}母婴|x", "28"), (f"c:甲{i}母婴|x", "35")]
    for i in range(6):
        rows += [(f"c:乙{i}贸易|x", "35")]
    rows += [("c:乙0贸易|x", "28"), ("p:丙|1", "28")]
    apps = pd.DataFrame(rows, columns=["applicant_key", "nice_classes"])
    got = industry_scopes(apps, cfg).set_index(["word", "nice_class"])
    assert list(got.index) == [("母婴", 28)]
    assert got.loc[("母婴", 28), "companies"] == 4 and got.loc[("母婴", 28), "lift"] == pytest.approx(2.0)
    keys = pd.Index(["c:甲0母婴|x", "c:乙0贸易|x", "p:丙|1"])
    product = IndustryScopes(industry_words(apps["applicant_key"]), got.reset_index())
    assert scope_masks(keys, product).tolist() == [1 << 28, 0, 0]
    assert scope_masks(pd.Index(["c:乙1贸易|x", "c:甲3母婴|x"]), product).tolist() == [0, 1 << 28]  # a partition
