"""The filing-agent list: flagged clients tested against the register's rate, by hand on tiny tables."""

from __future__ import annotations

from math import comb

import pandas as pd

from core.config import load_config
from pipeline.agents import agent_table


def _tail(k: int, n: int, p: float) -> float:
    return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def _register():
    rows, flagged = [], {}
    # a mill: 6 clients, 5 flagged, all filing on one day, 4 at the mill's address (full- and half-width)
    for i in range(6):
        key = f"m{i}"
        flagged[key] = i < 5
        address = "深圳市福田区某路１号" if i % 2 else "深圳市福田区某路1号"
        rows.append({"applicant_key": key, "filing_date": "2024-03-01",
                     "agent_name": "深圳市米尔知识产权代理有限公司" if i % 2 else "米尔知识产权代理有限公司",
                     "applicant_address": address if i < 4 else f"别处{i}号"})
    # ten ordinary agents, six clients each, one flagged client in all
    for a in range(10):
        for i in range(6):
            key = f"o{a}-{i}"
            flagged[key] = a == 0 and i == 0
            rows.append({"applicant_key": key, "filing_date": f"2024-0{1 + i % 9}-0{1 + a % 9}",
                         "agent_name": f"Agent {a} IP Ltd", "applicant_address": f"{a}-{i} Road"})
    rows.append({"applicant_key": "x", "filing_date": "2024-01-01", "agent_name": "", "applicant_address": ""})
    flagged["x"] = True  # filed without an agent: in no agent's count
    applicants = pd.DataFrame({"applicant_key": list(flagged), "flagged": list(flagged.values()),
                               "grade": ["D" if k == "m0" else "A" for k in flagged]})
    return pd.DataFrame(rows), applicants


def test_mill_is_abnormal_by_binomial_tail_and_bonferroni():
    apps, applicants = _register()
    out = agent_table(apps, applicants, load_config()).set_index("agent")
    rate = 6 / 66  # flagged clients among all agents' clients
    mill = out.iloc[0]
    assert mill["clients"] == 6 and mill["flagged_clients"] == 5 and mill["d_clients"] == 1  # two spellings, one agent
    assert abs(mill["p_value"] - _tail(5, 6, rate)) < 1e-12
    assert bool(mill["abnormal"])  # p ~ 3e-5 < 0.01 / 11 agents
    assert mill["busiest_day"] == "2024-03-01" and mill["busiest_day_clients"] == 6
    assert mill["top_address_clients"] == 4  # 1号 and １号 are one address
    assert "5 of 6 clients flagged" in mill["evidence"] and "6 clients filed on 2024-03-01" in mill["evidence"]
    ordinary = out[out["agent_names"] == "Agent 0 IP Ltd"].iloc[0]
    assert abs(ordinary["p_value"] - _tail(1, 6, rate)) < 1e-12 and not bool(ordinary["abnormal"])
    assert len(out) == 11 and list(out.index)[0] == mill.name  # most abnormal first


def test_small_agents_are_not_tested():
    apps, applicants = _register()
    cfg = load_config().with_overrides({"agents": {"min_clients": 7}})
    assert agent_table(apps, applicants, cfg).empty


def test_address_normalisation_keeps_buildings_apart():
    from pipeline.agents import _address_norm

    got = _address_norm(pd.Series(["深圳市福田区某路１号", "深圳市福田区 某路1号", "深圳市南山区某路1号", "A-B Road, 3F", None]))
    assert got.tolist() == ["深圳市福田区某路1号", "深圳市福田区某路1号", "深圳市南山区某路1号", "abroad3f", ""]
