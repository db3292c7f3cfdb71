"""The end-to-end scoring path shared by the CLI, batch runs, notebooks and the Dask engine.

``compute`` is pure (tables in, frames out); ``score_dataset`` adds loading, timing and the
atomic run folder. Stage timings and peak memory go into the manifest.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow as pa

from core.config import Config
from core.reasons import Reason
from core.tables import Tables, arrow_strings, join_grouped, positions_in
from features import products
from features.registry import FeatureResult
from models.scoring import DIMENSIONS, contributions, dimension_scores, noisy_or
from pipeline.contract import load_dataset
from pipeline.entities import resolve_entities
from pipeline.grading import grade_applicants
from pipeline.runio import RunWriter
from pipeline.stages import StageTimer, with_shared_products

log = logging.getLogger("tmscreen")
__version__ = importlib.metadata.version("tmscreen")  # one place: pyproject.toml


@dataclass
class ScoreResult:
    tables: Tables
    features: dict[str, FeatureResult]
    applicants: pd.DataFrame  # one row per applicant_key
    applications: pd.DataFrame
    flags: pd.DataFrame
    feature_matrix: pd.DataFrame
    model: dict = field(default_factory=dict)
    agents: pd.DataFrame | None = None  # pipeline.agents.agent_table


def feature_matrix(results: dict[str, FeatureResult]) -> pd.DataFrame:
    return pd.concat([r.applicant for r in results.values()], axis=1).fillna(0.0)


# reason code → its dimension's name (for the join with the per-dimension contributions)
REASON_DIMENSION = {r.value: r.dimension.value for r in Reason}


def _starts_with_own_code(evidence: pd.Series, reason: pd.Series) -> np.ndarray:
    """Row-wise ``evidence.startswith(reason)``, vectorised once per distinct reason code."""
    out = np.zeros(len(evidence), dtype=bool)
    for code in reason.unique():
        rows = (reason == code).to_numpy()
        out[rows] = evidence[rows].str.startswith(code).fillna(False).to_numpy(dtype=bool)
    return out


def _reasons_text(flags: pd.DataFrame, contrib: pd.DataFrame, max_reasons: int) -> pd.Series:
    """Top reasons per applicant: strongest dimension first, one line per reason code."""
    if not len(flags):
        return pd.Series(dtype="str")
    f = flags.copy()
    # each flag's dimension contribution, read from the matrix by (row, column) position (stacking it
    # made 5 rows per applicant to join on string pairs: 12 s at 10M applications)
    row = positions_in(contrib.index, f["applicant_key"])
    col = pd.Index(contrib.columns).get_indexer(f["reason"].map(REASON_DIMENSION))
    found = (row >= 0) & (col >= 0)
    f["contrib"] = np.where(found, contrib.to_numpy(np.float64)[np.maximum(row, 0), np.maximum(col, 0)], np.nan)
    f = f.sort_values(["applicant_key", "contrib", "strength", "reason", "application_id"],
                      ascending=[True, False, False, True, True])
    f = f.drop_duplicates(["applicant_key", "reason"])
    f = f[f.groupby("applicant_key").cumcount() < max_reasons]
    # Some builders already start their evidence with the code; do not print it twice.
    has_code = _starts_with_own_code(f["evidence"], f["reason"])
    line = f["evidence"].where(has_code, f["reason"] + ": " + f["evidence"])
    return join_grouped(f["applicant_key"], line, " | ")


def flag_groups(risk: pd.Series, group_id: pd.Series, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(flagged, flagged because of its group) per applicant. A related-party group answers as one
    (2019 Provisions art. 8: the applicant and its related parties): when one member's risk reaches
    the threshold, every member is flagged."""
    own = (risk >= threshold).to_numpy()
    flagged = pd.Series(own).groupby(group_id.to_numpy()).transform("any").to_numpy(dtype=bool)
    return flagged, flagged & ~own


