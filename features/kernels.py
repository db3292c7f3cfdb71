"""Array kernels of the builders: joins and look-ups on integer codes with numpy, apart from the
rules that use them.

The builders' largest tables (an application's classes x its candidate marks x their earlier
owners: tens of millions of rows at 1M applications) are joined on integer codes with these
helpers instead of pandas merges and hash look-ups. Each is tested against a plain count or search
in ``tests/test_kernels.py``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

N_CLASS_CODES = 46  # (mark x 46 + Nice class) codes: classes 1..45 fit with room for 0


def days(dates: pd.Series) -> np.ndarray:
    """Dates as whole days since 1970 (int64): the joins carry integers only."""
    return pd.to_datetime(dates).to_numpy().astype("datetime64[D]").astype(np.int64)


def csr(keys_sorted: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, count) per key value 0..size-1 of a sorted non-negative key array."""
    count = np.bincount(keys_sorted, minlength=size).astype(np.int32)
    return (np.cumsum(count, dtype=np.int64) - count).astype(np.int32), count


def gather(lo: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) for every i and every j in [lo[i], lo[i] + n[i]), i ascending."""
    li = np.repeat(np.arange(len(lo)), n)
    ri = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
    return li, ri


def gather_join(left: np.ndarray, start: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inner join of a key array with a sorted key array given as ``csr`` (start, count):
    (left index, right index) of every match — direct look-ups, no hashing or binary search."""
    return gather(start[left], count[left])


def runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs of equal values of a sorted key array: (start, key, length) of each."""
    first = np.ones(len(sorted_keys), dtype=bool)
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    start = np.flatnonzero(first)
    return start, sorted_keys[start], np.diff(np.append(start, len(sorted_keys)))


def runs_of(sorted_keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) of each query's run of equal values in ``sorted_keys`` (length 0: absent).
    The queries are looked up in sorted order: a binary search for keys in random order misses the
    cache at every step (30 s for 30M look-ups into 10M keys), for sorted keys it follows one path."""
    if not len(sorted_keys):
        return np.zeros(len(queries), dtype=np.int64), np.zeros(len(queries), dtype=np.int64)
    run_start, run_key, run_len = runs(sorted_keys)
    order = np.argsort(queries, kind="stable")
    at = np.empty(len(queries), dtype=np.int64)
    at[order] = np.minimum(np.searchsorted(run_key, queries[order]), len(run_key) - 1)
    found = run_key[at] == queries
    return np.where(found, run_start[at], 0), np.where(found, run_len[at], 0)


def rank_in_runs(values: np.ndarray, start: np.ndarray, length: np.ndarray, query: np.ndarray,
                 scan: int = 8) -> np.ndarray:
    """For each query, how many of ``values[start:start + length]`` (a sorted run) are below it.
    Runs up to ``scan`` long are compared position by position (a loop over run positions, each time
    on the rows whose run is that long); longer ones take a binary search of ``values``, which is
    sorted overall. One cache miss per row instead of one per step of a binary search."""
    rank = np.zeros(len(query), dtype=np.int64)
    rows = np.flatnonzero((length > 0) & (length <= scan))
    for j in range(scan):
        rows = rows[length[rows] > j]
        rank[rows] += values[start[rows] + j] < query[rows]
    long_ = np.flatnonzero(length > scan)
    rank[long_] = np.searchsorted(values, query[long_]) - start[long_]
    return rank


class MarkClassIndex(NamedTuple):
    """Sorted (mark x 46 + class) keys as per-mark class bit masks (``mark_class_index``)."""
    mask: np.ndarray   # per mark: bit c set when the mark has class c
    first: np.ndarray  # per mark: position of its first key among the distinct keys
    start: np.ndarray  # per distinct key: its first row in the sorted keys
    count: np.ndarray  # per distinct key: its number of rows


def mark_class_index(ru_sorted: np.ndarray, n_marks: int) -> MarkClassIndex:
    """``csr`` of sorted (mark x 46 + class) keys without a dense table of 46 cells per mark (200
    million at 10M applications): per mark a bit mask of the classes it has and the position of its
    first key; a key's position is that plus the number of the mark's classes below it. O(1) look-ups
    (a binary search over tens of millions of keys took a microsecond each)."""
    start, keys, count = runs(ru_sorted)
    mark, cls = keys // N_CLASS_CODES, keys % N_CLASS_CODES
    # classes 1..45: distinct powers of two below 2**53 add up exactly in float64
    mask = np.bincount(mark, weights=np.ldexp(1.0, cls), minlength=n_marks).astype(np.uint64)
    return MarkClassIndex(mask, np.searchsorted(keys, np.arange(n_marks, dtype=np.int64) * N_CLASS_CODES),
                          start, count)


