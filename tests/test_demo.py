"""Tests for the synthetic demo world generator (demo.world)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from demo.world import ABNORMAL_KINDS, COPY_TRICKS, HARD_NEGATIVE_KINDS, generate_world

N = 20_000
FILES = [
    "dataset/applications.csv", "dataset/transfers.csv", "dataset/decisions.csv",
    "dataset/reference/protected_marks.csv", "dataset/reference/public_terms.csv", "dataset/README.md",
    "truth/applications.csv", "truth/entities.csv", "truth/README.md",
]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _digest(root: Path) -> dict[str, str]:
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in FILES}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    summary = generate_world(root, N, seed=11)
    return {
        "root": root,
        "summary": summary,
        "apps": _read(root / "dataset/applications.csv"),
        "transfers": _read(root / "dataset/transfers.csv"),
        "decisions": _read(root / "dataset/decisions.csv"),
        "protected": _read(root / "dataset/reference/protected_marks.csv"),
        "terms": _read(root / "dataset/reference/public_terms.csv"),
        "truth": _read(root / "truth/applications.csv"),
        "entities": _read(root / "truth/entities.csv"),
    }


def test_deterministic_by_seed(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_world(a, 3000, seed=5)
    generate_world(b, 3000, seed=5)
    generate_world(c, 3000, seed=6)
    assert _digest(a) == _digest(b)
    da, dc = _digest(a), _digest(c)
    assert da["dataset/applications.csv"] != dc["dataset/applications.csv"]
    assert da["truth/entities.csv"] != dc["truth/entities.csv"]


def test_small_world_is_complete(tmp_path):
    s = generate_world(tmp_path, 2000, seed=1)
    assert s["applications"] == 2000
    for kind in ABNORMAL_KINDS + HARD_NEGATIVE_KINDS:
        assert s["per_kind"][kind]["applications"] > 0, kind


def test_rejects_tiny_n(tmp_path):
    with pytest.raises(ValueError, match="n_applications"):
        generate_world(tmp_path, 10, seed=1)


def test_files_and_columns(world):
    root = world["root"]
    for f in FILES:
        assert (root / f).exists(), f
    assert list(world["apps"].columns) == [
        "application_id", "filing_date", "mark_text", "nice_classes", "goods_services", "applicant_name",
        "applicant_address", "applicant_country", "applicant_type", "agent_name", "status", "registration_date",
    ]
    assert list(world["transfers"].columns) == [
        "application_id", "transfer_date", "assignor_name", "assignee_name", "assignee_address"]
    assert list(world["decisions"].columns) == [
        "subject_name", "decision_date", "kind", "authority", "reference", "application_id"]
    assert list(world["protected"].columns) == ["mark_text", "owner_name", "nice_classes"]
    assert list(world["terms"].columns) == ["term", "category", "date"]
    assert list(world["truth"].columns)[:6] == ["application_id", "entity_id", "group_id", "label", "kind", "trick"]
    assert list(world["entities"].columns) == [
        "entity_id", "group_id", "label", "kind", "canonical_name", "is_large_legit"]
    assert "seed 11" in (root / "dataset/README.md").read_text(encoding="utf-8")


def test_row_count_and_unique_ids(world):
    apps = world["apps"]
    assert len(apps) == N
    assert apps["application_id"].is_unique
    assert apps["application_id"].str.fullmatch(r"TM\d{8}").all()
    assert world["entities"]["entity_id"].is_unique


def test_truth_covers_all_applications(world):
    apps, truth, ents = world["apps"], world["truth"], world["entities"]
    assert truth["application_id"].is_unique
    assert set(truth["application_id"]) == set(apps["application_id"])
    assert set(truth["entity_id"]) <= set(ents["entity_id"])
    assert set(ents["group_id"]) <= set(ents["entity_id"])
    # the application-level truth agrees with the entity table
    m = truth.merge(ents, on="entity_id", suffixes=("", "_e"))
    assert len(m) == len(truth)
    assert (m["group_id"] == m["group_id_e"]).all()
    assert (m["label"] == m["label_e"]).all() and (m["kind"] == m["kind_e"]).all()


def test_every_kind_present(world):
    ents, truth = world["entities"], world["truth"]
    kinds = set(ents["kind"])
    for kind in ["normal", *ABNORMAL_KINDS, *HARD_NEGATIVE_KINDS]:
        assert kind in kinds, kind
        assert (truth["kind"] == kind).any(), kind
    lab = ents.set_index("kind")["label"]
    assert (lab.loc[ABNORMAL_KINDS] == "1").all()
    assert (lab.loc[["normal", *HARD_NEGATIVE_KINDS]] == "0").all()
    copy_tricks = set(truth.loc[truth["kind"] == "copycat", "trick"])
    assert set(COPY_TRICKS) <= copy_tricks
    squat = set(truth.loc[truth["kind"] == "squatter", "trick"])
    assert {"place", "person", "event", "generic"} <= squat
    assert (truth["trick"] == "trend").any()


def test_realistic_shares(world):
    ents, truth = world["entities"], world["truth"]
    ent_share = (ents["label"] == "1").mean()
    app_share = (truth["label"] == "1").mean()
    assert 0.04 <= ent_share <= 0.12, ent_share
    assert 0.15 <= app_share <= 0.35, app_share


def test_classes_and_dates_valid(world):
    apps = world["apps"]
    cls = apps["nice_classes"].str.split(";").explode().astype(int)
    assert cls.between(1, 45).all()
    assert set(cls) == set(range(1, 46))
    fd = pd.to_datetime(apps["filing_date"], format="%Y-%m-%d")
    assert fd.min() >= pd.Timestamp("2019-07-01") and fd.max() <= pd.Timestamp("2025-12-31")
    has_reg = apps["registration_date"] != ""
    rd = pd.to_datetime(apps.loc[has_reg, "registration_date"], format="%Y-%m-%d")
    assert (rd > fd[has_reg]).all() and rd.max() <= pd.Timestamp("2025-12-31")
    assert set(apps["status"]) <= {"pending", "registered", "refused", "opposed", "invalidated", "withdrawn", "lapsed"}
    assert set(apps.loc[has_reg, "status"]) <= {"registered", "invalidated", "lapsed"}
    assert (apps["goods_services"] != "").all()
    assert set(apps["applicant_type"]) == {"company", "individual", "other"}
    assert (apps["applicant_country"] == "CN").mean() > 0.85
    assert apps["applicant_country"].str.fullmatch(r"[A-Z]{2}").all()
    tr = world["transfers"].merge(apps[["application_id", "filing_date"]], on="application_id")
    assert len(tr) == len(world["transfers"])
    assert (pd.to_datetime(tr["transfer_date"]) > pd.to_datetime(tr["filing_date"])).all()
    dec = world["decisions"]
    assert set(dec["kind"]) == {"bad_faith_refusal", "invalidation", "administrative_penalty",
                                "infringement_judgment", "other"}
    pd.to_datetime(dec["decision_date"], format="%Y-%m-%d")
    linked = dec.loc[dec["application_id"] != "", "application_id"]
    assert set(linked) <= set(apps["application_id"])


def test_homophones_have_equal_toneless_pinyin(world):
    from pypinyin import lazy_pinyin

    t = world["truth"]
    h = t[t["trick"] == "homophone"].merge(world["apps"][["application_id", "mark_text"]], on="application_id")
    assert len(h) > 10
    for mark, orig in zip(h["mark_text"], h["original"], strict=True):
        assert mark != orig
        assert lazy_pinyin(mark) == lazy_pinyin(orig), (mark, orig)


def test_copies_follow_their_originals(world):
    apps, truth = world["apps"], world["truth"]
    m = truth.merge(apps, on="application_id")
    prot = set(world["protected"]["mark_text"])
    c = m[(m["kind"] == "copycat") & (m["trick"] != "")]
    assert c["original"].isin(prot).mean() > 0.3
    exact = c[c["trick"] == "exact"]
    assert (exact["mark_text"] == exact["original"]).all()
    # copies of other owners' marks are filed after the original, by someone else
    earlier = c[~c["original"].isin(prot)]
    assert len(earlier) > 0
    first = m[m["kind"] != "copycat"].groupby("mark_text").agg(d=("filing_date", "min"), e=("entity_id", "first"))
    j = earlier.join(first, on="original", how="inner")
    assert len(j) == len(earlier)
    assert (j["filing_date"] > j["d"]).all()
    assert (j["entity_id"] != j["e"]).all()


def test_trend_bursts_and_events(world):
    m = world["truth"].merge(world["apps"], on="application_id")
    terms = world["terms"]
    tr = m[m["trick"] == "trend"].groupby("original").agg(
        n=("entity_id", "nunique"), d0=("filing_date", "min"), d1=("filing_date", "max"))
    assert len(tr) >= 2
    assert (tr["n"] >= 10).all()
    assert ((pd.to_datetime(tr["d1"]) - pd.to_datetime(tr["d0"])).dt.days <= 31).all()
    assert not set(tr.index) & set(terms["term"])
    # nobody filed a trend term before the burst
    for term, row in tr.iterrows():
        assert (m.loc[m["mark_text"] == term, "filing_date"] >= row["d0"]).all()
    ev = m[m["trick"] == "event"].merge(terms.rename(columns={"term": "mark_text", "date": "event_date"}),
                                        on="mark_text")
    assert len(ev) > 0
    lag = (pd.to_datetime(ev["filing_date"]) - pd.to_datetime(ev["event_date"])).dt.days
    assert lag.between(0, 120).all()
    assert (lag <= 20).mean() > 0.6


def test_groups_and_hard_negatives(world):
    m = world["truth"].merge(world["apps"], on="application_id")
    ents = world["entities"]
    # shell hoarders: one group of 3–8 shells sharing one agent (or none)
    sh = m[m["kind"] == "shell_hoarder"].groupby("group_id").agg(
        shells=("entity_id", "nunique"), agents=("agent_name", "nunique"), apps=("application_id", "size"))
    assert len(sh) >= 1
    assert sh["shells"].between(3, 8).all() and (sh["agents"] == 1).all()
    # large portfolios: a family group, an all-class sweep, transfers inside the family
    lp = m[m["kind"] == "large_portfolio"]
    assert lp.groupby("group_id")["entity_id"].nunique().min() >= 3
    assert lp["nice_classes"].nunique() == 45
    assert (ents.loc[ents["kind"] == "large_portfolio", "is_large_legit"] == "1").all()
    fam_names = set(lp["applicant_name"])
    t = world["transfers"]
    inside = t[t["assignor_name"].isin(fam_names) & t["assignee_name"].isin(fam_names)]
    assert len(inside) > 0
    # name variants: one entity files under several spellings
    nv = m[m["kind"] == "name_variant"].groupby("entity_id")["applicant_name"].nunique()
    assert (nv > 1).mean() > 0.5
    # common names: one name, several different people
    cn = m[m["kind"] == "common_name"].groupby("applicant_name")["entity_id"].nunique()
    assert cn.max() >= 2
    # a business-centre address shared by many unrelated (singleton-group) companies
    sa = m[m["kind"] == "shared_address"]
    top = sa["applicant_address"].value_counts().index[0]
    same = sa[sa["applicant_address"] == top]
    assert same["entity_id"].nunique() >= 5 and (same["group_id"] == same["entity_id"]).all()
    # protected owners file their own protected marks under the listed owner name
    po = m[m["kind"] == "protected_owner"]
    owners = world["protected"].groupby("owner_name")["mark_text"].apply(set)
    own = po[po["applicant_name"].isin(owners.index)]
    assert len(own) > 0
    assert own.apply(lambda r: r["mark_text"] in owners[r["applicant_name"]] or r["mark_text"] == ""
                     or any(r["mark_text"].startswith(x) for x in owners[r["applicant_name"]]), axis=1).all()
    # big agents serve many unrelated clients
    assert m.groupby("agent_name")["group_id"].nunique().drop("", errors="ignore").max() >= 200


def test_brokers_and_decisions(world):
    m = world["truth"].merge(world["apps"], on="application_id")
    t = world["transfers"].merge(world["truth"], on="application_id")
    br = t[t["kind"] == "broker"]
    assert br.groupby("entity_id")["assignee_name"].nunique().max() >= 5
    agents = set(m["agent_name"]) - {""}
    assert br["assignor_name"].isin(agents).any()
    dec = world["decisions"]
    bf = set(m.loc[m["kind"] == "bad_faith_decided", "applicant_name"])
    subj = dec[dec["kind"] != "other"]["subject_name"]
    assert subj.isin(bf).any()
    assert (~subj.isin(set(m["applicant_name"]))).any()  # some decisions name a variant of the applicant


def test_independent_of_hash_seed(tmp_path):
    """String hashing differs per process; the files must not."""
    import os
    import subprocess
    import sys

    generate_world(tmp_path / "here", 1000, seed=3)
    code = ("import sys; from pathlib import Path; from demo.world import generate_world; "
            "generate_world(Path(sys.argv[1]), 1000, seed=3)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], check=True, env=env,
                   cwd=Path(__file__).resolve().parent.parent)
    assert _digest(tmp_path / "here") == _digest(tmp_path / "there")
