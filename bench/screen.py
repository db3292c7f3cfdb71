"""Intake screening speed on a scored run (part of ``make bench``).

``python -m bench.screen RUN``: the register index's size and build time (the run's
``index`` stage), the time to load it, the latency of screening one application (p50 / p99 over
``--singles`` applications) and the throughput of batches of ``--batch`` applications. The screened
applications are register filings sampled with a fixed seed and filed again under new ids on the
index's as-of date: each meets at least its own original in the register.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import load_config
from pipeline.contract import SPECS


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def sample_filings(index, n: int, seed: int) -> pd.DataFrame:
    """``n`` register filings as new applications (contract columns, new ids, dated the as-of day)."""
    f = index.filings
    cols = [c for c in SPECS["applications"].columns if c in f.columns]
    new = f.sample(n=min(n, len(f)), random_state=seed)[cols].reset_index(drop=True)
    new["application_id"] = "NEW" + pd.Series(np.arange(len(new)), dtype="str")
    new["filing_date"] = pd.Timestamp(index.meta["as_of"])
    return new


def measure(run: Path, singles: int = 200, batch: int = 1000, batches: int = 3, seed: int = 5) -> dict:
    from pipeline.screen import Screener

    config = load_config()
    manifest = json.loads((run / "manifest.json").read_text())
    build = next((s["seconds"] for s in manifest["stages"] if s["stage"] == "index"), None)
    start = time.perf_counter()
    screener = Screener.open(run, config)
    load_s = time.perf_counter() - start
    one = sample_filings(screener.index, singles + 5, seed)
    for i in range(5):  # first calls (imports, lazily built look-ups) are not what a service sees
        screener.screen(one.iloc[[i]])
    lat = []
    for i in range(5, len(one)):
        t = time.perf_counter()
        screener.screen(one.iloc[[i]])
        lat.append(time.perf_counter() - t)
    many = sample_filings(screener.index, batch * batches, seed + 1)
    t = time.perf_counter()
    for lo in range(0, len(many), batch):
        screener.screen(many.iloc[lo:lo + batch])
    per_s = len(many) / (time.perf_counter() - t)
    return {"register": int(screener.index.meta["applications"]), "index_mb": round(_size_mb(run / "index"), 1),
            "index_build_s": build, "load_s": round(load_s, 2),
            "single_p50_ms": round(1000 * float(np.percentile(lat, 50)), 1),
            "single_p99_ms": round(1000 * float(np.percentile(lat, 99)), 1),
            "batch": batch, "batch_per_s": round(per_s, 1)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.screen", description=__doc__)
    p.add_argument("run", type=Path)
    p.add_argument("--singles", type=int, default=200)
    p.add_argument("--batch", type=int, default=1000)
    args = p.parse_args(argv)
    out = measure(args.run, singles=args.singles, batch=args.batch)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
