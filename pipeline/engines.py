"""Where the feature builders run: ``pandas`` (one process) or Dask (``dask`` / ``dask-local``).

The same builder functions run on both engines; there is no second implementation of a feature.

Dask plan (``run_builders_on(engine="dask" | "dask-local", ...)``):

* Entity resolution stays global (it defines the related-party groups) and happens before this
  module is called, in the client process.
* The resolved tables are split into K partitions by a stable hash of ``group_id``: a partition
  holds all applications of its groups, the transfers whose assignor is in one of its groups, the
  decisions whose subject is; protected marks and public terms are replicated. Every applicant and
  every related-party group is therefore whole inside exactly one partition.
* Per-group builders (hoarding, transfers) run unchanged on each partition; statistics of the whole
  register they read (the related-class table) are computed by the client and passed in
  ``Tables.extras``. Decisions run as one task on the whole tables: few rows, and they weigh
  infringement judgments against the whole register's rate for each portfolio size.
* Builders with a cross-group step get that step (an intermediate product, ``features.products``)
  computed globally first, then run unchanged on each partition with the global result in
  ``Tables.extras`` (on the pandas engine the in-process runner ``products.ensure`` makes the same
  product from the whole tables, with the same function):
  - transfers: ``transfer_lookup`` (assignee groups, filing dates of resold marks, agent names)
    is mapped over partitions and combined by union (applications are disjoint across partitions);
  - squatting: per-partition ``trend_first_filings`` (first filing of each unlisted core by each
    group; disjoint across partitions), shuffled by core with dask.dataframe, and
    ``trends_from_first`` per core partition — the trend-term table; the builder then runs once on
    the whole tables (it weighs built-in-list hits against the whole register's chance rates).
* Infringement compares a mark with the marks of *all other* groups. Its cross-group step, the
  similarity self-join of the distinct marks, is distributed by **block partition** (a candidate
  pair only ever comes from one blocking-key block, so blocks are hash-partitioned by key code):
  the client prepares the distinct marks and their key index (``similarity.block_partition``),
  one task per block partition finds its candidate pairs (``block_candidates``), the client
  merges them (``unique_candidates``: a pair found by several key kinds is verified once) and
  one task per slice verifies them (``verify_candidates``), one task matches the curated
  transliterations (``alias_matches``). The builder then runs once on the whole tables with the
  marks and matches in ``Tables.extras`` (its earlier-owner ranking and protected-mark path are
  global). See docs/scaling.md.

Results are concatenated per dimension and sorted by applicant_key (as on the pandas engine).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd

from core.config import Config
from core.reasons import Dimension
from core.tables import Tables
from features.registry import FeatureResult

log = logging.getLogger("tmscreen")
ENGINES = ("pandas", "dask", "dask-local")
PER_PARTITION = (Dimension.HOARDING, Dimension.TRANSFER)


class EngineError(ValueError):
    pass


def check_engine(engine: str, scheduler: str | None = None) -> None:
    if engine not in ENGINES:
        raise EngineError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine == "dask" and not scheduler:
        raise EngineError("engine 'dask' needs a scheduler address (--scheduler tcp://HOST:PORT); "
                          "use engine 'dask-local' for a LocalCluster on this machine")
    if engine != "dask" and scheduler:
        raise EngineError(f"--scheduler is only used with engine 'dask'; got engine {engine!r}")


def _import_dask():
    try:
        import dask
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # heavy optional dependency: fail with an install hint
        raise EngineError("the Dask engines need dask.distributed: pip install 'dask[distributed]' "
                          f"(missing: {exc.name})") from exc
    return dask, dd, Client, LocalCluster


def run_builders_on(engine: str, tables: Tables, config: Config, timer=None, scheduler: str | None = None,
                    n_workers: int = 2, n_partitions: int | None = None, client=None) -> dict[str, FeatureResult]:
    """Run every registered builder on ``engine``; ``tables`` are entity-resolved.

    engine: "pandas" (``pipeline.stages.run_builders``), "dask" (an existing cluster at
    ``scheduler``, e.g. tcp://10.0.0.5:8786) or "dask-local" (a LocalCluster of ``n_workers``
    single-threaded worker processes, closed afterwards). ``client``: an existing
    dask.distributed Client to use instead (tests). ``n_partitions``: default 2 x worker threads.
    """
    from pipeline.stages import StageTimer, run_builders

    timer = timer or StageTimer()
    if client is None:
        check_engine(engine, scheduler)
    if engine == "pandas" and client is None:
        return run_builders(tables, config, timer)
    _, _, Client, LocalCluster = _import_dask()
    if client is not None:
        return _run_dask(client, tables, config, timer, n_partitions)
    if engine == "dask":
        with Client(scheduler) as c:
            return _run_dask(c, tables, config, timer, n_partitions)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as c:
            return _run_dask(c, tables, config, timer, n_partitions)


# ---- partitioning


def partition_of(group_ids: pd.Series, k: int) -> pd.Series:
    """Stable partition number of each group_id (the same in every process and run)."""
    h = pd.util.hash_pandas_object(group_ids.astype("str"), index=False).to_numpy()
    return pd.Series((h % k).astype("int64"), index=group_ids.index)


def split_tables(tables: Tables, k: int) -> list[Tables]:
    """K self-contained partitions by related-party group (empty partitions are left out)."""
    apps = tables.applications
    part = partition_of(apps["group_id"], k)
    key_part = pd.Series(part.to_numpy(), index=apps["applicant_key"].to_numpy())
    key_part = key_part[~key_part.index.duplicated()]
    tr, dec = tables.transfers, tables.decisions
    tr_part = tr["assignor_key"].map(key_part) if len(tr) else pd.Series(dtype="float64")
    dec_part = dec["subject_key"].map(key_part) if len(dec) else pd.Series(dtype="float64")
    out = []
    for p in range(k):
        mask = (part == p).to_numpy()
        if not mask.any():
            continue
        out.append(replace(tables, applications=apps[mask], transfers=tr[(tr_part == p).to_numpy()],
                           decisions=dec[(dec_part == p).to_numpy()], entities=None, groups=None, extras={}))
    return out


def _whole(tables: Tables) -> Tables:
    return replace(tables, entities=None, groups=None, extras={})


# ---- tasks (module-level functions: they are pickled to the workers)


def _build(dimension: Dimension, tables: Tables, config: Config, extras: dict | None = None) -> FeatureResult:
    from pipeline.stages import load_builders

    if extras:
        tables = replace(tables, extras={**tables.extras, **extras})
    return load_builders()[dimension](tables, config)


def _lookup(tables: Tables, transfers: pd.DataFrame) -> dict:
    from features.transfers import transfer_lookup

    return transfer_lookup(tables, transfers)


def _combine_lookups(*lookups: dict) -> dict:
    from features.transfers import combine_lookups

    return combine_lookups(list(lookups))


def _first_filings(tables: Tables, config: Config) -> pd.DataFrame:
    from features.squatting import squatting_first_filings

    return squatting_first_filings(tables, config)


def _trends(first: pd.DataFrame, config: Config) -> pd.DataFrame:
    from features.squatting import trends_from_first

    return trends_from_first(first, config.squatting)


def _mark_matches(client, tables: Tables, config: Config, config_f, n: int) -> tuple:
    """(distinct marks, their self-join) for the infringement builder, the join spread over the
    workers by block partition (see the module docstring); equal to ``match_prepared(marks, None)``."""
    from features import similarity as sim
    from features.infringement import distinct_marks

    marks = distinct_marks(tables.applications, config)
    payloads = [sim.block_partition(marks, p, n, config) for p in range(n)]  # the key index, once
    sim.forget_keys(marks)
    marks_f = client.scatter(marks, broadcast=True)
    aliases_f = client.submit(sim.alias_matches, marks_f, None, config_f)
    parts = client.gather(client.map(sim.block_candidates, [marks_f] * n, payloads, config=config_f))
    cand = sim.unique_candidates(parts)
    slices = [cand.iloc[lo::n] for lo in range(n)]
    verified = client.gather(client.map(sim.verify_candidates, [marks_f] * n, slices, config=config_f))
    return marks_f, client.scatter(sim.with_aliases(sim.combine_verified(verified, cand), aliases_f.result()))


def _concat(results: list[FeatureResult]) -> FeatureResult:
    """One FeatureResult from per-partition results (applicants sorted as on the pandas engine)."""
    applicant = pd.concat([r.applicant for r in results]).sort_index()
    severity = pd.concat([r.severity for r in results]).sort_index()
    flags = pd.concat([r.flags for r in results if len(r.flags)] or [results[0].flags], ignore_index=True)
    details = [r.details for r in results if len(r.details)]
    details = pd.concat(details, ignore_index=True) if details else results[0].details
    return FeatureResult(applicant=applicant, severity=severity, flags=flags, details=details)


def _run_dask(client, tables: Tables, config: Config, timer, n_partitions: int | None) -> dict[str, FeatureResult]:
    dask, dd, _, _ = _import_dask()
    from dask.distributed import wait

    threads = sum(client.nthreads().values()) or 1
    k = int(n_partitions or 2 * threads)
    log.info("dask engine: %s, %d worker threads, %d partitions", client.scheduler.address, threads, k)
    with timer.stage("features.dask.scatter"):
        parts = split_tables(tables, k)
        part_f = client.scatter(parts)
        whole_f = client.scatter(_whole(tables))
        config_f = client.scatter(config, broadcast=True)
        wait(part_f + [whole_f])
    with timer.stage("features.dask.similarity"):
        from features.infringement import MARKS_KEY, MATCHES_KEY

        marks_f, matches_f = _mark_matches(client, tables, config, config_f, k)
        # Infringement first: the longest single task runs while the partitions are worked on.
        whole_futures = {Dimension.INFRINGEMENT: client.submit(
            _build, Dimension.INFRINGEMENT, whole_f, config_f, {MARKS_KEY: marks_f, MATCHES_KEY: matches_f})}
    with timer.stage("features.dask.global"):
        # transfers: map transfer_lookup over partitions, combine by union
        transfers_f = client.scatter(tables.transfers)
        lookups = client.map(_lookup, part_f, transfers=transfers_f)
        lookup_f = client.submit(_combine_lookups, *lookups)
        # squatting trends: first filings per partition → shuffle by core → trend table per core partition
        firsts = client.map(_first_filings, part_f, config=config_f)
        meta = pd.DataFrame({"core": pd.Series(dtype="str"), "group_id": pd.Series(dtype="str"),
                             "filing_date": pd.Series(dtype=tables.applications["filing_date"].dtype)})
        trend_meta = _trends(meta, config)
        with dask.config.set({"dataframe.convert-string": False}):
            first = dd.from_delayed(firsts, meta=meta, verify_meta=False)
            trends = (first.shuffle(on="core", npartitions=max(1, len(parts)), shuffle_method="tasks")
                      .map_partitions(_trends, config, meta=trend_meta))
            trends_f = client.compute(trends)
        wait([lookup_f, trends_f])
    with timer.stage("features.dask.builders"):
        from features import products
        from features.class_relations import RELATED_KEY

        # register statistics: from the whole register, made on the client
        made = products.ensure(tables, config, [RELATED_KEY, products.INDUSTRY_SCOPES]).extras
        hoarding = {key: client.scatter(made[key]) for key in (RELATED_KEY, products.INDUSTRY_SCOPES)}
        extras = {Dimension.TRANSFER: {products.TRANSFER_LOOKUP: lookup_f}, Dimension.HOARDING: hoarding}
        futures = {dim: [client.submit(_build, dim, p, config_f, extras.get(dim))
                         for p in part_f] for dim in PER_PARTITION}
        # squatting weighs built-in-list hits against the whole register's chance rates: one task
        whole_futures[Dimension.SQUATTING] = client.submit(_build, Dimension.SQUATTING, whole_f, config_f,
                                                           {products.TRENDS: trends_f})
        # decisions weigh judgments against the whole register's rate per portfolio size: one task
        whole_futures[Dimension.DECISIONS] = client.submit(_build, Dimension.DECISIONS, whole_f, config_f, None)
        gathered = client.gather({**{d: f for d, f in futures.items()}, **{d: [f] for d, f in whole_futures.items()}})
    out = {}
    for dim in Dimension:  # the pandas engine's order
        out[dim.value] = _concat(gathered[dim])
    return out