def _with_group_reason(out: pd.DataFrame) -> pd.Series:
    """Reasons of applicants flagged because a member of their related-party group is: the group's
    riskiest member first (applicants indexed by key, with group_id, risk_score, flagged_by_group)."""
    by = out["flagged_by_group"].to_numpy()
    if not by.any():
        return out["reasons"]
    riskiest = out.sort_values("risk_score", ascending=False, kind="stable").drop_duplicates("group_id")
    name = riskiest.set_index("group_id")["applicant_name"]
    risk = riskiest.set_index("group_id")["risk_score"]
    g = out.loc[by, "group_id"]
    line = ("flagged with its related-party group: member " + g.map(name).astype("str")
            + " is flagged (risk " + g.map(risk).round(2).astype("str") + ")")
    own = out.loc[by, "reasons"]
    reasons = out["reasons"].copy()
    reasons.loc[by] = np.where(own != "", line + " | " + own, line)
    return reasons


def application_risk(flags: pd.DataFrame, application_ids: pd.Series, config: Config) -> pd.Series:
    """Each application's own risk (the examiner's view, whoever files it): the weighted noisy-OR of
    the strengths of the flags raised on the application itself (a resemblance to a protected or
    earlier mark, a public term or trend, a decision naming it), each weighted by its dimension's
    ``[scoring] weight_*``. 0 for an application without flags of its own."""
    cfg = config.scoring
    own = flags[flags["application_id"].astype("str") != ""]
    weight = own["reason"].map(REASON_DIMENSION).map({d: getattr(cfg, f"weight_{d}") for d in DIMENSIONS})
    p = (weight.astype("float64") * own["strength"].astype("float64").clip(0.0, 1.0)).clip(upper=1 - 1e-12)
    keep = np.log1p(-p).groupby(own["application_id"].to_numpy()).sum()
    risk = 1.0 - np.exp(keep)
    if not len(risk):
        return pd.Series(0.0, index=application_ids.index)
    at = positions_in(risk.index, application_ids)
    return pd.Series(np.where(at >= 0, risk.to_numpy()[np.maximum(at, 0)], 0.0), index=application_ids.index)


def _application_reasons(flags: pd.DataFrame, application_ids: pd.Series, max_reasons: int) -> pd.Series:
    """Each application's own flags as text, strongest first (``CODE: evidence`` lines joined by | )."""
    own = flags[flags["application_id"].astype("str") != ""]
    if not len(own):
        return pd.Series("", index=application_ids.index, dtype="str")
    own = own.sort_values(["application_id", "strength", "reason"], ascending=[True, False, True])
    own = own[own.groupby("application_id").cumcount() < max_reasons]
    has_code = _starts_with_own_code(own["evidence"], own["reason"])
    line = own["evidence"].where(has_code, own["reason"] + ": " + own["evidence"])
    text = join_grouped(own["application_id"], line, " | ")
    at = positions_in(text.index, application_ids)
    out = np.where(at >= 0, text.to_numpy(dtype=object)[np.maximum(at, 0)], "")
    return pd.Series(out, index=application_ids.index, dtype="str")


def _list_column(keys: pd.Series, values: pd.Series, target: pd.Series | pd.Index) -> pa.LargeListArray:
    """For each element of ``target``, the list of ``values`` whose key equals it, in row order
    (``[]`` when none). Rows of a key must be contiguous.

    A vectorised ``target.map(groupby(keys)[values].agg(list))``: the lists are gathered with numpy
    and built by Arrow, not by a Python call per group (seconds at 1M applications).
    """
    codes, uniq = pd.factorize(keys)  # contiguous groups: codes are non-decreasing
    bounds = np.searchsorted(codes, np.arange(len(uniq) + 1))
    pos = positions_in(uniq, target)
    found = pos >= 0
    start = np.where(found, bounds[pos], 0)
    length = np.where(found, bounds[pos + 1] - start, 0)
    offsets = np.concatenate([[0], np.cumsum(length)]).astype("int64")
    take = np.repeat(start - offsets[:-1], length) + np.arange(offsets[-1])
    flat = arrow_strings(values).take(pa.array(take))
    return pa.LargeListArray.from_arrays(pa.array(offsets), flat)


