"""Intake screening: new applications against a scored register, one JSON result each.

A new filing is screened by the same builders as a batch (``features.infringement``,
``features.squatting``), run on its **neighbourhood** in the register index
(``pipeline.register_index``) instead of the whole register:

- the register's marks it resembles (the similarity engine against the index's distinct marks,
  whose blocking keys the index stores: ``similarity.load_keys``), with all
  their filings (established use, the earliest owners per class);
- the filings of those marks' families (the crowded-field rule counts the groups that filed one);
- the filings of the listed public terms it is or contains (waves of a listed term);
- one filing of each protected mark's owner (the owner's group is then known).

Register statistics (related classes, unlisted trends, groups, grades) are the index's, as the
batch computed them: screening does not refit them. What a screen cannot know, and the batch run
including the filing can (``docs/screening.md``): trends that the new day's filings start, links of
a new applicant to a related-party group (a new applicant is its own group until the next batch),
and resemblances among the screened filings themselves.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import Config
from core.tables import Tables, isin, positions_in
from features import similarity as sim
from features.class_relations import RELATED_KEY
from features.infringement import (
    MARKS_KEY,
    MATCHES_KEY,
    PROTECTED_MATCHES_KEY,
    build_infringement,
    distinct_marks,
    protected_matches,
    protected_prepared,
)
from features.lexicons import similar_groups_of
from features.squatting import (
    TRENDS_KEY,
    build_squatting,
    distinct_mark_cores,
    squatting_apps,
    term_hits,
    term_table,
)
from models.scoring import DIMENSIONS
from pipeline.contract import SPECS, ContractError, check_table, parse_csv
from pipeline.entities import key_base, resolve_keys
from pipeline.register_index import RegisterIndex, load_index
from pipeline.score import REASON_DIMENSION, application_risk


class Screener:
    """A loaded register index, ready to screen new applications (``screen``)."""

    def __init__(self, index: RegisterIndex, config: Config):
        self.index, self.config = index, config
        t0 = time.perf_counter()
        ix = index
        self.marks = ix.marks
        self.stale_keys = sim.load_keys(self.marks, ix.keys, config)  # kinds rebuilt on first use
        # the register's filings grouped by mark, mark family, applicant and listed term (``_rows_of``)
        tid = ix.filings["tid"].to_numpy()
        self._by_tid = _grouped(tid)
        fam_code, self._families = pd.factorize(ix.marks["family"].astype("str"))
        self._by_family = _grouped(np.where(tid >= 0, fam_code[np.maximum(tid, 0)], -1))
        self._texts = pd.Index(ix.marks["text"])  # (its hash table is built once, on the first look-up)
        self._text_of = ix.marks["text"].to_numpy(dtype=object)
        self._family_of = ix.marks["family"].to_numpy(dtype=object)
        codes, self._applicant_keys = pd.factorize(ix.filings["applicant_key"])
        self._by_applicant = _grouped(codes)
        tf = ix.term_filings
        term_code, self._terms_filed = pd.factorize(tf["term"])
        row = positions_in(ix.filings["application_id"], tf["application_id"])
        self._by_term = _grouped(term_code[row >= 0], row[row >= 0])
        self._protected = ix.protected
        owners = ix.protected["owner_key"].dropna().astype("str") if "owner_key" in ix.protected else pd.Series([])
        first = ix.filings.drop_duplicates("applicant_key")
        self._owner_rows = first.index[isin(first["applicant_key"], owners)].to_numpy()
        self._terms = term_table(ix.public_terms if len(ix.public_terms) else None)
        keys = ix.applicants.index.to_series()
        bases = key_base(keys)
        unique = ~bases.duplicated(keep=False)
        self._unique_base = pd.Series(keys[unique.to_numpy()].to_numpy(), index=bases[unique].to_numpy())
        # each group's worst grade ("D" sorts last)
        self._group_grade = ix.applicants.groupby("group_id")["grade"].max().astype("str").to_dict()
        self.as_of = pd.Timestamp(ix.meta["as_of"])
        for index in (self._texts, ix.applicants.index, self._applicant_keys, self._terms_filed):
            index.get_indexer(pd.Index(["\x00"]))  # each look-up's hash table, built now, not on the first screen
        self.load_seconds = round(time.perf_counter() - t0, 3)

    @classmethod
    def open(cls, path: str | Path, config: Config) -> Screener:
        return cls(load_index(path), config)

    # ------------------------------------------------------------------ neighbourhood
    def _rows_of(self, by: tuple[np.ndarray, np.ndarray], codes: np.ndarray) -> np.ndarray:
        keys, order = by
        codes = np.unique(codes[codes >= 0])
        lo, hi = np.searchsorted(keys, codes), np.searchsorted(keys, codes, side="right")
        return np.concatenate([order[a:b] for a, b in zip(lo, hi, strict=True)]) if len(codes) else np.zeros(0, int)

    def neighbourhood(self, new: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
        """(positions in ``index.filings`` of the register filings the builders need for ``new``,
        the new distinct marks prepared, their matches with the register's marks: q new, r register)."""
        Tq = distinct_marks(new, self.config)
        rows = [self._owner_rows]
        m = sim.match_prepared(Tq, self.marks, self.config) if len(Tq) else pd.DataFrame()
        if len(Tq):
            exact = self._texts.get_indexer(Tq["text"])
            matched = m["r"].to_numpy(np.int64) if len(m) else np.zeros(0, np.int64)
            tids = np.unique(np.concatenate([matched, exact[exact >= 0]]))
            rows.append(self._rows_of(self._by_tid, tids))
            fams = pd.Index(self._families).get_indexer(self._family_of[tids]) if len(tids) else []
            rows.append(self._rows_of(self._by_family, np.asarray(fams, dtype=np.int64)))
        hits = term_hits(squatting_apps(Tables(new, pd.DataFrame(), pd.DataFrame(), self._protected,
                                               self.index.public_terms)), self._terms, self.config.squatting)
        if len(hits):
            rows.append(self._rows_of(self._by_term, self._terms_filed.get_indexer(hits["term"].astype("str"))))
        return np.unique(np.concatenate(rows)).astype(np.int64), Tq, m

    def _marks_extras(self, near: pd.DataFrame, Tq: pd.DataFrame, m: pd.DataFrame) -> dict:
        """The infringement builder's distinct marks and matches for the neighbourhood, from the index
        (its marks are prepared already) and the new marks' matches: no self-join of the
        neighbourhood, whose resemblances among register marks the batch has judged."""
        tids = np.unique(near["tid"].to_numpy()[near["tid"].to_numpy() >= 0])
        reg = self.marks.iloc[tids]
        fresh = ~isin(Tq["text"], reg["text"])
        T = pd.concat([reg, Tq[fresh]], ignore_index=True)
        T["id"] = np.arange(len(T))
        q_pos = positions_in(T["text"], Tq["text"])
        r_pos = positions_in(T["text"], self._text_of[m["r"].to_numpy(np.int64)]) if len(m) else []
        if len(m):
            matches = m.assign(q=q_pos[m["q"].to_numpy(np.int64)], r=r_pos)
            matches = matches[(matches["q"] >= 0) & (matches["r"] >= 0) & (matches["q"] != matches["r"])]
        else:
            matches = pd.DataFrame({"q": np.zeros(0, np.int64), "r": np.zeros(0, np.int64),
                                    "similarity": np.zeros(0), "kind": pd.Series(dtype="str"),
                                    "detail": pd.Series(dtype="str")})
        extras = {MARKS_KEY: T, MATCHES_KEY: matches.reset_index(drop=True)}
        P = protected_prepared(self._protected, self.config)
        if P is not None:
            pm = protected_matches(T.iloc[q_pos], P, self.config) if len(Tq) else None
            if pm is not None:
                extras[PROTECTED_MATCHES_KEY] = pm.assign(q=q_pos[pm["q"].to_numpy(np.int64)])
        return extras

    # ------------------------------------------------------------------ screening
    def resolve(self, new: pd.DataFrame) -> pd.DataFrame:
        """``new`` with applicant_key (the batch's entity keys), group_id (the register's group of a
        known applicant, else its own), mark_core and similar_groups."""
        out = new.copy()
        out["applicant_key"] = resolve_keys(pd.DataFrame({
            "name": out["applicant_name"], "address": out["applicant_address"], "type": out["applicant_type"],
            "country": out["applicant_country"]})).to_numpy()
        # a record without its qualifier (no city, address or country) joins the only register
        # applicant of the same name base, as the batch's entity resolution does
        bare = (out["applicant_key"].str.endswith("|")
                & (self.index.applicants.index.get_indexer(out["applicant_key"]) < 0)).to_numpy()
        if bare.any():
            base = key_base(out["applicant_key"][bare])
            out.loc[bare, "applicant_key"] = base.map(self._unique_base).fillna(out["applicant_key"][bare]).to_numpy()
        at = self.index.applicants.index.get_indexer(out["applicant_key"])
        known = self.index.applicants["group_id"].to_numpy(dtype=object)
        out["group_id"] = pd.Series(np.where(at >= 0, known[np.maximum(at, 0)], "g:" + out["applicant_key"]),
                                    index=out.index, dtype="str")
        out["mark_core"] = distinct_mark_cores(out["mark_text"])
        out["similar_groups"] = similar_groups_of(out)
        return out

    def screen(self, new: pd.DataFrame) -> list[dict]:
        """One result per row of ``new`` (contract applications, typed): application_id, risk,
        flagged, flags, resembles, applicant, changes (docs/screening.md)."""
        if not len(new):
            return []
        new = self.resolve(new.reset_index(drop=True))
        rows, Tq, m = self.neighbourhood(new)
        near = self.index.filings.iloc[rows]
        near = near[~isin(near["application_id"], new["application_id"])]
        apps = pd.concat([near.drop(columns=["tid"]), new[near.columns.drop("tid")]], ignore_index=True)
        as_of = max(self.as_of, pd.Timestamp(new["filing_date"].max()))
        extras = {RELATED_KEY: self.index.relations, TRENDS_KEY: self.index.trends,
                  **self._marks_extras(near, Tq, m)}
        tables = Tables(apps, pd.DataFrame(), pd.DataFrame(), self._protected, self.index.public_terms,
                        as_of=as_of, extras=extras)
        results = {"infringement": build_infringement(tables, self.config),
                   "squatting": build_squatting(tables, self.config)}
        return self._results(new, results)

    def _results(self, new: pd.DataFrame, results: dict) -> list[dict]:
        ids = new["application_id"].astype("str")
        flags = pd.concat([r.flags for r in results.values()], ignore_index=True)
        flags = flags[isin(flags["application_id"], ids)].sort_values(["application_id", "strength", "reason"],
                                                                     ascending=[True, False, True])
        risk = application_risk(flags, ids, self.config).to_numpy()
        inf = results["infringement"].details
        inf = inf[isin(inf["application_id"], ids)]
        flag_lists = {k: [{"reason": r, "dimension": REASON_DIMENSION.get(r, ""), "strength": round(float(v), 6),
                           "evidence": e} for r, v, e in zip(g["reason"], g["strength"], g["evidence"], strict=True)]
                      for k, g in flags.groupby("application_id", sort=False)}
        resembles = {k: _resembles(g) for k, g in inf.groupby("application_id", sort=False)}
        applicants = self._applicants(new)
        changes = self._changes(new)
        threshold = self.config.scoring.flag_threshold
        return [{"application_id": aid, "risk": round(float(risk[i]), 6), "flagged": bool(risk[i] >= threshold),
                 "flags": flag_lists.get(aid, []), "resembles": resembles.get(aid, []),
                 "applicant": applicants[i], "changes": changes[i]}
                for i, aid in enumerate(ids)]

    def _applicants(self, new: pd.DataFrame) -> list[dict]:
        """Per row of ``new``: its applicant's key and group, and what the register knows of them."""
        a = self.index.applicants
        at = a.index.get_indexer(new["applicant_key"])
        out = []
        for key, group, i in zip(new["applicant_key"], new["group_id"], at, strict=True):
            info = {"applicant_key": str(key), "group_id": str(group), "known": bool(i >= 0)}
            if i >= 0:
                row = a.iloc[int(i)]
                info.update({"grade": str(row["grade"]), "risk_score": round(float(row["risk_score"]), 6),
                             "flagged": bool(row["flagged"]), "n_applications": int(row["n_applications"]),
                             "scores": {d: round(float(row[d]), 6) for d in DIMENSIONS if d in row}})
            worst = self._group_grade.get(str(group))
            if worst is not None:
                info["group_worst_grade"] = worst
            out.append(info)
        return out

    def _changes(self, new: pd.DataFrame) -> list[list[str]]:
        """Per row of ``new``, what the filing changes for its applicant: its filings in the hoarding
        burst window and rolling year up to the filing's day (register + the screened filings up to
        that day), against the hoarding thresholds."""
        cfg = self.config.hoarding
        f = self.index.filings
        rows = self._rows_of(self._by_applicant, self._applicant_keys.get_indexer(new["applicant_key"]))
        mine = f.iloc[rows][["applicant_key", "filing_date"]]
        days = {k: np.sort(g.to_numpy("datetime64[D]").astype(np.int64))
                for k, g in pd.concat([mine, new[["applicant_key", "filing_date"]]]).groupby("applicant_key")["filing_date"]}
        screened = {k: np.sort(g.to_numpy("datetime64[D]").astype(np.int64))
                    for k, g in new.groupby("applicant_key")["filing_date"]}
        out = []
        for key, day, kind in zip(new["applicant_key"], new["filing_date"].to_numpy("datetime64[D]").astype(np.int64),
                                  new["applicant_type"], strict=True):
            yearly = cfg.individual_window_threshold if str(kind) == "individual" else cfg.window_threshold
            notes = []
            for span, limit, what in ((int(cfg.burst_days), float(cfg.burst_min_filings), "burst"),
                                      (int(cfg.window_days), float(yearly), "volume")):
                n = _in_window(days[key], day, span)
                if n >= limit:
                    before = n - _in_window(screened[key], day, span)
                    crossed = "now crosses" if before < limit else "continues above"
                    notes.append(f"{what}: {n} filings within {span} days {crossed} the threshold {limit:g}")
            out.append(notes)
        return out


def _grouped(codes: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(codes sorted, the filing rows in that order; by default the positions): ``_rows_of`` finds a
    code's rows by binary search."""
    order = np.argsort(codes, kind="stable")
    return codes[order], (order if rows is None else rows[order])


def _in_window(sorted_days: np.ndarray, day: int, span: int) -> int:
    """How many of ``sorted_days`` fall in (day - span, day]."""
    return int(np.searchsorted(sorted_days, day, side="right") - np.searchsorted(sorted_days, day - span, side="right"))


def _resembles(details: pd.DataFrame | None) -> list[dict]:
    if details is None or not len(details):
        return []
    cols = ("matched_text", "matched_owner", "matched_source", "kind", "similarity", "class_relation",
            "matched_class", "strength")
    return [{c: (None if pd.isna(v) else (round(float(v), 6) if c in ("similarity", "strength") else str(v)))
             for c, v in zip(cols, r, strict=True)} for r in details[list(cols)].itertuples(index=False)]


# ---------------------------------------------------------------------- input
def read_new_applications(raw: bytes, source: str, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New applications as CSV (a header line first) or JSON lines (one object per line): (typed
    good rows, rejected rows with ``row`` — the line number — and ``reason``)."""
    text = raw.lstrip()
    if text.startswith(b"{"):
        return _json_lines(raw, source, as_of)
    frame, malformed = parse_csv(raw, source)
    return check_table(frame, malformed, "applications", as_of, source)


def _json_lines(raw: bytes, source: str, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, lines, bad = [], [], []
    for n, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError(f"expected a JSON object, found {type(obj).__name__}")
        except ValueError as exc:
            bad.append({"row": n, "raw": line[:500], "reason": f"line {n}: not a JSON object ({exc})"})
            continue
        rows.append({k: "" if v is None else (";".join(map(str, v)) if isinstance(v, list) else str(v))
                     for k, v in obj.items()})
        lines.append(n)
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys(k for r in rows for k in r))).fillna("")
    if not len(frame) and not bad:
        raise ContractError(f"{source}: no applications (empty input).")
    if not len(frame):
        return pd.DataFrame(columns=list(SPECS["applications"].columns)), pd.DataFrame(bad)
    good, rejected = check_table(frame, pd.DataFrame(columns=["line", "raw", "reason"]), "applications", as_of,
                                 source)
    # rows are numbered by their line in the input (check_table numbers them as CSV records)
    good["_line"] = np.asarray(lines)[good.index.to_numpy() - 2]
    rejected["row"] = np.asarray(lines)[rejected["row"].to_numpy(np.int64) - 2]
    return good, pd.concat([rejected, pd.DataFrame(bad)], ignore_index=True).sort_values("row")


def rejected_results(rejected: pd.DataFrame) -> list[dict]:
    """The contract's errors of rejected input lines, one JSON object each."""
    ids = rejected["application_id"] if "application_id" in rejected else pd.Series("", index=rejected.index)
    return [{"line": int(line), "application_id": "" if pd.isna(aid) else str(aid), "error": str(reason)}
            for line, aid, reason in zip(rejected["row"], ids, rejected["reason"], strict=True)]