def gather_mark_class(mark: np.ndarray, cls: np.ndarray, index: MarkClassIndex) -> tuple[np.ndarray, np.ndarray]:
    """``gather_join`` of (mark, class) pairs against a ``MarkClassIndex``."""
    if not len(index.start):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    m = index.mask[mark]
    bit = np.left_shift(np.uint64(1), cls.astype(np.uint64))
    found = (m & bit) != 0
    at = np.where(found, index.first[mark] + np.bitwise_count(m & (bit - np.uint64(1))), 0)
    return gather(index.start[at], np.where(found, index.count[at], 0))


class FirstDays(NamedTuple):
    """Per distinct code, its first day (``first_days``)."""
    codes: np.ndarray  # sorted
    days: np.ndarray


def first_days(codes: np.ndarray, day) -> FirstDays:
    """Per distinct code (e.g. owner x mark), its first filing day."""
    frame = pd.DataFrame({"code": codes, "day": np.asarray(day)})
    first = frame.groupby("code", sort=True)["day"].min()
    return FirstDays(first.index.to_numpy(np.int64), first.to_numpy())


def first_day(first: FirstDays, codes: np.ndarray) -> np.ndarray:
    """The first day of each code (every code asked for is in ``first``)."""
    return first.days[np.searchsorted(first.codes, codes)]


def distinct_per_pair(key: np.ndarray, target: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """For each row, how many distinct marks its (key, target) pair has."""
    pair = pd.factorize(key.astype(np.int64) * (int(target.max()) + 1 if len(target) else 1) + target)[0]
    distinct = np.unique(np.stack([pair, mark]), axis=1)[0] if len(pair) else pair
    return np.bincount(distinct, minlength=pair.max() + 1 if len(pair) else 0)[pair].astype("float64")


def strongest_per_pair(key: np.ndarray, mark: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Mask of one row per (key, mark) pair: the strongest (ties: the first)."""
    order = np.lexsort((-strength, mark, key))
    k, m = key[order], mark[order]
    first = np.r_[True, (k[1:] != k[:-1]) | (m[1:] != m[:-1])] if len(order) else np.zeros(0, dtype=bool)
    out = np.zeros(len(key), dtype=bool)
    out[order[first]] = True
    return out


def take(values: pa.Array, positions: np.ndarray) -> np.ndarray:
    """``values[positions]`` as objects. ``values`` is one contiguous array (``arrow_strings``): Arrow's
    take of a column in several chunks concatenates it first, once per chunk of the builder."""
    return values.take(pa.array(positions)).to_numpy(zero_copy_only=False)


class PairDays(NamedTuple):
    """Every (mark, owner) pair's filing days as one sorted int64 code (``pair_days``)."""
    code: np.ndarray  # sorted (mark x n_a + owner) x span + (day - lo)
    lo: int           # the first day
    span: int         # days covered, plus one
    n_a: int          # owners + 1 (the pair code's base)

    def pair(self, mark: np.ndarray, owner: np.ndarray) -> np.ndarray:
        return mark.astype(np.int64) * self.n_a + owner.astype(np.int64)


def pair_days(mark: np.ndarray, owner: np.ndarray, day: np.ndarray, n_owners: int) -> PairDays:
    """The filing days of every (mark, owner): counts of filings before a day and the first filing
    day become two binary searches (no merges per chunk)."""
    day = np.asarray(day, dtype=np.int64)
    lo, span = int(day.min()), int(day.max() - day.min()) + 2
    pair = np.asarray(mark, dtype=np.int64) * (n_owners + 1) + np.asarray(owner, dtype=np.int64)
    return PairDays(np.sort(pair * span + (day - lo)), lo, span, n_owners + 1)


def count_before(use: PairDays, run_start: np.ndarray, run_len: np.ndarray, mark: np.ndarray, owner: np.ndarray,
                 day: np.ndarray) -> np.ndarray:
    """The number of filings of each (mark, owner) strictly before ``day``, read within the pair's
    run of ``use.code`` (``run_start``, ``run_len``: from ``runs_of(use.code // use.span, pairs)``)."""
    query = use.pair(mark, owner) * use.span + np.clip(day.astype(np.int64) - use.lo, 0, use.span - 1)
    return rank_in_runs(use.code, run_start, run_len, query)
