"""Two filing patterns of marks not meant for use (不以使用为目的), read by the hoarding builder.

* **Re-filing**: the same mark filed again in the same class by the same applicant or group, each
  time at least ``refile_min_gap_days`` after the last (about the three years after which an unused
  registration can be cancelled, 撤三). Filed ``refile_min_filings`` times that way it is evergreening:
  a new filing restarts the three years without any use. One later filing (a lapsed mark filed
  again, a new specification) is ordinary.
* **Over-broad specification**: one filing whose goods cover at least ``broad_min_share`` of the
  similar groups (类似群) of its class, in a class with at least ``broad_min_class_groups`` groups:
  the whole class heading claimed rather than the goods of a business.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import lexicons


def refiled_cells(cls: pd.DataFrame, min_gap_days: int, min_filings: int) -> pd.DataFrame:
    """(group, mark, class) cells filed again and again: at least ``min_filings - 1`` filings that each
    come ``min_gap_days`` or more after the cell's previous filing.

    ``cls``: one row per (filing, class) with columns key, gkey, mark (code; -1 = no mark), nice_class,
    day (days since the epoch). Returns one row per such cell: gkey, mark, nice_class, key (the
    applicant of the newest filing), dates (the first filing and each re-filing, oldest first)."""
    cols = ["gkey", "mark", "nice_class", "key", "dates"]
    df = cls.loc[cls["mark"] >= 0, ["gkey", "mark", "nice_class", "key", "day"]]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df.sort_values(["gkey", "mark", "nice_class", "day"], kind="stable")
    cell = pd.factorize(pd.MultiIndex.from_frame(df[["gkey", "mark", "nice_class"]]))[0]
    day = df["day"].to_numpy()
    first = np.r_[True, cell[1:] != cell[:-1]]
    refiled = ~first & (np.r_[0, np.diff(day)] >= min_gap_days)
    n_refiled = np.bincount(cell, weights=refiled, minlength=cell.max() + 1)
    keep = n_refiled[cell] >= min_filings - 1
    if not keep.any():
        return pd.DataFrame(columns=cols)
    shown = df[keep & (first | refiled)]
    shown_cell = cell[keep & (first | refiled)]
    text = pd.Series(shown["day"].to_numpy().astype("datetime64[D]")).dt.strftime("%Y-%m-%d")
    dates = text.groupby(shown_cell).agg(list)
    newest = shown.groupby(shown_cell).tail(1)
    out = newest[["gkey", "mark", "nice_class", "key"]].copy()
    out["dates"] = dates.to_numpy()  # (both in cell order)
    return out.reset_index(drop=True)[cols]


def over_broad(applications: pd.DataFrame, min_share: float, min_class_groups: int) -> np.ndarray:
    """Per application: True when, in one of its classes with at least ``min_class_groups`` similar
    groups, its goods cover at least ``min_share`` of them."""
    groups = lexicons.similar_groups_of(applications)
    pos, sgroup = lexicons.group_rows(groups)
    if not len(pos):
        return np.zeros(len(applications), dtype=bool)
    per_class = lexicons.nice_groups().groupby("class")["group"].nunique()
    pairs = pd.DataFrame({"row": pos, "cls": pd.Series(sgroup).astype("str").str.slice(0, 2).astype("int64")})
    covered = pairs.groupby(["row", "cls"]).size().reset_index(name="n")
    size = covered["cls"].map(per_class).fillna(0).to_numpy()
    broad = (size >= min_class_groups) & (covered["n"].to_numpy() >= min_share * size)
    out = np.zeros(len(applications), dtype=bool)
    out[covered.loc[broad, "row"].to_numpy()] = True
    return out
