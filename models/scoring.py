"""Dimension scores in [0, 1] and the built-in (no-label) risk score.

Mapping (documented in docs/scoring.md): each builder's severity s >= 0 is measured in "units of
evidence" (1 = what the criteria call clearly abnormal). The dimension score is

    score = 1 - exp(-s / scale_d)

— monotone, 0 for no evidence, 0.63 at one unit, 0.95 at three. We deliberately do *not* use the
empirical CDF of the current population: a credit grade must mean the same thing in every batch and
in every dataset; with an ECDF the cleanest register would still have a "riskiest 1 %" and grades
would drift with the population. (Drift between runs is monitored with PSI in the batch stage.)

The built-in risk score is a weighted noisy-OR of the dimension scores,
    risk = 1 - prod_d (1 - w_d * score_d),
so one strong dimension is enough to flag, and independent weak signals add up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Config
from core.reasons import Dimension

DIMENSIONS = [d.value for d in Dimension]


def dimension_scores(severity: pd.DataFrame, config: Config) -> pd.DataFrame:
    """severity: one column per dimension (raw, >= 0) → scores in [0, 1]."""
    cfg = config.scoring
    out = pd.DataFrame(index=severity.index)
    for dim in DIMENSIONS:
        s = severity[dim].clip(lower=0).fillna(0.0) if dim in severity else 0.0
        out[dim] = 1.0 - np.exp(-s / getattr(cfg, f"scale_{dim}"))
    return out


def noisy_or(scores: pd.DataFrame, config: Config) -> pd.Series:
    cfg = config.scoring
    keep = np.ones(len(scores))
    for dim in DIMENSIONS:
        keep = keep * (1.0 - getattr(cfg, f"weight_{dim}") * scores[dim].to_numpy())
    return pd.Series(1.0 - keep, index=scores.index, name="risk_score")


def contributions(scores: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Each dimension's share of the noisy-OR (log-odds of 'not flagged'), for explanations."""
    cfg = config.scoring
    parts = {d: -np.log1p(-np.minimum(getattr(cfg, f"weight_{d}") * scores[d], 1 - 1e-12)) for d in DIMENSIONS}
    return pd.DataFrame(parts, index=scores.index)
