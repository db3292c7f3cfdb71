"""``python -m evaluation.knockoffs``: publicly reported knock-offs of famous marks, scored.

The cases (``evaluation/cases/knockoffs.csv``, sources in ``knockoffs_PROVENANCE.md``) are injected
into an ordinary register (the demo world): each famous mark goes on ``reference/protected_marks`` and
is filed by its owner in its classes; each knock-off and each dissimilar control is filed by an
applicant of its own (one filing, in the class it was reported in); the owners' own brand extensions
are filed by the owners. The default scorer runs on the whole register; each case is judged by its
application-level warning (``application_scores``: the filing's own risk and flag).

Prints AUC (knock-offs against controls, on the application's own risk), the share of knock-offs
flagged, controls flagged, owner extensions flagged, and one line per case.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from evaluation.register import base_register, inject

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "evaluation" / "cases" / "knockoffs.csv"
AS_OF = "2026-06-30"


def famous_marks(cases: pd.DataFrame) -> pd.DataFrame:
    """Protected marks from the cases: each famous mark ("雪碧", "乔丹 / JORDAN (Michael Jordan)" → 乔丹
    and JORDAN) with its owner and classes."""
    rows = []
    for (mark, owner, classes), _ in cases.groupby(["famous_mark", "famous_owner", "famous_classes"]):
        for part in mark.split("/"):
            text = re.sub(r"\(.*?\)|family", "", part).strip()
            if text:
                rows.append({"mark_text": text, "owner_name": owner, "nice_classes": classes})
    return pd.DataFrame(rows).drop_duplicates(["mark_text", "owner_name"])


def case_filings(cases: pd.DataFrame, protected: pd.DataFrame) -> pd.DataFrame:
    """The owners' filings of their famous marks (2012) and extensions (2024), and one applicant per
    knock-off or control (2026)."""
    rows = []
    for i, p in enumerate(protected.itertuples()):
        for c in str(p.nice_classes).split(";"):
            rows.append({"application_id": f"KO-OWN-{i}-{c}", "filing_date": "2012-03-01", "mark_text": p.mark_text,
                         "nice_classes": c, "applicant_name": p.owner_name, "applicant_type": "company"})
    for c in cases.itertuples():
        own = c.kind == "owner_extension"
        name = c.famous_owner if own else (c.applicant_name or f"案例{c.case_id}商贸有限公司")
        rows.append({"application_id": f"KO-{c.case_id}", "filing_date": "2024-05-01" if own else "2026-03-01",
                     "mark_text": c.mark, "nice_classes": c.nice_class, "applicant_name": name,
                     "applicant_type": "company", "applicant_address": "" if own else f"{c.case_id}号楼"})
    return pd.DataFrame(rows)


def evaluate(work: Path, cases_path: Path = CASES) -> tuple[dict, pd.DataFrame]:
    from core.config import load_config
    from pipeline.score import score_dataset

    cases = pd.read_csv(cases_path, dtype=str, keep_default_na=False)
    protected = famous_marks(cases)
    dataset = inject(base_register(work), work / "knockoffs-dataset", case_filings(cases, protected), protected)
    run = work / "knockoffs-run"
    score_dataset(dataset, run, load_config(), as_of=AS_OF)
    apps = pd.read_parquet(run / "application_scores.parquet").set_index("application_id")
    got = apps.reindex("KO-" + cases["case_id"])
    per = cases[["case_id", "kind", "trick", "famous_mark", "mark", "nice_class"]].copy()
    per["own_risk"] = got["application_risk"].to_numpy()
    per["flagged"] = got["application_flagged"].fillna(False).astype(bool).to_numpy()
    per["reason"] = got["reasons"].fillna("").to_numpy()
    ko, ctl, ext = (per[per["kind"] == k] for k in ("knockoff", "control", "owner_extension"))
    both = pd.concat([ko, ctl])
    summary = {"knockoffs": len(ko), "controls": len(ctl), "owner_extensions": len(ext),
               "auc": round(float(roc_auc_score(both["kind"] == "knockoff", both["own_risk"])), 4),
               "knockoffs_flagged": round(float(ko["flagged"].mean()), 4),
               "controls_flagged": round(float(ctl["flagged"].mean()), 4),
               "owner_extensions_flagged": int(ext["flagged"].sum()),
               "knockoffs_flagged_by_trick": {t: round(float(g["flagged"].mean()), 2)
                                              for t, g in ko.groupby("trick")}}
    return summary, per


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluation.knockoffs", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=Path, default=CASES)
    p.add_argument("--work", type=Path, default=ROOT / ".tmscreen" / "cases")
    p.add_argument("--all", action="store_true", help="print every case (default: the missed and wrongly flagged)")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    summary, per = evaluate(args.work, args.cases)
    wrong = (per["kind"] == "knockoff") != per["flagged"]
    show = per if args.all else per[wrong]
    with pd.option_context("display.width", 200, "display.max_colwidth", 90, "display.max_rows", 500):
        print(show[["case_id", "kind", "trick", "famous_mark", "mark", "nice_class", "own_risk", "flagged",
                    "reason"]].to_string(index=False))
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
