"""``make quality``: the built-in scorer (no labels, no champion model) on labelled worlds, one table.

    python -m evaluation.quality [--world DIR ...] [--work DIR] [--out docs/quality.md] [--json FILE]

Scores the demo world (``tmscreen demo-data`` with the seeds below) and every independent labelled
world given with ``--world`` (a folder with ``dataset/`` and ``truth/``; by default
``../shared/data/worlds/independent-100k`` when it exists), and writes the current figures as one
table to ``docs/quality.md`` and as JSON (``evaluation/quality.json``, which the regression test
compares with). Every run uses the default configuration and the built-in scorer, as a fresh
``tmscreen score`` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORLD = ROOT.parent / "shared" / "data" / "worlds" / "independent-100k"
DEMO_WORLDS = ((20000, 7), (100000, 11))  # (applications, seed): the README's demo and the bench's world
QUALITY_JSON = ROOT / "evaluation" / "quality.json"


def score_builtin(dataset: Path, out: Path) -> dict:
    """``tmscreen score DATASET --out OUT --builtin`` with the default configuration."""
    from core.config import load_config
    from pipeline.score import score_dataset

    return score_dataset(dataset, out, load_config())


def demo_figures(n: int, seed: int, work: Path) -> dict:
    from core.config import load_config
    from demo.world import generate_world
    from pipeline.evaluate import evaluate_run

    world = work / f"demo-{n}-{seed}"
    if not (world / "truth").exists():
        generate_world(world, n, seed)
    run = work / f"demo-{n}-{seed}-run"
    score_builtin(world / "dataset", run)
    r = evaluate_run(run, world / "truth", load_config())
    return {"world": f"demo {n:,} (seed {seed})", "pr_auc": r["pr_auc"], "recall_at_k": r["recall_at_k"],
            "recall_at_k_by_label": {k: v["recall_at_k"] for k, v in r["per_kind"].items()},
            "large_legit": r["large_legit"]["n"],
            "large_legit_in_top_k": round(r["large_legit"]["in_top_k"] / max(r["large_legit"]["n"], 1), 4)}


def world_figures(world: Path, work: Path) -> dict:
    from evaluation.labelled_world import world_metrics

    run = work / f"{world.name}-run"
    score_builtin(world / "dataset", run)
    return {"world": world.name, **world_metrics(run, world / "truth")}


def markdown(rows: list[dict], command: str, when: str) -> str:
    labels = sorted({lab for r in rows for lab in r["recall_at_k_by_label"]})
    head = ["world", "PR-AUC", "recall@K", "large legit in top K", *[f"recall@K {lab}" for lab in labels]]
    lines = ["# Quality", "",
             "The built-in scorer (default configuration, no labels, no champion model) on labelled worlds: the",
             "demo world tmscreen generates and independent worlds written by another author with their own",
             "vocabularies and habits. K = the number of truly abnormal applicants; an applicant split into",
             "several keys is judged by its riskiest key. \"Large legit in top K\": the share of large lawful",
             "portfolios ranked among the K riskiest (the target is at most 2 %).", "",
             f"Measured {when} with `{command}`.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        by = r["recall_at_k_by_label"]
        cells = [r["world"], f"{r['pr_auc']:.3f}", f"{r['recall_at_k']:.3f}",
                 "—" if r["large_legit_in_top_k"] is None else f"{100 * r['large_legit_in_top_k']:.0f} % of {r['large_legit']}",
                 *[f"{by[lab]:.2f}" if lab in by else "—" for lab in labels]]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Reproduce: `make quality` (independent worlds are read from `../shared/data/worlds/` when",
              "present; pass others with `python -m evaluation.quality --world DIR`)."]
    return "\n".join(lines) + "\n"


def case_markdown(k: dict) -> str:
    tricks = ", ".join(f"{t} {100 * v:.0f} %" for t, v in sorted(k["knockoffs_flagged_by_trick"].items()))
    return "\n".join([
        "", "## Publicly reported knock-offs of famous marks", "",
        f"{k['knockoffs']} reported knock-offs, {k['controls']} dissimilar controls and {k['owner_extensions']} "
        "owners' own brand extensions (`evaluation/cases/knockoffs.csv`, sources in",
        "`knockoffs_PROVENANCE.md`), injected into the demo register with the famous marks on the protected list;",
        "each judged by its application-level warning (`python -m evaluation.knockoffs` prints every case).", "",
        "| AUC knock-offs vs controls | knock-offs flagged | controls flagged | owner extensions flagged |",
        "|---|---|---|---|",
        f"| {k['auc']:.3f} | {100 * k['knockoffs_flagged']:.0f} % | {100 * k['controls_flagged']:.0f} % | "
        f"{k['owner_extensions_flagged']} of {k['owner_extensions']} |", "",
        f"Knock-offs flagged by trick: {tricks}.", ""])


def squatting_markdown(results: list[dict]) -> str:
    lines = ["", "## Publicly reported squatting cases and filing mills", "",
             f"{results[0]['cases']} reported cases ({results[0]['ruled_cases']} refused, invalidated, penalised or "
             "ruled on by a court), each with a dissimilar control, and the legitimate owners' own filings",
             "(`evaluation/cases/squatting.csv`, sources in `squatting_PROVENANCE.md`), injected into the demo register by",
             "the rules in `evaluation/squatting.py`; a case is found when a filing of it is flagged at the application",
             "level or its applicant is flagged. *listed*: the cases' terms on `reference/public_terms` with dates and",
             "owners; *shipped*: only the built-in lists and the unlisted-trend detector.", "",
             "| setting | cases found | ruled cases found | controls flagged | legitimate owners flagged |",
             "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['setting']} | {100 * r['found']:.0f} % | {100 * r['ruled_found']:.0f} % | "
                     f"{100 * r['controls_flagged']:.0f} % | {r['owners_flagged']} |")
    for r in results:
        kinds = ", ".join(f"{k} {v}" for k, v in r["found_by_kind"].items())
        lines += ["", f"Found by kind ({r['setting']}): {kinds}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluation.quality", description=__doc__.split("\n\n")[0])
    p.add_argument("--world", action="append", type=Path, help="independent labelled world (dataset/ + truth/)")
    p.add_argument("--work", type=Path, default=ROOT / ".tmscreen" / "quality", help="scratch folder for worlds and runs")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "quality.md")
    p.add_argument("--json", type=Path, default=QUALITY_JSON)
    args = p.parse_args(argv)
    worlds = args.world if args.world else ([DEFAULT_WORLD] if DEFAULT_WORLD.exists() else [])
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, seed in DEMO_WORLDS:
        start = time.perf_counter()
        rows.append(demo_figures(n, seed, args.work))
        print(f"{rows[-1]['world']}: PR-AUC {rows[-1]['pr_auc']} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    for w in worlds:
        start = time.perf_counter()
        rows.append(world_figures(w, args.work))
        print(f"{rows[-1]['world']}: PR-AUC {rows[-1]['pr_auc']} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    from evaluation.knockoffs import evaluate as knockoffs

    start = time.perf_counter()
    cases, _ = knockoffs(args.work)
    print(f"reported knock-offs: AUC {cases['auc']} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    from evaluation.squatting import evaluate as squatting

    start = time.perf_counter()
    squats = [squatting(args.work, listed)[0] for listed in (True, False)]
    print(f"reported squatting cases: {squats[0]['ruled_found']} ruled found, listed "
          f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    when = dt.date.today().isoformat()
    args.out.write_text(markdown(rows, "make quality", when) + case_markdown(cases) + squatting_markdown(squats),
                        encoding="utf-8")
    args.json.write_text(json.dumps({"measured": when, "rows": rows, "knockoffs": cases, "squatting": squats},
                                    ensure_ascii=False,
                                    indent=1) + "\n", encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
