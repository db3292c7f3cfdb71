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
