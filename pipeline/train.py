"""``tmscreen train``: score a dataset, build labels, fit a model, log it to MLflow, optionally promote.

    tmscreen train DATASET --labels decisions            # weak labels; decisions features excluded
    tmscreen train DATASET --labels truth:DIR --promote  # a demo world's truth folder
    tmscreen train DATASET --labels reviewed.csv         # applicant_key,label from the review app

With ``--promote`` the related-party groups of a deterministic hold-out (models.tracking.holdout_mask,
25 % of groups by hash) are kept out of training and the challenger is compared with the champion
on them (PR-AUC; ties keep the champion).

The lead wires ``add_train_parser`` / ``run_train`` into pipeline/cli.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HOLDOUT_SHARE = 0.25


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a risk model on labels, track it in MLflow, optionally promote it to champion",
        description="Train a risk model and register it as 'tmscreen' in the MLflow store under the tmscreen "
        "home (--home, else $TMSCREEN_HOME, else ./.tmscreen).",
        epilog="examples:\n  tmscreen train .tmscreen/demo/dataset --labels truth:.tmscreen/demo/truth --promote\n"
        "  tmscreen train data/ds --labels decisions\n  tmscreen train data/ds --labels reviewed_labels.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset")
    p.add_argument("--labels", required=True,
                   help="'decisions' (weak labels: bad-faith refusals and invalidations), 'truth:DIR' (a demo "
                   "world's truth folder) or a CSV file with applicant_key,label")
    p.add_argument("--model", default="supervised", choices=["supervised", "anomaly", "builtin"],
                   help="estimator to train (default supervised)")
    p.add_argument("--promote", action="store_true",
                   help="hold out 25%% of related-party groups and make the model champion if it beats the "
                   "current champion on them")
    p.add_argument("--home", help="tmscreen home holding mlflow.db and mlartifacts/ (default $TMSCREEN_HOME "
                   "or ./.tmscreen)")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: [run] as_of in the config, else today)")
    p.add_argument("--encoding")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--config", help="TOML file overriding core/default_config.toml")
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def parse_labels_arg(value: str) -> tuple[str, str | None]:
    """'decisions' → ("decisions", None); 'truth:DIR' → ("truth", DIR); anything else → ("file", path)."""
    if value == "decisions":
        return "decisions", None
    if value.startswith("truth:"):
        return "truth", value[len("truth:"):]
    return "file", value


def run_train(args, config) -> int:
    import numpy as np

    from models import tracking
    from models.labels import LabelError, labels_from_decisions, labels_from_file, labels_from_truth
    from pipeline.contract import load_dataset
    from pipeline.score import compute

    kind, source = parse_labels_arg(args.labels)
    if kind == "truth" and not Path(source).is_dir():  # fail before the (slow) scoring
        print(f"error: --labels truth:DIR: {source} is not a folder (expected a demo world's truth/)", file=sys.stderr)
        return 2
    if kind == "file" and not Path(source).is_file():
        print(f"error: --labels {source}: no such file. Use 'decisions', 'truth:DIR' or a CSV file with "
              "applicant_key,label.", file=sys.stderr)
        return 2
    loaded = load_dataset(args.dataset, as_of=args.as_of or config.run.as_of or None,
                          encoding=getattr(args, "encoding", None))
    result = compute(loaded.tables, config)
    try:
        if kind == "decisions":
            labels = labels_from_decisions(result)
        elif kind == "truth":
            labels = labels_from_truth(source, result)
        else:
            labels = labels_from_file(source, result)
    except LabelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if labels.nunique() < 2 and args.model == "supervised":
        print(f"error: --labels {args.labels} gives {len(labels)} labelled applicants, all of class "
              f"{int(labels.iloc[0]) if len(labels) else '-'}; a supervised model needs both 0 and 1.",
              file=sys.stderr)
        return 2

    train_labels, eval_labels = labels, None
    if args.promote:
        groups = result.applicants.set_index("applicant_key")["group_id"].reindex(labels.index)
        hold = tracking.holdout_mask(groups.to_numpy(), HOLDOUT_SHARE)
        train_labels, eval_labels = labels[~hold], labels[hold]
    truth = source if kind == "truth" else None
    try:
        trained = tracking.train_and_log(result, train_labels, kind, config, args.home, truth=truth,
                                         model=args.model)
    except ValueError as exc:  # too few labelled groups for grouped CV, …
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = {"home": str(tracking.resolve_home(args.home)), "labels": args.labels,
               "labelled": int(len(labels)), "positives": int(labels.sum()),
               "trained_on": int(len(train_labels)), "model": args.model, "run_id": trained["run_id"],
               "version": trained["version"], "model_uri": trained["model_uri"],
               "metrics": {k: round(v, 4) if isinstance(v, float) and not np.isnan(v) else v
                           for k, v in trained["metrics"].items()},
               "top_features": trained["top_features"]}
    if args.promote:
        summary["promotion"] = tracking.promote(args.home, trained["version"], result, eval_labels)
    if args.json:
        print(json.dumps(summary, indent=1, ensure_ascii=False, default=str))
        return 0
    m = summary["metrics"]
    print(f"trained {args.model} on {summary['trained_on']} labelled applicants ({summary['positives']} positive "
          f"overall, labels {args.labels}) → {summary['model_uri']} (run {summary['run_id']}) in {summary['home']}")
    print("  " + ", ".join(f"{k} {v}" for k, v in m.items() if k not in ("n", "positives")))
    if summary["top_features"]:
        print("  top features: " + ", ".join(f"{k} {v}" for k, v in list(summary["top_features"].items())[:5]))
    if args.promote:
        p = summary["promotion"]
        verdict = "promoted to champion" if p["promoted"] else "not promoted"
        print(f"  {verdict}: {p['reason']} (hold-out: {p['eval_rows']} applicants, {p['eval_positives']} positive)")
    return 0


TRAIN_COMMANDS = {"train": run_train}