def _per_applicant(apps: pd.DataFrame, index: pd.Index) -> tuple[pd.DataFrame, np.ndarray]:
    """For each applicant key of ``index``: its most used name (ties: the alphabetically first), all
    its names (alphabetical), the group, type and country of its first filing, and its number of
    filings; and for each filing, the row of its key in ``index`` (-1: none).

    Integer codes from one factorize of the keys and one of the names: a groupby or map per column
    hashed the 10M key strings each time (40 s of the grading stage at 10M applications)."""
    code, keys = pd.factorize(apps["applicant_key"], use_na_sentinel=False)
    at = positions_in(keys, index)  # every scored key has filings (builders index on them)
    if (at < 0).any():
        raise ValueError(f"scored applicant keys without filings: {list(index[at < 0][:5])}")
    row_of_code = np.full(len(keys), -1, dtype=np.int64)
    row_of_code[at] = np.arange(len(index))
    name_code, names = pd.factorize(apps["applicant_name"], sort=True, use_na_sentinel=False)  # in string order
    n_names = max(len(names), 1)
    pair, n = np.unique(code.astype(np.int64) * n_names + name_code, return_counts=True)  # by (key, name)
    pair_key, pair_name = pair // n_names, pair % n_names
    # the most used name: the first pair of each key ordered by (key, count descending, name)
    order = np.lexsort((pair_name, -n, pair_key))
    first = order[np.r_[True, pair_key[order][1:] != pair_key[order][:-1]]]
    main_name = np.empty(len(keys), dtype=np.int64)
    main_name[pair_key[first]] = pair_name[first]
    first_filing = np.unique(code, return_index=True)[1]  # by key code
    out = pd.DataFrame(index=index)
    out["applicant_name"] = pd.Series(names.take(main_name[at]), index=index, dtype="str")
    out["names"] = pd.Series(_list_column(pd.Series(pair_key), pd.Series(names.take(pair_name), dtype="str"),
                                          pd.Index(at)).to_pylist(), index=index, dtype=object)
    for col in ("group_id", "applicant_type", "applicant_country"):
        out[col] = pd.Series(apps[col].array.take(first_filing[at]), index=index)
    out["n_applications"] = np.bincount(code, minlength=len(keys))[at]
    return out, row_of_code[code]


def compute(tables: Tables, config: Config, timer: StageTimer | None = None, model=None, engine: str = "pandas",
            scheduler: str | None = None) -> ScoreResult:
    """Entities → features → scores → grades. ``tables`` are contract tables (not yet resolved)."""
    timer = timer or StageTimer()
    from pipeline.marks_job import MarksJob

    job = MarksJob(tables, config) if engine == "pandas" and MarksJob.wanted(tables, config) else None
    try:
        return _compute(tables, config, timer, model, engine, scheduler, job)
    finally:
        if job is not None:
            job.stop()


