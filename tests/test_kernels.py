"""The array kernels (features/kernels.py), each against a plain count or search by hand."""

import numpy as np
import pandas as pd

from features import kernels as kn
from features.infringement import _reference_runs, use_before


def test_established_use_counts_filings_strictly_before_by_hand():
    """The owner's filings of the mark strictly before the newcomer's day (at least 1) and its first
    filing day, read through each reference's run of (mark, owner, day) codes — counted here by hand.
    Mark 2 has eleven filings by owner 0: longer than the scanned runs, so it takes the search."""
    slim = pd.DataFrame({"tid": [0, 0, 0, 0, 0, 1] + [2] * 11, "a": [0, 0, 0, 0, 1, 0] + [0] * 11,
                         "day": [100, 200, 200, 300, 150, 120] + list(range(10, 120, 10))})
    use = kn.pair_days(slim["tid"].to_numpy(), slim["a"].to_numpy(), slim["day"].to_numpy(), n_owners=2)
    # references (mark, owner): (0, 0), (0, 1), (1, 0), (2, 0)
    ref = _reference_runs(np.array([0, 0, 1, 2]), np.array([0, 1, 0, 0]), {"use": use, "groups": None})
    ri = np.array([0, 0, 0, 0, 1, 2, 3, 3, 3])
    mark, owner = np.array([0, 0, 0, 0, 0, 1, 2, 2, 2]), np.array([0, 0, 0, 0, 1, 0, 0, 0, 0])
    day = np.array([250, 200, 100, 5000, 400, 121, 55, 10, 1000])
    n, first = use_before(use, ref, ri, mark, owner, day)
    # 250: filed 100, 200, 200 before; 200: only 100 (same day is not before); 100: none -> 1;
    # far future: all four; owner 1: its one filing; mark 1: its one filing the day before;
    # mark 2 (days 10..110): 10..50 before 55; none before 10 -> 1; all eleven before 1000
    assert n.tolist() == [3.0, 1.0, 1.0, 4.0, 1.0, 1.0, 5.0, 1.0, 11.0]
    assert first.tolist() == [100.0, 100.0, 100.0, 100.0, 150.0, 120.0, 10.0, 10.0, 10.0]


def test_rank_in_runs_equals_a_count_by_hand():
    """Runs of every length from 0 to 20 (scanned and searched), queries below, inside and above
    each run: the rank is the number of the run's values below the query, counted one by one."""
    rng = np.random.default_rng(3)
    lengths = rng.integers(0, 21, 300)
    keys = np.repeat(np.arange(300), lengths)
    values = np.sort(keys * 1000 + rng.integers(0, 1000, len(keys)))
    start, length = kn.runs_of(values // 1000, np.arange(300))
    assert length.tolist() == lengths.tolist()
    assert all((values[s:s + n] // 1000 == k).all() for k, (s, n) in enumerate(zip(start, length, strict=True)))
    q_key = rng.integers(0, 300, 2000)
    query = q_key * 1000 + rng.integers(-5, 1006, 2000)
    got = kn.rank_in_runs(values, start[q_key], length[q_key], query)
    want = [int((values[start[k]:start[k] + length[k]] < q).sum()) for k, q in zip(q_key, query, strict=True)]
    assert got.tolist() == want
    absent = kn.runs_of(values // 1000, np.array([-1, 300, 5_000]))
    assert absent[1].tolist() == [0, 0, 0]


def test_mark_class_lookup_equals_a_search_of_the_sorted_keys():
    """The bit-mask index of (mark, class) references finds, for each query, exactly the rows a
    plain search of the sorted keys finds (queries include absent marks and absent classes)."""
    rng = np.random.default_rng(7)
    n_marks = 60
    keys = np.sort(rng.integers(0, n_marks, 400) * 46 + rng.integers(1, 46, 400))
    mark, cls = rng.integers(0, n_marks, 900), rng.integers(1, 46, 900)
    got = set(zip(*kn.gather_mark_class(mark, cls, kn.mark_class_index(keys, n_marks)), strict=True))
    want = {(i, j) for i in range(len(mark)) for j in np.flatnonzero(keys == mark[i] * 46 + cls[i])}
    assert got == want and len(want) > 100
    empty = kn.mark_class_index(np.zeros(0, dtype=np.int64), n_marks)
    assert len(kn.gather_mark_class(mark, cls, empty)[0]) == 0


def test_gather_join_equals_a_nested_loop():
    rng = np.random.default_rng(11)
    right = np.sort(rng.integers(0, 30, 200))
    left = rng.integers(0, 35, 100)
    start, count = kn.csr(right, 35)
    li, ri = kn.gather_join(left, start, count)
    want = {(i, j) for i in range(len(left)) for j in range(len(right)) if right[j] == left[i]}
    assert set(zip(li.tolist(), ri.tolist(), strict=True)) == want and len(li) == len(want)


def test_first_days_and_pair_helpers_by_hand():
    first = kn.first_days(np.array([5, 3, 5, 3, 9]), np.array([20, 11, 7, 15, 1]))
    assert kn.first_day(first, np.array([3, 5, 9, 5])).tolist() == [11, 7, 1, 7]
    key, target, mark = np.array([0, 0, 0, 1, 1]), np.array([4, 4, 4, 4, 2]), np.array([7, 8, 7, 7, 7])
    # applicant 0 imitates target 4 with two marks (7, 8); applicant 1 with one each
    assert kn.distinct_per_pair(key, target, mark).tolist() == [2.0, 2.0, 2.0, 1.0, 1.0]
    strongest = kn.strongest_per_pair(key, target, np.array([0.5, 0.9, 0.9, 0.3, 0.2]))
    assert strongest.tolist() == [False, True, False, True, True]  # ties: the first
