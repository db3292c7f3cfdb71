"""Running the stages of a scoring: the builders (in threads), their timing and progress lines, and
the Arrow allocator every scoring process uses. Imported by ``pipeline.score`` (in process),
``pipeline.engines`` (Dask) and ``pipeline.marks_job`` (the spawned marks process); it imports none
of them."""

from __future__ import annotations

import importlib
import logging
import os
import resource
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TextIO

from core.config import Config
from core.reasons import Dimension
from core.tables import Tables
from features.registry import BUILDERS, FeatureResult

log = logging.getLogger("tmscreen")
BUILDER_MODULES = ("features.hoarding", "features.infringement", "features.squatting", "features.transfers",
                   "features.decisions")


def load_builders() -> dict:
    for mod in BUILDER_MODULES:
        importlib.import_module(mod)
    return BUILDERS


class StageTimer:
    """Times the stages of a run (recorded in its manifest). ``progress``: a terminal stream that gets
    a line when each stage starts and one when it ends — its name, seconds, the run's elapsed time and
    the rows being scored — so a long run shows signs of life (the commands pass stderr when it is a
    terminal)."""

    def __init__(self, progress: TextIO | None = None):
        self.stages: list[dict] = []
        self.progress = progress
        self.rows: int | None = None  # applications being scored, once loaded
        self._start = time.perf_counter()

    @contextmanager
    def stage(self, name: str, parallel: bool = False):
        """Time a stage. ``parallel``: it ran beside others inside an enclosing stage (the
        builder threads); its seconds overlap and are not added to the run's total."""
        start = time.perf_counter()
        log.info("stage %s ...", name)
        if self.progress is not None:
            print(f"[{start - self._start:7.1f} s] {name} …", file=self.progress, flush=True)
        yield
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB on Linux
        entry = {"stage": name, "seconds": round(time.perf_counter() - start, 3), "peak_rss_mb": round(peak, 1)}
        if parallel:
            entry["parallel"] = True
        self.stages.append(entry)
        log.info("stage %s done in %.2f s", name, self.stages[-1]["seconds"])
        if self.progress is not None:
            rows = f", {self.rows:,} applications" if self.rows is not None else ""
            print(f"[{time.perf_counter() - self._start:7.1f} s] {name} done in {entry['seconds']:.1f} s{rows}",
                  file=self.progress, flush=True)


def terminal_progress(quiet: bool) -> TextIO | None:
    """The stream for stage-by-stage progress lines: stderr when it is a terminal and not ``quiet``
    (silent in scripts, pipes and logs)."""
    return sys.stderr if sys.stderr.isatty() and not quiet else None


def with_shared_products(tables: Tables, config: Config, timer: StageTimer) -> Tables:
    """The intermediate products that several builders read (``features.products``; e.g. the
    unlisted trends: squatting flags them, infringement treats them as no one's mark), made once
    before the builders run side by side, unless already in ``tables.extras``."""
    from features import products
    from features.registry import NEEDS

    load_builders()
    counts = Counter(key for needs in NEEDS.values() for key in products.closure(needs))
    return products.ensure(tables, config, [key for key, n in counts.items() if n > 1], timer)


def run_builders(tables: Tables, config: Config, timer: StageTimer | None = None) -> dict[str, FeatureResult]:
    timer = timer or StageTimer()
    tables = with_shared_products(tables, config, timer)
    builders = load_builders()

    def build(dim: Dimension) -> FeatureResult:
        with timer.stage(f"features.{dim.value}", parallel=threads > 1):
            return builders[dim](tables, config)

    # the longest first, so that it never waits behind the others
    order = sorted(Dimension, key=lambda d: d != Dimension.INFRINGEMENT)
    threads = max(1, int(config.run.builder_threads))
    if threads == 1:
        done = {dim: build(dim) for dim in order}
    else:
        with timer.stage("features.builders"), ThreadPoolExecutor(threads, thread_name_prefix="builder") as pool:
            futures = {dim: pool.submit(build, dim) for dim in order}
            done = {dim: f.result() for dim, f in futures.items()}
    return {dim.value: done[dim] for dim in Dimension}  # the registry's order, whatever the threads


def use_jemalloc() -> None:
    """Arrow buffers (the string columns) from jemalloc, with freed pages handed back to the system
    at once (decay 0): 0.36 GB less peak memory scoring 1M applications than the default mimalloc,
    and decay 0 another 0.16 GB (docs/performance.md). ARROW_DEFAULT_MEMORY_POOL, when set, wins;
    builds without jemalloc keep the default."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, AttributeError):
        pass
