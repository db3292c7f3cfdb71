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

import functools

import numpy as np
import pandas as pd

from core.config import Config
from core.reasons import Dimension, Reason
from core.tables import Tables, frame_cache, isin, positions_in
from features import lexicons, products, term_variants, textsim
from features.chance import chance_weight
from features.common import (
    applicant_index,
    concat_flags,
    contains_each,
    distinct_count,
    make_flags,
    per_distinct,
    rows_per_key,
    window_counter,
    window_counts,
)
from features.registry import FeatureResult, register

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
    """Public terms keyed by the same core as marks; one row per core (highest-priority category).

    Columns term, category, date, source, owner (normalised owner names joined by '|') and
    containable: whether the term also counts inside a longer mark (``features.term_variants``) —
    not a county's short name (同心, 盘龙, 北门 are everyday words). Built once per ``extra`` table
    (kept with it; the shipped lists alone once per process): several builders read it, and intake
    screening once per filing."""
    if extra is None:
        return _shipped_term_table()
    kept = frame_cache(extra)
    if "term_table" not in kept:
        kept["term_table"] = _term_table(extra)
    return kept["term_table"]


@functools.cache
def _shipped_term_table() -> pd.DataFrame:
    return _term_table(None)


def _term_table(extra: pd.DataFrame | None) -> pd.DataFrame:
    terms = lexicons.public_terms(extra)
    terms = terms.assign(core=textsim.compact(textsim.mark_norm(terms["term"])))
    terms = terms[terms["core"].str.len() >= 2]
    terms["prio"] = terms["category"].map({c: i for i, c in enumerate(CATEGORY_PRIORITY)}).fillna(len(CATEGORY_PRIORITY))
    # owners listed under any category of the core (a mascot's organiser listed as an event's)
    owners = terms.set_index("core")["owner"].str.split(";").explode().fillna("").str.strip()
    owners = pd.Series(textsim.compact(textsim.mark_norm(owners)).to_numpy(), index=owners.index)
    owners = owners[owners != ""].groupby(level=0).agg(lambda o: "|".join(sorted(set(o))))
    listed = terms.groupby("core")["listed"].any()
    terms = terms.sort_values(["core", "prio", "date"], kind="stable").drop_duplicates("core")
    terms["owner"] = owners.reindex(terms["core"]).fillna("").to_numpy()
    terms["listed"] = listed.reindex(terms["core"]).to_numpy(dtype=bool)
    terms["containable"] = ~((terms["category"] == "place")
                             & terms["note"].str.contains(r"^short of .*\(county\)", regex=True))
    return terms.set_index("core")[["term", "category", "date", "source", "owner", "containable", "listed"]]


def _own_name_contains(names: pd.Series, cores: pd.Series) -> np.ndarray:
    """Row-wise: the normalised applicant name contains the mark core (cores of >= 2 characters).

    Rows are distinct (name, core) pairs; a name recurs with each of its cores, so names are
    normalised once per distinct name."""
    return contains_each(name_norm(names), cores) & (cores.str.len() >= 2).to_numpy()


def name_norm(names: pd.Series) -> pd.Series:
    """Applicant names normalised as mark cores are (compact ``mark_norm``), once per distinct name."""
    return per_distinct(names.astype("str"), lambda n: textsim.compact(textsim.mark_norm(n)))


TRENDS_KEY = products.TRENDS  # the trend table (product TRENDS: global_trends, or the Dask engine's shuffle)
TREND_COLUMNS = ["window_start", "n_groups", "originator"]


