"""Squatting on public resources (抢占公共资源).

Criteria (Trademark Law art. 10; 2022 CNIPA notice types 5–7): marks that *are* a place name
(county level and above, foreign countries and capitals), a public figure's name, an event or its
term (filed soon after the event), or a generic/industry term — and **unlisted trends**: a term on
no list that many unrelated applicants start filing within weeks, with no earlier history.

Matching is on the mark's distinctive core (normalised, generic affixes such as 旗舰/官方/Official
removed), which must equal the term: a trade name that merely *contains* a place (青岛啤酒) is not
a place-name mark. Not squatting: an applicant whose own name contains the term (北京同仁堂 filing
同仁堂, a person filing her own name); filings before the event date (the organiser registers
before unveiling); the first group to file a trend term (its likely originator).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import lexicons, textsim
from features.common import (
    applicant_index,
    concat_flags,
    contains_each,
    make_flags,
    per_distinct,
    rows_per_key,
    window_counts,
)
from features.reasons import Dimension, Reason
from features.registry import FeatureResult, register
from pipeline.config import Config
from pipeline.tables import Tables, isin, positions_in

CATEGORY_REASON = {"event": Reason.SQUAT_EVENT, "person": Reason.SQUAT_PERSON, "place": Reason.SQUAT_PLACE,
                   "generic": Reason.SQUAT_GENERIC, "other": Reason.SQUAT_GENERIC}
CATEGORY_PRIORITY = ["event", "person", "place", "other", "generic"]


def mark_core(marks: pd.Series) -> pd.Series:
    """The distinctive core of each mark, compact (no spaces): generic affixes stripped."""
    norm = textsim.mark_norm(marks)
    core = textsim.compact(textsim.strip_generic(norm))
    return core.where(core != "", textsim.compact(norm))


def distinct_mark_cores(marks: pd.Series) -> pd.Series:
    """``mark_core`` of every mark, computed once per distinct text (half the rows at national scale,
    where the text work dominates). pipeline.score.compute stores it as the ``mark_core`` column."""
    return per_distinct(marks.astype("str").fillna(""), mark_core)


def term_table(extra: pd.DataFrame | None) -> pd.DataFrame:
    """Public terms keyed by the same core as marks; one row per core (highest-priority category)."""
    terms = lexicons.public_terms(extra)
    terms = terms.assign(core=textsim.compact(textsim.mark_norm(terms["term"])))
    terms = terms[terms["core"].str.len() >= 2]
    terms["prio"] = terms["category"].map({c: i for i, c in enumerate(CATEGORY_PRIORITY)}).fillna(len(CATEGORY_PRIORITY))
    terms = terms.sort_values(["core", "prio", "date"], kind="stable").drop_duplicates("core")
    return terms.set_index("core")[["term", "category", "date", "source"]]


def _own_name_contains(names: pd.Series, cores: pd.Series) -> np.ndarray:
    """Row-wise: the normalised applicant name contains the mark core (cores of >= 2 characters).

    Rows are distinct (name, core) pairs; a name recurs with each of its cores, so names are
    normalised once per distinct name."""
    norm = per_distinct(names.astype("str"), lambda n: textsim.compact(textsim.mark_norm(n)))
    return contains_each(norm, cores) & (cores.str.len() >= 2).to_numpy()


TRENDS_KEY = "squatting_trends"  # Tables.extras key of a precomputed global trend table (pipeline.engines)
TREND_COLUMNS = ["window_start", "n_groups", "originator"]


def trend_first_filings(apps: pd.DataFrame, listed: pd.Index, cfg) -> pd.DataFrame:
    """First filing date of each unlisted core by each related-party group (core, group_id, filing_date).

    Rows are per (core, group), so partitions by group produce disjoint parts of this table."""
    a = apps[(apps["core"].str.len() >= cfg.trend_min_chars) & ~isin(apps["core"], listed) & ~apps["own_name"]]
    first = a.groupby(["core", "group_id"], sort=True)["filing_date"].min().reset_index()
    return first[["core", "group_id", "filing_date"]]


def trends_from_first(first: pd.DataFrame, cfg) -> pd.DataFrame:
    """Unlisted cores that many distinct related-party groups start filing within a window.

    ``first`` is (a superset of whole cores of) ``trend_first_filings``; each core is decided from its
    own rows only, so the table may be split by core. For each core, the groups' first filing dates
    are counted in a sliding window (vectorised); the best window must hold >= trend_min_groups groups
    with at most trend_max_prior groups having filed the core before that window opened. Ties on a
    date are ordered by group_id. Returns window_start, n_groups, originator indexed by core.
    """
    first = first.sort_values(["core", "filing_date", "group_id"], kind="stable").reset_index(drop=True)
    if not len(first):
        return pd.DataFrame({"window_start": pd.Series(dtype="datetime64[ns]"), "n_groups": pd.Series(dtype="int64"),
                             "originator": pd.Series(dtype="str")}, index=pd.Index([], name="core", dtype="str"))
    first["in_window"] = window_counts(first["core"], first["filing_date"], cfg.trend_window_days)
    first["rank"] = first.groupby("core").cumcount()
    first["prior"] = first["rank"] + 1 - first["in_window"]
    best = first.sort_values(["core", "in_window", "filing_date", "rank"], ascending=[True, False, True, True],
                             kind="stable").drop_duplicates("core")
    best = best[(best["in_window"] >= cfg.trend_min_groups) & (best["prior"] <= cfg.trend_max_prior)]
    origin = first.drop_duplicates("core").set_index("core")["group_id"]
    out = pd.DataFrame({
        "window_start": best["filing_date"].to_numpy() - np.timedelta64(cfg.trend_window_days - 1, "D"),
        "n_groups": best["in_window"].to_numpy(),
    }, index=pd.Index(best["core"], name="core"))
    out["originator"] = origin.reindex(out.index)
    return out


def trend_terms(apps: pd.DataFrame, listed: pd.Index, cfg) -> pd.DataFrame:
    """Trend table of ``apps`` (all groups at once): ``trends_from_first(trend_first_filings(...))``."""
    return trends_from_first(trend_first_filings(apps, listed, cfg), cfg)


def global_trends(tables: Tables, config: Config) -> pd.DataFrame:
    """The trend table of the whole dataset (what ``build_squatting`` computes when not given one)."""
    terms = term_table(tables.public_terms if len(tables.public_terms) else None)
    return trend_terms(squatting_apps(tables), terms.index, config.squatting)


def squatting_apps(tables: Tables) -> pd.DataFrame:
    """Applications with the mark core and whether the applicant's own name contains it."""
    apps = tables.applications[["application_id", "applicant_key", "group_id", "filing_date", "mark_text",
                                "applicant_name"]].copy()
    if "mark_core" in tables.applications:
        apps["core"] = tables.applications["mark_core"]
    else:
        apps["core"] = distinct_mark_cores(apps["mark_text"])
    # and once per distinct (name, core) pair
    pair = apps[["applicant_name", "core"]].astype("str")
    name_c, _ = pd.factorize(pair["applicant_name"])
    core_c, core_u = pd.factorize(pair["core"])
    codes, _ = pd.factorize(name_c.astype("int64") * max(len(core_u), 1) + core_c)
    _, first = np.unique(codes, return_index=True)
    uniq = pair.iloc[first].reset_index(drop=True)
    own = _own_name_contains(uniq["applicant_name"], uniq["core"])
    apps["own_name"] = own[codes] if len(codes) else np.zeros(0, dtype=bool)
    return apps


