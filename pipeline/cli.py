"""The ``tmscreen`` command line.

Exit codes: 0 success; 1 finished but rows were rejected (validate) or a check failed
(audit/evaluate targets); 2 unusable input or usage error (nothing written).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from pipeline.cli_args import add_common

EPILOG = """examples:
  tmscreen demo-data .tmscreen/demo --n-applications 20000 --seed 7
  tmscreen validate .tmscreen/demo/dataset
  tmscreen score .tmscreen/demo/dataset --out .tmscreen/demo/run --top 10
  tmscreen evaluate .tmscreen/demo/run --truth .tmscreen/demo/truth
  tmscreen grade explain 'c:华科明电子科技|深圳' --run .tmscreen/demo/run
  tmscreen import uspto apc260420.xml --out data/uspto
"""


def add_model_arguments(p) -> None:
    from pipeline.score import add_model_arguments as add

    add(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tmscreen", description="Screen trademark applications for abnormal (bad-faith) filing and "
        "grade the applicants A/B/C/D.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="write a synthetic demo world (dataset + truth)",
                       epilog="example: tmscreen demo-data out/demo --n-applications 100000 --seed 1")
    p.add_argument("out")
    p.add_argument("--n-applications", type=int, default=20000)
    p.add_argument("--seed", type=int, default=7)
    add_common(p)

    p = sub.add_parser("validate", help="check a dataset against the data contract; report every problem",
                       epilog="exit codes: 0 clean, 1 rows rejected, 2 unusable")
    p.add_argument("dataset")
    p.add_argument("--encoding", help="CSV encoding (default: detect UTF-8 / UTF-8-BOM / GB18030)")
    p.add_argument("--as-of", help="YYYY-MM-DD; later dates are rejected as future (default today)")
    p.add_argument("--show", type=int, default=20, help="rejected rows to print per table")
    add_common(p)

    p = sub.add_parser("score", help="score a dataset end to end into a run folder",
                       epilog="example: tmscreen score data/demo/dataset --out runs/2025-12-31")
    p.add_argument("dataset")
    p.add_argument("--out", required=True, help="run folder to write (atomically)")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: [run] as_of in the config, else today)")
    p.add_argument("--encoding")
    p.add_argument("--top", type=int, default=None, help="print the N highest-risk flagged applicants")
    p.add_argument("--engine", choices=["pandas", "dask", "dask-local"], default="pandas",
                   help="where the feature builders run: one process (pandas), a Dask cluster (dask, needs "
                   "--scheduler) or a local Dask cluster (dask-local); see docs/scaling.md")
    p.add_argument("--scheduler", help="Dask scheduler address for --engine dask, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--quiet", action="store_true", help="no stage-by-stage progress on the terminal")
    add_model_arguments(p)
    add_common(p)

    p = sub.add_parser("evaluate", help="compare a run with a demo world's truth")
    p.add_argument("run")
    p.add_argument("--truth", required=True)
    p.add_argument("--json", action="store_true", help="only print JSON")
    add_common(p)

    p = sub.add_parser("agents", help="filing agents of a run, most abnormal first (clients flagged beyond chance)",
                       epilog="example: tmscreen agents RUN --top 20 --out agents.csv")
    p.add_argument("run")
    p.add_argument("--top", type=int, default=20, help="agents to print (default 20)")
    p.add_argument("--abnormal", action="store_true", help="only the agents tested abnormal")
    p.add_argument("--out", help="write the (filtered) list as CSV here")
    add_common(p)

    p = sub.add_parser("grade", help="grading tools")
    gsub = p.add_subparsers(dest="grade_command", required=True)
    e = gsub.add_parser("explain", help="print an applicant's deduction table")
    e.add_argument("applicant_key")
    e.add_argument("--run", required=True)
    add_common(e)

    p = sub.add_parser("import", help="import external data into the data contract")
    isub = p.add_subparsers(dest="import_command", required=True)
    u = isub.add_parser("uspto", help="USPTO XML (daily applications, TSDR status, assignments) or case-files CSV")
    u.add_argument("sources", nargs="+")
    u.add_argument("--out", required=True)
    add_common(u)

    from pipeline.batch_cli import add_batch_parsers
    from pipeline.screen_cli import add_screen_parser

    add_batch_parsers(sub)
    add_screen_parser(sub)
    for module, parsers, _ in OPTIONAL_COMMANDS:
        mod = _optional(module)
        if mod is not None:
            getattr(mod, parsers)(sub)
    return parser


# Commands whose modules import heavier dependencies (MLflow, the web stack): (module, parser hook,
# attribute holding {command: handler(args, config)}).
OPTIONAL_COMMANDS = (("pipeline.train", "add_train_parser", "TRAIN_COMMANDS"),
                     ("review.cli", "add_review_parsers", "REVIEW_COMMANDS"))


def _optional(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        logging.getLogger("tmscreen").debug("commands of %s unavailable: %s", module, exc)
        return None


def _progress_enabled() -> bool:
    return sys.stderr.isatty()


def cmd_demo_data(args, config) -> int:
    from demo.world import generate_world

    start = time.perf_counter()
    summary = generate_world(Path(args.out), n_applications=args.n_applications, seed=args.seed)
    print(f"demo world written to {args.out} in {time.perf_counter() - start:.1f} s: "
          + json.dumps(summary, ensure_ascii=False, default=str))
    return 0


def cmd_validate(args, config) -> int:
    from pipeline.contract import load_dataset

    loaded = load_dataset(args.dataset, as_of=args.as_of, encoding=args.encoding)
    for table, c in loaded.counts.items():
        print(f"{table}: read {c['read']}, accepted {c['accepted']}, rejected {c['rejected']}")
        rej = loaded.rejected.get(table)
        if rej is not None and len(rej):
            for r in rej.head(args.show).itertuples():
                print(f"  row {r.row}: {r.reason}")
            if len(rej) > args.show:
                print(f"  … {len(rej) - args.show} more")
    return 1 if loaded.n_rejected else 0


def cmd_score(args, config) -> int:
    from pipeline.engines import EngineError, check_engine
    from pipeline.score import score_dataset, select_model, top_applications, top_table
    from pipeline.stages import terminal_progress

    try:
        check_engine(args.engine, args.scheduler)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model, info = select_model(args.model, args.home, args.builtin)
    manifest = score_dataset(args.dataset, args.out, config, as_of=args.as_of, encoding=args.encoding,
                             model=model, model_info=info, engine=args.engine, scheduler=args.scheduler,
                             progress=terminal_progress(args.quiet))
    s = manifest["summary"]
    rows = manifest["rows"]
    print(f"scored {s['applications']} applications, {s['applicants']} applicants, {s['groups']} groups "
          f"in {manifest['wall_seconds']} s → {args.out}")
    for table, c in rows.items():
        if c["rejected"]:
            print(f"  {table}: {c['rejected']} of {c['read']} rows rejected → {args.out}/rejected/{table}.csv")
    print(f"flagged {s['flagged']}; grades {s['grades']}; model: {manifest['model']['kind']} "
          f"{manifest['model']['uri'] or ''} ({manifest['model'].get('why', '')})")
    top = args.top if args.top is not None else config.run.top
    if top:
        import pandas as pd

        applicants = pd.read_parquet(Path(args.out) / "applicant_scores.parquet")
        _print_top(top_table(applicants, top))
        applications = pd.read_parquet(Path(args.out) / "application_scores.parquet")
        _print_applications(top_applications(applications, applicants, top))
    return 0


def _print_applications(table) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    t = Table(title="Top application warnings (the filing's own evidence)", show_lines=True)
    for col in ("application", "mark", "classes", "risk", "applicant", "reasons"):
        t.add_column(col, overflow="fold")
    for r in table.itertuples():
        t.add_row(Text(r.application_id), Text(r.mark_text), Text(r.nice_classes), f"{r.application_risk:.3f}",
                  Text(r.applicant_name), Text(r.reasons))
    Console(width=200).print(t)


def _print_top(table) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    t = Table(title="Top flagged applicants", show_lines=True)
    for col in ("applicant", "grade", "risk", "hoard", "infr", "squat", "transf", "decis", "n", "reasons"):
        t.add_column(col, overflow="fold")
    for r in table.itertuples():
        t.add_row(Text(r.applicant_name), r.grade, f"{r.risk_score:.3f}", f"{r.hoarding:.2f}",
                  f"{r.infringement:.2f}", f"{r.squatting:.2f}", f"{r.transfer:.2f}", f"{r.decisions:.2f}",
                  str(r.n_applications), Text(r.reasons))
    Console(width=200).print(t)


def cmd_evaluate(args, config) -> int:
    from pipeline.evaluate import evaluate_run, format_report

    report = evaluate_run(args.run, args.truth, config)
    if not args.json:
        print(format_report(report))
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


def cmd_agents(args, config) -> int:
    import pandas as pd

    from pipeline.runio import RunFolderError, write_csv

    path = Path(args.run) / "agents.parquet"
    if not path.exists():
        raise RunFolderError(f"{path} not found: score the dataset with this version (tmscreen score) first")
    agents = pd.read_parquet(path)
    if args.abnormal:
        agents = agents[agents["abnormal"]]
    if args.out:
        write_csv(agents, Path(args.out))
        print(f"{len(agents)} agents written to {args.out}")
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    t = Table(title=f"Filing agents ({int(agents['abnormal'].sum())} abnormal of {len(agents)} listed)")
    for col in ("agent", "clients", "flagged", "D", "p", "abnormal", "evidence"):
        t.add_column(col, overflow="fold")
    for r in agents.head(args.top).itertuples():
        t.add_row(Text(r.agent_names), str(r.clients), str(r.flagged_clients), str(r.d_clients), f"{r.p_value:.1e}",
                  "yes" if r.abnormal else "", Text(r.evidence))
    Console(width=200).print(t)
    return 0


def cmd_grade(args, config) -> int:
    import pandas as pd

    from pipeline.grading import explain
    from pipeline.runio import read_run

    read_run(args.run)
    grades = pd.read_parquet(Path(args.run) / "grades.parquet").set_index("applicant_key")
    if args.applicant_key not in grades.index:
        close = [k for k in grades.index if args.applicant_key.lower() in str(k).lower()][:10]
        print(f"error: applicant_key {args.applicant_key!r} is not in {args.run}/grades.parquet"
              + (f"; similar keys: {close}" if close else ""), file=sys.stderr)
        return 2
    print(explain(grades, args.applicant_key))
    return 0


def cmd_import(args, config) -> int:
    from pipeline.importers.uspto import import_uspto

    report = import_uspto(args.sources, args.out, progress=_progress_enabled())
    print(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    return 0


COMMANDS = {"demo-data": cmd_demo_data, "validate": cmd_validate, "score": cmd_score, "evaluate": cmd_evaluate,
            "agents": cmd_agents,
            "grade": cmd_grade, "import": cmd_import}


def _commands() -> dict:
    from pipeline.batch_cli import BATCH_COMMANDS
    from pipeline.screen_cli import SCREEN_COMMANDS

    commands = {**COMMANDS, **BATCH_COMMANDS, **SCREEN_COMMANDS}
    for module, _, attr in OPTIONAL_COMMANDS:
        mod = _optional(module)
        commands.update(getattr(mod, attr, {}) if mod is not None else {})
    return commands


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # Runs, exports, the review database and its anchor hold credit data, password hashes and
    # session ids: everything the commands create is the owner's only (files 0600, folders 0700).
    os.umask(0o077)
    from pipeline.stages import use_jemalloc

    use_jemalloc()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    from core.config import load_config
    from core.errors import UserError

    try:
        config = load_config(getattr(args, "config", None))
        handler = getattr(args, "handler", None) or _commands()[args.command]
        return handler(args, config)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an unreadable input, a read-only or missing output folder, a full disk
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}. Check that the inputs exist and are readable, and that the "
              "output folder can be written (permissions, free space).", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