def _compute(tables: Tables, config: Config, timer: StageTimer, model, engine: str, scheduler: str | None,
             job) -> ScoreResult:
    with timer.stage("entities"):
        tables = resolve_entities(tables, config)
    with timer.stage("features.shared"):
        # 类似群 groups of every application's goods and the distinctive core of every mark, computed
        # once for all builders (hoarding and infringement read the groups; the squatting trend table,
        # the squatting builder and infringement read the cores).
        from features.lexicons import similar_groups_of
        from features.squatting import distinct_mark_cores

        tables.applications = tables.applications.assign(similar_groups=similar_groups_of(tables.applications),
                                                         mark_core=distinct_mark_cores(tables.applications["mark_text"]))
        # the register's related classes (hoarding and infringement): a statistic of the whole
        # register, made here on every engine (the Dask engine splits the register)
        tables = products.ensure(tables, config, [products.RELATED_CLASSES])
    if job is not None:
        # the shared products (trends, related classes) while the marks process works on
        tables = job.finish(with_shared_products(tables, config, timer), timer)
    from pipeline.engines import run_builders_on  # engine: pandas | dask | dask-local (pipeline.engines)

    results = run_builders_on(engine, tables, config, timer, scheduler=scheduler)
    with timer.stage("models"):
        severity = pd.DataFrame({dim: r.severity for dim, r in results.items()}).fillna(0.0)
        scores = dimension_scores(severity, config)
        matrix = feature_matrix(results)
        model_info = {"kind": "builtin", "uri": None}
        if model is not None:
            risk = pd.Series(model.decision_function(matrix.join(scores)), index=scores.index, name="risk_score")
            model_info = {"kind": "mlflow", "uri": getattr(model, "uri_", None)}
        else:
            risk = noisy_or(scores, config)
        contrib = contributions(scores, config)
        flags = pd.concat([r.flags for r in results.values()], ignore_index=True)
    with timer.stage("grading"):
        from features.decisions import weighted_decisions

        decisions = weighted_decisions(tables.decisions, tables.as_of, config.decisions)
        grades = grade_applicants(scores, decisions, config)
        apps = tables.applications
        out, app_at = _per_applicant(apps, scores.index)  # app_at: each filing's row of out
        for dim in DIMENSIONS:
            out[dim] = scores[dim].round(12)
        out["risk_score"] = risk.round(12)
        out["flagged"], out["flagged_by_group"] = flag_groups(out["risk_score"], out["group_id"],
                                                             config.scoring.flag_threshold)
        risk_at = out["risk_score"].to_numpy()  # by row of out, before it is sorted
        flagged_at = out["flagged"].to_numpy()
        out = out.join(grades)
        out["reasons"] = _reasons_text(flags, contrib, config.scoring.max_reasons).reindex(out.index).fillna("")
        out["reasons"] = _with_group_reason(out)
        out = out.sort_values(["risk_score", "n_applications"], ascending=[False, False], kind="stable")
        app_flags = (flags.loc[flags["application_id"] != "", ["application_id", "reason"]].drop_duplicates()
                     .sort_values(["application_id", "reason"]))
        applications = apps[["application_id", "applicant_key", "group_id", "filing_date", "mark_text",
                             "nice_classes"]].copy()
        # Each application's own warning (the examiner's list) beside its applicant's risk: the filing
        # is risky by itself or by who files it.
        applications["application_risk"] = application_risk(flags, applications["application_id"], config).round(12)
        applications["applicant_risk"] = np.where(app_at >= 0, risk_at[app_at], np.nan)
        applications["risk_score"] = applications["applicant_risk"]  # (the credit view: who files it)
        applications["application_flagged"] = applications["application_risk"] >= config.scoring.flag_threshold
        applications["flagged"] = applications["application_flagged"] | np.where(app_at >= 0, flagged_at[app_at], False)
        applications["reasons"] = _application_reasons(flags, applications["application_id"],
                                                       config.scoring.max_reasons)
        # (Python lists: a pandas Arrow list dtype is written to Parquet as a dtype pandas cannot read back)
        applications["flags"] = pd.Series(_list_column(app_flags["application_id"], app_flags["reason"],
                                                       applications["application_id"]).to_pylist(),
                                          index=applications.index, dtype=object)
    with timer.stage("agents"):
        from pipeline.agents import agent_table

        agents = agent_table(apps, out.reset_index(), config)
    return ScoreResult(tables=tables, features=results, applicants=out.reset_index(), applications=applications,
                       flags=flags, feature_matrix=matrix, model=model_info, agents=agents)


def write_run(result: ScoreResult, out: Path, manifest: dict, rejected: dict[str, pd.DataFrame],
              timer: StageTimer, config: Config) -> dict:
    with RunWriter(out) as w:
        with timer.stage("write"):
            w.parquet("application_scores", result.applications)
            w.parquet("applicant_scores", result.applicants)
            w.csv("applicant_scores", result.applicants)
            w.parquet("flags", result.flags)
            if result.agents is not None:
                w.parquet("agents", result.agents)
                w.csv("agents", result.agents)
            w.parquet("features", result.feature_matrix.reset_index())
            w.parquet("entities", result.tables.entities)
            w.parquet("groups", result.tables.groups)
            w.parquet("edges", result.tables.extras["edges"])
            details = [r.details.assign(dimension=d) for d, r in result.features.items() if len(r.details)]
            if details:
                w.parquet("evidence", pd.concat(details, ignore_index=True).astype("str"))
            grades = result.applicants[["applicant_key", "applicant_name", "group_id", "points", "grade",
                                        "hard_rule", "deductions"]]
            w.parquet("grades", grades)
            w.csv("grades", grades)
            for table, frame in rejected.items():
                if len(frame):
                    w.csv(f"rejected/{table}", frame)
        with timer.stage("index"):
            from pipeline.register_index import write_index

            write_index(w, result, config, manifest["as_of"])
        manifest["stages"] = timer.stages
        w.manifest(manifest)
    return manifest


