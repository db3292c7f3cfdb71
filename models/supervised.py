"""Supervised risk: gradient boosting + probability calibration, cross-validated by related-party group.

Shells of one actor share a ``group_id`` (pipeline.entities). Folds are drawn with
StratifiedGroupKFold on ``groups`` so a group never sits on both sides of a split: otherwise the
model learns the actor, not the behaviour, and the CV metrics are optimistic.

Fitting ``SupervisedScorer``:
1. pick the feature columns (numeric, minus ``exclude_prefixes`` — with labels taken from decisions,
   pass ``("decisions",)`` so neither the ``decisions`` score nor any ``decisions_*`` feature is
   used: the label would otherwise be read straight off its own features);
2. ``CalibratedClassifierCV(HistGradientBoostingClassifier, method=calibration, cv=<grouped folds>,
   ensemble=True)``: for each fold a booster is fitted on the training groups and its calibrator on
   the held-out groups; ``decision_function`` averages the calibrated probabilities (in [0, 1]);
3. ``cv_metrics_``: PR-AUC and ROC-AUC of each fold's *uncalibrated* booster on its held-out groups
   (the calibrator saw those rows; the booster did not). ``oof_scores_`` holds those held-out scores;
4. ``feature_importances_``: permutation importance (drop in average precision) of the first fold's
   booster on its held-out groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits

from models.base import BaseDetector, check_labels, param_error

CALIBRATION_METHODS = ("isotonic", "sigmoid")


def grouped_folds(y: np.ndarray, groups, n_splits: int, random_state) -> list[tuple[np.ndarray, np.ndarray]]:
    """StratifiedGroupKFold splits; n_splits is reduced to what the groups allow (at least 2)."""
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    pos_groups = len(pd.unique(groups[y == 1]))
    neg_groups = len(pd.unique(groups[y == 0]))
    k = min(n_splits, pos_groups, neg_groups)
    if k < 2:
        raise ValueError(
            f"Grouped cross-validation needs both classes in at least 2 related-party groups; got {pos_groups} "
            f"group(s) with positives and {neg_groups} with negatives. Label more applicants.")
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    return list(cv.split(np.zeros(len(y)), y, groups))


class SupervisedScorer(BaseDetector):
    """HistGradientBoostingClassifier + calibration, folds grouped by related-party group.

    Parameters
    ----------
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization :
        passed to HistGradientBoostingClassifier.
    calibration : {"sigmoid", "isotonic"}; sigmoid (default) is safer on the small label sets we
        have and keeps the ranking fine-grained; isotonic needs many positives per fold and collapses
        scores into a few steps (15 distinct values on a 1,000-applicant demo world).
    n_splits : int >= 2, grouped CV folds (reduced when fewer groups hold positives).
    exclude_prefixes : tuple of str, feature columns left out (see module docstring).
    importance_repeats : int >= 0, permutation repeats (0 = skip importances).
    n_threads : int or None, OpenMP threads for the booster (None = all cores). Default 1: on a
        shared 2-core machine the booster's threads made fitting 10x slower (docs/models.md).
    random_state : int or None.
    """

    def __init__(self, learning_rate: float = 0.1, max_iter: int = 200, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 20, l2_regularization: float = 0.0, calibration: str = "sigmoid",
                 n_splits: int = 5, exclude_prefixes=(), importance_repeats: int = 5, n_threads=1,
                 random_state=0):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.n_splits = n_splits
        self.exclude_prefixes = exclude_prefixes
        self.importance_repeats = importance_repeats
        self.n_threads = n_threads
        self.random_state = random_state

    def _check_params(self) -> None:
        super()._check_params()
        if self.calibration not in CALIBRATION_METHODS:
            raise param_error("SupervisedScorer", "calibration", f"a str among {set(CALIBRATION_METHODS)}",
                              self.calibration)
        if not isinstance(self.n_splits, int | np.integer) or self.n_splits < 2:
            raise param_error("SupervisedScorer", "n_splits", "an int in the range [2, inf)", self.n_splits)
        if self.n_threads is not None and (not isinstance(self.n_threads, int | np.integer) or self.n_threads < 1):
            raise param_error("SupervisedScorer", "n_threads", "an int in the range [1, inf) or None", self.n_threads)
        if not isinstance(self.importance_repeats, int | np.integer) or self.importance_repeats < 0:
            raise param_error("SupervisedScorer", "importance_repeats", "an int in the range [0, inf)",
                              self.importance_repeats)

    def _booster(self) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=self.max_iter, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            random_state=self.random_state)

    def _fit(self, X: pd.DataFrame, y, groups) -> None:
        with threadpool_limits(self.n_threads):
            self._fit_impl(X, y, groups)

    def _fit_impl(self, X: pd.DataFrame, y, groups) -> None:
        y = check_labels(y, len(X), "SupervisedScorer")
        if groups is not None and len(groups) != len(X):
            raise param_error("SupervisedScorer", "groups", f"an array of length {len(X)} (one group per row)",
                              f"length {len(groups)}")
        folds = grouped_folds(y, groups, self.n_splits, self.random_state)
        self.folds_ = folds
        Xa = X.to_numpy()
        self.model_ = CalibratedClassifierCV(self._booster(), method=self.calibration, cv=folds, ensemble=True)
        self.model_.fit(Xa, y)
        oof = np.full(len(y), np.nan)
        rows = []
        for i, ((_, test), cc) in enumerate(zip(folds, self.model_.calibrated_classifiers_, strict=True)):
            p = cc.estimator.predict_proba(Xa[test])[:, 1]
            oof[test] = p
            yt = y[test]
            both = 0 < yt.sum() < len(yt)
            rows.append({"fold": i, "n": int(len(test)), "positives": int(yt.sum()),
                         "pr_auc": float(average_precision_score(yt, p)) if both else np.nan,
                         "roc_auc": float(roc_auc_score(yt, p)) if both else np.nan})
        self.cv_metrics_ = pd.DataFrame(rows)
        self.oof_scores_ = oof
        names = list(X.columns)
        if self.importance_repeats:
            _, test = folds[0]
            est = self.model_.calibrated_classifiers_[0].estimator
            if 0 < y[test].sum() < len(test):
                imp = permutation_importance(est, Xa[test], y[test], scoring="average_precision",
                                             n_repeats=self.importance_repeats, random_state=self.random_state)
                self.feature_importances_ = pd.Series(imp.importances_mean, index=names,
                                                      name="importance").sort_values(ascending=False)
                return
        self.feature_importances_ = pd.Series(np.zeros(len(names)), index=names, name="importance")

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(getattr(self, "n_threads", 1)):
            return self.model_.predict_proba(X.to_numpy())[:, 1]