def trend_first_filings(apps: pd.DataFrame, listed: pd.Index, cfg) -> pd.DataFrame:
    """First filing date of each unlisted core by each related-party group (core, group_id, filing_date).

    Rows are per (core, group), so partitions by group produce disjoint parts of this table."""
    a = apps[(apps["core"].str.len() >= cfg.trend_min_chars) & ~isin(apps["core"], listed) & ~apps["own_name"]]
    first = a.groupby(["core", "group_id"], sort=True).agg(filing_date=("filing_date", "min"),
                                                          name=("applicant_name", "first")).reset_index()
    grams = _substring_rows(first, listed, cfg)
    first = pd.concat([first[["core", "group_id", "filing_date"]], grams], ignore_index=True)
    first = first.groupby(["core", "group_id"], sort=True)["filing_date"].min().reset_index()
    return first[["core", "group_id", "filing_date"]]


def _grams(cores: pd.Series, cfg) -> pd.DataFrame:
    """(row, gram, rest) for every substring of ``substring_min_chars``..``substring_max_chars``
    characters of the Chinese cores of up to ``substring_core_max`` characters that is shorter than
    the core (``row``: position in ``cores``; ``rest``: the core without the substring)."""
    c = cores.astype("str").reset_index(drop=True)
    n = c.str.len()
    c = c[c.str.fullmatch(r"[\u3400-\u9fff]+") & (n > cfg.substring_min_chars) & (n <= cfg.substring_core_max)]
    n = c.str.len()
    parts = []
    for L in range(int(cfg.substring_min_chars), int(cfg.substring_max_chars) + 1):
        for i in range(int(cfg.substring_core_max) - L + 1):
            rows = c[n > max(L, i + L - 1)]
            rows = rows[rows.str.len() >= i + L]
            if len(rows):
                parts.append(pd.DataFrame({"row": rows.index.to_numpy(), "gram": rows.str.slice(i, i + L).to_numpy(),
                                           "rest": (rows.str.slice(0, i) + rows.str.slice(i + L)).to_numpy()}))
    if not parts:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "gram": pd.Series(dtype="str"),
                             "rest": pd.Series(dtype="str")})
    return pd.concat(parts, ignore_index=True)


def _substring_rows(first: pd.DataFrame, listed: pd.Index, cfg) -> pd.DataFrame:
    """Each (core, group) first filing spread to the substrings of its core, keyed by the substring:
    a term that spreads with varying affixes (木鱼X, X木鱼, 原味X木鱼) is started by many groups even
    though no two marks are equal. Not counted: a generic word (旗舰, 烧烤) or a listed term (its
    variants are matched as such), and a substring beside the
    applicant's own trade name (a fashion word added to one's house mark: 华为元宇宙). A substring
    that many filed before is no trend (``trend_max_prior``): X奶茶 has years of history."""
    g = _grams(first["core"], cfg)
    g = g[~isin(g["gram"], term_variants.generic_words()) & ~isin(g["gram"], listed)]
    name = name_norm(first["name"].iloc[g["row"].to_numpy()].reset_index(drop=True))
    own = contains_each(name, pd.Series(g["rest"].to_numpy(), dtype="str")) & (g["rest"].str.len() >= 2).to_numpy()
    g = g[~own]
    rows = g["row"].to_numpy()
    return pd.DataFrame({"core": g["gram"].to_numpy(), "group_id": first["group_id"].to_numpy()[rows],
                         "filing_date": first["filing_date"].to_numpy()[rows]})


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
    """Product TRENDS: the trend table of the whole dataset."""
    terms = term_table(tables.public_terms if len(tables.public_terms) else None)
    return trend_terms(squatting_apps(tables), terms.index, config.squatting)


def squatting_apps(tables: Tables) -> pd.DataFrame:
    """Applications with the mark core and whether the applicant's own name contains it."""
    apps = tables.applications[["application_id", "applicant_key", "group_id", "filing_date", "mark_text",
                                "applicant_name"]].copy()
    # (tables built by hand for one builder may lack the type: then no one is a natural person)
    apps["applicant_type"] = tables.applications.get("applicant_type", "")
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


