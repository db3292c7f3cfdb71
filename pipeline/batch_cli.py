"""CLI pieces for scheduled batches and joint action, wired into ``tmscreen`` by pipeline/cli.py::

    from pipeline.batch_cli import BATCH_COMMANDS, add_batch_parsers
    add_batch_parsers(sub)            # in build_parser(), after the other sub-commands
    COMMANDS.update(BATCH_COMMANDS)   # handlers take (args, config) -> exit code

Commands: ``batch``, ``inspect-sample``, ``eligibility``, ``export``. Exit codes follow cli.py:
0 success, 2 unusable input / usage error / another batch holds the lock (nothing written).
:func:`main` runs these commands alone (tests, or before the wiring lands).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from pipeline.cli_args import add_common


def add_batch_parsers(sub) -> None:
    """Add the batch / inspect-sample / eligibility / export sub-commands to ``sub``."""
    p = sub.add_parser("batch", help="scheduled run: score the data as of a date into a state folder",
                       description="Scores filings up to --as-of into STATE/runs/<as-of>/ (atomic), updates "
                       "STATE/history/grades.parquet and writes changes.json/.md and drift.json against the "
                       "previous run. Rerunning an as-of replaces it (byte-identical but timings.json).",
                       epilog="example: tmscreen batch --data /srv/tm/dataset --state /srv/tm/state "
                       "--as-of 2025-06-30\nexit codes: 0 done, 2 unusable input or another batch running")
    p.add_argument("--data", required=True, help="dataset folder (data contract)")
    p.add_argument("--state", required=True, help="state folder (runs/, history/, review.db, repairs.jsonl, batch.lock)")
    p.add_argument("--as-of", required=True, help="YYYY-MM-DD: score filings and decisions up to this date")
    p.add_argument("--quiet", action="store_true", help="no stage-by-stage progress on the terminal")
    from pipeline.score import add_model_arguments

    add_model_arguments(p)
    add_common(p)

    p = sub.add_parser("inspect-sample", help="reproducible random inspection list per grade (double random)",
                       epilog="example: tmscreen inspect-sample --run state/runs/2025-06-30 "
                       "--rates A=0.02,B=0.05,C=0.2,D=1 --seed 20250701 --out sample.csv")
    p.add_argument("--run", required=True)
    p.add_argument("--rates", default="A=0.02,B=0.05,C=0.2,D=1", help="GRADE=RATE,... (rates in [0, 1])")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", help="write the list as CSV here (default: print it)")
    add_common(p)

    p = sub.add_parser("eligibility", help="which fund applicants need strict review, and why",
                       epilog="example: tmscreen eligibility subjects.csv --run state/runs/2025-06-30 "
                       "(subjects.csv: name[,address,type,country])")
    p.add_argument("subjects")
    p.add_argument("--run", required=True)
    p.add_argument("--out", help="write the result as CSV here (default: print it)")
    add_common(p)

    p = sub.add_parser("export", help="joint-action export (joint.csv, joint.jsonl, d_list.csv)",
                       epilog="example: tmscreen export --run state/runs/2025-06-30 --out exports/2025-06-30")
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    add_common(p)


def cmd_batch(args, config) -> int:
    from pipeline.batch import BatchLockedError, run_batch
    from pipeline.score import select_model
    from pipeline.stages import terminal_progress

    model, info = select_model(getattr(args, "model", None), getattr(args, "home", None),
                               getattr(args, "builtin", False))
    try:
        summary = run_batch(args.data, args.state, args.as_of, config, model=model, model_info=info,
                            progress=terminal_progress(args.quiet))
    except BatchLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    c = summary["changes"]
    print(f"batch {summary['as_of']} → {summary['run']} (previous: {summary['previous_as_of'] or 'none'})")
    print(f"applicants {c['applicants']}, flagged {c['flagged']}; new flags {c['new_flags']}, cleared "
          f"{c['cleared_flags']}, grades up {c['grade_up']}, down {c['grade_down']}; grades {c['grades']}")
    for w in summary["drift_warnings"]:
        print(f"drift warning: {w}")
    return 0


def _emit(frame, out: str | None, summary: str) -> None:
    """Write ``frame`` as CSV to ``out`` (and print ``summary``), or print it as a table."""
    if out:
        from pipeline.runio import write_csv

        Path(out).parent.mkdir(parents=True, exist_ok=True)
        write_csv(frame, Path(out))
        print(f"{summary} → {out}")
    elif not len(frame):
        print("(empty)")
    else:
        print(frame.to_string(index=False, max_colwidth=80))


def cmd_inspect_sample(args, config) -> int:
    from pipeline.joint import inspect_sample, parse_rates

    try:
        rates = parse_rates(args.rates)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sample = inspect_sample(args.run, rates, args.seed)
    _emit(sample, args.out, f"{len(sample)} applicants")
    return 0


def cmd_eligibility(args, config) -> int:
    from pipeline.joint import eligibility

    if not Path(args.subjects).is_file():
        print(f"error: subjects file {args.subjects} not found", file=sys.stderr)
        return 2
    try:
        result = eligibility(args.subjects, args.run, config)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _emit(result, args.out, f"{int(result['strict_review'].sum())} of {len(result)} subjects need strict review")
    return 0


def cmd_export(args, config) -> int:
    from pipeline.joint import export_joint

    print(json.dumps(export_joint(args.run, args.out), ensure_ascii=False))
    return 0


BATCH_COMMANDS = {"batch": cmd_batch, "inspect-sample": cmd_inspect_sample, "eligibility": cmd_eligibility,
                  "export": cmd_export}


def main(argv: list[str] | None = None) -> int:
    """Run one of these commands without the full tmscreen parser (same error handling as cli.main)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    parser = argparse.ArgumentParser(prog="tmscreen")
    sub = parser.add_subparsers(dest="command", required=True)
    add_batch_parsers(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    from core.config import ConfigError, load_config
    from pipeline.contract import ContractError
    from pipeline.credit import RepairError
    from pipeline.runio import RunFolderError

    try:
        config = load_config(getattr(args, "config", None))
        return BATCH_COMMANDS[args.command](args, config)
    except (ContractError, ConfigError, RunFolderError, RepairError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
