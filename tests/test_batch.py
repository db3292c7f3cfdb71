"""Scheduled batches (pipeline.batch), credit repair in a batch, joint-action outputs (pipeline.joint)
and their CLI (pipeline.batch_cli), on a small hand-built dataset."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.batch import batch_lock, psi, read_history
from pipeline.batch_cli import main as batch_main
from pipeline.credit import record_repair
from pipeline.entities import resolve_keys
from pipeline.joint import eligibility, export_joint, inspect_sample, parse_rates

REPO = Path(__file__).resolve().parents[1]
AS_OFS = ("2021-06-30", "2023-06-30", "2025-06-30")
# Keys as entity resolution assigns them (Latin companies are keyed by name, country and site).
ZENTRIX, ACME = resolve_keys(pd.DataFrame({
    "name": ["Zentrix Trading Co Ltd", "Acme Brands Ltd"], "address": ["88 Harbour Road Shenzhen", "1 Acme Street Beijing"],
    "type": ["company", "company"], "country": ["CN", "CN"]})).tolist()


def _write(path: Path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def make_world(root: Path) -> Path:
    """30 ordinary companies filing a few distinct marks 2019-2025; a hoarder (Zentrix, 70 coined
    marks in 45 classes, Sep-Nov 2022); Acme with a bad-faith refusal of 2021-01 (flag clears as it
    ages, grade rises once it leaves the hard-rule window); Wang Lei (individual) with two bad-faith
    decisions in late 2024 (grade D); and filings/decisions dated 2026 (after every as-of)."""
    rng = random.Random(3)
    apps: list[list[str]] = []

    def app(date, mark, classes, name, addr, typ="company"):
        apps.append([f"A{len(apps) + 1:05d}", date, mark, classes, "", name, addr, "CN", typ, "", "pending", ""])

    def word(n):
        return "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(n))

    for i in range(30):
        name = f"{word(3).title()} Industries Ltd"
        for j in range(4):
            y = 2019 + (i + j) % 7
            app(f"{y}-{1 + (i * 3 + j) % 12:02d}-{1 + (i + j) % 27:02d}", word(4), str(1 + i % 30), name,
                f"{i} Main Road Shenzhen")
    for j in range(70):
        app(f"2022-{9 + j % 3:02d}-{1 + j % 28:02d}", word(3) + str(j), f"{1 + j % 45};{1 + (j * 7) % 45}",
            "Zentrix Trading Co Ltd", "88 Harbour Road Shenzhen")
    for j in range(3):
        app(f"2020-0{j + 2}-10", word(4), "3", "Acme Brands Ltd", "1 Acme Street Beijing")
        app(f"2023-0{j + 2}-10", word(4), "9", "Wang Lei", "5 Lane Hangzhou", typ="individual")
    for j in range(5):
        app(f"2026-0{j + 1}-15", word(4), "35", "Future Filer Ltd", "9 Late Road Shanghai")
    _write(root / "applications.csv",
           ["application_id", "filing_date", "mark_text", "nice_classes", "goods_services", "applicant_name",
            "applicant_address", "applicant_country", "applicant_type", "agent_name", "status",
            "registration_date"], apps)
    _write(root / "decisions.csv", ["subject_name", "decision_date", "kind", "authority", "reference",
                                    "application_id"],
           [["Acme Brands Ltd", "2021-01-15", "bad_faith_refusal", "CNIPA", "R-2021-1", ""],
            ["Wang Lei", "2024-09-01", "bad_faith_refusal", "CNIPA", "R-2024-7", ""],
            ["Wang Lei", "2024-11-01", "invalidation", "CNIPA", "I-2024-2", ""],
            ["Acme Brands Ltd", "2026-02-01", "other", "CNIPA", "later", ""]])
    zentrix_ids = [r[0] for r in apps if r[5] == "Zentrix Trading Co Ltd"]
    _write(root / "transfers.csv", ["application_id", "transfer_date", "assignor_name", "assignee_name",
                                    "assignee_address"],
           [[zentrix_ids[0], "2023-01-10", "", "Buyer One Ltd", "2 Buy Road"],
            [zentrix_ids[1], "2026-01-11", "", "Buyer Two Ltd", "3 Buy Road"]])
    return root


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _hidden(state: Path) -> list[str]:
    return [f"{d}/{p.name}" for d in ("runs", "history") if (state / d).is_dir()
            for p in (state / d).iterdir() if p.name.startswith(".")]


def _batch(data, state, as_of) -> int:
    return batch_main(["batch", "--data", str(data), "--state", str(state), "--as-of", as_of])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("world") / "dataset")


@pytest.fixture(scope="module")
def three(world, tmp_path_factory):
    """Three consecutive batches; a credit repair for Zentrix is granted before the third."""
    state = tmp_path_factory.mktemp("state")
    for as_of in AS_OFS[:2]:
        assert _batch(world, state, as_of) == 0
    record_repair(state, ZENTRIX, "2025-03-01", "Li Wei", "volume reduced, marks withdrawn")
    assert _batch(world, state, AS_OFS[2]) == 0
    return state


def _changes(state, as_of) -> dict:
    return json.loads((state / "runs" / as_of / "changes.json").read_text())


def _keys(items) -> set[str]:
    return {it["applicant_key"] for it in items}


# --------------------------------------------------------------------------- three batches
def test_first_batch_reports_every_flag_as_new_and_defers_future_rows(three):
    ch = _changes(three, AS_OFS[0])
    assert ch["previous_as_of"] is None
    assert ACME in _keys(ch["new_flags"])
    assert ch["counts"]["new_flags"] == ch["counts"]["flagged"] == len(ch["new_flags"])
    manifest = json.loads((three / "runs" / AS_OFS[0] / "manifest.json").read_text())
    rows = manifest["rows"]
    assert rows["applications"]["rejected"] == 0 and rows["applications"]["deferred"] > 0
    assert rows["decisions"]["deferred"] == 3 and rows["transfers"]["deferred"] == 2
    assert not (three / "runs" / AS_OFS[0] / "rejected").exists()
    apps = pd.read_parquet(three / "runs" / AS_OFS[0] / "application_scores.parquet")
    assert apps["filing_date"].max() <= pd.Timestamp(AS_OFS[0])
    assert "stages" not in manifest and (three / "runs" / AS_OFS[0] / "timings.json").exists()


def _risk(root: Path, as_of: str, key: str) -> float:
    scores = pd.read_parquet(root / "runs" / as_of / "applicant_scores.parquet").set_index("applicant_key")
    return float(scores.loc[key, "risk_score"])


def test_second_batch_new_hoarder_flag_and_acme_flag_ages(three):
    ch = _changes(three, AS_OFS[1])
    assert ch["previous_as_of"] == AS_OFS[0]
    assert ZENTRIX in _keys(ch["new_flags"])
    # Acme's 2021 bad-faith refusal is 2.5 years old: still flagged (two units of evidence halving
    # every three years: 2 x 0.5^(2.5/3) = 1.1 units), with a lower risk than a year after it
    assert ACME not in _keys(ch["cleared_flags"])
    assert _risk(three, AS_OFS[1], ACME) < _risk(three, AS_OFS[0], ACME)
    assert ch["counts"]["new_applicants"] >= 2  # Zentrix, Wang Lei (+ companies filing first after 2021)
    md = (three / "runs" / AS_OFS[1] / "changes.md").read_text()
    assert "Compared with the run of 2021-06-30" in md
    assert "Zentrix Trading Co Ltd" in md


def test_third_batch_grades_up_down_and_credit_repair(three):
    ch = _changes(three, AS_OFS[2])
    assert ch["previous_as_of"] == AS_OFS[1]
    down = {it["applicant_key"]: it for it in ch["grade_down"]}
    wang = [k for k in down if k.startswith("p:wang lei")]
    assert wang and down[wang[0]]["grade"] == "D" and down[wang[0]]["applicant_name"] == "Wang Lei"
    assert wang[0] in _keys(ch["new_flags"])
    up = {it["applicant_key"]: it for it in ch["grade_up"]}
    # Acme: the 2021 refusal is 4.5 years old (0.7 units): its flag clears, and it left the
    # 3-year hard-rule window (C → B)
    cleared = {it["applicant_key"]: it for it in ch["cleared_flags"]}
    assert ACME in cleared and cleared[ACME]["still_present"]
    assert cleared[ACME]["risk_score"] < cleared[ACME]["previous_risk_score"]
    assert "## Flags cleared (" in (three / "runs" / AS_OFS[2] / "changes.md").read_text()
    assert up[ACME]["previous_grade"] == "C" and up[ACME]["grade"] == "B"
    # Zentrix: the repair granted 2025-03-01 waives its hoarding band deduction
    assert up[ZENTRIX]["grade"] == "A" and up[ZENTRIX]["points"] == 100
    grades = pd.read_parquet(three / "runs" / AS_OFS[2] / "grades.parquet").set_index("applicant_key")
    items = json.loads(grades.loc[ZENTRIX, "deductions"])
    assert items[0]["item"].startswith("credit repair granted 2025-03-01 by Li Wei")
    hist = read_history(three)
    z = hist[(hist["applicant_key"] == ZENTRIX)].set_index("as_of")
    assert z.loc[AS_OFS[2], "credit_repair"].startswith("credit repair granted")
    assert z.loc[AS_OFS[1], "credit_repair"] == ""
    c = ch["counts"]
    assert c["grade_up"] == len(ch["grade_up"]) and c["grade_down"] == len(ch["grade_down"])
    assert sum(c["grades"].values()) == c["applicants"]


def test_history_has_one_row_set_per_as_of(three):
    hist = read_history(three)
    assert sorted(hist["as_of"].unique()) == list(AS_OFS)
    assert not hist.duplicated(["applicant_key", "as_of"]).any()
    for as_of in AS_OFS:
        a = pd.read_parquet(three / "runs" / as_of / "applicant_scores.parquet")
        h = hist[hist["as_of"] == as_of].set_index("applicant_key").sort_index()
        a = a.set_index("applicant_key").sort_index()
        assert list(h.index) == list(a.index)
        assert (h["grade"] == a["grade"]).all() and np.allclose(h["points"], a["points"])
    assert _hidden(three) == []


def test_drift_report(three):
    first = json.loads((three / "runs" / AS_OFS[0] / "drift.json").read_text())
    assert first["previous_as_of"] is None and first["psi"] == {}
    d = json.loads((three / "runs" / AS_OFS[1] / "drift.json").read_text())
    assert set(d["psi"]) == {"hoarding", "infringement", "squatting", "transfer", "decisions", "risk_score"}
    assert d["threshold"] == 0.2 and d["bins"] == 10
    assert set(d["warn_columns"]) == {k for k, v in d["psi"].items() if v > 0.2}


def test_psi_by_hand():
    assert psi(np.arange(100.0), np.arange(100.0)) == pytest.approx(0.0)
    # expected: two bins (edge at 0 → values 0 | values > 0), 50/50; actual 90/10
    exp = np.r_[np.zeros(50), np.ones(50)]
    act = np.r_[np.zeros(90), np.ones(10)]
    by_hand = (0.9 - 0.5) * np.log(0.9 / 0.5) + (0.1 - 0.5) * np.log(0.1 / 0.5)
    assert psi(exp, act) == pytest.approx(by_hand)


def test_rerun_of_an_as_of_is_byte_identical(three, world):
    run = three / "runs" / AS_OFS[2]
    before = _hashes(run)
    hist_before = hashlib.sha256((three / "history" / "grades.parquet").read_bytes()).hexdigest()
    assert _batch(world, three, AS_OFS[2]) == 0
    after = _hashes(run)
    assert set(before) == set(after)
    differing = {k for k in before if before[k] != after[k]}
    assert differing <= {"timings.json"}
    assert hashlib.sha256((three / "history" / "grades.parquet").read_bytes()).hexdigest() == hist_before
    # rerunning an older as-of replaces its rows; the history keeps one row set per as-of
    mid_before = _hashes(three / "runs" / AS_OFS[1])
    assert _batch(world, three, AS_OFS[1]) == 0
    assert {k for k, v in _hashes(three / "runs" / AS_OFS[1]).items() if mid_before[k] != v} <= {"timings.json"}
    hist = read_history(three)
    assert not hist.duplicated(["applicant_key", "as_of"]).any()


# --------------------------------------------------------------------------- kill and lock
KILL_SCRIPT = r"""
import sys, time, pathlib
import pipeline.runio as runio
import pipeline.batch as batch
from core.config import load_config
point, data, state, as_of = sys.argv[1:5]
marker = pathlib.Path(state) / "reached"
if point == "write":
    real = runio.write_parquet
    def slow(frame, path):
        real(frame, path)
        marker.touch()
        time.sleep(0.5)
    runio.write_parquet = slow
