"""Labels for the supervised model, one 0/1 per applicant_key (a Series named ``label``).

* ``labels_from_decisions`` — **weak** labels: 1 when the applicant (its resolved key) has a
  bad-faith refusal or an invalidation in the decisions table, else 0. The decisions features must
  then be left out of training (``exclude_prefixes=("decisions",)``), or the model just reads them.
* ``labels_from_truth`` — a synthetic demo world's truth: each applicant_key takes the label of the
  entity owning most of its applications (ties → smallest entity_id), as pipeline.evaluate does.
* ``labels_from_file`` — a CSV ``applicant_key,label`` (extra columns allowed) exported by the review
  app: confirmed = 1, dismissed = 0. Keys not in the scored data are dropped (counted in
  ``attrs["unknown_keys"]``); a key listed twice must carry the same label.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.reasons import DecisionKind

WEAK_LABEL_KINDS = (DecisionKind.BAD_FAITH_REFUSAL.value, DecisionKind.INVALIDATION.value)
_TRUE = {"1", "true", "yes", "confirmed", "bad_faith"}
_FALSE = {"0", "false", "no", "dismissed", "legit"}


class LabelError(ValueError):
    """Labels cannot be built from what was given (the CLI exits with code 2)."""


def _keys(result) -> pd.Index:
    return pd.Index(result.applicants["applicant_key"].astype("str"), name="applicant_key")


def labels_from_decisions(result, kinds: tuple[str, ...] = WEAK_LABEL_KINDS) -> pd.Series:
    keys = _keys(result)
    d = result.tables.decisions
    hit = set(d.loc[d["kind"].isin(kinds), "subject_key"].astype("str")) if len(d) else set()
    return pd.Series(keys.isin(list(hit)).astype("int64"), index=keys, name="label")


def truth_owner(truth_dir: str | Path, applications: pd.DataFrame) -> pd.DataFrame:
    """applicant_key → entity_id of the entity owning most of its applications, with label and kind.

    ``applications`` needs application_id and applicant_key (a run's application_scores or
    ``ScoreResult.applications``). Applicants none of whose applications are in the truth are absent.
    """
    truth_dir = Path(truth_dir)
    for name in ("applications.csv", "entities.csv"):
        if not (truth_dir / name).exists():
            raise LabelError(f"truth folder {truth_dir} has no {name}; pass the 'truth' folder written by "
                             "`tmscreen demo-data` (truth/applications.csv and truth/entities.csv).")
    t_apps = pd.read_csv(truth_dir / "applications.csv", dtype=str, keep_default_na=False,
                         usecols=lambda c: c in ("application_id", "entity_id"))
    t_ent = pd.read_csv(truth_dir / "entities.csv", dtype=str, keep_default_na=False).set_index("entity_id")
    m = applications[["application_id", "applicant_key"]].merge(t_apps, on="application_id", how="inner")
    owner = (m.groupby(["applicant_key", "entity_id"]).size().rename("n").reset_index()
             .sort_values(["applicant_key", "n", "entity_id"], ascending=[True, False, True])
             .drop_duplicates("applicant_key").set_index("applicant_key")[["entity_id"]])
    owner["label"] = owner["entity_id"].map(t_ent["label"]).astype("int64")
    owner["kind"] = owner["entity_id"].map(t_ent["kind"]) if "kind" in t_ent else ""
    return owner


def labels_from_truth(truth_dir: str | Path, result) -> pd.Series:
    owner = truth_owner(truth_dir, result.applications)
    keys = _keys(result)
    lab = owner["label"].reindex(keys).dropna().astype("int64")
    if not len(lab):
        raise LabelError(f"no application of the scored dataset appears in {truth_dir}/applications.csv; "
                         "is this the truth of the same demo world?")
    return lab.rename("label")


def _parse_label(v: str):
    s = str(v).strip().lower()
    if s in _TRUE:
        return 1
    if s in _FALSE:
        return 0
    return None


def labels_from_file(path: str | Path, result) -> pd.Series:
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"labels file {path} not found. Pass --labels decisions, --labels truth:DIR, or a "
                         "CSV file with columns applicant_key,label.")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip().lstrip("\ufeff").lower() for c in frame.columns]
    missing = [c for c in ("applicant_key", "label") if c not in frame.columns]
    if missing:
        raise LabelError(f"{path}: required column(s) {missing} missing; found {list(frame.columns)}. "
                         "Expected at least applicant_key,label.")
    parsed = frame["label"].map(_parse_label)
    bad = frame[parsed.isna()]
    if len(bad):
        raise LabelError(f"{path}: 'label' must be one of 0/1 (or true/false, confirmed/dismissed); got "
                         f"{bad['label'].head(5).tolist()} on row(s) {(bad.index[:5] + 2).tolist()}.")
    frame["label"] = parsed.astype("int64")
    frame["applicant_key"] = frame["applicant_key"].str.strip()
    conflicts = frame.groupby("applicant_key")["label"].nunique()
    conflicts = conflicts[conflicts > 1]
    if len(conflicts):
        raise LabelError(f"{path}: {len(conflicts)} applicant_key(s) carry both labels 0 and 1, e.g. "
                         f"{conflicts.index[:5].tolist()}; keep one decision per applicant.")
    lab = frame.drop_duplicates("applicant_key").set_index("applicant_key")["label"]
    keys = _keys(result)
    known = lab[lab.index.isin(keys)]
    out = known.rename("label")
    out.index.name = "applicant_key"
    out.attrs["unknown_keys"] = int(len(lab) - len(known))
    if not len(out):
        raise LabelError(f"{path}: none of its {len(lab)} applicant_key(s) is in the scored dataset.")
    return out
