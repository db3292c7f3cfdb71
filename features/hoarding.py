"""Hoarding (囤积): filing volume far beyond a business need, by the applicant and its related parties.

Criteria (2019 Provisions art. 8; 2022 CNIPA notice types 1–2): volume in a rolling year, bursts
within days, many unrelated classes, coined marks with no link to the applicant's trade name,
natural persons filing at scale, and a high refused/withdrawn share.

Legitimate large portfolios must not look like hoarders, so volume alone never makes a hoarder:
severity = log2(1 + volume ratio) × abnormality, where abnormality measures *how* the marks are filed
(coined share, class dispersion outside defensive house-mark sweeps, refusal share, burst share).
A house mark swept across all classes is a defensive filing and is excluded from dispersion; so is
a public term swept by its listed owner (the organiser's mascot). One coined mark swept across all
classes is a new brand's defence; sweeping more is hoarding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Config
from core.reasons import Dimension, Reason
from core.tables import Tables, explode_classes, positions_in
from features import lexicons, products
from features import textsim as ts
from features.class_relations import scope_masks
from features.common import (
    applicant_index,
    concat_flags,
    contains_each,
    entropy,
    make_flags,
    name_core,
    per_distinct,
    ratio,
    window_counter,
    window_counts,
)
from features.filing_patterns import over_broad, refiled_cells
from features.registry import FeatureResult, register
from features.squatting import owned_marks


def house_related(marks_norm: pd.Series, cores: pd.Series) -> pd.Series:
    """True where the mark is linked to the applicant's own trade name.

    Linked = the mark contains the name's head (first two Han characters / first Latin word of ≥ 3
    letters), the name contains the whole mark, or, across scripts, the name's transliteration
    reading contains the mark's (``textsim.transliteration_reading``). Vectorised with numpy's
    element-wise string find.
    """
    m = marks_norm.fillna("").astype("str")
    c = cores.fillna("").astype("str")

    def name_head(c: pd.Series) -> pd.Series:
        is_latin = c.str.match(r"^[a-z0-9]")
        head = c.str.slice(0, 2).where(~is_latin, c.str.extract(r"^([a-z0-9]{3,})", expand=False).fillna("\uffff"))
        return head.where(head.str.len() >= 2, "\uffff")

    head = per_distinct(c, name_head)  # an applicant's rows share one core
    contains_head = contains_each(m, head)
    name_has_mark = contains_each(c, m) & (m.str.len() >= 2).to_numpy()
    # across scripts, the name transliterated: 内斯瓦霍恩 by Nesvahon Foods, MISIN by 米西恩投资
    reads = ts.reads_inside(m, c)
    return pd.Series(contains_head | name_has_mark | reads, index=marks_norm.index)


def outside_core_share(pairs: pd.DataFrame, core: int) -> pd.Series:
    """Per key (first column), the share of (key, item) rows outside its ``core`` most used items.

    On integer codes with numpy (string group-bys and sorts were seconds at 1M); the key may itself
    be an integer code. Which of two equally used items counts as "top" does not change the sum,
    so ties need no order."""
    pairs = pairs.dropna()
    key_codes, keys = pd.factorize(pairs.iloc[:, 0], sort=True)
    item_codes, items = pd.factorize(pairs[pairs.columns[1]])
    cell, n = np.unique(key_codes.astype("int64") * max(len(items), 1) + item_codes, return_counts=True)
    cell_key = cell // max(len(items), 1)
    order = np.lexsort((-n, cell_key))  # by key, most used item first
    cell_key, n = cell_key[order], n[order]
    rank = np.arange(len(n)) - np.searchsorted(cell_key, cell_key, side="left")
    top = np.bincount(cell_key[rank < core], weights=n[rank < core], minlength=len(keys))
    total = np.bincount(key_codes, minlength=len(keys))
    return pd.Series(1.0 - top / total, index=pd.Index(keys, name=pairs.columns[0]))


def _group_dispersion(src: pd.DataFrame, apps: pd.DataFrame, sweep_rows: np.ndarray, cfg) -> tuple[pd.Series, pd.Series]:
    """Dispersion over 类似群 groups of non-sweep filings (``sweep_rows``: a mask over ``apps``), and
    the share of them whose goods map; both by key code (``apps["key"]``)."""
    empty = pd.Series(dtype="float64")
    rows = apps.loc[~sweep_rows, ["key"]]
    groups = lexicons.similar_groups_of(src).loc[rows.index]
    n_groups = np.fromiter(map(len, groups), dtype="int64", count=len(groups))
    if not n_groups.any():
        return empty, empty
    mapped_share = rows.assign(mapped=n_groups > 0).groupby("key")["mapped"].mean()
    pos, sgroup = lexicons.group_rows(groups)
    pairs = pd.DataFrame({"key": rows["key"].to_numpy()[pos], "sgroup": sgroup})
    return outside_core_share(pairs, cfg.core_groups), mapped_share


def _group_abnormality(apps: pd.DataFrame, cls: pd.DataFrame, cfg) -> pd.Series:
    """Abnormality of each related-party group's pooled filings (by group code ``gkey``): the coined
    share, the class dispersion outside its core_classes main classes, the refusal share and the
    share of filings in a burst of burst_min_filings within burst_days, weighted as for one filer."""
    per = window_counter(apps["gkey"], apps["filing_date"])
    in_burst = np.maximum(per(cfg.burst_days), per(cfg.burst_days, forward=True)) >= cfg.burst_min_filings
    g = apps.assign(in_gburst=in_burst).groupby("gkey")
    dispersion = outside_core_share(cls[["gkey", "nice_class"]], cfg.core_classes).reindex(g.size().index)
    return (cfg.w_coined * ratio(g["coined"].sum(), g["has_mark"].sum()).fillna(0.0)
            + cfg.w_dispersion * dispersion.fillna(0.0)
            + cfg.w_refusal * g["refused"].mean() + cfg.w_burst * g["in_gburst"].mean())


def unrelated_rows(cls: pd.DataFrame, sweep: np.ndarray, n_keys: int, rel: pd.DataFrame, config: Config) -> np.ndarray:
    """Per (filing, class) row of ``cls`` (columns key, nice_class): True where the class is neither
    one of its applicant's ``core_classes`` most used classes (sweeps left out) nor related to one of
    them by the register's related-class table (``features.class_relations``: the classes coherent
    businesses file together; ``rel``). A business files its products' classes and their
    neighbours; a hoarder files everywhere."""
    cfg = config.hoarding
    key = cls["key"].to_numpy(np.int64)
    nice = cls["nice_class"].to_numpy(np.int64)
    # each key's core classes as a bit mask (classes 1..45 fit in 64 bits)
    cell, n = np.unique(key[~sweep] * 46 + nice[~sweep], return_counts=True)
    cell_key, cell_class = cell // 46, cell % 46
    order = np.lexsort((cell_class, -n, cell_key))  # by key, most used first, ties by class number
    cell_key, cell_class = cell_key[order], cell_class[order]
    rank = np.arange(len(cell_key)) - np.searchsorted(cell_key, cell_key, side="left")
    top = rank < int(cfg.core_classes)
    core = np.zeros(n_keys, dtype=np.uint64)
    np.bitwise_or.at(core, cell_key[top], np.left_shift(np.uint64(1), cell_class[top].astype(np.uint64)))
    # each class's neighbourhood: itself and the classes related to it
    near = np.left_shift(np.uint64(1), np.arange(46, dtype=np.uint64))
    np.bitwise_or.at(near, rel["nice_class"].to_numpy(np.int64),
                     np.left_shift(np.uint64(1), rel["related_class"].to_numpy(np.uint64)))
    return (core[key] & near[nice]) == 0


@register(Dimension.HOARDING, needs=(products.RELATED_CLASSES, products.INDUSTRY_SCOPES))
def build_hoarding(tables: Tables, config: Config) -> FeatureResult:
    cfg = config.hoarding
    apps = tables.applications[["application_id", "applicant_key", "group_id", "filing_date", "mark_text",
                                "nice_classes", "applicant_type", "status"]].copy()
    # Everything per applicant runs on integer key codes in string order (code k is the k-th key of
    # the sorted index): group-bys and re-indexing on the 10M key strings hashed them each time.
    idx = applicant_index(apps)
    key_code = positions_in(idx, apps["applicant_key"])
    n_keys = len(idx)
    apps["mark_norm"] = ts.compact_marks(apps["mark_text"])
    apps["house"] = house_related(apps["mark_norm"], name_core(apps["applicant_key"])) | owned_marks(tables)
    apps["has_mark"] = apps["mark_norm"] != ""
    apps["coined"] = apps["has_mark"] & ~apps["house"]
    apps["key"] = key = pd.Series(key_code, index=apps.index)
    apps["mark"] = pd.factorize(apps["mark_norm"])[0]
    per_key = window_counter(key, apps["filing_date"])
    apps["n_win"] = per_key(cfg.window_days)
    apps["n_burst"] = per_key(cfg.burst_days)
    apps["g_win"] = window_counts(apps["group_id"], apps["filing_date"], cfg.window_days)
    # A filing is in a burst when a window of burst_days starting or ending at it holds enough filings.
    ahead = per_key(cfg.burst_days, forward=True)
    apps["in_burst"] = np.maximum(apps["n_burst"].to_numpy(), ahead) >= cfg.burst_min_filings
    apps["refused"] = apps["status"].isin(["refused", "withdrawn", "invalidated"])

    # Classes: one row per (application, class). A mark filed by one applicant in at least
    # sweep_min_classes classes is a sweep; coined sweeps are all-class hoarding, house sweeps are
    # defensive and excluded from dispersion.
    apps["gkey"] = pd.factorize(apps["group_id"])[0]
    apps["day"] = apps["filing_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    cls = explode_classes(apps[["key", "gkey", "mark", "mark_norm", "house", "day", "nice_classes"]])
    cls["mark_classes"] = cls.groupby(["key", "mark"])["nice_class"].transform("nunique")
    sweep = (cls["mark_classes"] >= cfg.sweep_min_classes) & (cls["mark_norm"] != "")
    class_dispersion = outside_core_share(cls.loc[~sweep, ["key", "nice_class"]], cfg.core_classes)
    # Similar groups (类似群) say more than class numbers (class 9 holds both computers and
    # spectacles): where goods texts map to groups for most filings, dispersion is measured on them.
    sweep_apps = apps.index.isin(cls.index[sweep])
    group_dispersion, mapped_share = _group_dispersion(tables.applications, apps, sweep_apps, cfg)
    codes = pd.RangeIndex(n_keys, name="key")
    use_groups = mapped_share.reindex(codes, fill_value=0.0) >= cfg.min_mapped_share
    dispersion = class_dispersion.reindex(codes, fill_value=0.0).where(
        ~use_groups, group_dispersion.reindex(codes, fill_value=0.0))
    coined_sweeps = cls[sweep & ~cls["house"]].groupby("key")["mark"].nunique()
    unrelated = unrelated_rows(cls, sweep.to_numpy(), n_keys, tables.extras[products.RELATED_CLASSES], config)
    # ... nor a class of the business its name declares (经营范围: a 母婴用品 company's toys and clothes)
    scope = scope_masks(idx, tables.extras[products.INDUSTRY_SCOPES])
    unrelated &= (scope[cls["key"].to_numpy()] & np.left_shift(np.uint64(1), cls["nice_class"].to_numpy(np.uint64))) == 0
    kept = cls.loc[~sweep, ["key"]].assign(unrelated=unrelated[~sweep.to_numpy()],
                                           coined_unrelated=unrelated[~sweep.to_numpy()]
                                           & ~cls.loc[~sweep, "house"].to_numpy(dtype=bool))

    g = apps.groupby("key")
    feat = pd.DataFrame(index=codes)
    feat["hoarding_n_applications"] = g.size()
    feat["hoarding_n_marks"] = g["mark"].nunique()
    feat["hoarding_max_window"] = g["n_win"].max()
    feat["hoarding_max_burst"] = g["n_burst"].max()
    feat["hoarding_group_max_window"] = g["g_win"].max()
    feat["hoarding_n_classes"] = cls.groupby("key")["nice_class"].nunique()
    feat["hoarding_class_entropy"] = entropy(cls.groupby(["key", "nice_class"]).size())
    feat["hoarding_class_dispersion"] = class_dispersion
    feat["hoarding_group_dispersion"] = group_dispersion
    feat["hoarding_dispersion"] = dispersion
    feat["hoarding_unrelated_share"] = kept.groupby("key")["unrelated"].mean()
    feat["hoarding_coined_unrelated_share"] = kept.groupby("key")["coined_unrelated"].mean()
    feat["hoarding_coined_share"] = ratio(g["coined"].sum(), g["has_mark"].sum())
    feat["hoarding_burst_share"] = g["in_burst"].mean()
    feat["hoarding_refusal_share"] = g["refused"].mean()
    feat["hoarding_coined_sweeps"] = coined_sweeps
    feat["hoarding_individual"] = g["applicant_type"].first().eq("individual").astype("float64")
    # (a house mark or an owned public term is the business's own name: re-filing it is upkeep)
    refiled = refiled_cells(cls.assign(mark=np.where((cls["mark_norm"] != "") & ~cls["house"], cls["mark"], -1)),
                            cfg.refile_min_gap_days, cfg.refile_min_filings)
    feat["hoarding_refiled_marks"] = refiled.groupby("key")["mark"].nunique()
    apps["broad"] = over_broad(tables.applications, cfg.broad_min_share, cfg.broad_min_class_groups)
    feat["hoarding_broad_share"] = apps.groupby("key")["broad"].mean()
    feat = feat.fillna(0.0).astype("float64").set_axis(idx)

    # Volume ratio: the larger of the applicant's and its group's rolling-year count against the
    # threshold (natural persons have a lower threshold).
    # A business need shows in the applicant's own record: the yearly rate it sustained before its
    # busiest year is its ordinary volume, and only the busiest year beyond it (or beyond the
    # threshold, whichever is larger) counts.
    own_rate = _established_rate(apps["key"], apps["day"], apps["n_win"], cfg)
    group_rate = _established_rate(apps["gkey"], apps["day"], apps["g_win"], cfg)
    feat["hoarding_established_rate"] = own_rate.reindex(range(n_keys)).fillna(0.0).to_numpy()
    key_gkey = apps.groupby("key")["gkey"].first()
    feat["hoarding_group_established_rate"] = group_rate.reindex(key_gkey.to_numpy()).fillna(0.0).to_numpy()
    threshold = np.where(feat["hoarding_individual"] > 0, cfg.individual_window_threshold, cfg.window_threshold)
    own_ratio = feat["hoarding_max_window"] / np.maximum(threshold, feat["hoarding_established_rate"])
    group_ratio = feat["hoarding_group_max_window"] / np.maximum(cfg.group_window_threshold,
                                                                 feat["hoarding_group_established_rate"])
    feat["hoarding_volume_ratio"] = np.maximum(own_ratio, group_ratio)
    abnormality = (cfg.w_coined * feat["hoarding_coined_unrelated_share"]
                   + cfg.w_dispersion * feat["hoarding_unrelated_share"]
                   + cfg.w_refusal * feat["hoarding_refusal_share"] + cfg.w_burst * feat["hoarding_burst_share"]
                   + cfg.w_broad * feat["hoarding_broad_share"])
    # A split hoard: the group's volume crosses its threshold while no member's own volume crosses
    # the single filer's — the filings are spread over members (a mill's clients, shells filing a
    # few marks each). The group is then judged as one filer (2019 Provisions art. 8): how its pooled
    # filings are filed counts for every member. A corporate family whose members file in their own
    # right (some member above the single filer's threshold) is judged member by member.
    key_group = apps.groupby("key")["gkey"].first()
    group_abn = _group_abnormality(apps, cls.loc[~sweep], cfg)
    member_max = feat["hoarding_max_window"].groupby(key_group.to_numpy()).max()
    split = (member_max < cfg.window_threshold).reindex(key_group.to_numpy()).to_numpy()
    feat["hoarding_group_abnormality"] = group_abn.reindex(key_group.to_numpy()).fillna(0.0).to_numpy()
    abnormality = np.where((feat["hoarding_group_max_window"] >= cfg.group_window_threshold) & split,
                           np.maximum(abnormality, feat["hoarding_group_abnormality"]), abnormality)
    feat["hoarding_abnormality"] = abnormality
    # Volume counts with diminishing returns (doubling it adds a constant): a very large but
    # coherent portfolio must not outrank a smaller, plainly abnormal one.
    # Each evergreened mark is a deliberate act, whatever the volume.
    severity = (np.log2(1.0 + feat["hoarding_volume_ratio"]) * abnormality
                + cfg.w_coined_sweep * np.clip(feat["hoarding_coined_sweeps"] - cfg.free_sweeps, 0, 3)
                + cfg.w_refiling * np.clip(feat["hoarding_refiled_marks"], 0, 3))
    flags = concat_flags([_flags(apps, feat, cfg, own_ratio, group_ratio), _refiling_flags(refiled, apps, idx, cfg)])
    return FeatureResult(applicant=feat, severity=severity.rename("hoarding"), flags=flags)


def _established_rate(owner: pd.Series, day: pd.Series, n_win: pd.Series, cfg) -> pd.Series:
    """Per owner code: its filings per year outside its busiest rolling year (before and after it, up
    to the run's data), over the years of record outside it (0 with less than
    ``established_min_years`` of such record). A business files year after year; a hoard is an
    episode, with little before or after it."""
    frame = pd.DataFrame({"owner": owner.to_numpy(), "day": day.to_numpy(), "n_win": n_win.to_numpy()})
    g = frame.groupby("owner")
    busiest = frame.loc[g["n_win"].idxmax(), ["owner", "n_win"]].set_index("owner")["n_win"]
    outside = g.size() - busiest
    years = ((g["day"].max() - g["day"].min()) - cfg.window_days).clip(lower=0) / 365.25
    rate = (outside / years.where(years > 0)).fillna(0.0)
    return rate.where(years >= cfg.established_min_years, 0.0)


def _refiling_flags(refiled: pd.DataFrame, apps: pd.DataFrame, idx: pd.Index, cfg) -> pd.DataFrame:
    """One applicant-level flag per applicant with evergreened marks: the first one's dates."""
    if refiled.empty:
        return concat_flags([])
    text = apps.drop_duplicates("mark").set_index("mark")["mark_text"]
    r = refiled.assign(text=refiled["mark"].map(text).astype("str"),
                       n=refiled.groupby("key")["mark"].transform("nunique"))
    first = r.drop_duplicates("key")
    more = np.where(first["n"] > 1, " (" + (first["n"] - 1).astype(int).astype(str) + " more mark(s))", "")
    evidence = ("'" + first["text"] + "' class " + first["nice_class"].astype(str) + " filed "
                + first["dates"].map(", ".join) + f" (each {cfg.refile_min_gap_days}+ days after the last)" + more)
    return make_flags(pd.DataFrame({"applicant_key": idx[first["key"].to_numpy()]}), Reason.HOARDING_REFILING,
                      pd.Series(evidence.to_numpy()), 1.0)