else:
    def stuck(*a, **k):
        marker.touch()
        time.sleep(120)
    batch.update_history = stuck
batch.run_batch(data, state, as_of, load_config())
"""


@pytest.mark.parametrize("point", ["write", "history"])
def test_killed_batch_is_rerun_into_a_consistent_state(world, tmp_path, point):
    state = tmp_path / "state"
    as_of = AS_OFS[1]
    assert _batch(world, state, as_of) == 0
    first = _hashes(state / "runs" / as_of)
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.Popen([sys.executable, str(script), point, str(world), str(state), as_of], cwd=REPO, env=env)
    try:
        deadline = time.time() + 120
        while not (state / "reached").exists():
            assert proc.poll() is None, "the batch ended before it could be killed"
            assert time.time() < deadline
            time.sleep(0.02)
        time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (state / "runs" / as_of / "manifest.json").exists()  # never half-written
    if point == "write":
        assert any(".tmp-" in h for h in _hidden(state))  # the killed batch left its temp folder
    assert _batch(world, state, as_of) == 0
    assert _hidden(state) == []
    after = _hashes(state / "runs" / as_of)
    assert {k for k in first if first[k] != after[k]} <= {"timings.json"}
    hist = read_history(state)
    assert list(hist["as_of"].unique()) == [as_of]
    assert not hist.duplicated(["applicant_key"]).any()
    assert len(hist) == len(pd.read_parquet(state / "runs" / as_of / "applicant_scores.parquet"))


def test_lock_refuses_a_concurrent_batch(world, tmp_path, capsys):
    state = tmp_path / "state"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pipeline.batch import batch_lock\n"
         f"with batch_lock({str(state)!r}):\n    print('locked', flush=True); time.sleep(60)"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert _batch(world, state, AS_OFS[0]) == 2
        err = capsys.readouterr().err
        assert "another tmscreen batch is running" in err and f"pid {holder.pid}" in err
        assert not (state / "runs").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    with batch_lock(state):  # a killed holder releases the lock
        pass


# --------------------------------------------------------------------------- joint action
def test_export_validates_against_the_schema_and_d_list(three, tmp_path):
    import jsonschema
    out = export_joint(three / "runs" / AS_OFS[2], tmp_path / "export")
    schema = json.loads((REPO / "docs" / "joint-export.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    lines = Path(out["jsonl"]).read_text(encoding="utf-8").splitlines()
    assert len(lines) == out["applicants"] > 30
    for line in lines:
        errors = list(validator.iter_errors(json.loads(line)))
        assert not errors, errors[0].message
    rec = {r["applicant_key"]: r for r in map(json.loads, lines)}
    assert rec[ZENTRIX]["names"] == ["Zentrix Trading Co Ltd"] and rec[ZENTRIX]["dimensions"]["hoarding"] > 0.3
    assert rec[ZENTRIX]["reasons"] and rec[ZENTRIX]["reasons"][0].startswith("HOARDING")
    d_list = pd.read_csv(out["d_list"], encoding="utf-8-sig")
    assert list(d_list["name"]) == ["Wang Lei"] and out["d"] == 1
    joint = pd.read_csv(out["csv"], encoding="utf-8-sig")
    assert len(joint) == len(lines) and "dim_hoarding" in joint.columns
    bad = dict(rec[ZENTRIX], grade="E")
    assert list(validator.iter_errors(bad))


def test_inspect_sample_is_reproducible_per_grade(three, tmp_path):
    run = three / "runs" / AS_OFS[2]
    rates = parse_rates("A=0.2,B=0.5,C=0.5,D=1")
    s1 = inspect_sample(run, rates, seed=7)
    s2 = inspect_sample(run, rates, seed=7)
    pd.testing.assert_frame_equal(s1, s2)
    a = pd.read_parquet(run / "applicant_scores.parquet")
    for grade, rate in rates.items():
        n = int((a["grade"] == grade).sum())
        got = s1[s1["grade"] == grade]
        assert len(got) == min(n, int(np.ceil(rate * n)))
        assert list(got["applicant_key"]) == sorted(got["applicant_key"])
        assert set(got["applicant_key"]) <= set(a.loc[a["grade"] == grade, "applicant_key"])
    assert s1.loc[s1["grade"] == "D", "applicant_name"].tolist() == ["Wang Lei"]
    with pytest.raises(ValueError, match="GRADE=RATE"):
        parse_rates("A=2")
    assert batch_main(["inspect-sample", "--run", str(run), "--rates", "A=0.2,B=0.5,C=0.5,D=1", "--seed", "7",
                       "--out", str(tmp_path / "s.csv")]) == 0
    from_cli = pd.read_csv(tmp_path / "s.csv", encoding="utf-8-sig")
    assert list(from_cli["applicant_key"]) == list(s1["applicant_key"])


def test_eligibility(three, tmp_path):
    run = three / "runs" / AS_OFS[2]
    a = pd.read_parquet(run / "applicant_scores.parquet").set_index("applicant_key")
    clean = a[(a["grade"] == "A") & ~a["flagged"] & (a["decisions"] == 0)]
    clean_name = clean["applicant_name"].iloc[0]
    subjects = tmp_path / "subjects.csv"
    _write(subjects, ["name", "address", "type"], [["Wang Lei", "5 Lane Hangzhou", "individual"],
                                                   ["ACME BRANDS LTD.", "", ""], [clean_name, "", ""],
                                                   ["Nobody Holdings Ltd", "", ""]])
    e = eligibility(subjects, run).set_index("subject")
    assert e.loc["Wang Lei", "match"] == "name+address" and e.loc["Wang Lei", "strict_review"]
    assert "grade D" in e.loc["Wang Lei", "why"] and "recent bad-faith decision" in e.loc["Wang Lei", "why"]
    assert e.loc["ACME BRANDS LTD.", "applicant_key"] == ACME
    # the 2021 refusal is more than 3 years old, the grade is B and the flag has cleared
    assert not e.loc["ACME BRANDS LTD.", "strict_review"] and "grade B" in e.loc["ACME BRANDS LTD.", "why"]
    assert not e.loc[clean_name, "strict_review"]
    assert e.loc["Nobody Holdings Ltd", "why"] == "not found in run"
    assert not e.loc["Nobody Holdings Ltd", "strict_review"]
    assert batch_main(["eligibility", str(subjects), "--run", str(run)]) == 0
    assert batch_main(["export", "--run", str(run), "--out", str(tmp_path / "x")]) == 0
