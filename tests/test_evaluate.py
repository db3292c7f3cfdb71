"""pipeline.evaluate: which applicants carry each dimension's planted pattern (hand-made truth)."""

from pathlib import Path

import pandas as pd

from pipeline.evaluate import pattern_carriers


def _csv(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_pattern_carriers_follow_tricks_decisions_and_kinds(tmp_path):
    truth, ds = tmp_path / "truth", tmp_path / "dataset"
    _csv(ds / "decisions.csv", "subject_name,decision_date,kind\nA,2024-01-01,invalidation\n"
                               "B,2024-01-01,other\nN,2024-01-01,other\nC,2024-02-01,bad_faith_refusal\n")
    _csv(truth / "decisions.csv", "decision_row,entity_id\n1,E1\n2,E2\n3,E9\n4,E3\n")
    t_apps = pd.DataFrame({"entity_id": ["E1", "E1", "E2", "E3", "E9"],
                           "trick": ["", "homophone", "place", "", "exact"]})
    t_ent = pd.DataFrame({"label": ["1", "1", "1", "1", "0"], "kind": ["bad_faith_decided", "squatter", "broker",
                                                                        "hoarder", "normal"]},
                         index=pd.Index(["E1", "E2", "E3", "E4", "E9"], name="entity_id"))
    got = pattern_carriers(truth, ds, t_apps, t_ent)
    # E1 copies (homophone) and has an invalidation; E2's only decision is "other" (not bad faith);
    # E9 is legitimate, so its exact-looking filing and decision never make it a carrier.
    assert got["infringement"] == {"E1"}
    assert got["squatting"] == {"E2"}
    assert got["decisions"] == {"E1", "E3"}
    assert got["transfer"] == {"E3"}
    assert got["hoarding"] == {"E4"}


def test_pattern_carriers_without_decision_truth(tmp_path):
    t_apps = pd.DataFrame({"entity_id": ["E1"], "trick": ["edit"]})
    t_ent = pd.DataFrame({"label": ["1"], "kind": ["copycat"]}, index=pd.Index(["E1"], name="entity_id"))
    got = pattern_carriers(tmp_path / "truth", tmp_path / "dataset", t_apps, t_ent)
    assert "decisions" not in got and got["infringement"] == {"E1"}
