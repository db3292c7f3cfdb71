"""Transfer / trading patterns (交易转让): marks filed to be sold.

Criteria (2022 CNIPA notice type 4; 2019 Provisions art. 8): a large share of one's marks assigned
away, short holding times, many scattered unrelated assignees, agents acting as assignors.
Transfers inside one related-party group (a corporate family) and conveyances that are not sales
(mergers, name changes, security interests — recognised in an optional ``conveyance`` column) are
not counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Config
from core.reasons import Dimension, Reason
from core.tables import Tables, isin
from features import products
from features.common import applicant_index, concat_flags, make_flags, ratio, rows_per_key
from features.registry import FeatureResult, register

NOT_A_SALE = r"merg|name change|change of name|security|license|licence|correct|nunc pro tunc|更名|合并|质押|许可"


LOOKUP_KEY = products.TRANSFER_LOOKUP  # product TRANSFER_LOOKUP (lookup_product, or the Dask engine's union)


def transfer_lookup(tables: Tables, transfers: pd.DataFrame | None = None) -> dict:
    """The global step: what a transfer needs from *all* applications (the assignee, or the filer of a
    resold mark, may sit in another related-party group, i.e. another Dask partition).

    groups: applicant_key → group_id and filing_date: application_id → filing date (only for the keys
    and applications of ``transfers``, default ``tables.transfers``); agents: casefolded agent names.
    Applications are disjoint across partitions, so lookups of partitions combine by union
    (``combine_lookups``).
    """
    apps = tables.applications
    t = tables.transfers if transfers is None else transfers
    keys = pd.unique(pd.concat([t["assignor_key"], t["assignee_key"]]).dropna()) if len(t) else []
    by_key = apps.drop_duplicates("applicant_key").set_index("applicant_key")["group_id"]
    by_id = apps.drop_duplicates("application_id").set_index("application_id")["filing_date"]
    agents = pd.Series(pd.unique(apps["agent_name"].fillna("")), dtype="str")  # one Python str per name
    return {"groups": by_key[isin(by_key.index, keys)],
            "filing_date": by_id[isin(by_id.index, t["application_id"])],
            "agents": set(agents.str.strip().str.casefold()) - {""}}


def combine_lookups(lookups: list[dict]) -> dict:
    """Union of ``transfer_lookup`` results of disjoint partitions."""
    return {"groups": pd.concat([lk["groups"] for lk in lookups]).sort_index(),
            "filing_date": pd.concat([lk["filing_date"] for lk in lookups]).sort_index(),
            "agents": set().union(*(lk["agents"] for lk in lookups))}


def external_transfers(tables: Tables, lookup: dict | None = None) -> pd.DataFrame:
    """Transfers that are sales to another related-party group, with holding time in days."""
    t = tables.transfers
    cols = ["application_id", "transfer_date", "assignor_key", "assignee_key", "assignee_name", "assignor_name"]
    if not len(t):
        return pd.DataFrame(columns=[*cols, "holding_days", "assignee_group", "assignor_group"])
    lookup = lookup if lookup is not None else transfer_lookup(tables)
    out = t[cols + (["conveyance"] if "conveyance" in t else [])].copy()
    groups = lookup["groups"]
    out["assignor_group"] = out["assignor_key"].map(groups).fillna("g:" + out["assignor_key"])
    # Assignees who never filed form their own group.
    out["assignee_group"] = out["assignee_key"].map(groups).fillna("g:" + out["assignee_key"])
    out["holding_days"] = (out["transfer_date"] - out["application_id"].map(lookup["filing_date"])).dt.days
    sale = out["assignor_group"] != out["assignee_group"]
    if "conveyance" in out:
        sale &= ~out["conveyance"].fillna("").str.lower().str.contains(NOT_A_SALE, regex=True)
    return out[sale]


def lookup_product(tables: Tables, config) -> dict:
    """Product TRANSFER_LOOKUP: ``transfer_lookup`` of the whole tables."""
    return transfer_lookup(tables)


@register(Dimension.TRANSFER, needs=(products.TRANSFER_LOOKUP,))
def build_transfers(tables: Tables, config: Config) -> FeatureResult:
    cfg = config.transfer
    apps = tables.applications
    idx = applicant_index(apps)
    lookup = tables.extras[LOOKUP_KEY]
    ext = external_transfers(tables, lookup)
    ext = ext[isin(ext["assignor_key"], idx)]
    n_apps = pd.Series(rows_per_key(idx, apps["applicant_key"]), index=idx)
    # First sale of each application only: a chain of resales is counted for each seller once.
    first = ext.sort_values("transfer_date", kind="stable").drop_duplicates(["application_id", "assignor_key"])
    first = first.assign(quick=first["holding_days"] <= cfg.quick_days)
    g = first.groupby("assignor_key")
    feat = pd.DataFrame(index=idx)
    feat["transfer_n_assigned"] = g.size()
    feat["transfer_share"] = ratio(feat["transfer_n_assigned"].fillna(0), n_apps)
    feat["transfer_median_holding_days"] = g["holding_days"].median()
    feat["transfer_quick_share"] = g["quick"].mean()
    feat["transfer_n_assignees"] = g["assignee_group"].nunique()
    feat["transfer_assignee_dispersion"] = ratio(feat["transfer_n_assignees"].fillna(0),
                                                 feat["transfer_n_assigned"].fillna(0))
    agents = lookup["agents"]
    as_agent = first[first["assignor_name"].fillna("").str.strip().str.casefold().isin(agents)]
    feat["transfer_agent_assignor"] = as_agent.groupby("assignor_key").size()
    feat = feat.fillna({"transfer_median_holding_days": -1.0}).fillna(0.0).astype("float64")

    volume = feat["transfer_n_assigned"] / cfg.volume_threshold
    pattern = (cfg.w_share * feat["transfer_share"] + cfg.w_quick * feat["transfer_quick_share"]
               + cfg.w_dispersion * feat["transfer_assignee_dispersion"])
    severity = volume * pattern + cfg.w_agent_assignor * np.minimum(feat["transfer_agent_assignor"], 1)
    return FeatureResult(applicant=feat, severity=severity.rename("transfer"), flags=_flags(first, feat, cfg))


def _flags(first: pd.DataFrame, feat: pd.DataFrame, cfg) -> pd.DataFrame:
    f = feat.reset_index()
    parts = []
    share = f[(f["transfer_n_assigned"] >= cfg.flag_min_assigned) & (f["transfer_share"] >= cfg.flag_min_share)]
    parts.append(make_flags(share, Reason.TRANSFER_SHARE,
                            share["transfer_n_assigned"].astype(int).astype(str) + " marks assigned to other parties ("
                            + (100 * share["transfer_share"]).round().astype(int).astype(str) + "% of its filings)",
                            share["transfer_share"]))
    many = f[(f["transfer_n_assignees"] >= cfg.flag_min_assignees)]
    parts.append(make_flags(many, Reason.TRANSFER_MANY_ASSIGNEES,
                            "sold to " + many["transfer_n_assignees"].astype(int).astype(str) + " unrelated assignees",
                            many["transfer_assignee_dispersion"]))
    quick = first[(first["holding_days"] <= cfg.quick_days)]
    quick = quick[quick["assignor_key"].isin(f.loc[f["transfer_n_assigned"] >= cfg.flag_min_assigned, "applicant_key"])]
    parts.append(make_flags(quick.rename(columns={"assignor_key": "applicant_key"}), Reason.TRANSFER_QUICK_FLIP,
                            "assigned to " + quick["assignee_name"].astype(str) + " "
                            + quick["holding_days"].astype(int).astype(str) + " days after filing", 1.0))
    agent = f[f["transfer_agent_assignor"] > 0]
    parts.append(make_flags(agent, Reason.TRANSFER_AGENT_ASSIGNOR,
                            "a trademark agent name appears as assignor in "
                            + agent["transfer_agent_assignor"].astype(int).astype(str) + " transfers", 1.0))
    return concat_flags(parts)
