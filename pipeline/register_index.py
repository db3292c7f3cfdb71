"""The register index: what intake screening needs of a scored register, written with every run.

``RUN/index/`` (inside the run folder, so it is published with the run and never half-written):

    filings.parquet     the register's filings as the builders read them (contract columns plus
                        applicant_key, group_id, mark_core, similar_groups) and ``tid``, the
                        position of the filing's word mark in marks.parquet
    marks.parquet       the distinct word marks, prepared for matching (``similarity.prepare_marks``)
                        with ``family`` (``textsim.mark_family``: the sound of the distinctive core)
    applicants.parquet  each applicant's group, dimension scores, risk, flag and grade
    protected.parquet   the protected marks with their owners' keys
    public_terms.parquet, trends.parquet, relations.parquet
                        the listed public terms, the register's unlisted trends and its related
                        classes (register statistics, reused as they are: screening does not refit them)
    term_filings.parquet
                        register filings of listed public terms (application_id, term), for waves
    keys/*.npy          the marks' blocking keys of every kind (``similarity.kept_keys``), loaded
                        memory-mapped: building them again takes longer than everything else
    index.json          format, as-of date, sizes, config digest

Everything is read back with ``load_index``; nothing is recomputed from the whole register.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import Config
from core.errors import UserError
from core.tables import positions_in
from features import products
from features import similarity as sim
from features import textsim as ts
from features.squatting import TREND_COLUMNS

INDEX_FORMAT = 2
FILING_COLUMNS = ["application_id", "filing_date", "mark_text", "nice_classes", "goods_services", "applicant_name",
                  "applicant_address", "applicant_country", "applicant_type", "agent_name", "status",
                  "applicant_key", "group_id", "mark_core", "similar_groups"]
APPLICANT_COLUMNS = ["applicant_key", "applicant_name", "group_id", "n_applications", "hoarding", "infringement",
                     "squatting", "transfer", "decisions", "risk_score", "flagged", "points", "grade", "hard_rule"]


class IndexError_(UserError):
    """A run folder without a usable register index."""


@dataclass(frozen=True)
class RegisterIndex:
    """A scored register as intake screening reads it (see the module docstring)."""

    filings: pd.DataFrame
    marks: pd.DataFrame
    applicants: pd.DataFrame  # indexed by applicant_key
    protected: pd.DataFrame
    public_terms: pd.DataFrame
    trends: pd.DataFrame
    relations: pd.DataFrame
    term_filings: pd.DataFrame
    keys: dict  # the marks' stored blocking keys (``similarity.kept_keys``), memory-mapped
    meta: dict


def index_tables(result, config: Config) -> dict[str, pd.DataFrame]:
    """The index's tables from a scoring result (``pipeline.score.ScoreResult``)."""
    # the products the builders read (made again only if the run's engine kept them elsewhere)
    tables = products.ensure(result.tables, config, (products.MARKS, products.TRENDS, products.RELATED_CLASSES))
    apps = tables.applications
    filings = apps[[c for c in FILING_COLUMNS if c in apps.columns]].copy()
    marks = tables.extras[products.MARKS].copy()
    marks["family"] = ts.mark_family(pd.Series(marks["text"].to_numpy(), dtype="str")).to_numpy()
    text = apps["mark_text"].astype("str").fillna("").str.strip()
    filings["tid"] = np.where(text.str.len().to_numpy() > 0, positions_in(marks["text"], text), -1)
    applicants = result.applicants[[c for c in APPLICANT_COLUMNS if c in result.applicants.columns]]
    squat = result.features.get("squatting")
    details = squat.details if squat is not None else pd.DataFrame(columns=["application_id", "term", "kind"])
    term_filings = details.loc[details["kind"] != "trend", ["application_id", "term"]].astype("str")
    trends = tables.extras[products.TRENDS]
    if not len(trends):
        trends = pd.DataFrame({"window_start": pd.Series(dtype="datetime64[ns]"), "n_groups": pd.Series(dtype="int64"),
                               "originator": pd.Series(dtype="str")}, index=pd.Index([], dtype="str"))
    return {
        "filings": filings,
        "marks": marks,
        "applicants": applicants.reset_index(drop=True),
        "protected": tables.protected_marks,
        "public_terms": tables.public_terms,
        "trends": trends[list(TREND_COLUMNS)].reset_index(names="term"),
        "relations": tables.extras[products.RELATED_CLASSES],
        "term_filings": term_filings.reset_index(drop=True),
    }


def write_index(writer, result, config: Config, as_of: str) -> None:
    """Write ``RUN/index/`` through the run's ``RunWriter`` (published with the run)."""
    frames = index_tables(result, config)
    for name, frame in frames.items():
        writer.parquet(f"index/{name}", frame)
    # the marks' blocking keys (millions of deletion keys at 1M filings): stored, not rebuilt at load
    marks = frames["marks"].drop(columns=["family"])
    for name, array in sim.kept_keys(marks, config).items():
        np.save(writer.path(f"index/keys/{name}.npy"), array, allow_pickle=False)
    sim.forget_keys(marks)
    writer.json("index/index.json", {
        "format": INDEX_FORMAT, "as_of": as_of, "applications": int(len(frames["filings"])),
        "marks": int(len(frames["marks"])), "applicants": int(len(frames["applicants"])),
        "config_digest": config.digest()})


def index_folder(path: str | Path) -> Path:
    """The index folder of a run folder, or of the newest run of a batch state folder."""
    path = Path(path)
    if (path / "index" / "index.json").exists():
        return path / "index"
    runs = sorted(p for p in (path / "runs").glob("[0-9]*") if (p / "index" / "index.json").exists()) \
        if (path / "runs").is_dir() else []
    if runs:
        return runs[-1] / "index"
    raise IndexError_(f"{path} has no register index (index/index.json): give a run folder written by "
                      "`tmscreen score` or a state folder written by `tmscreen batch`.")


def load_index(path: str | Path) -> RegisterIndex:
    """Read a register index (a run folder, a state folder or the index folder itself)."""
    path = Path(path)
    folder = path if (path / "index.json").exists() else index_folder(path)
    meta = json.loads((folder / "index.json").read_text())
    if meta.get("format") != INDEX_FORMAT:
        raise IndexError_(f"{folder}: index format {meta.get('format')}, this tmscreen reads {INDEX_FORMAT}; "
                          "score the register again with this version.")

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(folder / f"{name}.parquet")

    applicants = read("applicants").set_index("applicant_key", drop=False)
    trends = read("trends")
    trends = trends.set_index("term") if "term" in trends.columns else trends
    keys = {p.name[:-4]: np.load(p, mmap_mode="r", allow_pickle=False) for p in (folder / "keys").glob("*.npy")}
    return RegisterIndex(filings=read("filings"), marks=read("marks"), applicants=applicants,
                         protected=read("protected"), public_terms=read("public_terms"), trends=trends,
                         relations=read("relations"), term_filings=read("term_filings"), keys=keys, meta=meta)