def _flags(apps: pd.DataFrame, feat: pd.DataFrame, cfg, own_ratio: pd.Series, group_ratio: pd.Series) -> pd.DataFrame:
    """Applicant-level flags (application_id empty) with numbers a reviewer can check."""
    f = feat.reset_index()
    parts = []
    own = f[(own_ratio.to_numpy() >= 1) & (f["hoarding_abnormality"] >= cfg.flag_min_abnormality)]
    parts.append(make_flags(own, Reason.HOARDING_VOLUME,
                            own["hoarding_max_window"].astype(int).astype(str) + f" filings within {cfg.window_days} days "
                            + "(" + own["hoarding_n_marks"].astype(int).astype(str) + " distinct marks)",
                            own["hoarding_abnormality"]))
    grp = f[(group_ratio.to_numpy() >= 1) & (own_ratio.to_numpy() < 1) & (f["hoarding_abnormality"] >= cfg.flag_min_abnormality)]
    parts.append(make_flags(grp, Reason.HOARDING_GROUP_VOLUME,
                            "related-party group filed " + grp["hoarding_group_max_window"].astype(int).astype(str)
                            + f" marks within {cfg.window_days} days", grp["hoarding_abnormality"]))
    burst = f[f["hoarding_max_burst"] >= cfg.burst_min_filings]
    parts.append(make_flags(burst, Reason.HOARDING_BURST,
                            burst["hoarding_max_burst"].astype(int).astype(str) + f" filings within {cfg.burst_days} days",
                            burst["hoarding_burst_share"]))
    span = f[(f["hoarding_n_classes"] >= cfg.flag_min_classes) & (f["hoarding_dispersion"] >= cfg.flag_min_dispersion)]
    parts.append(make_flags(span, Reason.HOARDING_CLASS_SPAN,
                            span["hoarding_n_classes"].astype(int).astype(str) + " classes; "
                            + (100 * span["hoarding_dispersion"]).round().astype(int).astype(str)
                            + f"% of filings outside its {cfg.core_classes} main classes", span["hoarding_dispersion"]))
    sweep = f[f["hoarding_coined_sweeps"] > 0]
    parts.append(make_flags(sweep, Reason.HOARDING_ALL_CLASS,
                            sweep["hoarding_coined_sweeps"].astype(int).astype(str)
                            + f" mark(s) unrelated to its name filed in ≥ {cfg.sweep_min_classes} classes", 1.0))
    coined = f[(f["hoarding_coined_share"] >= cfg.flag_min_coined_share) & (f["hoarding_n_marks"] >= cfg.flag_min_marks)]
    parts.append(make_flags(coined, Reason.HOARDING_COINED_MARKS,
                            (100 * coined["hoarding_coined_share"]).round().astype(int).astype(str)
                            + "% of " + coined["hoarding_n_marks"].astype(int).astype(str)
                            + " marks unrelated to its trade name", coined["hoarding_coined_share"]))
    indiv = f[(f["hoarding_individual"] > 0) & (f["hoarding_max_window"] >= cfg.individual_window_threshold)]
    parts.append(make_flags(indiv, Reason.HOARDING_INDIVIDUAL_SCALE,
                            "natural person filed " + indiv["hoarding_max_window"].astype(int).astype(str)
                            + f" marks within {cfg.window_days} days", 1.0))
    broad = f[f["hoarding_broad_share"] > 0]
    parts.append(make_flags(broad, Reason.HOARDING_BROAD_SPEC,
                            (100 * broad["hoarding_broad_share"]).round().astype(int).astype(str)
                            + f"% of its filings claim at least {100 * cfg.broad_min_share:.0f}% of their class's "
                            "similar groups (类似群)", broad["hoarding_broad_share"]))
    refused = f[(f["hoarding_refusal_share"] >= cfg.flag_min_refusal_share) & (f["hoarding_n_applications"] >= cfg.flag_min_marks)]
    parts.append(make_flags(refused, Reason.HOARDING_REFUSAL_SHARE,
                            (100 * refused["hoarding_refusal_share"]).round().astype(int).astype(str)
                            + "% of " + refused["hoarding_n_applications"].astype(int).astype(str)
                            + " filings refused, withdrawn or invalidated", refused["hoarding_refusal_share"]))
    return concat_flags(parts)