def _owned(names: pd.Series, owners: pd.Series) -> np.ndarray:
    """Row-wise: the applicant is one of the term's listed owners (``owners``: normalised names
    joined by '|'): its normalised name equals one, or contains one of at least four characters
    (the person, the organiser, the authorised company and its legal forms)."""
    norm = name_norm(names)
    pairs = pd.DataFrame({"row": np.arange(len(norm)), "name": norm.to_numpy(),
                          "owner": owners.fillna("").astype("str").str.split("|").to_numpy()}).explode("owner")
    pairs = pairs[pairs["owner"].fillna("").str.len() >= 2]
    hit = (pairs["name"] == pairs["owner"]) | (
        contains_each(pairs["name"], pairs["owner"]) & (pairs["owner"].str.len() >= 4).to_numpy())
    out = np.zeros(len(norm), dtype=bool)
    out[pairs.loc[hit, "row"].to_numpy(np.int64)] = True
    return out


def owned_marks(tables: Tables) -> np.ndarray:
    """Per application: its mark is a public term that its applicant is a listed owner of (the
    organiser's mascot, the person's own name): the owner's own mark, however widely it is filed."""
    terms = term_table(tables.public_terms if len(tables.public_terms) else None)
    terms = terms[terms["owner"] != ""]
    apps = tables.applications
    core = apps["mark_core"] if "mark_core" in apps else distinct_mark_cores(apps["mark_text"])
    rows = np.flatnonzero(isin(core, terms.index))
    out = np.zeros(len(apps), dtype=bool)
    if len(rows):
        owners = terms["owner"].reindex(core.iloc[rows]).reset_index(drop=True)
        out[rows] = _owned(apps["applicant_name"].iloc[rows].reset_index(drop=True), owners)
    return out


def term_hits(apps: pd.DataFrame, terms: pd.DataFrame, cfg) -> pd.DataFrame:
    """Filings whose mark core is a public term or a variant of one (``features.term_variants``),
    not by its owner: application_id, applicant_key, group_id, filing_date, mark_text, core,
    term_core, term, category, event_date, variant, detail, strength.

    Not squatting: a filing by a listed owner of the term; a dated term filed before its date (the
    organiser's advance filing, or a name before its bearer was known); a filing whose applicant's
    own name contains the term, except a current (dated) public figure's name, which only that
    natural person (or a listed owner) may file — a company named after someone famous is not that
    person. An undated name of the shipped historical list inside a trade name (王彤工作室) is the
    company's own."""
    exact = apps[isin(apps["core"], terms.index)].assign(term_core=lambda d: d["core"], variant="exact", detail="")
    rest = apps[~isin(apps["core"], terms.index) & (apps["core"].str.len() >= 2)]
    var = term_variants.variant_matches(rest["core"], terms, cfg)
    vhit = rest.reset_index().merge(var, on="core").set_index("index")
    hit = pd.concat([exact, vhit])
    t = terms.reindex(hit["term_core"])
    for col in ("term", "category", "owner", "listed"):
        hit[col] = t[col].to_numpy()
    hit["event_date"] = t["date"].to_numpy()
    # a dated (current) public figure's name: only that person or a listed owner may file it
    person = ((hit["category"] == "person") & hit["event_date"].notna()).to_numpy()
    own_name = np.where(person, (hit["applicant_type"] == "individual").to_numpy()
                        & (name_norm(hit["applicant_name"]) == hit["term_core"]).to_numpy(),
                        hit["own_name"].to_numpy(bool))
    # a term with listed owners is theirs: a company named after it is not cleared by its name
    held = (hit["owner"].fillna("").astype("str") != "").to_numpy()
    own_name &= ~held
    days_after = (hit["filing_date"] - hit["event_date"]).dt.days
    keep = ~own_name & ~_owned(hit["applicant_name"], hit["owner"]) & (hit["event_date"].isna() | (days_after >= 0)).to_numpy()
    hit, days_after, held = hit[keep].copy(), days_after[keep], held[keep]
    weight = hit["category"].map({c: getattr(cfg, f"w_{c}") for c in CATEGORY_REASON}).astype("float64")
    # The news value of an event fades, its name stays protected; a person's, a place's and a
    # generic term's standing does not fade with time, nor does a term someone holds (a listed
    # owner: the organiser's mascot is the organiser's, whatever the news).
    fading = hit["category"].isin(["event", "other"]).to_numpy() & hit["event_date"].notna().to_numpy() & ~held
    recency = np.where(fading, np.maximum(cfg.event_floor, np.exp(-days_after.fillna(0).clip(lower=0)
                                                                    / cfg.event_decay_days)), 1.0)
    hit["strength"] = (weight * recency * np.where(hit["variant"] == "exact", 1.0, cfg.variant_strength)).to_numpy()
    # A wave: many unrelated applicants filing the same term within weeks is the clearest signal.
    first = hit.groupby(["term_core", "group_id"], sort=True)["filing_date"].min().reset_index()
    first = first.sort_values(["term_core", "filing_date", "group_id"], kind="stable").reset_index(drop=True)
    count = window_counter(first["term_core"], first["filing_date"])
    # groups whose first filing of the term falls in a window (ending or starting at it) with the others
    n = np.maximum(count(cfg.trend_window_days), count(cfg.trend_window_days, forward=True))
    # a member of a wave reports the wave's size (its largest window)
    largest = pd.Series(n).groupby(first["term_core"].to_numpy()).transform("max").to_numpy()
    first["n_wave"] = np.where(n >= cfg.trend_min_groups, largest, n)
    at = pd.MultiIndex.from_frame(first[["term_core", "group_id"]]).get_indexer(
        pd.MultiIndex.from_frame(hit[["term_core", "group_id"]]))
    hit["n_wave"] = first["n_wave"].to_numpy()[at]
    in_wave = hit["n_wave"].to_numpy() >= cfg.trend_min_groups
    hit["strength"] = np.where(in_wave, np.maximum(hit["strength"], cfg.w_wave), hit["strength"])
    # one term per filing: the strongest (ties: the exact term, then the term's text)
    hit = hit.sort_values(["strength", "term_core"], ascending=[False, True], kind="stable")
    return hit[~hit["application_id"].duplicated()].sort_index(kind="stable")


