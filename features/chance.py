"""Evidence weighed against chance: how many resemblances (or public-term coincidences) a portfolio
of its size, and its style, meets by chance in this register (Poisson). Shared by the infringement
builder and the squatting builder's built-in lists (docs/features.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def chance_rates(marks_hit: pd.Series, marks_filed: pd.Series, min_applicants: int, rate_min: float) -> pd.Series:
    """The register's chance rate of a resemblance for portfolios of each applicant's size.

    Portfolios are binned by size (distinct marks: 1, 2-3, 4-7, 8-15 …; a bin with fewer than
    ``min_applicants`` applicants joins the one below it), and the rate of a bin is its pooled share
    of marks that resemble another owner's (at least ``rate_min``). Large portfolios meet others'
    marks more often (more classes, more marks alike in style); they are compared with their peers,
    not with one-mark filers. Copying in the register raises the rates, which only makes the test
    stricter. Returns each applicant's rate."""
    n = marks_filed.to_numpy(dtype="float64")
    k = marks_hit.to_numpy(dtype="float64")
    size_bin = np.floor(np.log2(np.maximum(n, 1))).astype(np.int64)
    bins = np.arange(size_bin.max() + 1 if len(n) else 0)
    count = np.bincount(size_bin, weights=(n > 0).astype("float64"), minlength=len(bins))
    hits = np.bincount(size_bin, weights=k, minlength=len(bins))
    marks = np.bincount(size_bin, weights=n, minlength=len(bins))
    # sparse bins (the largest portfolios) pool with the bins below until they have enough peers
    pooled = bins.copy()
    for b in bins[1:]:
        if count[b] < min_applicants:
            pooled[b] = pooled[b - 1]
    rate = np.bincount(pooled, weights=hits, minlength=len(bins)) / np.maximum(
        np.bincount(pooled, weights=marks, minlength=len(bins)), 1.0)
    return pd.Series(np.maximum(rate[pooled][size_bin], rate_min), index=marks_hit.index)


def chance_style(resembled: pd.Series, marks_filed: pd.Series) -> pd.Series:
    """How many times its peers' chance rate an applicant's portfolio meets others' marks by chance,
    estimated from the direction of time: ``resembled`` counts its mark families that later filings
    of unrelated owners resemble (their best earlier match). Chance resemblance is symmetric in
    time, so a portfolio in a crowded style (many coined marks of common syllables) is resembled
    later about as often as it resembles earlier marks; a copycat's copies are not resembled by
    anyone later. Style = (resembled + 1) / (families x the register's rate + 1), at least 1 (the
    +1 keeps one later look-alike of a small filer from counting as a style)."""
    n = marks_filed.to_numpy(dtype="float64")
    r = resembled.reindex(marks_filed.index, fill_value=0).to_numpy(dtype="float64")
    rate = r.sum() / max(n.sum(), 1.0)
    return pd.Series(np.maximum(1.0, (r + 1.0) / (n * rate + 1.0)), index=marks_filed.index)


def chance_weight(marks_hit: pd.Series, marks_filed: pd.Series, cfg, style: pd.Series | None = None,
                  surprise_ref: float | None = None) -> pd.Series:
    """Weight of resemblances by how far the applicant's number of them is beyond chance.

    An applicant filing n distinct marks expects n * p0 chance resemblances (Poisson; p0 from
    ``chance_rates``: its peers' rate). For its k resembling marks, p = P(X >= k), and the weight is
    min(1, -log10(p) / chance_surprise_ref) x (k - n p0) / k: how unlikely the count is, times the
    share of the resemblances beyond the expected number. A copycat whose five marks all resemble
    others' is far beyond chance (weight ~1); a large portfolio with its peers' share of
    resemblances is not (weight ~0). Distinct marks, not applications: one coincidence filed in
    ten classes is still one coincidence. ``cfg``: the ``[infringement]`` section (chance_min_peers,
    chance_rate_min, chance_surprise_ref), whose test every builder weighing chance uses;
    ``surprise_ref`` replaces its chance_surprise_ref for evidence rarer than a resemblance."""
    from scipy.special import (
        pdtrc,  # P(X > k) of a Poisson; what scipy.stats.poisson.sf calls, without its import cost
    )

    p0 = chance_rates(marks_hit, marks_filed, int(cfg.chance_min_peers), float(cfg.chance_rate_min)).to_numpy()
    k = marks_hit.to_numpy(dtype="float64")
    expected = marks_filed.to_numpy(dtype="float64") * p0 * (1.0 if style is None else style.to_numpy())
    p = pdtrc(np.maximum(k - 1, 0), expected)  # P(X >= k)
    ref = float(cfg.chance_surprise_ref if surprise_ref is None else surprise_ref)
    surprise = np.minimum(1.0, -np.log10(np.clip(p, 1e-300, 1.0)) / ref)
    excess = np.divide(np.maximum(k - expected, 0.0), k, out=np.zeros_like(k), where=k > 0)
    return pd.Series(surprise * excess, index=marks_hit.index)
