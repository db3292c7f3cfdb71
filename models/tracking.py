"""MLflow tracking, model registry and the champion/challenger rule, under one tmscreen home.

Layout (docs/models.md)::

    <home>/mlflow.db          tracking + registry store   (sqlite:///<abs home>/mlflow.db)
    <home>/mlartifacts/       artifacts of experiment "tmscreen" (explicit artifact_location)

``home`` = the ``--home`` flag, else ``$TMSCREEN_HOME``, else ``<cwd>/.tmscreen`` — always made
absolute, so notebooks run from other folders use the same store. ``mlflow`` is imported lazily
(≈2 s): ``load_champion`` returns ``None`` without importing it when no store exists.

Registered model ``tmscreen``; the production model carries the alias ``champion``
(``models:/tmscreen@champion``). ``promote`` moves the alias only when the challenger's PR-AUC on
the *same* evaluation rows is strictly higher than the champion's (ties keep the champion).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from models.scoring import DIMENSIONS

MODEL_NAME = "tmscreen"
EXPERIMENT = "tmscreen"
ALIAS = "champion"
MODEL_KINDS = ("supervised", "anomaly", "builtin")
LABEL_KINDS = ("decisions", "truth", "file")


# -- home and store ---------------------------------------------------------------------------------
def resolve_home(home: str | Path | None = None) -> Path:
    """``home`` argument > ``$TMSCREEN_HOME`` > ``<cwd>/.tmscreen``; absolute."""
    chosen = home or os.environ.get("TMSCREEN_HOME") or Path.cwd() / ".tmscreen"
    return Path(chosen).expanduser().resolve()


def tracking_uri(home: str | Path | None = None) -> str:
    return f"sqlite:///{resolve_home(home) / 'mlflow.db'}"


def artifact_root(home: str | Path | None = None) -> Path:
    return resolve_home(home) / "mlartifacts"


def _mlflow(home: str | Path | None):
    """Import mlflow, point tracking + registry at the home's store, ensure the experiment exists."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    h = resolve_home(home)
    h.mkdir(parents=True, exist_ok=True)
    import mlflow

    uri = tracking_uri(h)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    exp = mlflow.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        exp_id = mlflow.create_experiment(EXPERIMENT, artifact_location=artifact_root(h).as_uri())
    else:
        exp_id = exp.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return mlflow


# -- data ------------------------------------------------------------------------------------------
def model_input(result) -> pd.DataFrame:
    """What ``pipeline.score.compute`` passes to ``model.decision_function``: features + dimension scores."""
    scores = result.applicants.set_index("applicant_key")[DIMENSIONS]
    return result.feature_matrix.join(scores)


