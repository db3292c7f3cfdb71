"""The Dask engine runs the same builders as the pandas engine and gives the same results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.config import load_config
from demo.world import generate_world
from pipeline.contract import load_dataset
from pipeline.engines import EngineError, check_engine, partition_of, split_tables
from pipeline.entities import resolve_entities
from pipeline.score import compute
from pipeline.stages import StageTimer


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("dask_world")
    generate_world(out, 20000, 11)
    return load_dataset(out / "dataset").tables


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit="2GiB") as cluster, Client(cluster) as c:
        yield c


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    cols = list(frame.columns)
    return frame.astype({c: "str" for c in cols if frame[c].dtype == object}).sort_values(cols).reset_index(drop=True)


def test_split_is_by_whole_groups(world):
    config = load_config()
    tables = resolve_entities(world, config)
    parts = split_tables(tables, 5)
    apps = pd.concat([p.applications for p in parts])
    assert len(apps) == len(tables.applications) and apps["application_id"].is_unique
    for col in ("group_id", "applicant_key"):  # every group and applicant in exactly one partition
        owners = pd.concat([pd.Series(p.applications[col].unique()) for p in parts])
        assert owners.is_unique
    assert sum(len(p.decisions) for p in parts) <= len(tables.decisions)
    # the partition of a group is stable (a hash of the id, not of the process)
    assert partition_of(pd.Series(["g:a", "g:b"]), 7).tolist() == partition_of(pd.Series(["g:a", "g:b"]), 7).tolist()


def test_engine_errors_name_the_choices():
    with pytest.raises(EngineError, match="pandas, dask, dask-local; got 'spark'"):
        check_engine("spark")
    with pytest.raises(EngineError, match="needs a scheduler"):
        check_engine("dask")


def test_dask_engine_equals_pandas(world, client, monkeypatch):
    import pipeline.engines as engines

    config = load_config()
    expected = compute(world, config)
    # run the dask path on the test cluster (engine "dask-local" would start its own)
    real = engines.run_builders_on
    monkeypatch.setattr(engines, "run_builders_on",
                        lambda engine, tables, cfg, timer=None, **kw: real(engine, tables, cfg, timer, client=client))
    timer = StageTimer()
    got = compute(world, config, timer, engine="dask-local")
    assert "features.dask.builders" in [s["stage"] for s in timer.stages]

    a = expected.applicants.set_index("applicant_key").sort_index()
    b = got.applicants.set_index("applicant_key").sort_index()
    assert a.index.equals(b.index)
    num = ["hoarding", "infringement", "squatting", "transfer", "decisions", "risk_score", "points"]
    np.testing.assert_allclose(b[num].to_numpy(float), a[num].to_numpy(float), rtol=0, atol=1e-9)
    for col in ("grade", "flagged", "hard_rule", "reasons", "n_applications"):
        assert a[col].equals(b[col]), col
    assert (a["grade"] != "A").any() and a["flagged"].any()  # the world is not trivially clean
    pd.testing.assert_frame_equal(_sorted(got.flags), _sorted(expected.flags), check_exact=False, atol=1e-12)
    for dim, r in expected.features.items():
        pd.testing.assert_frame_equal(got.features[dim].applicant, r.applicant, check_exact=False, atol=1e-9)
    apps_a = expected.applications.set_index("application_id").sort_index()
    apps_b = got.applications.set_index("application_id").sort_index()
    assert apps_a["flags"].map(tuple).equals(apps_b["flags"].map(tuple))


def _assert_same_results(got, expected) -> None:
    """Two pandas-engine runs give exactly the same frames (same code path, nothing rounded)."""
    pd.testing.assert_frame_equal(got.applicants, expected.applicants)
    pd.testing.assert_frame_equal(got.flags, expected.flags)
    assert list(got.features) == list(expected.features)
    for dim, r in expected.features.items():
        pd.testing.assert_frame_equal(got.features[dim].applicant, r.applicant)
        pd.testing.assert_frame_equal(got.features[dim].details, r.details)


def test_builder_threads_do_not_change_results(world):
    """The pandas engine's builder threads (run.builder_threads) give exactly the sequential results,
    and their overlapping stage times are marked so a run's total counts them once."""
    config = load_config()
    seq_timer, thr_timer = StageTimer(), StageTimer()
    seq = compute(world, config.with_overrides({"run": {"builder_threads": 1}}), seq_timer)
    thr = compute(world, config.with_overrides({"run": {"builder_threads": 2}}), thr_timer)
    _assert_same_results(thr, seq)
    stages = {s["stage"]: s for s in thr_timer.stages}
    assert stages["features.infringement"].get("parallel") and "features.builders" in stages
    assert not any(s.get("parallel") for s in seq_timer.stages) and "features.builders" not in {
        s["stage"] for s in seq_timer.stages}


def test_marks_process_does_not_change_results(world):
    """The infringement builder's similarity work in a second process (run.marks_process_from) gives
    exactly the in-builder results; the wait stage reports both processes' memory."""
    config = load_config()
    inline_timer, proc_timer = StageTimer(), StageTimer()
    inline = compute(world, config.with_overrides({"run": {"marks_process_from": 0}}), inline_timer)
    proc = compute(world, config.with_overrides({"run": {"marks_process_from": 1}}), proc_timer)
    _assert_same_results(proc, inline)
    assert (proc.features["infringement"].severity > 0).sum() > 50  # copies were found on both paths
    stages = {s["stage"]: s for s in proc_timer.stages}
    assert "features.marks_wait" not in {s["stage"] for s in inline_timer.stages}
    wait = stages["features.marks_wait"]
    child = wait["marks_process"]
    assert child["seconds"] > 0 and child["peak_rss_mb"] > 50
    # both processes counted: the two resident sizes sampled together, at least the scoring process's
    # earlier peak, and the sum of the two own peaks bounds the sample (figures rounded to 0.1 MB)
    own_so_far = stages["features.shared"]["peak_rss_mb"]
    assert child["both_upper_bound_mb"] >= own_so_far + child["peak_rss_mb"] - 0.1
    assert child["both_sampled_peak_mb"] > 0, "the sampler never saw the marks process"
    assert child["both_sampled_peak_mb"] <= child["both_upper_bound_mb"] + 0.2
    assert wait["peak_rss_mb"] == pytest.approx(max(own_so_far, child["both_sampled_peak_mb"]), abs=0.2)


def test_marks_process_error_reaches_the_caller(world):
    """A failure inside the marks process is raised by ``compute`` with its message (not lost, no hang)."""
    config = load_config().with_overrides({"run": {"marks_process_from": 1},
                                           "infringement": {"self_join_key_kinds": ["soundex"]}})
    with pytest.raises(ValueError, match=r"self_join_key_kinds.*soundex"):
        compute(world, config)
