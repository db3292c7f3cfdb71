"""``tmscreen screen``: new applications against the latest scored register, one JSON line each."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from pipeline.cli_args import add_common

SCREEN_EPILOG = """examples:
  tmscreen screen --state STATE new.csv            screen against the newest batch run of STATE
  tmscreen screen --run RUN - < new.jsonl          against a score run, applications on stdin
output: one JSON object per input row, in input order: application_id, risk, flagged, flags
(reason, dimension, strength, evidence), resembles (the earlier/protected marks), applicant
(resolved key, group, grade), changes; a rejected row is {"line", "application_id", "error"}.
exit codes: 0 all screened, 1 some rows rejected, 2 unusable input or index."""


def add_screen_parser(sub) -> None:
    p = sub.add_parser("screen", help="screen new applications against a scored register (JSON lines out)",
                       epilog=SCREEN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--state", help="batch state folder: its newest run's register index")
    where.add_argument("--run", help="run folder written by `tmscreen score`")
    p.add_argument("input", nargs="?", default="-", help="CSV (with header) or JSON lines; '-' = stdin (default)")
    p.add_argument("--as-of", help="YYYY-MM-DD: filing dates after it are rejected (default today)")
    p.add_argument("--batch-size", type=int, default=1000, help="applications screened together (default 1000)")
    add_common(p)


def cmd_screen(args, config) -> int:
    from pipeline.contract import ContractError
    from pipeline.screen import Screener, read_new_applications, rejected_results

    source = "stdin" if args.input == "-" else args.input
    raw = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
    try:
        as_of = pd.Timestamp(args.as_of).normalize() if args.as_of else pd.Timestamp.now().normalize()
    except ValueError:
        raise ContractError(f"--as-of: expected a date YYYY-MM-DD, found {args.as_of!r}") from None
    good, rejected = read_new_applications(raw, source, as_of)
    t0 = time.perf_counter()
    screener = Screener.open(args.state or args.run, config)
    out = sys.stdout
    errors = {r["line"]: r for r in rejected_results(rejected)}
    # results in input order: each accepted row keeps its input line
    lines = _input_lines(good)
    size = max(1, int(args.batch_size))
    results: dict[int, dict] = {}
    for lo in range(0, len(good), size):
        chunk = good.iloc[lo:lo + size]
        for line, res in zip(lines[lo:lo + size], screener.screen(chunk), strict=True):
            results[line] = res
    for line in sorted({**results, **errors}):
        obj = results.get(line) or errors[line]
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()
    flagged = sum(r["flagged"] for r in results.values())
    print(f"screened {len(results)} application(s) against {screener.index.meta['applications']:,} filings "
          f"(as of {screener.index.meta['as_of']}) in {time.perf_counter() - t0:.2f} s: {flagged} flagged, "
          f"{len(errors)} rejected", file=sys.stderr)
    return 1 if errors else 0


def _input_lines(good: pd.DataFrame) -> list[int]:
    """The input line (record number) of each accepted row: JSON lines carry it in ``_line``; CSV
    rows are indexed by their record number (``contract.check_table``)."""
    if "_line" in good.columns:
        return [int(x) for x in good["_line"]]
    return [int(i) for i in good.index]


SCREEN_COMMANDS = {"screen": cmd_screen}
