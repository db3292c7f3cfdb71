"""Related Nice classes learned from the register itself (跨类关联).

Goods in different Nice classes can still be similar or closely related in the market (coffee in
class 30 and cafés in class 43; clothing in 25 and bags in 18). Examiners and courts judge this by
function, channels and consumers; the CNIPA similar-goods table records only some cross-class
links. The register shows the market's own view: businesses file the classes their products
span. Two classes are related when the applicants of the dataset with a coherent portfolio (a few
classes, no sweeps) file both far more often than independent choices would give.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.tables import explode_classes
from features import products
from features.common import name_core
from features.lexicons import INDUSTRY_WORDS

# the register's related-class table is product RELATED_CLASSES (features.products): a statistic of
# the whole register, read by the hoarding and infringement builders (also on the Dask engine)
RELATED_KEY = products.RELATED_CLASSES
_INDUSTRY_ALTERNATION = "|".join(sorted(INDUSTRY_WORDS, key=len, reverse=True))


def register_class_relations(applications: pd.DataFrame, config) -> pd.DataFrame:
    """``related_classes`` of a whole register (every filing's classes, by applicant)."""
    cls = explode_classes(applications[["applicant_key", "nice_classes"]])
    return related_classes(cls[["applicant_key", "nice_class"]], config.infringement)


def relations_product(tables, config) -> pd.DataFrame:
    """Product RELATED_CLASSES: the related classes of the tables' whole register."""
    return register_class_relations(tables.applications, config)


def industry_words(keys: pd.Series) -> pd.DataFrame:
    """(key, word) for every industry word (``lexicons.INDUSTRY_WORDS``) in the name of each company
    key ('c:丽景母婴用品集团|天津' → 母婴, 用品, 集团): what the company says its business is."""
    keys = pd.Series(pd.unique(keys.astype("str")), dtype="str")
    company = keys[keys.str.startswith("c:")]
    found = name_core(company).str.findall(_INDUSTRY_ALTERNATION).explode().dropna()
    return pd.DataFrame({"key": company.loc[found.index].to_numpy(), "word": found.to_numpy()}).drop_duplicates()


class IndustryScopes(NamedTuple):
    """Product INDUSTRY_SCOPES: each company key's industry words and each word's business scope."""
    words: pd.DataFrame   # key, word (``industry_words``)
    scopes: pd.DataFrame  # word, nice_class, companies, lift (``industry_scopes``)


def industry_scopes(applications: pd.DataFrame, config, words: pd.DataFrame | None = None) -> pd.DataFrame:
    """The classes each industry word's companies file far more often than companies at large: the
    business scope (经营范围) the register shows for an industry. DataFrame[word, nice_class, companies,
    lift]; kept, like related classes, with at least ``related_min_cofilers`` companies and lift
    ``related_min_lift``: companies with the word filing the class / companies with the word, over
    companies filing the class / companies. ``words``: ``industry_words`` of the keys, if made."""
    cfg = config.infringement
    cls = explode_classes(applications[["applicant_key", "nice_classes"]])
    filed = cls[["applicant_key", "nice_class"]].drop_duplicates()
    words = industry_words(applications["applicant_key"]) if words is None else words
    empty = pd.DataFrame({"word": pd.Series(dtype="str"), "nice_class": pd.Series(dtype="int64"),
                          "companies": pd.Series(dtype="int64"), "lift": pd.Series(dtype="float64")})
    if words.empty:
        return empty
    companies = filed[filed["applicant_key"].str.startswith("c:")]
    n = companies["applicant_key"].nunique()
    class_share = companies.groupby("nice_class").size() / max(n, 1)
    per_word = words.groupby("word")["key"].nunique()
    pairs = words.merge(companies, left_on="key", right_on="applicant_key")
    count = pairs.groupby(["word", "nice_class"]).size().rename("companies").reset_index()
    lift = (count["companies"] / count["word"].map(per_word)) / count["nice_class"].map(class_share)
    keep = (count["companies"] >= int(cfg.related_min_cofilers)) & (lift >= float(cfg.related_min_lift))
    if not keep.any():
        return empty
    out = count[keep].assign(lift=lift[keep].astype("float64"))
    return out.astype({"nice_class": "int64", "companies": "int64"}).reset_index(drop=True)


def scopes_product(tables, config) -> IndustryScopes:
    """Product INDUSTRY_SCOPES of the tables' whole register (the words are found once, for both)."""
    words = industry_words(tables.applications["applicant_key"])
    return IndustryScopes(words, industry_scopes(tables.applications, config, words))


def scope_masks(keys: pd.Index, product: IndustryScopes) -> np.ndarray:
    """Per key of ``keys`` (position), the classes in the scope of the industry words of its name, as
    a bit mask (bit c for class c)."""
    masks = np.zeros(len(keys), dtype=np.uint64)
    scopes = product.scopes
    if scopes.empty:
        return masks
    word_mask = scopes.groupby("word")["nice_class"].agg(
        lambda c: np.bitwise_or.reduce(np.left_shift(np.uint64(1), c.to_numpy(np.uint64))))
    words = product.words[product.words["word"].isin(word_mask.index)]
    at = keys.get_indexer(words["key"])
    words, at = words[at >= 0], at[at >= 0]  # (a partition of the register holds some keys only)
    np.bitwise_or.at(masks, at, word_mask.reindex(words["word"]).to_numpy(np.uint64))
    return masks


def related_classes(app_classes: pd.DataFrame, cfg) -> pd.DataFrame:
    """Related class pairs, both directions: DataFrame[nice_class, related_class, co_filers, lift].

    ``app_classes``: (applicant_key, nice_class) rows, class 1..45. Only applicants with between 2
    and ``related_max_classes`` distinct classes count (single-class filers say nothing about
    relations, broad portfolios and sweeps relate everything). A pair is kept when at least
    ``related_min_cofilers`` such applicants file both and the lift — co-filers x applicants /
    (filers of one x filers of the other) — reaches ``related_min_lift``.
    """
    empty = pd.DataFrame({"nice_class": pd.Series(dtype="int64"), "related_class": pd.Series(dtype="int64"),
                          "co_filers": pd.Series(dtype="int64"), "lift": pd.Series(dtype="float64")})
    ac = app_classes[["applicant_key", "nice_class"]].drop_duplicates()
    n_cls = ac.groupby("applicant_key")["nice_class"].transform("size")
    ac = ac[(n_cls >= 2) & (n_cls <= int(cfg.related_max_classes))]
    if ac.empty:
        return empty
    who = pd.factorize(ac["applicant_key"])[0]
    x = sp.csr_matrix((np.ones(len(ac)), (who, ac["nice_class"].to_numpy().astype("int64"))),
                      shape=(who.max() + 1, 46))
    co = (x.T @ x).toarray()
    filers = np.diag(co).copy()
    n = float(x.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = co * n / np.outer(filers, filers)
    np.fill_diagonal(co, 0)
    a, b = np.nonzero((co >= int(cfg.related_min_cofilers)) & (lift >= float(cfg.related_min_lift)))
    if not len(a):
        return empty
    return pd.DataFrame({"nice_class": a.astype("int64"), "related_class": b.astype("int64"),
                         "co_filers": co[a, b].astype("int64"), "lift": lift[a, b].astype("float64")})
