"""Detectors (estimator contract, grouped CV, leakage), labels, and MLflow tracking in a temp home."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from core.config import load_config
from models.anomaly import AnomalyDetector, BuiltinScorer
from models.base import excluded
from models.labels import LabelError, labels_from_decisions, labels_from_file, labels_from_truth
from models.scoring import DIMENSIONS, noisy_or
from models.supervised import SupervisedScorer, grouped_folds


def synthetic(n_groups: int = 120, seed: int = 0):
    """Applicants in related-party groups of 1-4; label driven by hoarding/infringement features,
    with 5 % label noise; ``decisions_*`` features and the ``decisions`` score equal the label."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, n_groups)
    group = np.repeat([f"g{i}" for i in range(n_groups)], sizes)
    bad_group = rng.random(n_groups) < 0.3
    y = np.repeat(bad_group, sizes).astype(int)
    n = len(group)
    keys = [f"k{i}" for i in range(n)]
    X = pd.DataFrame({
        "hoarding_n_365d": rng.poisson(3 + 40 * y),
        "hoarding_dispersion": np.clip(rng.normal(0.2 + 0.4 * y, 0.15), 0, 1),
        "infringement_n_copies": rng.poisson(0.2 + 2 * y),
        "squatting_n_terms": rng.poisson(0.3, n),
        "transfer_n_assigned": rng.poisson(0.5, n),
    }, index=pd.Index(keys, name="applicant_key")).astype("float64")
    flip = rng.random(n) < 0.05  # label noise the behaviour features cannot explain ...
    y = np.where(flip, 1 - y, y)
    X["decisions_n_bad_faith_refusal"] = y.astype(float)  # ... but the decisions features can (a leak)
    X["decisions_weighted_own"] = y * 0.9
    scores = pd.DataFrame({d: np.clip(rng.normal(0.2 + 0.3 * y, 0.2), 0, 1) for d in DIMENSIONS}, index=X.index)
    scores["decisions"] = X["decisions_n_bad_faith_refusal"]
    return X.join(scores), pd.Series(y, index=X.index, name="label"), pd.Series(group, index=X.index)


def fake_result(X: pd.DataFrame, groups: pd.Series, decisions: pd.DataFrame | None = None):
    """The parts of a ScoreResult that models.* read."""
    feats = X[[c for c in X.columns if c not in DIMENSIONS]]
    applicants = X[DIMENSIONS].assign(group_id=groups).rename_axis("applicant_key").reset_index()
    apps = pd.DataFrame({"application_id": [f"a{i}" for i in range(len(X))], "applicant_key": X.index})
    dec = decisions if decisions is not None else pd.DataFrame({"subject_key": [], "kind": []}, dtype="str")
    tables = SimpleNamespace(decisions=dec, as_of=pd.Timestamp("2025-12-31"))
    return SimpleNamespace(feature_matrix=feats, applicants=applicants, applications=apps, tables=tables)


FAST = {"max_iter": 30, "importance_repeats": 1, "calibration": "sigmoid", "n_splits": 3}


# -- estimator contract ----------------------------------------------------------------------------
@pytest.mark.parametrize("est", [SupervisedScorer(**FAST), AnomalyDetector(n_estimators=30), BuiltinScorer()])
def test_estimator_contract(est):
    X, y, g = synthetic()
    params = est.get_params()
    twin = clone(est)
    assert twin.get_params() == params
    assert not hasattr(twin, "decision_scores_")
    assert twin.fit(X, y.to_numpy(), groups=g.to_numpy()) is twin
    s = twin.decision_function(X)
    assert s.shape == (len(X),) and s.dtype == np.float64
    assert 0.0 <= s.min() and s.max() <= 1.0
    assert np.allclose(twin.decision_scores_, s)
    assert set(np.unique(twin.predict(X, threshold=0.5))) <= {0, 1}
    assert est.get_params() == params  # fitting the clone did not touch the original
    # scoring with the columns shuffled and extra columns gives the same answer
    shuffled = X[X.columns[::-1]].assign(extra=1.0)
    assert np.allclose(twin.decision_function(shuffled), s)


