"""``python -m evaluation.squatting``: publicly reported squatting cases and filing mills, scored.

The cases (``evaluation/cases/squatting.csv``, sources in ``squatting_PROVENANCE.md``) are turned
into filings by stated rules and injected into an ordinary register (the demo world):

- a squatting case (public figure, mascot, event, slogan, place, viral or generic term, over-broad
  filing) is its applicant's filings of the reported mark: ``n_filings`` of them (at most 45) in
  consecutive classes from the reported ones, 10 days after the term's date (1 December of the year
  when only a year is reported: the filing came after the news);
- a wave (or a case reporting more than five filings and no applicant) is ``n_applicants`` (or
  ``n_filings``; at most 40, at least 8) unrelated applicants filing the term within ``span_days``
  (default 7);
- a filing mill without a reported mark is an agent filing three coined marks for each of 30 clients
  who share the agent's address, on the same few days; a hoarding applicant files 200 coined marks
  within a year; a brand-copying applicant copies 40 marks of different owners of the register;
- a legitimate owner (the organiser, the person, the authorised company, an upheld filing) files its
  term in the reported classes one day before the term's date;
- every squatting case gets a control: an applicant of its own filing a coined mark on the same day
  in the same classes.

Two settings: ``listed`` puts every case's term (legitimate owners' terms included) on the dataset's
``reference/public_terms`` with its date and its legitimate owners (what an operator who follows the news would list); ``shipped`` adds
nothing, so the built-in lists and the unlisted-trend detector must find it. A case counts as found
when any of its filings is flagged at the application level or its applicant is flagged.

Prints recall per kind and for the office- or court-ruled cases (refused, invalidated, penalty,
court ruling), controls flagged, legitimate owners flagged, and the missed cases.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd

from evaluation.register import base_register, inject

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "evaluation" / "cases" / "squatting.csv"
AS_OF = "2026-06-30"
RULED = {"refused", "invalidated", "penalty", "court_ruling"}
TERM_CATEGORY = {"public_figure": "person", "mascot": "event", "event": "event", "slogan": "event",
                 "place": "place", "generic": "generic", "viral_term": "other", "wave": "other",
                 "overbroad": "other", "mill": "other"}
# Coined marks for controls, mills and hoarders: syllables that form no word or public term.
_HAN_A = list("澜汐芮珂翎璟珀霁岚芸沅莳")
_HAN_B = list("梧棣泠琰瑗筠漪榆棠璞铂砚")
_LAT_A = ["var", "quel", "dorn", "mip", "zel", "trov", "kasp", "lun", "brel", "fen"]
_LAT_B = ["omex", "aris", "umo", "ent", "ique", "ova", "ast", "ilo", "ern", "ux"]


def coined(i: int) -> str:
    """The i-th coined mark (alternating Chinese two-character and Latin)."""
    if i % 2:
        j = i // 2
        return (_LAT_A[j % 10] + _LAT_B[(j // 10) % 10]).upper() + ("" if j < 100 else str(j // 100))
    j = i // 2
    return _HAN_A[j % 12] + _HAN_B[(j // 12) % 12] + ("" if j < 144 else _HAN_A[(j // 144) % 12])


def parse_date(*values: str) -> pd.Timestamp | None:
    """The first parseable date among ``values`` ("2021-08-05", "2021-08", "2021")."""
    for v in values:
        v = str(v or "").strip()
        m = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", v)
        if m:
            return pd.Timestamp(int(m[1]), int(m[2] or 1), int(m[3] or 1))
    return None


def _year_only(*values: str) -> bool:
    """The first date given among ``values`` is a bare year ("2020")."""
    for v in values:
        v = str(v or "").strip()
        if v:
            return bool(re.fullmatch(r"\d{4}", v))
    return False


def clean_mark(mark: str, term: str) -> str:
    """The reported mark without registration numbers or notes in brackets; the term when the mark
    is a placeholder ("*墩墩 (…)")."""
    first = re.split(r"[;/]", mark)[0]
    text = re.sub(r"\(.*?\)|（.*?）", "", first).strip()
    if not text or re.search(r"[*…?]", text):
        text = re.sub(r"\(.*?\)", "", re.split(r"[;/]", term)[0]).strip()
    return text


def classes(spec: str, n: int) -> list[str]:
    """``n`` classes starting from the reported ones ("28;25", "1-45 (all)", "" → from 25)."""
    if "1-45" in spec:
        reported = list(range(1, 46))
    else:
        reported = [int(c) for c in re.findall(r"\d+", spec) if 1 <= int(c) <= 45]
    out = list(dict.fromkeys(reported))
    c = (out[-1] if out else 24)
    while len(out) < n:
        c = c % 45 + 1
        if c not in out:
            out.append(c)
    return [str(x) for x in out[:max(n, 1)]]


def _count(v: str, default: int, cap: int) -> int:
    try:
        return max(1, min(int(float(v)), cap))
    except ValueError:
        return default


def case_filings(cases: pd.DataFrame, register: pd.DataFrame, brand_owners: dict | None = None) -> pd.DataFrame:
    """Every case's filings (``case_id`` and ``role`` columns beside the contract columns).
    ``brand_owners``: protected mark -> its owner on the register's list; a legitimate owner named
    by its brand (海底捞) files under that owner's name, as the register knows the brand's owner."""
    brand_owners = brand_owners or {}
    rows: list[dict] = []
    serial = iter(range(10**6))
    n_coined = iter(range(10**6))

    def add(case: str, role: str, name: str, mark: str, cls: str, date: pd.Timestamp, **extra) -> None:
        rows.append({"application_id": f"SQ-{next(serial):06d}", "case_id": case, "role": role,
                     "filing_date": date.strftime("%Y-%m-%d"), "mark_text": mark, "nice_classes": cls,
                     "applicant_name": name, "applicant_type": "company", **extra})

    for c in cases.itertuples():
        date = parse_date(c.event_date, c.fame_start)
        year = parse_date(c.filing_year)
        placeholder = c.mark.startswith("(")
        if c.kind == "legit_owner":
            when = (date - pd.Timedelta(days=1)) if date is not None else (year or pd.Timestamp(2021, 3, 1))
            name = re.sub(r"\(.*?\)|（.*?）", "", c.applicant_name or c.legit_owner).strip() or f"{c.term}权利人"
            name = brand_owners.get(name, name)
            for cls in classes(c.nice_classes, _count(c.n_filings, 1, 45)):
                add(c.case_id, "owner", name, clean_mark(c.mark, c.term), cls, when,
                    applicant_type="individual" if c.applicant_type == "individual" or name == c.term else "company")
            continue
        when = date + pd.Timedelta(days=10) if date is not None else None
        if when is None or (year is not None and year.year > when.year) or _year_only(c.event_date, c.fame_start):
            # only a year is known: the filing came after the news, late in that year
            when = pd.Timestamp((year or when or pd.Timestamp(2022, 1, 1)).year, 12, 1)
        agent = re.sub(r"\(.*?\)", "", c.agent_name).split(";")[0].strip()
        if placeholder and c.kind == "mill":
            what = c.mark + " " + c.term
            name = re.sub(r"\(.*?\)", "", c.applicant_name).split(";")[0].strip() or f"案例{c.case_id}公司"
            if "hoarding" in what or "arbitrary" in what:
                for k in range(200):
                    add(c.case_id, "case", name, coined(next(n_coined)), str(k % 45 + 1),
                        when + pd.Timedelta(days=int(k * 1.8)), applicant_address=f"{c.case_id}大厦")
            elif "brand-copying" in what:
                marks = register.drop_duplicates("applicant_name").drop_duplicates("mark_text")
                marks = marks[marks["mark_text"].str.len().between(2, 12)].head(40)
                for k, m in enumerate(marks.itertuples()):
                    add(c.case_id, "case", name, m.mark_text, m.nice_classes.split(";")[0],
                        when + pd.Timedelta(days=k * 3), applicant_address=f"{c.case_id}大厦")
            else:  # a filing mill: many clients, the mill's agent and address
                agent = agent or f"案例{c.case_id}知识产权代理有限公司"
                for k in range(30):
                    for j in range(3):
                        add(c.case_id, "case", f"案例{c.case_id}客户{k}商贸有限公司", coined(next(n_coined)),
                            str((k + j) % 45 + 1), when + pd.Timedelta(days=j * 2), agent_name=agent,
                            applicant_address=f"{c.case_id}代理大厦808室")
            continue
        mark = clean_mark(c.mark, c.term)
        if c.kind == "wave" or (not c.applicant_name and _count(c.n_filings, 1, 10**6) > 5):
            n = max(8, _count(c.n_applicants or c.n_filings, 20, 40))
            span = _count(c.span_days, 7, 60)
            for k in range(n):
                add(c.case_id, "case", f"案例{c.case_id}申请人{k}有限公司", mark, classes(c.nice_classes, k + 1)[-1],
                    when + pd.Timedelta(days=k * span // n), applicant_address=f"{c.case_id}-{k}号")
        else:
            name = re.sub(r"\(.*?\)|（.*?）", "", c.applicant_name).strip() or f"案例{c.case_id}商贸有限公司"
            for cls in classes(c.nice_classes, _count(c.n_filings, 1, 45)):
                add(c.case_id, "case", name, mark, cls, when, agent_name=agent, applicant_address=f"{c.case_id}号楼")
        add(c.case_id, "control", f"对照{c.case_id}商贸有限公司", coined(next(n_coined)),
            classes(c.nice_classes, 1)[0], when, applicant_address=f"对照{c.case_id}号")
    return pd.DataFrame(rows)


def listed_terms(cases: pd.DataFrame, brand_owners: dict | None = None) -> pd.DataFrame:
    """Every case's term with its category, date and legitimate owners (the ``listed`` setting); an
    owner named by its brand is listed under the brand owner's name, as it files (``case_filings``)."""
    brand_owners = brand_owners or {}
    rows = []
    owners = cases[cases["kind"] == "legit_owner"]
    for c in cases.itertuples():
        if c.term.startswith("("):
            continue
        date = parse_date(c.fame_start, c.event_date)
        for term in re.split(r"[;/]", re.sub(r"\(.*?\)", "", c.term)):
            term = term.strip()
            if not term:
                continue
            own = owners.loc[owners["term"].str.contains(re.escape(term), regex=True), ["applicant_name", "legit_owner"]]
            names = [re.sub(r"\(.*?\)|（.*?）", "", a or b).strip() for a, b in own.itertuples(index=False)]
            names = [brand_owners.get(n, n) for n in names]
            rows.append({"term": term, "category": TERM_CATEGORY.get(c.kind, "other"),
                         "date": date.strftime("%Y-%m-%d") if date is not None else "",
                         "owner": ";".join(sorted({n for n in names if n}))})
    return pd.DataFrame(rows).drop_duplicates("term")


