"""No-label detectors: an Isolation Forest over the feature matrix, and the built-in noisy-OR.

AnomalyDetector score mapping (docs/models.md): features go through a signed ``log1p`` (counts and
sums are heavy-tailed; the transform is monotone) and a RobustScaler (median / IQR), then an
IsolationForest. Its raw abnormality ``a = -score_samples(x)`` (higher = more isolated) is mapped to
[0, 1] by min-max against the *training* abnormalities and clipped:

    risk = clip((a - a_min_train) / (a_max_train - a_min_train), 0, 1)

so the mapping is monotone, fixed after ``fit`` (a new batch does not re-stretch it), 0 for the
most ordinary training applicant and 1 for the most isolated one.

An isolation forest finds applicants that are *unusual*, in any direction; most features are
"more = riskier" counts, so unusual mostly means unusually high, but the score is a screening aid
and needs review — it is not evidence on its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, RobustScaler

from models.base import BaseDetector, param_error
from models.scoring import DIMENSIONS, noisy_or


def signed_log1p(x):
    return np.sign(x) * np.log1p(np.abs(x))


class AnomalyDetector(BaseDetector):
    """Isolation Forest on the (log1p, robust-scaled) feature matrix; risk in [0, 1].

    Parameters
    ----------
    n_estimators : int, trees in the forest.
    max_samples : "auto", int or float, rows drawn per tree (IsolationForest semantics).
    exclude_prefixes : tuple of str, feature columns to leave out (``("decisions",)`` drops the
        ``decisions`` score and every ``decisions_*`` feature).
    random_state : int or None.
    """

    def __init__(self, n_estimators: int = 200, max_samples="auto", exclude_prefixes=(), random_state=0):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.exclude_prefixes = exclude_prefixes
        self.random_state = random_state

    def _check_params(self) -> None:
        super()._check_params()
        if not isinstance(self.n_estimators, int | np.integer) or self.n_estimators < 1:
            raise param_error("AnomalyDetector", "n_estimators", "an int in the range [1, inf)", self.n_estimators)

    def _fit(self, X: pd.DataFrame, y, groups) -> None:
        self.pipeline_ = make_pipeline(
            FunctionTransformer(signed_log1p, feature_names_out="one-to-one"),
            RobustScaler(),
            IsolationForest(n_estimators=self.n_estimators, max_samples=self.max_samples,
                            random_state=self.random_state),
        )
        self.pipeline_.fit(X.to_numpy())
        raw = -self.pipeline_.score_samples(X.to_numpy())
        self.raw_min_, self.raw_max_ = float(raw.min()), float(raw.max())

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        raw = -self.pipeline_.score_samples(X.to_numpy())
        span = self.raw_max_ - self.raw_min_
        if span <= 0:
            return np.zeros(len(raw))
        return np.clip((raw - self.raw_min_) / span, 0.0, 1.0)


class BuiltinScorer(BaseDetector):
    """The built-in weighted noisy-OR of the five dimension scores, as an estimator.

    ``fit`` learns nothing (it records the columns); ``decision_function`` equals
    ``models.scoring.noisy_or(X[DIMENSIONS], config)``. ``config=None`` means the defaults.
    """

    def __init__(self, config=None):
        self.config = config

    def fit(self, X, y=None, groups=None):
        frame = self._as_frame(X, fitting=True)
        missing = [d for d in DIMENSIONS if d not in frame.columns]
        if missing:
            raise param_error("BuiltinScorer", "X", f"a matrix with the dimension score columns {DIMENSIONS}",
                              f"columns without {missing}")
        self.feature_names_in_ = np.asarray(DIMENSIONS, dtype=object)
        self.excluded_features_ = [c for c in frame.columns if c not in DIMENSIONS]
        self.n_features_in_ = len(DIMENSIONS)
        self.decision_scores_ = self.decision_function(frame)
        return self

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        config = self.config
        if config is None:
            from core.config import load_config

            config = load_config()
        return noisy_or(X, config).to_numpy()