def test_builtin_equals_noisy_or():
    X, y, g = synthetic()
    cfg = load_config()
    s = BuiltinScorer(cfg).fit(X).decision_function(X)
    assert np.allclose(s, noisy_or(X[DIMENSIONS], cfg).to_numpy())


def test_anomaly_ranks_outliers_high_and_is_monotone_mapping():
    X, y, g = synthetic()
    det = AnomalyDetector(n_estimators=50).fit(X)
    assert det.decision_scores_.min() == pytest.approx(0.0) and det.decision_scores_.max() == pytest.approx(1.0)
    extreme = X.iloc[[0]].copy()
    extreme[:] = X.max().to_numpy() * 20
    assert det.decision_function(extreme)[0] == pytest.approx(1.0)  # clipped, not re-stretched


def test_supervised_learns_and_reports_cv():
    X, y, g = synthetic()
    est = SupervisedScorer(**FAST).fit(X, y, groups=g)
    cv = est.cv_metrics_
    assert list(cv.columns) == ["fold", "n", "positives", "pr_auc", "roc_auc"] and len(cv) == 3
    assert cv["roc_auc"].mean() > 0.8
    assert not np.isnan(est.oof_scores_).any()
    assert set(est.feature_importances_.index) == set(est.feature_names_in_)


@pytest.mark.parametrize(("param", "value", "fragment"), [
    ("calibration", "platt", "'calibration' parameter of SupervisedScorer must be a str among"),
    ("n_threads", 0, "'n_threads' parameter of SupervisedScorer must be an int in the range [1, inf) or None"),
    ("n_splits", 1, "'n_splits' parameter of SupervisedScorer must be an int in the range [2, inf)"),
])
def test_parameter_errors_follow_sklearn_template(param, value, fragment):
    X, y, g = synthetic(30)
    with pytest.raises(ValueError) as exc:
        SupervisedScorer(**{**FAST, param: value}).fit(X, y, groups=g)
    assert fragment in str(exc.value) and f"Got {value!r} instead" in str(exc.value)


def test_supervised_needs_both_classes():
    X, y, g = synthetic(30)
    with pytest.raises(ValueError, match="labels containing both classes"):
        SupervisedScorer(**FAST).fit(X, np.zeros(len(X), dtype=int), groups=g)


def test_predict_threshold_is_checked():
    X, y, g = synthetic(30)
    det = AnomalyDetector(n_estimators=10).fit(X)
    with pytest.raises(ValueError, match=r"'threshold' parameter of AnomalyDetector must be a float in the range"):
        det.predict(X, threshold=2)


# -- grouped CV and leakage ------------------------------------------------------------------------
def test_grouped_folds_never_split_a_group():
    X, y, g = synthetic()
    folds = grouped_folds(y.to_numpy(), g.to_numpy(), 5, 0)
    assert len(folds) == 5
    seen = []
    for train, test in folds:
        assert not set(g.iloc[train]) & set(g.iloc[test])
        assert 0 < y.iloc[test].sum() < len(test)
        seen.extend(test)
    assert sorted(seen) == list(range(len(X)))
    # the fitted estimator used exactly those folds
    est = SupervisedScorer(**{**FAST, "n_splits": 5}).fit(X, y, groups=g)
    for train, test in est.folds_:
        assert not set(g.iloc[train]) & set(g.iloc[test])


def test_decision_labels_do_not_leak():
    X, y, g = synthetic()
    leaky = SupervisedScorer(**FAST).fit(X, y, groups=g)
    clean = SupervisedScorer(**{**FAST, "exclude_prefixes": ("decisions",)}).fit(X, y, groups=g)
    assert not [c for c in clean.feature_names_in_ if c == "decisions" or c.startswith("decisions_")]
    assert {"decisions", "decisions_n_bad_faith_refusal", "decisions_weighted_own"} <= set(clean.excluded_features_)
    assert not [c for c in clean.feature_importances_.index if excluded(c, ("decisions",))]
    # the decisions columns are really not read: changing them does not change the scores
    X2 = X.assign(decisions=0.0, decisions_n_bad_faith_refusal=0.0, decisions_weighted_own=0.0)
    assert np.allclose(clean.decision_function(X), clean.decision_function(X2))
    assert not np.allclose(leaky.decision_function(X), leaky.decision_function(X2))


