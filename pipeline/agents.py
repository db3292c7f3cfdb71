"""Filing agents (代理机构) as the regulator sees them: how many of an agent's clients are flagged,
how unlikely that is for an agent whose clients are like everyone else's, and the signs of a
filing mill (many clients filing on one day, many clients at one address).

The flagged share alone ranks tiny agents first (1 of 1 client flagged); the test is instead the
binomial tail P(X >= k) of k flagged among its n clients when each client is flagged at the
register's rate among agents' clients. An agent is listed as abnormal when that probability stays
below ``[agents] alpha`` after the Bonferroni correction for the number of agents tested (so a
register with thousands of agents does not list some by chance). Pure functions of a scored run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.config import Config
from pipeline.entities import normalize_names

AGENT_COLUMNS = ["agent", "agent_names", "clients", "filings", "flagged_clients", "flagged_share", "d_clients",
                 "p_value", "abnormal", "busiest_day", "busiest_day_clients", "top_address",
                 "top_address_clients", "evidence"]


def _address_norm(addresses: pd.Series) -> pd.Series:
    """NFKC (full-width digits), no spaces or punctuation, casefolded: one building, one text (in
    Arrow, over the distinct addresses)."""
    codes, uniq = pd.factorize(addresses.fillna("").astype("str"))
    arr = pc.utf8_lower(pc.utf8_normalize(pa.array(uniq, type=pa.string()), form="NFKC"))
    norm = pc.replace_substring_regex(arr, pattern=r"[^\pL\pN]+", replacement="").to_numpy(zero_copy_only=False)
    return pd.Series(norm[codes], index=addresses.index, dtype="str")


def agent_table(applications: pd.DataFrame, applicants: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One row per agent with at least ``[agents] min_clients`` clients, most abnormal first.

    ``applications``: the scored register's filings (application_id, applicant_key, filing_date,
    agent_name, optional applicant_address); ``applicants``: applicant_key, flagged, grade."""
    cfg = config.agents
    if "agent_name" not in applications.columns:
        return pd.DataFrame(columns=AGENT_COLUMNS)
    agent_name = applications["agent_name"].fillna("").astype("str").str.strip()
    through = (agent_name != "").to_numpy()  # filings made through an agent
    if not through.any():
        return pd.DataFrame(columns=AGENT_COLUMNS)
    apps = applications.loc[through, ["applicant_key", "filing_date"]].assign(agent_name=agent_name[through])
    has_address = "applicant_address" in applications.columns
    apps["address_text"] = applications.loc[through, "applicant_address"].fillna("").astype("str") if has_address else ""
    apps["address"] = _address_norm(apps["address_text"]) if has_address else ""
    core = normalize_names(apps["agent_name"]).set_index("name")["core"]
    apps["agent"] = apps["agent_name"].map(core).fillna("").astype("str")
    apps.loc[apps["agent"] == "", "agent"] = apps["agent_name"]
    who = applicants.set_index("applicant_key")
    clients = apps.drop_duplicates(["agent", "applicant_key"])[["agent", "applicant_key"]]
    clients = clients.assign(flagged=clients["applicant_key"].map(who["flagged"]).fillna(False).astype(bool),
                             d=clients["applicant_key"].map(who["grade"]).eq("D"))
    g = clients.groupby("agent")
    out = pd.DataFrame({"clients": g.size(), "flagged_clients": g["flagged"].sum(), "d_clients": g["d"].sum()})
    out["filings"] = apps.groupby("agent").size()
    spellings = apps[["agent", "agent_name"]].drop_duplicates().sort_values(["agent", "agent_name"])
    out["agent_names"] = spellings.groupby("agent").head(3).groupby("agent")["agent_name"].agg("; ".join)
    # the register's rate among agents' clients (an applicant with several agents counts once per agent)
    rate = float(out["flagged_clients"].sum() / max(out["clients"].sum(), 1))
    out = out[out["clients"] >= cfg.min_clients].copy()
    if out.empty:
        return pd.DataFrame(columns=AGENT_COLUMNS)
    from scipy.special import bdtrc  # P(X > k) of a binomial, without scipy.stats' import cost

    k = out["flagged_clients"].to_numpy(np.int64)
    out["p_value"] = np.where(k > 0, bdtrc(np.maximum(k - 1, 0), out["clients"].to_numpy(np.int64), rate), 1.0)
    out["flagged_share"] = out["flagged_clients"] / out["clients"]
    out["abnormal"] = (out["p_value"] < cfg.alpha / max(len(out), 1)) & (out["flagged_clients"] > 0)
    # a mill's signs: many of its clients filing on one day; many at one address
    day = apps.assign(day=pd.to_datetime(apps["filing_date"]).to_numpy().astype("datetime64[D]").astype(np.int64))
    busiest = _most_clients(day, "day", "day").reindex(out.index)
    out["busiest_day"] = pd.to_datetime(busiest["day"], unit="D").dt.strftime("%Y-%m-%d").fillna("")
    out["busiest_day_clients"] = busiest["n"].fillna(0).astype("int64")
    top = _most_clients(apps[apps["address"] != ""], "address", "address_text").reindex(out.index)
    out["top_address_clients"] = top["n"].fillna(0).astype("int64")
    out["top_address"] = top["address_text"].fillna("")
    out["evidence"] = _evidence(out, rate)
    out = out.sort_values(["p_value", "flagged_clients"], ascending=[True, False], kind="stable")
    return out.rename_axis("agent").reset_index()[AGENT_COLUMNS]


def _most_clients(apps: pd.DataFrame, by: str, shown: str) -> pd.DataFrame:
    """Per agent, the value of ``by`` shared by the most distinct clients: columns n (clients) and
    ``shown`` (its first value for that ``by``), indexed by agent."""
    cells = apps.drop_duplicates(["agent", by, "applicant_key"]).groupby(["agent", by])
    cells = cells.agg(n=("applicant_key", "size"), **({} if shown == by else {shown: (shown, "first")}))
    top = cells.sort_values("n", ascending=False, kind="stable").reset_index().drop_duplicates("agent")
    return top.set_index("agent")[["n", shown]]


def _evidence(out: pd.DataFrame, rate: float) -> pd.Series:
    text = (out["flagged_clients"].astype(int).astype(str) + " of " + out["clients"].astype(int).astype(str)
            + f" clients flagged (register {100 * rate:.1f} %, p = "
            + out["p_value"].map(lambda p: f"{p:.1e}") + ")")
    day = np.where(out["busiest_day_clients"] >= 3, "; " + out["busiest_day_clients"].astype(str)
                   + " clients filed on " + out["busiest_day"].astype(str), "")
    addr = np.where(out["top_address_clients"] >= 3, "; " + out["top_address_clients"].astype(str)
                    + " clients at " + out["top_address"].astype(str), "")
    return text + day + addr