def _trend_hits(apps: pd.DataFrame, trends: pd.DataFrame, cfg) -> pd.DataFrame:
    """Filings of trend terms on or after the trend's window opened, not by its originator: the
    term itself (strength ``w_trend``) or a mark containing it (× ``variant_strength``); columns of
    ``apps`` plus term, n_groups, strength."""
    whole = apps[isin(apps["core"], trends.index)].assign(term=lambda d: d["core"], part=False)
    rest = apps[~isin(apps["core"], trends.index)]
    cores = pd.Series(pd.unique(rest["core"].astype("str")), dtype="str")
    g = _grams(cores, cfg)
    g = g[isin(g["gram"], trends.index)].drop_duplicates("row")
    found = pd.DataFrame({"term": g["gram"].to_numpy(), "beside": g["rest"].to_numpy()},
                         index=cores.iloc[g["row"].to_numpy()].to_numpy())
    part = rest[isin(rest["core"], found.index)]
    f = found.reindex(part["core"])
    part = part.assign(term=f["term"].to_numpy(), part=True)
    # the term beside the applicant's own trade name is a fashion word on its house mark (华为元宇宙)
    beside = pd.Series(f["beside"].to_numpy(), index=part.index, dtype="str")
    own = contains_each(name_norm(part["applicant_name"]), beside) & (beside.str.len() >= 2).to_numpy()
    part = part[~own]
    tr = pd.concat([whole, part])
    tinfo = trends.reindex(tr["term"])
    keep = ((tr["filing_date"].to_numpy() >= tinfo["window_start"].to_numpy())
            & (tr["group_id"].to_numpy() != tinfo["originator"].to_numpy()))
    tr, tinfo = tr[keep].copy(), tinfo[keep]
    tr["n_groups"] = tinfo["n_groups"].to_numpy()
    tr["strength"] = cfg.w_trend * np.where(tr["part"], cfg.variant_strength, 1.0)
    return tr