def squatting_first_filings(tables: Tables, config: Config) -> pd.DataFrame:
    """The per-partition half of the global trend step (see pipeline.engines)."""
    terms = term_table(tables.public_terms if len(tables.public_terms) else None)
    return trend_first_filings(squatting_apps(tables), terms.index, config.squatting)


@register(Dimension.SQUATTING)
def build_squatting(tables: Tables, config: Config) -> FeatureResult:
    cfg = config.squatting
    apps = squatting_apps(tables)
    idx = applicant_index(apps)
    terms = term_table(tables.public_terms if len(tables.public_terms) else None)

    hit = apps[isin(apps["core"], terms.index) & ~apps["own_name"]].copy()
    t = terms.reindex(hit["core"])
    hit["category"] = t["category"].to_numpy()
    hit["term"] = t["term"].to_numpy()
    hit["event_date"] = t["date"].to_numpy()
    days_after = (hit["filing_date"] - hit["event_date"]).dt.days
    dated = hit["event_date"].notna()
    # Before a dated term's date: the organiser's own advance filing, not a squat.
    hit = hit[~dated | (days_after >= 0)]
    days_after = days_after[hit.index]
    dated = dated[hit.index]
    weight = hit["category"].map({c: getattr(cfg, f"w_{c}") for c in CATEGORY_REASON}).astype("float64")
    recency = np.where(dated, np.exp(-days_after.fillna(0).clip(lower=0) / cfg.event_decay_days), 1.0)
    hit["strength"] = (weight * recency).to_numpy()

    trends = tables.extras.get(TRENDS_KEY)
    trends = trend_terms(apps, terms.index, cfg) if trends is None else trends
    tr = apps[isin(apps["core"], trends.index) & ~apps["own_name"]].copy()
    tinfo = trends.reindex(tr["core"])
    tr = tr[(tr["filing_date"].to_numpy() >= tinfo["window_start"].to_numpy())
            & (tr["group_id"].to_numpy() != tinfo["originator"].to_numpy())]
    tinfo = trends.reindex(tr["core"])
    tr["strength"] = cfg.w_trend
    tr["n_groups"] = tinfo["n_groups"].to_numpy()

    strength = pd.concat([hit[["applicant_key", "strength"]], tr[["applicant_key", "strength"]]])
    # per applicant by row position in idx (Arrow look-ups), see rows_per_key
    n_apps = rows_per_key(idx, apps["applicant_key"])
    feat = pd.DataFrame(index=idx)
    for cat in ("place", "person", "event", "generic"):
        feat[f"squatting_n_{cat}"] = rows_per_key(idx, hit.loc[hit["category"] == cat, "applicant_key"])
    feat["squatting_n_trend"] = rows_per_key(idx, tr["applicant_key"])
    total = pd.Series(strength["strength"].to_numpy()).groupby(positions_in(idx, strength["applicant_key"])).sum()
    feat["squatting_strength_sum"] = total.reindex(np.arange(len(idx)), fill_value=0.0).to_numpy(np.float64)
    n_hits = feat[[c for c in feat.columns if c.startswith("squatting_n_")]].sum(axis=1)
    feat["squatting_share"] = (n_hits / n_apps).fillna(0.0)  # every key of idx has filings
    severity = (feat["squatting_strength_sum"] / cfg.filings_per_unit).rename("squatting")

    parts = []
    for cat, reason in CATEGORY_REASON.items():
        h = hit[hit["category"] == cat]
        if not len(h):
            continue
        date_txt = np.where(h["event_date"].notna(), " (" + h["event_date"].dt.strftime("%Y-%m-%d").fillna("")
                            + ", filed " + (h["filing_date"] - h["event_date"]).dt.days.fillna(0).astype(int).astype(str)
                            + " days later)", "")
        ev = "'" + h["mark_text"].astype(str) + "' is the " + cat + " term '" + h["term"].astype(str) + "'" + date_txt
        parts.append(make_flags(h, reason, ev, h["strength"]))
    if len(tr):
        ev = ("'" + tr["mark_text"].astype(str) + "': term filed by " + tr["n_groups"].astype(int).astype(str)
              + f" unrelated applicants within {cfg.trend_window_days} days, on no public list")
        parts.append(make_flags(tr, Reason.SQUAT_TREND, ev, tr["strength"]))
    details = pd.concat([
        hit.assign(kind=hit["category"])[["application_id", "applicant_key", "term", "kind", "event_date"]],
        tr.assign(term=tr["core"], kind="trend", event_date=pd.NaT)[["application_id", "applicant_key", "term",
                                                                      "kind", "event_date"]],
    ], ignore_index=True)
    return FeatureResult(applicant=feat, severity=severity, flags=concat_flags(parts), details=details)
