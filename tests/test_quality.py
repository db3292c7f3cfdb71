"""Regression guard on detection quality: the built-in scorer on pinned-seed worlds must not lose more
than 0.02 of the figures recorded in evaluation/quality.json (written by ``make quality``)."""

from __future__ import annotations

import json

import pytest

from evaluation.quality import DEFAULT_WORLD, DEMO_WORLDS, QUALITY_JSON, demo_figures, world_figures

TOLERANCE = 0.02
RECORDED = {r["world"]: r for r in json.loads(QUALITY_JSON.read_text(encoding="utf-8"))["rows"]}


def _check(got: dict) -> None:
    want = RECORDED[got["world"]]
    assert got["pr_auc"] >= want["pr_auc"] - TOLERANCE, (got["world"], got["pr_auc"], want["pr_auc"])
    assert got["recall_at_k"] >= want["recall_at_k"] - TOLERANCE, (got["world"], got["recall_at_k"])
    for label, recall in want["recall_at_k_by_label"].items():
        assert got["recall_at_k_by_label"][label] >= recall - TOLERANCE - 1e-9, (got["world"], label)
    if want["large_legit_in_top_k"] is not None:
        assert got["large_legit_in_top_k"] <= want["large_legit_in_top_k"] + TOLERANCE, got["world"]


@pytest.mark.parametrize(("n", "seed"), DEMO_WORLDS)
def test_demo_world_figures_hold(n, seed, tmp_path):
    _check(demo_figures(n, seed, tmp_path))


@pytest.mark.skipif(not DEFAULT_WORLD.exists(), reason=f"independent world not present at {DEFAULT_WORLD} "
                    "(it lives beside the repository, not in it)")
def test_independent_world_figures_hold(tmp_path):
    _check(world_figures(DEFAULT_WORLD, tmp_path))
