"""One base class for every tmscreen detector (PyOD style, scikit-learn estimator contract).

* hyper-parameters are stored unchanged in ``__init__`` (so ``sklearn.base.clone`` and
  ``get_params`` work); learned state ends in ``_`` and is set only by ``fit``;
* ``fit(X, y=None, groups=None)`` returns ``self`` and sets ``decision_scores_`` (the scores of the
  training rows) and ``feature_names_in_``;
* ``decision_function(X)`` returns a 1-d float array in [0, 1], **higher = riskier**;
* ``predict(X, threshold=0.5)`` returns 0/1 (1 = score >= threshold).

``X`` is the applicant feature matrix ``ScoreResult.feature_matrix.join(dimension scores)`` (a
DataFrame indexed by applicant_key); only numeric columns are used. A plain 2-d array is accepted
too (columns are then named ``x0, x1, …``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError


def param_error(owner: str, name: str, allowed: str, got) -> ValueError:
    """scikit-learn's template: name the parameter, the allowed values, what was received."""
    return ValueError(f"The '{name}' parameter of {owner} must be {allowed}. Got {got!r} instead.")


def excluded(column: str, prefixes: Iterable[str]) -> bool:
    """True when ``column`` is ``p`` or starts with ``p_`` for a prefix p (``decisions`` / ``decisions_``)."""
    for p in prefixes:
        stem = p.rstrip("_")
        if column == stem or column.startswith(stem + "_"):
            return True
    return False


class BaseDetector(BaseEstimator):
    """Base class: subclasses implement ``_fit(X: DataFrame, y, groups)`` and ``_score(X: DataFrame)``."""

    def fit(self, X, y=None, groups=None):
        frame = self._as_frame(X, fitting=True)
        self._check_params()
        names = [c for c in frame.columns if not excluded(c, self._exclude())]
        if not names:
            raise param_error(type(self).__name__, "X", "a matrix with at least one numeric, non-excluded "
                              "column", list(frame.columns))
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.excluded_features_ = [c for c in frame.columns if c not in set(names)]
        self.n_features_in_ = len(names)
        self._fit(frame[names], y, groups)
        self.decision_scores_ = self.decision_function(frame)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Risk in [0, 1] per row (higher = riskier)."""
        self._check_fitted()
        frame = self._as_frame(X, fitting=False)
        names = list(self.feature_names_in_)
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise ValueError(
                f"X is missing {len(missing)} feature column(s) the {type(self).__name__} was fitted with: "
                f"{missing[:10]}{' …' if len(missing) > 10 else ''}. Score with the same feature builders "
                "(and configuration) that produced the training matrix.")
        scores = np.asarray(self._score(frame[names]), dtype="float64")
        return np.clip(np.nan_to_num(scores, nan=0.0), 0.0, 1.0)

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        if not isinstance(threshold, int | float) or not 0.0 <= float(threshold) <= 1.0:
            raise param_error(type(self).__name__, "threshold", "a float in the range [0, 1]", threshold)
        return (self.decision_function(X) >= threshold).astype("int64")

    # -- helpers for subclasses -------------------------------------------------------------------
    def _exclude(self) -> tuple[str, ...]:
        value = getattr(self, "exclude_prefixes", ()) or ()
        if isinstance(value, str):
            value = (value,)
        return tuple(value)

    def _check_params(self) -> None:  # overridden where there is something to check
        value = getattr(self, "exclude_prefixes", ())
        if value is not None and not isinstance(value, str | tuple | list):
            raise param_error(type(self).__name__, "exclude_prefixes", "a str or a tuple of str", value)

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_in_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def _as_frame(self, X, fitting: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            arr = np.asarray(X, dtype="float64")
            if arr.ndim != 2:
                raise param_error(type(self).__name__, "X", "a 2-d array or a DataFrame", f"shape {arr.shape}")
            if not fitting and hasattr(self, "feature_names_in_") and arr.shape[1] == len(self.feature_names_in_):
                cols = list(self.feature_names_in_)
            else:
                cols = [f"x{i}" for i in range(arr.shape[1])]
            frame = pd.DataFrame(arr, columns=cols)
        numeric = frame.select_dtypes(include=["number", "bool"])
        return numeric.astype("float64").fillna(0.0)

    def _fit(self, X: pd.DataFrame, y, groups) -> None:
        raise NotImplementedError

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError


def check_labels(y, n: int, owner: str) -> np.ndarray:
    """0/1 labels of length n with both classes present."""
    if y is None:
        raise param_error(owner, "y", "an array of 0/1 labels (this estimator is supervised)", None)
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise param_error(owner, "y", f"a 1-d array of length {n} (one label per row of X)", f"shape {arr.shape}")
    values = set(pd.unique(arr).tolist())
    if not values <= {0, 1}:
        raise param_error(owner, "y", "labels in {0, 1}", sorted(values, key=str)[:10])
    arr = arr.astype("int64")
    if arr.min() == arr.max():
        raise param_error(owner, "y", "labels containing both classes 0 and 1", f"only class {arr[0]}")
    return arr