def evaluate(work: Path, listed: bool, cases_path: Path = CASES) -> tuple[dict, pd.DataFrame]:
    from core.config import load_config
    from pipeline.score import score_dataset

    cases = pd.read_csv(cases_path, dtype=str, keep_default_na=False)
    base = base_register(work)
    register = pd.read_csv(base / "applications.csv", dtype=str, keep_default_na=False)
    protected = pd.read_csv(base / "reference" / "protected_marks.csv", dtype=str, keep_default_na=False)
    brand_owners = dict(zip(protected["mark_text"], protected["owner_name"], strict=True))
    filings = case_filings(cases, register, brand_owners)
    setting = "listed" if listed else "shipped"
    dataset = inject(base, work / f"squatting-{setting}-dataset", filings.drop(columns=["case_id", "role"]),
                     public_terms=listed_terms(cases, brand_owners) if listed else None)
    run = work / f"squatting-{setting}-run"
    score_dataset(dataset, run, load_config(), as_of=AS_OF)
    apps = pd.read_parquet(run / "application_scores.parquet").set_index("application_id")
    got = apps.reindex(filings["application_id"])
    filings["flagged"] = got["flagged"].fillna(False).astype(bool).to_numpy()
    filings["own_flag"] = got["application_flagged"].fillna(False).astype(bool).to_numpy()
    filings["reason"] = got["reasons"].fillna("").to_numpy()
    per = (filings.groupby(["case_id", "role"], sort=False)
           .agg(flagged=("flagged", "max"), filings=("flagged", "size"), share=("flagged", "mean"),
                mark=("mark_text", "first"), reason=("reason", "max")).reset_index())
    per = per.merge(cases[["case_id", "kind", "outcome", "variant", "term"]], on="case_id")
    case = per[per["role"] == "case"]
    ruled = case[case["outcome"].isin(RULED)]
    summary = {"setting": setting, "cases": len(case),
               "found": round(float(case["flagged"].mean()), 4),
               "ruled_cases": len(ruled), "ruled_found": round(float(ruled["flagged"].mean()), 4),
               "found_by_kind": {k: f"{int(g['flagged'].sum())}/{len(g)}" for k, g in case.groupby("kind")},
               "found_by_variant": {k: f"{int(g['flagged'].sum())}/{len(g)}" for k, g in case.groupby("variant")},
               "controls_flagged": round(float(per.loc[per["role"] == "control", "flagged"].mean()), 4),
               "owners_flagged": f"{int(per.loc[per['role'] == 'owner', 'flagged'].sum())}"
                                 f"/{int((per['role'] == 'owner').sum())}"}
    return summary, per


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluation.squatting", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=Path, default=CASES)
    p.add_argument("--work", type=Path, default=ROOT / ".tmscreen" / "cases")
    p.add_argument("--setting", choices=["listed", "shipped", "both"], default="both")
    p.add_argument("--all", action="store_true", help="print every case (default: the missed and wrongly flagged)")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    for setting in (["listed", "shipped"] if args.setting == "both" else [args.setting]):
        summary, per = evaluate(args.work, setting == "listed", args.cases)
        wrong = (per["role"] == "case") != per["flagged"]
        show = per if args.all else per[wrong]
        with pd.option_context("display.width", 220, "display.max_colwidth", 70, "display.max_rows", 500):
            print(show[["case_id", "role", "kind", "variant", "outcome", "mark", "filings", "share", "flagged",
                        "reason"]].to_string(index=False))
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
