"""Read-only access to the batch stage's state folder for the review app.

A state folder holds ``runs/<as-of>/`` run folders (see :mod:`pipeline.score`), optionally
``history/grades.parquet`` and the reviewer database. The latest run is the lexicographically
greatest folder under ``runs/`` that contains ``manifest.json`` (a run being written has none yet).

Everything here returns plain Python values / DataFrames; rendering (and escaping) happens in the
Jinja2 templates. Nothing here marks text as safe.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

DIMENSIONS = ("hoarding", "infringement", "squatting", "transfer", "decisions")
DIMENSION_THRESHOLD = 0.5
SORTS = {
    "risk": (["risk_score", "n_applications"], [False, False]),
    "points": (["points", "risk_score"], [True, False]),
    "name": (["applicant_name"], [True]),
    "applications": (["n_applications", "risk_score"], [False, False]),
    "grade": (["grade", "risk_score"], [False, False]),
}
MAX_GRAPH_NODES = 60


class StateError(Exception):
    """The state folder has no usable run."""


def latest_run(state: Path) -> Path:
    runs = Path(state) / "runs"
    if not runs.is_dir():
        raise StateError(f"{runs} does not exist: run the batch stage (tmscreen score --out {runs}/<as-of>) first")
    complete = sorted(p for p in runs.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").exists())
    if not complete:
        raise StateError(f"no complete run (folder with manifest.json) under {runs}")
    return complete[-1]


def _listify(v) -> list:
    if isinstance(v, list):
        return v
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    try:
        return list(v)
    except TypeError:
        return [v]


def _read_table(path: Path, usecols: list[str] | None = None) -> pd.DataFrame | None:
    """A dataset table (CSV in UTF-8 / UTF-8-BOM / GB18030, or parquet) as text; None when unreadable."""
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            return df[[c for c in (usecols or df.columns) if c in df.columns]].astype("str")
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc,
                                   usecols=lambda c: usecols is None or c in usecols)
            except UnicodeDecodeError:
                continue
    except Exception:  # the dataset may have moved: the app works without it
        return None
    return None


@dataclass
class RunData:
    """One run folder loaded into memory (a few frames; the app caches it until a newer run appears)."""

    path: Path
    manifest: dict
    applicants: pd.DataFrame
    applications: pd.DataFrame
    flags: pd.DataFrame
    evidence: pd.DataFrame
    groups: pd.DataFrame
    edges: pd.DataFrame
    dataset_apps: pd.DataFrame | None = None  # application_id, agent_name, status (from the dataset)
    transfers: pd.DataFrame | None = None
    decisions: pd.DataFrame | None = None
    reasons_by_key: dict = field(default_factory=dict)
    agents: pd.DataFrame | None = None  # pipeline.agents.agent_table (runs made before it have none)

    @property
    def as_of(self) -> str:
        return str(self.manifest.get("as_of") or self.path.name)

    @classmethod
    def load(cls, run: Path) -> RunData:
        run = Path(run)
        manifest = json.loads((run / "manifest.json").read_text())
        applicants = pd.read_parquet(run / "applicant_scores.parquet")
        applicants["names"] = applicants["names"].map(_listify)
        applicants["_search"] = (applicants["names"].map(lambda ns: " ".join(map(str, ns))) + " "
                                 + applicants["applicant_name"].astype("str") + " "
                                 + applicants["applicant_key"].astype("str")).str.casefold()
        applications = pd.read_parquet(run / "application_scores.parquet")
        applications["flags"] = applications["flags"].map(_listify)
        flags = pd.read_parquet(run / "flags.parquet")
        ev_path = run / "evidence.parquet"
        evidence = pd.read_parquet(ev_path) if ev_path.exists() else pd.DataFrame(
            columns=["application_id", "applicant_key", "dimension"])
        groups = pd.read_parquet(run / "groups.parquet")
        groups["members"] = groups["members"].map(_listify)
        groups["evidence"] = groups["evidence"].map(_listify)
        e_path = run / "edges.parquet"
        edges = pd.read_parquet(e_path) if e_path.exists() else pd.DataFrame(
            columns=["a", "b", "link", "strong", "evidence"])
        data = cls(path=run, manifest=manifest, applicants=applicants, applications=applications, flags=flags,
                   evidence=evidence, groups=groups, edges=edges)
        inputs = {i.get("table"): Path(i["path"]) for i in manifest.get("inputs", []) if i.get("path")}
        if "applications" in inputs:
            data.dataset_apps = _read_table(inputs["applications"], ["application_id", "agent_name", "status"])
        if "transfers" in inputs:
            data.transfers = _read_table(inputs["transfers"])
        if "decisions" in inputs:
            data.decisions = _read_table(inputs["decisions"])
        data.reasons_by_key = flags.groupby("applicant_key")["reason"].agg(lambda s: set(s)).to_dict()
        if (run / "agents.parquet").exists():
            data.agents = pd.read_parquet(run / "agents.parquet")
        return data

    def agents_of(self, key: str) -> list[dict]:
        """The agents the applicant filed through, with their test (the agent list's rows)."""
        if self.agents is None or self.dataset_apps is None or "agent_name" not in self.dataset_apps:
            return []
        from pipeline.entities import normalize_names

        ids = self.applications.loc[self.applications["applicant_key"] == key, "application_id"]
        names = self.dataset_apps.loc[self.dataset_apps["application_id"].isin(ids), "agent_name"]
        names = names.fillna("").astype("str").str.strip()
        names = names[names != ""].drop_duplicates()
        if names.empty:
            return []
        core = normalize_names(names).set_index("name")["core"]
        agents = set(names.map(core).fillna("")) | set(names)
        return self.agents[self.agents["agent"].isin(agents)].to_dict("records")

    # ------------------------------------------------------------------ the application-level list
    def flagged_applications(self, q: str = "") -> pd.DataFrame:
        """Applications flagged on their own evidence, by their own risk (highest first); ``q``
        searches the mark, the application number and the applicant."""
        apps = self.applications
        if "application_flagged" not in apps.columns:  # a run made before applications had their own risk
            return apps.iloc[0:0].assign(application_risk=pd.Series(dtype="float64"), reasons="", applicant_name="")
        rows = apps[apps["application_flagged"].astype(bool)]
        names = self.applicants.set_index("applicant_key")["applicant_name"]
        rows = rows.assign(applicant_name=rows["applicant_key"].map(names).fillna(""))
        if q:
            text = (rows["mark_text"].astype("str") + " " + rows["application_id"].astype("str") + " "
                    + rows["applicant_name"].astype("str")).str.casefold()
            rows = rows[text.str.contains(q.casefold(), regex=False)]
        return rows.sort_values(["application_risk", "application_id"], ascending=[False, True], kind="stable")

    # ------------------------------------------------------------------ the flagged list
    def countries(self) -> list[str]:
        return sorted(c for c in self.applicants["applicant_country"].dropna().astype("str").unique() if c)

    def reason_codes(self) -> list[str]:
        return sorted(self.flags["reason"].astype("str").unique())

    def filter_applicants(self, *, flagged_only: bool = True, grade: str = "", dimension: str = "",
                          reason: str = "", country: str = "", agent: str = "", date_from: str = "",
                          date_to: str = "", q: str = "", sort: str = "risk", desc: bool | None = None,
                          keys: set | None = None) -> pd.DataFrame:
        a = self.applicants
        mask = pd.Series(True, index=a.index)
        if flagged_only:
            mask &= a["flagged"].astype(bool)
        if grade:
            mask &= a["grade"].isin(list(grade)) if len(grade) > 1 else a["grade"] == grade
        if dimension in DIMENSIONS:
            mask &= a[dimension] >= DIMENSION_THRESHOLD
        if country:
            mask &= a["applicant_country"].astype("str").str.upper() == country.upper()
        if reason:
            mask &= a["applicant_key"].map(lambda k: reason in self.reasons_by_key.get(k, ()))
        apps = self.applications
        if agent:
            if self.dataset_apps is None or "agent_name" not in self.dataset_apps:
                mask &= False
            else:
                hit = self.dataset_apps.loc[self.dataset_apps["agent_name"].str.casefold().str.contains(
                    agent.casefold(), regex=False), "application_id"]
                mask &= a["applicant_key"].isin(apps.loc[apps["application_id"].isin(hit), "applicant_key"])
        if date_from or date_to:
            d = apps["filing_date"]
            ok = pd.Series(True, index=apps.index)
            if date_from:
                ok &= d >= pd.Timestamp(date_from)
            if date_to:
                ok &= d <= pd.Timestamp(date_to)
            mask &= a["applicant_key"].isin(apps.loc[ok, "applicant_key"])
        if q:
            qq = q.strip().casefold()
            by_app = apps.loc[apps["application_id"].astype("str").str.casefold() == qq, "applicant_key"]
            mask &= a["_search"].str.contains(qq, regex=False) | a["applicant_key"].isin(by_app)
        if keys is not None:
            mask &= a["applicant_key"].isin(keys)
        cols, asc = SORTS.get(sort, SORTS["risk"])
        if desc is not None:
            asc = [not desc] * len(cols)
        return a[mask].sort_values(cols, ascending=asc, kind="stable")

    # ------------------------------------------------------------------ the credit file
    def applicant(self, key: str) -> dict | None:
        rows = self.applicants[self.applicants["applicant_key"] == key]
        if not len(rows):
            return None
        row = rows.iloc[0].to_dict()
        try:
            row["deduction_items"] = json.loads(row.get("deductions") or "[]")
        except (TypeError, ValueError):
            row["deduction_items"] = []
        return row

    def applications_of(self, key: str, limit: int) -> tuple[list[dict], int]:
        apps = self.applications[self.applications["applicant_key"] == key].sort_values(
            ["filing_date", "application_id"])
        total = len(apps)
        apps = apps.head(limit).copy()
        if self.dataset_apps is not None and "application_id" in self.dataset_apps:
            extra = self.dataset_apps.drop_duplicates("application_id").set_index("application_id")
            for col in ("agent_name", "status"):
                if col in extra:
                    apps[col] = apps["application_id"].map(extra[col]).fillna("")
        apps["filing_date"] = apps["filing_date"].map(_date)
        return apps.to_dict("records"), total

    def flags_of(self, key: str) -> list[dict]:
        from core.reasons import Reason

        f = self.flags[self.flags["applicant_key"] == key].sort_values(["strength", "reason"], ascending=[False, True])
        out = []
        for r in f.to_dict("records"):
            try:
                r["description"] = Reason(r["reason"]).describe()
                r["dimension"] = Reason(r["reason"]).dimension.value
            except (ValueError, KeyError):
                r["description"], r["dimension"] = "", ""
            out.append(r)
        return out

    def evidence_of(self, key: str) -> list[dict]:
        ev = self.evidence[self.evidence["applicant_key"] == key]
        out = []
        for r in ev.to_dict("records"):
            out.append({k: ("" if v is None or str(v) in ("nan", "NaT", "None") else str(v)) for k, v in r.items()})
        return out

    def transfers_of(self, key: str, names: list[str]) -> list[dict]:
        t = self.transfers
        if t is None or "application_id" not in t:
            return []
        own = set(self.applications.loc[self.applications["applicant_key"] == key, "application_id"])
        names_cf = {str(n).casefold() for n in names}
        mask = t["application_id"].isin(own)
        if "assignee_name" in t:
            mask |= t["assignee_name"].str.casefold().isin(names_cf)
        if "assignor_name" in t:
            mask |= t["assignor_name"].str.casefold().isin(names_cf)
        sub = t[mask]
        sort = [c for c in ("application_id", "transfer_date") if c in sub]
        return sub.sort_values(sort).to_dict("records") if sort else sub.to_dict("records")

    def decisions_of(self, names: list[str]) -> list[dict]:
        d = self.decisions
        if d is None or "subject_name" not in d:
            return []
        names_cf = {str(n).casefold() for n in names}
        sub = d[d["subject_name"].str.casefold().isin(names_cf)]
        return sub.sort_values("decision_date").to_dict("records") if "decision_date" in sub else sub.to_dict("records")

    def group_of(self, group_id: str) -> dict | None:
        g = self.groups[self.groups["group_id"] == group_id]
        if not len(g):
            return None
        row = g.iloc[0].to_dict()
        members = [str(m) for m in row["members"]]
        info = self.applicants.set_index("applicant_key")
        row["member_rows"] = [
            {"applicant_key": m, "applicant_name": str(info.at[m, "applicant_name"]) if m in info.index else m,
             "grade": str(info.at[m, "grade"]) if m in info.index else "",
             "risk_score": float(info.at[m, "risk_score"]) if m in info.index else float("nan")}
            for m in members]
        return row

    def group_edges(self, members: list[str]) -> pd.DataFrame:
        e = self.edges
        return e[e["a"].isin(members) & e["b"].isin(members)]


def _date(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    try:
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    except (ValueError, TypeError):
        return str(v)


def group_svg(members: list[dict], edges: pd.DataFrame, focus: str, width: int = 520, height: int = 420) -> dict:
    """Positions for an inline SVG of a group graph (circular layout, networkx).

    Returns {"nodes": [{key, label, x, y, focus, grade}], "edges": [{x1, y1, x2, y2, link, strong, title}],
    "truncated": int}. Labels are plain text: the template escapes them.
    """
    import networkx as nx

    if len(members) <= 2:
        height = 200
    shown = members[:MAX_GRAPH_NODES]
    if focus not in {m["applicant_key"] for m in shown}:
        shown = [m for m in members if m["applicant_key"] == focus] + shown[:MAX_GRAPH_NODES - 1]
    g = nx.MultiGraph()
    for m in shown:
        g.add_node(m["applicant_key"])
    keys = set(g.nodes)
    for r in edges.itertuples(index=False):
        if r.a in keys and r.b in keys:
            g.add_edge(r.a, r.b, link=str(r.link), strong=bool(r.strong), evidence=str(r.evidence))
    cx, cy, radius = width / 2, height / 2, max(40.0, min(width, height) / 2 - 70)
    pos = nx.circular_layout(g, scale=1.0) if len(g) > 1 else {n: (0.0, 0.0) for n in g}
    xy = {n: (round(cx + radius * float(p[0]), 1), round(cy + radius * float(p[1]), 1)) for n, p in pos.items()}
    nodes = []
    for m in shown:
        x, y = xy[m["applicant_key"]]
        label = m["applicant_name"]
        nodes.append({"key": m["applicant_key"], "label": label if len(label) <= 24 else label[:23] + "…",
                      "full": label, "x": x, "y": y, "focus": m["applicant_key"] == focus, "grade": m["grade"]})
    out_edges = []
    seen: dict = {}
    for a, b, d in g.edges(data=True):
        pair = tuple(sorted((a, b)))
        seen.setdefault(pair, []).append(d)
    for (a, b), ds in seen.items():
        (x1, y1), (x2, y2) = xy[a], xy[b]
        out_edges.append({"x1": x1, "y1": y1, "x2": x2, "y2": y2, "strong": any(d["strong"] for d in ds),
                          "link": ", ".join(sorted({d["link"] for d in ds})),
                          "title": "; ".join(d["evidence"] for d in ds),
                          "lx": round((x1 + x2) / 2, 1), "ly": round((y1 + y2) / 2, 1)})
    return {"nodes": nodes, "edges": out_edges, "truncated": max(0, len(members) - len(shown)),
            "width": width, "height": height}


def grade_history(state: Path, key: str, current: RunData | None = None) -> list[dict]:
    """The applicant's grades over time: STATE/history/grades.parquet if present, else every run's grades."""
    hist = Path(state) / "history" / "grades.parquet"
    rows: list[dict] = []
    if hist.exists():
        h = pd.read_parquet(hist)
        h = h[h["applicant_key"] == key]
        for r in h.to_dict("records"):
            rows.append({"as_of": _date(r.get("as_of")), "grade": str(r.get("grade", "")),
                         "points": r.get("points"), "risk_score": r.get("risk_score")})
    else:
        runs = Path(state) / "runs"
        for run in sorted(p for p in runs.iterdir() if (p / "grades.parquet").exists() and (p / "manifest.json").exists()):
            g = pd.read_parquet(run / "grades.parquet", columns=["applicant_key", "points", "grade"])
            g = g[g["applicant_key"] == key]
            for r in g.to_dict("records"):
                rows.append({"as_of": run.name, "grade": r["grade"], "points": r["points"], "risk_score": None})
    return sorted(rows, key=lambda r: r["as_of"])


class RunCache:
    """Holds the latest run in memory; reloads when a newer complete run appears."""

    def __init__(self, state: Path):
        self.state = Path(state)
        self._lock = threading.Lock()
        self._data: RunData | None = None

    def get(self) -> RunData:
        run = latest_run(self.state)
        with self._lock:
            if self._data is None or self._data.path != run:
                self._data = RunData.load(run)
            return self._data