def frame_sha256(obj: pd.DataFrame | pd.Series) -> str:
    """Content hash of a frame/series (values, index and column names; row order matters)."""
    h = hashlib.sha256()
    frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
    h.update(json.dumps([str(c) for c in frame.columns]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def holdout_mask(group_ids, share: float = 0.25) -> np.ndarray:
    """Deterministic hold-out by related-party group: a group is held out when sha1(group_id) falls in
    the first ``share`` of the hash range. Every training run puts the same groups aside, so a champion
    and a challenger trained by ``tmscreen train`` never saw the rows they are compared on."""
    cut = int(share * 2**32)
    return np.asarray([int(hashlib.sha1(str(g).encode()).hexdigest()[:8], 16) < cut for g in group_ids])


def ranking_metrics(y: np.ndarray, scores: np.ndarray, kinds: pd.Series | None = None) -> dict:
    """PR-AUC, ROC-AUC, precision/recall at K (K = number of positives), recall@K per kind."""
    y = np.asarray(y, dtype="int64")
    scores = np.asarray(scores, dtype="float64")
    k = int(y.sum())
    out: dict = {"n": int(len(y)), "positives": k}
    if 0 < k < len(y):
        out["pr_auc"] = float(average_precision_score(y, scores))
        out["roc_auc"] = float(roc_auc_score(y, scores))
    if k:
        top = np.zeros(len(y), dtype=bool)
        top[np.argsort(-scores, kind="stable")[:k]] = True
        out["recall_at_k"] = float(y[top].sum() / k)
        if kinds is not None:
            kinds = np.asarray(kinds, dtype=object)
            for kind in sorted({str(v) for v in kinds[y == 1]}):
                sel = (y == 1) & (kinds == kind)
                out[f"recall_at_k.{kind}"] = float(top[sel].mean())
    return out


def make_estimator(model: str, label_kind: str, config=None, params: dict | None = None):
    from models.anomaly import AnomalyDetector, BuiltinScorer
    from models.supervised import SupervisedScorer

    if model not in MODEL_KINDS:
        raise ValueError(f"The 'model' parameter must be a str among {set(MODEL_KINDS)}. Got {model!r} instead.")
    exclude = ("decisions",) if label_kind == "decisions" else ()
    params = dict(params or {})
    if model == "supervised":
        return SupervisedScorer(**{"exclude_prefixes": exclude, **params})
    if model == "anomaly":
        return AnomalyDetector(**{"exclude_prefixes": exclude, **params})
    return BuiltinScorer(config=config)


def _pr_curve_png(y, scores, path: Path, title: str) -> None:
    from matplotlib.figure import Figure  # no pyplot: no global backend, works headless (Agg canvas)

    prec, rec, _ = precision_recall_curve(y, scores)
    fig = Figure(figsize=(5, 4), dpi=100)
    ax = fig.add_subplot()
    ax.step(rec, prec, where="post")
    ax.axhline(float(np.mean(y)), color="grey", linestyle=":", label="base rate")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path)


def _pip_requirements() -> list[str]:
    import cloudpickle
    import sklearn

    return [f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}", f"numpy=={np.__version__}",
            f"cloudpickle=={cloudpickle.__version__}"]


