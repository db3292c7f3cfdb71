"""The infringement builder's similarity work in a second process, beside entity resolution.

The marks' self-join and their matches with the protected list read the mark texts only, not the
entities (``features.infringement.mark_similarity``). On the pandas engine they run in a spawned
process from the end of loading, so the machine's second core works on them while the scoring
process resolves entities and computes the shared columns; the builder then finds them in
``Tables.extras``. Results are the same as computing them inside the builder (test
``test_marks_process_does_not_change_results``).

The process's memory adds to the scoring process's while both run, so the run's peak must count
both: a thread samples the two processes' resident memory together every ``_SAMPLE_SECONDS``, and
the manifest's ``features.marks_wait`` stage reports the larger of the scoring process's peak so
far and that sampled sum. The sum of the two processes' own peaks, an upper bound (the peaks need
not coincide: at 10M applications 20.1 GB against 18.0 GB sampled), is kept beside it.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from dataclasses import replace

import pandas as pd

from core.config import Config
from core.tables import Tables


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


_SAMPLE_SECONDS = 0.25


def _rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process now (0 when it is gone or /proc is missing: not Linux)."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _work(applications: pd.DataFrame, protected_marks: pd.DataFrame | None, config: Config) -> tuple:
    from features.infringement import mark_similarity
    from pipeline.stages import use_jemalloc

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
        worker_pid = self.pool.apply_async(os.getpid)  # one worker, tasks in order: this one runs first
        self.result = self.pool.apply_async(_work, (tables.applications[["mark_text"]], tables.protected_marks,
                                                    config))
        self.both_peak_mb = 0.0
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, args=(worker_pid,), daemon=True,
                                         name="marks-memory")
        self._sampler.start()

    def _sample(self, worker_pid) -> None:
        """The two processes' resident memory summed at the same moment, its maximum kept."""
        pid = None
        while pid is None:  # the worker's start (spawn: a few seconds of imports)
            if self._done.is_set():
                return
            try:
                pid = worker_pid.get(_SAMPLE_SECONDS)
            except multiprocessing.TimeoutError:
                pass
        while True:
            self.both_peak_mb = max(self.both_peak_mb, _rss_mb() + _rss_mb(pid))
            if self._done.wait(_SAMPLE_SECONDS):
                return

    @staticmethod
    def wanted(tables: Tables, config: Config) -> bool:
        n_from = int(config.run.marks_process_from)
        return n_from > 0 and len(tables.applications) >= n_from

    def finish(self, tables: Tables, timer) -> Tables:
        with timer.stage("features.marks_wait"):
            extras, seconds, peak_mb = self.result.get()  # re-raises the process's exception
            self._done.set()
            self._sampler.join()
            self.pool.close()
            tables = replace(tables, extras={**tables.extras, **extras})
        wait = timer.stages[-1]
        own_peak = wait["peak_rss_mb"]  # the scoring process's peak so far
        wait["peak_rss_mb"] = round(max(own_peak, self.both_peak_mb), 1)
        wait["marks_process"] = {"seconds": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1),
                                 "both_sampled_peak_mb": round(self.both_peak_mb, 1),
                                 "both_upper_bound_mb": round(own_peak + peak_mb, 1)}
        return tables

    def stop(self) -> None:
        """End the process (at once when the run failed before ``finish``)."""
        self._done.set()
        self.pool.terminate()
        self.pool.join()
