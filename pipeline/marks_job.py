"""The infringement builder's similarity work in a second process, beside entity resolution.

The marks' self-join and their matches with the protected list read the mark texts only, not the
entities (``features.infringement.mark_similarity``). On the pandas engine they run in a spawned
process from the end of loading, so the machine's second core works on them while the scoring
process resolves entities and computes the shared columns; the builder then finds them in
``Tables.extras``. Results are the same as computing them inside the builder (test
``test_marks_process_does_not_change_results``).

The process's peak memory adds to the scoring process's while both run: the manifest's
``features.marks_wait`` stage reports the scoring process's peak so far plus the marks process's
peak (an upper bound of the two together), so the run's peak never hides it.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from dataclasses import replace

import pandas as pd

from pipeline.config import Config
from pipeline.tables import Tables


def _own_peak_mb() -> float:
    """This process's own peak RSS. (``ru_maxrss`` of a spawned process starts from its parent's
    RSS at the spawn, so it would count the scoring process twice; VmHWM is the process's own.)"""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: an upper bound


def _work(applications: pd.DataFrame, protected_marks: pd.DataFrame | None, config: Config) -> tuple:
    from features.infringement import mark_similarity
    from pipeline.cli import use_jemalloc

    use_jemalloc()  # the scoring process's Arrow allocator, here too
    start = time.perf_counter()
    extras = mark_similarity(applications, protected_marks, config)
    return extras, time.perf_counter() - start, _own_peak_mb()


class MarksJob:
    """Started after loading (the process gets the mark texts and the protected list); ``finish`` adds
    its extras to the tables before the builders, ``stop`` ends the process."""

    def __init__(self, tables: Tables, config: Config):
        # spawn, not fork: the scoring process has Arrow and BLAS threads, which a fork can deadlock
        self.pool = multiprocessing.get_context("spawn").Pool(1)
        self.result = self.pool.apply_async(_work, (tables.applications[["mark_text"]], tables.protected_marks,
                                                    config))

    @staticmethod
    def wanted(tables: Tables, config: Config) -> bool:
        n_from = int(config.run.marks_process_from)
        return n_from > 0 and len(tables.applications) >= n_from

    def finish(self, tables: Tables, timer) -> Tables:
        with timer.stage("features.marks_wait"):
            extras, seconds, peak_mb = self.result.get()  # re-raises the process's exception
            self.pool.close()
            tables = replace(tables, extras={**tables.extras, **extras})
        wait = timer.stages[-1]
        wait["peak_rss_mb"] = round(wait["peak_rss_mb"] + peak_mb, 1)  # both processes, upper bound
        wait["marks_process"] = {"seconds": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1)}
        return tables

    def stop(self) -> None:
        """End the process (at once when the run failed before ``finish``)."""
        self.pool.terminate()
        self.pool.join()
