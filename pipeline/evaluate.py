"""Evaluate a run against a synthetic world's truth (``tmscreen evaluate RUN --truth TRUTH``).

Applicant level: each run applicant_key takes the truth of the entity owning most of its
applications. K = number of truly abnormal applicants. Reported: PR-AUC, ROC-AUC, precision and
recall at K, recall per abnormal kind (at K and among flagged), false-positive rate among large
legitimate portfolios, each dimension's recall in that dimension's top K of its own kinds and of the
applicants carrying its planted pattern (``pattern_carriers``), the
application-level recall of each planted trick, and pairwise precision/recall of same-entity and
same-group links over distinct filing records (name, address) — computed from contingency counts,
never by enumerating pairs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from core.config import Config
from demo.world import COPY_TRICKS as DEMO_COPY_TRICKS
from models.labels import truth_owner
from pipeline.runio import read_run

KIND_DIMENSION = {
    "hoarder": "hoarding", "shell_hoarder": "hoarding", "copycat": "infringement", "squatter": "squatting",
    "trend_squatter": "squatting", "broker": "transfer", "bad_faith_decided": "decisions",
}
TRICK_PREFIX = {"copycat": "INFRINGEMENT_", "squatter": "SQUAT_", "trend_squatter": "SQUAT_"}


COPY_TRICKS = set(DEMO_COPY_TRICKS)  # the generator's copy tricks; a new one is counted without edits here
SQUAT_TRICKS = {"event", "generic", "person", "place", "trend"}


def pattern_carriers(truth: Path, dataset: Path, t_apps: pd.DataFrame, t_ent: pd.DataFrame) -> dict[str, set]:
    """Entity ids carrying each dimension's planted pattern: copies and squats from the per-application
    tricks, bad-faith decisions from ``truth/decisions.csv`` (worlds made before it existed have none), hoarding and
    transfer from the entity kinds (their pattern is the whole portfolio)."""
    abnormal = set(t_ent.index[t_ent["label"] == "1"])
    out = {"infringement": set(t_apps.loc[t_apps["trick"].isin(COPY_TRICKS), "entity_id"]),
           "squatting": set(t_apps.loc[t_apps["trick"].isin(SQUAT_TRICKS), "entity_id"]),
           "hoarding": set(t_ent.index[t_ent["kind"].isin(["hoarder", "shell_hoarder"])]),
           "transfer": set(t_ent.index[t_ent["kind"] == "broker"])}
    dec = truth / "decisions.csv"
    if dec.exists() and (dataset / "decisions.csv").exists():
        # "other" decisions are not findings of bad faith (the demo also issues them against ordinary filers).
        kinds = pd.read_csv(dataset / "decisions.csv", dtype=str, usecols=["kind"])["kind"]
        ents = pd.read_csv(dec, dtype=str, keep_default_na=False)["entity_id"]
        out["decisions"] = set(ents[(kinds != "other").to_numpy()])
    return {k: v & abnormal for k, v in out.items()}


def _pairs(counts: pd.Series) -> float:
    c = counts.to_numpy(dtype="float64")
    return float((c * (c - 1) / 2).sum())


def pairwise_prf(records: pd.DataFrame, truth_col: str, pred_col: str) -> dict:
    """Pairwise precision/recall of 'same cluster' between two labelings of the same records."""
    true_pairs = _pairs(records.groupby(truth_col).size())
    pred_pairs = _pairs(records.groupby(pred_col).size())
    tp = _pairs(records.groupby([truth_col, pred_col]).size())
    return {"precision": round(tp / pred_pairs, 4) if pred_pairs else 1.0,
            "recall": round(tp / true_pairs, 4) if true_pairs else 1.0,
            "true_pairs": int(true_pairs), "predicted_pairs": int(pred_pairs)}


def evaluate_run(run: str | Path, truth: str | Path, config: Config) -> dict:
    run, truth = Path(run), Path(truth)
    manifest = read_run(run)
    applicants = pd.read_parquet(run / "applicant_scores.parquet")
    apps = pd.read_parquet(run / "application_scores.parquet", columns=["application_id", "applicant_key", "group_id",
                                                                          "flags"])
    t_apps = pd.read_csv(truth / "applications.csv", dtype=str, keep_default_na=False)
    t_ent = pd.read_csv(truth / "entities.csv", dtype=str, keep_default_na=False).set_index("entity_id")
    m = apps.merge(t_apps, on="application_id", how="inner", suffixes=("", "_true"))

    # Applicant truth = the entity owning most of the key's applications (the same mapping the
    # supervised model trains on).
    owner = truth_owner(truth, apps)
    a = applicants.set_index("applicant_key").join(owner, how="inner")
    a["large_legit"] = a["entity_id"].map(t_ent["is_large_legit"]).astype(int)
    k = int(a["label"].sum())
    order = a.sort_values("risk_score", ascending=False, kind="stable")
    top = order.head(k)
    report: dict = {"run": str(run), "applicants": int(len(a)), "abnormal": k}
    if 0 < k < len(a):
        report["pr_auc"] = round(float(average_precision_score(a["label"], a["risk_score"])), 4)
        report["roc_auc"] = round(float(roc_auc_score(a["label"], a["risk_score"])), 4)
    report["precision_at_k"] = round(float(top["label"].mean()), 4) if k else None
    report["recall_at_k"] = round(float(top["label"].sum() / k), 4) if k else None
    flagged = a[a["flagged"]]
    report["flagged"] = int(len(flagged))
    report["flagged_precision"] = round(float(flagged["label"].mean()), 4) if len(flagged) else None
    report["flagged_recall"] = round(float(flagged["label"].sum() / k), 4) if k else None
    legit = a[a["large_legit"] == 1]
    report["large_legit"] = {"n": int(len(legit)), "fpr_flagged": round(float(legit["flagged"].mean()), 4)
                             if len(legit) else None,
                             "in_top_k": int(legit.index.isin(top.index).sum())}
    per_kind = {}
    for kind, grp in a[a["label"] == 1].groupby("kind"):
        per_kind[kind] = {"n": int(len(grp)), "recall_at_k": round(float(grp.index.isin(top.index).mean()), 4),
                          "recall_flagged": round(float(grp["flagged"].mean()), 4)}
    report["per_kind"] = per_kind

    # Each dimension's top K against two truths: its own abnormal kinds (K = their count), and the
    # applicants that carry the dimension's planted pattern whatever their kind (K = their count) —
    # a bad-faith filer that also copies is a true infringement carrier, and a copycat with a decision
    # a true decisions carrier, so the own-kind recall understates a dimension that ranks them right.
    carriers = pattern_carriers(truth, Path(manifest["dataset"]), t_apps, t_ent)
    per_dim = {}
    for dim in sorted(set(KIND_DIMENSION.values())):
        kinds = [kk for kk, d in KIND_DIMENSION.items() if d == dim]
        own = a[a["kind"].isin(kinds) & (a["label"] == 1)]
        if not len(own):
            continue
        ranked = a.sort_values(dim, ascending=False, kind="stable")
        top_d = ranked.head(len(own))
        entry = {"n": int(len(own)), "recall_at_k": round(float(own.index.isin(top_d.index).mean()), 4),
                 "top_k_abnormal": round(float(top_d["label"].mean()), 4),
                 "top_k_kinds": {str(k): int(v) for k, v in top_d["kind"].value_counts().items()}}
        carry = a[a["entity_id"].isin(carriers.get(dim, set())) & (a["label"] == 1)]
        if len(carry):
            top_c = ranked.head(len(carry))
            entry["pattern_n"] = int(len(carry))
            entry["pattern_recall_at_k"] = round(float(carry.index.isin(top_c.index).mean()), 4)
        if dim == "hoarding":
            entry["large_legit_in_top_k"] = int(legit.index.isin(top_d.index).sum())
        per_dim[dim] = entry
    report["per_dimension"] = per_dim

    # Application level: each planted trick flagged with a reason of the right dimension.
    tricks = {}
    m["flag_text"] = m["flags"].map(lambda v: " ".join(v) if v is not None else "")
    for (kind, trick), grp in m[m["trick"] != ""].groupby(["kind", "trick"]):
        prefix = TRICK_PREFIX.get(kind)
        if prefix is None:
            continue
        tricks[f"{kind}:{trick}"] = {"n": int(len(grp)),
                                     "recall": round(float(grp["flag_text"].str.contains(prefix).mean()), 4)}
    report["per_trick"] = tricks
    own_marks = m[m["kind"] == "protected_owner"]
    report["protected_owner_infringement_flags"] = int(own_marks["flag_text"].str.contains("INFRINGEMENT_").sum())

    # Entity resolution over distinct filing records.
    ds = Path(manifest["dataset"])
    src = next((p for p in (ds / "applications.csv", ds / "applications.parquet") if p.exists()), None)
    if src is not None:
        cols = ["application_id", "applicant_name", "applicant_address"]
        raw = (pd.read_csv(src, dtype=str, keep_default_na=False, usecols=cols) if src.suffix == ".csv"
               else pd.read_parquet(src, columns=cols))
        rec = m.merge(raw, on="application_id")
        rec = rec.drop_duplicates(["applicant_name", "applicant_address", "entity_id", "applicant_key"])
        report["entity_links"] = pairwise_prf(rec, "entity_id", "applicant_key")
        rec_g = rec.drop_duplicates(["applicant_name", "applicant_address", "entity_id"])
        report["group_links"] = pairwise_prf(rec_g, "group_id_true", "group_id")
    return report


def format_report(r: dict) -> str:
    lines = [f"applicants {r['applicants']}, truly abnormal (K) {r['abnormal']}, flagged {r['flagged']}"]
    for key in ("pr_auc", "roc_auc", "precision_at_k", "recall_at_k", "flagged_precision", "flagged_recall"):
        if r.get(key) is not None:
            lines.append(f"  {key:<22} {r[key]:.4f}")
    ll = r["large_legit"]
    lines.append(f"  large legit portfolios: {ll['n']}, flagged share {ll['fpr_flagged']}, in top K {ll['in_top_k']}")
    lines.append("recall per abnormal kind (at K / flagged):")
    for kind, v in r["per_kind"].items():
        lines.append(f"  {kind:<22} n={v['n']:<5} {v['recall_at_k']:.3f} / {v['recall_flagged']:.3f}")
    lines.append("each dimension's top K: its own kinds; the applicants carrying its planted pattern:")
    for dim, v in r["per_dimension"].items():
        extra = f", large legit in top K: {v['large_legit_in_top_k']}" if "large_legit_in_top_k" in v else ""
        pattern = (f"; pattern carriers n={v['pattern_n']} recall {v['pattern_recall_at_k']:.3f}"
                   if "pattern_n" in v else "")
        lines.append(f"  {dim:<22} n={v['n']:<5} recall {v['recall_at_k']:.3f}, abnormal share of its top K "
                     f"{v['top_k_abnormal']:.3f}{pattern}{extra}")
    lines.append("planted tricks flagged (application level):")
    for t, v in r["per_trick"].items():
        lines.append(f"  {t:<30} n={v['n']:<5} recall {v['recall']:.3f}")
    lines.append(f"  protected owners' own marks flagged as infringement: {r['protected_owner_infringement_flags']}")
    for key in ("entity_links", "group_links"):
        if key in r:
            v = r[key]
            lines.append(f"{key}: precision {v['precision']:.4f}, recall {v['recall']:.4f} "
                         f"(true pairs {v['true_pairs']}, predicted {v['predicted_pairs']})")
    return "\n".join(lines)