def run_manifest(dataset, as_of: str, inputs: list, rows: dict, config: Config, result: ScoreResult,
                 model_info: dict | None) -> dict:
    """The manifest fields every run folder has (score and batch add their own)."""
    a = result.applicants
    return {
        "tmscreen_version": __version__,
        "dataset": str(Path(dataset).resolve()),
        "as_of": as_of,
        "inputs": inputs,
        "rows": rows,
        "config": config.to_dict(),
        "config_digest": config.digest(),
        "model": {**result.model, **(model_info or {})},
        "summary": {
            "applications": int(len(result.applications)),
            "applicants": int(len(a)),
            "groups": int(a["group_id"].nunique()),
            "flagged": int(a["flagged"].sum()),
            "grades": {g: int(n) for g, n in a["grade"].value_counts().sort_index().items()},
        },
    }


def score_dataset(dataset: str | Path, out: str | Path, config: Config, as_of: str | None = None,
                  encoding: str | None = None, model=None, model_info: dict | None = None, engine: str = "pandas",
                  scheduler: str | None = None, progress: TextIO | None = None) -> dict:
    timer = StageTimer(progress)
    start = time.perf_counter()
    with timer.stage("load"):
        loaded = load_dataset(dataset, as_of=as_of or config.run.as_of or None, encoding=encoding)
        timer.rows = len(loaded.tables.applications)
    result = compute(loaded.tables, config, timer, model=model, engine=engine, scheduler=scheduler)
    manifest = run_manifest(dataset, str(loaded.tables.as_of.date()), loaded.inputs, loaded.counts, config, result,
                            model_info)
    manifest["engine"] = {"name": engine, "scheduler": scheduler}
    manifest = write_run(result, Path(out), manifest, loaded.rejected, timer, config)
    manifest["wall_seconds"] = round(time.perf_counter() - start, 2)
    return manifest


def add_model_arguments(p) -> None:
    """--model / --home / --builtin, shared by `score` and `batch`."""
    p.add_argument("--model", help="MLflow model URI to score with (default: models:/tmscreen@champion if the "
                   "tmscreen home has one, else the built-in scorer)")
    p.add_argument("--home", help="tmscreen home with mlflow.db (default $TMSCREEN_HOME or ./.tmscreen)")
    p.add_argument("--builtin", action="store_true", help="ignore any champion; use the built-in scorer")


def select_model(model_uri: str | None = None, home: str | None = None, builtin: bool = False):
    """(model or None, info for the manifest): --model URI, else the home's champion, else built-in.

    MLflow is imported only when a store exists, so the built-in path stays fast."""
    if builtin:
        return None, {"kind": "builtin", "uri": None, "why": "--builtin"}
    from models.tracking import load_champion, load_model, resolve_home

    if model_uri:
        model = load_model(model_uri, home)
        return model, {"kind": "mlflow", "uri": model.uri_, "why": "--model"}
    model = load_champion(home)
    if model is None:
        return None, {"kind": "builtin", "uri": None, "why": f"no champion in {resolve_home(home)}"}
    return model, {"kind": "mlflow", "uri": model.uri_, "why": "champion alias"}


def top_table(applicants: pd.DataFrame, n: int) -> pd.DataFrame:
    cols = ["applicant_name", "grade", "risk_score", *DIMENSIONS, "n_applications", "reasons"]
    top = applicants[applicants["flagged"]].head(n)[cols].copy()
    top["risk_score"] = np.round(top["risk_score"], 3)
    return top


def top_applications(applications: pd.DataFrame, applicants: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` applications flagged on their own evidence with the highest own risk."""
    names = applicants.set_index("applicant_key")["applicant_name"]
    top = applications[applications["application_flagged"]].sort_values(
        ["application_risk", "application_id"], ascending=[False, True], kind="stable").head(n).copy()
    top["applicant_name"] = top["applicant_key"].map(names).fillna("")
    top["nice_classes"] = top["nice_classes"].map(lambda v: ";".join(map(str, v)) if hasattr(v, "__len__")
                                                  and not isinstance(v, str) else str(v))
    return top[["application_id", "mark_text", "nice_classes", "application_risk", "applicant_name", "reasons"]]
