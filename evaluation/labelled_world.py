"""Score a run against a labelled world written independently of tmscreen.

Truth layout (``TRUTH/applications.csv``: application_id, applicant_id, label; labels ``normal``,
``normal_large`` and abnormal kinds). Each true applicant takes the highest risk of the applicant keys
its applications were given (a split applicant is judged by its worst part); K = the number of truly
abnormal applicants.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

NORMAL_LABELS = ("normal", "normal_large")


def world_metrics(run: str | Path, truth: str | Path) -> dict:
    """PR-AUC, ROC-AUC, recall at K overall and per abnormal label, and the share of large legitimate
    portfolios (``normal_large``) inside the top K."""
    run, truth = Path(run), Path(truth)
    scores = pd.read_parquet(run / "applicant_scores.parquet", columns=["applicant_key", "risk_score"])
    apps = pd.read_parquet(run / "application_scores.parquet", columns=["application_id", "applicant_key"])
    t_apps = pd.read_csv(truth / "applications.csv", dtype=str, usecols=["application_id", "applicant_id", "label"])
    m = t_apps.merge(apps, on="application_id", how="left").merge(scores, on="applicant_key", how="left")
    per = m.groupby("applicant_id").agg(label=("label", "first"), risk=("risk_score", "max"))
    per["risk"] = per["risk"].fillna(-1.0)  # applicants the run does not know rank last
    per["abnormal"] = ~per["label"].isin(NORMAL_LABELS)
    k = int(per["abnormal"].sum())
    order = per.sort_values("risk", ascending=False, kind="stable")
    top = order.index[:k]
    out = {"applicants": int(len(per)), "abnormal": k,
           "pr_auc": round(float(average_precision_score(per["abnormal"], per["risk"])), 4),
           "roc_auc": round(float(roc_auc_score(per["abnormal"], per["risk"])), 4),
           "recall_at_k": round(float(per.loc[top, "abnormal"].mean()), 4)}
    in_top = per.index.isin(top)
    out["recall_at_k_by_label"] = {str(lab): round(float(in_top[(per["label"] == lab).to_numpy()].mean()), 4)
                                   for lab in sorted(per.loc[per["abnormal"], "label"].unique())}
    large = (per["label"] == "normal_large").to_numpy()
    out["large_legit"] = int(large.sum())
    out["large_legit_in_top_k"] = round(float(in_top[large].mean()), 4) if large.any() else None
    return out
