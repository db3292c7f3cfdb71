"""Benchmark entity resolution alone: ``python -m bench.entities DATASET``.

Prints the wall time of ``resolve_entities`` and the process's peak RSS (which includes loading
the dataset: the resolution itself cannot use more than that).
"""

from __future__ import annotations

import resource
import sys
import time

from core.config import load_config
from pipeline.contract import load_dataset
from pipeline.entities import resolve_entities


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m bench.entities DATASET", file=sys.stderr)
        return {}
    loaded = load_dataset(argv[0], as_of="2026-01-01")
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    tables = resolve_entities(loaded.tables, load_config())
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"applications": len(tables.applications), "applicant_keys": int(tables.applications["applicant_key"].nunique()),
           "groups": int(len(tables.groups)), "seconds": round(seconds, 1), "peak_rss_mb_after_load": round(rss_loaded),
           "peak_rss_mb": round(peak)}
    print(out)
    return out


if __name__ == "__main__":
    main()