def _chance_weights(apps: pd.DataFrame, hit: pd.DataFrame, idx: pd.Index, config: Config) -> np.ndarray:
    """Per term hit, the weight its applicant's severity gives it. A mark that only happens to be a
    name or word of the built-in lists (an undated two-character name such as 王威 is also many
    people's own name and an everyday phrase) is a coincidence a large portfolio meets by chance:
    such hits are weighed by how far the applicant's number of them is beyond its peers'
    (``features.chance``, the infringement builder's test, on distinct mark cores). A term the
    operator listed, a dated one (a current figure or event) and a filing in a wave keep their full
    weight. The application's own flag keeps its strength either way."""
    by_chance = (~hit["listed"].astype(bool) & hit["event_date"].isna()
                 & (hit["n_wave"] < config.squatting.trend_min_groups)).to_numpy()
    if not by_chance.any():
        return np.ones(len(hit))
    n = distinct_count(positions_in(idx, apps["applicant_key"]), apps["core"].astype("str").to_numpy(), len(idx))
    hit_k = positions_in(idx, hit["applicant_key"])
    k = distinct_count(hit_k[by_chance], hit["core"].astype("str").to_numpy()[by_chance], len(idx))
    weight = chance_weight(pd.Series(k), pd.Series(n), config.infringement).to_numpy()
    return np.where(by_chance, weight[hit_k], 1.0)


@register(Dimension.SQUATTING, needs=(products.TRENDS,))
def build_squatting(tables: Tables, config: Config) -> FeatureResult:
    cfg = config.squatting
    apps = squatting_apps(tables)
    idx = applicant_index(apps)
    terms = term_table(tables.public_terms if len(tables.public_terms) else None)
    hit = term_hits(apps, terms, cfg)

    trends = tables.extras[TRENDS_KEY]
    tr = _trend_hits(apps[~apps["own_name"] & ~isin(apps["application_id"], hit["application_id"])], trends, cfg)

    # per applicant by row position in idx (Arrow look-ups), see rows_per_key
    n_apps = rows_per_key(idx, apps["applicant_key"])
    chance = _chance_weights(apps, hit, idx, config)
    strength = pd.concat([hit[["applicant_key"]].assign(strength=hit["strength"].to_numpy() * chance),
                          tr[["applicant_key", "strength"]]])
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
        how = np.where(h["variant"] == "exact", "' is the ", "' (" + h["variant"] + ": " + h["detail"] + ") points to the ")
        wave = np.where(h["n_wave"] >= cfg.trend_min_groups, "; one of " + h["n_wave"].astype(str)
                        + f" unrelated applicants filing it within {cfg.trend_window_days} days", "")
        ev = "'" + h["mark_text"].astype(str) + how + cat + " term '" + h["term"].astype(str) + "'" + date_txt + wave
        parts.append(make_flags(h, reason, ev, h["strength"]))
    if len(tr):
        what = np.where(tr["part"], "contains '" + tr["term"].astype(str) + "', a term", "term")
        ev = ("'" + tr["mark_text"].astype(str) + "': " + what + " filed by " + tr["n_groups"].astype(int).astype(str)
              + f" unrelated applicants within {cfg.trend_window_days} days, on no public list")
        parts.append(make_flags(tr, Reason.SQUAT_TREND, ev, tr["strength"]))
    details = pd.concat([
        hit.assign(kind=hit["category"])[["application_id", "applicant_key", "term", "kind", "event_date"]],
        tr.assign(kind="trend", event_date=pd.NaT)[["application_id", "applicant_key", "term",
                                                                      "kind", "event_date"]],
    ], ignore_index=True)
    return FeatureResult(applicant=feat, severity=severity, flags=concat_flags(parts), details=details)
