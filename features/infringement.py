"""Infringement (侵权 / 傍名牌) feature builder.

For every application with a word mark, the best match among

1. **protected marks** (``tables.protected_marks``): any class; weaker when no class is shared;
2. **clearly earlier marks of other, unrelated owners** in the dataset: filed at least
   ``earlier_margin_days`` before the application, in the same Nice class; when the goods text
   maps to 类似群 similar groups (``features.lexicons.goods_to_groups``) the relation is refined to
   "same_group" (goods in one similar group are similar: the strongest relation);

never the applicant itself (``applicant_key``), its related-party group (``group_id``), nor the
protected mark's owner (``owner_key``, or that owner's group). Marks are matched on distinct texts
with ``features.similarity`` (blocking + rapidfuzz), then joined back to applications.

Protected marks are also scanned with wider rules (``features.famous``). Strength of a match (in
[0, 1]) = similarity x class weight x source weight x established use, where established use
(earlier marks only) rewards an owner that filed the mark several times over years before the
newcomer: ``base + (1 - base) * (1 - exp(-n / n_scale)) * min(1, years / y_scale)`` (famous marks
the protected list lacks are caught this way); an earlier-mark match is divided by how crowded its
field is (``_crowded_field``). An application is flagged when its best match reaches ``min_strength``.

Per applicant: infringement_n_copies, infringement_n_owners_copied, infringement_copy_share,
infringement_best_similarity, infringement_n_protected, infringement_strength_sum (one per resembled
mark family), infringement_chance_dilution, infringement_chance_style. Severity = w_copies x sum over chance cells (source x
tier x length) of the evidence times the cell's chance weight (``_chance_weight``, its expected
number scaled by the portfolio's ``chance_style``; double identity and look-alike letters on a
protected mark at weight 1) + w_owners x
log1p(further owners resembled) x the strongest cell weight + w_share x copy share (docs/features.md,
"Infringement").
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
import pandas as pd

from core.reasons import FLAG_COLUMNS, Dimension, Reason
from core.tables import Tables, arrow_strings, frame_cache, isin, positions_in, sorted_unique, split_tokens
from features import kernels as kn
from features import products
from features import similarity as sim
from features import textsim as ts
from features.chance import chance_style, chance_weight
from features.common import applicant_index, contains_each, distinct_count
from features.lexicons import group_rows
from features.registry import FeatureResult, empty_flags, register

DETAIL_COLUMNS = [
    "application_id", "applicant_key", "mark_text", "matched_text", "matched_owner", "matched_source",
    "matched_filing_date", "kind", "similarity", "class_relation", "matched_class", "strength", "evidence",
]
APPLICANT_COLUMNS = [
    "infringement_n_copies", "infringement_n_owners_copied", "infringement_copy_share",
    "infringement_best_similarity", "infringement_n_protected", "infringement_strength_sum",
    "infringement_chance_dilution", "infringement_chance_style",
]


def _classes(frame: pd.DataFrame, column: str, row: str) -> pd.DataFrame:
    """(row, nice_class) pairs, class as int; rows without a valid class are left out."""
    pos, tokens = split_tokens(frame[column], r"[;,；，\s]+")  # in Arrow: no Python list per row
    c = pd.to_numeric(tokens, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ok = (c >= 1) & (c <= 45)
    return pd.DataFrame({row: frame[row].to_numpy()[pos[ok]], "nice_class": c[ok].astype("int64")}).drop_duplicates()


def _similar_groups(apps: pd.DataFrame, cfg) -> pd.DataFrame | None:
    """(row, sgroup) 类似群 codes of the applications' goods, or None when none map. The lists are
    sorted and distinct per application (``lexicons.goods_to_groups``)."""
    if not cfg.use_similar_groups or "sgroups" not in apps.columns:
        return None
    pos, sgroup = group_rows(apps["sgroups"])
    out = pd.DataFrame({"row": apps["row"].to_numpy()[pos], "sgroup": sgroup})
    out = out[out["sgroup"].fillna("").str.len() > 0]
    return out if len(out) else None


def _gap_text(days: pd.Series) -> pd.Series:
    d = days.astype("float64").fillna(0.0)
    years = (d / 365.25).round().astype("Int64").astype("str") + "y"
    months = (d / 30.44).round().clip(lower=1).astype("Int64").astype("str") + "m"
    return pd.Series(np.where(d >= 365.25 * 0.75, years, months), index=days.index, dtype="str")


def _empty_result(keys: pd.Index) -> FeatureResult:
    applicant = pd.DataFrame(0.0, index=keys, columns=APPLICANT_COLUMNS)
    for c in ("infringement_n_copies", "infringement_n_owners_copied", "infringement_n_protected"):
        applicant[c] = applicant[c].astype("int64")
    details = pd.DataFrame({c: pd.Series(dtype="str") for c in DETAIL_COLUMNS})
    return FeatureResult(applicant=applicant, severity=pd.Series(0.0, index=keys, name="infringement_severity"),
                         flags=empty_flags(), details=details)


# the builder's intermediate products (features.products): made by the functions below, in process
# or ahead by pipeline.marks_job / the Dask engine
MARKS_KEY = products.MARKS  # distinct_marks(applications)
MATCHES_KEY = products.MATCHES  # their self-join, sim.match_prepared(marks, None)
PROTECTED_MATCHES_KEY = products.PROTECTED_MATCHES  # the marks against the protected list


def _mark_texts(mark_text: pd.Series) -> pd.Series:
    return mark_text.astype("str").fillna("").str.strip()


def distinct_marks(applications: pd.DataFrame, config) -> pd.DataFrame:
    """The distinct word marks of ``applications``, in order of first filing row, prepared for
    matching (``sim.prepare_marks``; ``id`` = position)."""
    text = _mark_texts(applications["mark_text"])
    uniq = pd.unique(text[text.str.len() > 0])
    return sim.prepare_marks(pd.DataFrame({"id": np.arange(len(uniq)), "text": np.asarray(uniq, dtype=object)}),
                             config)


def marks_product(tables, config) -> pd.DataFrame:
    """Product MARKS: the distinct marks of the register, prepared."""
    return distinct_marks(tables.applications, config)


def matches_product(tables, config) -> pd.DataFrame:
    """Product MATCHES: the distinct marks against each other."""
    return sim.match_prepared(tables.extras[MARKS_KEY], None, config)


def protected_matches_product(tables, config) -> pd.DataFrame | None:
    """Product PROTECTED_MATCHES: the distinct marks against the protected list (None without one)."""
    P = protected_prepared(tables.protected_marks, config)
    return None if P is None else protected_matches(tables.extras[MARKS_KEY], P, config)


def mark_similarity(applications: pd.DataFrame, protected_marks: pd.DataFrame | None, config) -> dict:
    """The products of the builder's similarity work, which read mark texts only (not entities): as
    ``Tables.extras`` entries, made by the marks process (``pipeline.marks_job``) while the parent
    resolves entities."""
    tables = Tables(applications, pd.DataFrame(), pd.DataFrame(), protected_marks, pd.DataFrame())
    out = products.ensure(tables, config, (MATCHES_KEY, PROTECTED_MATCHES_KEY)).extras
    sim.forget_keys(out[MARKS_KEY])
    return out


def _protected_texts(prot: pd.DataFrame | None) -> pd.Series | None:
    if prot is None or not len(prot) or "mark_text" not in prot.columns:
        return None
    return prot["mark_text"].astype("str").fillna("").str.strip().reset_index(drop=True)


def protected_prepared(prot: pd.DataFrame | None, config) -> pd.DataFrame | None:
    """The distinct non-empty protected mark texts, prepared (row = code of ``pd.factorize``); kept
    with the protected table (``frame_cache``), so that its key index is built once per table."""
    ptext = _protected_texts(prot)
    if ptext is None or not (ptext.str.len() > 0).any():
        return None
    kept = frame_cache(prot)
    tag = ("prepared", config.digest())
    if tag not in kept:
        puniq = pd.unique(ptext[ptext.str.len() > 0])
        kept[tag] = sim.prepare_marks(pd.DataFrame({"id": np.arange(len(puniq)),
                                                    "text": np.asarray(puniq, dtype=object)}), config)
    return kept[tag]


def protected_matches(T: pd.DataFrame, P: pd.DataFrame, config) -> pd.DataFrame:
    """The marks ``T`` against the protected marks ``P``: the similarity engine with the protected
    marks' wider thresholds, and the well-known-mark scan (``features.famous``); per pair the
    strongest."""
    from features.famous import famous_matches

    both = pd.concat([sim.match_prepared(T, P, _wide_scope(config)), famous_matches(T, P, config)],
                     ignore_index=True)
    both = both.sort_values(["q", "r", "similarity", "kind"], ascending=[True, True, False, True], kind="stable")
    return both.drop_duplicates(["q", "r"]).reset_index(drop=True)


def _wide_scope(config):
    """Protected (well-known) marks get a wider scope of protection (Trademark Law art. 13): a
    lower edit-similarity bar than ordinary earlier marks."""
    cfg = config.infringement
    return config.with_overrides({"infringement": {
        "min_edit_latin": cfg.min_edit_latin_protected, "min_edit_han": cfg.min_edit_han_protected,
        "min_len_shape_han": cfg.min_len_shape_han_protected,
        "han_substitution_min_len": cfg.han_substitution_min_len_protected,
        "dictionary_words_differ": cfg.dictionary_words_differ_protected}})


@register(Dimension.INFRINGEMENT, needs=(products.MARKS, products.MATCHES, products.PROTECTED_MATCHES,
                                        products.RELATED_CLASSES, products.TRENDS))
def build_infringement(tables, config) -> FeatureResult:
    """Copies of protected or clearly earlier marks of other owners (pure; inputs untouched)."""
    cfg = config.infringement
    src = tables.applications
    keys = applicant_index(src)
    cols = ["application_id", "filing_date", "mark_text", "nice_classes", "applicant_name", "applicant_key"]
    apps = src[cols + [c for c in ("group_id", "mark_core") if c in src.columns]].copy()
    apps = apps.reset_index(drop=True)
    apps["row"] = np.arange(len(apps))
    if cfg.use_similar_groups:
        from features.lexicons import similar_groups_of

        apps["sgroups"] = similar_groups_of(src).to_numpy()
    apps["applicant_key"] = apps["applicant_key"].astype("str")
    if "group_id" not in apps.columns:
        apps["group_id"] = apps["applicant_key"]
    apps["group_id"] = apps["group_id"].astype("str").fillna(apps["applicant_key"])
    apps["filing_date"] = pd.to_datetime(apps["filing_date"])
    apps["text"] = _mark_texts(apps["mark_text"])
    marked = apps[apps["text"].str.len() > 0]
    if marked.empty:
        return _empty_result(keys)

    # ---- distinct texts and their matches (products MARKS, MATCHES, PROTECTED_MATCHES)
    T = tables.extras[MARKS_KEY]
    tid = np.full(len(apps), -1, dtype=np.int64)  # apps has a fresh RangeIndex: labels are positions
    tid[marked.index.to_numpy()] = positions_in(T["text"], marked["text"])  # (Arrow look-up of 10M texts)
    apps["tid"] = tid
    # the columns the paths below read (a copy of every column of a million rows is hundreds of MB)
    q_apps = apps.loc[apps["tid"] >= 0, [c for c in ("row", "tid", "applicant_key", "group_id", "filing_date",
                                                     "nice_classes", "mark_core") if c in apps.columns]]

    candidates = []
    own_brand_rows: set = set()
    # ---- the marks against themselves (path 1 below) and against the protected list (path 2)
    m = tables.extras[MATCHES_KEY]
    P = protected_prepared(tables.protected_marks, config)
    if P is not None:
        pm = tables.extras[PROTECTED_MATCHES_KEY]
        candidates.append(_protected_path(apps, q_apps, T, tables.protected_marks, P, pm, own_brand_rows, cfg))
    sim.forget_keys(T)  # the blocking keys of half a million marks are not needed any more
    # ---- path 1: earlier marks of other owners in the dataset
    dist = np.flatnonzero(T["distinctive"].to_numpy())
    ident = pd.DataFrame({"q": dist, "r": dist, "similarity": cfg.kind_score.exact, "kind": "exact",
                          "detail": "same mark"})
    cols_m = ["q", "r", "similarity", "kind", "detail"]
    directed = pd.concat([m[cols_m], m[cols_m].rename(columns={"q": "r", "r": "q"}), ident], ignore_index=True)
    del m
    # A public term (place, person, event, generic) or an unlisted trend is no one's mark: filing it
    # after someone else is squatting (its own dimension), not copying that someone.
    public = _public_texts(tables, config, T, q_apps)
    directed = directed[~public[directed["r"].to_numpy()]]
    if len(directed):
        candidates.append(_earlier_path(apps, q_apps, directed, T, tables.extras[products.RELATED_CLASSES], cfg))
    candidates = [c for c in candidates if c is not None and len(c)]
    if not candidates:
        return _empty_result(keys)
    cand = pd.concat(candidates, ignore_index=True)
    # An owner filing its own protected brand is never a copycat, whoever filed a look-alike first.
    cand = cand[~cand["row"].isin(own_brand_rows)]
    cand = _own_name(cand, apps, T, cfg)
    best = _best_per_row(cand)
    family = ts.mark_family(pd.Series(T["text"].to_numpy(), dtype="str")).to_numpy(dtype=object)
    best = _crowded_field(best, apps, family, cfg)
    best = best[best["strength"] >= cfg.min_strength].copy()
    if best.empty:
        return _empty_result(keys)

    # ---- evidence
    reason = best["kind"].map({k: r.value for k, r in sim.KINDS.items()}).astype("str")
    a = apps.iloc[best["row"].to_numpy()]  # "row" is the position
    best["application_id"] = a["application_id"].astype("str").to_numpy()
    best["applicant_key"] = a["applicant_key"].to_numpy()
    best["mark_text"] = a["text"].to_numpy()
    best["reason"] = reason.to_numpy()
    rel = np.select([best["class_relation"] == "same_class", best["class_relation"] == "same_group",
                     best["class_relation"] == "related_class"],
                    ["class " + best["matched_class"], "similar group " + best["matched_class"],
                     "related class " + best["matched_class"]], "no shared class (protected mark)")
    when = np.where(best["matched_source"] == "protected", "protected mark",
                    "filed " + _gap_text(best["gap_days"]).to_numpy() + " later")
    best["evidence"] = (best["reason"] + ": " + best["mark_text"] + " ~ " + best["matched_text"] + " ("
                        + best["detail"].astype("str") + "), " + rel + ", owner " + best["matched_owner"]
                        + ", " + when)
    best["kind"] = best["reason"]
    flags = best[FLAG_COLUMNS].reset_index(drop=True)
    flags["strength"] = flags["strength"].clip(0.0, 1.0).astype("float64")
    details = best[DETAIL_COLUMNS].reset_index(drop=True)

    # ---- per applicant, on integer applicant codes (groupbys and reindexes on millions of string
    # keys were the builder's last memory peak at 10M applications)
    k_app = positions_in(keys, apps["applicant_key"])
    k_best = k_app[best["row"].to_numpy()]
    n_keys = len(keys)

    def per_key(k: np.ndarray, weights=None) -> np.ndarray:
        return np.bincount(k, weights=weights, minlength=n_keys)

    def distinct_per_key(k: np.ndarray, values: np.ndarray) -> np.ndarray:
        return distinct_count(k, values, n_keys)

    strength = best["strength"].to_numpy(dtype="float64")
    protected = (best["matched_source"] == "protected").to_numpy()
    n_filings = per_key(k_app)
    applicant = pd.DataFrame(index=keys)
    applicant["infringement_n_copies"] = per_key(k_best).astype("int64")
    applicant["infringement_n_owners_copied"] = distinct_per_key(k_best, best["owner_id"].to_numpy()).astype("int64")
    applicant["infringement_copy_share"] = np.divide(applicant["infringement_n_copies"].to_numpy(), n_filings,
                                                     out=np.zeros(n_keys), where=n_filings > 0)
    best_similarity = np.zeros(n_keys)
    np.maximum.at(best_similarity, k_best, best["similarity"].to_numpy(dtype="float64"))
    applicant["infringement_best_similarity"] = best_similarity
    applicant["infringement_n_protected"] = per_key(k_best[protected]).astype("int64")
    # Evidence counts once per resemblance: per applicant and *target* (the resembled mark's family:
    # the pinyin of its distinctive core), its strongest filing. 石思, 石思烘焙, SHISI and 石思 SHISI
    # resembling 石斯 are one resemblance, filed in ten classes still one.
    target = ts.mark_family(best["matched_text"].astype("str")).to_numpy(dtype=object)
    target_code = pd.factorize(target)[0]
    one = kn.strongest_per_pair(k_best, target_code, strength)
    # Several different marks of one applicant imitating the same protected mark (its exact copy,
    # its transliteration, the copy with an added word …) are systematic imitation, not a slip: the
    # resemblance counts once more for each further variant, up to protected_variants_max times.
    variants = kn.distinct_per_pair(k_best, target_code, apps["tid"].to_numpy()[best["row"].to_numpy()])
    evidence = strength * np.where(protected, np.minimum(variants, cfg.protected_variants_max), 1.0)
    applicant["infringement_strength_sum"] = per_key(k_best[one], strength[one])
    # Each resemblance is evidence in proportion to its strength; resembling several different
    # owners adds a pattern term. Resemblances also happen by chance, the more often the larger the
    # portfolio: protected and earlier marks alike count by how far the applicant's number of them
    # is beyond its peers' (`_chance_weight`), each source against its own rate, on the applicant's
    # mark families: how many it filed, how many of them resemble another owner's mark.
    q_rows = q_apps["row"].to_numpy()
    families_filed = pd.Series(distinct_per_key(k_app[q_rows], family[apps["tid"].to_numpy()[q_rows]]), index=keys)
    # Chance is judged per source (protected list / earlier marks in the register) and per tier of
    # resemblance: an identical copy (same mark, look-alike letters) happens by chance far more
    # rarely than a sound-alike or a one-letter edit.
    identical = best["reason"].isin([Reason.INFRINGEMENT_EXACT.value, Reason.INFRINGEMENT_CONFUSABLE.value]).to_numpy()
    # ... and by the length of the mark: two-character Chinese marks and short Latin ones meet
    # sound-alikes and reorderings by chance far more often than longer ones.
    t_row = apps["tid"].to_numpy()[best["row"].to_numpy()]
    own_family = family[t_row]
    short = np.where(T["han"].to_numpy()[t_row], T["clen"].to_numpy()[t_row] <= cfg.short_mark_han,
                     T["clen"].to_numpy()[t_row] <= cfg.short_mark_latin)
    # Resemblance by chance is symmetric in time, copying is not: a portfolio whose marks later
    # filings of unrelated owners resemble as often as its own marks resemble earlier ones writes in
    # a crowded style, and its chance count is scaled up by that (``chance_style``) ...
    earlier_rows = ~protected
    owner_code = positions_in(keys, best["owner_id"][earlier_rows].astype("str").str.removeprefix("a:"))
    mine = owner_code >= 0
    # ... judged for the related-party group as a whole: its members write in one house style
    g_code, g_names = pd.factorize(apps["group_id"].to_numpy()[q_rows])
    key_group = np.full(n_keys, -1, dtype=np.int64)
    key_group[k_app[q_rows]] = g_code
    g_resembled = distinct_count(key_group[owner_code[mine]], target_code[earlier_rows][mine], len(g_names))
    g_filed = distinct_count(g_code, family[apps["tid"].to_numpy()[q_rows]], len(g_names))
    g_style = chance_style(pd.Series(g_resembled), pd.Series(g_filed)).to_numpy()
    style = pd.Series(np.where(key_group >= 0, g_style[np.maximum(key_group, 0)], 1.0), index=keys)
    # Some resemblances to a protected mark are never chance, so no rate of the register discounts
    # them: the same mark on the same goods (double identity: the same class or similar group), and
    # letters swapped for look-alike digits or symbols (RUV1S for RUVIS), which only a copyist writes.
    in_class = best["class_relation"].isin(["same_class", "same_group"]).to_numpy()
    certain = protected & ((best["reason"] == Reason.INFRINGEMENT_CONFUSABLE.value).to_numpy()
                           | ((best["reason"] == Reason.INFRINGEMENT_EXACT.value).to_numpy() & in_class))
    severity = pd.Series(per_key(k_best[one & certain], evidence[one & certain]), index=keys)
    dilution = pd.Series(np.where(per_key(k_best[certain]) > 0, 1.0, 0.0), index=keys)
    for source, tier, length in itertools.product((protected, ~protected), (identical, ~identical), (short, ~short)):
        cell = source & tier & length & ~certain
        hit = pd.Series(distinct_per_key(k_best[cell], own_family[cell]), index=keys)
        weight = chance_weight(hit, families_filed, cfg, style)
        severity += pd.Series(per_key(k_best[one & cell], evidence[one & cell]), index=keys) * weight
        dilution = np.maximum(dilution, weight)
    applicant["infringement_chance_dilution"] = dilution.astype("float64")
    applicant["infringement_chance_style"] = style.astype("float64")
    extra_owners = np.maximum(applicant["infringement_n_owners_copied"] - 1, 0)
    severity = (cfg.severity_w_copies * severity
                + cfg.severity_w_owners * np.log1p(extra_owners) * dilution
                + cfg.severity_w_share * applicant["infringement_copy_share"]).rename("infringement_severity")
    return FeatureResult(applicant=applicant, severity=severity.astype("float64"), flags=flags, details=details)


def _crowded_field(best: pd.DataFrame, apps: pd.DataFrame, family: np.ndarray, cfg) -> pd.DataFrame:
    """Divide the strength of each earlier-mark resemblance by how crowded its field is: the number
    of different related-party groups (other than the applicant's) that had filed a mark of the
    earlier mark's family (``textsim.mark_family``: same sound of the distinctive core) before the
    application. A mark that many owners adopted independently (a common word, a popular sound)
    protects little beyond itself, so resembling it says little about copying (the crowded-field
    rule); a coined mark held by one owner keeps its full weight. Protected marks are not diluted."""
    earlier = (best["matched_source"] == "earlier").to_numpy()
    if not earlier.any():
        return best
    marked = apps[apps["tid"] >= 0]
    fam_code, fams = pd.factorize(pd.Series(family[marked["tid"].to_numpy()], dtype="str"))
    first = (pd.DataFrame({"fam": fam_code, "g": marked["group_id"].to_numpy(), "day": kn.days(marked["filing_date"])})
             .groupby(["fam", "g"], sort=False)["day"].min().reset_index())
    span = int(first["day"].max() - first["day"].min()) + 2
    lo = int(first["day"].min())
    sorted_code = np.sort(first["fam"].to_numpy(np.int64) * span + (first["day"].to_numpy(np.int64) - lo))
    rows = best.loc[earlier]
    target = pd.Index(fams).get_indexer(ts.mark_family(rows["matched_text"].astype("str")))
    a = apps.iloc[rows["row"].to_numpy()]
    day = np.clip(kn.days(a["filing_date"]) - lo, 0, span - 1)
    # groups with a filing of the family strictly before the application day
    before = (np.searchsorted(sorted_code, target.astype(np.int64) * span + day)
              - np.searchsorted(sorted_code, target.astype(np.int64) * span))
    own = pd.DataFrame({"fam": target, "g": a["group_id"].to_numpy()}).merge(first, on=["fam", "g"], how="left")
    before = before - (own["day"].to_numpy(np.float64) - lo < day)
    crowd = np.where(target >= 0, np.maximum(before, 1), 1)
    out = best.copy()
    strength = out["strength"].to_numpy(np.float64).copy()
    strength[earlier] = strength[earlier] / crowd
    out["strength"] = strength
    return out


def _public_texts(tables, config, T: pd.DataFrame, q_apps: pd.DataFrame) -> np.ndarray:
    """Per distinct text of ``T``: its core is a listed public term or an unlisted trend, decided by
    the squatting builder's own functions (the same terms and trends it flags)."""
    from features.squatting import mark_core, term_table

    terms = term_table(tables.public_terms if len(tables.public_terms) else None)
    trends = tables.extras[products.TRENDS]
    if "mark_core" in q_apps.columns:  # computed once for all builders (pipeline.score.compute)
        first = q_apps.drop_duplicates("tid")
        core = pd.Series(first["mark_core"].to_numpy(), index=first["tid"].to_numpy()).sort_index()
        core = pd.Series(core.reindex(np.arange(len(T))).to_numpy(), dtype="str")
    else:
        core = mark_core(T["text"])
    return np.asarray(isin(core, terms.index) | isin(core, trends.index))


def _own_name(cand: pd.DataFrame, apps: pd.DataFrame, T: pd.DataFrame, cfg) -> pd.DataFrame:
    """Down-weight house marks: the applicant's own name contains the application's mark core (or
    its pinyin, or across scripts its transliteration reading)."""
    a = apps[["tid", "applicant_name"]].iloc[cand["row"].to_numpy()].reset_index(drop=True)  # "row": position
    pairs = pd.DataFrame({"tid": a["tid"].to_numpy(), "name": a["applicant_name"].astype("str").fillna("").to_numpy()})
    uniq = pairs.drop_duplicates().reset_index(drop=True)
    from features.textsim import compact, mark_norm, pinyin_key, reads_inside

    uniq["name_c"] = compact(mark_norm(uniq["name"])).to_numpy()
    # The pinyin of a Chinese name too: XIYU filed by 喜宇纺织 is its own trade name, romanised.
    uniq["name_py"] = pinyin_key(uniq["name"]).str.lower().to_numpy()
    uniq["core"] = T["core"].to_numpy()[uniq["tid"].to_numpy()]
    core, name_c, name_py = (pd.Series(uniq[c].to_numpy(), dtype="str") for c in ("core", "name_c", "name_py"))
    # ... and across scripts, the name transliterated (维尔拉玛斯 filed by Velramas Beverages)
    uniq["own"] = (core.str.len() >= 2).to_numpy() & (contains_each(name_c, core) | contains_each(name_py, core)
                                                       | reads_inside(core, name_c))
    own = pairs.merge(uniq[["tid", "name", "own"]], on=["tid", "name"], how="left")["own"].fillna(False).to_numpy()
    # Not for a protected mark the name takes whole — the same mark, look-alike letters or characters,
    # the same sound, its transliteration (乔丹 for JORDAN), the mark with words added: a company
    # naming itself after a famous mark is the classic abuse. A name that only approximates one
    # (BOSOLS ~ Botol, letters edited) is the company's own coined name.
    takes_whole = cand["kind"].isin(["exact", "confusable", "shape", "homophone", "transliteration",
                                     "affix"]).to_numpy()
    applies = own & ((cand["matched_source"] == "earlier").to_numpy() | ~takes_whole)
    out = cand.copy()
    out["strength"] = np.where(applies, out["strength"] * cfg.own_name_weight, out["strength"])
    return out


_CHUNKS = 32
_CHUNK_APPLICATIONS = 31_250  # at most this many applications per chunk above 1M (32 chunks up to 1M)
_MIN_CHUNK_APPLICATIONS = 5_000  # at least this many per chunk (fewer chunks below 160,000 applications)


class EarlierCandidates(NamedTuple):
    """Candidate (application in a class unit, matched mark, earlier owner of it) rows as arrays."""
    day: np.ndarray          # the application's filing day
    applicant: np.ndarray    # its applicant code
    group: np.ndarray        # its related-party group code
    brand_first: np.ndarray  # the applicant's group's first filing day of its mark (any class)
    owner_day: np.ndarray    # the earlier owner's first filing day of the matched mark in the unit's class
    owner: np.ndarray        # the earlier owner's applicant code
    owner_group: np.ndarray  # its group code
    owner_first: np.ndarray  # its first filing day of the matched mark (any class)
    dictionary: np.ndarray   # either mark is a dictionary word
    related_class: bool      # the unit is a class related to the application's, not its own


def is_earlier_mark_of_another(c: EarlierCandidates, margin: int) -> np.ndarray:
    """The earlier-mark rule: a resemblance counts against an application when the matched mark is
    1. another owner's, outside the applicant's related-party group;
    2. filed by that owner in the unit's class at least ``margin`` days before the application;
    3. older than the applicant's brand: a brand is judged by its own age, not by the class it is
       extended to — where the applicant's group filed its mark (any class) before the owner first
       filed the other (any class), the applicant's mark is the older one and no copy;
    4. in a related class (not the application's own), a coined mark: dictionary words (OASIS,
       CLOVER) coexist across markets, a coined mark reappearing in a related market does not."""
    return ((c.owner != c.applicant) & (c.owner_group != c.group)
            & (c.owner_day <= c.day - margin)
            & (c.brand_first >= c.owner_first + margin)
            & ~(c.related_class & c.dictionary))


def _earlier_pairs(u: dict, links: tuple, link_r, link_m, ref: dict, is_dict, related: bool, margin: int) -> pd.DataFrame:
    """(application class unit) x (matched mark) x (earlier owner of that mark in the unit), kept
    by ``is_earlier_mark_of_another``; one row per (application, mark, owner): the earliest
    reference, then the lowest class. numpy joins on integer codes (pandas merges of these tables
    took most of the builder's memory)."""
    li, ki = kn.gather_join(u["tid"], *links)
    r = link_r[ki]
    if related:  # (dictionary words are dropped before the class join: the join is the costly step)
        keep = ~is_dict[u["tid"][li]] & ~is_dict[r]
        li, ki, r = li[keep], ki[keep], r[keep]
    unit = u["unit"][li]
    li2, ri = kn.gather_mark_class(r, unit, ref["classes"])
    li, ki, r, unit = li[li2], ki[li2], r[li2], unit[li2]
    r_day, r_a = ref["r_day"][ri], ref["r_a"][ri]
    n_texts = ref["n_texts"]
    keep = is_earlier_mark_of_another(EarlierCandidates(
        day=u["day"][li], applicant=u["a"][li], group=u["g"][li],
        brand_first=kn.first_day(ref["group_first"], u["g"][li] * n_texts + u["tid"][li]),
        owner_day=r_day, owner=r_a, owner_group=ref["r_g"][ri],
        owner_first=kn.first_day(ref["owner_first"], r_a * n_texts + r),
        dictionary=is_dict[u["tid"][li]] | is_dict[r], related_class=related), margin)
    p = pd.DataFrame({"row": u["row"][li[keep]], "unit": unit[keep], "day": u["day"][li[keep]],
                      "r": r[keep], "m": link_m[ki[keep]], "r_a": r_a[keep], "r_day": r_day[keep],
                      "r_row": ref["r_row"][ri[keep]], "ri": ri[keep]})
    return p.sort_values(["r_day", "unit"], kind="stable").drop_duplicates(["row", "r", "r_a"])


def _earlier_path(apps, q_apps, directed, T, rel: pd.DataFrame, cfg) -> pd.DataFrame | None:
    """Per application and class relation, its strongest candidate earlier mark of another owner.

    The (application, class) x (matched mark) x (earlier owner) joins are the largest tables of a
    run (tens of millions of rows at 1M applications), so they carry integer codes only — owner,
    group, day, class, match number — run in chunks of whole applications, and each chunk keeps
    only its best candidate per (application, relation) before the next: the builder only reads
    an application's best match, and the own-name weight (``_own_name``) scales all earlier
    candidates of an application alike, so the ranking is the same as over all candidates."""
    margin = int(cfg.earlier_margin_days)
    a_code, a_keys = pd.factorize(q_apps["applicant_key"])
    g_code, _ = pd.factorize(q_apps["group_id"])
    slim = pd.DataFrame({"row": q_apps["row"].to_numpy(), "tid": q_apps["tid"].to_numpy(), "a": a_code,
                         "g": g_code, "day": kn.days(q_apps["filing_date"])})
    # (application, class) units: every column a numpy array, rows in application order
    c = _classes(pd.DataFrame({"i": np.arange(len(slim)), "nice_classes": q_apps["nice_classes"].to_numpy()}),
                 "nice_classes", "i")
    i = c["i"].to_numpy()
    cls = {col: slim[col].to_numpy()[i] for col in ("row", "tid", "a", "g", "day")}
    cls["unit"] = c["nice_class"].to_numpy()
    order = np.argsort(cls["row"], kind="stable")
    cls = {col: v[order] for col, v in cls.items()}
    related = None
    if cfg.class_weight_related_class > 0:
        # the application's class -> each related class, where the earlier owner's filing sits; the
        # related units are made chunk by chunk (tens of millions of rows at 10M applications)
        rel = rel.sort_values("nice_class", kind="stable")
        related = (*kn.csr(rel["nice_class"].to_numpy(), kn.N_CLASS_CODES), rel["related_class"].to_numpy())
    ctx = {"groups": _owner_groups(apps, slim, len(a_keys), cfg), "a_keys": np.asarray(a_keys, dtype=object),
           # strings stay in Arrow, one contiguous array each (``_take``), taken for each chunk's best rows
           "names": arrow_strings(apps["applicant_name"]), "texts": arrow_strings(T["text"]),
           "similarity": directed["similarity"].to_numpy(np.float64), "kind": arrow_strings(directed["kind"]),
           "detail": arrow_strings(directed["detail"])}
    ctx["use"] = kn.pair_days(slim["tid"].to_numpy(), slim["a"].to_numpy(), slim["day"].to_numpy(), len(a_keys))

    # references: per (mark, class) the K earliest other owners (r_row: the owner's first filing
    # of it, for the owner's name)
    ref = (pd.DataFrame(cls).groupby(["tid", "unit", "a"], sort=False)
           .agg(r_day=("day", "min"), r_g=("g", "first"), r_row=("row", "first")).reset_index())
    ref = ref.sort_values(["tid", "unit", "r_day"], kind="stable")
    ref = ref[ref.groupby(["tid", "unit"]).cumcount() < int(cfg.max_earlier_owners)]
    ref = ref.rename(columns={"tid": "r", "a": "r_a"})
    ref["ru"] = ref["r"].to_numpy(np.int64) * kn.N_CLASS_CODES + ref["unit"].to_numpy(np.int64)  # classes 1..45
    ref = ref.drop(columns=["r", "unit"])
    ref = ref.sort_values("ru", kind="stable")
    ref_cols = {c: ref[c].to_numpy() for c in ("r_a", "r_day", "r_g", "r_row")}
    ref_cols["n_texts"] = n_texts = np.int64(len(T))
    ref_cols["group_first"] = kn.first_days(slim["g"].to_numpy(np.int64) * n_texts + slim["tid"].to_numpy(), slim["day"])
    ref_cols["owner_first"] = kn.first_days(slim["a"].to_numpy(np.int64) * n_texts + slim["tid"].to_numpy(), slim["day"])
    ref_cols["classes"] = kn.mark_class_index(ref["ru"].to_numpy(), len(T))
    ctx["ref"] = _reference_runs(ref["ru"].to_numpy() // kn.N_CLASS_CODES, ref_cols["r_a"], ctx)
    # links sorted by query mark: q -> (r, match number)
    link_m = np.argsort(directed["q"].to_numpy(), kind="stable")
    links = kn.csr(directed["q"].to_numpy()[link_m], len(T))
    link_r = directed["r"].to_numpy()[link_m]
    is_dict = T["dict"].to_numpy()
    out = {0: [], 2: []}  # relation code (1: same similar group, set by _earlier_strength)
    # chunks of whole applications keep the memory bounded (tens of millions of joined rows at 1M)
    # (a small table, such as a screened filing's neighbourhood, in one chunk: each costs a fixed overhead)
    n_chunks = max(min(_CHUNKS, -(-len(apps) // _MIN_CHUNK_APPLICATIONS)), -(-len(apps) // _CHUNK_APPLICATIONS))
    bounds = np.searchsorted(cls["row"], np.linspace(0, len(apps), n_chunks + 1)[1:-1])
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(cls["row"])], strict=True):
        same = {col: v[lo:hi] for col, v in cls.items()}
        units = [(0, same)]
        if related is not None:
            li, ri = kn.gather_join(same["unit"], related[0], related[1])
            units.append((2, {**{col: v[li] for col, v in same.items()}, "unit": related[2][ri]}))
        for relation, u in units:
            part = _earlier_pairs(u, links, link_r, link_m, ref_cols, is_dict, related=relation == 2, margin=margin)
            if len(part):
                part["relation"] = np.int8(relation)
                out[relation].append(_earlier_strength(part, ctx, cfg))
    out = out[0] + out[2]  # same-class candidates first, as ties are broken by candidate order
    return pd.concat(out, ignore_index=True) if out else None


def _best_per_row(cand: pd.DataFrame) -> pd.DataFrame:
    """Each application's strongest candidate (ties: higher similarity, then earlier filing, then
    the matched text and owner, so that the choice does not depend on the order candidates were
    found in: the engines find them in different orders)."""
    ties = [c for c in ("matched_text", "owner_id") if c in cand.columns]
    cand = cand.sort_values(["row", "strength", "similarity", "matched_filing_date", *ties],
                            ascending=[True, False, False, True] + [True] * len(ties), kind="stable",
                            na_position="last")
    return cand.drop_duplicates("row", keep="first")


def _owner_groups(apps, slim, n_owners: int, cfg) -> dict | None:
    """The 类似群 similar groups as integer look-ups: each application's groups (CSR by row) and
    every owner's groups for each of its marks as one sorted code (mark, owner, group)."""
    groups = _similar_groups(apps.loc[apps["tid"] >= 0, ["row", "sgroups"]], cfg)
    if groups is None or not len(groups):
        return None
    sg_code, sg_names = pd.factorize(groups["sgroup"], sort=True)  # lowest group code shown
    g_row = groups["row"].to_numpy()
    order = np.lexsort((sg_code, g_row))
    g_row, g_sg = g_row[order], sg_code[order].astype(np.int64)
    tid_of = np.full(len(apps), -1, dtype=np.int64)
    a_of = np.full(len(apps), -1, dtype=np.int64)
    tid_of[slim["row"].to_numpy()] = slim["tid"].to_numpy()
    a_of[slim["row"].to_numpy()] = slim["a"].to_numpy()
    n_a, n_sg = n_owners + 1, len(sg_names) + 1
    mine = tid_of[g_row] >= 0
    owned = sorted_unique((tid_of[g_row[mine]] * n_a + a_of[g_row[mine]]) * n_sg + g_sg[mine])
    return {"csr": kn.csr(g_row, len(apps)), "g_sg": g_sg, "owned": owned, "n_a": n_a, "n_sg": n_sg,
            "names": np.asarray(sg_names, dtype=object)}


def _reference_runs(mark: np.ndarray, owner: np.ndarray, ctx: dict) -> dict:
    """For each reference (mark, earlier owner), where its filings sit in ``ctx["use"]`` and its
    similar groups in ``ctx["groups"]["owned"]`` (both sorted by the pair code mark x (owners + 1) +
    owner), and its first filing day: each candidate row then reads them by reference number."""
    use = ctx["use"]
    pair = use.pair(mark, owner)
    start, length = kn.runs_of(use.code // use.span, pair)
    out = {"use_start": start, "use_len": length, "first_day": use.code[start] % use.span + use.lo}
    sg = ctx["groups"]
    if sg is not None:
        out["owned_start"], out["owned_len"] = kn.runs_of(sg["owned"] // sg["n_sg"], pair)
    return out


def use_before(use: kn.PairDays, ref: dict, ri: np.ndarray, mark: np.ndarray, owner: np.ndarray,
               day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(number of the owner's filings of the mark strictly before ``day``, at least 1; the owner's
    first filing day of it) for references ``ri`` (``_reference_runs``). The owner filed the mark
    (it is a reference), so the pair exists."""
    before = kn.count_before(use, ref["use_start"][ri], ref["use_len"][ri], mark, owner, day)
    return np.maximum(before, 1).astype("float64"), ref["first_day"][ri].astype("float64")


def _earlier_strength(p: pd.DataFrame, ctx: dict, cfg) -> pd.DataFrame:
    """The best candidate per application of one chunk of ``_earlier_pairs``, with its relation,
    established use and strength, in the builder's candidate format."""
    p = p.assign(matched_class=p["unit"].astype("str"))
    sg = ctx["groups"]
    if sg is not None:
        # same 类似群 similar group: the application's goods and the reference owner's goods for that mark
        li, gi = kn.gather_join(p["row"].to_numpy(), *sg["csr"])
        code = (p["r"].to_numpy(np.int64)[li] * sg["n_a"] + p["r_a"].to_numpy(np.int64)[li]) * sg["n_sg"] \
            + sg["g_sg"][gi]
        owned, ri = sg["owned"], p["ri"].to_numpy()[li]
        start, length = ctx["ref"]["owned_start"][ri], ctx["ref"]["owned_len"][ri]
        rank = kn.rank_in_runs(owned, start, length, code)
        ok = (rank < length) & (owned[np.minimum(start + rank, max(len(owned) - 1, 0))] == code) \
            if len(owned) else np.zeros(len(code), dtype=bool)
        first_pair, first = np.unique(li[ok], return_index=True)  # groups ascend within a row: lowest first
        relation = p["relation"].to_numpy().copy()
        relation[first_pair] = 1
        p["relation"] = relation
        matched = p["matched_class"].to_numpy(dtype=object).copy()
        matched[first_pair] = sg["names"][sg["g_sg"][gi[ok][first]]]
        p["matched_class"] = matched
    # established use of the reference owner before the application
    n_use, first_day = use_before(ctx["use"], ctx["ref"], p["ri"].to_numpy(), p["r"].to_numpy(), p["r_a"].to_numpy(),
                                   p["day"].to_numpy())
    years = np.maximum((p["day"].to_numpy() - first_day) / 365.25, 0.0)
    u_n = 1 - np.exp(-n_use / float(cfg.established_n_scale))
    u_y = np.minimum(1.0, years / float(cfg.established_years_scale))
    est = cfg.established_base + (1 - cfg.established_base) * u_n * u_y
    relation = p["relation"].to_numpy()
    cw = np.select([relation == 1, relation == 2], [cfg.class_weight_same_group, cfg.class_weight_related_class],
                   cfg.class_weight_same)
    m = p["m"].to_numpy()
    similarity = ctx["similarity"][m]
    strength = np.clip(similarity * cw * cfg.source_weight_earlier * est, 0, 1)
    # the chunk's best candidate per application before any string is built
    row, r_day = p["row"].to_numpy(), p["r_day"].to_numpy()
    ranked = _best_per_row(pd.DataFrame({"row": row, "strength": strength, "similarity": similarity,
                                         "matched_filing_date": r_day}))
    keep = np.sort(ranked.index.to_numpy())  # candidate order as before the selection
    m = m[keep]
    return pd.DataFrame({
        "row": row[keep],
        "matched_text": kn.take(ctx["texts"], p["r"].to_numpy()[keep]),
        "matched_owner": kn.take(ctx["names"], p["r_row"].to_numpy()[keep]),
        "owner_id": "a:" + ctx["a_keys"][p["r_a"].to_numpy()[keep]].astype(str),
        "matched_source": "earlier",
        "matched_filing_date": r_day[keep].astype("datetime64[D]").astype("datetime64[ns]"),
        "kind": kn.take(ctx["kind"], m),
        "similarity": similarity[keep],
        "detail": kn.take(ctx["detail"], m),
        "class_relation": np.array(["same_class", "same_group", "related_class"], dtype=object)[relation[keep]],
        "matched_class": p["matched_class"].astype("str").to_numpy()[keep],
        "gap_days": (p["day"].to_numpy()[keep] - r_day[keep]).astype("float64"),
        "strength": strength[keep],
    })


def _brand_extensions(q_apps, T, pm, P, key_group: pd.Series) -> list:
    """Applications whose mark contains a protected mark of their own applicant or group (得力阁 by
    the owner of 得力): the owner's brand extensions, never copies of a look-alike filed earlier by
    someone else. Only the owners' own filings are checked (a few per protected mark). The owner's
    group holds the owner itself, so one join on the group covers both."""
    owned = pd.DataFrame({"group_id": pm["owner_key"].map(key_group), "r": pm["r"]}).dropna()
    # the owners' filings first (Arrow set look-up), then the join on those few
    mine = q_apps.loc[isin(q_apps["group_id"], owned["group_id"]), ["row", "tid", "group_id"]]
    pairs = mine.merge(owned, on="group_id")
    if pairs.empty:
        return []
    core = pd.Series(T["core"].to_numpy(dtype=object)[pairs["tid"].to_numpy()], dtype="str")
    brand = pd.Series(P["core"].to_numpy(dtype=object)[pairs["r"].to_numpy()], dtype="str")
    hit = (brand.str.len() >= 2).to_numpy() & contains_each(core, brand)
    return pairs.loc[hit, "row"].tolist()


def _protected_path(apps, q_apps, T, prot, P, m, own_brand_rows: set, cfg) -> pd.DataFrame | None:
    """Candidate (application, protected mark) rows with their strength, from the matches ``m`` of
    the marks ``T`` with the prepared protected texts ``P``; adds to ``own_brand_rows`` the
    applications that resemble a protected mark of their own applicant or group."""
    pm = prot.reset_index(drop=True)
    ptext = _protected_texts(prot)
    pm = pd.DataFrame({
        "pidx": np.arange(len(pm)), "ptext": ptext,
        "owner_name": pm["owner_name"].astype("str").fillna("") if "owner_name" in pm else "",
        "owner_key": pm["owner_key"].astype("str") if "owner_key" in pm else pd.Series(pd.NA, index=pm.index,
                                                                                        dtype="str"),
        "pclasses": pm["nice_classes"].astype("str").fillna("") if "nice_classes" in pm else "",
    })
    pm = pm[pm["ptext"].str.len() > 0]
    pm = pm.assign(r=pd.Index(P["text"]).get_indexer(pm["ptext"]))
    key_group = apps.drop_duplicates("applicant_key").set_index("applicant_key")["group_id"]
    own_brand_rows.update(_brand_extensions(q_apps, T, pm, P, key_group))
    if m.empty:
        return None
    qa = q_apps[["row", "tid", "applicant_key", "group_id", "nice_classes"]].rename(columns={"tid": "q"})
    pairs = qa.merge(m[["q", "r", "similarity", "kind", "detail"]], on="q").merge(pm, on="r")
    if pairs.empty:
        return None
    # exclusions: the owner itself and the owner's related-party group
    owner_group = pairs["owner_key"].map(key_group)
    own = (pairs["owner_key"] == pairs["applicant_key"]).fillna(False).astype(bool)
    same_group = (owner_group == pairs["group_id"]).fillna(False).astype(bool)
    # Rows resembling the applicant's own protected mark are its own brand: recorded so the
    # earlier-marks path does not flag them against an earlier copycat's filing.
    own_brand_rows.update(pairs.loc[own | same_group, "row"].tolist())
    pairs = pairs[~own & ~same_group].reset_index(drop=True)
    if pairs.empty:
        return None
    pairs["pair"] = np.arange(len(pairs))
    ac = _classes(pairs, "nice_classes", "pair")
    pc = _classes(pairs, "pclasses", "pair")
    shared = ac.merge(pc, on=["pair", "nice_class"]).drop_duplicates("pair")
    shared_cls = pd.Series(shared["nice_class"].astype("str").to_numpy(), index=shared["pair"].to_numpy())
    pairs["matched_class"] = pairs["pair"].map(shared_cls).astype("str")
    same = pairs["matched_class"].notna().to_numpy()
    pairs["matched_class"] = pairs["matched_class"].fillna("")
    cw = np.where(same, cfg.class_weight_same, cfg.class_weight_unrelated_protected)
    owner = pairs["owner_name"].where(pairs["owner_name"].str.len() > 0, "unknown owner")
    owner_id = np.where(pairs["owner_key"].notna(), "a:" + pairs["owner_key"].astype("str"),
                        "p:" + owner.astype("str"))
    return pd.DataFrame({
        "row": pairs["row"].to_numpy(),
        "matched_text": pairs["ptext"].to_numpy(),
        "matched_owner": owner.to_numpy(),
        "owner_id": owner_id,
        "matched_source": "protected",
        "matched_filing_date": pd.Series(pd.NaT, index=pairs.index, dtype="datetime64[ns]").to_numpy(),
        "kind": pairs["kind"].to_numpy(),
        "similarity": pairs["similarity"].astype("float64").to_numpy(),
        "detail": pairs["detail"].astype("str").to_numpy(),
        "class_relation": np.where(same, "same_class", "unrelated"),
        "matched_class": pairs["matched_class"].to_numpy(),
        "gap_days": np.nan,
        "strength": (pairs["similarity"].to_numpy() * cw * cfg.source_weight_protected).clip(0, 1),
    })