# -- labels ----------------------------------------------------------------------------------------
def test_labels_from_decisions():
    X, y, g = synthetic(10)
    keys = list(X.index)
    dec = pd.DataFrame({"subject_key": [keys[0], keys[1], keys[2], "unknown"],
                        "kind": ["bad_faith_refusal", "invalidation", "administrative_penalty", "invalidation"]})
    lab = labels_from_decisions(fake_result(X, g, dec))
    assert lab.name == "label" and len(lab) == len(X)
    assert lab[keys[0]] == 1 and lab[keys[1]] == 1 and lab[keys[2]] == 0 and lab.sum() == 2


def test_labels_from_truth_uses_majority_owner(tmp_path):
    X, y, g = synthetic(3)
    res = fake_result(X, g)
    res.applications = pd.DataFrame({"application_id": ["a1", "a2", "a3", "a4"],
                                     "applicant_key": [X.index[0], X.index[0], X.index[0], X.index[1]]})
    pd.DataFrame({"application_id": ["a1", "a2", "a3", "a4"], "entity_id": ["E1", "E2", "E2", "E1"]}).to_csv(
        tmp_path / "applications.csv", index=False)
    pd.DataFrame({"entity_id": ["E1", "E2"], "label": [0, 1], "kind": ["legit", "hoarder"]}).to_csv(
        tmp_path / "entities.csv", index=False)
    lab = labels_from_truth(tmp_path, res)
    assert lab.to_dict() == {X.index[0]: 1, X.index[1]: 0}
    with pytest.raises(LabelError, match="has no applications.csv"):
        labels_from_truth(tmp_path / "nope", res)


def test_labels_from_file(tmp_path):
    X, y, g = synthetic(5)
    res = fake_result(X, g)
    p = tmp_path / "labels.csv"
    pd.DataFrame({"applicant_key": [X.index[0], X.index[1], "gone"], "label": ["confirmed", "0", "1"],
                  "reviewer": ["a", "b", "c"]}).to_csv(p, index=False)
    lab = labels_from_file(p, res)
    assert lab.to_dict() == {X.index[0]: 1, X.index[1]: 0} and lab.attrs["unknown_keys"] == 1
    pd.DataFrame({"applicant_key": [X.index[0]], "label": ["maybe"]}).to_csv(p, index=False)
    with pytest.raises(LabelError, match="'label' must be one of"):
        labels_from_file(p, res)
    pd.DataFrame({"applicant_key": [X.index[0], X.index[0]], "label": ["1", "0"]}).to_csv(p, index=False)
    with pytest.raises(LabelError, match="carry both labels"):
        labels_from_file(p, res)


# -- MLflow ----------------------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.delenv("TMSCREEN_HOME", raising=False)
    monkeypatch.chdir(tmp_path)  # nothing may be written to the cwd except under the home
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    return tmp_path / "home"


def test_home_resolution(tmp_path, monkeypatch):
    from models.tracking import resolve_home, tracking_uri

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TMSCREEN_HOME", raising=False)
    assert resolve_home() == tmp_path.resolve() / ".tmscreen"
    monkeypatch.setenv("TMSCREEN_HOME", "envhome")
    assert resolve_home() == tmp_path.resolve() / "envhome"
    assert resolve_home(tmp_path / "flag") == tmp_path.resolve() / "flag"
    assert tracking_uri("x") == f"sqlite:///{tmp_path.resolve()}/x/mlflow.db"


