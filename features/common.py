"""Small vectorised helpers shared by the feature builders."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from core.reasons import FLAG_COLUMNS, Reason
from core.tables import arrow_strings, positions_in, sorted_unique

# id of an applicant_key column's Arrow data -> its sorted distinct keys. Arrow data is immutable and
# shared by copies of the frame, so the builders of one run (each asks) compute it once: 6 s each at
# 10M applications. The entry leaves with the data.
_INDEX_CACHE: dict[int, pd.Index] = {}


def applicant_index(apps: pd.DataFrame) -> pd.Index:
    """Every applicant_key of the input, sorted: each builder returns one row per key."""
    col = apps["applicant_key"]
    data = col.array.__arrow_array__() if hasattr(col.array, "__arrow_array__") else None
    if data is None:
        return _sorted_keys(col)
    index = _INDEX_CACHE.get(id(data))
    if index is None:
        index = _INDEX_CACHE[id(data)] = _sorted_keys(col)
        weakref.finalize(data, _INDEX_CACHE.pop, id(data), None)
    return index


def rows_per_key(index: pd.Index, keys: pd.Series) -> np.ndarray:
    """How many of ``keys`` fall on each key of ``index`` (``applicant_index``), as float64 in index
    order; keys outside the index are not counted. By row position (Arrow look-up, bincount): a
    string group-by aligned to the 3M keys of the index hashed them again for every column (10M
    applications)."""
    at = positions_in(index, keys)
    return np.bincount(at[at >= 0], minlength=len(index)).astype("float64")


def _sorted_keys(keys: pd.Series) -> pd.Index:
    # (Index.sort_values sorts Arrow strings by code point like sorted(), without Python comparisons)
    return pd.Index(pd.unique(keys), name="applicant_key").sort_values()


def per_distinct(values: pd.Series, fn) -> pd.Series:
    """``fn`` (a vectorised, element-wise text function of a Series) applied once per distinct value
    and spread back to the rows (same index, dtype str): marks, names and keys repeat a lot."""
    codes, uniq = pd.factorize(values, use_na_sentinel=False)
    out = arrow_strings(fn(pd.Series(uniq, dtype=values.dtype)))
    # spread in Arrow: indexing an object array and converting it to str built 10M Python strings
    return pd.Series(pd.array(out.take(pa.array(codes)), dtype="str"), index=values.index)


def name_core(applicant_key: pd.Series) -> pd.Series:
    """The normalised trade-name core carried in the key ('c:华科明电子科技|深圳' → '华科明电子科技')."""
    # (a regex replace runs in Arrow; split().str[0] built a list per key: 7 s for 3M keys)
    return per_distinct(applicant_key, lambda k: k.str.replace(r"(?s)\|.*", "", regex=True).str.slice(2)
                        .str.replace(" ", "", regex=False))


def contains_each(texts: pd.Series, parts: pd.Series) -> np.ndarray:
    """Row-wise ``part in text`` (an empty part is contained) for two equally long string Series.

    numpy's element-wise find works on fixed-width strings as wide as the longest one, so rows are
    grouped by width (powers of two): one 500-character mark among 10M rows would otherwise make
    every row 2,000 bytes (20 GB)."""
    texts, parts = texts.astype("str").fillna(""), parts.astype("str").fillna("")
    width = np.maximum(texts.str.len().to_numpy(), parts.str.len().to_numpy())
    bucket = np.ceil(np.log2(np.maximum(width, 1))).astype(np.int64)
    texts, parts = texts.to_numpy(dtype=object), parts.to_numpy(dtype=object)
    out = np.zeros(len(texts), dtype=bool)
    for b in np.unique(bucket):  # a handful of widths
        rows = np.flatnonzero(bucket == b)
        out[rows] = np.char.find(texts[rows].astype("U"), parts[rows].astype("U")) >= 0
    return out


def window_counter(keys: pd.Series, dates: pd.Series) -> Callable[..., np.ndarray]:
    """``count(days, forward=False)``: for each row, how many rows of the same key fall in
    [date - days + 1, date] (``forward=True``: in [date, date + days - 1]).

    Vectorised: the rows are sorted once by one combined (key, day) integer code, and each window is
    two binary searches of sorted queries, clamped to the key's own run of rows (no per-key Python
    loop; several windows over the same keys share the sort, 1-2 s each at 10M rows)."""
    codes, _ = pd.factorize(keys)  # any numbering groups equal keys (sorting 3M strings cost 2 s at 10M)
    day = dates.to_numpy().astype("datetime64[D]").astype("int64")
    lo = int(day.min()) if len(day) else 0
    span = int(day.max()) - lo + 1 if len(day) else 1
    combined = codes.astype("int64") * span + (day - lo)
    order = np.argsort(combined, kind="stable")
    sorted_c = combined[order]
    sorted_key = sorted_c // span
    run_first = np.searchsorted(sorted_key, sorted_key, side="left")  # the row's key: its first row
    run_end = np.searchsorted(sorted_key, sorted_key, side="right")  # and one past its last

    def count(days: int, forward: bool = False) -> np.ndarray:
        if forward:
            left = np.searchsorted(sorted_c, sorted_c, side="left")
            right = np.minimum(np.searchsorted(sorted_c, sorted_c + (days - 1), side="right"), run_end)
        else:
            left = np.maximum(np.searchsorted(sorted_c, sorted_c - (days - 1), side="left"), run_first)
            right = np.searchsorted(sorted_c, sorted_c, side="right")
        out = np.empty(len(day), dtype="int64")
        out[order] = right - left
        return out

    return count


def window_counts(keys: pd.Series, dates: pd.Series, days: int, forward: bool = False) -> np.ndarray:
    """``window_counter(keys, dates)(days, forward)`` for a single window."""
    return window_counter(keys, dates)(days, forward)


def entropy(counts: pd.DataFrame | pd.Series, by: str | None = None) -> pd.Series:
    """Shannon entropy (bits) of a count distribution per group; ``counts`` indexed by (group, item)."""
    s = counts if isinstance(counts, pd.Series) else counts.iloc[:, 0]
    p = s / s.groupby(level=0).transform("sum")
    return (-(p * np.log2(p))).groupby(level=0).sum()


def make_flags(frame: pd.DataFrame, reason: Reason, evidence: pd.Series, strength: pd.Series | float) -> pd.DataFrame:
    """Flag rows for ``frame`` (needs application_id or not, and applicant_key)."""
    out = pd.DataFrame({
        "application_id": frame["application_id"].astype("str").to_numpy() if "application_id" in frame else "",
        "applicant_key": frame["applicant_key"].astype("str").to_numpy(),
        "reason": reason.value,
        "evidence": evidence.astype("str").to_numpy(),
        "strength": np.clip(np.asarray(strength, dtype="float64") * np.ones(len(frame)), 0.0, 1.0),
    }, index=range(len(frame)))
    return out[FLAG_COLUMNS]


def concat_flags(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "strength" else "str") for c in FLAG_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).fillna(0.0)


def distinct_count(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """For codes 0 .. n-1 (applicants, groups …): how many distinct ``values`` each has (floats)."""
    v, uniq = pd.factorize(values)
    n_values = max(len(uniq), 1)
    pairs = sorted_unique(codes.astype(np.int64) * n_values + v)
    return np.bincount(pairs // n_values, minlength=n).astype("float64")
