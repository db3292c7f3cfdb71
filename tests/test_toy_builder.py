"""A toy builder added the way docs/architecture.md ("Adding a builder") says, run through the whole
chain: registered with the products it reads, it gets them from a runner, and its severity and flags
reach the scores, the risk and the reasons exactly as the formulas say (computed here by hand).

The toy takes the transfers dimension's place (a new dimension would also add a ``Dimension``
member, its reason codes and its ``[scoring]`` weight and scale), and is removed afterwards."""

import numpy as np
import pandas as pd

from core.config import load_config
from core.reasons import Dimension, Reason
from demo.world import generate_world
from features import products
from features.common import applicant_index, concat_flags, make_flags
from features.registry import BUILDERS, NEEDS, FeatureResult, register
from pipeline.contract import load_dataset
from pipeline.score import compute
from pipeline.stages import load_builders


def test_a_toy_builder_runs_through_the_chain(tmp_path, monkeypatch):
    load_builders()
    monkeypatch.setitem(BUILDERS, Dimension.TRANSFER, BUILDERS[Dimension.TRANSFER])  # restored afterwards
    monkeypatch.setitem(NEEDS, Dimension.TRANSFER, NEEDS[Dimension.TRANSFER])
    seen = {}

    # 1. one pure function; 3. registered with the products it reads (features/products.py)
    @register(Dimension.TRANSFER, needs=(products.TRENDS,))
    def build_toy(tables, config) -> FeatureResult:
        seen["trends"] = tables.extras[products.TRENDS]  # made by a runner, only read here
        apps = tables.applications
        idx = applicant_index(apps)
        n = apps.groupby("applicant_key").size().reindex(idx, fill_value=0).astype("float64")
        severity = (n / 10.0).where(n >= 10, 0.0)  # the toy criterion: ten filings or more
        feat = pd.DataFrame({"transfer_toy_filings": n}, index=idx)
        hit = apps[apps["applicant_key"].isin(severity.index[severity > 0])].drop_duplicates("applicant_key")
        flags = concat_flags([make_flags(hit.assign(application_id=""), Reason.TRANSFER_SHARE,
                                         "toy: " + hit["applicant_key"].map(n).astype(int).astype(str) + " filings",
                                         1.0)])
        return FeatureResult(applicant=feat, severity=severity.rename("transfer"), flags=flags)

    generate_world(tmp_path / "world", n_applications=1500, seed=4)
    config = load_config()
    result = compute(load_dataset(tmp_path / "world" / "dataset").tables, config)

    assert isinstance(seen["trends"], pd.DataFrame)
    a = result.applicants.set_index("applicant_key")
    n = result.features["transfer"].applicant["transfer_toy_filings"].reindex(a.index)
    want_score = 1.0 - np.exp(-(n / 10.0).where(n >= 10, 0.0) / config.scoring.scale_transfer)
    np.testing.assert_allclose(a["transfer"].to_numpy(), want_score.to_numpy(), atol=1e-9)
    assert (a["transfer"] > 0).any() and (a["transfer"] == 0).any()
    # the risk is the weighted noisy-OR of the dimension scores, the toy's included
    keep = np.ones(len(a))
    for dim in ("hoarding", "infringement", "squatting", "transfer", "decisions"):
        keep *= 1.0 - getattr(config.scoring, f"weight_{dim}") * a[dim].to_numpy()
    np.testing.assert_allclose(a["risk_score"].to_numpy(), 1.0 - keep, atol=1e-9)
    toy_flags = result.flags[result.flags["evidence"].str.startswith("toy: ")]
    assert set(toy_flags["applicant_key"]) == set(a.index[a["transfer"] > 0])