def test_mlflow_train_promote_champion_and_refuse_worse(home, tmp_path):
    from models import tracking

    assert tracking.load_champion(home) is None  # no store: None, nothing created
    assert not home.exists()
    X, y, g = synthetic(150)
    res = fake_result(X, g)
    cfg = load_config()
    hold = tracking.holdout_mask(g.to_numpy())
    train_lab, eval_lab = y[~hold], y[hold]
    assert 0 < eval_lab.sum() < len(eval_lab)

    r1 = tracking.train_and_log(res, train_lab, "decisions", cfg, home, params=FAST)
    assert r1["version"] == "1" and r1["metrics"]["pr_auc"] > 0.7
    assert not [c for c in r1["estimator"].feature_names_in_ if excluded(c, ("decisions",))]
    p1 = tracking.promote(home, r1["version"], res, eval_lab)
    assert p1["promoted"] and p1["reason"] == "no champion yet"

    champ = tracking.load_champion(home)
    assert champ.uri_ == "models:/tmscreen/1"
    s = champ.decision_function(tracking.model_input(res))
    assert np.allclose(s, r1["estimator"].decision_function(tracking.model_input(res)))

    # a challenger trained on shuffled labels is worse on the same evaluation rows: refused
    rng = np.random.default_rng(1)
    shuffled = pd.Series(rng.permutation(train_lab.to_numpy()), index=train_lab.index)
    r2 = tracking.train_and_log(res, shuffled, "decisions", cfg, home, params=FAST)
    p2 = tracking.promote(home, r2["version"], res, eval_lab)
    assert r2["version"] == "2" and not p2["promoted"] and p2["champion"] == "1"
    assert p2["challenger_pr_auc"] < p2["champion_pr_auc"]
    assert tracking.load_champion(home).uri_ == "models:/tmscreen/1"

    # a tie keeps the champion: the same model again
    r3 = tracking.train_and_log(res, train_lab, "decisions", cfg, home, params=FAST)
    p3 = tracking.promote(home, r3["version"], res, eval_lab)
    assert not p3["promoted"] and p3["challenger_pr_auc"] == pytest.approx(p3["champion_pr_auc"])

    import mlflow

    client = mlflow.MlflowClient()
    assert client.get_model_version("tmscreen", "2").tags["promotion"] == "refused"
    runs = mlflow.search_runs(experiment_names=["tmscreen"], filter_string="tags.`tmscreen.type` = 'promotion'")
    assert len(runs) == 3
    train_run = mlflow.get_run(r1["run_id"])
    assert len(train_run.data.params["feature_matrix_sha256"]) == 64
    arts = {a.path for a in client.list_artifacts(r1["run_id"])}
    assert {"feature_importances.csv", "pr_curve.png", "cv_metrics.csv"} <= arts
    assert (home / "mlflow.db").exists() and (home / "mlartifacts").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # nothing scattered in the cwd


@pytest.mark.slow
def test_train_command_end_to_end(home, tmp_path, capsys):
    """tmscreen train on a small demo world: truth labels, hold-out promotion, champion scores compute()."""
    import argparse
    import json

    from models.tracking import load_champion
    from pipeline.contract import load_dataset
    from pipeline.score import compute
    from pipeline.train import add_train_parser, run_train

    world = tmp_path / "world"
    from demo import world as demo

    demo.generate_world(world, n_applications=2000, seed=5)
    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers(dest="command"))
    cfg = load_config()

    def train(*extra):
        args = parser.parse_args(["train", str(world / "dataset"), "--home", str(home), "--as-of", "2025-12-31",
                                  "--json", *extra])
        return run_train(args, cfg)

    assert train("--labels", str(tmp_path / "missing.csv")) == 2
    assert "no such file" in capsys.readouterr().err
    assert train("--labels", f"truth:{world / 'truth'}", "--promote") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == "1" and out["promotion"]["promoted"]
    assert out["trained_on"] < out["labelled"]  # the hold-out groups were kept out of training
    assert out["metrics"]["pr_auc"] > 0.5 and any(k.startswith("recall_at_k.") for k in out["metrics"])
    champion = load_champion(home)
    loaded = load_dataset(world / "dataset", as_of="2025-12-31")
    res = compute(loaded.tables, cfg, model=champion)
    assert res.model == {"kind": "mlflow", "uri": "models:/tmscreen/1"}
    assert res.applicants["risk_score"].between(0, 1).all()
