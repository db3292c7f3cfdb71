"""The built-in risk formula, the flag threshold and the application-level warning, by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.config import load_config
from models.scoring import contributions, dimension_scores, noisy_or
from pipeline.score import _application_reasons, _with_group_reason, application_risk, flag_groups

CFG = load_config()


def test_dimension_score_risk_and_threshold_by_hand():
    """severity 1 → 1 - e^-1 = 0.632; with the weights (hoarding 0.9, infringement 0.95, squatting
    0.85, transfer 0.85, decisions 0.9): one unit of infringement gives 0.95 x 0.632 = 0.600
    (flagged at 0.5); half a unit of hoarding and of squatting gives 1 - (1 - 0.9 x 0.393)(1 - 0.85 x
    0.393) = 0.580 (two weak signals add up); a quarter unit of squatting alone 0.85 x 0.221 = 0.188."""
    sev = pd.DataFrame({"hoarding": [0.0, 0.5, 0.0], "infringement": [1.0, 0.0, 0.0], "squatting": [0.0, 0.5, 0.25],
                        "transfer": [0.0, 0.0, 0.0], "decisions": [0.0, 0.0, 0.0]}, index=["a", "b", "c"])
    scores = dimension_scores(sev, CFG)
    assert scores.loc["a", "infringement"] == pytest.approx(1 - math.exp(-1))
    risk = noisy_or(scores, CFG)
    half = 1 - math.exp(-0.5)
    expect = [0.95 * (1 - math.exp(-1)), 1 - (1 - 0.9 * half) * (1 - 0.85 * half), 0.85 * (1 - math.exp(-0.25))]
    assert risk.tolist() == pytest.approx(expect)
    assert (risk >= CFG.scoring.flag_threshold).tolist() == [True, True, False]
    # contributions: -log(1 - w x score) per dimension; they add up to -log(1 - risk)
    c = contributions(scores, CFG)
    assert c.sum(axis=1).to_numpy() == pytest.approx(-np.log1p(-risk.to_numpy()))


def test_application_risk_uses_its_own_flags_only_by_hand():
    """A1: an infringement flag of strength 0.85 → 0.95 x 0.85 = 0.8075; A2: a squatting flag 0.6
    and an infringement flag 0.4 → 1 - (1 - 0.85 x 0.6)(1 - 0.95 x 0.4) = 0.6962; a decision naming
    A3 (strength 2 units, clipped to 1) → 0.9; applicant-level flags (no application) count for no
    application; A4 has none: 0."""
    flags = pd.DataFrame({
        "application_id": ["A1", "A2", "A2", "A3", ""],
        "applicant_key": ["k", "k", "k", "k", "k"],
        "reason": ["INFRINGEMENT_EXACT", "SQUAT_PERSON", "INFRINGEMENT_EDIT", "DECISION_BAD_FAITH", "HOARDING_VOLUME"],
        "evidence": ["INFRINGEMENT_EXACT: X ~ X", "'Y' is the person term 'Y'", "E", "refused", "many"],
        "strength": [0.85, 0.6, 0.4, 2.0, 1.0]})
    ids = pd.Series(["A1", "A2", "A3", "A4"])
    risk = application_risk(flags, ids, CFG)
    assert risk.tolist() == pytest.approx([0.95 * 0.85, 1 - (1 - 0.85 * 0.6) * (1 - 0.95 * 0.4), 0.9, 0.0])
    reasons = _application_reasons(flags, ids, 3)
    assert reasons.tolist() == ["INFRINGEMENT_EXACT: X ~ X",
                                "SQUAT_PERSON: 'Y' is the person term 'Y' | INFRINGEMENT_EDIT: E",
                                "DECISION_BAD_FAITH: refused", ""]


def test_application_risk_without_any_flag_is_zero():
    empty = pd.DataFrame({"application_id": pd.Series(dtype="str"), "reason": pd.Series(dtype="str"),
                          "strength": pd.Series(dtype="float64")})
    assert application_risk(empty, pd.Series(["A1", "A2"]), CFG).tolist() == [0.0, 0.0]


def test_a_related_party_group_is_flagged_as_one_by_hand():
    """Group g1: a (0.8) flags b (0.1) and c (0.3); group g2: d (0.4) and e (0.45) stay unflagged;
    group g3: f (0.5, exactly the threshold) alone. b and c say by whom."""
    out = pd.DataFrame({"group_id": ["g1", "g1", "g1", "g2", "g2", "g3"],
                        "risk_score": [0.8, 0.1, 0.3, 0.4, 0.45, 0.5],
                        "applicant_name": ["A Co", "B Co", "C Co", "D Co", "E Co", "F Co"],
                        "reasons": ["INFRINGEMENT_EXACT: x", "", "HOARDING_BURST: y", "", "", ""]},
                       index=list("abcdef"))
    flagged, by_group = flag_groups(out["risk_score"], out["group_id"], 0.5)
    assert flagged.tolist() == [True, True, True, False, False, True]
    assert by_group.tolist() == [False, True, True, False, False, False]
    reasons = _with_group_reason(out.assign(flagged_by_group=by_group))
    assert reasons["b"] == "flagged with its related-party group: member A Co is flagged (risk 0.8)"
    assert reasons["c"].startswith("flagged with its related-party group: member A Co") and reasons["c"].endswith(
        " | HOARDING_BURST: y")
    assert reasons["a"] == "INFRINGEMENT_EXACT: x" and reasons["d"] == ""