# -- train -----------------------------------------------------------------------------------------
def train_and_log(result, labels: pd.Series, kind: str, config, home: str | Path | None = None,
                  truth=None, model: str = "supervised", params: dict | None = None) -> dict:
    """Fit a detector, log params/hashes/metrics/artifacts to MLflow, register it as ``tmscreen``.

    result: a ``ScoreResult``; labels: 0/1 Series indexed by applicant_key (only these rows are used to
    train a supervised model and to compute metrics); kind: where labels came from — "decisions"
    (weak: decisions features excluded), "truth" or "file"; truth: a truth folder or a
    ``models.labels.truth_owner`` frame, for recall@K per kind; model: "supervised", "anomaly" or
    "builtin". Metrics of a supervised model are on its grouped out-of-fold scores; of the others on
    their scores of the labelled rows. Returns run_id, version, model_uri, metrics.
    """
    if kind not in LABEL_KINDS:
        raise ValueError(f"The 'kind' parameter must be a str among {set(LABEL_KINDS)}. Got {kind!r} instead.")
    X = model_input(result)
    lab = labels.reindex(X.index).dropna().astype("int64")
    Xl = X.loc[lab.index]
    groups = result.applicants.set_index("applicant_key")["group_id"].reindex(lab.index).astype("str")
    est = make_estimator(model, kind, config, params)
    if model == "supervised":
        est.fit(Xl, lab.to_numpy(), groups=groups.to_numpy())
        eval_scores = est.oof_scores_
    else:
        est.fit(X)
        eval_scores = est.decision_function(Xl)
    kinds = None
    if truth is not None:
        from models.labels import truth_owner

        owner = truth if isinstance(truth, pd.DataFrame) else truth_owner(truth, result.applications)
        kinds = owner["kind"].reindex(lab.index).fillna("").astype("str")
    metrics = ranking_metrics(lab.to_numpy(), eval_scores, kinds)

    mlflow = _mlflow(home)
    from mlflow import sklearn as mlflow_sklearn

    run_params = {f"model.{k}": v for k, v in est.get_params().items() if k != "config"}
    run_params.update({
        "model": model, "labels": kind, "n_applicants": len(X), "n_labelled": len(lab),
        "n_positive": int(lab.sum()), "n_groups": int(groups.nunique()), "n_features": int(est.n_features_in_),
        "excluded_features": ",".join(est.excluded_features_)[:500],
        "config_digest": config.digest() if config is not None else "",
        "as_of": str(result.tables.as_of.date()) if result.tables.as_of is not None else "",
        "feature_matrix_sha256": frame_sha256(X), "labels_sha256": frame_sha256(lab),
    })
    with mlflow.start_run(run_name=f"train-{model}-{kind}") as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tags({"tmscreen.type": "train", "tmscreen.model": model, "tmscreen.labels": kind})
        mlflow.log_params({k: str(v) for k, v in run_params.items()})
        mlflow.log_metrics({k.replace("@", "_"): v for k, v in metrics.items()})
        tmpd = Path(tmp)
        if hasattr(est, "cv_metrics_"):
            cv = est.cv_metrics_
            for row in cv.itertuples():
                for m in ("pr_auc", "roc_auc"):
                    if not np.isnan(getattr(row, m)):
                        mlflow.log_metric(f"cv_{m}", float(getattr(row, m)), step=int(row.fold))
            mlflow.log_metrics({"cv_pr_auc_mean": float(cv["pr_auc"].mean()),
                                "cv_roc_auc_mean": float(cv["roc_auc"].mean())})
            metrics["cv_pr_auc_mean"] = float(cv["pr_auc"].mean())
            metrics["cv_roc_auc_mean"] = float(cv["roc_auc"].mean())
            cv.to_csv(tmpd / "cv_metrics.csv", index=False)
            mlflow.log_artifact(str(tmpd / "cv_metrics.csv"))
        if hasattr(est, "feature_importances_"):
            est.feature_importances_.rename_axis("feature").to_csv(tmpd / "feature_importances.csv")
            mlflow.log_artifact(str(tmpd / "feature_importances.csv"))
        if 0 < lab.sum() < len(lab):
            _pr_curve_png(lab.to_numpy(), eval_scores, tmpd / "pr_curve.png",
                          f"{model} / labels {kind}: PR-AUC {metrics.get('pr_auc', float('nan')):.3f}")
            mlflow.log_artifact(str(tmpd / "pr_curve.png"))
        quiet = logging.getLogger("mlflow.sklearn")  # its pickle-format warning, on every call
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            info = mlflow_sklearn.log_model(est, name="model", serialization_format="cloudpickle",
                                            pip_requirements=_pip_requirements(), registered_model_name=MODEL_NAME)
        finally:
            quiet.setLevel(level)
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.set_model_version_tag(MODEL_NAME, version, "labels", kind)
    client.set_model_version_tag(MODEL_NAME, version, "model", model)
    return {"run_id": run.info.run_id, "version": version, "model_uri": f"models:/{MODEL_NAME}/{version}",
            "metrics": metrics, "estimator": est,
            "top_features": est.feature_importances_.head(10).round(4).to_dict()
            if hasattr(est, "feature_importances_") else {}}


# -- registry --------------------------------------------------------------------------------------
def _champion_version(client) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(MODEL_NAME, ALIAS).version)
    except MlflowException:
        return None


