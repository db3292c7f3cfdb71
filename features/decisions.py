"""Effective administrative decisions and court rulings (行政决定/司法判决).

Each decision against the applicant (matched through name variants by pipeline.entities) counts
with a weight by kind that halves every ``half_life_years``; decisions against other members of its
related-party group count with ``group_factor``. Severity is that weighted sum.

A bad-faith refusal, an invalidation or a penalty is the authority's finding about how the party
files. An infringement judgment is a civil dispute over use, which businesses meet in proportion to
how much they trade: one judgment against a group filing hundreds of marks is ordinary business, one
against a filer of a handful of marks concerns its whole business. Judgments are therefore weighed
against chance like resemblances (``features.chance``): by how far the group's number of them is
beyond what groups of its portfolio size (distinct marks) receive in this register.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Config
from core.reasons import DecisionKind, Dimension, Reason
from core.tables import Tables, isin
from features.chance import chance_weight
from features.common import applicant_index, concat_flags, distinct_count, make_flags
from features.registry import FeatureResult, register

KIND_REASON = {
    DecisionKind.BAD_FAITH_REFUSAL.value: Reason.DECISION_BAD_FAITH,
    DecisionKind.INVALIDATION.value: Reason.DECISION_INVALIDATION,
    DecisionKind.ADMINISTRATIVE_PENALTY.value: Reason.DECISION_PENALTY,
    DecisionKind.INFRINGEMENT_JUDGMENT.value: Reason.DECISION_JUDGMENT,
    DecisionKind.OTHER.value: Reason.DECISION_OTHER,
}


def weighted_decisions(decisions: pd.DataFrame, as_of: pd.Timestamp, cfg) -> pd.DataFrame:
    """Decisions with ``age_years`` and ``weight`` (kind weight x recency decay)."""
    d = decisions.copy()
    d["age_years"] = ((as_of - d["decision_date"]).dt.days / 365.25).clip(lower=0)
    kind_w = d["kind"].map({k: getattr(cfg, f"w_{k}") for k in KIND_REASON}).fillna(cfg.w_other).astype("float64")
    d["weight"] = kind_w * np.power(0.5, d["age_years"] / cfg.half_life_years)
    return d


@register(Dimension.DECISIONS)
def build_decisions(tables: Tables, config: Config) -> FeatureResult:
    cfg = config.decisions
    apps = tables.applications
    idx = applicant_index(apps)
    as_of = tables.as_of or pd.Timestamp.now().normalize()
    d = weighted_decisions(tables.decisions, as_of, cfg)
    d = d[isin(d["subject_key"], idx)]
    d = _weigh_judgments(d, apps, cfg, config.infringement)
    # Computed for the few applicants concerned (the subjects and the members of their groups) and
    # spread to all once: lookups of the millions of keys per column took 20 s at 10M applications.
    own = d.groupby("subject_key")["weight"].sum()  # sorted by key, as the index
    subjects = apps.loc[isin(apps["applicant_key"], own.index), ["applicant_key", "group_id"]]
    group_of = subjects.drop_duplicates("applicant_key").set_index("applicant_key")["group_id"]
    group_total = own.groupby(group_of.reindex(own.index).to_numpy()).sum()
    members = (apps.loc[isin(apps["group_id"], group_total.index), ["applicant_key", "group_id"]]
               .drop_duplicates("applicant_key").set_index("applicant_key")["group_id"])
    concerned = members.index.union(own.index)
    own = own.reindex(concerned, fill_value=0.0)
    others = pd.Series(group_total.reindex(members.to_numpy()).to_numpy(np.float64), index=members.index)
    others = others.reindex(concerned).fillna(0.0) - own
    feat = pd.DataFrame(index=concerned)
    counts = d.pivot_table(index="subject_key", columns="kind", values="weight", aggfunc="size", fill_value=0)
    for kind in KIND_REASON:
        feat[f"decisions_n_{kind}"] = counts[kind] if kind in counts else 0
    feat["decisions_weighted_own"] = own
    feat["decisions_weighted_group"] = others
    feat = feat.reindex(idx).fillna(0.0).astype("float64")
    severity = (feat["decisions_weighted_own"] + cfg.group_factor * feat["decisions_weighted_group"]).rename("decisions")
    parts = []
    for kind, reason in KIND_REASON.items():
        k = d[d["kind"] == kind].rename(columns={"subject_key": "applicant_key"})
        ref = k["reference"].fillna("").astype("str")
        ev = (k["decision_date"].dt.strftime("%Y-%m-%d") + " " + kind.replace("_", " ")
              + np.where(ref != "", " (" + ref + ")", "") + " against " + k["subject_name"].astype("str"))
        parts.append(make_flags(k.assign(application_id=k["application_id"].fillna("")), reason, ev, k["weight"]))
    return FeatureResult(applicant=feat, severity=severity, flags=concat_flags(parts))


def _weigh_judgments(d: pd.DataFrame, apps: pd.DataFrame, cfg, chance_cfg) -> pd.DataFrame:
    """Infringement judgments' weights times their group's chance weight: k judgments against a
    related-party group of n distinct marks, against the register's rate of judgments per mark for
    groups of that size (``features.chance.chance_weight`` with ``judgment_surprise_ref``)."""
    judged = d["kind"] == DecisionKind.INFRINGEMENT_JUDGMENT.value
    if not judged.any():
        return d
    group_code, groups = pd.factorize(apps["group_id"].astype("str"))
    marks = distinct_count(group_code, apps["mark_text"].fillna("").astype("str").to_numpy(), len(groups))
    # the groups of the judged subjects only (a look-up over every key was seconds at 10M filings)
    subjects = d.loc[judged, "subject_key"]
    at = np.flatnonzero(isin(apps["applicant_key"], subjects))
    key_group = pd.Series(group_code[at], index=apps["applicant_key"].to_numpy()[at])
    key_group = key_group[~key_group.index.duplicated()]
    subject_group = key_group.reindex(subjects.to_numpy()).to_numpy()
    hits = np.bincount(subject_group, minlength=len(groups)).astype("float64")
    weight = chance_weight(pd.Series(hits), pd.Series(marks), chance_cfg, surprise_ref=cfg.judgment_surprise_ref)
    d = d.copy()
    d.loc[judged, "weight"] = d.loc[judged, "weight"].to_numpy() * weight.to_numpy()[subject_group]
    return d