def promote(home: str | Path | None, version, eval_result, labels: pd.Series) -> dict:
    """Champion/challenger: give ``version`` the ``champion`` alias only when its PR-AUC on the evaluation
    rows (``eval_result``'s applicants that have a label in ``labels``) is strictly higher than the
    current champion's on the same rows. No champion yet → promoted. The comparison is logged as a run
    (tag tmscreen.type=promotion) and as tags on the challenger's model version."""
    mlflow = _mlflow(home)
    from mlflow import sklearn as mlflow_sklearn

    client = mlflow.MlflowClient()
    version = str(version)
    X = model_input(eval_result)
    lab = labels.reindex(X.index).dropna().astype("int64")
    Xe = X.loc[lab.index]
    champion = _champion_version(client)
    out = {"challenger": version, "champion_before": champion, "eval_rows": int(len(lab)),
           "eval_positives": int(lab.sum()), "eval_data_sha256": frame_sha256(Xe) if len(Xe) else ""}
    if champion == version:
        out.update(promoted=False, reason="already champion", champion=champion)
        return out
    if champion is not None and not 0 < lab.sum() < len(lab):
        out.update(promoted=False, champion=champion,
                   reason="evaluation rows lack one of the classes; cannot compare, champion kept")
    else:
        challenger_ap = float(average_precision_score(
            lab, mlflow_sklearn.load_model(f"models:/{MODEL_NAME}/{version}").decision_function(Xe))) \
            if 0 < lab.sum() < len(lab) else float("nan")
        out["challenger_pr_auc"] = challenger_ap
        if champion is None:
            out.update(promoted=True, reason="no champion yet")
        else:
            champ_model = mlflow_sklearn.load_model(f"models:/{MODEL_NAME}/{champion}")
            champion_ap = float(average_precision_score(lab, champ_model.decision_function(Xe)))
            out["champion_pr_auc"] = champion_ap
            better = challenger_ap > champion_ap
            out.update(promoted=better,
                       reason=f"PR-AUC {challenger_ap:.4f} {'>' if better else '<='} champion {champion_ap:.4f}")
        if out["promoted"]:
            client.set_registered_model_alias(MODEL_NAME, ALIAS, version)
        out["champion"] = version if out["promoted"] else champion
    with mlflow.start_run(run_name=f"promote-v{version}"):
        mlflow.set_tags({"tmscreen.type": "promotion", "tmscreen.challenger": version,
                         "tmscreen.champion_before": str(champion), "tmscreen.decision":
                         "promoted" if out["promoted"] else "refused", "tmscreen.reason": out["reason"]})
        mlflow.log_params({"eval_rows": out["eval_rows"], "eval_positives": out["eval_positives"],
                           "eval_data_sha256": out["eval_data_sha256"]})
        mlflow.log_metrics({k: out[k] for k in ("challenger_pr_auc", "champion_pr_auc")
                            if k in out and not np.isnan(out[k])})
    client.set_model_version_tag(MODEL_NAME, version, "promotion", "promoted" if out["promoted"] else "refused")
    client.set_model_version_tag(MODEL_NAME, version, "promotion_reason", out["reason"])
    return out


def load_model(uri: str, home: str | Path | None = None):
    """Load a logged detector (``models:/tmscreen/3``, ``runs:/…/model``, a path); sets ``uri_``."""
    mlflow = _mlflow(home)
    from mlflow import sklearn as mlflow_sklearn

    model = mlflow_sklearn.load_model(uri)
    if uri.startswith(f"models:/{MODEL_NAME}@"):
        alias = uri.split("@", 1)[1]
        uri = f"models:/{MODEL_NAME}/{mlflow.MlflowClient().get_model_version_by_alias(MODEL_NAME, alias).version}"
    model.uri_ = uri
    return model


def load_champion(home: str | Path | None = None):
    """The ``champion`` model of the home's registry, or None (no store, no model, or no alias).

    ``uri_`` is set to the concrete version (``models:/tmscreen/<v>``) so a run manifest says which
    model scored it even after the alias moves."""
    if not (resolve_home(home) / "mlflow.db").exists():
        return None
    mlflow = _mlflow(home)
    version = _champion_version(mlflow.MlflowClient())
    if version is None:
        return None
    return load_model(f"models:/{MODEL_NAME}/{version}", home)
